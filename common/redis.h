/*
 * redis.h -- connecting to Redis from a `redis.url` (the thin Redis edge
 * shared by batond and the tools; batond's key layout is in common/keys.h).
 *
 * URL forms:
 *   redis://[[user]:password@]host[:port][/db]   (user: a Redis 6 ACL user)
 *   unix://[[user]:password@]/path/to/sock
 * User and password are percent-decoded (%40 is '@', %3A ':', %25 '%') and
 * may be of any length; the userinfo ends at the last '@', so even an
 * unencoded '@' in a password parses.  The configuration keys redis.user
 * and redis.password, when set, override the URL's (so the URL itself can
 * be public and the password come from a file: redis.password.file, or
 * $BATON_REDIS_PASSWORD_FILE; config.h).  A URL is never printed whole:
 * errors and logs show it through baton_redact_url (redact.h).
 *
 * TLS: Debian 12's hiredis (0.14) has no hiredis_ssl, so rediss:// is
 * refused with a pointer to the stunnel/sidecar set-up of
 * docs/security.md.
 */
#ifndef BATON_REDIS_H
#define BATON_REDIS_H

#include <hiredis/hiredis.h>

#include "baton_common.h"
#include "config.h"

/* A parsed redis.url; strings owned by the struct (baton_redis_url_free). */
typedef struct baton_redis_url {
    char *host;      /* NULL for a unix socket */
    int port;        /* default 6379 */
    char *unix_path; /* NULL for TCP */
    char *user;      /* NULL: none (AUTH with the password alone) */
    char *password;  /* NULL: none */
    int db;
} baton_redis_url_t;

/* Parses url into *u (zeroed first).  Returns BATON_OK, or
 * BATON_ERR_CONFIG with errstr naming the (redacted) URL and the problem,
 * or BATON_ERR_NOMEM.  On error *u holds nothing to free. */
baton_err_t baton_redis_url_parse(const char *url, baton_redis_url_t *u,
                                  char *errstr, size_t errlen);
void baton_redis_url_free(baton_redis_url_t *u);

/* Connects, authenticates (AUTH [user] password) and selects the db.
 * Returns a context owned by the caller (redisFree), or NULL with errstr
 * naming the redacted URL and the reason. */
redisContext *baton_redis_connect(const char *url, int timeout_ms, char *errstr,
                                  size_t errlen);

/* The same with user and password (each NULL: the URL's) overriding the
 * URL's: for a process that keeps the settings, not the configuration. */
redisContext *baton_redis_connect_with(const char *url, const char *user,
                                       const char *password, int timeout_ms,
                                       char *errstr, size_t errlen);

/* The same from a configuration: redis.url, with redis.user and
 * redis.password overriding the URL's when set. */
redisContext *baton_redis_connect_conf(const baton_conf_t *conf, int timeout_ms,
                                       char *errstr, size_t errlen);

/* The redacted form of conf's redis.url, for log lines (into buf). */
const char *baton_redis_url_display(const baton_conf_t *conf, char *buf,
                                    size_t len);

#endif /* BATON_REDIS_H */
