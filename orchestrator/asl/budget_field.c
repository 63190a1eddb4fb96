/*
 * budget_field.c -- the shape of a run's budget (asl.h
 * baton_asl_budget_check): Baton's top-level "Budget" extension of a
 * definition, and the budget a START may carry.
 *
 *   {"MaxTokens": 200000, "MaxCalls": 20, "MaxCost": 0.50}
 *
 *   MaxTokens  input + output tokens of the run's model calls
 *   MaxCalls   model calls
 *   MaxCost    cost in the currency of the price table (llm.prices)
 *
 * Every field is optional (at least one is needed); 0 is a valid limit
 * (no model call at all).  What the limits mean at run time, and how
 * child runs share them: orchestrator/budget.h.
 */
#include <string.h>

#include "asl.h"

baton_err_t baton_asl_budget_check(const json_t *b, char *errstr,
                                   size_t errlen) {
    const char *key;
    json_t *val;
    if (!json_is_object(b) || !json_object_size(b))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "must be an object with MaxTokens, MaxCalls "
                            "and/or MaxCost");
    json_object_foreach((json_t *)b, key, val) {
        if (!strcmp(key, "MaxTokens") || !strcmp(key, "MaxCalls")) {
            if (!json_is_integer(val) || json_integer_value(val) < 0)
                return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                    "%s must be a non-negative integer", key);
        } else if (!strcmp(key, "MaxCost")) {
            if (!json_is_number(val) || json_number_value(val) < 0)
                return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                    "MaxCost must be a non-negative number");
        } else {
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "unknown field '%s' (MaxTokens, MaxCalls, "
                                "MaxCost)",
                                key);
        }
    }
    return BATON_OK;
}
