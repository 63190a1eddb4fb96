/*
 * http.c -- baton-api's libmicrohttpd handler: the body of a request read
 * up to batond.payload.max (larger: 413 payload_too_large, the rest
 * discarded), the bearer token checked in constant time on /v1/ routes,
 * dispatch by path, and the JSON answer.  Errors are
 * {"error":{"code","message"}} with the stable codes of docs/api.md.
 *
 * Thread: each call runs on its connection's thread.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "baton_common.h"

void api_answer(api_req_t *r, int status, json_t *body) {
    json_decref(r->answer);
    r->status = status;
    r->answer = body;
}

__attribute__((format(printf, 4, 5))) void
api_error(api_req_t *r, int status, const char *code, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    api_answer(r, status,
               json_pack("{s{ss ss}}", "error", "code", code, "message", msg));
}

void api_client_error(api_req_t *r, baton_client_err_t err,
                      const char *errstr) {
    switch (err) {
    case BATON_CLIENT_E_INVALID:
        api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "%s", errstr);
        break;
    case BATON_CLIENT_E_NOT_FOUND:
        api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "%s", errstr);
        break;
    case BATON_CLIENT_E_CONFLICT:
        api_error(r, MHD_HTTP_CONFLICT, "conflict", "%s", errstr);
        break;
    case BATON_CLIENT_E_UNAVAILABLE:
        api_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "%s", errstr);
        break;
    default:
        api_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "%s", errstr);
    }
}

const char *api_query(const api_req_t *r, const char *name) {
    return MHD_lookup_connection_value(r->con, MHD_GET_ARGUMENT_KIND, name);
}

/* 1 when a and b are equal, in time that depends on their lengths only. */
static int api_token_equal(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)a[i] ^ (unsigned char)(lb ? b[i % lb] : 0);
    return d == 0;
}

/* 1 when the request may use /v1/: no token configured, or
 * "Authorization: Bearer <token>". */
static int api_authorized(const api_req_t *r) {
    const char *h;
    if (!r->api->token) return 1;
    h = MHD_lookup_connection_value(r->con, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7)) return 0;
    return api_token_equal(h + 7, r->api->token);
}

/* Answers r (r->status, r->answer). */
static void api_dispatch(api_req_t *r) {
    if (!strcmp(r->url, "/healthz"))
        api_healthz(r);
    else if (!strcmp(r->url, "/readyz"))
        api_readyz(r);
    else if (strncmp(r->url, "/v1/", 4) && strcmp(r->url, "/v1"))
        api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no route %s %s",
                  r->method, r->url);
    else if (!api_authorized(r))
        api_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                  "%s needs the header Authorization: Bearer <api.token>",
                  r->url);
    else if (r->too_large)
        api_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large",
                  "the request body passes %zu bytes (batond.payload.max)",
                  r->api->body_max);
    else
        api_routes_v1(r);
}

/* Queues r's JSON answer. */
static enum MHD_Result api_send(api_req_t *r) {
    char *text = json_dumps(r->answer ? r->answer : json_null(),
                            JSON_COMPACT | JSON_ENCODE_ANY);
    struct MHD_Response *resp;
    enum MHD_Result ret;
    if (!text) return MHD_NO;
    resp = MHD_create_response_from_buffer(strlen(text), text,
                                           MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (r->status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer");
    ret = MHD_queue_response(r->con, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Appends an upload chunk to r->body, or marks the request too large. */
static int api_take_body(api_req_t *r, const char *data, size_t n) {
    char *b;
    if (r->too_large || r->body_len + n > r->api->body_max) {
        r->too_large = 1;
        return 0;
    }
    if (!(b = baton_realloc(r->body, r->body_len + n + 1))) return -1;
    memcpy(b + r->body_len, data, n);
    r->body = b;
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return 0;
}

/* 1 for a path the console serves (GET / and /ui/...). */
static int api_is_console(const char *method, const char *url) {
    return (!strcmp(method, "GET") || !strcmp(method, "HEAD")) &&
           (!strcmp(url, "/") || !strcmp(url, "/ui") ||
            !strncmp(url, "/ui/", 4));
}

enum MHD_Result api_http_handler(void *cls, struct MHD_Connection *con,
                                 const char *url, const char *method,
                                 const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls) {
    api_req_t *r = *con_cls;
    enum MHD_Result ret;
    (void)version;
    if (!r) { /* headers only: set up, read the body in the next calls */
        if (api_is_console(method, url)) return api_console(cls, con, url);
        if (!(r = baton_calloc(1, sizeof *r))) return MHD_NO;
        r->api = cls;
        r->con = con;
        r->method = method;
        r->url = url;
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        if (api_take_body(r, upload, *upload_size)) return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    api_dispatch(r);
    if (!r->answer)
        api_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                  "out of memory");
    ret = api_send(r);
    BATON_DEBUG("http", "%s %s -> %d", method, url, r->status);
    return ret;
}

void api_http_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                        enum MHD_RequestTerminationCode toe) {
    api_req_t *r = *con_cls;
    (void)cls;
    (void)con;
    (void)toe;
    if (!r) return;
    json_decref(r->answer);
    baton_free(r->body);
    baton_free(r);
    *con_cls = NULL;
}
