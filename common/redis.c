/*
 * redis.c -- redis.url parsing and connection setup (redis.h).
 */
#include "redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into a new string (caller frees); NULL on a bad
 * escape (*bad = 1) or out of memory (*bad = 0). */
static char *url_decode(const char *s, size_t n, int *bad) {
    char *out = baton_malloc(n + 1), *o = out;
    *bad = 0;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
                baton_free(out);
                *bad = 1;
                return NULL;
            }
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

void baton_redis_url_free(baton_redis_url_t *u) {
    if (!u) return;
    baton_free(u->host);
    baton_free(u->unix_path);
    baton_free(u->user);
    if (u->password) {
        /* Do not leave the secret in freed memory. */
        volatile char *p = u->password;
        while (*p) *p++ = 0;
    }
    baton_free(u->password);
    memset(u, 0, sizeof *u);
}

/* user:password@ (the part before the last '@' of rest) into u. */
static int url_userinfo(const char *info, size_t n, baton_redis_url_t *u,
                        int *bad) {
    const char *colon = memchr(info, ':', n);
    size_t ulen = colon ? (size_t)(colon - info) : 0;
    const char *pw = colon ? colon + 1 : info;
    size_t pwlen = (size_t)(info + n - pw);
    if (ulen && !(u->user = url_decode(info, ulen, bad))) return -1;
    if (pwlen && !(u->password = url_decode(pw, pwlen, bad))) return -1;
    return 0;
}

static baton_err_t url_fail(const char *url, const char *why, int nomem,
                            baton_redis_url_t *u, char *errstr, size_t errlen) {
    char shown[512];
    baton_redis_url_free(u);
    if (nomem)
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                        "bad redis.url '%s': %s (expected "
                        "redis://[[user]:password@]host[:port][/db] or "
                        "unix://[[user]:password@]/path)",
                        baton_redact_url(url, shown, sizeof shown), why);
}

baton_err_t baton_redis_url_parse(const char *url, baton_redis_url_t *u,
                                  char *errstr, size_t errlen) {
    const char *p, *at, *end, *colon, *slash;
    int unix_sock, bad = 0;
    int64_t v;

    memset(u, 0, sizeof *u);
    u->port = 6379;
    if (!url) url = "";
    if (!strncmp(url, "rediss://", 9))
        return url_fail(url,
                        "TLS is not available in this build (Debian's "
                        "hiredis has no hiredis_ssl): use a local TLS "
                        "tunnel, docs/security.md",
                        0, u, errstr, errlen);
    unix_sock = !strncmp(url, "unix://", 7);
    if (!unix_sock && strncmp(url, "redis://", 8))
        return url_fail(url, "unknown scheme", 0, u, errstr, errlen);
    p = url + (unix_sock ? 7 : 8);
    if ((at = strrchr(p, '@'))) {
        if (url_userinfo(p, (size_t)(at - p), u, &bad))
            return url_fail(url, "bad %-escape in user or password", !bad, u,
                            errstr, errlen);
        p = at + 1;
    }
    if (unix_sock) {
        if (!*p) return url_fail(url, "no socket path", 0, u, errstr, errlen);
        if (!(u->unix_path = baton_strdup(p)))
            return url_fail(url, "", 1, u, errstr, errlen);
        return BATON_OK;
    }
    slash = strchr(p, '/');
    end = slash ? slash : p + strlen(p);
    colon = memchr(p, ':', (size_t)(end - p));
    if (colon) {
        char num[16];
        size_t n = (size_t)(end - colon - 1);
        if (n == 0 || n >= sizeof num)
            return url_fail(url, "bad port", 0, u, errstr, errlen);
        memcpy(num, colon + 1, n);
        num[n] = '\0';
        if (baton_parse_i64(num, &v) || v <= 0 || v > 65535)
            return url_fail(url, "bad port", 0, u, errstr, errlen);
        u->port = (int)v;
    } else {
        colon = end;
    }
    if (colon == p) return url_fail(url, "no host", 0, u, errstr, errlen);
    if (!(u->host = baton_strndup(p, (size_t)(colon - p))))
        return url_fail(url, "", 1, u, errstr, errlen);
    if (slash && slash[1]) {
        if (baton_parse_i64(slash + 1, &v) || v < 0 || v > 1000000)
            return url_fail(url, "bad db number", 0, u, errstr, errlen);
        u->db = (int)v;
    }
    return BATON_OK;
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

/* Connects with the parsed u; url is only shown (redacted) in errors. */
static redisContext *redis_open(const baton_redis_url_t *u, const char *url,
                                int timeout_ms, char *errstr, size_t errlen) {
    redisContext *c;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    char shown[512];

    baton_redact_url(url, shown, sizeof shown);
    c = u->unix_path ? redisConnectUnixWithTimeout(u->unix_path, tv)
                     : redisConnectWithTimeout(u->host, u->port, tv);
    if (!c || c->err) {
        baton_seterr(errstr, errlen, BATON_ERR_REDIS,
                     "connecting to Redis at %s: %s", shown,
                     c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, (struct timeval){10, 0});
    if (u->password) {
        const char *argv[] = {"AUTH", u->user ? u->user : u->password,
                              u->password};
        char err[512];
        if (redis_simple(c, err, sizeof err, "AUTH", u->user ? 3 : 2, argv)) {
            baton_redact_in(err, u->password);
            baton_seterr(errstr, errlen, BATON_ERR_REDIS, "Redis at %s: %s",
                         shown, err);
            goto fail;
        }
    }
    if (u->db) {
        char db[16];
        const char *argv[] = {"SELECT", db};
        snprintf(db, sizeof db, "%d", u->db);
        if (redis_simple(c, errstr, errlen, "Redis SELECT", 2, argv)) goto fail;
    }
    return c;
fail:
    redisFree(c);
    return NULL;
}

/* Replaces *field with a copy of value when value is set. */
static int url_override(char **field, const char *value) {
    char *v;
    if (!value || !*value) return 0;
    if (!(v = baton_strdup(value))) return -1;
    baton_free(*field);
    *field = v;
    return 0;
}

redisContext *baton_redis_connect_with(const char *url, const char *user,
                                       const char *password, int timeout_ms,
                                       char *errstr, size_t errlen) {
    baton_redis_url_t u;
    redisContext *c;
    if (baton_redis_url_parse(url, &u, errstr, errlen)) return NULL;
    if (url_override(&u.user, user) || url_override(&u.password, password)) {
        baton_redis_url_free(&u);
        baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c = redis_open(&u, url, timeout_ms, errstr, errlen);
    baton_redis_url_free(&u);
    return c;
}

redisContext *baton_redis_connect(const char *url, int timeout_ms, char *errstr,
                                  size_t errlen) {
    return baton_redis_connect_with(url, NULL, NULL, timeout_ms, errstr,
                                    errlen);
}

redisContext *baton_redis_connect_conf(const baton_conf_t *conf, int timeout_ms,
                                       char *errstr, size_t errlen) {
    return baton_redis_connect_with(
        baton_conf_get(conf, "redis.url"), baton_conf_get(conf, "redis.user"),
        baton_conf_get(conf, "redis.password"), timeout_ms, errstr, errlen);
}

const char *baton_redis_url_display(const baton_conf_t *conf, char *buf,
                                    size_t len) {
    return baton_redact_url(baton_conf_get(conf, "redis.url"), buf, len);
}
