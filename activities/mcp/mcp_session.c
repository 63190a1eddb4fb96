/*
 * mcp_session.c -- the Streamable HTTP transport of MCP (spec revision
 * 2025-06-18) for baton-worker-mcp: every JSON-RPC message is a POST to
 * the server's one endpoint with "Accept: application/json,
 * text/event-stream"; the answer is JSON or an SSE stream (mcp_rpc.c).
 * The first request is initialize; the server may answer with an
 * Mcp-Session-Id header, which every later request carries (with
 * MCP-Protocol-Version), after a notifications/initialized.  One session
 * serves all the worker's threads; when the server no longer knows it
 * (404, or 400 as some servers answer), a new one is made and the request
 * sent once more.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton_common.h"
#include "mcp.h"

struct mcp_client {
    char *url;
    long timeout_ms;
    pthread_mutex_t lock; /* guards session, version, ready */
    char session[256];
    char version[32];
    int ready;       /* initialized (with or without a session id) */
    int64_t next_id; /* atomic */
};

__attribute__((format(printf, 4, 5))) static void
set_err(mcp_error_t *e, const char *name, int retryable, const char *fmt, ...) {
    va_list ap;
    snprintf(e->name, sizeof e->name, "%s", name);
    e->retryable = retryable;
    e->retry_after_ms = 0;
    va_start(ap, fmt);
    vsnprintf(e->cause, sizeof e->cause, fmt, ap);
    va_end(ap);
}

mcp_client_t *mcp_client_new(const char *url, long timeout_ms) {
    mcp_client_t *c = baton_calloc(1, sizeof *c);
    if (!c || !(c->url = baton_strdup(url))) {
        baton_free(c);
        return NULL;
    }
    c->timeout_ms = timeout_ms;
    c->next_id = 1;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void mcp_client_destroy(mcp_client_t *c) {
    if (!c) return;
    pthread_mutex_destroy(&c->lock);
    baton_free(c->url);
    baton_free(c);
}

/* One POST of text with session (may be "") and version.  Returns the
 * status (the response in resp, to clear), or -1 with e set. */
static long post(mcp_client_t *c, const char *text, const char *session,
                 const char *version, baton_net_tick_fn tick, void *opaque,
                 baton_net_resp_t *resp, mcp_error_t *e) {
    char sh[300], vh[64];
    const char *headers[] = {"Content-Type: application/json",
                             "Accept: application/json, text/event-stream",
                             NULL, NULL, NULL};
    size_t n = 2;
    baton_net_req_t req = {0};
    baton_net_rc_t rc;
    if (*session) {
        snprintf(sh, sizeof sh, "Mcp-Session-Id: %s", session);
        headers[n++] = sh;
    }
    if (*version) {
        snprintf(vh, sizeof vh, "MCP-Protocol-Version: %s", version);
        headers[n++] = vh;
    }
    req.method = "POST";
    req.url = c->url;
    req.headers = headers;
    req.body = text;
    req.body_len = strlen(text);
    req.timeout_ms = c->timeout_ms;
    req.on_tick = tick;
    req.opaque = opaque;
    rc = baton_net_call(&req, resp);
    if (rc == BATON_NET_DONE) return resp->status;
    if (rc == BATON_NET_ABORTED)
        set_err(e, "MCP.Aborted", 1, "%s", resp->error);
    else if (rc == BATON_NET_FAILED_TIMEOUT)
        set_err(e, "MCP.Timeout", 1, "%s", resp->error);
    else if (rc == BATON_NET_TOO_LARGE)
        set_err(e, "MCP.BadResponse", 0, "%s", resp->error);
    else
        set_err(e, "MCP.ConnectionError", 1, "%s", resp->error);
    baton_net_resp_clear(resp);
    return -1;
}

static void http_err(long status, const baton_net_resp_t *r, const char *what,
                     mcp_error_t *e) {
    baton_net_kind_t k = baton_net_kind_of_status(status);
    char name[64];
    snprintf(name, sizeof name, "MCP.%s", baton_net_kind_name(k));
    set_err(e, name, baton_net_kind_retryable(k), "%s: status %ld: %.300s",
            what, status, r->body ? r->body : "");
    if (e->retryable)
        e->retry_after_ms = baton_net_retry_hint_ms(r->headers, baton_now_ms());
}

/* Sends one request and reads its reply: the result, or NULL with e set;
 * *status gets the HTTP status (0 when none). */
static json_t *exchange(mcp_client_t *c, const char *method, json_t *params,
                        const char *session, const char *version,
                        baton_net_tick_fn tick, void *opaque, long *status,
                        json_t **session_hdr, mcp_error_t *e) {
    int64_t id = __atomic_fetch_add(&c->next_id, 1, __ATOMIC_RELAXED);
    char *text = mcp_rpc_request(id, method, params), err[256];
    baton_net_resp_t resp;
    json_t *result = NULL, *rpc_err = NULL;
    *status = 0;
    if (!text) {
        set_err(e, "MCP.OutOfMemory", 1, "building %s", method);
        return NULL;
    }
    *status = post(c, text, session, version, tick, opaque, &resp, e);
    free(text);
    if (*status < 0) {
        *status = 0;
        return NULL;
    }
    if (*status >= 300) {
        http_err(*status, &resp, method, e);
    } else if (!(result = mcp_rpc_reply(json_string_value(json_object_get(
                                            resp.headers, "content-type")),
                                        resp.body, resp.body_len, id, &rpc_err,
                                        err, sizeof err))) {
        if (rpc_err) {
            set_err(
                e, "MCP.RpcError", 0, "%s: error %lld: %.300s", method,
                (long long)json_integer_value(json_object_get(rpc_err, "code")),
                json_string_value(json_object_get(rpc_err, "message"))
                    ? json_string_value(json_object_get(rpc_err, "message"))
                    : "");
            json_decref(rpc_err);
        } else {
            set_err(e, "MCP.BadResponse", 1, "%s: %s", method, err);
        }
    }
    if (session_hdr && json_object_get(resp.headers, "mcp-session-id"))
        *session_hdr =
            json_incref(json_object_get(resp.headers, "mcp-session-id"));
    baton_net_resp_clear(&resp);
    return result;
}

/* Initializes a session (c->lock held).  0, or -1 with e set. */
static int initialize(mcp_client_t *c, baton_net_tick_fn tick, void *opaque,
                      mcp_error_t *e) {
    json_t *sid = NULL, *res;
    long status;
    const char *v;
    char *note;
    baton_net_resp_t resp;
    res = exchange(c, "initialize",
                   json_pack("{s:s,s:{},s:{s:s,s:s}}", "protocolVersion",
                             MCP_PROTOCOL_VERSION, "capabilities", "clientInfo",
                             "name", "baton-worker-mcp", "version", "1.0"),
                   "", "", tick, opaque, &status, &sid, e);
    if (!res) {
        json_decref(sid);
        return -1;
    }
    v = json_string_value(json_object_get(res, "protocolVersion"));
    snprintf(c->version, sizeof c->version, "%s", v ? v : MCP_PROTOCOL_VERSION);
    snprintf(c->session, sizeof c->session, "%s",
             sid ? json_string_value(sid) : "");
    json_decref(sid);
    json_decref(res);
    note = mcp_rpc_request(-1, "notifications/initialized", NULL);
    if (!note) {
        set_err(e, "MCP.OutOfMemory", 1, "notifications/initialized");
        return -1;
    }
    status = post(c, note, c->session, c->version, tick, opaque, &resp, e);
    free(note);
    if (status < 0) return -1;
    if (status >= 300) {
        http_err(status, &resp, "notifications/initialized", e);
        baton_net_resp_clear(&resp);
        return -1;
    }
    baton_net_resp_clear(&resp);
    c->ready = 1;
    BATON_INFO("mcp", "session %s with %s (protocol %s)",
               *c->session ? c->session : "(none: stateless server)", c->url,
               c->version);
    return 0;
}

json_t *mcp_client_call(mcp_client_t *c, const char *method, json_t *params,
                        baton_net_tick_fn tick, void *opaque, mcp_error_t *e) {
    char session[256], version[32];
    json_t *res = NULL;
    memset(e, 0, sizeof *e);
    for (int round = 0; round < 2; round++) {
        long status;
        pthread_mutex_lock(&c->lock);
        if (!c->ready && initialize(c, tick, opaque, e)) {
            pthread_mutex_unlock(&c->lock);
            break;
        }
        snprintf(session, sizeof session, "%s", c->session);
        snprintf(version, sizeof version, "%s", c->version);
        pthread_mutex_unlock(&c->lock);
        res = exchange(c, method, json_incref(params), session, version, tick,
                       opaque, &status, NULL, e);
        if (res || !*session || (status != 404 && status != 400)) break;
        /* The server forgot the session (restarted, expired): a new one. */
        pthread_mutex_lock(&c->lock);
        if (!strcmp(c->session, session)) c->ready = 0;
        pthread_mutex_unlock(&c->lock);
        BATON_INFO("mcp", "session %s refused (status %ld): a new session",
                   session, status);
    }
    json_decref(params);
    return res;
}
