/*
 * append.c -- Baton's append extension: a Task whose Resource is
 * "baton:append" adds to a list in the state (an agent's message history)
 * without a round trip through a worker and without resending the whole
 * list through every step.  The interpreter runs it inline, like a Pass:
 * baton_asl_run never stops at it (asl_int.h, called from interp.c).
 *
 *   "Remember": { "Type": "Task", "Resource": "baton:append",
 *                 "Parameters": { "Path": "$.messages",
 *                                 "Value.$": "$.reply" },
 *                 "Next": "Think" }
 *
 * Everything lives in the spec's own extension points (Resource and
 * Parameters), so standard ASL tools accept the file.  Parameters is a
 * payload template evaluated against the effective input (after InputPath):
 *
 *   Path              a Reference Path, written literally, to the list in
 *                     the state's raw input; created (with any missing
 *                     parent objects) when absent; States.Runtime when it
 *                     exists and is not an array
 *   Value / Value.$   one element to append, or
 *   Values.$          an array whose elements are appended (States.Runtime
 *                     when it does not give an array)
 *
 * The state's output is its raw input with the list extended, then
 * OutputPath; Next/End as usual; a Catch handles the runtime errors.
 * ResultPath, ResultSelector, Retry and the time-outs have no meaning here
 * and are refused at load.  Pure; any thread.
 */
#include <stdio.h>
#include <string.h>

#include "asl_int.h"
#include "dataflow.h"
#include "path.h"

/* Fields of a Task that an append Task must not have. */
static const char *const refused[] = {
    "ResultPath",           "ResultSelector",     "Retry",
    "TimeoutSeconds",       "TimeoutSecondsPath", "HeartbeatSeconds",
    "HeartbeatSecondsPath",
};

/* Keys of the Parameters of an append Task. */
static const char *const keys[] = {"Path", "Value", "Value.$", "Values.$"};

static baton_err_t check_params(json_t *params, char *errstr, size_t errlen) {
    const char *key, *path;
    json_t *v;
    char reason[256];
    size_t i, n_values = 0;
    baton_err_t err;
    if (!json_is_object(params))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "baton:append needs Parameters with \"Path\" and "
                            "one of \"Value\", \"Value.$\", \"Values.$\"");
    json_object_foreach(params, key, v) {
        for (i = 0; i < BATON_ARRAY_SIZE(keys); i++)
            if (!strcmp(key, keys[i])) break;
        if (i == BATON_ARRAY_SIZE(keys))
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "baton:append: unknown Parameters field '%s' "
                                "(Path, Value, Value.$ or Values.$)",
                                key);
        n_values += i > 0;
    }
    if (n_values != 1)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "baton:append: Parameters needs exactly one of "
                            "\"Value\", \"Value.$\", \"Values.$\"");
    if (!(path = json_string_value(json_object_get(params, "Path"))))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "baton:append: Parameters needs \"Path\", a "
                            "Reference Path to the list (e.g. \"$.messages\")");
    err = baton_asl_path_check(
        path, BATON_ASL_PATH_REFERENCE | BATON_ASL_PATH_NO_CONTEXT, reason,
        sizeof(reason));
    if (err == BATON_ERR_INVALID)
        return baton_seterr(errstr, errlen, err,
                            "baton:append: bad Path '%s': %s", path, reason);
    return err;
}

baton_err_t baton_asl_append_check(json_t *state_obj, char *errstr,
                                   size_t errlen) {
    size_t i;
    for (i = 0; i < BATON_ARRAY_SIZE(refused); i++)
        if (json_object_get(state_obj, refused[i]))
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "%s has no meaning on a baton:append Task "
                                "(the list at Parameters.Path is extended in "
                                "place)",
                                refused[i]);
    return check_params(json_object_get(state_obj, "Parameters"), errstr,
                        errlen);
}

/* Returns the list at `path` inside *doc (borrowed), creating an empty one
 * when nothing is there. */
static baton_err_t find_list(json_t **doc, const char *path, json_t **list,
                             baton_asl_fault_t *fault) {
    char reason[256];
    json_t *empty;
    baton_err_t err =
        baton_asl_path_get(path, *doc, NULL, list, reason, sizeof(reason));
    if (err == BATON_ERR_NOTFOUND) {
        if (!(empty = json_array())) return BATON_ERR_NOMEM;
        err = baton_asl_path_set(doc, path, empty, reason, sizeof(reason));
        json_decref(empty);
        if (err == BATON_OK) *list = empty; /* *doc holds it now */
    }
    if (err == BATON_ERR_INVALID)
        return baton_asl_fault_set(fault, BATON_ASL_ERR_RUNTIME,
                                   "baton:append: cannot create the list at "
                                   "'%s': %s",
                                   path, reason);
    if (err) return err;
    if (!json_is_array(*list))
        return baton_asl_fault_set(fault, BATON_ASL_ERR_RUNTIME,
                                   "baton:append: '%s' is not an array", path);
    return BATON_OK;
}

/* Appends the elements of params' Value or Values to the list in *doc. */
static baton_err_t extend(json_t **doc, json_t *params,
                          baton_asl_fault_t *fault) {
    const char *path = json_string_value(json_object_get(params, "Path"));
    json_t *values = json_object_get(params, "Values"), *list = NULL, *e;
    size_t i;
    baton_err_t err;
    if (values && !json_is_array(values))
        return baton_asl_fault_set(fault, BATON_ASL_ERR_RUNTIME,
                                   "baton:append: Values.$ must give an array");
    if ((err = find_list(doc, path, &list, fault))) return err;
    if (!values)
        return json_array_append(list, json_object_get(params, "Value"))
                   ? BATON_ERR_NOMEM
                   : BATON_OK;
    json_array_foreach(values, i, e) {
        if (json_array_append(list, e)) return BATON_ERR_NOMEM;
    }
    return BATON_OK;
}

baton_err_t baton_asl_append_exec(baton_asl_env_t *env, json_t *state_obj,
                                  json_t *input, json_t **output,
                                  baton_asl_fault_t *fault) {
    json_t *eff = NULL, *params = NULL, *doc = NULL;
    baton_err_t err = baton_asl_apply_path(
        env, "InputPath", json_object_get(state_obj, "InputPath"), input, &eff,
        fault);
    if (!err)
        err = baton_asl_apply_template(env, "Parameters",
                                       json_object_get(state_obj, "Parameters"),
                                       eff, &params, fault);
    if (!err && !(doc = json_deep_copy(input))) err = BATON_ERR_NOMEM;
    if (!err) err = extend(&doc, params, fault);
    if (!err)
        err = baton_asl_apply_path(env, "OutputPath",
                                   json_object_get(state_obj, "OutputPath"),
                                   doc, output, fault);
    json_decref(eff);
    json_decref(params);
    json_decref(doc);
    return err;
}
