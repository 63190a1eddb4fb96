/*
 * engine_budget.c -- a run's budget for model calls (engine_int.h; the
 * rules in budget.h, the user's view in docs/agents.md "Budgets").
 *
 * Which tasks are model calls: activities whose type is in
 * batond.budget.activities (default llm.chat), on any queue.  Their
 * completed results add the worker's reported usage to the run's
 * (snapshot "use"); a child run's end reports its usage to its parent
 * (result field usage), which adds it to its own.  Before a model call is
 * sent (first attempt or retry), the run's budget must have room (calls,
 * tokens and cost below their limits): else the step fails with
 * Baton.BudgetExceeded, final (no Retry; a Catch sees it), and no task
 * goes out.  The size of the next call is unknown: with a token limit the
 * task carries "max_tokens_cap" = the tokens left, and the LLM worker asks
 * for at most that many output tokens.
 */
#include "engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"

#define BUDGET_TYPES_DEFAULT ",llm.chat,"

baton_err_t baton_engine_set_budget(baton_engine_t *e, const char *types,
                                    const char *prices, char *errstr,
                                    size_t errlen) {
    size_t n = types ? strlen(types) : 0, o = 0;
    char *norm = baton_malloc(n + 3);
    json_t *table = NULL;
    json_error_t jerr;

    if (!norm)
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    if (prices && *prices) {
        char why[256];
        if (!(table = json_loads(prices, 0, &jerr))) {
            baton_free(norm);
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "llm.prices is not JSON: %s", jerr.text);
        }
        if (baton_budget_prices_check(table, why, sizeof why)) {
            baton_free(norm);
            json_decref(table);
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "llm.prices: %s", why);
        }
    }
    norm[o++] = ',';
    for (const char *p = types; p && *p;) { /* ",a,b," without spaces */
        size_t len;
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        len = strcspn(p, ", \t");
        if (len) {
            memcpy(norm + o, p, len);
            o += len;
            norm[o++] = ',';
        }
        p += len;
    }
    norm[o] = '\0';
    baton_free(e->budget_types);
    e->budget_types = types ? norm : NULL;
    if (!types) baton_free(norm);
    json_decref(e->prices);
    e->prices = table;
    return BATON_OK;
}

int baton_engine_budget_counts(const baton_engine_t *e, const char *type) {
    const char *list = e->budget_types ? e->budget_types : BUDGET_TYPES_DEFAULT;
    size_t n = type ? strlen(type) : 0;
    if (!n) return 0;
    for (const char *hit = strstr(list, type); hit; hit = strstr(hit + 1, type))
        if (hit[-1] == ',' && hit[n] == ',') return 1;
    return 0;
}

baton_err_t baton_engine_budget_start(baton_snapshot_t *s,
                                      const baton_defn_t *d,
                                      const char *budget_text, char *errstr,
                                      size_t errlen) {
    json_t *given = NULL;
    const json_t *def = baton_asl_def_budget(d->def);
    json_error_t jerr;
    char why[256];

    if (budget_text) {
        if (!(given = json_loads(budget_text, 0, &jerr)))
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "START of '%s': budget is not JSON: %s", s->id,
                                jerr.text);
        if (baton_asl_budget_check(given, why, sizeof why)) {
            json_decref(given);
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "START of '%s': budget: %s", s->id, why);
        }
    }
    json_decref(s->budget);
    s->budget = baton_budget_merge(def, given);
    json_decref(given);
    return (def || budget_text) && !s->budget ? BATON_ERR_NOMEM : BATON_OK;
}

/* The task input with "max_tokens_cap" set (a copy: the input may share
 * values with the run's state). */
static baton_err_t cap_tokens(baton_asl_stop_t *stop, int64_t left) {
    json_t *copy;
    if (!json_is_object(stop->task_input)) return BATON_OK;
    if (!(copy = json_deep_copy(stop->task_input))) return BATON_ERR_NOMEM;
    if (json_object_set_new(copy, "max_tokens_cap", json_integer(left))) {
        json_decref(copy);
        return BATON_ERR_NOMEM;
    }
    json_decref(stop->task_input);
    stop->task_input = copy;
    return BATON_OK;
}

baton_err_t baton_engine_budget_gate(baton_engine_t *e, const baton_defn_t *d,
                                     baton_snapshot_t *s, baton_wset_t *ws,
                                     baton_asl_stop_t *stop, int64_t now,
                                     int *refused, char *errstr,
                                     size_t errlen) {
    char cause[256];
    int64_t left;
    baton_err_t rc;

    *refused = 0;
    if (!s->budget || !baton_engine_budget_counts(e, stop->activity_type))
        return BATON_OK;
    if (!baton_budget_refuses(s->budget, s->usage, cause, sizeof cause)) {
        left = baton_budget_tokens_left(s->budget, s->usage);
        return left >= 0 ? cap_tokens(stop, left) : BATON_OK;
    }
    *refused = 1;
    rc = baton_engine_emit(e, s, ws, "BudgetExceeded", stop->state,
                           json_pack("{sssOsO*ss}", "type", stop->activity_type,
                                     "budget", s->budget, "usage", s->usage,
                                     "cause", cause),
                           now, 0);
    if (rc) return rc;
    return baton_engine_step_failed(e, d, s, ws, BATON_ENGINE_ERR_BUDGET, cause,
                                    0, 1, now, errstr, errlen);
}

baton_err_t baton_engine_budget_completed(baton_engine_t *e,
                                          baton_snapshot_t *s,
                                          const json_t *output) {
    if (!baton_engine_budget_counts(e, s->pend_type)) return BATON_OK;
    return baton_budget_add_call(&s->usage, output, e->prices);
}

baton_err_t baton_engine_budget_child(baton_snapshot_t *s,
                                      const char *usage_text) {
    json_t *u;
    json_error_t jerr;
    baton_err_t rc;
    if (!usage_text) return BATON_OK;
    if (!(u = json_loads(usage_text, 0, &jerr)))
        return BATON_OK; /* a report is batond's own: never malformed */
    rc = baton_budget_add_usage(&s->usage, u);
    json_decref(u);
    return rc;
}
