/*
 * outbox.c -- encoding and decoding outbox records (outbox.h has the
 * format).
 */
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void baton_outbox_msg_clear(baton_outbox_msg_t *m) {
    baton_free(m->id);
    baton_free(m->topic);
    baton_free(m->key);
    baton_free(m->error);
    baton_free(m->value);
    baton_free(m->traceparent);
    baton_free(m->tracestate);
    memset(m, 0, sizeof *m);
}

char *baton_outbox_encode(const baton_outbox_msg_t *m, size_t *len) {
    size_t tl = strlen(m->topic), kl = m->key ? strlen(m->key) : 0,
           el = m->error ? strlen(m->error) : 0;
    const char *tp = m->traceparent, *ts = m->tracestate ? m->tracestate : "";
    size_t cap = tl + kl + el + m->value_len + 96 +
                 (tp ? strlen(tp) + strlen(ts) + 48 : 0);
    char *rec = baton_malloc(cap);
    int n, k;
    if (!rec) return NULL;
    n = snprintf(rec, cap, "%zu:%s %zu:%s %zu:%s %d:%c:", tl, m->topic, kl,
                 m->key ? m->key : "", el, m->error ? m->error : "",
                 m->partition, m->json ? (tp ? 'J' : 'j') : (tp ? 'A' : 'a'));
    if (n >= 0 && tp) {
        k = snprintf(rec + n, cap - (size_t)n, "%zu:%s %zu:%s ", strlen(tp), tp,
                     strlen(ts), ts);
        n = k < 0 ? -1 : n + k;
    }
    if (n < 0 || (size_t)n + m->value_len > cap) {
        baton_free(rec);
        return NULL;
    }
    memcpy(rec + n, m->value, m->value_len);
    *len = (size_t)n + m->value_len;
    return rec;
}

/* Reads "<len>:<bytes><sep>" at *p; returns a new string or NULL. */
static char *rec_field(const char **p, const char *end, char sep) {
    char *colon;
    unsigned long long n = strtoull(*p, &colon, 10);
    char *s;
    if (colon >= end || *colon != ':' || n > (size_t)(end - colon - 1))
        return NULL;
    if (colon + 1 + n >= end || colon[1 + n] != sep) return NULL;
    s = baton_strndup(colon + 1, (size_t)n);
    *p = colon + 2 + n;
    return s;
}

int baton_outbox_decode(const char *rec, size_t len, baton_outbox_msg_t *m) {
    const char *p = rec, *end = rec + len;
    char *num_end;
    long part;
    memset(m, 0, sizeof *m);
    if (!(m->topic = rec_field(&p, end, ' '))) goto bad;
    if (!(m->key = rec_field(&p, end, ' '))) goto bad;
    if (!(m->error = rec_field(&p, end, ' '))) goto bad;
    part = strtol(p, &num_end, 10);
    if (num_end + 3 > end || num_end[0] != ':' || num_end[2] != ':') goto bad;
    m->partition = (int32_t)part;
    m->json = num_end[1] == 'j' || num_end[1] == 'J';
    p = num_end + 3;
    if (num_end[1] == 'J' || num_end[1] == 'A') { /* the trace part */
        if (!(m->traceparent = rec_field(&p, end, ' '))) goto bad;
        if (!(m->tracestate = rec_field(&p, end, ' '))) goto bad;
        if (!*m->tracestate) {
            baton_free(m->tracestate);
            m->tracestate = NULL;
        }
    }
    m->value_len = (size_t)(end - p);
    if (!(m->value = baton_malloc(m->value_len + 1))) goto bad;
    memcpy(m->value, p, m->value_len);
    if (!*m->key) {
        baton_free(m->key);
        m->key = NULL;
    }
    if (!*m->error) {
        baton_free(m->error);
        m->error = NULL;
    }
    return 0;
bad:
    baton_outbox_msg_clear(m);
    return -1;
}
