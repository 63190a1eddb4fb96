/*
 * dataflow.c -- input and output processing of a state (see dataflow.h):
 * the evaluation environment and context object `$$`, InputPath and
 * OutputPath, ResultPath, payload templates, RFC 3339 timestamps.
 *
 * The context object (built on first use for each state):
 *
 *   { "Execution":    { "Id", "Name": workflow_id, "Input": execution
 *                       input, "StartTime": "2024-01-02T03:04:05.678Z" },
 *     "State":        { "Name", "EnteredTime": now_ms as above,
 *                       "RetryCount" },
 *     "StateMachine": { "Id", "Name": workflow_type },
 *     "Map":          { "Item": { "Index", "Value" } } }  (ItemSelector only)
 *
 * Randomness (States.UUID, States.MathRandom) comes from a splitmix64
 * generator seeded from ctx->seed, the state name and the transition
 * number: replaying the same step computes the same values.
 */
#include "dataflow.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "intrinsic.h"
#include "path.h"

/* ---- faults ---------------------------------------------------------- */

baton_err_t baton_asl_fault_set(baton_asl_fault_t *f, const char *error,
                                const char *fmt, ...) {
    va_list ap;
    snprintf(f->error, sizeof(f->error), "%s", error);
    va_start(ap, fmt);
    vsnprintf(f->cause, sizeof(f->cause), fmt, ap);
    va_end(ap);
    return BATON_ERR_INVALID;
}

/* ---- environment ----------------------------------------------------- */

static const baton_asl_ctx_t empty_ctx;

uint64_t baton_asl_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* FNV-1a of a string (NULL hashes like ""). */
static uint64_t fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

void baton_asl_env_init(baton_asl_env_t *env, const baton_asl_ctx_t *ctx) {
    memset(env, 0, sizeof(*env));
    env->ctx = ctx ? ctx : &empty_ctx;
    env->rng = env->ctx->seed;
}

void baton_asl_env_enter(baton_asl_env_t *env, const char *state_name,
                         uint64_t salt) {
    json_decref(env->context);
    env->context = NULL;
    env->state_name = state_name;
    env->rng =
        env->ctx->seed ^ fnv1a(state_name) ^ (salt * 0xd1b54a32d192ed03ULL);
}

void baton_asl_env_set_item(baton_asl_env_t *env, int64_t index,
                            json_t *value) {
    json_decref(env->context);
    env->context = NULL;
    env->has_item = value != NULL;
    env->item_index = index;
    env->item_value = value;
}

void baton_asl_env_clear(baton_asl_env_t *env) {
    json_decref(env->context);
    env->context = NULL;
}

uint64_t baton_asl_env_random(baton_asl_env_t *env) {
    return baton_asl_splitmix64(&env->rng);
}

/* Sets obj[key] to a new value (stolen); returns -1 when v is NULL or the
 * set fails. */
static int put(json_t *obj, const char *key, json_t *v) {
    return v ? json_object_set_new(obj, key, v) : -1;
}

static json_t *str_or_null(const char *s) {
    return s ? json_string(s) : json_null();
}

static json_t *time_string(int64_t ms) {
    char buf[40];
    return json_string(baton_asl_timestamp_format(ms, buf, sizeof(buf)));
}

/* Builds the context object (layout above).  Returns new or NULL. */
static json_t *build_context(const baton_asl_env_t *env) {
    const baton_asl_ctx_t *c = env->ctx;
    json_t *root = json_object(), *ex = json_object(), *st = json_object(),
           *sm = json_object();
    int bad = !root || !ex || !st || !sm;
    bad |= put(ex, "Id", str_or_null(c->workflow_id));
    bad |= put(ex, "Name", str_or_null(c->workflow_id));
    bad |= put(ex, "Input",
               c->execution_input ? json_incref(c->execution_input)
                                  : json_object());
    bad |= put(ex, "StartTime", time_string(c->start_time_ms));
    bad |= put(st, "Name", str_or_null(env->state_name));
    bad |= put(st, "EnteredTime", time_string(c->now_ms));
    bad |= put(st, "RetryCount", json_integer(c->retry_count));
    bad |= put(sm, "Id", str_or_null(c->workflow_type));
    bad |= put(sm, "Name", str_or_null(c->workflow_type));
    bad |= put(root, "Execution", json_incref(ex));
    bad |= put(root, "State", json_incref(st));
    bad |= put(root, "StateMachine", json_incref(sm));
    if (env->has_item)
        bad |= put(root, "Map",
                   json_pack("{s:{s:I,s:O}}", "Item", "Index",
                             (json_int_t)env->item_index, "Value",
                             env->item_value));
    json_decref(ex);
    json_decref(st);
    json_decref(sm);
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

json_t *baton_asl_env_context(baton_asl_env_t *env) {
    if (!env->context) env->context = build_context(env);
    return env->context;
}

baton_err_t baton_asl_env_select(baton_asl_env_t *env, const char *what,
                                 const char *path, json_t *doc, json_t **out,
                                 baton_asl_fault_t *fault) {
    char reason[256];
    json_t *context = NULL;
    int is_ctx = baton_asl_path_is_context(path);
    baton_err_t err;
    if (is_ctx && !(context = baton_asl_env_context(env)))
        return BATON_ERR_NOMEM;
    err =
        baton_asl_path_select(path, doc, context, out, reason, sizeof(reason));
    if (err == BATON_ERR_NOTFOUND)
        return baton_asl_fault_set(fault, BATON_ASL_ERR_RUNTIME,
                                   "%s: path '%s' matched nothing in the %s",
                                   what, path,
                                   is_ctx ? "context object" : "input");
    if (err == BATON_ERR_INVALID)
        return baton_asl_fault_set(fault, BATON_ASL_ERR_RUNTIME,
                                   "%s: bad path '%s': %s", what, path, reason);
    return err;
}

/* ---- InputPath, OutputPath, ResultPath ------------------------------- */

baton_err_t baton_asl_apply_path(baton_asl_env_t *env, const char *what,
                                 json_t *spec, json_t *doc, json_t **out,
                                 baton_asl_fault_t *fault) {
    if (!spec) {
        *out = json_incref(doc);
        return BATON_OK;
    }
    if (json_is_null(spec)) {
        *out = json_object();
        return *out ? BATON_OK : BATON_ERR_NOMEM;
    }
    if (!json_is_string(spec))
        return baton_asl_fault_set(fault, BATON_ASL_ERR_RUNTIME,
                                   "%s must be a path or null", what);
    return baton_asl_env_select(env, what, json_string_value(spec), doc, out,
                                fault);
}

baton_err_t baton_asl_apply_result_path(baton_asl_env_t *env, json_t *spec,
                                        json_t *raw_input, json_t *result,
                                        json_t **out,
                                        baton_asl_fault_t *fault) {
    const char *path = json_string_value(spec);
    char reason[256];
    json_t *copy;
    baton_err_t err;
    (void)env;
    if (!spec || (path && strcmp(path, "$") == 0)) {
        *out = json_incref(result);
        return BATON_OK;
    }
    if (json_is_null(spec)) {
        *out = json_incref(raw_input);
        return BATON_OK;
    }
    if (!path)
        return baton_asl_fault_set(fault, BATON_ASL_ERR_RESULT_PATH,
                                   "ResultPath must be a path or null");
    if (!(copy = json_deep_copy(raw_input))) return BATON_ERR_NOMEM;
    err = baton_asl_path_set(&copy, path, result, reason, sizeof(reason));
    if (err) {
        json_decref(copy);
        if (err == BATON_ERR_INVALID)
            return baton_asl_fault_set(fault, BATON_ASL_ERR_RESULT_PATH,
                                       "ResultPath '%s' cannot be applied to "
                                       "the input: %s",
                                       path, reason);
        return err;
    }
    *out = copy;
    return BATON_OK;
}

/* ---- payload templates ----------------------------------------------- */

/* Returns 1 when key ends with ".$" (a field to evaluate). */
static int is_dollar_key(const char *key) {
    size_t n = strlen(key);
    return n > 2 && key[n - 2] == '.' && key[n - 1] == '$';
}

static baton_err_t tmpl_value(baton_asl_env_t *env, const char *what, json_t *v,
                              json_t *input, json_t **out,
                              baton_asl_fault_t *fault);

/* Evaluates the value of a "key.$" field: a Path or an intrinsic call. */
static baton_err_t tmpl_dollar(baton_asl_env_t *env, const char *what,
                               const char *key, json_t *v, json_t *input,
                               json_t **out, baton_asl_fault_t *fault) {
    const char *expr = json_string_value(v);
    char where[256];
    baton_err_t err;
    snprintf(where, sizeof(where), "%s field '%s'", what, key);
    if (!expr)
        return baton_asl_fault_set(fault, BATON_ASL_ERR_PARAMETER_PATH,
                                   "%s: the value must be a string", where);
    if (expr[0] != '$')
        err = baton_asl_intrinsic_eval(env, expr, input, out, fault);
    else
        err = baton_asl_env_select(env, where, expr, input, out, fault);
    /* spec: "If the path is legal but cannot be applied successfully, the
     * interpreter fails the machine execution with an Error Name of
     * States.ParameterPathFailure" -- also a Path argument of an
     * intrinsic; the intrinsic's own failures stay IntrinsicFailure. */
    if (err == BATON_ERR_INVALID &&
        !strcmp(fault->error, BATON_ASL_ERR_RUNTIME))
        snprintf(fault->error, sizeof(fault->error), "%s",
                 BATON_ASL_ERR_PARAMETER_PATH);
    return err;
}

static baton_err_t tmpl_object(baton_asl_env_t *env, const char *what,
                               json_t *tmpl, json_t *input, json_t **out,
                               baton_asl_fault_t *fault) {
    json_t *res = json_object(), *v;
    const char *key;
    baton_err_t err = BATON_OK;
    if (!res) return BATON_ERR_NOMEM;
    json_object_foreach(tmpl, key, v) {
        json_t *val = NULL;
        if (is_dollar_key(key)) {
            char *name = baton_strndup(key, strlen(key) - 2);
            if (!name) {
                err = BATON_ERR_NOMEM;
                break;
            }
            err = tmpl_dollar(env, what, key, v, input, &val, fault);
            if (!err && json_object_set_new(res, name, val))
                err = BATON_ERR_NOMEM;
            baton_free(name);
        } else {
            err = tmpl_value(env, what, v, input, &val, fault);
            if (!err && json_object_set_new(res, key, val))
                err = BATON_ERR_NOMEM;
        }
        if (err) break;
    }
    if (err) {
        json_decref(res);
        return err;
    }
    *out = res;
    return BATON_OK;
}

static baton_err_t tmpl_array(baton_asl_env_t *env, const char *what,
                              json_t *tmpl, json_t *input, json_t **out,
                              baton_asl_fault_t *fault) {
    json_t *res = json_array(), *v;
    size_t i;
    baton_err_t err = BATON_OK;
    if (!res) return BATON_ERR_NOMEM;
    json_array_foreach(tmpl, i, v) {
        json_t *val = NULL;
        err = tmpl_value(env, what, v, input, &val, fault);
        if (!err && json_array_append_new(res, val)) err = BATON_ERR_NOMEM;
        if (err) break;
    }
    if (err) {
        json_decref(res);
        return err;
    }
    *out = res;
    return BATON_OK;
}

static baton_err_t tmpl_value(baton_asl_env_t *env, const char *what, json_t *v,
                              json_t *input, json_t **out,
                              baton_asl_fault_t *fault) {
    if (json_is_object(v)) return tmpl_object(env, what, v, input, out, fault);
    if (json_is_array(v)) return tmpl_array(env, what, v, input, out, fault);
    *out = json_incref(v);
    return BATON_OK;
}

baton_err_t baton_asl_apply_template(baton_asl_env_t *env, const char *what,
                                     json_t *tmpl, json_t *input, json_t **out,
                                     baton_asl_fault_t *fault) {
    return tmpl_value(env, what, tmpl, input, out, fault);
}

/* ---- template validation --------------------------------------------- */

static baton_err_t check_value(json_t *v, const char *field, char *errstr,
                               size_t errlen);

/* Checks the value of a "key.$" field. */
static baton_err_t check_dollar(const char *key, json_t *v, const char *field,
                                char *errstr, size_t errlen) {
    const char *expr = json_string_value(v);
    char reason[512];
    baton_err_t err;
    if (!expr)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s field '%s' must be a string (a path or an "
                            "intrinsic function)",
                            field, key);
    if (expr[0] == '$') {
        err = baton_asl_path_check(expr, 0, reason, sizeof(reason));
        if (err == BATON_ERR_INVALID)
            return baton_seterr(errstr, errlen, err,
                                "bad path '%s' in %s field '%s': %s", expr,
                                field, key, reason);
        return err;
    }
    err = baton_asl_intrinsic_check(expr, reason, sizeof(reason));
    if (err == BATON_ERR_INVALID)
        return baton_seterr(errstr, errlen, err,
                            "bad intrinsic function in %s field '%s': %s",
                            field, key, reason);
    return err;
}

static baton_err_t check_object(json_t *obj, const char *field, char *errstr,
                                size_t errlen) {
    const char *key;
    json_t *v;
    baton_err_t err = BATON_OK;
    json_object_foreach(obj, key, v) {
        if (is_dollar_key(key)) {
            char *name = baton_strndup(key, strlen(key) - 2);
            if (!name) return BATON_ERR_NOMEM;
            if (json_object_get(obj, name))
                err =
                    baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                 "%s has both '%s' and '%s'", field, name, key);
            baton_free(name);
            if (!err) err = check_dollar(key, v, field, errstr, errlen);
        } else {
            err = check_value(v, field, errstr, errlen);
        }
        if (err) return err;
    }
    return BATON_OK;
}

static baton_err_t check_value(json_t *v, const char *field, char *errstr,
                               size_t errlen) {
    size_t i;
    json_t *e;
    baton_err_t err;
    if (json_is_object(v)) return check_object(v, field, errstr, errlen);
    if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            if ((err = check_value(e, field, errstr, errlen))) return err;
        }
    }
    return BATON_OK;
}

baton_err_t baton_asl_template_check(json_t *tmpl, const char *field,
                                     char *errstr, size_t errlen) {
    if (!json_is_object(tmpl))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s must be an object", field);
    return check_object(tmpl, field, errstr, errlen);
}

/* ---- timestamps ------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    int64_t era;
    unsigned doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned days_in_month(int64_t y, unsigned m) {
    static const unsigned dim[12] = {31, 28, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

/* Reads exactly n digits at s into *v; returns 0 or -1. */
static int read_digits(const char *s, int n, unsigned *v) {
    int i;
    *v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        *v = *v * 10 + (unsigned)(s[i] - '0');
    }
    return 0;
}

/* Parses ".fraction" at *pp into nanoseconds (extra digits dropped). */
static int read_fraction(const char **pp, int32_t *nsec) {
    const char *p = *pp + 1;
    int32_t ns = 0;
    int k = 0;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++)
        if (k < 9) {
            ns = ns * 10 + (*p - '0');
            k++;
        }
    for (; k < 9; k++) ns *= 10;
    *nsec = ns;
    *pp = p;
    return 0;
}

/* Parses "Z" or "+hh:mm"/"-hh:mm" at p into seconds east of UTC. */
static int read_offset(const char *p, int64_t *off) {
    unsigned oh, om;
    if (p[0] == 'Z' && p[1] == '\0') {
        *off = 0;
        return 0;
    }
    if ((p[0] != '+' && p[0] != '-') || read_digits(p + 1, 2, &oh) ||
        p[3] != ':' || read_digits(p + 4, 2, &om) || p[6] != '\0' || oh > 23 ||
        om > 59)
        return -1;
    *off = (int64_t)(oh * 3600 + om * 60) * (p[0] == '-' ? -1 : 1);
    return 0;
}

int baton_asl_timestamp_parse(const char *s, int64_t *sec, int32_t *nsec) {
    unsigned y, mo, d, h, mi, se;
    const char *p;
    int64_t off;
    int32_t ns = 0;
    if (!s || strlen(s) < 20) return -1;
    if (read_digits(s, 4, &y) || s[4] != '-' || read_digits(s + 5, 2, &mo) ||
        s[7] != '-' || read_digits(s + 8, 2, &d) || s[10] != 'T' ||
        read_digits(s + 11, 2, &h) || s[13] != ':' ||
        read_digits(s + 14, 2, &mi) || s[16] != ':' ||
        read_digits(s + 17, 2, &se))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || se > 60)
        return -1;
    p = s + 19;
    if (*p == '.' && read_fraction(&p, &ns)) return -1;
    if (read_offset(p, &off)) return -1;
    *sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    *nsec = ns;
    return 0;
}

char *baton_asl_timestamp_format(int64_t ms, char *buf, size_t len) {
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t msec = ms - secs * 1000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400, y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, len, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y, m,
             d, (unsigned)(rem / 3600), (unsigned)(rem % 3600 / 60),
             (unsigned)(rem % 60), (unsigned)msec);
    return buf;
}
