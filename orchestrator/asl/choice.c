/*
 * choice.c -- Choice Rules: validation for the definition and evaluation
 * for the interpreter (see asl_int.h).
 *
 * A rule is a Boolean Expression (And / Or: non-empty arrays of rules,
 * Not: one rule) or a Data-test Expression: a Variable (a Path into the
 * state's effective input or `$$`) and exactly one comparison operator.
 * Per the spec, comparing values of the wrong type yields false (a
 * timestamp string may still be compared as a string); a Variable that
 * matches nothing is a States.Runtime error except for IsPresent, which
 * is then simply false.  StringMatches takes "*" wildcards, with "\*"
 * for a literal star and "\\" for a backslash.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "asl_int.h"
#include "path.h"

enum { /* rel of the BATON_ASL_CMP_TYPE operators */
       IS_NULL = 1,
       IS_PRESENT,
       IS_NUMERIC,
       IS_STRING,
       IS_BOOLEAN,
       IS_TIMESTAMP,
};

/* rel: 0 equals, -2 less than, 2 greater than, -1 <=, 1 >=; for the TYPE
 * operators, which type they test. */
static const baton_asl_choice_op_t ops[] = {
    {"StringEquals", BATON_ASL_CMP_STRING, 0, 0},
    {"StringEqualsPath", BATON_ASL_CMP_STRING, 0, 1},
    {"StringLessThan", BATON_ASL_CMP_STRING, -2, 0},
    {"StringLessThanPath", BATON_ASL_CMP_STRING, -2, 1},
    {"StringGreaterThan", BATON_ASL_CMP_STRING, 2, 0},
    {"StringGreaterThanPath", BATON_ASL_CMP_STRING, 2, 1},
    {"StringLessThanEquals", BATON_ASL_CMP_STRING, -1, 0},
    {"StringLessThanEqualsPath", BATON_ASL_CMP_STRING, -1, 1},
    {"StringGreaterThanEquals", BATON_ASL_CMP_STRING, 1, 0},
    {"StringGreaterThanEqualsPath", BATON_ASL_CMP_STRING, 1, 1},
    {"NumericEquals", BATON_ASL_CMP_NUMERIC, 0, 0},
    {"NumericEqualsPath", BATON_ASL_CMP_NUMERIC, 0, 1},
    {"NumericLessThan", BATON_ASL_CMP_NUMERIC, -2, 0},
    {"NumericLessThanPath", BATON_ASL_CMP_NUMERIC, -2, 1},
    {"NumericGreaterThan", BATON_ASL_CMP_NUMERIC, 2, 0},
    {"NumericGreaterThanPath", BATON_ASL_CMP_NUMERIC, 2, 1},
    {"NumericLessThanEquals", BATON_ASL_CMP_NUMERIC, -1, 0},
    {"NumericLessThanEqualsPath", BATON_ASL_CMP_NUMERIC, -1, 1},
    {"NumericGreaterThanEquals", BATON_ASL_CMP_NUMERIC, 1, 0},
    {"NumericGreaterThanEqualsPath", BATON_ASL_CMP_NUMERIC, 1, 1},
    {"TimestampEquals", BATON_ASL_CMP_TIMESTAMP, 0, 0},
    {"TimestampEqualsPath", BATON_ASL_CMP_TIMESTAMP, 0, 1},
    {"TimestampLessThan", BATON_ASL_CMP_TIMESTAMP, -2, 0},
    {"TimestampLessThanPath", BATON_ASL_CMP_TIMESTAMP, -2, 1},
    {"TimestampGreaterThan", BATON_ASL_CMP_TIMESTAMP, 2, 0},
    {"TimestampGreaterThanPath", BATON_ASL_CMP_TIMESTAMP, 2, 1},
    {"TimestampLessThanEquals", BATON_ASL_CMP_TIMESTAMP, -1, 0},
    {"TimestampLessThanEqualsPath", BATON_ASL_CMP_TIMESTAMP, -1, 1},
    {"TimestampGreaterThanEquals", BATON_ASL_CMP_TIMESTAMP, 1, 0},
    {"TimestampGreaterThanEqualsPath", BATON_ASL_CMP_TIMESTAMP, 1, 1},
    {"BooleanEquals", BATON_ASL_CMP_BOOLEAN, 0, 0},
    {"BooleanEqualsPath", BATON_ASL_CMP_BOOLEAN, 0, 1},
    {"StringMatches", BATON_ASL_CMP_MATCHES, 0, 0},
    {"IsNull", BATON_ASL_CMP_TYPE, IS_NULL, 0},
    {"IsPresent", BATON_ASL_CMP_TYPE, IS_PRESENT, 0},
    {"IsNumeric", BATON_ASL_CMP_TYPE, IS_NUMERIC, 0},
    {"IsString", BATON_ASL_CMP_TYPE, IS_STRING, 0},
    {"IsBoolean", BATON_ASL_CMP_TYPE, IS_BOOLEAN, 0},
    {"IsTimestamp", BATON_ASL_CMP_TYPE, IS_TIMESTAMP, 0},
};

const baton_asl_choice_op_t *baton_asl_choice_op_find(const char *name) {
    size_t i;
    for (i = 0; i < BATON_ARRAY_SIZE(ops); i++)
        if (strcmp(ops[i].name, name) == 0) return &ops[i];
    return NULL;
}

int baton_asl_pattern_check(const char *p) {
    for (; *p; p++) {
        if (*p != '\\') continue;
        if (p[1] != '*' && p[1] != '\\') return -1;
        p++;
    }
    return 0;
}

/* ---- validation ------------------------------------------------------ */

/* Formats "<where>: <message>" into errstr; returns BATON_ERR_INVALID. */
static baton_err_t rule_err(char *errstr, size_t errlen, const char *where,
                            const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static baton_err_t rule_err(char *errstr, size_t errlen, const char *where,
                            const char *fmt, ...) {
    char m[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof(m), fmt, ap);
    va_end(ap);
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID, "%s: %s", where, m);
}

/* Checks an operator's value against its type. */
static baton_err_t check_op_value(const baton_asl_choice_op_t *op, json_t *v,
                                  const char *where, char *errstr,
                                  size_t errlen) {
    char reason[256];
    const char *s = json_string_value(v);
    int64_t sec;
    int32_t ns;
    baton_err_t err;
    if (op->is_path) {
        if (!s)
            return rule_err(errstr, errlen, where, "%s must be a path",
                            op->name);
        err = baton_asl_path_check(s, 0, reason, sizeof(reason));
        if (err == BATON_ERR_INVALID)
            return baton_seterr(errstr, errlen, err,
                                "%s: bad path '%s' in %s: %s", where, s,
                                op->name, reason);
        return err;
    }
    switch (op->type) {
    case BATON_ASL_CMP_STRING:
        if (!s)
            return rule_err(errstr, errlen, where, "%s must be a string",
                            op->name);
        break;
    case BATON_ASL_CMP_TIMESTAMP:
        if (!s || baton_asl_timestamp_parse(s, &sec, &ns))
            return rule_err(errstr, errlen, where,
                            "%s must be an RFC 3339 "
                            "timestamp such as 2016-03-14T01:59:00Z",
                            op->name);
        break;
    case BATON_ASL_CMP_MATCHES:
        if (!s)
            return rule_err(errstr, errlen, where, "%s must be a string",
                            op->name);
        if (baton_asl_pattern_check(s))
            return rule_err(errstr, errlen, where,
                            "open escape in %s (only \\* and \\\\ "
                            "are allowed)",
                            op->name);
        break;
    case BATON_ASL_CMP_NUMERIC:
        if (!json_is_number(v))
            return rule_err(errstr, errlen, where, "%s must be a number",
                            op->name);
        break;
    case BATON_ASL_CMP_BOOLEAN:
    case BATON_ASL_CMP_TYPE:
        if (!json_is_boolean(v))
            return rule_err(errstr, errlen, where, "%s must be true or false",
                            op->name);
        break;
    }
    return BATON_OK;
}

/* A Data-test Expression: Variable plus exactly one operator. */
static baton_err_t check_data_test(json_t *rule, const char *where,
                                   char *errstr, size_t errlen) {
    const char *key,
        *var = json_string_value(json_object_get(rule, "Variable"));
    json_t *v;
    char reason[256];
    int n_ops = 0;
    baton_err_t err;
    if (!var)
        return rule_err(errstr, errlen, where, "missing Variable (a path)");
    err = baton_asl_path_check(var, 0, reason, sizeof(reason));
    if (err == BATON_ERR_INVALID)
        return baton_seterr(errstr, errlen, err,
                            "%s: bad path '%s' in Variable: %s", where, var,
                            reason);
    if (err) return err;
    json_object_foreach(rule, key, v) {
        const baton_asl_choice_op_t *op;
        if (!strcmp(key, "Variable") || !strcmp(key, "Next") ||
            !strcmp(key, "Comment"))
            continue;
        if (!(op = baton_asl_choice_op_find(key)))
            return rule_err(errstr, errlen, where, "unknown field '%s'", key);
        if (++n_ops > 1)
            return rule_err(errstr, errlen, where,
                            "more than one "
                            "comparison operator");
        if ((err = check_op_value(op, v, where, errstr, errlen))) return err;
    }
    if (n_ops == 0)
        return rule_err(errstr, errlen, where, "no comparison operator");
    return BATON_OK;
}

/* A Boolean Expression: And / Or (arrays of rules) or Not (one rule). */
static baton_err_t check_boolean(json_t *rule, const char *op,
                                 const char *where, char *errstr,
                                 size_t errlen) {
    json_t *v = json_object_get(rule, op), *e;
    const char *key;
    char sub[256];
    size_t i;
    baton_err_t err;
    json_object_foreach(rule, key, e) {
        if (strcmp(key, op) && strcmp(key, "Next") && strcmp(key, "Comment"))
            return rule_err(errstr, errlen, where,
                            "unknown field '%s' beside "
                            "a boolean expression",
                            key);
    }
    if (!strcmp(op, "Not")) {
        if (!json_is_object(v))
            return rule_err(errstr, errlen, where,
                            "Not must be a rule (an "
                            "object)");
        snprintf(sub, sizeof(sub), "%s.Not", where);
        return baton_asl_choice_rule_check(v, 0, sub, errstr, errlen);
    }
    if (!json_is_array(v) || json_array_size(v) == 0)
        return rule_err(errstr, errlen, where,
                        "%s must be a non-empty array "
                        "of rules",
                        op);
    json_array_foreach(v, i, e) {
        snprintf(sub, sizeof(sub), "%s.%s[%zu]", where, op, i);
        if ((err = baton_asl_choice_rule_check(e, 0, sub, errstr, errlen)))
            return err;
    }
    return BATON_OK;
}

baton_err_t baton_asl_choice_rule_check(json_t *rule, int top,
                                        const char *where, char *errstr,
                                        size_t errlen) {
    static const char *const bools[] = {"And", "Or", "Not"};
    const char *op = NULL;
    json_t *next;
    size_t i;
    if (!json_is_object(rule))
        return rule_err(errstr, errlen, where, "a rule must be an object");
    next = json_object_get(rule, "Next");
    if (top && !json_is_string(next))
        return rule_err(errstr, errlen, where, "missing Next");
    if (!top && next)
        return rule_err(errstr, errlen, where,
                        "Next is only allowed in a "
                        "top-level rule");
    for (i = 0; i < BATON_ARRAY_SIZE(bools); i++) {
        if (!json_object_get(rule, bools[i])) continue;
        if (op)
            return rule_err(errstr, errlen, where,
                            "more than one of And, "
                            "Or, Not");
        op = bools[i];
    }
    if (op) return check_boolean(rule, op, where, errstr, errlen);
    return check_data_test(rule, where, errstr, errlen);
}

/* ---- evaluation ------------------------------------------------------ */

/* Glob match of s[0..n) against a StringMatches pattern. */
static int pattern_match(const char *p, const char *s, size_t n) {
    const char *star_p = NULL;
    size_t si = 0, star_s = 0;
    while (si < n) {
        if (*p == '*') {
            star_p = ++p;
            star_s = si;
            continue;
        }
        if (*p) {
            int esc = p[0] == '\\' && p[1];
            char c = esc ? p[1] : p[0];
            if (c == s[si]) {
                p += esc ? 2 : 1;
                si++;
                continue;
            }
        }
        if (!star_p) return 0;
        p = star_p;
        si = ++star_s;
    }
    while (*p == '*') p++;
    return *p == '\0';
}

/* Compares two JSON strings byte-wise (UTF-8 order = code point order). */
static int string_cmp(json_t *a, json_t *b) {
    size_t la = json_string_length(a), lb = json_string_length(b);
    int c =
        memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
    if (c) return c;
    return la < lb ? -1 : la > lb;
}

static int number_cmp(json_t *a, json_t *b) {
    double x, y;
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t i = json_integer_value(a), j = json_integer_value(b);
        return i < j ? -1 : i > j;
    }
    x = json_number_value(a);
    y = json_number_value(b);
    return x < y ? -1 : x > y;
}

/* Compares two timestamp strings; returns 0 (not both timestamps) or 1
 * with *cmp set. */
static int timestamp_cmp(json_t *a, json_t *b, int *cmp) {
    int64_t sa, sb;
    int32_t na, nb;
    if (baton_asl_timestamp_parse(json_string_value(a), &sa, &na) ||
        baton_asl_timestamp_parse(json_string_value(b), &sb, &nb))
        return 0;
    *cmp = sa != sb ? (sa < sb ? -1 : 1) : (na < nb ? -1 : na > nb);
    return 1;
}

/* Applies rel (0 =, -2 <, 2 >, -1 <=, 1 >=) to a comparison result. */
static int rel_holds(int rel, int cmp) {
    switch (rel) {
    case 0: return cmp == 0;
    case -2: return cmp < 0;
    case 2: return cmp > 0;
    case -1: return cmp <= 0;
    default: return cmp >= 0;
    }
}

/* Returns 1 when v has the type a BATON_ASL_CMP_TYPE operator tests. */
static int type_holds(int which, json_t *v) {
    int64_t sec;
    int32_t ns;
    switch (which) {
    case IS_NULL: return json_is_null(v);
    case IS_NUMERIC: return json_is_number(v);
    case IS_STRING: return json_is_string(v);
    case IS_BOOLEAN: return json_is_boolean(v);
    case IS_TIMESTAMP:
        return json_is_string(v) &&
               baton_asl_timestamp_parse(json_string_value(v), &sec, &ns) == 0;
    default: return 1; /* IS_PRESENT: v exists */
    }
}

/* Compares variable value `a` with `b` for operator op. */
static int compare(const baton_asl_choice_op_t *op, json_t *a, json_t *b) {
    int cmp;
    switch (op->type) {
    case BATON_ASL_CMP_STRING:
        return json_is_string(a) && json_is_string(b) &&
               rel_holds(op->rel, string_cmp(a, b));
    case BATON_ASL_CMP_NUMERIC:
        return json_is_number(a) && json_is_number(b) &&
               rel_holds(op->rel, number_cmp(a, b));
    case BATON_ASL_CMP_BOOLEAN:
        return json_is_boolean(a) && json_is_boolean(b) &&
               json_is_true(a) == json_is_true(b);
    case BATON_ASL_CMP_TIMESTAMP:
        return json_is_string(a) && json_is_string(b) &&
               timestamp_cmp(a, b, &cmp) && rel_holds(op->rel, cmp);
    case BATON_ASL_CMP_MATCHES:
        return json_is_string(a) && json_is_string(b) &&
               pattern_match(json_string_value(b), json_string_value(a),
                             json_string_length(a));
    case BATON_ASL_CMP_TYPE: return type_holds(op->rel, a) == json_is_true(b);
    }
    return 0;
}

/* Finds the operator of a Data-test rule (validated: exactly one). */
static const baton_asl_choice_op_t *rule_op(json_t *rule, json_t **value) {
    const char *key;
    json_t *v;
    json_object_foreach(rule, key, v) {
        const baton_asl_choice_op_t *op = baton_asl_choice_op_find(key);
        if (op) {
            *value = v;
            return op;
        }
    }
    return NULL;
}

static baton_err_t eval_rule(baton_asl_env_t *env, json_t *rule, json_t *input,
                             int *result, baton_asl_fault_t *fault);

/* And / Or: stops as soon as the result is known. */
static baton_err_t eval_list(baton_asl_env_t *env, json_t *list, int is_and,
                             json_t *input, int *result,
                             baton_asl_fault_t *fault) {
    size_t i;
    json_t *r;
    baton_err_t err;
    json_array_foreach(list, i, r) {
        if ((err = eval_rule(env, r, input, result, fault))) return err;
        if (*result != is_and) return BATON_OK;
    }
    *result = is_and;
    return BATON_OK;
}

static baton_err_t eval_data_test(baton_asl_env_t *env, json_t *rule,
                                  json_t *input, int *result,
                                  baton_asl_fault_t *fault) {
    const char *var = json_string_value(json_object_get(rule, "Variable"));
    json_t *value = NULL, *a = NULL, *b = NULL, *ctxobj = NULL;
    const baton_asl_choice_op_t *op = rule_op(rule, &value);
    char reason[256];
    baton_err_t err;
    if (!var || !op)
        return baton_asl_fault_set(fault, BATON_ASL_ERR_RUNTIME,
                                   "malformed Choice rule");
    if (baton_asl_path_is_context(var) &&
        !(ctxobj = baton_asl_env_context(env)))
        return BATON_ERR_NOMEM;
    err = baton_asl_path_select(var, input, ctxobj, &a, reason, sizeof(reason));
    if (err == BATON_ERR_NOTFOUND && op->type == BATON_ASL_CMP_TYPE &&
        op->rel == IS_PRESENT) {
        *result = !json_is_true(value);
        return BATON_OK;
    }
    if (err)
        return baton_asl_env_select(env, "Choice Variable", var, input, &a,
                                    fault);
    if (op->is_path) {
        err = baton_asl_env_select(env, op->name, json_string_value(value),
                                   input, &b, fault);
        if (err) {
            json_decref(a);
            return err;
        }
    } else {
        b = json_incref(value);
    }
    *result = compare(op, a, b);
    json_decref(a);
    json_decref(b);
    return BATON_OK;
}

static baton_err_t eval_rule(baton_asl_env_t *env, json_t *rule, json_t *input,
                             int *result, baton_asl_fault_t *fault) {
    json_t *v;
    baton_err_t err;
    if ((v = json_object_get(rule, "And")))
        return eval_list(env, v, 1, input, result, fault);
    if ((v = json_object_get(rule, "Or")))
        return eval_list(env, v, 0, input, result, fault);
    if ((v = json_object_get(rule, "Not"))) {
        if ((err = eval_rule(env, v, input, result, fault))) return err;
        *result = !*result;
        return BATON_OK;
    }
    return eval_data_test(env, rule, input, result, fault);
}

baton_err_t baton_asl_choice_select(baton_asl_env_t *env, json_t *state_obj,
                                    json_t *input, const char **next,
                                    baton_asl_fault_t *fault) {
    json_t *choices = json_object_get(state_obj, "Choices"), *rule;
    const char *dflt;
    size_t i;
    json_array_foreach(choices, i, rule) {
        int matched = 0;
        baton_err_t err = eval_rule(env, rule, input, &matched, fault);
        if (err) return err;
        if (matched) {
            *next = json_string_value(json_object_get(rule, "Next"));
            return BATON_OK;
        }
    }
    dflt = json_string_value(json_object_get(state_obj, "Default"));
    if (dflt) {
        *next = dflt;
        return BATON_OK;
    }
    return baton_asl_fault_set(fault, BATON_ASL_ERR_NO_CHOICE,
                               "no Choice rule matched and there is no "
                               "Default");
}
