/*
 * test_store.c -- batond's Redis edge (orchestrator/store.c) against a real
 * redis-server: the Lua batch write (snapshots, history, timers, outbox,
 * offsets land together), fencing (a write under an older epoch changes
 * nothing, the other partitions of the pipeline are written), the key
 * layout (the keys are exactly where common/keys.h says, no others), and
 * loading back (partition state on assignment, snapshots, definitions).
 *
 * The test starts its own redis-server (no persistence) on a free loopback
 * port in a temporary folder and stops it by pid at the end.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blob_store.h"
#include "crypt.h"
#include "keys.h"
#include "redis.h"
#include "registry.h"
#include "store.h"

/* The default namespace: the layout the tests below spell out. */
#define NS "baton"
#include "wset.h"

#include "check.h"

static const char *const TOPICS[2] = {"baton.commands", "baton.results"};
static const char DEF[] =
    "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"End\":true}}}";

/* ---- a private redis-server ---------------------------------------------- */

typedef struct server {
    pid_t pid;
    int port;
    char dir[64];
} server_t;

/* A loopback port free right now: bind port 0, read it, close. */
static int free_port(void) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) &&
        !getsockname(fd, (struct sockaddr *)&a, &len))
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static int server_start(server_t *s) {
    char port[16], log[128];
    snprintf(s->dir, sizeof s->dir, "/tmp/baton-test-store-XXXXXX");
    if (!mkdtemp(s->dir) || (s->port = free_port()) < 0) return -1;
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(log, sizeof log, "%s/redis.log", s->dir);
    if ((s->pid = fork()) < 0) return -1;
    if (s->pid == 0) {
        if (!freopen(log, "w", stdout)) _exit(127);
        execlp("redis-server", "redis-server", "--port", port, "--bind",
               "127.0.0.1", "--dir", s->dir, "--save", "", "--appendonly", "no",
               (char *)NULL);
        _exit(127);
    }
    return 0;
}

static redisContext *server_connect(const server_t *s) {
    char url[64], err[256];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", s->port);
    for (int i = 0; i < 100; i++) { /* up to 5 s for it to listen */
        redisContext *c = baton_redis_connect(url, 1000, err, sizeof err);
        if (c) return c;
        usleep(50000);
    }
    fprintf(stderr, "redis-server on port %d: %s\n", s->port, err);
    return NULL;
}

static void server_stop(server_t *s) {
    char cmd[128];
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", s->dir);
}

/* ---- helpers -------------------------------------------------------------- */

static redisReply *cmd(redisContext *c, const char *fmt, const char *key) {
    return redisCommand(c, fmt, key);
}

/* The string at key (baton_malloc'd) or NULL. */
static char *get_str(redisContext *c, const char *fmt, const char *key,
                     const char *field) {
    redisReply *r = redisCommand(c, fmt, key, field);
    char *s = NULL;
    if (r && r->type == REDIS_REPLY_STRING) s = baton_strndup(r->str, r->len);
    if (r) freeReplyObject(r);
    return s;
}

static long long get_int(redisContext *c, const char *fmt, const char *key) {
    redisReply *r = cmd(c, fmt, key);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r) freeReplyObject(r);
    return v;
}

static baton_snapshot_t *make_snap(const char *id, const char *ver) {
    baton_snapshot_t *s = baton_snapshot_new();
    s->id = baton_strdup(id);
    s->type = baton_strdup("pass");
    s->ver = baton_strdup(ver);
    s->status = BATON_WF_RUNNING;
    s->pos = baton_strdup("A");
    s->input = json_pack("{si}", "x", 1);
    s->state_input = json_pack("{si}", "x", 1);
    s->started_ms = 1700000000000;
    return s;
}

/* One write set of partition p with a bit of everything. */
static void fill_wset(baton_wset_t *ws, baton_snapshot_t *s, int64_t off) {
    baton_wset_begin(ws, 'c', off, NULL);
    baton_wset_snapshot(ws, s);
    baton_wset_hist(ws, s->id, baton_strdup("{\"seq\":1,\"type\":\"A\"}"), 0);
    baton_wset_hist(ws, s->id, baton_strdup("{\"seq\":2,\"type\":\"B\"}"), 0);
    baton_wset_msg(ws, "baton.tasks.default", -1, s->id, 1,
                   baton_strdup("{\"task\":1}"), 10);
    baton_wset_timer_add(ws, "a|1|1|w1", 5000);
    ws->next_offset[BATON_SRC_COMMANDS] = off + 1;
}

static int64_t take(redisContext *c, int32_t p, baton_part_state_t *st) {
    char err[256];
    baton_err_t rc = baton_store_load_partition(c, NS, p, TOPICS, INT64_MAX, st,
                                                err, sizeof err);
    CHECK(!rc, "load partition %d: %s", p, err);
    return rc ? -1 : st->epoch;
}

/* ---- the tests ------------------------------------------------------------ */

static void test_batch_write_and_layout(redisContext *c, const char *ver) {
    int64_t epochs[8] = {0};
    baton_part_state_t st;
    baton_wset_t ws, *wsp = &ws;
    baton_snapshot_t *s = make_snap("w1", ver);
    char k[BATON_KEYS_LEN], err[256], *v;
    int fenced = -1;
    redisReply *r;

    epochs[3] = take(c, 3, &st);
    CHECK(epochs[3] == 1 && st.next_offset[0] == -1 && st.noutbox == 0 &&
              st.ntimers == 0,
          "a fresh partition: epoch 1, nothing stored (%lld)",
          (long long)epochs[3]);
    baton_part_state_clear(&st);

    baton_wset_init(&ws, 3);
    fill_wset(&ws, s, 41);
    CHECK(!baton_store_write(c, NS, &wsp, 1, epochs, TOPICS, 100, 0, &fenced,
                             err, sizeof err) &&
              fenced == 0,
          "the batch write succeeds: %s", err);

    v = get_str(c, "GET %s", baton_keys_wf(k, sizeof k, NS, 3, "w1"), NULL);
    {
        baton_snapshot_t *d =
            v ? baton_snapshot_decode(v, strlen(v), err, sizeof err) : NULL;
        CHECK(d && !strcmp(d->id, "w1") && !strcmp(d->pos, "A"),
              "the snapshot is at baton:{p3}:wf:w1");
        baton_snapshot_destroy(d);
    }
    baton_free(v);
    r = redisCommand(c, "LRANGE %s 0 -1",
                     baton_keys_hist(k, sizeof k, NS, 3, "w1"));
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
              strstr(r->element[0]->str, "\"A\"") &&
              strstr(r->element[1]->str, "\"B\""),
          "both history events, in order, at baton:{p3}:hist:w1");
    if (r) freeReplyObject(r);
    v = get_str(c, "HGET %s %s", baton_keys_outbox(k, sizeof k, NS, 3),
                ws.out[0].id);
    {
        baton_outbox_msg_t m;
        CHECK(v && !baton_outbox_decode(v, strlen(v), &m) &&
                  !strcmp(m.topic, "baton.tasks.default") &&
                  !strcmp(m.key, "w1") && m.json,
              "the outbox record is at baton:{p3}:outbox, field %s",
              ws.out[0].id);
        if (v) baton_outbox_msg_clear(&m);
    }
    baton_free(v);
    v = get_str(c, "ZSCORE %s %s", baton_keys_timers(k, sizeof k, NS, 3),
                "a|1|1|w1");
    CHECK(v && !strcmp(v, "5000"), "the timer is at baton:{p3}:timers");
    baton_free(v);
    v = get_str(c, "HGET %s %s", baton_keys_offsets(k, sizeof k, NS, 3),
                TOPICS[0]);
    CHECK(v && !strcmp(v, "42"), "the next offset 42 is at baton:{p3}:offsets");
    baton_free(v);

    /* The key layout: exactly these keys, nothing else. */
    {
        const char *want[6];
        char kb[6][BATON_KEYS_LEN];
        int seen[6] = {0}, others = 0;
        want[0] = baton_keys_wf(kb[0], sizeof kb[0], NS, 3, "w1");
        want[1] = baton_keys_hist(kb[1], sizeof kb[1], NS, 3, "w1");
        want[2] = baton_keys_outbox(kb[2], sizeof kb[2], NS, 3);
        want[3] = baton_keys_timers(kb[3], sizeof kb[3], NS, 3);
        want[4] = baton_keys_offsets(kb[4], sizeof kb[4], NS, 3);
        want[5] = baton_keys_epoch(kb[5], sizeof kb[5], NS, 3);
        r = redisCommand(c, "KEYS *");
        for (size_t i = 0; r && i < r->elements; i++) {
            int hit = 0;
            for (int j = 0; j < 6; j++)
                if (!strcmp(r->element[i]->str, want[j])) seen[j] = hit = 1;
            if (!hit) {
                others++;
                fprintf(stderr, "unexpected key %s\n", r->element[i]->str);
            }
        }
        if (r) freeReplyObject(r);
        for (int j = 0; j < 6; j++) CHECK(seen[j], "key %s exists", want[j]);
        CHECK(others == 0, "no key outside keys.h's layout (%d)", others);
        r = redisCommand(c, "SCAN 0 MATCH %s COUNT 1000",
                         baton_keys_wf_pattern(k, sizeof k, NS, "w"));
        CHECK(r && r->elements == 2 && r->element[1]->elements == 1 &&
                  !strcmp(r->element[1]->element[0]->str, want[0]),
              "the snapshot SCAN pattern finds the snapshot only");
        if (r) freeReplyObject(r);
    }

    /* Acknowledged: the outbox entry and the timer go, atomically with the
     * new offset. */
    {
        char id[64];
        snprintf(id, sizeof id, "%s", ws.out[0].id);
        baton_wset_reset(&ws);
        baton_wset_begin(&ws, 'r', 7, NULL);
        baton_wset_outbox_done(&ws, id);
        baton_wset_timer_del(&ws, "a|1|1|w1");
        ws.next_offset[BATON_SRC_RESULTS] = 8;
        CHECK(!baton_store_write(c, NS, &wsp, 1, epochs, TOPICS, 100, 0,
                                 &fenced, err, sizeof err),
              "the second write succeeds: %s", err);
        CHECK(get_int(c, "HLEN %s", baton_keys_outbox(k, sizeof k, NS, 3)) == 0,
              "the acknowledged outbox entry is deleted");
        CHECK(get_int(c, "ZCARD %s", baton_keys_timers(k, sizeof k, NS, 3)) ==
                  0,
              "the removed timer is gone");
        v = get_str(c, "HGET %s %s", baton_keys_offsets(k, sizeof k, NS, 3),
                    TOPICS[1]);
        CHECK(v && !strcmp(v, "8"), "the results offset is stored");
        baton_free(v);
    }
    baton_wset_reset(&ws);
    baton_snapshot_destroy(s);
}

/* A newer owner INCRs the epoch: a write under the old one changes
 * nothing; another partition in the same pipeline is written. */
/* Dedupe keys are written with the batch and expire with their window;
 * a HELD snapshot with nothing held left is deleted; a new run of a closed
 * id makes its history permanent again. */
static void test_dedupe_held_reopen(redisContext *c, const char *ver) {
    int64_t epochs[8] = {0};
    baton_part_state_t st;
    baton_wset_t ws, *wsp = &ws;
    baton_snapshot_t *s = make_snap("v1", ver), *h = make_snap("v2", ver);
    char k[BATON_KEYS_LEN], dk[BATON_KEYS_DEDUPE_LEN], err[256], *v;
    const int32_t parts[2] = {6, 6};
    const char *ids[2] = {"v1", "v1"}, *dds[2] = {"d:a/b", "d:other"};
    int fenced = -1, seen[2] = {-1, -1};
    redisReply *r;

    epochs[6] = take(c, 6, &st);
    baton_part_state_clear(&st);
    baton_wset_init(&ws, 6);
    baton_wset_snapshot(&ws, s);
    baton_wset_dedupe(&ws, "v1", "d:a/b", 60000);
    h->status = BATON_WF_HELD; /* held nothing: deleted */
    baton_wset_snapshot(&ws, h);
    baton_wset_hist(&ws, "v1", baton_strdup("{\"seq\":2}"), 0);
    ws.hist[ws.nhist - 1].open = 1;
    freeReplyObject(
        redisCommand(c, "SET %s x", baton_keys_wf(k, sizeof k, NS, 6, "v2")));
    freeReplyObject(redisCommand(c, "RPUSH %s old",
                                 baton_keys_hist(k, sizeof k, NS, 6, "v1")));
    freeReplyObject(redisCommand(c, "EXPIRE %s 100",
                                 baton_keys_hist(k, sizeof k, NS, 6, "v1")));
    CHECK(!baton_store_write(c, NS, &wsp, 1, epochs, TOPICS, 100, 0, &fenced,
                             err, sizeof err) &&
              !fenced,
          "the write succeeds: %s", err);
    r = redisCommand(c, "PTTL %s",
                     baton_keys_dedupe(dk, sizeof dk, NS, 6, "v1", "d:a/b"));
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer > 50000 &&
              r->integer <= 60000,
          "the dedupe key expires with its window (%lld)",
          r ? (long long)r->integer : -9);
    freeReplyObject(r);
    CHECK(!strcmp(dk, "baton:{p6}:dd:2:v1:d:a/b"), "dedupe key layout: %s", dk);
    CHECK(!baton_store_dedupe_seen(c, NS, 2, parts, ids, dds, seen, err,
                                   sizeof err) &&
              seen[0] == 1 && seen[1] == 0,
          "seen answers per key (%d %d)", seen[0], seen[1]);
    v = get_str(c, "GET %s", baton_keys_wf(k, sizeof k, NS, 6, "v2"), NULL);
    CHECK(v == NULL, "a HELD snapshot with nothing held is deleted");
    baton_free(v);
    r = redisCommand(c, "TTL %s", baton_keys_hist(k, sizeof k, NS, 6, "v1"));
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == -1,
          "a re-opened history no longer expires");
    freeReplyObject(r);
    baton_wset_reset(&ws);
    baton_snapshot_destroy(s);
    baton_snapshot_destroy(h);
}

static void test_fencing(redisContext *c, const char *ver) {
    int64_t epochs[8] = {0};
    baton_part_state_t st;
    baton_wset_t ws[2], *wsp[2] = {&ws[0], &ws[1]};
    baton_snapshot_t *s4 = make_snap("f4", ver), *s5 = make_snap("f5", ver);
    char k[BATON_KEYS_LEN], err[256];
    int fenced[2] = {-1, -1};
    baton_err_t rc;

    epochs[4] = take(c, 4, &st);
    baton_part_state_clear(&st);
    epochs[5] = take(c, 5, &st);
    baton_part_state_clear(&st);
    CHECK(take(c, 4, &st) == epochs[4] + 1,
          "a second take of partition 4 gets a newer epoch");
    baton_part_state_clear(&st);

    baton_wset_init(&ws[0], 4);
    baton_wset_init(&ws[1], 5);
    fill_wset(&ws[0], s4, 10);
    fill_wset(&ws[1], s5, 20);
    rc = baton_store_write(c, NS, wsp, 2, epochs, TOPICS, 100, 0, fenced, err,
                           sizeof err);
    CHECK(rc == BATON_ERR_FENCED && fenced[0] == 1 && fenced[1] == 0,
          "partition 4 is fenced, 5 is not (rc %d, %d %d): %s", rc, fenced[0],
          fenced[1], err);
    CHECK(get_int(c, "EXISTS %s", baton_keys_wf(k, sizeof k, NS, 4, "f4")) ==
                  0 &&
              get_int(c, "EXISTS %s",
                      baton_keys_hist(k, sizeof k, NS, 4, "f4")) == 0 &&
              get_int(c, "EXISTS %s", baton_keys_outbox(k, sizeof k, NS, 4)) ==
                  0 &&
              get_int(c, "EXISTS %s", baton_keys_timers(k, sizeof k, NS, 4)) ==
                  0 &&
              get_int(c, "EXISTS %s", baton_keys_offsets(k, sizeof k, NS, 4)) ==
                  0,
          "the fenced write changed nothing in partition 4");
    CHECK(get_int(c, "EXISTS %s", baton_keys_wf(k, sizeof k, NS, 5, "f5")) ==
                  1 &&
              get_int(c, "EXISTS %s", baton_keys_offsets(k, sizeof k, NS, 5)) ==
                  1,
          "partition 5 of the same pipeline was written");

    epochs[4]++; /* as the new owner */
    rc = baton_store_write(c, NS, wsp, 1, epochs, TOPICS, 100, 0, fenced, err,
                           sizeof err);
    CHECK(!rc && fenced[0] == 0 &&
              get_int(c, "EXISTS %s",
                      baton_keys_wf(k, sizeof k, NS, 4, "f4")) == 1,
          "under the current epoch the write applies: %s", err);
    baton_wset_reset(&ws[0]);
    baton_wset_reset(&ws[1]);
    baton_snapshot_destroy(s4);
    baton_snapshot_destroy(s5);
}

/* What the next owner reads back: offsets, outbox, timers, snapshots,
 * definitions. */
static void test_load_back(redisContext *c, baton_registry_t *reg,
                           const char *ver) {
    baton_part_state_t st;
    int32_t parts[2] = {5, 5};
    const char *ids[2] = {"f5", "nobody"};
    char *texts[2] = {NULL, NULL}, err[256], *def;
    size_t lens[2];

    take(c, 5, &st);
    CHECK(st.next_offset[0] == 21 && st.next_offset[1] == -1,
          "offsets read back (%lld, %lld)", (long long)st.next_offset[0],
          (long long)st.next_offset[1]);
    CHECK(st.noutbox == 1 && st.outbox[0].id &&
              !strcmp(st.outbox[0].topic, "baton.tasks.default") &&
              st.outbox[0].value_len == 10 &&
              !memcmp(st.outbox[0].value, "{\"task\":1}", 10),
          "the outbox reads back to re-send");
    CHECK(st.ntimers == 1 && !strcmp(st.timer_members[0], "a|1|1|w1") &&
              st.timer_due[0] == 5000 && st.timers_upto == INT64_MAX,
          "the timer reads back");
    baton_part_state_clear(&st);

    CHECK(!baton_store_get_snapshots(c, NS, 2, parts, ids, texts, lens, err,
                                     sizeof err),
          "get snapshots: %s", err);
    CHECK(texts[0] && lens[0] == strlen(texts[0]) && strstr(texts[0], "f5"),
          "an existing snapshot reads back");
    CHECK(texts[1] == NULL, "a missing run reads back as NULL");
    baton_free(texts[0]);
    baton_free(texts[1]);

    CHECK(!baton_store_put_defs(c, NS, reg, err, sizeof err), "put defs: %s",
          err);
    def = baton_store_get_def(c, NS, "pass", ver, err, sizeof err);
    CHECK(def && !strcmp(def, DEF), "a definition reads back by version");
    baton_free(def);
    {
        char k[BATON_KEYS_LEN];
        CHECK(get_int(c, "EXISTS %s",
                      baton_keys_def(k, sizeof k, NS, "pass", ver)) == 1,
              "the definition is at baton:defs:pass:<ver>");
    }
    def =
        baton_store_get_def(c, NS, "pass", "0000000000000000", err, sizeof err);
    CHECK(def == NULL && strstr(err, "not in Redis"),
          "a missing version is NOTFOUND: %s", err);
}

/* The claim check in the batch write: a large snapshot is stored as
 * references; a blob two runs hold stays persistent until the last of
 * them closes, then expires after the retention; the snapshot reads back
 * whole through the blob store. */
static void test_blobs_held_and_released(redisContext *c, const char *ver) {
    int64_t epochs[8] = {0};
    baton_part_state_t st;
    baton_wset_t ws, *wsp = &ws;
    baton_snapshot_t *a = make_snap("ba", ver), *b = make_snap("bb", ver);
    baton_store_blobs_t blobs = {{4096, 512}, 77, NULL};
    char k[BATON_KEYS_LEN], err[256], hex[BATON_BLOB_HEX_LEN + 1];
    char *big = baton_malloc(20001), *v, *out = NULL;
    size_t outlen = 0;
    int fenced = -1;
    baton_blob_loc_t loc = {c, NS, 5, NULL};

    memset(big, 'q', 20000);
    big[20000] = '\0';
    {
        json_t *js = json_string(big);
        char *t = json_dumps(js, JSON_ENCODE_ANY);
        baton_blob_sha256_hex(t, strlen(t), hex);
        free(t);
        json_decref(js);
    }
    json_object_set_new(a->state_input, "doc", json_string(big));
    json_object_set_new(b->state_input, "doc", json_string(big));
    epochs[5] = take(c, 5, &st);
    baton_part_state_clear(&st);
    baton_wset_init(&ws, 5);
    baton_wset_snapshot(&ws, a);
    baton_wset_snapshot(&ws, b);
    CHECK(!baton_store_write_ex(c, NS, &wsp, 1, epochs, TOPICS, 100, 60, &blobs,
                                &fenced, err, sizeof err),
          "write with blobs: %s", err);
    baton_wset_reset(&ws);
    baton_keys_blob(k, sizeof k, NS, 5, hex);
    CHECK(get_int(c, "TTL %s", k) == -1, "a held blob has no TTL");
    v = get_str(c, "GET %s", baton_keys_wf(k, sizeof k, NS, 5, "ba"), NULL);
    CHECK(v && strlen(v) < 2000 && strstr(v, hex), "the snapshot refers to it");
    CHECK(v &&
              !baton_blob_store_resolve_text(&loc, v, strlen(v), 0, &out,
                                             &outlen, err, sizeof err) &&
              out && strstr(out, big),
          "the snapshot resolves whole: %s", err);
    baton_free(out);
    baton_free(v);
    CHECK(get_int(c, "HLEN %s", baton_keys_blob_refs(k, sizeof k, NS, 5)) == 1,
          "one blob counted, held by two runs");

    /* run ba closes: bb still holds the blob */
    a->status = BATON_WF_SUCCEEDED;
    baton_wset_init(&ws, 5);
    baton_wset_snapshot(&ws, a);
    CHECK(!baton_store_write_ex(c, NS, &wsp, 1, epochs, TOPICS, 100, 60, &blobs,
                                &fenced, err, sizeof err),
          "close of ba: %s", err);
    baton_wset_reset(&ws);
    baton_keys_blob(k, sizeof k, NS, 5, hex);
    CHECK(get_int(c, "TTL %s", k) == -1,
          "a blob an open run holds stays without TTL");
    CHECK(get_int(c, "EXISTS %s",
                  baton_keys_blob_set(k, sizeof k, NS, 5, "ba")) == 0,
          "the closed run's set is gone");

    /* run bb closes too: no holder left, the retention starts */
    b->status = BATON_WF_FAILED;
    baton_wset_init(&ws, 5);
    baton_wset_snapshot(&ws, b);
    CHECK(!baton_store_write_ex(c, NS, &wsp, 1, epochs, TOPICS, 100, 60, &blobs,
                                &fenced, err, sizeof err),
          "close of bb: %s", err);
    baton_wset_reset(&ws);
    {
        long long ttl =
            get_int(c, "TTL %s", baton_keys_blob(k, sizeof k, NS, 5, hex));
        CHECK(ttl > 0 && ttl <= 77, "released: TTL %lld of 77", ttl);
    }
    CHECK(get_int(c, "HLEN %s", baton_keys_blob_refs(k, sizeof k, NS, 5)) == 0,
          "no holder counted");
    baton_free(big);
    baton_snapshot_destroy(a);
    baton_snapshot_destroy(b);
}

/* Payload encryption at the store: the snapshot sealed whole, history data
 * sealed (seq and type in clear), blobs sealed; all open back with the
 * keyring, and none holds the plaintext. */
static void test_sealed(redisContext *c, const char *ver) {
    int64_t epochs[8] = {0};
    baton_part_state_t st;
    baton_wset_t ws, *wsp = &ws;
    baton_snapshot_t *a = make_snap("sa", ver);
    baton_crypt_t *kr = baton_crypt_new();
    unsigned char key[32] = {1, 2, 3};
    baton_store_blobs_t blobs = {{4096, 512}, 77, NULL};
    char k[BATON_KEYS_LEN], err[512], hex[BATON_BLOB_HEX_LEN + 1];
    char *big = baton_malloc(20001), *v, *out = NULL, *plain = NULL;
    size_t outlen = 0, pn = 0;
    int fenced = -1;
    baton_blob_loc_t loc = {c, NS, 6, NULL};

    baton_crypt_add_key(kr, "t1", key, err, sizeof err);
    baton_crypt_set_active(kr, "t1", err, sizeof err);
    blobs.crypt = kr;
    memset(big, 'z', 20000);
    memcpy(big, "SECRETMARK", 10);
    big[20000] = '\0';
    {
        json_t *js = json_string(big);
        char *t = json_dumps(js, JSON_ENCODE_ANY);
        baton_blob_sha256_hex(t, strlen(t), hex);
        free(t);
        json_decref(js);
    }
    json_object_set_new(a->state_input, "doc", json_string(big));
    json_object_set_new(a->state_input, "small", json_string("SECRETMARK-s"));
    epochs[6] = take(c, 6, &st);
    baton_part_state_clear(&st);
    baton_wset_init(&ws, 6);
    baton_wset_snapshot(&ws, a);
    baton_wset_hist(&ws, "sa",
                    baton_strdup("{\"seq\":1,\"type\":\"A\",\"data\":"
                                 "{\"x\":\"SECRETMARK-h\"}}"),
                    0);
    CHECK(!baton_store_write_ex(c, NS, &wsp, 1, epochs, TOPICS, 100, 60, &blobs,
                                &fenced, err, sizeof err),
          "sealed write: %s", err);
    baton_wset_reset(&ws);
    v = get_str(c, "GET %s", baton_keys_wf(k, sizeof k, NS, 6, "sa"), NULL);
    CHECK(v && baton_crypt_is_sealed(v, strlen(v), NULL) &&
              !strstr(v, "SECRETMARK"),
          "the snapshot is sealed whole");
    CHECK(v &&
              !baton_crypt_open(kr, "snapshot", "sa", v, strlen(v), &plain, &pn,
                                err, sizeof err) &&
              plain && strstr(plain, "SECRETMARK-s") && strstr(plain, hex),
          "it opens to ref JSON: %s", err);
    CHECK(plain &&
              baton_crypt_open(kr, "snapshot", "sb", v, strlen(v), &out,
                               &outlen, err, sizeof err) == BATON_ERR_INVALID,
          "not as another run's snapshot");
    loc.crypt = kr;
    CHECK(plain &&
              !baton_blob_store_resolve_text(&loc, plain, pn, 0, &out, &outlen,
                                             err, sizeof err) &&
              out && strstr(out, big),
          "its blobs open and resolve: %s", err);
    baton_free(out);
    out = NULL;
    loc.crypt = NULL;
    CHECK(plain &&
              baton_blob_store_resolve_text(&loc, plain, pn, 0, &out, &outlen,
                                            err, sizeof err) &&
              strstr(err, "'t1'"),
          "without the keyring the blob is refused, naming the key");
    baton_free(out);
    baton_free(plain);
    baton_free(v);
    v = get_str(c, "GET %s", baton_keys_blob(k, sizeof k, NS, 6, hex), NULL);
    CHECK(v && baton_crypt_is_sealed(v, strlen(v), NULL) &&
              !strstr(v, "SECRETMARK"),
          "the blob is sealed");
    baton_free(v);
    v = get_str(c, "LINDEX %s 0", baton_keys_hist(k, sizeof k, NS, 6, "sa"),
                NULL);
    CHECK(v && strstr(v, "\"seq\":1") && strstr(v, "$baton_enc") &&
              !strstr(v, "SECRETMARK"),
          "history data sealed, seq in clear");
    baton_free(v);
    baton_free(big);
    baton_snapshot_destroy(a);
    baton_crypt_destroy(kr);
}

int main(void) {
    server_t srv;
    redisContext *c = NULL;
    baton_registry_t *reg = baton_registry_new();
    const baton_defn_t *d = NULL;
    char err[256];

    baton_log_configure("error", NULL);
    memset(&srv, 0, sizeof srv);
    if (server_start(&srv) || !(c = server_connect(&srv))) {
        fprintf(stderr, "FAIL: cannot start redis-server\n");
        server_stop(&srv);
        return 1;
    }
    CHECK(!baton_registry_add(reg, "pass", DEF, 1, &d, err, sizeof err) && d,
          "definition loads: %s", err);
    if (d) {
        test_batch_write_and_layout(c, d->ver);
        test_fencing(c, d->ver);
        test_dedupe_held_reopen(c, d->ver);
        test_load_back(c, reg, d->ver);
        test_blobs_held_and_released(c, d->ver);
        test_sealed(c, d->ver);
    }
    redisFree(c);
    baton_registry_destroy(reg);
    server_stop(&srv);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
