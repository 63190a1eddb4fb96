/*
 * mcp_rpc.c -- the JSON-RPC 2.0 layer of the MCP Streamable HTTP
 * transport: requests as text, and the reply to one request found in a
 * response, which a server may send as one JSON message or as an SSE
 * stream carrying notifications (progress, logging) before the reply.
 * Pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "baton_common.h"
#include "mcp.h"
#include "net.h"

char *mcp_rpc_request(int64_t id, const char *method, json_t *params) {
    json_t *m = json_pack("{s:s,s:s}", "jsonrpc", "2.0", "method", method);
    char *s;
    if (!m) {
        json_decref(params);
        return NULL;
    }
    if (id >= 0) json_object_set_new(m, "id", json_integer(id));
    if (params) json_object_set_new(m, "params", params);
    s = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    return s;
}

typedef struct reply_find {
    int64_t id;
    json_t *result, *error;
    int found;
} reply_find_t;

/* Looks at one message (or a batch) for the reply to f->id. */
static void find_in(reply_find_t *f, json_t *msg) {
    json_t *v;
    size_t i;
    if (json_is_array(msg)) {
        json_array_foreach(msg, i, v) if (!f->found) find_in(f, v);
        return;
    }
    v = json_object_get(msg, "id");
    if (!json_is_integer(v) || json_integer_value(v) != f->id) return;
    if (json_object_get(msg, "method")) return; /* a request of the server */
    f->found = 1;
    if ((v = json_object_get(msg, "error")))
        f->error = json_incref(v);
    else if ((v = json_object_get(msg, "result")))
        f->result = json_incref(v);
    else
        f->error = json_pack("{s:i,s:s}", "code", -32603, "message",
                             "a reply with neither result nor error");
}

static int on_event(const char *event, const char *data, size_t len,
                    void *opaque) {
    reply_find_t *f = opaque;
    json_t *msg;
    (void)event;
    if (f->found) return 0;
    if ((msg = json_loadb(data, len, 0, NULL))) {
        find_in(f, msg);
        json_decref(msg);
    }
    return 0;
}

json_t *mcp_rpc_reply(const char *content_type, const char *body, size_t len,
                      int64_t id, json_t **rpc_error, char *errstr,
                      size_t errlen) {
    reply_find_t f = {.id = id};
    *rpc_error = NULL;
    if (content_type && !strncasecmp(content_type, "text/event-stream", 17)) {
        baton_sse_t *p = baton_sse_new(on_event, &f);
        if (!p) {
            snprintf(errstr, errlen, "out of memory");
            return NULL;
        }
        baton_sse_feed(p, body ? body : "", len);
        baton_sse_finish(p);
        baton_sse_destroy(p);
    } else {
        json_t *msg = json_loadb(body ? body : "", len, 0, NULL);
        if (!msg) {
            snprintf(errstr, errlen, "the response (%s, %zu bytes) is not JSON",
                     content_type ? content_type : "no content type", len);
            return NULL;
        }
        find_in(&f, msg);
        json_decref(msg);
    }
    if (!f.found) {
        snprintf(errstr, errlen, "no reply to request %lld in the response",
                 (long long)id);
        return NULL;
    }
    *rpc_error = f.error;
    return f.result;
}
