/*
 * standalone.c -- the language's expressions outside a run (asl.h,
 * "Standalone expressions"): one Choice rule and one payload template,
 * checked and evaluated over any JSON document.
 *
 * Used by baton-bridge (bridge/), whose triggers filter events with a
 * Choice rule and map them to commands with Parameters-style templates, so
 * that a trigger speaks exactly the workflow language: the same operators,
 * JSONPath, intrinsic functions and error names.  Thin wrappers over
 * choice.c and dataflow.c (asl_int.h is private to the interpreter); pure
 * functions, any thread.
 */
#include <string.h>

#include "asl.h"
#include "asl_int.h"
#include "dataflow.h"

/* The Next of the synthetic Choice state that means "matched". */
#define STANDALONE_MATCH "match"
#define STANDALONE_NOMATCH "nomatch"

baton_err_t baton_asl_rule_check(json_t *rule, const char *where, char *errstr,
                                 size_t errlen) {
    return baton_asl_choice_rule_check(rule, 0, where, errstr, errlen);
}

/* A Choice state {"Choices": [rule + Next], "Default"} around `rule`. */
static json_t *standalone_choice_state(json_t *rule) {
    json_t *top = json_copy(rule), *st;
    if (!top) return NULL;
    if (json_object_set_new(top, "Next", json_string(STANDALONE_MATCH))) {
        json_decref(top);
        return NULL;
    }
    st =
        json_pack("{s:[o],s:s}", "Choices", top, "Default", STANDALONE_NOMATCH);
    return st;
}

/* A zero context: `$$` then holds empty names and time 0. */
static const baton_asl_ctx_t standalone_zero_ctx;

baton_err_t baton_asl_rule_eval(json_t *rule, json_t *doc, int *matched,
                                char *errstr, size_t errlen) {
    baton_asl_env_t env;
    baton_asl_fault_t fault;
    const char *next = NULL;
    json_t *st = standalone_choice_state(rule);
    baton_err_t err;
    if (!st)
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    baton_asl_env_init(&env, &standalone_zero_ctx);
    baton_asl_env_enter(&env, "Filter", 0);
    err = baton_asl_choice_select(&env, st, doc, &next, &fault);
    if (!err) *matched = next && !strcmp(next, STANDALONE_MATCH);
    baton_asl_env_clear(&env);
    json_decref(st);
    if (err == BATON_ERR_INVALID)
        return baton_seterr(errstr, errlen, err, "%s: %s", fault.error,
                            fault.cause);
    if (err) return baton_seterr(errstr, errlen, err, "out of memory");
    return BATON_OK;
}

baton_err_t baton_asl_template_validate(json_t *tmpl, const char *field,
                                        char *errstr, size_t errlen) {
    return baton_asl_template_check(tmpl, field, errstr, errlen);
}

baton_err_t baton_asl_template_eval(json_t *tmpl, json_t *doc,
                                    const baton_asl_ctx_t *ctx, uint64_t seed,
                                    json_t **out, char *errstr, size_t errlen) {
    baton_asl_env_t env;
    baton_asl_fault_t fault;
    baton_asl_ctx_t c = ctx ? *ctx : standalone_zero_ctx;
    baton_err_t err;
    *out = NULL;
    c.seed = seed;
    baton_asl_env_init(&env, &c);
    baton_asl_env_enter(&env, "Template", 0);
    err = baton_asl_apply_template(&env, "template", tmpl, doc, out, &fault);
    baton_asl_env_clear(&env);
    if (err == BATON_ERR_INVALID)
        return baton_seterr(errstr, errlen, err, "%s: %s", fault.error,
                            fault.cause);
    if (err) return baton_seterr(errstr, errlen, err, "out of memory");
    return BATON_OK;
}
