/*
 * asl_int.h -- the parsed form of a definition, shared by the validator
 * (definition.c), the Choice evaluator (choice.c) and the interpreter
 * (interp.c).  Not part of the engine's interface (that is asl.h).
 *
 * A definition keeps the whole parsed document (`root`) and, per state,
 * what the interpreter needs often or pre-digested: type, Next, the Task's
 * resource split into queue/activity, signal, child workflow or append,
 * its retriers and catchers, and the nested state machines of a Parallel
 * (one per branch) or a Map (its ItemProcessor).  Every other field
 * (InputPath, Parameters, Choices, ...) is read from the state's JSON
 * object, which validation has already checked.  Strings and json_t
 * pointers marked "borrowed" live as long as `root`.
 *
 * A nested state machine is a baton_asl_def_t of its own (so the engine
 * drives it like any definition), owned by the state that holds it; its
 * `top` points at the top-level definition and `path` is its sub-path
 * from there (asl.h baton_asl_fanout_item: "Fan/1", "Each", ...).
 */
#ifndef BATON_ASL_INT_H
#define BATON_ASL_INT_H

#include <jansson.h>

#include "asl.h"
#include "dataflow.h"

typedef enum {
    BATON_ASL_STATE_TASK = 1,
    BATON_ASL_STATE_PASS,
    BATON_ASL_STATE_CHOICE,
    BATON_ASL_STATE_WAIT,
    BATON_ASL_STATE_SUCCEED,
    BATON_ASL_STATE_FAIL,
    BATON_ASL_STATE_PARALLEL,
    BATON_ASL_STATE_MAP,
} baton_asl_state_type_t;

/* What a Task's Resource names (Baton's extension points, asl.h). */
typedef enum {
    BATON_ASL_TASK_ACTIVITY = 1, /* baton:activity:[<queue>/]<type> */
    BATON_ASL_TASK_SIGNAL,       /* baton:signal:<name> */
    BATON_ASL_TASK_CHILD,        /* baton:workflow:<name> */
    BATON_ASL_TASK_APPEND,       /* baton:append (inline, append.c) */
} baton_asl_task_kind_t;

typedef struct baton_asl_retrier {
    json_t *error_equals; /* borrowed: non-empty array of strings */
    int64_t interval_ms;  /* IntervalSeconds, default 1 s */
    int32_t max_attempts; /* default 3; 0 = never retry */
    double backoff_rate;  /* default 2.0, >= 1.0 */
    int64_t max_delay_ms; /* MaxDelaySeconds; 0 = no cap */
    int jitter_full;      /* JitterStrategy "FULL" */
} baton_asl_retrier_t;

typedef struct baton_asl_catcher {
    json_t *error_equals; /* borrowed */
    const char *next;     /* borrowed */
    json_t *result_path;  /* borrowed; NULL when absent ("$") */
} baton_asl_catcher_t;

typedef struct baton_asl_state {
    const char *name; /* borrowed (key in States) */
    baton_asl_state_type_t type;
    json_t *obj;      /* borrowed: the state's object */
    const char *next; /* borrowed; NULL for End and terminals */
    /* Task */
    baton_asl_task_kind_t task_kind;
    char *queue;                 /* owned */
    char *activity_type;         /* owned */
    char *signal_name;           /* owned */
    char *child_type;            /* owned */
    int32_t schedule_to_start_s; /* Resource query; 0 = none */
    int32_t schedule_to_close_s; /* Resource query; 0 = none */
    /* Task, Parallel, Map */
    baton_asl_retrier_t *retriers; /* owned array */
    size_t n_retriers;
    baton_asl_catcher_t *catchers; /* owned array */
    size_t n_catchers;
    /* Parallel: one machine per branch; Map: one, its ItemProcessor */
    baton_asl_def_t **subs; /* owned array of owned definitions */
    size_t n_subs;
} baton_asl_state_t;

struct baton_asl_def {
    char *name;                 /* owned: the top-level definition's name */
    char *path;                 /* owned: "" at the top, else the sub-path */
    const baton_asl_def_t *top; /* the top-level definition (itself there) */
    json_t *root;               /* owned reference: the whole document, or
                                  the branch / ItemProcessor object */
    const char *start_at;       /* borrowed */
    int32_t timeout_seconds;    /* 0 when none */
    baton_asl_state_t *states;  /* owned array, in document order */
    size_t n_states;
};

/* Parses one state machine object (StartAt, States, ...): the top-level
 * document or a nested one.  `top` is the top-level definition (NULL when
 * obj is the document itself: the new definition is then its own top),
 * `path` the sub-path of a nested machine ("" at the top).  Errors are
 * BATON_ERR_INVALID with errstr "state 'X': <problem>" (no definition name
 * in front: the caller adds where it is). */
baton_err_t baton_asl_machine_parse(const char *name,
                                    const baton_asl_def_t *top,
                                    const char *path, json_t *obj,
                                    int allow_top_fields, baton_asl_def_t **out,
                                    char *errstr, size_t errlen);

/* Returns the state named `name`, or NULL. */
const baton_asl_state_t *baton_asl_def_state(const baton_asl_def_t *def,
                                             const char *name);

/* Returns 1 when an ErrorEquals array matches `error`: States.ALL matches
 * everything, States.TaskFailed everything but the timeouts
 * (States.Timeout, States.HeartbeatTimeout), States.Timeout also
 * States.HeartbeatTimeout; other names match exactly. */
int baton_asl_error_matches(json_t *error_equals, const char *error);

/* ---- Choice rules (choice.c) ----------------------------------------- */

/* The comparison operators of a Data-test Expression. */
typedef enum {
    BATON_ASL_CMP_STRING = 1,
    BATON_ASL_CMP_NUMERIC,
    BATON_ASL_CMP_BOOLEAN,
    BATON_ASL_CMP_TIMESTAMP,
    BATON_ASL_CMP_MATCHES, /* StringMatches */
    BATON_ASL_CMP_TYPE,    /* IsNull, IsPresent, IsNumeric, ... */
} baton_asl_cmp_type_t;

typedef struct baton_asl_choice_op {
    const char *name; /* e.g. "NumericLessThanEqualsPath" */
    baton_asl_cmp_type_t type;
    int rel;     /* 0 =, -2 <, 2 >, -1 <=, 1 >=; TYPE: which */
    int is_path; /* the value is a Path to compare with */
} baton_asl_choice_op_t;

/* Returns the operator named `name`, or NULL. */
const baton_asl_choice_op_t *baton_asl_choice_op_find(const char *name);

/* Checks a StringMatches pattern: "*" wildcards, "\*" and "\\" escapes;
 * any other backslash is an error.  Returns 0 or -1. */
int baton_asl_pattern_check(const char *pattern);

/* Validates one Choice Rule (`top`: a member of Choices, which must have
 * Next; nested rules must not).  `where` prefixes messages
 * ("Choices[0].And[1]").  Returns BATON_OK or BATON_ERR_INVALID with
 * errstr; Next targets are checked by the caller. */
baton_err_t baton_asl_choice_rule_check(json_t *rule, int top,
                                        const char *where, char *errstr,
                                        size_t errlen);

/* Evaluates the Choices of a Choice state object against its effective
 * input.  Returns BATON_OK with *next (borrowed) the Next of the first
 * rule that matches, or the Default; BATON_ERR_INVALID with a fault
 * (States.NoChoiceMatched, or States.Runtime when a Variable path matches
 * nothing); BATON_ERR_NOMEM. */
baton_err_t baton_asl_choice_select(baton_asl_env_t *env, json_t *state_obj,
                                    json_t *input, const char **next,
                                    baton_asl_fault_t *fault);

/* ---- Parallel and Map (fanout.c) ------------------------------------ */

/* Validates the fields proper to a Parallel or Map state and parses its
 * nested machines into st->subs.  Returns BATON_ERR_INVALID with errstr
 * naming the problem (without the state's name), or BATON_ERR_NOMEM. */
baton_err_t baton_asl_fanout_check(const baton_asl_def_t *def,
                                   baton_asl_state_t *st, char *errstr,
                                   size_t errlen);

/* Runs a Parallel or Map state up to its FANOUT stop (InputPath,
 * Parameters, ItemsPath, every item's ItemSelector, MaxConcurrency and
 * tolerance).  A runtime error is a fault (BATON_ERR_INVALID). */
baton_err_t baton_asl_fanout_exec(baton_asl_env_t *env,
                                  const baton_asl_state_t *st, json_t *input,
                                  baton_asl_stop_t *out,
                                  baton_asl_fault_t *fault);

/* Appends s to buf (a growing baton_malloc'd string) with '/' and '%'
 * escaped as %2F and %25.  Returns 0 or -1 (out of memory). */
int baton_asl_subpath_escape(char **buf, size_t *len, const char *s);

/* ---- the append extension (append.c) --------------------------------- */

/* Validates the Parameters and fields of a baton:append Task.  Returns
 * BATON_ERR_INVALID with the problem in errstr, or BATON_ERR_NOMEM. */
baton_err_t baton_asl_append_check(json_t *state_obj, char *errstr,
                                   size_t errlen);

/* Runs a baton:append Task on its raw input: *output (new) is the input
 * with the list extended, after OutputPath.  A runtime error is a fault. */
baton_err_t baton_asl_append_exec(baton_asl_env_t *env, json_t *state_obj,
                                  json_t *input, json_t **output,
                                  baton_asl_fault_t *fault);

#endif /* BATON_ASL_INT_H */
