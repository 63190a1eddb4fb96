/*
 * sse.c -- an incremental parser of Server-Sent Events (text/event-stream,
 * the WHATWG HTML "event stream interpretation"), as OpenAI and Anthropic
 * stream replies and MCP's Streamable HTTP transport answers requests.
 *
 * Bytes arrive in arbitrary pieces; complete lines are interpreted:
 * "field: value" (one optional space after the colon), ":comment", and an
 * empty line dispatches the event gathered so far (data lines joined with
 * '\n').  Fields other than event and data (id, retry) are ignored.
 */
#include <string.h>

#include "baton_common.h"
#include "net.h"

#define SSE_LINE_MAX (16u << 20)

typedef struct sse_buf {
    char *p;
    size_t len, cap;
} sse_buf_t;

struct baton_sse {
    baton_sse_event_fn fn;
    void *opaque;
    sse_buf_t line, data, event;
    int has_data;
    int last_cr; /* the previous byte was '\r': a following '\n' is part
                    of the same line end */
};

static int buf_add(sse_buf_t *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->len + n + 1) cap *= 2;
        if (cap > SSE_LINE_MAX + 1 || !(p = baton_realloc(b->p, cap)))
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

baton_sse_t *baton_sse_new(baton_sse_event_fn fn, void *opaque) {
    baton_sse_t *p = baton_calloc(1, sizeof *p);
    if (!p) return NULL;
    p->fn = fn;
    p->opaque = opaque;
    return p;
}

void baton_sse_destroy(baton_sse_t *p) {
    if (!p) return;
    baton_free(p->line.p);
    baton_free(p->data.p);
    baton_free(p->event.p);
    baton_free(p);
}

static int sse_dispatch(baton_sse_t *p) {
    int rc = 0;
    if (p->has_data)
        rc = p->fn(p->event.len ? p->event.p : "message",
                   p->data.p ? p->data.p : "", p->data.len, p->opaque);
    p->data.len = p->event.len = 0;
    if (p->data.p) p->data.p[0] = '\0';
    if (p->event.p) p->event.p[0] = '\0';
    p->has_data = 0;
    return rc;
}

/* Interprets the complete line in p->line. */
static int sse_line(baton_sse_t *p) {
    const char *l = p->line.p ? p->line.p : "", *v;
    size_t n = p->line.len, flen, vlen;
    if (n == 0) return sse_dispatch(p);
    if (l[0] == ':') return 0;
    v = memchr(l, ':', n);
    flen = v ? (size_t)(v - l) : n;
    if (v) {
        v++;
        if (v < l + n && *v == ' ') v++;
        vlen = n - (size_t)(v - l);
    } else {
        v = "";
        vlen = 0;
    }
    if (flen == 4 && !memcmp(l, "data", 4)) {
        if (p->has_data && buf_add(&p->data, "\n", 1)) return -1;
        p->has_data = 1;
        return buf_add(&p->data, v, vlen);
    }
    if (flen == 5 && !memcmp(l, "event", 5)) {
        p->event.len = 0;
        return buf_add(&p->event, v, vlen);
    }
    return 0;
}

int baton_sse_feed(baton_sse_t *p, const char *buf, size_t len) {
    size_t i = 0;
    while (i < len) {
        char c = buf[i];
        if (c == '\n' && p->last_cr) { /* the second half of "\r\n" */
            p->last_cr = 0;
            i++;
            continue;
        }
        p->last_cr = 0;
        if (c == '\n' || c == '\r') {
            int rc;
            p->last_cr = c == '\r';
            rc = sse_line(p);
            p->line.len = 0;
            if (rc) return rc;
            i++;
            continue;
        }
        { /* a run of ordinary bytes */
            size_t j = i;
            while (j < len && buf[j] != '\n' && buf[j] != '\r') j++;
            if (buf_add(&p->line, buf + i, j - i)) return -1;
            i = j;
        }
    }
    return 0;
}

int baton_sse_finish(baton_sse_t *p) {
    int rc = 0;
    if (p->line.len) {
        rc = sse_line(p);
        p->line.len = 0;
    }
    return rc ? rc : sse_dispatch(p);
}
