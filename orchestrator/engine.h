/*
 * engine.h -- applies one input to one workflow: the heart of batond.
 *
 * Pure logic: given a snapshot (or none), an input (a command, an activity
 * result or a fired timer) and the time, the engine updates the snapshot
 * through the ASL interpreter and records in the partition's write set what
 * must follow: history events, activity tasks, timers.  It never touches
 * Kafka or Redis (the build checks its includes: core_purity.sh), so every
 * rule below is unit-tested on its own.
 *
 * Rules (DESIGN.md "Guarantees", docs/bridge.md):
 *  - START of an id that has a run follows the command's id_reuse policy:
 *    refuse_while_running (the default) refuses it while the run runs and
 *    starts a new run after a close only when the old one did not succeed;
 *    allow_after_close starts a new run once closed; never refuses it as
 *    long as the id is known.  A child run's START (batond's own) is
 *    always `never`.  A refused START changes nothing but is recorded in
 *    the existing run's history (StartRefused).  A new run continues the
 *    old one's history and step numbers;
 *  - a SIGNAL with start_if_absent starts workflow_type with start_input
 *    when the policy allows a new run (the signal is then not delivered),
 *    else it is delivered to the existing run;
 *  - a SIGNAL for an id with no run is held (signal_hold_ms, default
 *    batond.signal.hold.ms) and delivered when a run starts; after its
 *    hold it goes to the DLQ (engine_held.c);
 *  - a result is applied only when it carries the task_id of the pending
 *    attempt of a running workflow; anything else is stale: counted in the
 *    snapshot (`stale`) and otherwise ignored;
 *  - a signal that arrives before the run waits for it is kept in the
 *    snapshot and handed over when the wait starts: none is lost;
 *  - CANCEL and TERMINATE close a running workflow; late results of its
 *    activities are then stale.  CANCEL tells the workers of its pending
 *    activity (baton.cancels) and cancels its child runs; TERMINATE
 *    terminates its child runs and tells no worker;
 *  - a run whose definition has TimeoutSeconds fails with States.Timeout
 *    when it runs out; activity timeouts and heartbeats: engine_task.c;
 *  - child runs (child workflows, Parallel branches, Map iterations)
 *    report their end to their parent: engine_child.c.
 *
 * Thread: batond's loop thread.
 */
#ifndef BATON_ENGINE_H
#define BATON_ENGINE_H

#include "codec.h"
#include "registry.h"
#include "snapshot.h"
#include "wset.h"

typedef struct baton_engine baton_engine_t;

/* reg and codec are borrowed and must outlive the engine. */
baton_engine_t *baton_engine_new(baton_registry_t *reg, baton_codec_t *codec,
                                 const char *topic_prefix);
void baton_engine_destroy(baton_engine_t *e); /* NULL is a no-op */

/* Applies a command.  *snap is the workflow's snapshot or NULL when it does
 * not exist; a START replaces NULL with a new snapshot owned by the caller.
 * Returns BATON_ERR_INVALID (with errstr) for a command to reject to the
 * DLQ (unknown workflow type, signal for an unknown workflow, ...). */
baton_err_t baton_engine_command(baton_engine_t *e, baton_snapshot_t **snap,
                                 const baton_command_t *cmd, int64_t now_ms,
                                 baton_wset_t *ws, char *errstr, size_t errlen);

/* Sets the hold of a signal for a run not started yet when its command
 * says none (ms, > 0; the default is one hour). */
void baton_engine_set_signal_hold(baton_engine_t *e, int64_t ms);

/* The queues whose tasks are sent as JSON envelopes (content-type
 * application/json) instead of Avro binary: a comma-separated list of
 * queue names (spaces allowed around them), "*" for every queue, NULL or
 * "" for none (the default; batond.tasks.json.queues).  The list is
 * copied.  BATON_ERR_INVALID with errstr naming the entry when one is not
 * a queue name (baton_codec_queue_ok). */
baton_err_t baton_engine_set_json_queues(baton_engine_t *e, const char *list,
                                         char *errstr, size_t errlen);

/* The queues served by workers built before task schema version 4 (a C SDK
 * worker that refuses trailing bytes): their tasks go out as version-3
 * Avro records (baton_codec_encode_task_v3), the lineage dropped, for
 * top-level and child runs alike (docs/wire-protocol.md "Schema evolution:
 * old workers"; batond.tasks.avro.v3.queues).  The list has the form of
 * baton_engine_set_json_queues' and is copied; call this after that one:
 * BATON_ERR_INVALID when a queue is on both lists ("*" included), or an
 * entry is not a queue name. */
baton_err_t baton_engine_set_v3_queues(baton_engine_t *e, const char *list,
                                       char *errstr, size_t errlen);

/* Which history events batond also publishes on <prefix>.events
 * (batond.events.publish; docs/events.md): ALL (the default) every one;
 * LIFECYCLE those with a dev.baton.workflow.* CloudEvents type (started,
 * step completed, waiting for a signal, completed, failed, cancelled,
 * terminated); NONE nothing.  The Redis history always keeps every event. */
typedef enum {
    BATON_EVENTS_ALL = 0,
    BATON_EVENTS_LIFECYCLE,
    BATON_EVENTS_NONE,
} baton_engine_events_t;
void baton_engine_set_events(baton_engine_t *e, baton_engine_events_t which);
/* "all", "lifecycle" or "none" into *out; BATON_ERR_INVALID with errstr
 * naming the value otherwise. */
baton_err_t baton_engine_events_parse(const char *s, baton_engine_events_t *out,
                                      char *errstr, size_t errlen);
/* 1 when history events of this type are published under `which`. */
int baton_engine_events_publish(baton_engine_events_t which, const char *type);

/* What one run may hold or write (each <= 0: no limit).  A signal past
 * the buffered count or bytes goes to the DLQ; a Map state over more
 * items, or data larger than state_max where a state produces it, fails
 * the step with States.DataLimitExceeded (Catch sees it, Retry does not);
 * past history_bytes_max the run's Redis history stops with one
 * HistoryTruncated event (the events topic still gets every event). */
typedef struct baton_engine_limits {
    int64_t signals_max;       /* signals buffered per run (and held per
                                  id not started yet) */
    int64_t signals_bytes_max; /* bytes of their payloads */
    int64_t map_items_max;     /* items of one Map state */
    int64_t state_max;         /* bytes of a state's input or output */
    int64_t history_bytes_max; /* bytes of history events per run */
} baton_engine_limits_t;
void baton_engine_set_limits(baton_engine_t *e,
                             const baton_engine_limits_t *limits);

/* The claim check (common/blob.h): task inputs over o->threshold travel as
 * references, their blobs recorded in the write set (store.c stores
 * them).  Threshold 0 (the default) = off. */
struct baton_blob_opts;
void baton_engine_set_blobs(baton_engine_t *e, const struct baton_blob_opts *o);

/* The source of the random nonce each activity attempt and child step
 * carries in its task ids: fills buf[0..len) with random bytes, 0 ok, -1
 * failed (the input is then not applied: retried, then quarantined).
 * batond draws them from OpenSSL's RAND_bytes.  Without a source (unit
 * tests that predict task ids) task ids carry no nonce. */
typedef int (*baton_engine_random_fn)(void *ctx, unsigned char *buf,
                                      size_t len);
void baton_engine_set_random(baton_engine_t *e, baton_engine_random_fn fn,
                             void *ctx);

/* Budgets of model calls (budget.h, engine_budget.c): `types` the
 * comma-separated activity types that are model calls
 * (batond.budget.activities; NULL keeps the default, llm.chat; ""
 * counts none), `prices` the price table as JSON text (llm.prices; NULL
 * or "": none).  Both copied.  BATON_ERR_INVALID with errstr when the
 * table is not valid. */
baton_err_t baton_engine_set_budget(baton_engine_t *e, const char *types,
                                    const char *prices, char *errstr,
                                    size_t errlen);

/* A command the loop found to be a duplicate (its dedupe key was applied
 * already): counted in the run's snapshot and recorded in its history
 * (CommandDuplicate); snap may be NULL or HELD (then nothing changes). */
baton_err_t baton_engine_duplicate(baton_engine_t *e, baton_snapshot_t *snap,
                                   const baton_command_t *cmd, int64_t now,
                                   baton_wset_t *ws);

/* Applies an activity result; snap may be NULL (then it is stale). */
baton_err_t baton_engine_result(baton_engine_t *e, baton_snapshot_t *snap,
                                const baton_result_t *r, int64_t now_ms,
                                baton_wset_t *ws, char *errstr, size_t errlen);

/* Timer members: "<kind>|<seq>|<attempt>|<workflow id>", kind 'r' (retry
 * backoff over), 'w' (Wait state over), 't' (deadline of the pending
 * step), 'x' (the run's execution deadline) or 'h' (held signals run
 * out); engine_int.h has more.
 * Parses one; 0 ok, -1 bad. */
int baton_timer_member_parse(const char *member, char *kind, int64_t *seq,
                             int32_t *attempt, const char **wf_id);

/* Applies a fired timer; stale timers change nothing. */
baton_err_t baton_engine_timer(baton_engine_t *e, baton_snapshot_t *snap,
                               const char *member, int64_t now_ms,
                               baton_wset_t *ws, char *errstr, size_t errlen);

/* Definition of a snapshot, or NULL (the loop then has its port load the
 * version into the registry first: from Redis, in batond). */
const baton_defn_t *baton_engine_defn(baton_engine_t *e,
                                      const baton_snapshot_t *snap);

/* Whether version ver of definition name is loaded. */
int baton_engine_knows(baton_engine_t *e, const char *name, const char *ver);

#endif /* BATON_ENGINE_H */
