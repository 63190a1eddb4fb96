/*
 * engine_int.h -- what the engine's files share (not a public interface).
 *
 * The engine (engine.h) is split by what a run waits for:
 *
 *   engine.c        the engine object, history, closing a run, advancing
 *                   a run through the interpreter, commands and timers;
 *   engine_task.c   activities: scheduling attempts, results, heartbeats,
 *                   the four activity timeouts, Retry with its per-retrier
 *                   counts and retry-after hints, cancel notices to workers;
 *   engine_held.c   signals held for a run that has not started yet, and
 *                   what a command leaves in the history (its source);
 *   engine_child.c  child runs: a Task on baton:workflow:<name>, and the
 *                   branches of Parallel and iterations of Map, each run as
 *                   a workflow of its own that reports its end to its
 *                   parent through baton.results.
 *
 * Every "pending step" (snapshot.h, pk) has a sequence number; its timers
 * are "<kind>|<seq>|<attempt>|<workflow id>" in baton:{pN}:timers
 * (common/keys.h):
 *   r  retry backoff over          w  Wait state over
 *   t  deadline of the pending step (activity timeouts, signal-wait and
 *      child time-outs; re-armed when a heartbeat moves it)
 *   x  the run's execution deadline (seq and attempt 0)
 *   h  held signals run out (seq and attempt 0; engine_held.c)
 */
#ifndef BATON_ENGINE_INT_H
#define BATON_ENGINE_INT_H

#include "blob.h"
#include "engine.h"

struct baton_engine {
    baton_registry_t *reg;
    baton_codec_t *codec;
    char topic_prefix[100];
    char topic_events[200];
    char topic_commands[200];
    char topic_results[200];
    char topic_cancels[200];
    char topic_dlq[200];
    int64_t signal_hold_ms; /* default hold of a signal for a run to come */
    char *json_queues;      /* batond.tasks.json.queues as ",q1,q2,", or
                               "*" (every queue); NULL = none: Avro */
    char *v3_queues;        /* batond.tasks.avro.v3.queues, the same form: Avro
                        version-3 tasks (no lineage) for old workers */
    baton_engine_limits_t limits;
    baton_blob_opts_t blob;        /* claim check; threshold 0 = off */
    baton_engine_random_fn random; /* NULL: task ids carry no nonce */
    void *random_ctx;
    baton_engine_events_t events; /* which events go to <prefix>.events */
    char *budget_types; /* model-call activity types as ",a,b,"; NULL =
                           the default (engine_budget.c) */
    json_t *prices;     /* llm.prices (budget.h), NULL = none */
};

/* 1 when tasks of queue q go out as JSON envelopes (engine.c). */
int baton_engine_queue_json(const baton_engine_t *e, const char *q);
/* 1 when tasks of queue q go out as version-3 Avro records, without the
 * lineage (engine.c; never for a JSON queue). */
int baton_engine_queue_v3(const baton_engine_t *e, const char *q);

/* Bytes of randomness in a task id's nonce (hex: twice as many digits). */
#define BATON_ENGINE_NONCE_BYTES 12

/* Draws a new nonce for the pending step of s (s->pend_nonce), "" without
 * a random source.  BATON_OK or BATON_ERR_IO (the source failed). */
baton_err_t baton_engine_new_nonce(baton_engine_t *e, baton_snapshot_t *s);
/* "<s->id>/<seq>/<attempt>[.<nonce>]" into buf: a task id of s's pending
 * step. */
void baton_engine_task_id(const baton_snapshot_t *s, int64_t seq,
                          int64_t attempt, char *buf, size_t len);

/* The error a run's step fails with when it breaks a limit of
 * baton_engine_limits_t (catchable, never retried). */
#define BATON_ENGINE_ERR_LIMIT "States.DataLimitExceeded"

/* BATON_ERR_INVALID (errstr: which limit) when one more signal of
 * payload_len bytes would exceed the buffered count or bytes, given the
 * signals already kept in `kept` ({"name":[payload...]} when by_name,
 * else an array of {"p": payload}); else BATON_OK. */
baton_err_t baton_engine_signal_room(const baton_engine_t *e,
                                     const json_t *kept, int by_name,
                                     const char *wf_id, size_t payload_len,
                                     char *errstr, size_t errlen);

/* ---- engine.c ---------------------------------------------------------- */

void baton_engine_set_str(char **dst, const char *v);
void baton_engine_ctx(const baton_snapshot_t *s, int64_t now, int32_t attempt,
                      baton_asl_ctx_t *ctx);
/* The state machine a run executes: its definition, or the branch of it
 * (Parallel / Map) that a child run was started on.  NULL: no such
 * branch. */
const baton_asl_def_t *baton_engine_machine(const baton_defn_t *d,
                                            const baton_snapshot_t *s);
void baton_engine_timer_member(char *buf, size_t len, char kind, int64_t seq,
                               int32_t attempt, const char *wf_id);

/* The output of a result as JSON (a new reference; JSON null when it has
 * none), or NULL with errstr naming the result when it is not JSON. */
json_t *baton_engine_result_output(const baton_result_t *r, char *errstr,
                                   size_t errlen);
/* Records history event `type` (data stolen, may be NULL). */
baton_err_t baton_engine_emit(baton_engine_t *e, baton_snapshot_t *s,
                              baton_wset_t *ws, const char *type,
                              const char *state, json_t *data, int64_t now,
                              int close);
/* Ends the run: releases its pending step (cancel_work as for
 * baton_engine_release), records the end, reports to a parent. */
baton_err_t baton_engine_close(baton_engine_t *e, baton_snapshot_t *s,
                               baton_wset_t *ws, baton_wf_status_t st,
                               json_t *output, const char *error,
                               const char *cause, int cancel_work, int64_t now);
/* Runs from `state` until the run waits or ends. */
baton_err_t baton_engine_run_from(baton_engine_t *e, const baton_defn_t *d,
                                  baton_snapshot_t *s, baton_wset_t *ws,
                                  const char *state, json_t *input, int64_t now,
                                  char *errstr, size_t errlen);
/* The pending step got its result (an activity's output, a signal's
 * payload, a child's output, the array of a fan-out): releases it and
 * continues through ResultSelector/ResultPath/OutputPath. */
baton_err_t baton_engine_step_completed(baton_engine_t *e,
                                        const baton_defn_t *d,
                                        baton_snapshot_t *s, baton_wset_t *ws,
                                        json_t *result, int64_t now,
                                        char *errstr, size_t errlen);
/* The pending step failed with `error`: Retry (a backoff timer; the step
 * starts again when it fires), else Catch, else the run fails.
 * no_retry skips Retry (non-retryable errors, schedule-to-close). */
baton_err_t baton_engine_step_failed(baton_engine_t *e, const baton_defn_t *d,
                                     baton_snapshot_t *s, baton_wset_t *ws,
                                     const char *error, const char *cause,
                                     int64_t retry_after_ms, int no_retry,
                                     int64_t now, char *errstr, size_t errlen);
/* Forgets the pending step: removes its timers and tells its workers /
 * child runs to stop (cancel_work: BATON_WORK_KEEP, _CANCEL or
 * _TERMINATE: child runs are terminated, workers are not told).  Keeps
 * nothing of it. */
enum { BATON_WORK_KEEP = 0, BATON_WORK_CANCEL = 1, BATON_WORK_TERMINATE = 2 };
baton_err_t baton_engine_release(baton_engine_t *e, baton_snapshot_t *s,
                                 baton_wset_t *ws, int cancel_work,
                                 const char *reason, int64_t now);

/* Keeps a signal nobody waits for yet, for the wait that will come
 * (payload stolen). */
baton_err_t baton_engine_buffer_signal(baton_snapshot_t *s, const char *name,
                                       json_t *payload);
/* Starts a run of cmd->workflow_type with input text `input` in *snap
 * (NULL, HELD, or a closed run the id-reuse policy lets go: the new run
 * continues its history and step numbers).  Signals held for it are
 * delivered first. */
baton_err_t baton_engine_start_run(baton_engine_t *e, baton_snapshot_t **snap,
                                   const baton_command_t *cmd,
                                   const char *input, int64_t now,
                                   baton_wset_t *ws, char *errstr,
                                   size_t errlen);

/* ---- engine_held.c ----------------------------------------------------- */

/* What sent cmd, for the history event it causes: {"request_id",
 * "dedupe_id", "trigger", "topic", "partition", "offset"} (the fields it
 * has), or NULL when it carries none of them.  A new reference. */
json_t *baton_engine_cmd_source(const baton_command_t *cmd);
/* A SIGNAL for a workflow with no run: held in a HELD snapshot (*snap
 * created when NULL) until a run starts or its hold runs out. */
baton_err_t baton_engine_hold_signal(baton_engine_t *e, baton_snapshot_t **snap,
                                     const baton_command_t *cmd,
                                     json_t *payload, int64_t now,
                                     baton_wset_t *ws);
/* A run started on a HELD snapshot: its held signals (the array, stolen)
 * become signals received before any wait, in order, each recorded. */
baton_err_t baton_engine_held_deliver(baton_engine_t *e, baton_snapshot_t *s,
                                      json_t *held, int64_t now,
                                      baton_wset_t *ws);
/* The 'h' timer fired: held signals whose hold ran out go to the DLQ. */
baton_err_t baton_engine_held_expire(baton_engine_t *e, baton_snapshot_t *s,
                                     int64_t now, baton_wset_t *ws);

/* ---- engine_task.c ----------------------------------------------------- */

/* Schedules attempt `attempt` of the activity of `stop` as step `seq`. */
baton_err_t baton_engine_task_begin(baton_engine_t *e, baton_snapshot_t *s,
                                    baton_wset_t *ws,
                                    const baton_asl_stop_t *stop, int64_t seq,
                                    int32_t attempt, int64_t now);
/* A COMPLETED / FAILED / HEARTBEAT result of the pending attempt. */
baton_err_t baton_engine_task_result(baton_engine_t *e, const baton_defn_t *d,
                                     baton_snapshot_t *s, baton_wset_t *ws,
                                     const baton_result_t *r, int64_t now,
                                     char *errstr, size_t errlen);
/* The 't' timer of a pending activity, signal wait or child run fired. */
baton_err_t baton_engine_deadline(baton_engine_t *e, const baton_defn_t *d,
                                  baton_snapshot_t *s, baton_wset_t *ws,
                                  int64_t now, char *errstr, size_t errlen);
/* Arms (or moves) the 't' timer of the pending step at due_ms. */
baton_err_t baton_engine_arm_deadline(baton_snapshot_t *s, baton_wset_t *ws,
                                      int64_t due_ms);
/* A retry pause of s (pend RETRY) began: arms the 't' timer at the end of
 * the step's schedule-to-close budget when that comes before the next
 * attempt, so the budget fails the step then, with no further attempt. */
baton_err_t baton_engine_arm_retry_budget(baton_snapshot_t *s,
                                          baton_wset_t *ws);
/* The pending attempt is over: its task leaves the outbox (never re-sent
 * after a handover, even if its delivery was not recorded yet). */
baton_err_t baton_engine_task_forget(baton_snapshot_t *s, baton_wset_t *ws);
/* Tells workers to stop the pending attempt (baton.cancels). */
baton_err_t baton_engine_task_cancel(baton_engine_t *e, baton_snapshot_t *s,
                                     baton_wset_t *ws, const char *reason);

/* ---- engine_budget.c --------------------------------------------------- */

/* The error of a model call refused by the run's budget (catchable,
 * never retried). */
#define BATON_ENGINE_ERR_BUDGET "Baton.BudgetExceeded"

/* 1 when activities of `type` are model calls counted by budgets. */
int baton_engine_budget_counts(const baton_engine_t *e, const char *type);
/* Sets s->budget for a new run of d: the definition's Budget and
 * budget_text (a START's, may be NULL), the smaller per field.
 * BATON_ERR_INVALID (errstr) when budget_text is not a valid budget. */
baton_err_t baton_engine_budget_start(baton_snapshot_t *s,
                                      const baton_defn_t *d,
                                      const char *budget_text, char *errstr,
                                      size_t errlen);
/* Before the task of `stop` is sent: when it is a model call and the
 * run's budget has no room, records BudgetExceeded, fails the step with
 * Baton.BudgetExceeded (no Retry) and sets *refused; else may add
 * "max_tokens_cap" to stop->task_input (replaced by a copy). */
baton_err_t baton_engine_budget_gate(baton_engine_t *e, const baton_defn_t *d,
                                     baton_snapshot_t *s, baton_wset_t *ws,
                                     baton_asl_stop_t *stop, int64_t now,
                                     int *refused, char *errstr, size_t errlen);
/* The pending task completed with output: a model call adds its usage. */
baton_err_t baton_engine_budget_completed(baton_engine_t *e,
                                          baton_snapshot_t *s,
                                          const json_t *output);
/* A child run's report carried usage_text (NULL: none): added to s's. */
baton_err_t baton_engine_budget_child(baton_snapshot_t *s,
                                      const char *usage_text);

/* ---- engine_child.c ---------------------------------------------------- */

/* The run stopped at a child-workflow Task or a Parallel / Map state. */
baton_err_t baton_engine_child_begin(baton_engine_t *e, const baton_defn_t *d,
                                     baton_snapshot_t *s, baton_wset_t *ws,
                                     const baton_asl_stop_t *stop, int64_t now,
                                     char *errstr, size_t errlen);
/* A child run of the pending step ended (r is its report). */
baton_err_t baton_engine_child_result(baton_engine_t *e, const baton_defn_t *d,
                                      baton_snapshot_t *s, baton_wset_t *ws,
                                      const baton_result_t *r, int64_t index,
                                      int64_t now, char *errstr, size_t errlen);
/* Cancels (or terminates) the child runs of the pending step. */
baton_err_t baton_engine_child_cancel(baton_engine_t *e, baton_snapshot_t *s,
                                      baton_wset_t *ws, int terminate,
                                      const char *reason);
/* A child run ended: reports its end to its parent. */
baton_err_t baton_engine_child_report(baton_engine_t *e, baton_snapshot_t *s,
                                      baton_wset_t *ws);

/* ---- engine_trace.c: trace context and spans (docs/tracing.md) -------- */

/* Sets the trace context of the new run s from cmd's traceparent, else a
 * new trace id (random, or derived without a random source). */
baton_err_t baton_engine_trace_start(baton_engine_t *e, baton_snapshot_t *s,
                                     const baton_command_t *cmd);
/* The span id of s's run. */
void baton_engine_trace_run_span(const baton_snapshot_t *s,
                                 char out[BATON_SPAN_ID_HEX + 1]);
/* The traceparent naming the pending step's span (step = 1, when s has
 * one) or the run's span, into buf (>= BATON_TRACEPARENT_LEN + 1). */
void baton_engine_trace_header(const baton_snapshot_t *s, int step, char *buf,
                               size_t len);
/* Puts that traceparent (and s's tracestate) on the message added last. */
baton_err_t baton_engine_trace_msg(const baton_snapshot_t *s, baton_wset_t *ws,
                                   int step);
/* Records the span of the pending step, ended now (none: BATON_OK). */
baton_err_t baton_engine_trace_step_end(const baton_snapshot_t *s,
                                        baton_wset_t *ws, int64_t now);
/* Records the run's span, ended now (s closed). */
baton_err_t baton_engine_trace_run_end(const baton_snapshot_t *s,
                                       baton_wset_t *ws, int64_t now);
/* Records the span of a signal received now. */
baton_err_t baton_engine_trace_signal(const baton_snapshot_t *s,
                                      baton_wset_t *ws, const char *name,
                                      int64_t now);
/* The claim check of a payload run s puts into a message (blob.h): *out
 * set to the ref JSON text (baton_malloc'd) with its new blobs recorded in
 * ws, or NULL when text needs no change.  engine_task.c. */
baton_err_t baton_engine_blobs_encode(baton_engine_t *e, baton_snapshot_t *s,
                                      baton_wset_t *ws, const char *text,
                                      char **out, char *errstr, size_t errlen);

#endif /* BATON_ENGINE_INT_H */
