/*
 * httpd.c -- the operations endpoint (httpd.h) on libmicrohttpd: one
 * internal polling thread answers /metrics, /healthz, /readyz and
 * /metrics/backlog.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>
#include <microhttpd.h>

#include "httpd.h"

struct baton_httpd {
    struct MHD_Daemon *d;
    baton_httpd_conf_t conf;
    char *listen;
    _Atomic int64_t beat_us;
};

int baton_httpd_parse_listen(const char *listen, char *host, size_t hostlen,
                             int *port) {
    const char *colon, *h = listen;
    size_t n;
    int64_t p;
    if (!listen || !*listen) return -1;
    if (*h == '[') {
        const char *e = strchr(h, ']');
        if (!e || e[1] != ':') return -1;
        h++;
        n = (size_t)(e - h);
        colon = e + 1;
    } else {
        if (!(colon = strrchr(h, ':'))) return -1;
        n = (size_t)(colon - h);
    }
    if (n == 0 || n >= hostlen) return -1;
    memcpy(host, h, n);
    host[n] = '\0';
    if (baton_parse_i64(colon + 1, &p) || p < 0 || p > 65535) return -1;
    *port = (int)p;
    return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
                             const char *type, char *body, size_t len) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int status,
                                  const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int status,
                                  const char *fmt, ...) {
    char body[1024];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof body) n = sizeof body - 1;
    return reply(c, status, "text/plain; charset=utf-8", body, (size_t)n);
}

static enum MHD_Result serve_metrics(baton_httpd_t *h,
                                     struct MHD_Connection *c) {
    size_t len;
    char *text = baton_metrics_render(h->conf.metrics, &len);
    enum MHD_Result ret;
    if (!text) return reply_text(c, 500, "out of memory\n");
    ret = reply(c, 200, BATON_METRICS_CONTENT_TYPE, text, len);
    baton_free(text);
    return ret;
}

static enum MHD_Result serve_live(baton_httpd_t *h, struct MHD_Connection *c) {
    int64_t age_ms = (baton_mono_us() - atomic_load(&h->beat_us)) / 1000;
    if (age_ms <= h->conf.live_timeout_ms) return reply_text(c, 200, "ok\n");
    return reply_text(c, 503,
                      "main loop stalled: last ran %lld ms ago (limit %lld)\n",
                      (long long)age_ms, (long long)h->conf.live_timeout_ms);
}

static enum MHD_Result serve_ready(baton_httpd_t *h, struct MHD_Connection *c) {
    char why[512] = "not ready";
    if (!h->conf.ready || h->conf.ready(h->conf.ready_ctx, why, sizeof why))
        return reply_text(c, 200, "ready\n");
    return reply_text(c, 503, "not ready: %s\n", why);
}

static enum MHD_Result serve_backlog(baton_httpd_t *h,
                                     struct MHD_Connection *c) {
    const char *q =
        MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "queue");
    json_t *o;
    char *text;
    enum MHD_Result ret;
    if (!h->conf.backlog)
        return reply_text(c, 404, "this process has no backlog\n");
    if (!q || !*q)
        return reply(c, 400, "application/json",
                     "{\"error\":\"missing query parameter queue\"}", 41);
    o = json_pack("{sssI}", "queue", q, "backlog",
                  (json_int_t)h->conf.backlog(h->conf.backlog_ctx, q));
    text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) return reply_text(c, 500, "out of memory\n");
    ret = reply(c, 200, "application/json", text, strlen(text));
    free(text);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
    baton_httpd_t *h = cls;
    (void)version;
    (void)upload;
    (void)con_cls;
    if (*upload_size) return MHD_NO; /* no bodies */
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return reply_text(c, 405, "only GET\n");
    if (!strcmp(url, "/metrics")) return serve_metrics(h, c);
    if (!strcmp(url, "/healthz")) return serve_live(h, c);
    if (!strcmp(url, "/readyz")) return serve_ready(h, c);
    if (!strcmp(url, "/metrics/backlog")) return serve_backlog(h, c);
    return reply_text(c, 404,
                      "not found: /metrics /healthz /readyz "
                      "/metrics/backlog?queue=Q\n");
}

/* host:port to a socket address (numeric or resolved). */
static int resolve(const char *listen, struct sockaddr_storage *sa,
                   char *errstr, size_t errlen) {
    char host[256], port[16];
    int p, rc;
    struct addrinfo hints = {0}, *ai = NULL;
    if (baton_httpd_parse_listen(listen, host, sizeof host, &p))
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "metrics listen '%s': want host:port", listen);
    snprintf(port, sizeof port, "%d", p);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if ((rc = getaddrinfo(host, port, &hints, &ai)) || !ai) {
        if (ai) freeaddrinfo(ai);
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "metrics listen '%s': %s", listen,
                            gai_strerror(rc));
    }
    memcpy(sa, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

baton_httpd_t *baton_httpd_start(const baton_httpd_conf_t *conf, char *errstr,
                                 size_t errlen) {
    struct sockaddr_storage sa = {0};
    baton_httpd_t *h;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (resolve(conf->listen, &sa, errstr, errlen)) return NULL;
    if (!(h = baton_calloc(1, sizeof *h)) ||
        !(h->listen = baton_strdup(conf->listen))) {
        baton_free(h);
        baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
        return NULL;
    }
    h->conf = *conf;
    h->conf.listen = h->listen;
    if (h->conf.live_timeout_ms <= 0) h->conf.live_timeout_ms = 60000;
    atomic_store(&h->beat_us, baton_mono_us());
    if (sa.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    h->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64, MHD_OPTION_END);
    if (!h->d) {
        baton_seterr(errstr, errlen, BATON_ERR_IO,
                     "metrics listen '%s': cannot bind (in use, or not an "
                     "address of this host?)",
                     conf->listen);
        baton_free(h->listen);
        baton_free(h);
        return NULL;
    }
    BATON_INFO("httpd", "metrics and health on http://%s", h->listen);
    return h;
}

void baton_httpd_beat(baton_httpd_t *h) {
    if (h) atomic_store(&h->beat_us, baton_mono_us());
}

void baton_httpd_stop(baton_httpd_t *h) {
    if (!h) return;
    MHD_stop_daemon(h->d);
    baton_free(h->listen);
    baton_free(h);
}
