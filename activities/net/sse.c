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

struct baton_sse {
    baton_sse_event_fn fn;
    void *opaque;
    baton_buf_t line, data, event;
    int has_data;
    int last_cr; /* the previous byte was '\r': a following '\n' is part
                    of the same line end */
};

/* Appends to b unless a line, an event's data or its name would reach
 * SSE_LINE_MAX: a stream without line ends cannot take all memory. */
static int buf_add(baton_buf_t *b, const char *s, size_t n) {
    if (n >= SSE_LINE_MAX - b->n) return -1;
    return baton_buf_append(b, s, n);
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
        rc = p->fn(p->event.n ? p->event.p : "message",
                   p->data.p ? p->data.p : "", p->data.n, p->opaque);
    p->data.n = p->event.n = 0;
    if (p->data.p) p->data.p[0] = '\0';
    if (p->event.p) p->event.p[0] = '\0';
    p->has_data = 0;
    return rc;
}

/* Interprets the complete line in p->line. */
static int sse_line(baton_sse_t *p) {
    const char *l = p->line.p ? p->line.p : "", *v;
    size_t n = p->line.n, flen, vlen;
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
        p->event.n = 0;
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
            p->line.n = 0;
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
    if (p->line.n) {
        rc = sse_line(p);
        p->line.n = 0;
    }
    return rc ? rc : sse_dispatch(p);
}
