/*
 * redis.h -- connecting to Redis from a `redis.url` (the thin Redis edge
 * shared by batond and the tools; batond's key layout is in
 * orchestrator/store.c).
 *
 * URL forms: redis://[:password@]host[:port][/db] and unix:///path/to/sock.
 */
#ifndef BATON_REDIS_H
#define BATON_REDIS_H

#include <hiredis/hiredis.h>

#include "baton_common.h"

/* Connects, authenticates and selects the db.  Returns a context owned by
 * the caller (redisFree), or NULL with errstr naming the URL and reason. */
redisContext *baton_redis_connect(const char *url, int timeout_ms,
                                  char *errstr, size_t errlen);

#endif /* BATON_REDIS_H */
