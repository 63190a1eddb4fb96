/*
 * blob_bench.c -- baton-bench-blob: the cost of the claim check's encoding
 * of one snapshot, as batond's store pays it on every batch write
 * (orchestrator/store.c: the snapshot's text, then common/blob.h).  No
 * Kafka, no Redis: the blobs go to a sink that remembers the hashes it
 * was handed, as the store's does (baton_snapshot_t.blob_seen).
 *
 *   baton-bench-blob [--rounds R] [--text]
 *
 * --text: through the snapshot's text and baton_blob_encode_text (parsed
 * back), the store's way before baton_blob_dumps.
 *
 * Cases, each encoded R times, one element added before every encode (a
 * batch's change):
 *   map    a Map parent: 10,000 documents listed in its state input and
 *          10,000 small results in its outputs (test 0026's shape);
 *   agent  a conversation of 200 messages of 2 KiB (bench-agent-growth);
 *   small  a waiting run well under blob.threshold (the common case).
 * Prints one line per case: microseconds per encode, the blobs stored and
 * their bytes over all the rounds (each hash once, as Redis holds them
 * until the run ends), bytes of the last stored text.  Defaults:
 * blob.threshold 65536, element.min 1024.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blob.h"
#include "snapshot.h"

typedef struct sink {
    json_t *seen; /* hex -> true */
    size_t blobs, bytes;
} sink_t;

static int sink_put(void *ctx, const char *hex, const char *text, size_t len) {
    sink_t *k = ctx;
    (void)text;
    if (json_object_get(k->seen, hex)) return 0;
    k->blobs++;
    k->bytes += len;
    return json_object_set_new(k->seen, hex, json_true());
}

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int via_text; /* --text: the snapshot's text, then the text path */

/* The stored text of s (baton_free'd by the caller), as store.c makes it
 * (baton_blob_dumps of the snapshot's JSON); *len its length. */
static char *stored_text(baton_snapshot_t *s, const baton_blob_opts_t *o,
                         sink_t *k, size_t *len) {
    char err[256], *out = NULL;
    json_t *v = baton_snapshot_to_json(s);
    if (!v || baton_blob_dumps(v, o, sink_put, k, &out, len, err, sizeof err)) {
        fprintf(stderr, "encode: %s\n", v ? err : "out of memory");
        exit(1);
    }
    json_decref(v);
    return out;
}

/* The same through the snapshot's text and baton_blob_encode_text (the
 * store's way before baton_blob_dumps). */
static char *stored_text_parsed(baton_snapshot_t *s, const baton_blob_opts_t *o,
                                sink_t *k, size_t *len) {
    char err[256], *out = NULL, *text = baton_snapshot_encode(s, len);
    size_t outlen = 0;
    if (!text) return NULL;
    if (baton_blob_encode_text(text, *len, o, sink_put, k, &out, &outlen, err,
                               sizeof err)) {
        fprintf(stderr, "encode: %s\n", err);
        exit(1);
    }
    if (!out) return text;
    baton_free(text);
    *len = outlen;
    return out;
}

static baton_snapshot_t *base_snapshot(void) {
    baton_snapshot_t *s = baton_snapshot_new();
    s->id = baton_strdup("bench-1");
    s->type = baton_strdup("bench");
    s->ver = baton_strdup("0123456789abcdef");
    s->pos = baton_strdup("Step");
    s->input = json_pack("{s:i}", "count", 10000);
    s->started_ms = 1700000000000;
    return s;
}

static json_t *map_result(int i) {
    char doc[32], sum[64];
    snprintf(doc, sizeof doc, "doc-%05d", i + 1);
    snprintf(sum, sizeof sum, "summary of %s", doc);
    return json_pack("{s:s, s:i, s:s}", "doc", doc, "index", i, "summary", sum);
}

/* A Map parent with n of 10,000 results in. */
static baton_snapshot_t *map_snapshot(int n) {
    baton_snapshot_t *s = base_snapshot();
    json_t *docs = json_array();
    char doc[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(doc, sizeof doc, "doc-%05d", i + 1);
        json_array_append_new(docs, json_string(doc));
    }
    s->state_input = json_pack("{s:i, s:{s:o}}", "count", 10000, "listing",
                               "documents", docs);
    s->pend = BATON_PEND_FANOUT;
    s->pend_n = s->pend_next = 10000;
    s->pend_is_map = 1;
    s->pend_max_conc = 50;
    s->pend_outputs = json_object();
    for (int i = 0; i < n; i++) {
        char key[24];
        snprintf(key, sizeof key, "%d", i);
        json_object_set_new(s->pend_outputs, key, map_result(i));
    }
    return s;
}

static void map_step(baton_snapshot_t *s, int i) {
    char key[24];
    snprintf(key, sizeof key, "%d", i);
    json_object_set_new(s->pend_outputs, key, map_result(i));
}

static json_t *message(int i) {
    char text[2048];
    memset(text, 'a' + i % 26, sizeof text - 1);
    text[sizeof text - 1] = '\0';
    snprintf(text, 32, "turn %d: ", i);
    text[strlen(text)] = ' ';
    return json_pack("{s:s, s:s}", "role", i % 2 ? "assistant" : "user",
                     "content", text);
}

/* A conversation of n messages of 2 KiB. */
static baton_snapshot_t *agent_snapshot(int n) {
    baton_snapshot_t *s = base_snapshot();
    json_t *msgs = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(msgs, message(i));
    s->state_input = json_pack("{s:o}", "messages", msgs);
    s->pend = BATON_PEND_TASK;
    s->pend_queue = baton_strdup("default");
    s->pend_type = baton_strdup("conv.turn");
    return s;
}

static void agent_step(baton_snapshot_t *s, int i) {
    json_array_append_new(json_object_get(s->state_input, "messages"),
                          message(i));
}

static void small_step(baton_snapshot_t *s, int i) {
    s->aseq = i;
}

typedef struct bench_case {
    const char *name;
    baton_snapshot_t *(*make)(int n);
    void (*step)(baton_snapshot_t *s, int i);
    int start;
} bench_case_t;

static void run_case(const bench_case_t *c, int rounds,
                     const baton_blob_opts_t *o) {
    baton_snapshot_t *s = c->make(c->start);
    sink_t k = {json_object(), 0, 0};
    size_t len = 0;
    double t0, total = 0;
    for (int r = 0; r < rounds; r++) {
        char *text;
        c->step(s, c->start + r);
        t0 = now_us();
        text = via_text ? stored_text_parsed(s, o, &k, &len)
                        : stored_text(s, o, &k, &len);
        total += now_us() - t0;
        if (!text) exit(1);
        baton_free(text);
    }
    printf("%-6s %10.0f us/encode  %6zu blobs %9zu blob bytes  %8zu bytes "
           "stored\n",
           c->name, total / rounds, k.blobs, k.bytes, len);
    json_decref(k.seen);
    baton_snapshot_destroy(s);
}

static baton_snapshot_t *small_snapshot(int n) {
    (void)n;
    return base_snapshot();
}

int main(int argc, char **argv) {
    baton_blob_opts_t o = {65536, 1024};
    int rounds = 20;
    bench_case_t cases[] = {
        {"map", map_snapshot, map_step, 9000},
        {"agent", agent_snapshot, agent_step, 200},
        {"small", small_snapshot, small_step, 0},
    };
    for (int i = 1; i < argc; i++) {
        int64_t n;
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
            if (baton_parse_i64(argv[++i], &n) || n < 1 || n > 1000000) {
                fprintf(stderr, "--rounds: not a number of rounds: %s\n",
                        argv[i]);
                return 2;
            }
            rounds = (int)n;
        } else if (!strcmp(argv[i], "--text")) {
            via_text = 1;
        } else {
            fprintf(stderr, "usage: baton-bench-blob [--rounds N] [--text]\n");
            return 2;
        }
    }
    for (size_t i = 0; i < BATON_ARRAY_SIZE(cases); i++)
        run_case(&cases[i], cases[i].start ? rounds : rounds * 100, &o);
    return 0;
}
