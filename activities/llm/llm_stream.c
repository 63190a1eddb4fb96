/*
 * llm_stream.c -- live output: the partial text of a streamed model reply
 * XADDed to the step's Redis stream (keys and entries: common/
 * keys.h), batched to at most one entry per 100 ms or 256 bytes.
 * Best effort by design: the durable result is the completed message in
 * the activity result; when Redis is unreachable the call goes on without
 * live output (one warning).
 */
#include <string.h>

#include "baton_common.h"
#include "llm.h"
#include "redis.h"
#include "keys.h"

#define STREAM_FLUSH_BYTES 256
#define STREAM_FLUSH_US 100000
#define STREAM_MAXLEN "100000"

struct llm_stream {
    redisContext *rc;
    char key[512], index[512];
    int64_t ttl_s, last_flush_us;
    char *buf;
    size_t len, cap;
    int failed;
};

static void stream_cmd(llm_stream_t *s, int argc, const char **argv) {
    redisReply *r;
    if (s->failed) return;
    r = redisCommandArgv(s->rc, argc, argv, NULL);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        BATON_WARN("llm", "live output to %s stops: %s", s->key,
                   r ? r->str : s->rc->errstr);
        s->failed = 1;
    }
    freeReplyObject(r);
}

static void stream_expire(llm_stream_t *s) {
    char ttl[32];
    const char *a1[] = {"EXPIRE", s->key, ttl},
               *a2[] = {"EXPIRE", s->index, ttl};
    snprintf(ttl, sizeof ttl, "%lld", (long long)s->ttl_s);
    stream_cmd(s, 3, a1);
    stream_cmd(s, 3, a2);
}

llm_stream_t *llm_stream_open(const llm_stream_target_t *to,
                              const char *workflow_id, const char *seq,
                              int attempt, int64_t ttl_s) {
    char err[256], att[16];
    llm_stream_t *s = baton_calloc(1, sizeof *s);
    if (!s) return NULL;
    if (!(s->rc = baton_redis_connect_with(to->redis_url, to->redis_user,
                                           to->redis_password, 2000, err,
                                           sizeof err))) {
        BATON_WARN("llm", "no live output for %s/%s: %s", workflow_id, seq,
                   err);
        baton_free(s);
        return NULL;
    }
    if (!baton_keys_stream(s->key, sizeof s->key, to->ns, workflow_id, seq) ||
        !baton_keys_stream_index(s->index, sizeof s->index, to->ns,
                                 workflow_id)) {
        BATON_WARN("llm", "no live output for %s/%s: key too long", workflow_id,
                   seq);
        redisFree(s->rc);
        baton_free(s);
        return NULL;
    }
    s->ttl_s = ttl_s > 0 ? ttl_s : 3600;
    snprintf(att, sizeof att, "%d", attempt);
    {
        const char *a[] = {"XADD", s->key,  "MAXLEN", "~",       STREAM_MAXLEN,
                           "*",    "event", "start",  "attempt", att};
        const char *b[] = {"XADD", s->index, "*", "seq", seq, "attempt", att};
        stream_cmd(s, 10, a);
        stream_cmd(s, 7, b);
    }
    stream_expire(s);
    s->last_flush_us = baton_mono_us();
    return s;
}

static void stream_flush(llm_stream_t *s) {
    const char *argv[] = {"XADD",        s->key, "MAXLEN", "~",
                          STREAM_MAXLEN, "*",    "text",   NULL};
    size_t lens[8];
    redisReply *r;
    s->last_flush_us = baton_mono_us();
    if (!s->len || s->failed) {
        s->len = 0;
        return;
    }
    for (int i = 0; i < 7; i++) lens[i] = strlen(argv[i]);
    argv[7] = s->buf;
    lens[7] = s->len;
    r = redisCommandArgv(s->rc, 8, argv, lens);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        BATON_WARN("llm", "live output to %s stops: %s", s->key,
                   r ? r->str : s->rc->errstr);
        s->failed = 1;
    }
    freeReplyObject(r);
    s->len = 0;
}

void llm_stream_text(llm_stream_t *s, const char *text, size_t len) {
    if (!s || s->failed) return;
    if (s->len + len > s->cap) {
        size_t cap = s->cap ? s->cap : 512;
        char *p;
        while (cap < s->len + len) cap *= 2;
        if (!(p = baton_realloc(s->buf, cap))) {
            s->failed = 1;
            return;
        }
        s->buf = p;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, text, len);
    s->len += len;
    if (s->len >= STREAM_FLUSH_BYTES ||
        baton_mono_us() - s->last_flush_us >= STREAM_FLUSH_US)
        stream_flush(s);
}

void llm_stream_close(llm_stream_t *s, const char *error_name) {
    if (!s) return;
    stream_flush(s);
    if (error_name && *error_name) {
        const char *a[] = {"XADD",  s->key,  "*",       "event",
                           "error", "error", error_name};
        stream_cmd(s, 7, a);
    } else {
        const char *a[] = {"XADD", s->key, "*", "event", "done"};
        stream_cmd(s, 5, a);
    }
    stream_expire(s);
    redisFree(s->rc);
    baton_free(s->buf);
    baton_free(s);
}
