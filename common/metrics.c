/*
 * metrics.c -- the metrics registry and the Prometheus text format 0.0.4
 * (metrics.h).  Families in an array in registration order, series of a
 * family in an array in first-update order, found by comparing label
 * values (a family has tens of series: queues, types, partitions).  One
 * mutex per registry guards everything.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

const double baton_metrics_latency_buckets[] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1,      2.5,   5,      10,    30,   60,    120,  300, 600};
const size_t baton_metrics_latency_nbuckets =
    BATON_ARRAY_SIZE(baton_metrics_latency_buckets);
const double baton_metrics_size_buckets[] = {
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
const size_t baton_metrics_size_nbuckets =
    BATON_ARRAY_SIZE(baton_metrics_size_buckets);

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } kind_t;

typedef struct series {
    char **lv;         /* [nlabels] label values */
    double value;      /* counter, gauge */
    uint64_t *buckets; /* histogram: [nbounds + 1], not cumulative */
    double sum;
    uint64_t count;
} series_t;

struct baton_metric {
    baton_metrics_t *m;
    kind_t kind;
    char *name, *help;
    char *labels[BATON_METRICS_LABELS_MAX];
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    series_t *series;
    size_t nseries, capseries;
};

struct baton_metrics {
    pthread_mutex_t mu;
    baton_metric_t **fams;
    size_t nfams, capfams;
};

/* ---- registry ------------------------------------------------------------ */

baton_metrics_t *baton_metrics_new(void) {
    baton_metrics_t *m = baton_calloc(1, sizeof *m);
    if (!m) return NULL;
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

static void series_free(baton_metric_t *f, series_t *s) {
    for (size_t i = 0; i < f->nlabels; i++) baton_free(s->lv[i]);
    baton_free(s->lv);
    baton_free(s->buckets);
}

static void family_free(baton_metric_t *f) {
    for (size_t i = 0; i < f->nseries; i++) series_free(f, &f->series[i]);
    for (size_t i = 0; i < f->nlabels; i++) baton_free(f->labels[i]);
    baton_free(f->series);
    baton_free(f->bounds);
    baton_free(f->name);
    baton_free(f->help);
    baton_free(f);
}

void baton_metrics_destroy(baton_metrics_t *m) {
    if (!m) return;
    for (size_t i = 0; i < m->nfams; i++) family_free(m->fams[i]);
    baton_free(m->fams);
    pthread_mutex_destroy(&m->mu);
    baton_free(m);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* (label names: no ':'; "le" is reserved for
 * histograms). */
static int name_valid(const char *s, int label) {
    if (!s || !*s) return 0;
    for (const char *p = s; *p; p++) {
        int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    *p == '_' || (!label && *p == ':');
        int digit = *p >= '0' && *p <= '9';
        if (!alpha && !(digit && p > s)) return 0;
    }
    return 1;
}

/* Splits "a,b" into f->labels; 0, or -1 when a name is not valid. */
static int family_set_labels(baton_metric_t *f, const char *labels) {
    const char *p = labels;
    if (!labels || !*labels) return 0;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (f->nlabels == BATON_METRICS_LABELS_MAX) return -1;
        if (!(f->labels[f->nlabels] = baton_strndup(p, n))) return -1;
        if (!name_valid(f->labels[f->nlabels++], 1)) return -1;
        if (f->kind == KIND_HISTOGRAM &&
            !strcmp(f->labels[f->nlabels - 1], "le"))
            return -1;
        p += n + (e ? 1 : 0);
    }
    return 0;
}

static int same_labels(const baton_metric_t *f, const char *labels) {
    char joined[512] = "";
    size_t off = 0;
    for (size_t i = 0; i < f->nlabels; i++)
        off += (size_t)snprintf(joined + off, sizeof joined - off, "%s%s",
                                i ? "," : "", f->labels[i]);
    return !strcmp(joined, labels ? labels : "");
}

static baton_metric_t *family_add(baton_metrics_t *m, kind_t kind,
                                  const char *name, const char *help,
                                  const char *labels, const double *bounds,
                                  size_t nbounds) {
    baton_metric_t *f = NULL;
    if (!m || !name_valid(name, 0)) return NULL;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nfams; i++)
        if (!strcmp(m->fams[i]->name, name)) {
            f = m->fams[i];
            if (f->kind != kind || !same_labels(f, labels)) f = NULL;
            pthread_mutex_unlock(&m->mu);
            return f;
        }
    if (m->nfams == m->capfams) {
        size_t cap = m->capfams ? 2 * m->capfams : 32;
        baton_metric_t **n = baton_realloc(m->fams, cap * sizeof *n);
        if (!n) goto fail;
        m->fams = n;
        m->capfams = cap;
    }
    if (!(f = baton_calloc(1, sizeof *f))) goto fail;
    f->m = m;
    f->kind = kind;
    f->name = baton_strdup(name);
    f->help = baton_strdup(help ? help : "");
    if (!f->name || !f->help || family_set_labels(f, labels)) goto fail;
    if (kind == KIND_HISTOGRAM) {
        for (size_t i = 1; i < nbounds; i++)
            if (!(bounds[i] > bounds[i - 1])) goto fail;
        if (nbounds && !(f->bounds = baton_malloc(nbounds * sizeof(double))))
            goto fail;
        if (nbounds) memcpy(f->bounds, bounds, nbounds * sizeof(double));
        f->nbounds = nbounds;
    }
    m->fams[m->nfams++] = f;
    pthread_mutex_unlock(&m->mu);
    return f;
fail:
    if (f) family_free(f);
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

baton_metric_t *baton_metrics_counter(baton_metrics_t *m, const char *name,
                                      const char *help, const char *labels) {
    return family_add(m, KIND_COUNTER, name, help, labels, NULL, 0);
}

baton_metric_t *baton_metrics_gauge(baton_metrics_t *m, const char *name,
                                    const char *help, const char *labels) {
    return family_add(m, KIND_GAUGE, name, help, labels, NULL, 0);
}

baton_metric_t *baton_metrics_histogram(baton_metrics_t *m, const char *name,
                                        const char *help, const char *labels,
                                        const double *bounds, size_t nbounds) {
    return family_add(m, KIND_HISTOGRAM, name, help, labels, bounds, nbounds);
}

/* ---- series -------------------------------------------------------------- */

/* The series of lv, created when missing; NULL on out of memory or past
 * the cardinality guard.  Under f->m->mu. */
static series_t *series_get(baton_metric_t *f, const char *const *lv,
                            int create) {
    series_t *s;
    for (size_t i = 0; i < f->nseries; i++) {
        size_t j = 0;
        s = &f->series[i];
        while (j < f->nlabels && !strcmp(s->lv[j], lv[j] ? lv[j] : "")) j++;
        if (j == f->nlabels) return s;
    }
    if (!create || f->nseries >= BATON_METRICS_SERIES_MAX) return NULL;
    if (f->nseries == f->capseries) {
        size_t cap = f->capseries ? 2 * f->capseries : 4;
        series_t *n = baton_realloc(f->series, cap * sizeof *n);
        if (!n) return NULL;
        f->series = n;
        f->capseries = cap;
    }
    s = &f->series[f->nseries];
    memset(s, 0, sizeof *s);
    if (f->nlabels && !(s->lv = baton_calloc(f->nlabels, sizeof(char *))))
        return NULL;
    for (size_t j = 0; j < f->nlabels; j++)
        if (!(s->lv[j] = baton_strdup(lv[j] ? lv[j] : ""))) {
            series_free(f, s);
            return NULL;
        }
    if (f->kind == KIND_HISTOGRAM &&
        !(s->buckets = baton_calloc(f->nbounds + 1, sizeof(uint64_t)))) {
        series_free(f, s);
        return NULL;
    }
    f->nseries++;
    return s;
}

void baton_metric_add(baton_metric_t *f, const char *const *lv, double v) {
    series_t *s;
    if (!f || f->kind == KIND_HISTOGRAM || (f->nlabels && !lv)) return;
    if (f->kind == KIND_COUNTER && !(v >= 0)) return;
    pthread_mutex_lock(&f->m->mu);
    if ((s = series_get(f, lv, 1))) s->value += v;
    pthread_mutex_unlock(&f->m->mu);
}

void baton_metric_set(baton_metric_t *f, const char *const *lv, double v) {
    series_t *s;
    if (!f || f->kind == KIND_HISTOGRAM || (f->nlabels && !lv)) return;
    pthread_mutex_lock(&f->m->mu);
    if ((s = series_get(f, lv, 1)) && (f->kind == KIND_GAUGE || v >= s->value))
        s->value = v;
    pthread_mutex_unlock(&f->m->mu);
}

void baton_metric_observe(baton_metric_t *f, const char *const *lv, double v) {
    series_t *s;
    size_t b = 0;
    if (!f || f->kind != KIND_HISTOGRAM || (f->nlabels && !lv) || isnan(v))
        return;
    while (b < f->nbounds && v > f->bounds[b]) b++;
    pthread_mutex_lock(&f->m->mu);
    if ((s = series_get(f, lv, 1))) {
        s->buckets[b]++;
        s->sum += v;
        s->count++;
    }
    pthread_mutex_unlock(&f->m->mu);
}

void baton_metric_clear(baton_metric_t *f) {
    if (!f) return;
    pthread_mutex_lock(&f->m->mu);
    for (size_t i = 0; i < f->nseries; i++) series_free(f, &f->series[i]);
    f->nseries = 0;
    pthread_mutex_unlock(&f->m->mu);
}

void baton_metric_clear_where(baton_metric_t *f, const char *label,
                              const char *value) {
    size_t li = 0, kept = 0;
    if (!f) return;
    while (li < f->nlabels && strcmp(f->labels[li], label)) li++;
    if (li == f->nlabels) return;
    pthread_mutex_lock(&f->m->mu);
    for (size_t i = 0; i < f->nseries; i++) {
        if (!strcmp(f->series[i].lv[li], value))
            series_free(f, &f->series[i]);
        else
            f->series[kept++] = f->series[i];
    }
    f->nseries = kept;
    pthread_mutex_unlock(&f->m->mu);
}

double baton_metric_get(baton_metric_t *f, const char *const *lv) {
    series_t *s;
    double v = 0;
    if (!f || (f->nlabels && !lv)) return 0;
    pthread_mutex_lock(&f->m->mu);
    if ((s = series_get(f, lv, 0)))
        v = f->kind == KIND_HISTOGRAM ? (double)s->count : s->value;
    pthread_mutex_unlock(&f->m->mu);
    return v;
}

void baton_metrics_build_info(baton_metrics_t *m, const char *program) {
    baton_metric_t *f = baton_metrics_gauge(
        m, "baton_build_info",
        "Always 1; the labels say which Baton version this process runs.",
        "version,program");
    baton_metric_set(f, BATON_LV(BATON_VERSION, program), 1);
}

/* ---- the text format ----------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
    int oom;
} buf_t;

static void buf_put(buf_t *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *np;
        while (b->len + n + 1 > cap) cap *= 2;
        if (!(np = baton_realloc(b->p, cap))) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(buf_t *b, const char *s) {
    buf_put(b, s, strlen(s));
}

/* Escapes \ and newline (and " in label values). */
static void buf_escaped(buf_t *b, const char *s, int quote) {
    for (; *s; s++) {
        if (*s == '\\')
            buf_put(b, "\\\\", 2);
        else if (*s == '\n')
            buf_put(b, "\\n", 2);
        else if (*s == '"' && quote)
            buf_put(b, "\\\"", 2);
        else
            buf_put(b, s, 1);
    }
}

/* A float as Prometheus reads it: +Inf, -Inf, NaN, else the shortest of
 * %.15g / %.17g that reads back exactly. */
static void buf_double(buf_t *b, double v) {
    char t[64];
    if (isnan(v))
        snprintf(t, sizeof t, "NaN");
    else if (isinf(v))
        snprintf(t, sizeof t, "%sInf", v > 0 ? "+" : "-");
    else {
        snprintf(t, sizeof t, "%.15g", v);
        if (strtod(t, NULL) != v) snprintf(t, sizeof t, "%.17g", v);
    }
    buf_str(b, t);
}

static void buf_u64(buf_t *b, uint64_t v) {
    char t[32];
    snprintf(t, sizeof t, "%llu", (unsigned long long)v);
    buf_str(b, t);
}

/* name{l1="v1",...[,le="x"]} -- le: NULL for none. */
static void buf_series_name(buf_t *b, const baton_metric_t *f,
                            const series_t *s, const char *suffix,
                            const char *le) {
    buf_str(b, f->name);
    buf_str(b, suffix);
    if (!f->nlabels && !le) return;
    buf_str(b, "{");
    for (size_t i = 0; i < f->nlabels; i++) {
        if (i) buf_str(b, ",");
        buf_str(b, f->labels[i]);
        buf_str(b, "=\"");
        buf_escaped(b, s->lv[i], 1);
        buf_str(b, "\"");
    }
    if (le) {
        if (f->nlabels) buf_str(b, ",");
        buf_str(b, "le=\"");
        buf_str(b, le);
        buf_str(b, "\"");
    }
    buf_str(b, "}");
}

static void render_histogram(buf_t *b, const baton_metric_t *f,
                             const series_t *s) {
    uint64_t cum = 0;
    char le[64];
    for (size_t i = 0; i <= f->nbounds; i++) {
        buf_t lb = {0};
        cum += s->buckets[i];
        if (i < f->nbounds) {
            buf_double(&lb, f->bounds[i]);
            snprintf(le, sizeof le, "%s", lb.p ? lb.p : "");
            baton_free(lb.p);
        } else
            snprintf(le, sizeof le, "+Inf");
        buf_series_name(b, f, s, "_bucket", le);
        buf_str(b, " ");
        buf_u64(b, cum);
        buf_str(b, "\n");
    }
    buf_series_name(b, f, s, "_sum", NULL);
    buf_str(b, " ");
    buf_double(b, s->sum);
    buf_str(b, "\n");
    buf_series_name(b, f, s, "_count", NULL);
    buf_str(b, " ");
    buf_u64(b, s->count);
    buf_str(b, "\n");
}

static void render_family(buf_t *b, const baton_metric_t *f) {
    static const char *const types[] = {"counter", "gauge", "histogram"};
    if (f->help[0]) {
        buf_str(b, "# HELP ");
        buf_str(b, f->name);
        buf_str(b, " ");
        buf_escaped(b, f->help, 0);
        buf_str(b, "\n");
    }
    buf_str(b, "# TYPE ");
    buf_str(b, f->name);
    buf_str(b, " ");
    buf_str(b, types[f->kind]);
    buf_str(b, "\n");
    for (size_t i = 0; i < f->nseries; i++) {
        const series_t *s = &f->series[i];
        if (f->kind == KIND_HISTOGRAM) {
            render_histogram(b, f, s);
            continue;
        }
        buf_series_name(b, f, s, "", NULL);
        buf_str(b, " ");
        buf_double(b, s->value);
        buf_str(b, "\n");
    }
}

char *baton_metrics_render(baton_metrics_t *m, size_t *len) {
    buf_t b = {0};
    pthread_mutex_lock(&m->mu);
    buf_put(&b, "", 0);
    for (size_t i = 0; i < m->nfams; i++) render_family(&b, m->fams[i]);
    pthread_mutex_unlock(&m->mu);
    if (b.oom) {
        baton_free(b.p);
        return NULL;
    }
    if (len) *len = b.len;
    return b.p;
}
