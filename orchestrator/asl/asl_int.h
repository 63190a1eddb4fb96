/*
 * asl_int.h -- the parsed form of a definition, shared by the validator
 * (definition.c), the Choice evaluator (choice.c) and the interpreter
 * (interp.c).  Not part of the engine's interface (that is asl.h).
 *
 * A definition keeps the whole parsed document (`root`) and, per state,
 * what the interpreter needs often or pre-digested: type, Next, the Task's
 * resource split into queue/activity or signal, its retriers and catchers.
 * Every other field (InputPath, Parameters, Choices, ...) is read from the
 * state's JSON object, which validation has already checked.  Strings and
 * json_t pointers marked "borrowed" live as long as `root`.
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
} baton_asl_state_type_t;

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
    int is_signal;
    char *queue;                   /* owned */
    char *activity_type;           /* owned */
    char *signal_name;             /* owned */
    baton_asl_retrier_t *retriers; /* owned array */
    size_t n_retriers;
    baton_asl_catcher_t *catchers; /* owned array */
    size_t n_catchers;
} baton_asl_state_t;

struct baton_asl_def {
    char *name;                /* owned */
    json_t *root;              /* owned: the whole document */
    const char *start_at;      /* borrowed */
    int32_t timeout_seconds;   /* 0 when none */
    baton_asl_state_t *states; /* owned array, in document order */
    size_t n_states;
};

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

#endif /* BATON_ASL_INT_H */
