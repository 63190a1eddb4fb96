/*
 * mapping.c -- filter and templates of a trigger over one event
 * (mapping.h), through the workflow language's standalone expressions
 * (asl.h).
 */
#include "mapping.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "asl.h"

#define MAP_WORKFLOW_ID_MAX 256

/* FNV-1a of s: the seed of the templates' random intrinsics. */
static uint64_t map_seed(const char *s) {
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *s; s++) h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

/* A JSON value as compact text (baton_malloc'd); NULL on NOMEM. */
static char *map_dump(json_t *v) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY), *out;
    if (!s) return NULL;
    out = baton_strdup(s);
    free(s);
    return out;
}

/* The message id as text: a non-empty string, or a number. */
static baton_err_t map_message_id(json_t *v, char *buf, size_t len,
                                  char *errstr, size_t errlen) {
    if (json_is_string(v) && json_string_length(v) > 0 &&
        json_string_length(v) < len - 1) {
        snprintf(buf, len, "%s", json_string_value(v));
        return BATON_OK;
    }
    if (json_is_integer(v)) {
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return BATON_OK;
    }
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                        "message_id must be a non-empty string (under %zu "
                        "bytes) or an integer",
                        len - 1);
}

/* Dumps the template result field `key` (JSON) into *out, bounded. */
static baton_err_t map_json_field(json_t *res, const char *key,
                                  int64_t payload_max, char **out, char *errstr,
                                  size_t errlen) {
    json_t *v = json_object_get(res, key);
    size_t n;
    if (!v) return BATON_OK;
    if (!(*out = map_dump(v))) return BATON_ERR_NOMEM;
    n = strlen(*out);
    if (payload_max > 0 && (int64_t)n > payload_max)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "oversized: %s is %zu bytes, more than the %" PRId64
                            " batond accepts (batond.payload.max)",
                            key, n, payload_max);
    return BATON_OK;
}

static baton_err_t map_strdup(char **dst, const char *s) {
    if (!s) return BATON_OK;
    return (*dst = baton_strdup(s)) ? BATON_OK : BATON_ERR_NOMEM;
}

/* Fills cmd from the template result. */
static baton_err_t map_fill(const baton_trigger_t *t, json_t *event,
                            json_t *res, const char *dedupe,
                            int64_t payload_max, int64_t now_ms,
                            baton_command_t *cmd, char *errstr, size_t errlen) {
    json_t *id = json_object_get(res, "id");
    baton_err_t err;
    if (!json_is_string(id) || json_string_length(id) == 0 ||
        json_string_length(id) > MAP_WORKFLOW_ID_MAX)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "the workflow id must be a string of 1 to %d "
                            "bytes, got %s",
                            MAP_WORKFLOW_ID_MAX,
                            json_is_string(id) ? "a longer or empty string"
                                               : "another JSON type");
    cmd->kind =
        t->action == BATON_TRIGGER_START ? BATON_CMD_START : BATON_CMD_SIGNAL;
    cmd->start_if_absent = t->action == BATON_TRIGGER_START_OR_SIGNAL;
    cmd->sent_at_ms = now_ms;
    cmd->dedupe_window_ms = t->dedupe_window_ms;
    cmd->signal_hold_ms = t->signal_hold_ms;
    cmd->source_partition =
        (int32_t)json_integer_value(json_object_get(event, "partition"));
    cmd->source_offset = json_integer_value(json_object_get(event, "offset"));
    if ((err = map_strdup(&cmd->workflow_id, json_string_value(id))) ||
        (err = map_strdup(&cmd->workflow_type, t->workflow_type)) ||
        (err = map_strdup(&cmd->name, t->signal)) ||
        (err = map_strdup(&cmd->id_reuse, t->id_reuse)) ||
        (err = map_strdup(&cmd->dedupe_id, dedupe)) ||
        (err = map_strdup(&cmd->source_trigger, t->name)) ||
        (err = map_strdup(&cmd->source_topic,
                          json_string_value(json_object_get(event, "topic")))))
        return err;
    if (t->action == BATON_TRIGGER_START)
        return map_json_field(res, "input", payload_max, &cmd->payload, errstr,
                              errlen);
    if ((err = map_json_field(res, "payload", payload_max, &cmd->payload,
                              errstr, errlen)))
        return err;
    if (t->action == BATON_TRIGGER_START_OR_SIGNAL)
        return map_json_field(res, "input", payload_max, &cmd->start_input,
                              errstr, errlen);
    return BATON_OK;
}

baton_err_t baton_bridge_map(const baton_trigger_t *t, json_t *event,
                             int64_t payload_max, int64_t now_ms,
                             baton_command_t *cmd, int *matched, char *errstr,
                             size_t errlen) {
    char why[1024], dedupe[BATON_DEDUPE_ID_MAX + 1], msgid[768];
    json_t *res = NULL, *mid;
    baton_err_t err;
    int ok = 1;

    *matched = 0;
    if (t->filter &&
        (err = baton_asl_rule_eval(t->filter, event, &ok, why, sizeof why)))
        return baton_seterr(errstr, errlen, err, "filter: %s", why);
    if (!ok) return BATON_OK;
    /* the seed needs the dedupe id, which may need the templates: seed
     * from the source coordinates, which a redelivery shares */
    snprintf(dedupe, sizeof dedupe,
             "%s/%s/%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT, t->name,
             json_string_value(json_object_get(event, "topic")),
             json_integer_value(json_object_get(event, "partition")),
             json_integer_value(json_object_get(event, "offset")));
    err = baton_asl_template_eval(t->tmpl, event, NULL, map_seed(dedupe), &res,
                                  why, sizeof why);
    if (err) return baton_seterr(errstr, errlen, err, "template: %s", why);
    if ((mid = json_object_get(res, "message_id"))) {
        if ((err = map_message_id(mid, msgid, sizeof msgid, errstr, errlen))) {
            json_decref(res);
            return err;
        }
        snprintf(dedupe, sizeof dedupe, "%s/msg/%s", t->name, msgid);
    }
    memset(cmd, 0, sizeof *cmd);
    err = map_fill(t, event, res, dedupe, payload_max, now_ms, cmd, errstr,
                   errlen);
    json_decref(res);
    if (err) {
        if (err == BATON_ERR_NOMEM)
            baton_seterr(errstr, errlen, err, "out of memory");
        baton_command_clear(cmd);
        return err;
    }
    *matched = 1;
    return BATON_OK;
}
