/*
 * dataflow.h -- input and output processing of a state: InputPath,
 * Parameters / ResultSelector (payload templates), ResultPath, OutputPath,
 * plus what they share with the rest of the interpreter: the evaluation
 * environment (context object `$$`, deterministic random numbers), the
 * runtime fault (an ASL error name and its cause) and RFC 3339 timestamps.
 *
 * Part of the ASL interpreter (asl.h); interp.c calls these in the order
 * the spec gives: InputPath -> Parameters -> (task) -> ResultSelector ->
 * ResultPath -> OutputPath.  Pure functions over jansson values, any thread.
 *
 * Return convention of the baton_asl_apply_* functions:
 *   BATON_OK            *out holds a NEW reference;
 *   BATON_ERR_INVALID   a runtime error of the language: `fault` holds its
 *                       ASL name (States.Runtime, States.IntrinsicFailure)
 *                       and cause, to be matched by the state's Catch;
 *   BATON_ERR_NOMEM     allocation failure.
 * Results may share sub-values with their inputs: treat them as read-only.
 */
#ifndef BATON_ASL_DATAFLOW_H
#define BATON_ASL_DATAFLOW_H

#include <jansson.h>

#include "asl.h"
#include "baton_common.h"

/* The ASL error names the interpreter raises itself. */
#define BATON_ASL_ERR_RUNTIME "States.Runtime"
#define BATON_ASL_ERR_INTRINSIC "States.IntrinsicFailure"
#define BATON_ASL_ERR_NO_CHOICE "States.NoChoiceMatched"
/* spec "JSONPath Runtime Errors": ResultPath cannot apply to the input */
#define BATON_ASL_ERR_RESULT_PATH "States.ResultPathMatchFailure"
/* spec "Payload Template": a legal path that cannot be applied */
#define BATON_ASL_ERR_PARAMETER_PATH "States.ParameterPathFailure"

/* A runtime error of the language: what Catch matches on. */
typedef struct baton_asl_fault {
    char error[64];   /* ASL error name, e.g. "States.Runtime" */
    char cause[1024]; /* human-readable detail */
} baton_asl_fault_t;

/* Fills the fault and returns BATON_ERR_INVALID. */
baton_err_t baton_asl_fault_set(baton_asl_fault_t *f, const char *error,
                                const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Evaluation environment of one interpreter call.  The context object is
 * built on first use ("$$" paths) and rebuilt when the state changes. */
typedef struct baton_asl_env {
    const baton_asl_ctx_t *ctx;
    const char *state_name; /* borrowed */
    json_t *context;        /* owned, NULL until needed */
    uint64_t rng;           /* splitmix64 state */
    /* A Map's ItemSelector: $$.Map.Item.Index / Value (has_item set) */
    int has_item;
    int64_t item_index;
    json_t *item_value; /* borrowed */
} baton_asl_env_t;

void baton_asl_env_init(baton_asl_env_t *env, const baton_asl_ctx_t *ctx);
/* Enters a state: drops the cached context object and reseeds the random
 * generator from ctx->seed, the state name and `salt` (the transition
 * number), so two states -- or two visits of one state -- draw different
 * numbers while the same inputs always draw the same ones. */
void baton_asl_env_enter(baton_asl_env_t *env, const char *state_name,
                         uint64_t salt);
void baton_asl_env_clear(baton_asl_env_t *env);
/* Next 64 random bits (deterministic, see baton_asl_env_enter). */
uint64_t baton_asl_env_random(baton_asl_env_t *env);
/* splitmix64 step: advances *state and returns 64 mixed bits. */
uint64_t baton_asl_splitmix64(uint64_t *state);

/* Sets (value non-NULL, borrowed) or clears $$.Map.Item for the
 * following evaluations; drops the cached context object. */
void baton_asl_env_set_item(baton_asl_env_t *env, int64_t index, json_t *value);

/* The context object `$$` of the current state (borrowed from env, built on
 * first use); NULL when out of memory. */
json_t *baton_asl_env_context(baton_asl_env_t *env);

/* Applies a Path (`$...` to doc, `$$...` to the context object).  `what`
 * names the field for the message ("InputPath", "Variable", ...).  A path
 * matching nothing is a States.Runtime fault. *out is a new reference. */
baton_err_t baton_asl_env_select(baton_asl_env_t *env, const char *what,
                                 const char *path, json_t *doc, json_t **out,
                                 baton_asl_fault_t *fault);

/* InputPath / OutputPath: `spec` is the field's value (NULL when absent:
 * "$"; JSON null: {}; a string: the Path). */
baton_err_t baton_asl_apply_path(baton_asl_env_t *env, const char *what,
                                 json_t *spec, json_t *doc, json_t **out,
                                 baton_asl_fault_t *fault);

/* ResultPath: places `result` into a copy of `raw_input` (NULL spec: the
 * result replaces the input; JSON null: the result is discarded and the
 * input kept).  Walking into a non-object is a States.ResultPathMatchFailure
 * fault (spec, "JSONPath Runtime Errors"). */
baton_err_t baton_asl_apply_result_path(baton_asl_env_t *env, json_t *spec,
                                        json_t *raw_input, json_t *result,
                                        json_t **out, baton_asl_fault_t *fault);

/* Parameters / ResultSelector (`what`, for messages): evaluates the
 * payload template `tmpl` against `input`.  Fields named "x.$" take the
 * value of a Path or of an intrinsic function and lose the ".$"; nested
 * objects and arrays recurse; everything else is copied as is.  A path
 * that cannot be applied is States.ParameterPathFailure, a failing
 * intrinsic States.IntrinsicFailure (spec, "Payload Template"). */
baton_err_t baton_asl_apply_template(baton_asl_env_t *env, const char *what,
                                     json_t *tmpl, json_t *input, json_t **out,
                                     baton_asl_fault_t *fault);

/* Validates a payload template for the definition: every "x.$" value is a
 * string holding a valid Path or intrinsic call, and no "x" sits beside an
 * "x.$".  `field` is "Parameters" or "ResultSelector" (for messages).
 * Returns BATON_OK or BATON_ERR_INVALID with errstr, or BATON_ERR_NOMEM. */
baton_err_t baton_asl_template_check(json_t *tmpl, const char *field,
                                     char *errstr, size_t errlen);

/* Parses an RFC 3339 timestamp as the spec restricts it ("T" and "Z"
 * uppercase, e.g. "2016-03-14T01:59:00Z", optional fraction and numeric
 * offset).  Returns 0 with seconds since the epoch and nanoseconds, or -1. */
int baton_asl_timestamp_parse(const char *s, int64_t *sec, int32_t *nsec);
/* Formats epoch milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf
 * (at least 32 bytes) and returns buf. */
char *baton_asl_timestamp_format(int64_t ms, char *buf, size_t len);

#endif /* BATON_ASL_DATAFLOW_H */
