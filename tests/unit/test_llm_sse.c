/*
 * test_llm_sse.c -- the SSE parser (activities/net/sse.c) that reads
 * streamed model replies and MCP responses: events split at every byte
 * boundary, the three line endings, comments, multi-line data, event
 * names, a last event without its blank line, a callback that stops,
 * the 16 MiB bound of a line.
 */
#include "baton_common.h"
#include "net.h"
#include "net_check.h"

typedef struct seen {
    char log[4096];
    size_t len;
    int stop_after; /* stop (return 7) at this event, 0 = never */
    int n;
} seen_t;

static int on_event(const char *event, const char *data, size_t len,
                    void *opaque) {
    seen_t *s = opaque;
    s->len += (size_t)snprintf(s->log + s->len, sizeof s->log - s->len,
                               "[%s|%.*s]", event, (int)len, data);
    s->n++;
    return s->stop_after && s->n == s->stop_after ? 7 : 0;
}

/* Parses text fed in pieces of step bytes (0 = all at once). */
static void parse(const char *text, size_t step, seen_t *s, int finish) {
    baton_sse_t *p = baton_sse_new(on_event, s);
    size_t n = strlen(text);
    memset(s->log, 0, sizeof s->log);
    s->len = 0;
    s->n = 0;
    for (size_t i = 0; i < n; i += step ? step : n)
        baton_sse_feed(p, text + i, step && i + step < n ? step : n - i);
    if (finish) baton_sse_finish(p);
    baton_sse_destroy(p);
}

static void test_splits(void) {
    const char *text = "event: message_start\r\ndata: {\"a\": 1}\r\n\r\n"
                       ": a comment\n"
                       "data: first line\ndata:second line\n\n"
                       "event:ping\rdata: x\r\r"
                       "id: 7\nretry: 100\ndata: [DONE]\n\n";
    const char *want = "[message_start|{\"a\": 1}][message|first line\n"
                       "second line][ping|x][message|[DONE]]";
    seen_t s = {0};
    for (size_t step = 0; step <= 9; step++) {
        char what[64];
        parse(text, step, &s, 0);
        snprintf(what, sizeof what, "events fed %zu bytes at a time", step);
        CHECK_STR(s.log, want, what);
    }
}

static void test_edges(void) {
    seen_t s = {0};
    parse("data: no blank line at the end", 0, &s, 0);
    CHECK_STR(s.log, "", "an unfinished event is not dispatched by feed");
    parse("data: no blank line at the end", 0, &s, 1);
    CHECK_STR(s.log, "[message|no blank line at the end]",
              "finish dispatches the last event");
    parse("event: only a name\n\n\n\n", 1, &s, 1);
    CHECK_STR(s.log, "", "an event without data is not dispatched");
    parse("data\n\ndata:\n\n", 0, &s, 0);
    CHECK_STR(s.log, "[message|][message|]", "empty data fields");
    parse("data:  two spaces\n\n", 0, &s, 0);
    CHECK_STR(s.log, "[message| two spaces]",
              "only one space after the colon is dropped");
    parse("event: a\ndata: 1\n\ndata: 2\n\n", 0, &s, 0);
    CHECK_STR(s.log, "[a|1][message|2]", "the event name resets");
    s.stop_after = 1;
    {
        baton_sse_t *p = baton_sse_new(on_event, &s);
        memset(s.log, 0, sizeof s.log);
        s.len = 0;
        s.n = 0;
        CHECK(baton_sse_feed(p, "data: 1\n\ndata: 2\n\n", 18) == 7,
              "feed returns the callback's stop value");
        CHECK_STR(s.log, "[message|1]", "nothing after the stop");
        baton_sse_destroy(p);
    }
    baton_sse_destroy(NULL);
}

static int on_size(const char *event, const char *data, size_t len,
                   void *opaque) {
    (void)event;
    (void)data;
    *(size_t *)opaque = len;
    return 0;
}

/* A stream without line ends is refused once its line reaches 16 MiB; a
 * 15 MiB data line is an ordinary event. */
static void test_limit(void) {
    size_t mib = (size_t)1 << 20, got = 0;
    char *chunk = baton_malloc(mib), what[128];
    baton_sse_t *p = baton_sse_new(on_size, &got);
    int rc = 0, i;
    memset(chunk, 'a', mib);
    CHECK(baton_sse_feed(p, "data: ", 6) == 0, "data field");
    for (i = 0; i < 15 && !rc; i++) rc = baton_sse_feed(p, chunk, mib);
    snprintf(what, sizeof what, "a 15 MiB line is accepted (%d at MiB %d)", rc,
             i);
    CHECK(rc == 0, what);
    rc = baton_sse_feed(p, "\n\n", 2);
    snprintf(what, sizeof what,
             "the 15 MiB event is dispatched whole (%d, %zu bytes)", rc, got);
    CHECK(rc == 0 && got == 15 * mib, what);
    for (i = 0; i < 17 && !rc; i++) rc = baton_sse_feed(p, chunk, mib);
    snprintf(what, sizeof what,
             "a line without end is refused at 16 MiB (%d after %d MiB)", rc,
             i);
    CHECK(rc == -1 && i == 16, what);
    baton_sse_destroy(p);
    baton_free(chunk);
}

int main(void) {
    baton_log_configure("error", "");
    test_splits();
    test_edges();
    test_limit();
    return check_report();
}
