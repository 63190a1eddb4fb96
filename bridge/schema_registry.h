/*
 * schema_registry.h -- where baton-bridge's avro format finds writer
 * schemas: a Confluent-compatible Schema Registry over HTTP (libcurl) and
 * schema files named in the trigger, with a bounded cache.
 *
 * REST subset used (Confluent Schema Registry API; Apicurio Registry
 * serves it under /apis/ccompat/v7):
 *
 *   GET <url>/schemas/ids/{id}                  -> {"schema": "<Avro JSON>",
 *                                                   "schemaType": "AVRO"?}
 *   GET <url>/subjects/{subject}/versions/{v}   -> {"id": 7, "schema": ...}
 *                                                  (v: a number or latest)
 *
 * A schema of an id never changes, so it is cached by id for good (at
 * most cache_max schemas, least recently used out first); a subject's
 * "latest" is cached SREG_LATEST_TTL_MS, a numbered version for good.  A
 * fingerprint (CRC-64-AVRO of the Parsing Canonical Form, avro_json.h)
 * finds a schema among the files and the schemas fetched so far.
 *
 * A registry that does not answer (connection refused, time-out, HTTP 5xx,
 * 401/403, 429) is retried with backoff (100 ms doubling to 2 s) for up to
 * wait_ms; then the lookup fails with BATON_ERR_IO (the bridge sends the
 * record to the DLQ).  404 is an answer: BATON_ERR_NOTFOUND at once.
 * Basic auth when a user is given; the password never appears in a
 * message, nor does user information in the URL.
 *
 * One thread (the bridge loop's); the lookups block while they retry.
 */
#ifndef BATON_BRIDGE_SCHEMA_REGISTRY_H
#define BATON_BRIDGE_SCHEMA_REGISTRY_H

#include <avro.h>
#include <stdint.h>

#include "baton_common.h"

typedef struct baton_sreg baton_sreg_t;

typedef struct baton_sreg_conf {
    const char *url;      /* NULL or "": files only */
    const char *user;     /* NULL: no authentication */
    const char *password; /* with user */
    int64_t wait_ms;      /* how long an unreachable registry is retried */
    size_t cache_max;     /* schemas cached from the registry */
} baton_sreg_conf_t;

/* The strings of c are copied.  BATON_OK with *out, or BATON_ERR_NOMEM. */
baton_err_t baton_sreg_new(const baton_sreg_conf_t *c, baton_sreg_t **out,
                           char *errstr, size_t errlen);

/* Adds the Avro schema of a file (found by fingerprint only).
 * BATON_ERR_IO / BATON_ERR_INVALID naming the file. */
baton_err_t baton_sreg_add_file(baton_sreg_t *r, const char *path, char *errstr,
                                size_t errlen);

/* The writer schema of a registry id.  *out is borrowed: valid until the
 * next lookup.  BATON_ERR_NOTFOUND (unknown id), BATON_ERR_IO (registry
 * unreachable for wait_ms), BATON_ERR_INVALID (not an Avro schema),
 * BATON_ERR_CONFIG (no registry configured). */
baton_err_t baton_sreg_by_id(baton_sreg_t *r, int32_t id, avro_schema_t *out,
                             char *errstr, size_t errlen);

/* The schema of a subject's version ("latest" or a number) and its id;
 * errors as baton_sreg_by_id. */
baton_err_t baton_sreg_by_subject(baton_sreg_t *r, const char *subject,
                                  const char *version, avro_schema_t *out,
                                  int32_t *id, char *errstr, size_t errlen);

/* The schema of a fingerprint among the files and the schemas fetched;
 * BATON_ERR_NOTFOUND when none has it. */
baton_err_t baton_sreg_by_fingerprint(baton_sreg_t *r, uint64_t fp,
                                      avro_schema_t *out, char *errstr,
                                      size_t errlen);

/* HTTP requests made so far (the cache's effect shows here). */
int64_t baton_sreg_fetches(const baton_sreg_t *r);

void baton_sreg_destroy(baton_sreg_t *r); /* NULL is a no-op */

#endif /* BATON_BRIDGE_SCHEMA_REGISTRY_H */
