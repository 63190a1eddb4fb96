/*
 * otlp.c -- the OTLP/HTTP JSON span exporter of otlp.h: a bounded queue
 * under a mutex, one sender thread, libcurl.
 */
#include "otlp.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define OTLP_BATCH_MAX 512
#define OTLP_LINGER_MS 500
#define OTLP_TIMEOUT_MS 5000
#define OTLP_DRAIN_MS 2000

struct baton_otlp {
    char *url, *service;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    baton_span_t *q; /* ring of cap spans */
    size_t cap, head, n;
    int stop;
    baton_otlp_stats_t st;
    CURL *curl;
    int failing; /* the last POST failed: log once per streak */
};

/* Discards the response body. */
static size_t otlp_sink(char *p, size_t sz, size_t n, void *ud) {
    (void)p;
    (void)ud;
    return sz * n;
}

/* POSTs one batch; 0 when the collector answered 2xx.  Sender thread. */
static int otlp_post(baton_otlp_t *x, const baton_span_t *spans, size_t n) {
    json_t *body = baton_span_otlp_json(spans, n, x->service);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: "
                                                   "application/json");
    long code = 0;
    CURLcode cc = CURLE_OUT_OF_MEMORY;
    json_decref(body);
    if (text && h) {
        curl_easy_reset(x->curl);
        curl_easy_setopt(x->curl, CURLOPT_URL, x->url);
        curl_easy_setopt(x->curl, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(x->curl, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(x->curl, CURLOPT_TIMEOUT_MS, (long)OTLP_TIMEOUT_MS);
        curl_easy_setopt(x->curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
        curl_easy_setopt(x->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(x->curl, CURLOPT_WRITEFUNCTION, otlp_sink);
        cc = curl_easy_perform(x->curl);
        if (cc == CURLE_OK)
            curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
    }
    curl_slist_free_all(h);
    free(text);
    if (cc == CURLE_OK && code >= 200 && code < 300) {
        if (x->failing)
            BATON_INFO("trace", "OTLP export to %s works again", x->url);
        x->failing = 0;
        return 0;
    }
    if (!x->failing)
        BATON_WARN("trace",
                   "OTLP export to %s failed: %s (HTTP %ld); spans are "
                   "dropped until it works",
                   x->url, cc == CURLE_OK ? "refused" : curl_easy_strerror(cc),
                   code);
    x->failing = 1;
    return -1;
}

static void deadline_in(struct timespec *ts, int64_t ms) {
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* The sender thread: a batch when OTLP_BATCH_MAX spans wait or the oldest
 * waited OTLP_LINGER_MS; on stop, what is left (one try each). */
static void *otlp_main(void *arg) {
    baton_otlp_t *x = arg;
    baton_span_t *batch = baton_calloc(OTLP_BATCH_MAX, sizeof *batch);
    pthread_mutex_lock(&x->mu);
    for (;;) {
        size_t n = 0;
        struct timespec ts;
        if (!x->stop && x->n < OTLP_BATCH_MAX) {
            deadline_in(&ts, OTLP_LINGER_MS);
            while (!x->stop && x->n < OTLP_BATCH_MAX &&
                   pthread_cond_timedwait(&x->cv, &x->mu, &ts) == 0)
                ;
        }
        if (x->stop && x->failing) { /* stopping, collector down: drop */
            x->st.dropped += (int64_t)x->n;
            for (; x->n; x->n--, x->head = (x->head + 1) % x->cap)
                baton_span_clear(&x->q[x->head]);
        }
        if (!x->n && x->stop) break;
        while (batch && x->n && n < OTLP_BATCH_MAX) {
            batch[n++] = x->q[x->head];
            memset(&x->q[x->head], 0, sizeof x->q[x->head]);
            x->head = (x->head + 1) % x->cap;
            x->n--;
        }
        if (!n) continue;
        pthread_mutex_unlock(&x->mu);
        int rc = otlp_post(x, batch, n);
        for (size_t i = 0; i < n; i++) baton_span_clear(&batch[i]);
        pthread_mutex_lock(&x->mu);
        if (rc) {
            x->st.failed++;
            x->st.dropped += (int64_t)n;
        } else {
            x->st.sent += (int64_t)n;
        }
    }
    pthread_mutex_unlock(&x->mu);
    baton_free(batch);
    return NULL;
}

baton_otlp_t *baton_otlp_new(const char *endpoint, const char *service,
                             size_t queue_max, char *errstr, size_t errlen) {
    baton_otlp_t *x = baton_calloc(1, sizeof *x);
    size_t el = strlen(endpoint), suffix = strlen("/v1/traces");
    if (!x) goto nomem;
    x->cap = queue_max ? queue_max : 1;
    x->service = baton_strdup(service);
    x->url = baton_malloc(el + suffix + 2);
    x->q = baton_calloc(x->cap, sizeof *x->q);
    if (!x->service || !x->url || !x->q) goto nomem;
    while (el && endpoint[el - 1] == '/') el--;
    if (el >= suffix && !memcmp(endpoint + el - suffix, "/v1/traces", suffix))
        snprintf(x->url, el + 1, "%s", endpoint);
    else
        snprintf(x->url, el + suffix + 2, "%.*s/v1/traces", (int)el, endpoint);
    if (!(x->curl = curl_easy_init())) {
        baton_seterr(errstr, errlen, BATON_ERR_IO, "OTLP exporter: no curl");
        goto fail;
    }
    pthread_mutex_init(&x->mu, NULL);
    pthread_cond_init(&x->cv, NULL);
    if (pthread_create(&x->thread, NULL, otlp_main, x)) {
        baton_seterr(errstr, errlen, BATON_ERR_IO,
                     "OTLP exporter: cannot start its thread");
        pthread_mutex_destroy(&x->mu);
        pthread_cond_destroy(&x->cv);
        goto fail;
    }
    BATON_INFO("trace", "exporting spans of %s to %s", x->service, x->url);
    return x;
nomem:
    baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "OTLP exporter: no memory");
fail:
    if (x) {
        if (x->curl) curl_easy_cleanup(x->curl);
        baton_free(x->url);
        baton_free(x->service);
        baton_free(x->q);
        baton_free(x);
    }
    return NULL;
}

baton_otlp_t *baton_otlp_from_conf(const baton_conf_t *conf,
                                   const char *default_service, char *errstr,
                                   size_t errlen) {
    const char *ep = baton_conf_get(conf, "tracing.otlp.endpoint");
    const char *svc = baton_conf_get(conf, "tracing.service.name");
    int64_t qmax = baton_conf_get_int(conf, "tracing.queue.max");
    if (errlen) errstr[0] = '\0';
    if (!ep || !*ep) return NULL;
    return baton_otlp_new(ep, svc && *svc ? svc : default_service,
                          qmax > 0 ? (size_t)qmax : 8192, errstr, errlen);
}

void baton_otlp_add(baton_otlp_t *x, baton_span_t *sp) {
    if (!x) {
        baton_span_clear(sp);
        return;
    }
    pthread_mutex_lock(&x->mu);
    if (x->n == x->cap) {
        x->st.dropped++;
        pthread_mutex_unlock(&x->mu);
        baton_span_clear(sp);
        return;
    }
    x->q[(x->head + x->n) % x->cap] = *sp;
    memset(sp, 0, sizeof *sp);
    x->n++;
    x->st.queued++;
    if (x->n >= OTLP_BATCH_MAX) pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

void baton_otlp_stats(baton_otlp_t *x, baton_otlp_stats_t *out) {
    memset(out, 0, sizeof *out);
    if (!x) return;
    pthread_mutex_lock(&x->mu);
    *out = x->st;
    pthread_mutex_unlock(&x->mu);
}

void baton_otlp_destroy(baton_otlp_t *x) {
    baton_otlp_stats_t st;
    if (!x) return;
    pthread_mutex_lock(&x->mu);
    x->stop = 1;
    pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->mu);
    pthread_join(x->thread, NULL);
    st = x->st;
    BATON_INFO("trace",
               "OTLP exporter: %lld spans queued, %lld sent, %lld dropped",
               (long long)st.queued, (long long)st.sent, (long long)st.dropped);
    for (size_t i = 0; i < x->n; i++)
        baton_span_clear(&x->q[(x->head + i) % x->cap]);
    curl_easy_cleanup(x->curl);
    pthread_mutex_destroy(&x->mu);
    pthread_cond_destroy(&x->cv);
    baton_free(x->url);
    baton_free(x->service);
    baton_free(x->q);
    baton_free(x);
}
