/*
 * config.h -- Baton's string-keyed configuration object.
 *
 * Every binary (batond, workers, batonctl, the bench) reads its settings into
 * one baton_conf_t, in this order, later sources overriding earlier ones:
 *
 *   1. the config file: --config FILE, else $BATON_CONFIG, else the dev
 *      stack's connection file ($BATON_STACK_FILE, default
 *      build/dev/stack.conf) when it exists;
 *   2. the environment: BATON_KAFKA_BROKERS -> kafka.bootstrap.servers,
 *      BATON_REDIS_URL -> redis.url, BATON_LOG_LEVEL -> log.level, and the
 *      secrets BATON_REDIS_PASSWORD, BATON_KAFKA_SASL_PASSWORD, ... (the
 *      table in config.c); each variable also has a <NAME>_FILE form that
 *      names a file holding the value;
 *   3. command-line flags (the program calls baton_conf_set).
 *
 * File format: one `key = value` per line, `#` starts a comment line.
 * Secrets from files: `<key>.file = PATH` (any source) sets <key> to the
 * contents of PATH, trailing newlines cut: kafka.sasl.password.file,
 * kafka.ssl.key.password.file, redis.password.file, redis.url.file.
 * Keys under `kafka.` are handed to librdkafka unchanged (any librdkafka
 * property may be set; `kafka.consumer.X` and `kafka.producer.X` only to
 * consumers / producers), so librdkafka validates them and its error names
 * the key.  Every other key must be one of the keys documented in config.c;
 * an unknown key or a bad value is an error naming the file, the line and
 * the key.
 */
#ifndef BATON_CONFIG_H
#define BATON_CONFIG_H

#include <stdio.h>

#include "baton_common.h"

typedef struct baton_conf baton_conf_t;

baton_conf_t *baton_conf_new(void);
void baton_conf_destroy(baton_conf_t *conf); /* NULL is a no-op */

/* Sets name=value (copied).  Unknown non-kafka keys and values of the wrong
 * type are refused with BATON_ERR_CONFIG and a message in errstr. */
baton_err_t baton_conf_set(baton_conf_t *conf, const char *name,
                           const char *value, char *errstr, size_t errlen);

/* Returns the value (owned by conf) or the documented default, or NULL. */
const char *baton_conf_get(const baton_conf_t *conf, const char *name);
int64_t baton_conf_get_int(const baton_conf_t *conf, const char *name);

/* Loads a `key = value` file.  Errors name "path:line". */
baton_err_t baton_conf_load_file(baton_conf_t *conf, const char *path,
                                 char *errstr, size_t errlen);

/* Loads `key = value` lines from text (modified in place: lines are cut),
 * path naming it in errors ("path:line: ..."). */
baton_err_t baton_conf_load_text(baton_conf_t *conf, const char *path,
                                 char *text, char *errstr, size_t errlen);

/* Applies the BATON_* environment overrides. */
baton_err_t baton_conf_load_env(baton_conf_t *conf, char *errstr,
                                size_t errlen);

/* Steps 1 and 2 above.  explicit_path may be NULL.  Also configures the
 * log level from log.level / log.debug. */
baton_err_t baton_conf_load_default(baton_conf_t *conf,
                                    const char *explicit_path, char *errstr,
                                    size_t errlen);

/* Calls cb for every set key starting with prefix, in insertion order, with
 * the key stripped of the prefix.  Stops and returns cb's first non-zero. */
typedef int (*baton_conf_cb_t)(const char *key, const char *value,
                               void *opaque);
int baton_conf_foreach(const baton_conf_t *conf, const char *prefix,
                       baton_conf_cb_t cb, void *opaque);

/* The Redis key namespace of conf: redis.key.prefix when set, else
 * topic.prefix (default "baton", so keys stay baton:{pN}:...).  Borrowed
 * from conf.  docs/security.md, "Namespaces". */
const char *baton_conf_key_prefix(const baton_conf_t *conf);

/* Prints every documented key, its default and its meaning (for --help). */
void baton_conf_print_keys(FILE *out);

#endif /* BATON_CONFIG_H */
