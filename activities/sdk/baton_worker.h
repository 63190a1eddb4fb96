/*
 * baton_worker.h -- the C SDK for Baton activity workers.
 *
 * A worker consumes one task queue (Kafka topic <topic.prefix>.tasks.<queue>,
 * consumer group <topic.prefix>.worker.<queue>), runs each task's activity on
 * a thread pool, and produces the result to <topic.prefix>.results.  A
 * complete worker:
 *
 *     static void greet(baton_activity_t *act, void *opaque) {
 *         baton_activity_complete(act, "{\"hello\":\"world\"}");
 *     }
 *
 *     baton_conf_t *conf = baton_conf_new();
 *     baton_conf_load_default(conf, NULL, errstr, sizeof errstr);
 *     baton_worker_t *w = baton_worker_new(conf, errstr, sizeof errstr);
 *     baton_worker_register(w, "greet", greet, NULL);
 *     // SIGTERM handler: baton_worker_stop(w);
 *     baton_worker_run(w);                // returns after stop + drain
 *     baton_worker_destroy(w);
 *
 * What the SDK guarantees (DESIGN.md "Activity workers"):
 *
 *  - At most worker.concurrency activities run at once.  The worker keeps
 *    polling Kafka while they run and pauses its partitions while it is at
 *    the limit (resuming once below it), so an activity may run for hours
 *    without exceeding max.poll.interval.ms or triggering a rebalance.  Up to
 *    worker.concurrency further tasks are fetched ahead and wait locally.
 *
 *  - A task's offset is committed only once its result has been
 *    acknowledged by Kafka (delivery report of an idempotent producer), and
 *    only contiguously: per partition the committed offset is the lowest
 *    offset whose task is not yet acknowledged.  Consumer-group lag is
 *    therefore the queue's true backlog, and a crash re-delivers exactly
 *    the tasks whose results were not yet acknowledged (plus, on the same
 *    partition, the acknowledged ones after the first unacknowledged one).
 *
 *  - The result goes to the task's result_partition of <prefix>.results,
 *    keyed by workflow_id, in the encoding the task came in (Avro binary,
 *    or JSON when the task had content-type: application/json).
 *
 *  - A task that cannot be decoded goes to <prefix>.dlq with its key and
 *    value unchanged and headers baton-error (the reason),
 *    baton-source-topic, baton-source-partition and baton-source-offset; it
 *    then counts as done.  A task of an activity type no handler is
 *    registered for is answered FAILED with error
 *    "Baton.UnknownActivityType".
 *
 *  - Rebalance: when partitions are revoked the worker first finishes the
 *    activities already running on them, waits for their results to be
 *    acknowledged and commits (inside the rebalance callback), so that a
 *    rebalance does not re-run activities that finish meanwhile.  Tasks
 *    fetched but not started are dropped, uncommitted: the next owner runs
 *    them.  The wait is bounded by half of the smaller of
 *    session.timeout.ms and max.poll.interval.ms (3 s with the dev stack's
 *    settings, 22.5 s with librdkafka's defaults): longer, and the member
 *    is evicted (a broker waits for its rejoin at most max.poll.interval.ms,
 *    librdkafka's mock cluster only session.timeout.ms - 1 s), its commit
 *    fails and the group stalls.  Activities still running then are
 *    cancelled (baton_activity_cancelled() turns true) and stay
 *    uncommitted, so an activity longer than that bound can run twice when
 *    partitions move (a worker joins or leaves): that is what the
 *    idempotency key is for.  When a commit is refused (the mock cluster
 *    refuses every commit while the group rebalances; a real broker
 *    accepts it) and a partition comes back to the same worker, it resumes
 *    after what it had done, not at the stale committed offset; a
 *    partition that moves to another worker re-runs those tasks.  If the
 *    assignment was lost (session timeout), nothing waits or commits.
 *    Assignment strategy: the kafka.c default (range: eager, every member
 *    gives up all its partitions at each rebalance).  The SDK also handles
 *    the cooperative protocol, but librdkafka < 2.3 aborts when a
 *    cooperative-sticky consumer is destroyed between joining and its
 *    first assignment (librdkafka issue #4312), and the mock cluster aborts
 *    when group members list different first strategies.
 *
 *  - Cancellation notices (wire protocol version 2): batond produces a
 *    Command of kind CANCEL with task_id = the attempt to stop to
 *    <topic.prefix>.cancels when it gives an attempt up (workflow cancelled
 *    or terminated, attempt timed out).  Every worker instance reads every
 *    notice (all partitions assigned, no group membership, from the end of
 *    the topic as the worker starts, or from its beginning if the topic
 *    appears later; cancels.h).  A running task named by a notice sees
 *    baton_activity_cancelled() & BATON_CANCEL_ORCHESTRATOR and should
 *    return; a fetched task not started yet is not run at all (the last
 *    4096 notices are remembered, so a notice that overtakes its task
 *    counts too).  The result is still produced, so the task's offset is
 *    committed as usual: what the handler reported, or FAILED
 *    "Baton.Cancelled" when it reported nothing or never ran.  batond
 *    ignores it as stale (it gave the attempt up before sending the
 *    notice).  Heartbeats of a cancelled task are not sent.  A worker
 *    started after a notice was produced does not know it: such a task
 *    runs, and its result is ignored as stale.
 *
 *  - Stop (baton_worker_stop, e.g. from SIGTERM) drains: no new task
 *    starts (fetched ones stay uncommitted), running activities finish,
 *    their results are delivered and committed, the consumer leaves the
 *    group, run() returns BATON_OK.  A second stop also cancels running
 *    activities and waits at most 5 s more for acknowledgements.
 *
 * Threads: baton_worker_new/register/run/destroy on one application thread
 * (run blocks it: it is the Kafka poll loop); handlers on the worker's pool
 * threads; baton_worker_stop anywhere, including a signal handler.  The
 * activity accessors and report calls only inside the handler, on its
 * thread, with the activity it was given.
 *
 * Configuration keys read (config.h): worker.queue, worker.concurrency,
 * worker.id (default "<hostname>:<pid>"), topic.prefix, and kafka.* /
 * kafka.consumer.* / kafka.producer.* passed to librdkafka;
 * worker.metrics.listen (host:port: the worker serves Prometheus /metrics,
 * /healthz and /readyz there from baton_worker_new on; empty: off) and
 * metrics.live.timeout.s (docs/operations.md).
 */
#ifndef BATON_WORKER_H
#define BATON_WORKER_H

#include <stdint.h>

#include "baton_common.h"
#include "config.h"

typedef struct baton_worker baton_worker_t;
typedef struct baton_activity baton_activity_t;

/* An activity implementation.  Runs on a pool thread; may block as long as
 * the activity takes.  Report the outcome with baton_activity_complete or
 * baton_activity_fail before returning (otherwise the SDK reports it failed
 * with error "Baton.NoResult" -- or sends nothing when the worker cancelled
 * it, see baton_activity_cancelled).  opaque is the pointer given to
 * register. */
typedef void (*baton_activity_fn)(baton_activity_t *act, void *opaque);

/* ---- the worker -------------------------------------------------------- */

/* Creates a worker for the queue worker.queue: builds its Kafka consumer
 * and producer (they start connecting in the background; nothing is
 * consumed until run).  conf is read during the call only; the caller
 * keeps ownership.  Returns the worker (destroy with
 * baton_worker_destroy), or NULL with the reason in errstr (a bad kafka.*
 * property, no brokers configured, worker.concurrency < 1, out of memory).
 * Thread: any application thread. */
baton_worker_t *baton_worker_new(const baton_conf_t *conf, char *errstr,
                                 size_t errlen);

/* Registers fn for tasks whose activity_type is activity_type (copied).
 * opaque is passed to fn unchanged; the worker does not own it.  Returns
 * BATON_OK, BATON_ERR_INVALID when the type is already registered or run
 * has started, BATON_ERR_NOMEM.  Thread: the application thread, before
 * run. */
baton_err_t baton_worker_register(baton_worker_t *w, const char *activity_type,
                                  baton_activity_fn fn, void *opaque);

/* Runs the worker: subscribes, starts worker.concurrency pool threads and
 * polls until baton_worker_stop, then drains (see above) and returns.
 * Returns BATON_OK after a clean stop, or the error that ended it
 * (BATON_ERR_KAFKA for a fatal Kafka error, e.g. the idempotent producer
 * fenced) with the text in baton_worker_errstr; results not acknowledged by
 * then are not committed, so their tasks run again elsewhere.  Call at most
 * once per worker.  Thread: blocks the calling application thread. */
baton_err_t baton_worker_run(baton_worker_t *w);

/* Asks run() to drain and return; a second call also sets every running
 * activity's cancelled flag.  Returns at once.  Async-signal-safe (an
 * atomic counter and a write() to a pipe): call it from a SIGTERM handler.
 * Thread: any. */
void baton_worker_stop(baton_worker_t *w);

/* The text of the error run() returned ("" when none).  Owned by the
 * worker, valid until destroy.  Thread: the application thread. */
const char *baton_worker_errstr(const baton_worker_t *w);

/* The worker identity put in results (worker.id or "<hostname>:<pid>").
 * Owned by the worker.  Thread: any. */
const char *baton_worker_id(const baton_worker_t *w);

/* Frees the worker, its Kafka handles and threads.  Must not be called
 * while run() is running.  NULL is a no-op.  Thread: the application
 * thread. */
void baton_worker_destroy(baton_worker_t *w);

/* ---- inside a handler: the task ---------------------------------------- */

/* Each accessor returns a value owned by the SDK, valid until the handler
 * returns (copy it to keep it).  Thread: the handler's. */

/* The activity's input: JSON text, never NULL ("null" at worst). */
const char *baton_activity_input(const baton_activity_t *act);
/* "<workflow_id>/<activity_seq>/<attempt>": unique per attempt. */
const char *baton_activity_task_id(const baton_activity_t *act);
/* "<workflow_id>/<activity_seq>": the same for every attempt of this
 * activity; pass it to side-effecting calls (payment ids, LLM request
 * dedup) so a retried attempt does not repeat the effect. */
const char *baton_activity_idempotency_key(const baton_activity_t *act);
const char *baton_activity_workflow_id(const baton_activity_t *act);
const char *baton_activity_type(const baton_activity_t *act);
/* 1 for the first attempt. */
int32_t baton_activity_attempt(const baton_activity_t *act);
/* The details the previous attempt last sent with
 * baton_activity_heartbeat (JSON), or NULL: where to resume from. */
const char *baton_activity_heartbeat_details(const baton_activity_t *act);
/* The task's HeartbeatSeconds: when > 0 the orchestrator times the attempt
 * out unless a heartbeat arrives at least this often; 0 = none required. */
int32_t baton_activity_heartbeat_seconds(const baton_activity_t *act);
/* The task's TimeoutSeconds as an absolute deadline (ms since the epoch,
 * from the time the orchestrator scheduled it), or 0 when none. */
int64_t baton_activity_deadline_ms(const baton_activity_t *act);
/* Where the task's message sits in its queue topic: its partition and
 * offset (for logs that line an execution up with Kafka's tools, e.g.
 * kafka-consumer-groups' committed offsets). */
int32_t baton_activity_partition(const baton_activity_t *act);
int64_t baton_activity_offset(const baton_activity_t *act);

/* ---- inside a handler: reporting --------------------------------------- */

/* Reports success with output, a JSON text (copied; NULL means "null").
 * Returns BATON_OK, BATON_ERR_INVALID when output is not JSON or the
 * activity already reported (nothing is recorded then), BATON_ERR_NOMEM.
 * The result is produced once the handler returns. */
baton_err_t baton_activity_complete(baton_activity_t *act,
                                    const char *output_json);

/* Reports failure.  error is the ASL error name Retry/Catch match on (NULL
 * = "States.TaskFailed"); cause is free text (may be NULL);
 * retry_after_ms is a hint for the retry delay (0 = the policy decides;
 * e.g. a rate-limited API said "come back in 30 s": 30000; batond waits at
 * least that long before the next attempt).  Strings are copied.  Returns
 * BATON_OK, BATON_ERR_INVALID when the activity already reported,
 * BATON_ERR_NOMEM. */
baton_err_t baton_activity_fail(baton_activity_t *act, const char *error,
                                const char *cause, int64_t retry_after_ms);

/* Flags of baton_activity_fail_flags. */
#define BATON_FAIL_NON_RETRYABLE \
    0x1 /* final: batond skips the state's
                                        Retry rules (Catch still applies);
                                        Result.non_retryable = true */

/* baton_activity_fail with flags (BATON_FAIL_*, or 0 = the same as
 * baton_activity_fail).  BATON_ERR_INVALID also for unknown flags. */
baton_err_t baton_activity_fail_flags(baton_activity_t *act, const char *error,
                                      const char *cause, int64_t retry_after_ms,
                                      int flags);

/* Tells the orchestrator the activity is alive, with optional progress
 * details (JSON, copied; NULL = none) that a later attempt receives as
 * baton_activity_heartbeat_details.  Sent as a HEARTBEAT result (output =
 * details) to the task's result_partition, throttled per activity to at
 * most one per interval, the interval being a third of the task's
 * heartbeat_seconds (1 s when it has none; never under 100 ms): a call
 * less than an interval after the last heartbeat sent is held back, and
 * the SDK sends the latest held-back details itself once the interval has
 * passed (unless the handler returned by then).  So call it freely in a
 * loop: the rate stays bounded and the last details always reach batond,
 * at most one interval late.  Nothing is sent for a task cancelled by the
 * orchestrator.  Returns BATON_OK (also when held back), BATON_ERR_INVALID
 * when details is not JSON, BATON_ERR_NOMEM, BATON_ERR_KAFKA when the
 * producer refused a heartbeat sent at once. */
baton_err_t baton_activity_heartbeat(baton_activity_t *act,
                                     const char *details_json);

/* Why baton_activity_cancelled says stop (bits; several may be set). */
#define BATON_CANCEL_WORKER \
    0x1 /* the worker stops for good (second
                                         stop) or loses the partition */
#define BATON_CANCEL_ORCHESTRATOR \
    0x2 /* a cancellation notice named this
                                         attempt: batond gave it up */
#define BATON_CANCEL_DEADLINE \
    0x4 /* the task's deadline has passed:
                                         batond timed the attempt out */

/* Non-zero (BATON_CANCEL_* bits) once the activity should give up.  A
 * handler that then returns without reporting sends: FAILED
 * "Baton.Cancelled" for BATON_CANCEL_ORCHESTRATOR (the offset is
 * committed: the task is over), otherwise nothing for BATON_CANCEL_WORKER
 * (the task stays uncommitted and runs again elsewhere), otherwise
 * "Baton.NoResult" (the deadline passed).  A report made anyway is sent
 * (batond ignores it as stale).  Cheap; poll it in loops.  Thread: the
 * handler's. */
int baton_activity_cancelled(const baton_activity_t *act);

/* Sleeps ms milliseconds, waking every 20 ms to look at
 * baton_activity_cancelled: returns 0 after the full sleep, or its
 * BATON_CANCEL_* bits as soon as the activity should give up.  Thread:
 * the handler's. */
int baton_activity_sleep(const baton_activity_t *act, int64_t ms);

/* ---- tracing (docs/tracing.md) ----------------------------------------- */

/* Each execution of a task whose message carries a traceparent is one
 * span, a child of the attempt's span in batond.  A handler adds
 * attributes to it (key and value copied; OpenTelemetry names, e.g.
 * gen_ai.request.model); no-ops returning BATON_OK on an untraced task.
 * Thread: the handler's. */
baton_err_t baton_activity_span_set_str(baton_activity_t *act, const char *key,
                                        const char *value);
baton_err_t baton_activity_span_set_int(baton_activity_t *act, const char *key,
                                        int64_t value);
/* Names the span (copied; the default is "execute <activity type>"), as
 * OpenTelemetry's conventions say: "chat <model>", "execute_tool <name>". */
void baton_activity_span_set_name(baton_activity_t *act, const char *name);
/* 1 when the execution has a span. */
int baton_activity_traced(const baton_activity_t *act);
/* 1 when spans may carry message content (tracing.genai.content = 1, off
 * by default): prompts, completions, tool arguments and results. */
int baton_activity_trace_content(const baton_activity_t *act);
/* The traceparent naming the execution's span into buf (at least 56
 * bytes), to pass on to the services the activity calls; NULL when
 * untraced. */
const char *baton_activity_traceparent(const baton_activity_t *act, char *buf,
                                       size_t len);

/* The configuration of a worker process: the config file (NULL: the
 * default order of config.h), then the --queue and --concurrency flags
 * when not NULL.  NULL with errstr naming the bad file, line or value. */
baton_conf_t *baton_worker_conf_load(const char *file, const char *queue,
                                     const char *concurrency, char *errstr,
                                     size_t errlen);

#endif /* BATON_WORKER_H */
