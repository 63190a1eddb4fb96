/*
 * asl.h -- Amazon States Language: definitions and the pure interpreter.
 *
 * This is the whole interface between the processing loop (engine.c) and
 * the workflow language.  Everything behind it is pure logic over jansson
 * values: no Kafka, no Redis (the build checks the includes:
 * orchestrator/core_purity.sh), no clock, no randomness (the caller passes
 * time and a seed in baton_asl_ctx_t), so a re-applied input computes the
 * same result and the interpreter is unit-tested on its own.
 *
 * A definition is parsed and validated once (baton_asl_def_parse); the
 * engine then drives a run with three calls:
 *
 *   baton_asl_run()           from a state name and its raw input, runs the
 *                             states that need nothing from outside (Pass,
 *                             Choice, Succeed, Fail, and the data flow) until
 *                             the run reaches a state that must wait (a Task)
 *                             or ends;
 *   baton_asl_task_complete() gives a waiting Task its result: applies
 *                             ResultSelector, ResultPath, OutputPath, and
 *                             returns the next state and its input (or end);
 *   baton_asl_task_fail()     gives a waiting Task an error: applies Retry
 *                             (returns the delay of the next attempt), then
 *                             Catch (returns the catcher's state and input),
 *                             else the run fails with the error.
 *
 * Task `Resource` URIs understood (Baton's extension points, see
 * docs/workflows.md):
 *   baton:activity:<queue>/<activity_type>   an activity on a task queue
 *   baton:activity:<activity_type>           the same on queue "default"
 *   baton:signal:<name>                      a durable wait for a signal;
 *                                            the payload is the result
 *   baton:workflow:<name>                    a child workflow run to its
 *                                            end (STOP_CHILD); its output
 *                                            is the result
 *   baton:append                             appends to a list in the
 *                                            state, inline (no stop):
 *                                            Parameters {"Path": "$.list",
 *                                            "Value"|"Value.$"|"Values.$"}
 * Any other Resource is refused at validation.
 *
 * Parallel and Map states stop the run with STOP_FANOUT; each branch or
 * iteration is a sub-run of a nested definition (baton_asl_fanout_item,
 * baton_asl_def_sub) and their outputs come back as one result.
 *
 * Ownership: json_t arguments are borrowed (never stolen) unless the name
 * says _new; json_t results in out-structs are new references owned by the
 * caller and released by baton_asl_stop_clear / baton_asl_next_clear.
 */
#ifndef BATON_ASL_H
#define BATON_ASL_H

#include <jansson.h>

#include "baton_common.h"

typedef struct baton_asl_def baton_asl_def_t;

/* Context object `$$` values and determinism inputs for one step. */
typedef struct baton_asl_ctx {
    const char *workflow_id;   /* $$.Execution.Id / Name */
    const char *workflow_type; /* $$.StateMachine.Name */
    int64_t start_time_ms;     /* $$.Execution.StartTime */
    json_t *execution_input;   /* $$.Execution.Input (borrowed) */
    int64_t now_ms;            /* $$.State.EnteredTime */
    int32_t retry_count;       /* $$.State.RetryCount */
    uint64_t seed;             /* for States.UUID / MathRandom */
} baton_asl_ctx_t;

/* Parses and validates a definition.  name is the definition name (used in
 * messages).  On error returns BATON_ERR_INVALID and errstr names the state
 * and the problem, e.g. "state 'Fetch': Next 'Nope' is not a state". */
baton_err_t baton_asl_def_parse(const char *name, const char *json_text,
                                baton_asl_def_t **out, char *errstr,
                                size_t errlen);
void baton_asl_def_destroy(baton_asl_def_t *def); /* NULL is a no-op */
const char *baton_asl_def_name(const baton_asl_def_t *def);
const char *baton_asl_def_start_at(const baton_asl_def_t *def);
/* TimeoutSeconds of the whole state machine, 0 when none. */
int32_t baton_asl_def_timeout_seconds(const baton_asl_def_t *def);
/* The definition's "Budget" (Baton's extension: per-run limits on model
 * calls, {"MaxTokens", "MaxCalls", "MaxCost"}; docs/workflows.md), or
 * NULL when it has none.  A nested definition answers with its top's.
 * Borrowed from def. */
const json_t *baton_asl_def_budget(const baton_asl_def_t *def);
/* BATON_OK when b is a valid Budget object: only the fields MaxTokens and
 * MaxCalls (non-negative integers) and MaxCost (a non-negative number),
 * at least one of them; else BATON_ERR_INVALID with errstr saying why.
 * (budget_field.c; the definition's Budget and a START's budget.) */
baton_err_t baton_asl_budget_check(const json_t *b, char *errstr,
                                   size_t errlen);
/* The top-level definition of a nested one (baton_asl_def_sub); a
 * top-level definition is its own top.  Borrowed. */
const baton_asl_def_t *baton_asl_def_top(const baton_asl_def_t *def);
/* The sub-path of a nested definition from its top ("" at the top).
 * baton_asl_def_sub(baton_asl_def_top(d), baton_asl_def_path(d)) == d. */
const char *baton_asl_def_path(const baton_asl_def_t *def);

typedef enum {
    BATON_ASL_STOP_TASK = 1, /* a Task state waits for an activity */
    BATON_ASL_STOP_SIGNAL,   /* a Task state waits for a named signal */
    BATON_ASL_STOP_SUCCEED,  /* the run ended successfully */
    BATON_ASL_STOP_FAIL,     /* the run ended with an error */
    BATON_ASL_STOP_WAIT,     /* a Wait state: continue at next_state with
                                  `output` once wait_until_ms has come (a
                                  time already past: continue now); no
                                  next_state means the Wait was the last
                                  state: the run succeeds with `output` */
    BATON_ASL_STOP_CHILD,    /* a Task state runs a child workflow
                                  (Resource baton:workflow:<name>) and
                                  waits for its end */
    BATON_ASL_STOP_FANOUT,   /* a Parallel or Map state: n_items sub-runs
                                  (see baton_asl_fanout_item) whose outputs,
                                  in index order, are the state's result */
} baton_asl_stop_kind_t;

/* Where a run stopped after baton_asl_run. */
typedef struct baton_asl_stop {
    baton_asl_stop_kind_t kind;
    char *state;         /* the state it stopped in (TASK/SIGNAL/FAIL) */
    json_t *state_input; /* TASK/SIGNAL: the raw input of that state, kept
                              by the engine for ResultPath */
    /* TASK */
    char *queue;
    char *activity_type;
    json_t *task_input; /* after InputPath and Parameters */
    int32_t timeout_seconds;
    int32_t heartbeat_seconds;
    /* Activity timeouts beyond the spec, from the Resource URI's query
       (baton:activity:q/t?scheduleToStartSeconds=N&scheduleToCloseSeconds=N):
       0 = none.  Parsed by the interpreter; may stay 0 until it does. */
    int32_t schedule_to_start_seconds;
    int32_t schedule_to_close_seconds;
    /* SIGNAL (timeout_seconds above is the Task's TimeoutSeconds: the
       signal wait fails with States.Timeout after it; 0 = none) */
    char *signal_name;
    /* CHILD: the child's definition name; its input is task_input,
       timeout_seconds applies to the whole child run */
    char *child_type;
    /* FANOUT (task_input, for information: Parallel: the branches' input;
       Map: the items array before ItemSelector) */
    int is_map;                          /* 0: Parallel, 1: Map */
    int64_t n_items;                     /* branches, or items of the Map; 0 for
                                       a Map over an empty array: its result
                                       is [] at once */
    int32_t max_concurrency;             /* 0 = unlimited */
    int64_t tolerated_failure_count;     /* Map; -1 = not set */
    double tolerated_failure_percentage; /* Map; -1 = not set */
    /* SUCCEED */
    json_t *output;
    /* FAIL */
    char *error;
    char *cause; /* NULL: the Fail state names no cause */
    /* WAIT (its output is `output` above) */
    int64_t wait_until_ms; /* absolute, ms since the epoch */
    char *next_state;      /* NULL when the Wait state has End */
} baton_asl_stop_t;

void baton_asl_stop_clear(baton_asl_stop_t *s);

/* Runs from `state` with raw input `input` until a stop.  Runtime errors of
 * the language (a path that matches nothing: States.Runtime, a bad
 * intrinsic argument: States.IntrinsicFailure, ...) end the run as
 * BATON_ASL_STOP_FAIL with that error, unless a Catch of the state handles
 * it.  Returns BATON_OK with *out filled, or an error only for misuse
 * (unknown state name) or out of memory. */
baton_err_t baton_asl_run(const baton_asl_def_t *def, const char *state,
                          json_t *input, const baton_asl_ctx_t *ctx,
                          baton_asl_stop_t *out, char *errstr, size_t errlen);

/* The i-th sub-run of a FANOUT stop (0 <= i < n_items): `sub_path` is the
 * path of the sub-state-machine to run (a baton_malloc'd string for
 * baton_asl_def_sub, e.g. "Fan/1" for the 2nd branch of Parallel state
 * "Fan", "Each" for the ItemProcessor of Map state "Each"; nested
 * machines join with '/'; '/' and '%' inside state names are written %2F
 * and %25), and `*input_new` its input (for Map: the item after
 * ItemSelector/Parameters with $$.Map.Item.Index/Value; for Parallel: the
 * state's effective input).  state_input is the FANOUT stop's
 * state_input.  The same arguments always give the same answer, so the
 * engine may compute items lazily (MaxConcurrency) without storing them.
 * When def is itself nested, sub_path is still the whole path from the
 * top-level definition (it starts with baton_asl_def_path(def)): resolve
 * it with baton_asl_def_sub(baton_asl_def_top(def), sub_path).
 * baton_asl_run has evaluated every item before stopping, so with the same
 * ctx this cannot fail but for misuse (BATON_ERR_NOTFOUND: no such state
 * or index) or out of memory. */
baton_err_t baton_asl_fanout_item(const baton_asl_def_t *def, const char *state,
                                  json_t *state_input, int64_t index,
                                  const baton_asl_ctx_t *ctx, char **sub_path,
                                  json_t **input_new, char *errstr,
                                  size_t errlen);

/* The nested state machine at `path` (see baton_asl_fanout_item) below
 * def, or NULL when there is none.  The result is borrowed from def and is
 * a full definition: baton_asl_run, _task_complete and _task_fail drive a
 * sub-run exactly like a top-level run.  An empty path or NULL is def. */
const baton_asl_def_t *baton_asl_def_sub(const baton_asl_def_t *def,
                                         const char *path);

/* The next step after a Task state (or a Parallel / Map state: their
 * results and errors go through baton_asl_task_complete / _task_fail too,
 * with the array of sub-run outputs as the result; a sub-run's failure
 * is the state's error, States.ExceedToleratedFailureThreshold when a
 * Map's tolerance is exceeded). */
typedef enum {
    BATON_ASL_NEXT_STATE = 1, /* continue with baton_asl_run(next_state) */
    BATON_ASL_NEXT_END,       /* the Task was the last state: succeed */
    BATON_ASL_NEXT_RETRY,     /* run the same Task again after delay_ms */
    BATON_ASL_NEXT_FAIL,      /* the run fails with error/cause */
} baton_asl_next_kind_t;

typedef struct baton_asl_next {
    baton_asl_next_kind_t kind;
    char *next_state; /* NEXT_STATE */
    json_t *output;   /* NEXT_STATE: the next state's input; NEXT_END:
                          the run's output */
    int64_t delay_ms; /* NEXT_RETRY */
    char *error;      /* NEXT_FAIL */
    char *cause;      /* NULL when the failure has none */
    int32_t retrier;  /* NEXT_RETRY: index of the Retry entry that matched
                          (see baton_asl_task_fail_per_retrier); else -1 */
} baton_asl_next_t;

void baton_asl_next_clear(baton_asl_next_t *n);

/* A Task state got its result.  state_input is the state's raw input (from
 * the stop).  A data-flow error (ResultPath into a non-object, ...) goes
 * through the Task's Catch like any error. */
baton_err_t baton_asl_task_complete(const baton_asl_def_t *def,
                                    const char *state, json_t *state_input,
                                    json_t *result, const baton_asl_ctx_t *ctx,
                                    baton_asl_next_t *out, char *errstr,
                                    size_t errlen);

/* A Task state's attempt number `attempt` (1-based) failed with `error`.
 * Retry decides first (retriers matched in order, States.ALL last); a retry
 * gives NEXT_RETRY with the backoff delay (IntervalSeconds * BackoffRate^n,
 * capped by MaxDelaySeconds; full jitter drawn from ctx->seed when
 * JitterStrategy is FULL; a longer retry_after_ms hint wins).  Then Catch
 * (NEXT_STATE with the error object {"Error","Cause"} placed at the
 * catcher's ResultPath), else NEXT_FAIL. */
baton_err_t baton_asl_task_fail(const baton_asl_def_t *def, const char *state,
                                json_t *state_input, const char *error,
                                const char *cause, int32_t attempt,
                                int64_t retry_after_ms,
                                const baton_asl_ctx_t *ctx,
                                baton_asl_next_t *out, char *errstr,
                                size_t errlen);

/* baton_asl_task_fail with the spec's exact retry accounting: each
 * retrier counts its own retries ("A Retrier's parameters apply across all
 * visits to that Retrier in the context of a single state execution").
 * retry_counts[i] is how many retries the i-th entry of the state's Retry
 * array has granted so far in this visit of the state (n_counts of them;
 * missing entries count 0).  The engine increments
 * retry_counts[out->retrier] on NEXT_RETRY and resets all counts when the
 * run leaves the state.  baton_asl_task_fail(attempt) is this function
 * with every count set to attempt - 1. */
baton_err_t baton_asl_task_fail_per_retrier(
    const baton_asl_def_t *def, const char *state, json_t *state_input,
    const char *error, const char *cause, const int32_t *retry_counts,
    size_t n_counts, int64_t retry_after_ms, const baton_asl_ctx_t *ctx,
    baton_asl_next_t *out, char *errstr, size_t errlen);

/* The definition as a Mermaid flowchart ("flowchart TD"): states as nodes
 * (Task, Pass, Wait rectangles, Choice a rhombus, Succeed rounded, Fail a
 * stadium), edges for Next, Choice rules (labelled with a short form of
 * the rule), Default, Catch (dotted, labelled with the error names) and
 * Retry (a dotted loop), Parallel branches and Map processors as
 * subgraphs, start and end nodes.  `highlight` (NULL: none) names a state
 * to mark ("Name" at the top level, "<sub path>/Name" inside a nested
 * machine, e.g. "Fan/1/Lookup").  *out is a baton_malloc'd string owned by
 * the caller.  Returns BATON_OK or BATON_ERR_NOMEM. */
baton_err_t baton_asl_graph_mermaid(const baton_asl_def_t *def,
                                    const char *highlight, char **out);

/* ---- Standalone expressions (standalone.c) ------------------------------
 * One Choice rule and one payload template over any JSON document, outside
 * a run: what baton-bridge's triggers use (bridge/), so a trigger filters
 * and maps events in the workflow language itself. */

/* Validates a Choice rule without Next (a Boolean or Data-test
 * Expression).  `where` prefixes messages ("filter").  Returns BATON_OK or
 * BATON_ERR_INVALID with errstr, or BATON_ERR_NOMEM. */
baton_err_t baton_asl_rule_check(json_t *rule, const char *where, char *errstr,
                                 size_t errlen);

/* Evaluates a rule validated by baton_asl_rule_check against doc (`$`):
 * BATON_OK with *matched 0 or 1; BATON_ERR_INVALID when the language
 * raises an error (a Variable that matches nothing: errstr
 * "States.Runtime: ..."); BATON_ERR_NOMEM.  doc is borrowed. */
baton_err_t baton_asl_rule_eval(json_t *rule, json_t *doc, int *matched,
                                char *errstr, size_t errlen);

/* Validates a payload template (an object whose "x.$" fields hold a Path or
 * an intrinsic function): baton_asl_template_check of the interpreter.
 * `field` names it in messages. */
baton_err_t baton_asl_template_validate(json_t *tmpl, const char *field,
                                        char *errstr, size_t errlen);

/* Evaluates a validated template over doc, as Parameters would: *out is a
 * NEW reference (it may share sub-values with doc: read-only).  ctx gives
 * `$$` (NULL: empty names, time 0); seed feeds States.UUID and
 * States.MathRandom.  BATON_ERR_INVALID with errstr "<ASL error>: <cause>"
 * (States.ParameterPathFailure, States.IntrinsicFailure, ...);
 * BATON_ERR_NOMEM. */
baton_err_t baton_asl_template_eval(json_t *tmpl, json_t *doc,
                                    const baton_asl_ctx_t *ctx, uint64_t seed,
                                    json_t **out, char *errstr, size_t errlen);

#endif /* BATON_ASL_H */
