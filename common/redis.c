/*
 * redis.c -- redis.url parsing and connection setup (redis.h).
 */
#include "redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct redis_url {
    char host[256];
    int port;
    char password[256];
    int db;
    char unix_path[512];
} redis_url_t;

static int redis_url_parse(const char *url, redis_url_t *u) {
    const char *p, *at, *colon, *slash;
    int64_t v;
    char num[32];

    memset(u, 0, sizeof *u);
    u->port = 6379;
    if (!strncmp(url, "unix://", 7)) {
        snprintf(u->unix_path, sizeof u->unix_path, "%s", url + 7);
        return u->unix_path[0] ? 0 : -1;
    }
    if (strncmp(url, "redis://", 8)) return -1;
    p = url + 8;
    if ((at = strchr(p, '@'))) {
        const char *pw = memchr(p, ':', (size_t)(at - p));
        pw = pw ? pw + 1 : p;
        snprintf(u->password, sizeof u->password, "%.*s", (int)(at - pw), pw);
        p = at + 1;
    }
    slash = strchr(p, '/');
    colon = strchr(p, ':');
    if (colon && (!slash || colon < slash)) {
        size_t n = (size_t)((slash ? slash : p + strlen(p)) - colon - 1);
        if (n == 0 || n >= sizeof num) return -1;
        memcpy(num, colon + 1, n);
        num[n] = '\0';
        if (baton_parse_i64(num, &v) || v <= 0 || v > 65535) return -1;
        u->port = (int)v;
    } else {
        colon = slash ? slash : p + strlen(p);
    }
    snprintf(u->host, sizeof u->host, "%.*s", (int)(colon - p), p);
    if (!u->host[0]) return -1;
    if (slash && slash[1]) {
        if (baton_parse_i64(slash + 1, &v) || v < 0) return -1;
        u->db = (int)v;
    }
    return 0;
}

static int redis_simple(redisContext *c, char *errstr, size_t errlen,
                        const char *what, int argc, const char **argv) {
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    int bad = !r || r->type == REDIS_REPLY_ERROR;
    if (bad)
        baton_seterr(errstr, errlen, BATON_ERR_REDIS, "%s: %s", what,
                     r ? r->str : c->errstr);
    if (r) freeReplyObject(r);
    return bad ? -1 : 0;
}

redisContext *baton_redis_connect(const char *url, int timeout_ms,
                                  char *errstr, size_t errlen) {
    redis_url_t u;
    redisContext *c;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

    if (!url || redis_url_parse(url, &u)) {
        baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                     "bad redis.url '%s': expected "
                     "redis://[:password@]host[:port][/db] or unix:///path",
                     url ? url : "");
        return NULL;
    }
    c = u.unix_path[0] ? redisConnectUnixWithTimeout(u.unix_path, tv)
                       : redisConnectWithTimeout(u.host, u.port, tv);
    if (!c || c->err) {
        baton_seterr(errstr, errlen, BATON_ERR_REDIS,
                     "connecting to Redis at %s: %s", url,
                     c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, (struct timeval){10, 0});
    if (u.password[0]) {
        const char *argv[] = {"AUTH", u.password};
        if (redis_simple(c, errstr, errlen, "Redis AUTH", 2, argv)) goto fail;
    }
    if (u.db) {
        char db[16];
        const char *argv[] = {"SELECT", db};
        snprintf(db, sizeof db, "%d", u.db);
        if (redis_simple(c, errstr, errlen, "Redis SELECT", 2, argv))
            goto fail;
    }
    return c;
fail:
    redisFree(c);
    return NULL;
}
