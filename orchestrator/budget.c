/*
 * budget.c -- budgets and usage of model calls (budget.h): limits merged
 * and split between runs, the check before a call, usage and cost added
 * after one.
 */
#include "budget.h"

#include <stdio.h>
#include <string.h>

static const char *const usage_ints[] = {"calls", "input_tokens",
                                         "output_tokens", "cached_tokens",
                                         "reasoning_tokens"};

static int64_t int_of(const json_t *o, const char *k) {
    json_t *v = o ? json_object_get(o, k) : NULL;
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static double num_of(const json_t *o, const char *k) {
    json_t *v = o ? json_object_get(o, k) : NULL;
    return json_is_number(v) ? json_number_value(v) : 0;
}

static int64_t tokens_used(const json_t *usage) {
    return int_of(usage, "input_tokens") + int_of(usage, "output_tokens");
}

baton_err_t baton_budget_prices_check(const json_t *prices, char *errstr,
                                      size_t errlen) {
    const char *model, *k;
    json_t *p, *v;
    if (!json_is_object(prices))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "the price table must be a JSON object of "
                            "models");
    json_object_foreach((json_t *)prices, model, p) {
        if (!json_is_object(p))
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "price of '%s' must be an object", model);
        json_object_foreach(p, k, v) {
            if (strcmp(k, "input_per_mtok") && strcmp(k, "output_per_mtok") &&
                strcmp(k, "cached_input_per_mtok"))
                return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                    "price of '%s': unknown field '%s'", model,
                                    k);
            if (!json_is_number(v) || json_number_value(v) < 0)
                return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                    "price of '%s': %s must be a "
                                    "non-negative number",
                                    model, k);
        }
    }
    return BATON_OK;
}

/* dst[k] = the smaller of a[k] and b[k] where either has it. */
static int merge_field(json_t *dst, const json_t *a, const json_t *b,
                       const char *k) {
    json_t *x = a ? json_object_get(a, k) : NULL;
    json_t *y = b ? json_object_get(b, k) : NULL;
    json_t *m = !x                                            ? y
                : !y                                          ? x
                : json_number_value(y) < json_number_value(x) ? y
                                                              : x;
    return m ? json_object_set(dst, k, m) : 0;
}

json_t *baton_budget_merge(const json_t *a, const json_t *b) {
    json_t *o;
    if (!a && !b) return NULL;
    if (!(o = json_object())) return NULL;
    if (merge_field(o, a, b, "MaxTokens") || merge_field(o, a, b, "MaxCalls") ||
        merge_field(o, a, b, "MaxCost")) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *baton_budget_remaining(const json_t *budget, const json_t *usage) {
    json_t *o, *v;
    int bad = 0;
    if (!budget || !(o = json_object())) return NULL;
    if ((v = json_object_get(budget, "MaxTokens"))) {
        int64_t left = json_integer_value(v) - tokens_used(usage);
        bad |= json_object_set_new(o, "MaxTokens",
                                   json_integer(left > 0 ? left : 0));
    }
    if ((v = json_object_get(budget, "MaxCalls"))) {
        int64_t left = json_integer_value(v) - int_of(usage, "calls");
        bad |= json_object_set_new(o, "MaxCalls",
                                   json_integer(left > 0 ? left : 0));
    }
    if ((v = json_object_get(budget, "MaxCost"))) {
        double left = json_number_value(v) - num_of(usage, "cost");
        bad |=
            json_object_set_new(o, "MaxCost", json_real(left > 0 ? left : 0));
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int baton_budget_refuses(const json_t *budget, const json_t *usage, char *cause,
                         size_t len) {
    json_t *v;
    if (!budget) return 0;
    if ((v = json_object_get(budget, "MaxCalls")) &&
        int_of(usage, "calls") >= json_integer_value(v)) {
        snprintf(cause, len, "budget: %lld model calls made, MaxCalls is %lld",
                 (long long)int_of(usage, "calls"),
                 (long long)json_integer_value(v));
        return 1;
    }
    if ((v = json_object_get(budget, "MaxTokens")) &&
        tokens_used(usage) >= json_integer_value(v)) {
        snprintf(cause, len, "budget: %lld tokens used, MaxTokens is %lld",
                 (long long)tokens_used(usage),
                 (long long)json_integer_value(v));
        return 1;
    }
    if ((v = json_object_get(budget, "MaxCost")) &&
        num_of(usage, "cost") >= json_number_value(v)) {
        snprintf(cause, len, "budget: cost %.6f reached, MaxCost is %.6f",
                 num_of(usage, "cost"), json_number_value(v));
        return 1;
    }
    return 0;
}

int64_t baton_budget_tokens_left(const json_t *budget, const json_t *usage) {
    json_t *v = budget ? json_object_get(budget, "MaxTokens") : NULL;
    int64_t left;
    if (!v) return -1;
    left = json_integer_value(v) - tokens_used(usage);
    return left > 0 ? left : 0;
}

/* The price entry for model: the longest key that begins it, else "*". */
static const json_t *price_of(const json_t *prices, const char *model) {
    const char *k;
    json_t *p, *best = NULL;
    size_t best_len = 0;
    if (!prices) return NULL;
    json_object_foreach((json_t *)prices, k, p) {
        size_t n = strlen(k);
        if (model && n > best_len && !strncmp(model, k, n)) {
            best = p;
            best_len = n;
        }
    }
    return best ? best : json_object_get(prices, "*");
}

double baton_budget_cost(const json_t *prices, const char *model, int64_t input,
                         int64_t output, int64_t cached) {
    const json_t *p = price_of(prices, model);
    double in, cin;
    if (!p) return 0;
    in = num_of(p, "input_per_mtok");
    cin = json_object_get(p, "cached_input_per_mtok")
              ? num_of(p, "cached_input_per_mtok")
              : in;
    if (cached > input) cached = input;
    return ((double)(input - cached) * in + (double)cached * cin +
            (double)output * num_of(p, "output_per_mtok")) /
           1e6;
}

/* usage[k] += n (integers) */
static int add_int(json_t *usage, const char *k, int64_t n) {
    return json_object_set_new(usage, k, json_integer(int_of(usage, k) + n));
}

static json_t *usage_get(json_t **usage) {
    if (!*usage) *usage = json_object();
    return *usage;
}

baton_err_t baton_budget_add_call(json_t **usage, const json_t *output,
                                  const json_t *prices) {
    json_t *u = usage_get(usage);
    const json_t *r =
        json_is_object(output) ? json_object_get(output, "usage") : NULL;
    const char *model =
        json_is_object(output)
            ? json_string_value(json_object_get(output, "model"))
            : NULL;
    int64_t in = int_of(r, "input_tokens"), out = int_of(r, "output_tokens");
    int64_t cached = int_of(r, "cached_tokens");
    int bad;
    if (!u) return BATON_ERR_NOMEM;
    bad = add_int(u, "calls", 1) || add_int(u, "input_tokens", in) ||
          add_int(u, "output_tokens", out) ||
          add_int(u, "cached_tokens", cached) ||
          add_int(u, "reasoning_tokens", int_of(r, "reasoning_tokens")) ||
          json_object_set_new(
              u, "cost",
              json_real(num_of(u, "cost") +
                        baton_budget_cost(prices, model, in, out, cached)));
    return bad ? BATON_ERR_NOMEM : BATON_OK;
}

baton_err_t baton_budget_add_usage(json_t **usage, const json_t *other) {
    json_t *u;
    if (!json_is_object(other)) return BATON_OK;
    if (!(u = usage_get(usage))) return BATON_ERR_NOMEM;
    for (size_t i = 0; i < BATON_ARRAY_SIZE(usage_ints); i++)
        if (add_int(u, usage_ints[i], int_of(other, usage_ints[i])))
            return BATON_ERR_NOMEM;
    if (json_object_set_new(
            u, "cost", json_real(num_of(u, "cost") + num_of(other, "cost"))))
        return BATON_ERR_NOMEM;
    return BATON_OK;
}
