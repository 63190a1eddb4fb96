/*
 * definition.c -- parsing and validation of a state machine definition
 * (asl.h baton_asl_def_parse), producing the structure of asl_int.h.
 *
 * Loaded once at start, so it checks everything a run would otherwise
 * trip on: the top-level fields, each state's fields for its type (no
 * unknown fields), Next/End, every Path and payload template, intrinsic
 * calls, Retry/Catch, Choice rules, Wait times, the Task Resource URIs
 * Baton understands, that every transition names a state and that every
 * state is reachable from StartAt.  The first problem found (in document
 * order) is reported as "<name>: state 'X': <problem>"; inside a Parallel
 * branch or a Map's ItemProcessor the path leads there: "<name>: state
 * 'Fan': Branches[1]: state 'B': <problem>".
 *
 * The same code parses nested state machines (baton_asl_machine_parse,
 * called back by fanout.c for Parallel and Map): each is a definition of
 * its own whose state names are scoped to it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl_int.h"
#include "codec.h"
#include "intrinsic.h"
#include "path.h"

#define MAX_STATE_NAME 80 /* characters, per the spec */

/* Validation context of one state machine (top-level or nested). */
typedef struct vctx {
    baton_asl_def_t *def;
    json_t *states; /* the States object (borrowed) */
    char *errstr;
    size_t errlen;
} vctx_t;

/* Reports a problem of state `state` (NULL: of the whole machine), without
 * the definition's name: baton_asl_def_parse puts it in front. */
static baton_err_t verr(vctx_t *v, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static baton_err_t verr(vctx_t *v, const char *state, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (state)
        return baton_seterr(v->errstr, v->errlen, BATON_ERR_INVALID,
                            "state '%s': %s", state, msg);
    return baton_seterr(v->errstr, v->errlen, BATON_ERR_INVALID, "%s", msg);
}

/* ---- field tables ---------------------------------------------------- */

/* The fields each state type may have besides Type and Comment. */
/* clang-format off */
static const char *const task_fields[] = {
    "Resource", "InputPath", "OutputPath", "Parameters", "ResultSelector",
    "ResultPath", "Retry", "Catch", "TimeoutSeconds", "TimeoutSecondsPath",
    "HeartbeatSeconds", "HeartbeatSecondsPath", "Next", "End", NULL};
static const char *const pass_fields[] = {
    "InputPath", "OutputPath", "Parameters", "ResultPath", "Result", "Next",
    "End", NULL};
static const char *const choice_fields[] = {
    "InputPath", "OutputPath", "Choices", "Default", NULL};
static const char *const wait_fields[] = {
    "InputPath", "OutputPath", "Seconds", "Timestamp", "SecondsPath",
    "TimestampPath", "Next", "End", NULL};
static const char *const succeed_fields[] = {"InputPath", "OutputPath", NULL};
static const char *const fail_fields[] = {
    "Error", "Cause", "ErrorPath", "CausePath", NULL};
static const char *const parallel_fields[] = {
    "Branches", "InputPath", "OutputPath", "Parameters", "ResultSelector",
    "ResultPath", "Retry", "Catch", "Next", "End", NULL};
static const char *const map_fields[] = {
    "ItemProcessor", "Iterator", "ItemsPath", "ItemSelector", "Parameters",
    "ItemReader", "ItemBatcher", "ResultWriter", "MaxConcurrency",
    "MaxConcurrencyPath", "ToleratedFailureCount",
    "ToleratedFailureCountPath", "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath", "Label", "InputPath", "OutputPath",
    "ResultSelector", "ResultPath", "Retry", "Catch", "Next", "End", NULL};
/* clang-format on */

static const struct {
    const char *name;
    baton_asl_state_type_t type;
    const char *const *fields;
} state_types[] = {
    {"Task", BATON_ASL_STATE_TASK, task_fields},
    {"Pass", BATON_ASL_STATE_PASS, pass_fields},
    {"Choice", BATON_ASL_STATE_CHOICE, choice_fields},
    {"Wait", BATON_ASL_STATE_WAIT, wait_fields},
    {"Succeed", BATON_ASL_STATE_SUCCEED, succeed_fields},
    {"Fail", BATON_ASL_STATE_FAIL, fail_fields},
    {"Parallel", BATON_ASL_STATE_PARALLEL, parallel_fields},
    {"Map", BATON_ASL_STATE_MAP, map_fields},
};

static int in_list(const char *const *list, const char *key) {
    for (; list && *list; list++)
        if (strcmp(*list, key) == 0) return 1;
    return 0;
}

/* Returns 1 when key is a state field of any supported type. */
static int known_state_field(const char *key) {
    size_t i;
    for (i = 0; i < BATON_ARRAY_SIZE(state_types); i++)
        if (in_list(state_types[i].fields, key)) return 1;
    return 0;
}

/* Rejects fields that the state's type does not have. */
static baton_err_t check_fields(vctx_t *v, const char *name, json_t *obj,
                                const char *type, const char *const *allowed) {
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        if (!strcmp(key, "Type") || !strcmp(key, "Comment") ||
            in_list(allowed, key))
            continue;
        if (known_state_field(key))
            return verr(v, name, "field '%s' is not allowed in a %s state", key,
                        type);
        return verr(v, name, "unknown field '%s'", key);
    }
    if (json_object_get(obj, "Comment") &&
        !json_is_string(json_object_get(obj, "Comment")))
        return verr(v, name, "Comment must be a string");
    return BATON_OK;
}

/* ---- common field checks --------------------------------------------- */

/* A transition target: must name a state.  *out is borrowed. */
static baton_err_t check_target(vctx_t *v, const char *name, const char *field,
                                json_t *val, const char **out) {
    const char *s = json_string_value(val);
    if (!s) return verr(v, name, "%s must be a string (a state name)", field);
    if (!json_object_get(v->states, s))
        return verr(v, name, "%s '%s' is not a state", field, s);
    if (out) *out = s;
    return BATON_OK;
}

/* An optional Path field (flags: BATON_ASL_PATH_*). */
static baton_err_t check_path(vctx_t *v, const char *name, json_t *obj,
                              const char *field, unsigned flags,
                              int allow_null) {
    json_t *p = json_object_get(obj, field);
    char reason[256];
    baton_err_t err;
    if (!p || (allow_null && json_is_null(p))) return BATON_OK;
    if (!json_is_string(p))
        return verr(v, name, "%s must be a path%s", field,
                    allow_null ? " or null" : "");
    err = baton_asl_path_check(json_string_value(p), flags, reason,
                               sizeof(reason));
    if (err == BATON_ERR_INVALID)
        return verr(v, name, "bad path '%s' in %s: %s", json_string_value(p),
                    field, reason);
    return err;
}

/* An optional integer field in [min, INT32_MAX] (min is 0 or 1); *out
 * keeps its default when the field is absent.  `where` prefixes the
 * message ("Retry[0]"), or NULL. */
static baton_err_t check_int(vctx_t *v, const char *name, const char *where,
                             json_t *obj, const char *field, int64_t min,
                             int64_t *out) {
    json_t *val = json_object_get(obj, field);
    json_int_t i;
    if (!val) return BATON_OK;
    i = json_is_integer(val) ? json_integer_value(val) : min - 1;
    if (i < min || i > INT32_MAX)
        return verr(v, name, "%s%s%s must be a %s integer", where ? where : "",
                    where ? ": " : "", field,
                    min > 0 ? "positive" : "non-negative");
    *out = i;
    return BATON_OK;
}

/* Next / End of Task, Pass and Wait. */
static baton_err_t check_transition(vctx_t *v, baton_asl_state_t *st) {
    json_t *next = json_object_get(st->obj, "Next");
    json_t *end = json_object_get(st->obj, "End");
    if (end && !json_is_boolean(end))
        return verr(v, st->name, "End must be a boolean");
    if (next && json_is_true(end))
        return verr(v, st->name, "has both Next and End");
    if (!next && !json_is_true(end))
        return verr(v, st->name, "missing Next or End");
    if (next) return check_target(v, st->name, "Next", next, &st->next);
    return BATON_OK;
}

/* InputPath, OutputPath, ResultPath, Parameters, ResultSelector. */
static baton_err_t check_dataflow(vctx_t *v, baton_asl_state_t *st) {
    static const char *const templates[] = {"Parameters", "ResultSelector"};
    char reason[768];
    size_t i;
    baton_err_t err;
    if ((err = check_path(v, st->name, st->obj, "InputPath", 0, 1)) ||
        (err = check_path(v, st->name, st->obj, "OutputPath", 0, 1)) ||
        (err = check_path(v, st->name, st->obj, "ResultPath",
                          BATON_ASL_PATH_REFERENCE | BATON_ASL_PATH_NO_CONTEXT,
                          1)))
        return err;
    for (i = 0; i < BATON_ARRAY_SIZE(templates); i++) {
        json_t *t = json_object_get(st->obj, templates[i]);
        if (!t) continue;
        err = baton_asl_template_check(t, templates[i], reason, sizeof(reason));
        if (err == BATON_ERR_INVALID) return verr(v, st->name, "%s", reason);
        if (err) return err;
    }
    return BATON_OK;
}

/* ---- Task ------------------------------------------------------------ */

/* Returns 1 when s is a non-empty name of [A-Za-z0-9._:-]. */
static int good_name(const char *s, size_t n) {
    size_t i;
    if (n == 0) return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
              c == ':'))
            return 0;
    }
    return 1;
}

/* Takes the name after `prefix` in Resource r into *out (owned).  Returns
 * 1 when r starts with prefix (*err set), 0 when it does not. */
static int resource_name(const char *r, const char *prefix, char **out,
                         baton_err_t *err) {
    size_t n = strlen(prefix);
    const char *rest = r + n;
    if (strncmp(r, prefix, n) != 0) return 0;
    *err = BATON_ERR_INVALID;
    if (!good_name(rest, strlen(rest))) return 1;
    *out = baton_strdup(rest);
    *err = *out ? BATON_OK : BATON_ERR_NOMEM;
    return 1;
}

/* The activity timeouts beyond the spec, from the query of an activity's
 * Resource URI: "scheduleToStartSeconds=N&scheduleToCloseSeconds=N". */
static baton_err_t parse_query(vctx_t *v, baton_asl_state_t *st,
                               const char *q) {
    while (*q) {
        const char *amp = strchr(q, '&'), *eq;
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        int64_t secs;
        char key[64], val[32];
        eq = memchr(q, '=', len);
        if (!eq || (size_t)(eq - q) >= sizeof key ||
            len - (size_t)(eq - q) - 1 >= sizeof val)
            return verr(v, st->name, "Resource query '%.*s' is not key=value",
                        (int)len, q);
        snprintf(key, sizeof key, "%.*s", (int)(eq - q), q);
        snprintf(val, sizeof val, "%.*s", (int)(len - (size_t)(eq - q) - 1),
                 eq + 1);
        if (baton_parse_i64(val, &secs) || secs < 1 || secs > INT32_MAX)
            return verr(v, st->name,
                        "Resource query %s: '%s' is not a positive number "
                        "of seconds",
                        key, val);
        if (!strcmp(key, "scheduleToStartSeconds"))
            st->schedule_to_start_s = (int32_t)secs;
        else if (!strcmp(key, "scheduleToCloseSeconds"))
            st->schedule_to_close_s = (int32_t)secs;
        else
            return verr(v, st->name,
                        "unknown Resource query key '%s' (expected "
                        "scheduleToStartSeconds or scheduleToCloseSeconds)",
                        key);
        q += len + (amp ? 1 : 0);
    }
    return BATON_OK;
}

/* Splits the Resource URI into queue/activity type, signal name, child
 * workflow name, or recognises baton:append. */
static baton_err_t parse_resource(vctx_t *v, baton_asl_state_t *st) {
    static const char act[] = "baton:activity:";
    const char *r = json_string_value(json_object_get(st->obj, "Resource"));
    const char *rest, *slash, *query, *end;
    baton_err_t err = BATON_OK;
    if (!r) return verr(v, st->name, "missing Resource (a string)");
    if (!strcmp(r, "baton:append")) {
        st->task_kind = BATON_ASL_TASK_APPEND;
        return BATON_OK;
    }
    st->task_kind = BATON_ASL_TASK_SIGNAL;
    if (resource_name(r, "baton:signal:", &st->signal_name, &err)) goto out;
    st->task_kind = BATON_ASL_TASK_CHILD;
    if (resource_name(r, "baton:workflow:", &st->child_type, &err)) goto out;
    st->task_kind = BATON_ASL_TASK_ACTIVITY;
    if (strncmp(r, act, sizeof(act) - 1) != 0) goto bad;
    rest = r + sizeof(act) - 1;
    query = strchr(rest, '?');
    end = query ? query : rest + strlen(rest);
    slash = memchr(rest, '/', (size_t)(end - rest));
    if (slash) {
        if (!good_name(rest, (size_t)(slash - rest)) ||
            !good_name(slash + 1, (size_t)(end - slash - 1)))
            goto bad;
        st->queue = baton_strndup(rest, (size_t)(slash - rest));
        st->activity_type = baton_strndup(slash + 1, (size_t)(end - slash - 1));
        if (st->queue && !baton_codec_queue_ok(st->queue))
            return verr(v, st->name,
                        "queue '%s' in Resource '%s': a queue names the Kafka "
                        "topic <prefix>.tasks.<queue>, so it must be 1 to %d "
                        "of [A-Za-z0-9._-]",
                        st->queue, r, BATON_QUEUE_NAME_MAX);
    } else {
        if (!good_name(rest, (size_t)(end - rest))) goto bad;
        st->queue = baton_strdup("default");
        st->activity_type = baton_strndup(rest, (size_t)(end - rest));
    }
    if (!st->queue || !st->activity_type) return BATON_ERR_NOMEM;
    return query ? parse_query(v, st, query + 1) : BATON_OK;
out:
    if (err != BATON_ERR_INVALID) return err;
bad:
    return verr(v, st->name,
                "unknown Resource '%s' (expected "
                "baton:activity:<queue>/<activity_type>, "
                "baton:activity:<activity_type>, baton:signal:<name>, "
                "baton:workflow:<name> or baton:append)",
                r);
}

/* TimeoutSeconds / HeartbeatSeconds and their *Path forms. */
static baton_err_t check_timeouts(vctx_t *v, baton_asl_state_t *st) {
    static const unsigned ref = BATON_ASL_PATH_REFERENCE;
    const char *n = st->name;
    json_t *o = st->obj;
    int64_t to = 0, hb = 0;
    baton_err_t err;
    if ((err = check_int(v, n, NULL, o, "TimeoutSeconds", 1, &to)) ||
        (err = check_int(v, n, NULL, o, "HeartbeatSeconds", 1, &hb)) ||
        (err = check_path(v, n, o, "TimeoutSecondsPath", ref, 0)) ||
        (err = check_path(v, n, o, "HeartbeatSecondsPath", ref, 0)))
        return err;
    if (json_object_get(o, "TimeoutSeconds") &&
        json_object_get(o, "TimeoutSecondsPath"))
        return verr(v, n,
                    "cannot have both TimeoutSeconds and "
                    "TimeoutSecondsPath");
    if (json_object_get(o, "HeartbeatSeconds") &&
        json_object_get(o, "HeartbeatSecondsPath"))
        return verr(v, n,
                    "cannot have both HeartbeatSeconds and "
                    "HeartbeatSecondsPath");
    if (to && hb && hb >= to)
        return verr(v, n,
                    "HeartbeatSeconds must be smaller than "
                    "TimeoutSeconds");
    return BATON_OK;
}

/* ErrorEquals of a retrier or catcher (`where` is "Retry[1]"...). */
static baton_err_t check_error_equals(vctx_t *v, const char *name,
                                      const char *where, json_t *ee,
                                      int is_last, const char *kind) {
    size_t i;
    json_t *e;
    int has_all = 0;
    if (!json_is_array(ee) || json_array_size(ee) == 0)
        return verr(v, name,
                    "%s: ErrorEquals must be a non-empty array of "
                    "error names",
                    where);
    json_array_foreach(ee, i, e) {
        if (!json_is_string(e))
            return verr(v, name,
                        "%s: ErrorEquals must be a non-empty array "
                        "of error names",
                        where);
        if (!strcmp(json_string_value(e), "States.ALL")) has_all = 1;
    }
    if (has_all && json_array_size(ee) > 1)
        return verr(v, name, "%s: States.ALL must be alone in ErrorEquals",
                    where);
    if (has_all && !is_last)
        return verr(v, name, "%s: States.ALL must be in the last %s", where,
                    kind);
    return BATON_OK;
}

/* Rejects fields of a retrier/catcher object not in `allowed`. */
static baton_err_t check_sub_fields(vctx_t *v, const char *name,
                                    const char *where, json_t *obj,
                                    const char *const *allowed) {
    const char *key;
    json_t *val;
    if (!json_is_object(obj))
        return verr(v, name, "%s must be an object", where);
    json_object_foreach(obj, key, val) {
        if (!in_list(allowed, key))
            return verr(v, name, "%s: unknown field '%s'", where, key);
    }
    return BATON_OK;
}

static baton_err_t parse_retrier(vctx_t *v, baton_asl_state_t *st, json_t *r,
                                 size_t i, size_t n) {
    static const char *const fields[] = {
        "ErrorEquals",     "IntervalSeconds", "MaxAttempts", "BackoffRate",
        "MaxDelaySeconds", "JitterStrategy",  "Comment",     NULL};
    baton_asl_retrier_t *rt = &st->retriers[i];
    char where[32];
    int64_t interval = 1, attempts = 3, max_delay = 0;
    json_t *rate, *jitter;
    baton_err_t err;
    snprintf(where, sizeof(where), "Retry[%zu]", i);
    if ((err = check_sub_fields(v, st->name, where, r, fields)) ||
        (err = check_error_equals(v, st->name, where,
                                  json_object_get(r, "ErrorEquals"), i + 1 == n,
                                  "retrier")) ||
        (err = check_int(v, st->name, where, r, "IntervalSeconds", 1,
                         &interval)) ||
        (err = check_int(v, st->name, where, r, "MaxAttempts", 0, &attempts)) ||
        (err = check_int(v, st->name, where, r, "MaxDelaySeconds", 1,
                         &max_delay)))
        return err;
    rate = json_object_get(r, "BackoffRate");
    if (rate && (!json_is_number(rate) || json_number_value(rate) < 1.0))
        return verr(v, st->name, "%s: BackoffRate must be a number >= 1.0",
                    where);
    jitter = json_object_get(r, "JitterStrategy");
    if (jitter && !json_is_string(jitter))
        return verr(v, st->name, "%s: JitterStrategy must be FULL or NONE",
                    where);
    if (jitter && strcmp(json_string_value(jitter), "FULL") &&
        strcmp(json_string_value(jitter), "NONE"))
        return verr(v, st->name, "%s: JitterStrategy must be FULL or NONE",
                    where);
    rt->error_equals = json_object_get(r, "ErrorEquals");
    rt->interval_ms = interval * 1000;
    rt->max_attempts = (int32_t)attempts;
    rt->backoff_rate = rate ? json_number_value(rate) : 2.0;
    rt->max_delay_ms = max_delay * 1000;
    rt->jitter_full = jitter && !strcmp(json_string_value(jitter), "FULL");
    return BATON_OK;
}

static baton_err_t parse_catcher(vctx_t *v, baton_asl_state_t *st, json_t *c,
                                 size_t i, size_t n) {
    static const char *const fields[] = {"ErrorEquals", "Next", "ResultPath",
                                         "Comment", NULL};
    baton_asl_catcher_t *ct = &st->catchers[i];
    char where[32], field[48];
    baton_err_t err;
    snprintf(where, sizeof(where), "Catch[%zu]", i);
    snprintf(field, sizeof(field), "Catch[%zu].Next", i);
    if ((err = check_sub_fields(v, st->name, where, c, fields)) ||
        (err = check_error_equals(v, st->name, where,
                                  json_object_get(c, "ErrorEquals"), i + 1 == n,
                                  "catcher")))
        return err;
    if (!json_object_get(c, "Next"))
        return verr(v, st->name, "%s: missing Next", where);
    if ((err = check_target(v, st->name, field, json_object_get(c, "Next"),
                            &ct->next)))
        return err;
    snprintf(field, sizeof(field), "Catch[%zu].ResultPath", i);
    if (json_object_get(c, "ResultPath") &&
        !json_is_null(json_object_get(c, "ResultPath"))) {
        char reason[256];
        const char *p = json_string_value(json_object_get(c, "ResultPath"));
        if (!p) return verr(v, st->name, "%s must be a path or null", field);
        err = baton_asl_path_check(
            p, BATON_ASL_PATH_REFERENCE | BATON_ASL_PATH_NO_CONTEXT, reason,
            sizeof(reason));
        if (err == BATON_ERR_INVALID)
            return verr(v, st->name, "bad path '%s' in %s: %s", p, field,
                        reason);
        if (err) return err;
    }
    ct->error_equals = json_object_get(c, "ErrorEquals");
    ct->result_path = json_object_get(c, "ResultPath");
    return BATON_OK;
}

/* Retry and Catch arrays of a Task. */
static baton_err_t parse_handlers(vctx_t *v, baton_asl_state_t *st) {
    json_t *retry = json_object_get(st->obj, "Retry");
    json_t *catch = json_object_get(st->obj, "Catch");
    size_t i, n;
    baton_err_t err;
    if (retry && !json_is_array(retry))
        return verr(v, st->name, "Retry must be an array of retriers");
    if (catch && !json_is_array(catch))
        return verr(v, st->name, "Catch must be an array of catchers");
    if ((n = json_array_size(retry))) {
        if (!(st->retriers = baton_calloc(n, sizeof(*st->retriers))))
            return BATON_ERR_NOMEM;
        st->n_retriers = n;
        for (i = 0; i < n; i++)
            if ((err = parse_retrier(v, st, json_array_get(retry, i), i, n)))
                return err;
    }
    if ((n = json_array_size(catch))) {
        if (!(st->catchers = baton_calloc(n, sizeof(*st->catchers))))
            return BATON_ERR_NOMEM;
        st->n_catchers = n;
        for (i = 0; i < n; i++)
            if ((err = parse_catcher(v, st, json_array_get(catch, i), i, n)))
                return err;
    }
    return BATON_OK;
}

static baton_err_t parse_task(vctx_t *v, baton_asl_state_t *st) {
    char reason[768];
    baton_err_t err;
    if ((err = parse_resource(v, st)) || (err = check_timeouts(v, st)))
        return err;
    if (st->task_kind == BATON_ASL_TASK_APPEND) {
        err = baton_asl_append_check(st->obj, reason, sizeof(reason));
        if (err == BATON_ERR_INVALID) return verr(v, st->name, "%s", reason);
        if (err) return err;
    }
    if (st->task_kind == BATON_ASL_TASK_CHILD &&
        (json_object_get(st->obj, "HeartbeatSeconds") ||
         json_object_get(st->obj, "HeartbeatSecondsPath")))
        return verr(v, st->name,
                    "a child workflow (baton:workflow:) sends no heartbeats: "
                    "use TimeoutSeconds");
    return parse_handlers(v, st);
}

/* Parallel and Map: Next/End, Retry/Catch, then their own fields and
 * nested machines (fanout.c). */
static baton_err_t parse_fanout(vctx_t *v, baton_asl_state_t *st) {
    char reason[1024];
    baton_err_t err;
    if ((err = check_transition(v, st)) || (err = parse_handlers(v, st)))
        return err;
    err = baton_asl_fanout_check(v->def, st, reason, sizeof(reason));
    if (err == BATON_ERR_INVALID) return verr(v, st->name, "%s", reason);
    return err;
}

/* ---- Choice, Wait, Fail ---------------------------------------------- */

static baton_err_t check_choice(vctx_t *v, baton_asl_state_t *st) {
    json_t *choices = json_object_get(st->obj, "Choices"), *rule;
    json_t *dflt = json_object_get(st->obj, "Default");
    char where[32], field[48], reason[768];
    size_t i;
    baton_err_t err;
    if (!json_is_array(choices) || json_array_size(choices) == 0)
        return verr(v, st->name, "Choices must be a non-empty array of rules");
    json_array_foreach(choices, i, rule) {
        snprintf(where, sizeof(where), "Choices[%zu]", i);
        err =
            baton_asl_choice_rule_check(rule, 1, where, reason, sizeof(reason));
        if (err == BATON_ERR_INVALID) return verr(v, st->name, "%s", reason);
        if (err) return err;
        snprintf(field, sizeof(field), "Choices[%zu].Next", i);
        if ((err = check_target(v, st->name, field,
                                json_object_get(rule, "Next"), NULL)))
            return err;
    }
    if (dflt) return check_target(v, st->name, "Default", dflt, NULL);
    return BATON_OK;
}

static baton_err_t check_wait(vctx_t *v, baton_asl_state_t *st) {
    static const char *const modes[] = {"Seconds", "Timestamp", "SecondsPath",
                                        "TimestampPath"};
    json_t *ts = json_object_get(st->obj, "Timestamp");
    int64_t secs = 0, sec;
    int32_t ns;
    size_t i, n = 0;
    baton_err_t err;
    for (i = 0; i < BATON_ARRAY_SIZE(modes); i++)
        n += json_object_get(st->obj, modes[i]) != NULL;
    if (n != 1)
        return verr(v, st->name,
                    "a Wait state needs exactly one of Seconds, "
                    "Timestamp, SecondsPath or TimestampPath");
    if ((err = check_int(v, st->name, NULL, st->obj, "Seconds", 0, &secs)) ||
        (err = check_path(v, st->name, st->obj, "SecondsPath",
                          BATON_ASL_PATH_REFERENCE, 0)) ||
        (err = check_path(v, st->name, st->obj, "TimestampPath",
                          BATON_ASL_PATH_REFERENCE, 0)))
        return err;
    if (ts && (!json_is_string(ts) ||
               baton_asl_timestamp_parse(json_string_value(ts), &sec, &ns)))
        return verr(v, st->name,
                    "Timestamp must be an RFC 3339 timestamp "
                    "such as 2016-03-14T01:59:00Z");
    return BATON_OK;
}

/* ErrorPath / CausePath: a Reference Path or an intrinsic function. */
static baton_err_t check_fail_path(vctx_t *v, baton_asl_state_t *st,
                                   const char *field, const char *literal) {
    json_t *val = json_object_get(st->obj, field);
    json_t *lit = json_object_get(st->obj, literal);
    const char *s = json_string_value(val);
    char reason[512];
    baton_err_t err;
    if (lit && !json_is_string(lit))
        return verr(v, st->name, "%s must be a string", literal);
    if (!val) return BATON_OK;
    if (lit)
        return verr(v, st->name, "cannot have both %s and %s", literal, field);
    if (!s)
        return verr(v, st->name, "%s must be a path or an intrinsic function",
                    field);
    if (s[0] == '$')
        return check_path(v, st->name, st->obj, field, BATON_ASL_PATH_REFERENCE,
                          0);
    err = baton_asl_intrinsic_check(s, reason, sizeof(reason));
    if (err == BATON_ERR_INVALID)
        return verr(v, st->name, "bad intrinsic function in %s: %s", field,
                    reason);
    return err;
}

static baton_err_t check_fail(vctx_t *v, baton_asl_state_t *st) {
    baton_err_t err = check_fail_path(v, st, "ErrorPath", "Error");
    return err ? err : check_fail_path(v, st, "CausePath", "Cause");
}

/* ---- one state ------------------------------------------------------- */

/* Counts UTF-8 characters. */
static size_t utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* Finds the Type of a state; returns its index in state_types or -1. */
static int find_type(vctx_t *v, const char *name, json_t *obj,
                     baton_err_t *err) {
    json_t *type = json_object_get(obj, "Type");
    size_t i;
    if (!type) {
        *err = verr(v, name, "missing Type");
        return -1;
    }
    for (i = 0; json_is_string(type) && i < BATON_ARRAY_SIZE(state_types); i++)
        if (!strcmp(state_types[i].name, json_string_value(type))) break;
    if (!json_is_string(type) || i == BATON_ARRAY_SIZE(state_types)) {
        *err = json_is_string(type)
                   ? verr(v, name, "unknown Type '%s'", json_string_value(type))
                   : verr(v, name, "Type must be a string");
        return -1;
    }
    return (int)i;
}

static baton_err_t parse_state(vctx_t *v, const char *name, json_t *obj,
                               baton_asl_state_t *st) {
    baton_err_t err = BATON_OK;
    int t;
    st->name = name;
    st->obj = obj;
    if (!json_is_object(obj)) return verr(v, name, "must be an object");
    if (utf8_chars(name) > MAX_STATE_NAME)
        return verr(v, name, "the name is longer than %d characters",
                    MAX_STATE_NAME);
    if ((t = find_type(v, name, obj, &err)) < 0) return err;
    st->type = state_types[t].type;
    if ((err = check_fields(v, name, obj, state_types[t].name,
                            state_types[t].fields)) ||
        (err = check_dataflow(v, st)))
        return err;
    switch (st->type) {
    case BATON_ASL_STATE_TASK:
        if ((err = check_transition(v, st))) return err;
        return parse_task(v, st);
    case BATON_ASL_STATE_PASS: return check_transition(v, st);
    case BATON_ASL_STATE_WAIT:
        if ((err = check_transition(v, st))) return err;
        return check_wait(v, st);
    case BATON_ASL_STATE_CHOICE: return check_choice(v, st);
    case BATON_ASL_STATE_FAIL: return check_fail(v, st);
    case BATON_ASL_STATE_SUCCEED: return BATON_OK;
    case BATON_ASL_STATE_PARALLEL:
    case BATON_ASL_STATE_MAP: return parse_fanout(v, st);
    }
    return BATON_OK;
}

/* ---- the whole machine ----------------------------------------------- */

const baton_asl_state_t *baton_asl_def_state(const baton_asl_def_t *def,
                                             const char *name) {
    size_t i;
    if (!def || !name) return NULL;
    for (i = 0; i < def->n_states; i++)
        if (!strcmp(def->states[i].name, name)) return &def->states[i];
    return NULL;
}

static size_t state_index(const baton_asl_def_t *def, const char *name) {
    return (size_t)(baton_asl_def_state(def, name) - def->states);
}

/* Marks `name` seen and queues it when it was not. */
static void visit(const baton_asl_def_t *def, const char *name,
                  unsigned char *seen, size_t *queue, size_t *tail) {
    size_t i;
    if (!name) return;
    i = state_index(def, name);
    if (seen[i]) return;
    seen[i] = 1;
    queue[(*tail)++] = i;
}

/* Every state must be reachable from StartAt through Next, Choices,
 * Default and Catch. */
static baton_err_t check_reachable(vctx_t *v) {
    const baton_asl_def_t *def = v->def;
    unsigned char *seen = baton_calloc(def->n_states, 1);
    size_t *queue = baton_calloc(def->n_states, sizeof(size_t));
    size_t head = 0, tail = 0, i;
    baton_err_t err = BATON_OK;
    if (!seen || !queue) {
        err = BATON_ERR_NOMEM;
        goto out;
    }
    visit(def, def->start_at, seen, queue, &tail);
    while (head < tail) {
        const baton_asl_state_t *st = &def->states[queue[head++]];
        json_t *rule;
        visit(def, st->next, seen, queue, &tail);
        for (i = 0; i < st->n_catchers; i++)
            visit(def, st->catchers[i].next, seen, queue, &tail);
        if (st->type != BATON_ASL_STATE_CHOICE) continue;
        json_array_foreach(json_object_get(st->obj, "Choices"), i, rule) {
            visit(def, json_string_value(json_object_get(rule, "Next")), seen,
                  queue, &tail);
        }
        visit(def, json_string_value(json_object_get(st->obj, "Default")), seen,
              queue, &tail);
    }
    for (i = 0; i < def->n_states; i++) {
        if (seen[i]) continue;
        err = verr(v, NULL, "state '%s' is unreachable from StartAt",
                   def->states[i].name);
        break;
    }
out:
    baton_free(seen);
    baton_free(queue);
    return err;
}

/* Top-level fields (a nested machine's own fields are checked by
 * fanout.c; here only StartAt and States matter for it). */
static baton_err_t check_top(vctx_t *v, json_t *root, int top_fields) {
    static const char *const fields[] = {
        "Comment",        "StartAt",       "States", "Version",
        "TimeoutSeconds", "QueryLanguage", "Budget", NULL};
    const char *key, *start;
    json_t *val, *ql = json_object_get(root, "QueryLanguage");
    int64_t timeout = 0;
    baton_err_t err;
    if (!json_is_object(root))
        return verr(v, NULL, "a definition must be a JSON object");
    json_object_foreach(root, key, val) {
        if (top_fields && !in_list(fields, key))
            return verr(v, NULL, "unknown field '%s'", key);
    }
    if (ql &&
        (!json_is_string(ql) || strcmp(json_string_value(ql), "JSONPath")))
        return verr(v, NULL,
                    "QueryLanguage must be \"JSONPath\" (JSONata is "
                    "not supported)");
    if (json_object_get(root, "Comment") &&
        !json_is_string(json_object_get(root, "Comment")))
        return verr(v, NULL, "Comment must be a string");
    if (json_object_get(root, "Version") &&
        !json_is_string(json_object_get(root, "Version")))
        return verr(v, NULL, "Version must be a string");
    if ((err = check_int(v, NULL, NULL, root, "TimeoutSeconds", 1, &timeout)))
        return err;
    if (top_fields && json_object_get(root, "Budget")) {
        char why[256];
        if (baton_asl_budget_check(json_object_get(root, "Budget"), why,
                                   sizeof why))
            return verr(v, NULL, "Budget: %s", why);
    }
    v->states = json_object_get(root, "States");
    if (!json_is_object(v->states) || json_object_size(v->states) == 0)
        return verr(v, NULL, "States must be a non-empty object");
    if (!(start = json_string_value(json_object_get(root, "StartAt"))))
        return verr(v, NULL, "missing StartAt (a state name)");
    if (!json_object_get(v->states, start))
        return verr(v, NULL, "StartAt '%s' is not a state", start);
    v->def->start_at = start;
    v->def->timeout_seconds = (int32_t)timeout;
    return BATON_OK;
}

static baton_err_t parse_all(vctx_t *v, json_t *root, int top_fields) {
    baton_asl_def_t *def = v->def;
    const char *name;
    json_t *obj;
    baton_err_t err;
    if ((err = check_top(v, root, top_fields))) return err;
    def->states =
        baton_calloc(json_object_size(v->states), sizeof(*def->states));
    if (!def->states) return BATON_ERR_NOMEM;
    json_object_foreach(v->states, name, obj) {
        err = parse_state(v, name, obj, &def->states[def->n_states++]);
        if (err) return err;
    }
    return check_reachable(v);
}

baton_err_t baton_asl_machine_parse(const char *name,
                                    const baton_asl_def_t *top,
                                    const char *path, json_t *obj,
                                    int allow_top_fields, baton_asl_def_t **out,
                                    char *errstr, size_t errlen) {
    baton_asl_def_t *def = baton_calloc(1, sizeof(*def));
    vctx_t v;
    baton_err_t err;
    *out = NULL;
    if (!def) return BATON_ERR_NOMEM;
    def->name = baton_strdup(name ? name : "definition");
    def->path = baton_strdup(path ? path : "");
    def->top = top ? top : def;
    def->root = json_incref(obj);
    if (!def->name || !def->path) {
        baton_asl_def_destroy(def);
        return BATON_ERR_NOMEM;
    }
    v.def = def;
    v.states = NULL;
    v.errstr = errstr;
    v.errlen = errlen;
    if ((err = parse_all(&v, obj, allow_top_fields))) {
        baton_asl_def_destroy(def);
        return err;
    }
    *out = def;
    return BATON_OK;
}

baton_err_t baton_asl_def_parse(const char *name, const char *json_text,
                                baton_asl_def_t **out, char *errstr,
                                size_t errlen) {
    const char *n = name ? name : "definition";
    char msg[1024] = "";
    json_error_t jerr;
    json_t *root;
    baton_err_t err;
    *out = NULL;
    if (!json_text)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: no definition text", n);
    root = json_loads(json_text, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: not valid JSON: line %d column %d: %s", n,
                            jerr.line, jerr.column, jerr.text);
    err = baton_asl_machine_parse(n, NULL, "", root, 1, out, msg, sizeof(msg));
    json_decref(root);
    if (err == BATON_ERR_INVALID)
        return baton_seterr(errstr, errlen, err, "%s: %s", n, msg);
    if (err)
        return baton_seterr(errstr, errlen, err, "%s: %s", n,
                            baton_err2str(err));
    return BATON_OK;
}

void baton_asl_def_destroy(baton_asl_def_t *def) {
    size_t i, j;
    if (!def) return;
    for (i = 0; i < def->n_states; i++) {
        baton_asl_state_t *st = &def->states[i];
        baton_free(st->queue);
        baton_free(st->activity_type);
        baton_free(st->signal_name);
        baton_free(st->child_type);
        baton_free(st->retriers);
        baton_free(st->catchers);
        for (j = 0; j < st->n_subs; j++) baton_asl_def_destroy(st->subs[j]);
        baton_free(st->subs);
    }
    baton_free(def->states);
    json_decref(def->root);
    baton_free(def->name);
    baton_free(def->path);
    baton_free(def);
}

const char *baton_asl_def_name(const baton_asl_def_t *def) {
    return def ? def->name : NULL;
}

const char *baton_asl_def_start_at(const baton_asl_def_t *def) {
    return def ? def->start_at : NULL;
}

int32_t baton_asl_def_timeout_seconds(const baton_asl_def_t *def) {
    return def ? def->timeout_seconds : 0;
}

const json_t *baton_asl_def_budget(const baton_asl_def_t *def) {
    return def ? json_object_get(def->top->root, "Budget") : NULL;
}

/* ---- error matching (Retry / Catch) ---------------------------------- */

static int is_timeout(const char *error) {
    return !strcmp(error, "States.Timeout") ||
           !strcmp(error, "States.HeartbeatTimeout");
}

int baton_asl_error_matches(json_t *error_equals, const char *error) {
    size_t i;
    json_t *e;
    if (!error) error = "";
    json_array_foreach(error_equals, i, e) {
        const char *n = json_string_value(e);
        if (!n) continue;
        if (!strcmp(n, "States.ALL") || !strcmp(n, error)) return 1;
        if (!strcmp(n, "States.TaskFailed") && !is_timeout(error)) return 1;
        if (!strcmp(n, "States.Timeout") && is_timeout(error)) return 1;
    }
    return 0;
}
