/*
 * net_call.c -- one HTTP call on a libcurl easy handle, for the network
 * workers: method, URL, headers, body, time-outs, a response size cap,
 * the response headers collected into a JSON object (lower-cased names),
 * the body buffered or handed to a streaming callback, and a tick callback
 * for heartbeats and cancellation.  Redirects are not followed (a worker's
 * host allow-list must see every host it talks to).  Failure texts name
 * the URL's host and curl's reason, never a header value (an API key).
 */
#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "baton_common.h"
#include "net.h"

#define NET_DEFAULT_MAX_BODY (64u << 20)

typedef struct net_ctx {
    const baton_net_req_t *req;
    baton_net_resp_t *resp;
    size_t cap, max_body, seen;
    int too_large, aborted;
} net_ctx_t;

int baton_net_global_init(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void baton_net_global_cleanup(void) {
    curl_global_cleanup();
}

void baton_net_resp_clear(baton_net_resp_t *resp) {
    if (!resp) return;
    json_decref(resp->headers);
    baton_free(resp->body);
    memset(resp, 0, sizeof *resp);
}

static size_t net_on_header(char *buf, size_t size, size_t n, void *opaque) {
    net_ctx_t *c = opaque;
    size_t len = size * n, k;
    char name[128];
    const char *colon = memchr(buf, ':', len), *v, *e;
    if (len >= 5 && !memcmp(buf, "HTTP/", 5)) { /* a new response */
        const char *sp = memchr(buf, ' ', len);
        json_object_clear(c->resp->headers);
        c->resp->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return len;
    }
    if (!colon || (size_t)(colon - buf) >= sizeof name) return len;
    for (k = 0; buf + k < colon; k++)
        name[k] = (char)tolower((unsigned char)buf[k]);
    name[k] = '\0';
    v = colon + 1;
    e = buf + len;
    while (v < e && (*v == ' ' || *v == '\t')) v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ')) e--;
    json_object_set_new(c->resp->headers, name,
                        json_stringn_nocheck(v, (size_t)(e - v)));
    return len;
}

static size_t net_on_write(char *buf, size_t size, size_t n, void *opaque) {
    net_ctx_t *c = opaque;
    size_t len = size * n;
    baton_net_resp_t *r = c->resp;
    c->seen += len;
    if (c->seen > c->max_body) {
        c->too_large = 1;
        return 0;
    }
    if (c->req->on_body && c->resp->status < 300) {
        if (c->req->on_body(buf, len, c->req->opaque)) {
            c->aborted = 1;
            return 0;
        }
        return len;
    }
    if (r->body_len + len + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        char *p;
        while (cap < r->body_len + len + 1) cap *= 2;
        if (!(p = baton_realloc(r->body, cap))) return 0;
        r->body = p;
        c->cap = cap;
    }
    memcpy(r->body + r->body_len, buf, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return len;
}

static int net_on_progress(void *opaque, curl_off_t a, curl_off_t b,
                           curl_off_t cc, curl_off_t d) {
    net_ctx_t *c = opaque;
    (void)a, (void)b, (void)cc, (void)d;
    if (c->req->on_tick && c->req->on_tick(c->req->opaque)) {
        c->aborted = 1;
        return 1;
    }
    return 0;
}

static baton_net_rc_t net_rc_of(CURLcode cc, const net_ctx_t *c) {
    if (c->too_large) return BATON_NET_TOO_LARGE;
    if (c->aborted) return BATON_NET_ABORTED;
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT: return BATON_NET_FAILED_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return BATON_NET_FAILED_CONNECT;
    default: return BATON_NET_FAILED_OTHER;
    }
}

baton_net_rc_t baton_net_call(const baton_net_req_t *req,
                              baton_net_resp_t *resp) {
    net_ctx_t c = {.req = req, .resp = resp};
    struct curl_slist *hl = NULL;
    char errbuf[CURL_ERROR_SIZE] = "", host[256];
    CURL *h;
    CURLcode cc;
    baton_net_rc_t rc;
    const char *method =
        req->method ? req->method : (req->body ? "POST" : "GET");

    memset(resp, 0, sizeof *resp);
    c.max_body = req->max_body ? req->max_body : NET_DEFAULT_MAX_BODY;
    if (!(resp->headers = json_object()) || !(h = curl_easy_init())) {
        snprintf(resp->error, sizeof resp->error, "out of memory");
        return BATON_NET_FAILED_OTHER;
    }
    for (const char *const *p = req->headers; p && *p; p++) {
        struct curl_slist *t = curl_slist_append(hl, *p);
        if (!t) break;
        hl = t;
    }
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD")) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (req->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)req->body_len);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, net_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, net_on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, net_on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &c);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms ? req->connect_timeout_ms
                                             : 10000L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    rc = cc == CURLE_OK ? BATON_NET_DONE : net_rc_of(cc, &c);
    if (rc != BATON_NET_DONE) {
        if (baton_net_url_host(req->url, host, sizeof host)) host[0] = '\0';
        if (rc == BATON_NET_TOO_LARGE)
            snprintf(resp->error, sizeof resp->error,
                     "%.16s %.200s: the response is larger than %zu bytes",
                     method, host, c.max_body);
        else
            snprintf(resp->error, sizeof resp->error, "%.16s %.200s: %.250s",
                     method, host, errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return rc;
}

int baton_net_url_host(const char *url, char *buf, size_t len) {
    const char *p, *e, *at;
    size_t n;
    if (len) buf[0] = '\0';
    if (!strncasecmp(url, "http://", 7))
        p = url + 7;
    else if (!strncasecmp(url, "https://", 8))
        p = url + 8;
    else
        return -1;
    e = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t)(e - p));
    if (at) p = at + 1; /* user:password@ */
    if (*p == '[') {    /* [v6]:port */
        const char *rb = memchr(p, ']', (size_t)(e - p));
        if (!rb) return -1;
        p++;
        n = (size_t)(rb - p);
    } else {
        const char *colon = memchr(p, ':', (size_t)(e - p));
        n = (size_t)((colon ? colon : e) - p);
    }
    if (!n || n >= len) return -1;
    for (size_t i = 0; i < n; i++) buf[i] = (char)tolower((unsigned char)p[i]);
    buf[n] = '\0';
    return 0;
}
