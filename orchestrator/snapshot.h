/*
 * snapshot.h -- a workflow's durable state, and its encoding in Redis.
 *
 * A snapshot is everything needed to continue a run: it is written to
 * baton:{pN}:wf:<id> (common/keys.h) in the same atomic write as the offsets of the inputs
 * that produced it, so state and "inputs applied" never disagree.
 *
 * Encoding: one compact JSON object (short field names keep a waiting
 * workflow well under 1 KiB):
 *
 *   field    type     meaning
 *   v        int      encoding version, 1
 *   id       string   workflow id
 *   type     string   definition name
 *   ver      string   definition version (hash of its text)
 *   st       string   status: RUNNING SUCCEEDED FAILED CANCELLED TERMINATED,
 *                     or HELD: no run yet, only signals held for its start
 *                     (type and ver are "" then; engine_held.c)
 *   pos      string   current state; absent once closed
 *   in       any      the execution input ($$.Execution.Input)
 *   si       any      raw input of the current (waiting) state
 *   out      any      output, when SUCCEEDED
 *   err      string   error name, when FAILED / CANCELLED / TERMINATED
 *   cause    string   error cause
 *   t0       int      start time, ms since the epoch
 *   t1       int      close time
 *   aseq     int      last activity sequence number used
 *   pk       string   what the run waits for: "task", "signal", "retry",
 *                     "wait", "child", "fanout" (absent when nothing)
 *   pseq     int      sequence number of the pending step (every step that
 *                     waits takes a new one from aseq)
 *   patt     int      task/retry: its attempt number (1-based)
 *   pq       string   task: queue
 *   pat      string   task: activity type; child: the child's definition
 *   pdue     int      retry/wait: due time (ms)
 *   pnt      string   wait: the state the run continues at when the Wait
 *                     ends ("" when the Wait ends the run); while a Wait
 *                     state waits, pos names that Wait state itself.
 *                     Snapshots written before pnt existed have no pnt and
 *                     hold that next state in pos instead (still read:
 *                     baton_snapshot_decode takes pos as pnt then)
 *   psig     string   signal: name awaited
 *   pst      int      task: when this attempt was scheduled; signal/child/
 *                     fanout: when the wait started
 *   pst0     int      task: when the first attempt was scheduled
 *   phb      int      task: last heartbeat of this attempt (0 = none yet)
 *   phd      any      task: details of the last heartbeat (any attempt)
 *   pto      int      TimeoutSeconds of the pending step (0 = none)
 *   phbs     int      task: HeartbeatSeconds
 *   ps2s     int      task: schedule-to-start seconds
 *   ps2c     int      task: schedule-to-close seconds
 *   prc      array    task/retry: retries granted per Retry entry
 *   pn       int      fanout: number of sub-runs
 *   pnx      int      fanout: sub-runs started so far (indexes 0..pnx-1)
 *   pmc      int      fanout: MaxConcurrency (0 = unlimited)
 *   pim      int      fanout: 1 for Map, 0 for Parallel
 *   ptc      int      fanout: tolerated failure count (-1 = not set)
 *   ptp      real     fanout: tolerated failure percentage (-1 = not set)
 *   pfc      int      fanout: sub-runs failed so far
 *   pco      object   fanout/child: outputs of finished sub-runs by index
 *   par      string   a child run: its parent's workflow id
 *   ptid     string   a child run: the parent task id its end answers
 *   br       string   a child run of Parallel/Map: the sub-state-machine
 *   rp       string   a child run: its path from the top-level run,
 *                     "<seq>[:<index>]" per level joined by '/' (tasks
 *                     carry it as run_path; baton_engine_lineage)
 *   tx       int      execution deadline (ms; 0 = none)
 *   sig      object   signals received but not yet awaited:
 *                     {"name": [payload, ...]}
 *   held     array    HELD: signals waiting for the run to start, oldest
 *                     first: {"n": name, "p": payload, "until": ms,
 *                     "t0": ms received, "src": what sent it}
 *   hseq     int      last history event sequence number (a new run of
 *                     the same id continues it, so (id, seq) stays unique)
 *   dup      int      count of duplicate commands recorded (dedupe)
 *   q        string   QUARANTINED: why the run is set aside (an input
 *                     whose apply kept failing for a non-input reason,
 *                     loop.h); every later input of it goes to the DLQ
 *   stale    int      count of duplicate or stale results ignored
 *   pno      string   pend_nonce: the nonce of the pending step's task ids
 *   hb       int      bytes of history events the run wrote (the history
 *                     stops at batond.limits.history.bytes.max; engine.h)
 *   tid      string   trace id (32 hex) of the run (docs/tracing.md); absent
 *                     in snapshots written before tracing: the id is then
 *                     derived from id and t0 (engine_trace.c)
 *   tps      string   the span id (16 hex) the run's span is a child of:
 *                     the start command's traceparent; absent for a root
 *   tfl      int      trace flags of that traceparent (1 = sampled)
 *   tst      string   tracestate of the start command, carried unchanged
 *   bud      object   the run's budget for model calls {"MaxTokens",
 *                     "MaxCalls", "MaxCost"} (budget.h); absent: none
 *   use      object   usage of model calls so far, its child runs'
 *                     included {"calls", "input_tokens", ...} (budget.h)
 *
 * Thread: snapshots are owned by batond's loop thread.
 */
#ifndef BATON_SNAPSHOT_H
#define BATON_SNAPSHOT_H

#include <jansson.h>

#include "baton_common.h"
#include "codec.h"
#include "trace.h"

typedef enum {
    BATON_WF_RUNNING = 0,
    BATON_WF_SUCCEEDED,
    BATON_WF_FAILED,
    BATON_WF_CANCELLED,
    BATON_WF_TERMINATED,
    BATON_WF_HELD, /* not a run: signals held until one starts */
} baton_wf_status_t;

typedef enum {
    BATON_PEND_NONE = 0,
    BATON_PEND_TASK,
    BATON_PEND_SIGNAL,
    BATON_PEND_RETRY,
    BATON_PEND_WAIT,
    BATON_PEND_CHILD,
    BATON_PEND_FANOUT,
} baton_pend_kind_t;

typedef struct baton_snapshot {
    char *id;
    char *type;
    char *ver;
    baton_wf_status_t status;
    char *pos;
    json_t *input;       /* owned reference */
    json_t *state_input; /* owned reference, NULL when none */
    json_t *output;      /* owned reference, NULL when none */
    char *error;
    char *cause;
    int64_t started_ms;
    int64_t closed_ms;
    int64_t aseq;
    baton_pend_kind_t pend;
    int64_t pend_seq;
    int32_t pend_attempt;
    char *pend_queue;
    char *pend_type;
    int64_t pend_due_ms;
    char *pend_signal;
    char *pend_then; /* wait: the state to continue at, "" when the Wait
                        ends the run (pnt) */
    /* the random nonce of the pending step's task ids (task id
     * "<id>/<seq>/<attempt>.<nonce>"), "" when the engine has no nonce
     * source; a result is matched only when its task id carries it */
    char pend_nonce[BATON_TASK_NONCE_MAX + 1];
    int64_t pend_start_ms;
    int64_t pend_first_ms;
    int64_t pend_hb_ms;
    json_t *pend_hb_details; /* owned, NULL when none */
    int32_t pend_timeout_s;
    int32_t pend_hb_s;
    int32_t pend_s2s_s;
    int32_t pend_s2c_s;
    json_t *pend_retries; /* owned array, NULL when none */
    int64_t pend_n;
    int64_t pend_next;
    int32_t pend_max_conc;
    int32_t pend_is_map;
    int64_t pend_tol_count;
    double pend_tol_pct;
    int64_t pend_failed;
    json_t *pend_outputs; /* owned object, NULL when none */
    char *parent_id;
    char *parent_task_id;
    char *branch;
    char *run_path;   /* a child run: its path from the top-level run
                            (docs/wire-protocol.md, "Lineage"); NULL at
                            the top */
    char *quarantine; /* why the run is quarantined, NULL when not */
    int64_t deadline_ms;
    json_t *signals;   /* owned object, NULL when none buffered */
    json_t *held;      /* HELD: owned array, NULL when none */
    json_t *blob_seen; /* not encoded: claim-check blobs this cached
                          snapshot already handed to a write set (hex ->
                          true); NULL when none.  Dropped with the cache,
                          so a blob is handed again after a reload */
    int64_t hseq;
    int64_t stale;
    int64_t dup;
    int64_t hbytes; /* bytes of history events written */
    /* trace context (docs/tracing.md); "" when not known */
    char trace_id[BATON_TRACE_ID_HEX + 1];
    char trace_parent[BATON_SPAN_ID_HEX + 1];
    int32_t trace_flags;
    char *tracestate; /* NULL when none */
    json_t *budget;   /* owned object, NULL when the run has none */
    json_t *usage;    /* owned object, NULL before the first model call */
} baton_snapshot_t;

/* A new empty snapshot (all NULL / 0), or NULL when out of memory. */
baton_snapshot_t *baton_snapshot_new(void);
void baton_snapshot_destroy(baton_snapshot_t *s); /* NULL is a no-op */

/* The encoding as a JSON object (a new reference; NULL when out of
 * memory).  It shares s's JSON values (input, state, outputs...): read it,
 * never change it. */
json_t *baton_snapshot_to_json(const baton_snapshot_t *s);

/* Encodes to compact JSON text (baton_malloc'd, owned by the caller): the
 * dump of baton_snapshot_to_json. */
char *baton_snapshot_encode(const baton_snapshot_t *s, size_t *len);

/* Decodes text; returns NULL with errstr naming the bad field. */
baton_snapshot_t *baton_snapshot_decode(const char *text, size_t len,
                                        char *errstr, size_t errlen);

/* Clears what the run waits for. */
void baton_snapshot_clear_pending(baton_snapshot_t *s);

/* 1 for SUCCEEDED, FAILED, CANCELLED, TERMINATED (not RUNNING, HELD). */
int baton_wf_status_closed(baton_wf_status_t st);
const char *baton_wf_status_name(baton_wf_status_t st);
int baton_wf_status_parse(const char *name, baton_wf_status_t *out);

#endif /* BATON_SNAPSHOT_H */
