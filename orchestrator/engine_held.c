/*
 * engine_held.c -- signals held for a run that has not started yet, and
 * what a command leaves in the history about who sent it (engine.h,
 * engine_int.h).
 *
 * A SIGNAL for a workflow id with no snapshot does not go to the DLQ: it
 * is held in a snapshot of status HELD (type and version "", no history)
 * under the id, in the partition's Redis state like any snapshot, written
 * in the same fenced batch write.  Each held signal keeps its payload, its
 * source and the time its hold ends (`until`: the command's signal_hold_ms,
 * else batond.signal.hold.ms).  One 'h' timer per id, due at the earliest
 * `until`, sends the signals whose hold ran out to the DLQ as SIGNAL
 * commands (JSON, reason in baton-error); when none is left the HELD
 * snapshot is deleted (store.c).
 *
 * A run that starts on the id (START, or a SIGNAL with start_if_absent)
 * takes the held signals over, oldest first, as signals received before
 * any wait (the snapshot's `sig` buffer): each is recorded as
 * SignalReceived with "held": true right after WorkflowStarted, and the
 * first wait for its name takes it.  The 'h' timer is removed then.
 */
#include "engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *baton_engine_cmd_source(const baton_command_t *cmd) {
    json_t *o;
    if (!cmd->request_id && !cmd->dedupe_id && !cmd->source_trigger &&
        !cmd->source_topic)
        return NULL;
    if (!(o = json_object())) return NULL;
    if (cmd->request_id)
        json_object_set_new(o, "request_id", json_string(cmd->request_id));
    if (cmd->dedupe_id)
        json_object_set_new(o, "dedupe_id", json_string(cmd->dedupe_id));
    if (cmd->source_trigger)
        json_object_set_new(o, "trigger", json_string(cmd->source_trigger));
    if (cmd->source_topic) {
        json_object_set_new(o, "topic", json_string(cmd->source_topic));
        json_object_set_new(o, "partition",
                            json_integer(cmd->source_partition));
        json_object_set_new(o, "offset", json_integer(cmd->source_offset));
    }
    return o;
}

/* Arms (or moves) the id's 'h' timer at the earliest `until` of its held
 * signals; pend_due_ms remembers where it is. */
static baton_err_t arm_expiry(baton_snapshot_t *s, baton_wset_t *ws) {
    char member[600];
    int64_t first = INT64_MAX;
    size_t i;
    json_t *h;
    json_array_foreach(s->held, i, h) {
        int64_t u = json_integer_value(json_object_get(h, "until"));
        if (u < first) first = u;
    }
    baton_engine_timer_member(member, sizeof member, 'h', 0, 0, s->id);
    if (first == INT64_MAX) {
        s->pend_due_ms = 0;
        return baton_wset_timer_del(ws, member);
    }
    if (s->pend_due_ms == first) return BATON_OK;
    s->pend_due_ms = first;
    return baton_wset_timer_add(ws, member, first);
}

baton_err_t baton_engine_hold_signal(baton_engine_t *e, baton_snapshot_t **snap,
                                     const baton_command_t *cmd,
                                     json_t *payload, int64_t now,
                                     baton_wset_t *ws) {
    baton_snapshot_t *s = *snap;
    int64_t hold =
        cmd->signal_hold_ms > 0 ? cmd->signal_hold_ms : e->signal_hold_ms;
    json_t *entry, *src;
    baton_err_t rc;

    if (!s) {
        if (!(s = baton_snapshot_new())) {
            json_decref(payload);
            return BATON_ERR_NOMEM;
        }
        s->id = baton_strdup(cmd->workflow_id);
        s->type = baton_strdup("");
        s->ver = baton_strdup("");
        s->status = BATON_WF_HELD;
        s->started_ms = now;
        if (!s->id || !s->type || !s->ver) {
            baton_snapshot_destroy(s);
            json_decref(payload);
            return BATON_ERR_NOMEM;
        }
        *snap = s;
    }
    if (!s->held && !(s->held = json_array())) {
        json_decref(payload);
        return BATON_ERR_NOMEM;
    }
    entry =
        json_pack("{sssosIsI}", "n", cmd->name, "p", payload, "until",
                  (json_int_t)baton_time_add(now, hold), "t0", (json_int_t)now);
    if (!entry) return BATON_ERR_NOMEM;
    if ((src = baton_engine_cmd_source(cmd)))
        json_object_set_new(entry, "src", src);
    if (json_array_append_new(s->held, entry)) return BATON_ERR_NOMEM;
    BATON_DEBUG("engine",
                "signal '%s' held for '%s' (no run yet) for %lld "
                "ms",
                cmd->name, s->id, (long long)hold);
    if ((rc = baton_wset_snapshot(ws, s))) return rc;
    return arm_expiry(s, ws);
}

baton_err_t baton_engine_held_deliver(baton_engine_t *e, baton_snapshot_t *s,
                                      json_t *held, int64_t now,
                                      baton_wset_t *ws) {
    size_t i;
    json_t *h;
    baton_err_t rc = BATON_OK;
    json_array_foreach(held, i, h) {
        const char *name = json_string_value(json_object_get(h, "n"));
        json_t *payload = json_object_get(h, "p");
        json_t *data;
        if (!name) continue; /* cannot happen: hold_signal wrote it */
        data = json_pack("{sssOsbsI}", "name", name, "payload",
                         payload ? payload : json_null(), "held", 1, "received",
                         json_object_get(h, "t0")
                             ? json_integer_value(json_object_get(h, "t0"))
                             : 0);
        if (data && json_object_get(h, "src"))
            json_object_set(data, "source", json_object_get(h, "src"));
        if ((rc = baton_engine_emit(e, s, ws, "SignalReceived", NULL, data, now,
                                    0)))
            break;
        if ((rc = baton_engine_buffer_signal(
                 s, name, json_incref(payload ? payload : json_null()))))
            break;
    }
    json_decref(held);
    return rc;
}

/* One held signal whose hold ran out, to the DLQ as the SIGNAL it was. */
static baton_err_t expire_one(baton_engine_t *e, baton_snapshot_t *s, json_t *h,
                              int64_t now, baton_wset_t *ws) {
    baton_command_t c = {0};
    json_t *src = json_object_get(h, "src");
    char *payload =
        json_dumps(json_object_get(h, "p"), JSON_COMPACT | JSON_ENCODE_ANY);
    char *buf = NULL, err[256], why[512];
    size_t len;
    baton_err_t rc;

    c.kind = BATON_CMD_SIGNAL;
    c.workflow_id = s->id;
    c.name = (char *)json_string_value(json_object_get(h, "n"));
    c.payload = payload;
    c.request_id =
        (char *)json_string_value(json_object_get(src, "request_id"));
    c.dedupe_id = (char *)json_string_value(json_object_get(src, "dedupe_id"));
    c.source_trigger =
        (char *)json_string_value(json_object_get(src, "trigger"));
    c.source_topic = (char *)json_string_value(json_object_get(src, "topic"));
    c.source_partition =
        (int32_t)json_integer_value(json_object_get(src, "partition"));
    c.source_offset = json_integer_value(json_object_get(src, "offset"));
    rc = baton_codec_encode_command(e->codec, &c, 1, &buf, &len, err,
                                    sizeof err);
    free(payload);
    if (rc) return rc == BATON_ERR_NOMEM ? rc : BATON_OK; /* cannot happen */
    snprintf(why, sizeof why,
             "signal '%s' for '%s' held %lld ms: no run of that id started",
             c.name ? c.name : "?", s->id,
             (long long)(now - json_integer_value(json_object_get(h, "t0"))));
    BATON_WARN("engine", "to DLQ: %s", why);
    if ((rc = baton_wset_msg(ws, e->topic_dlq, -1, s->id, 1, buf, len)))
        return rc;
    return (ws->out[ws->nout - 1].error = baton_strdup(why)) ? BATON_OK
                                                             : BATON_ERR_NOMEM;
}

baton_err_t baton_engine_held_expire(baton_engine_t *e, baton_snapshot_t *s,
                                     int64_t now, baton_wset_t *ws) {
    baton_err_t rc;
    if (s->status != BATON_WF_HELD || !s->held) return BATON_OK; /* started */
    s->pend_due_ms = 0; /* the timer that fired is gone */
    for (size_t i = 0; i < json_array_size(s->held);) {
        json_t *h = json_array_get(s->held, i);
        if (json_integer_value(json_object_get(h, "until")) > now) {
            i++;
            continue;
        }
        if ((rc = expire_one(e, s, h, now, ws))) return rc;
        json_array_remove(s->held, i);
    }
    if ((rc = baton_wset_snapshot(ws, s))) return rc; /* none left: DEL */
    return arm_expiry(s, ws);
}
