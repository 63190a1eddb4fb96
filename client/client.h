/*
 * client.h -- baton_client, what batonctl and baton-api share: sending
 * commands to <topic.prefix>.commands and reading batond's state (Redis
 * snapshots and history, Kafka lag, the DLQ).  Every read returns a jansson
 * value the caller renders (batonctl: text or -o json; baton-api: the HTTP
 * answer); every failure fills an errstr buffer with what was being done
 * and why, and returns a baton_client_err_t saying which kind of failure it
 * was (an HTTP status follows from it).
 *
 * The files (client/):
 *   client.c         the handle, the error names, the Redis connection
 *   client_kafka.c   producing a command or a record, metadata, consumers
 *   client_redis.c   Redis commands, finding a workflow and its snapshot
 *   client_send.c    start, signal, cancel, terminate
 *   client_runs.c    describe, result, history, list
 *   client_lag.c     lag of every consumer group, per-queue backlog
 *   client_dlq.c     the DLQ records (common/dlq.h) and their replay
 *   client_defs.c    a workflow definition's text from Redis
 *   client_live.c    the live model output of streaming steps
 *   client_conformance.c  the worker conformance check (worker-check)
 *
 * Where it fits: commands are produced exactly as any Kafka client would
 * (key = workflow id, partition = murmur2(id)); reads go straight to
 * batond's Redis keys (common/keys.h, fields of orchestrator/snapshot.h).
 *
 * Thread: a handle is used by one thread at a time (it holds one Redis
 * connection); make one per thread.  librdkafka's own threads run the
 * client's log callback (locked).
 */
#ifndef BATON_CLIENT_H
#define BATON_CLIENT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "codec.h"
#include "config.h"

#define BATON_CLIENT_ID_MAX 256 /* codec.h: workflow ids are 1..256 bytes */
#define BATON_CLIENT_RESULT_WAIT_MAX_S 3600.0

/* Kinds of failure, 0 = success. */
typedef enum {
    BATON_CLIENT_OK = 0,
    BATON_CLIENT_E_INVALID,     /* a malformed argument: nothing was done */
    BATON_CLIENT_E_NOT_FOUND,   /* no such workflow, record or definition */
    BATON_CLIENT_E_CONFLICT,    /* refused in the current state (a DLQ
                                   record cut to a prefix) */
    BATON_CLIENT_E_UNAVAILABLE, /* Kafka or Redis did not answer in time */
    BATON_CLIENT_E_INTERNAL,    /* out of memory, an unexpected reply */
} baton_client_err_t;

/* "ok", "invalid", "not_found", "conflict", "unavailable", "internal". */
const char *baton_client_err2str(baton_client_err_t err);

typedef struct baton_client baton_client_t;

/* A client on conf (borrowed: it must outlive the client) with timeout_ms
 * for Kafka deliveries, metadata and Redis.  Connects lazily.  NULL with
 * errstr when out of memory. */
baton_client_t *baton_client_new(const baton_conf_t *conf, int timeout_ms,
                                 char *errstr, size_t errlen);
void baton_client_destroy(baton_client_t *c); /* NULL is a no-op */

/* Send commands as JSON envelopes instead of Avro (batonctl --json). */
void baton_client_set_json_envelope(baton_client_t *c, int on);
/* The partition count of <prefix>.commands when the caller knows it (a
 * long-running process looks it up once); else looked up on first need. */
void baton_client_set_partition_count(baton_client_t *c, int32_t n);
/* Partition count of <prefix>.commands (Kafka metadata, looked up once);
 * -1 when Kafka is not configured or not reachable. */
int32_t baton_client_partition_count(baton_client_t *c);
/* "<prefix>.commands" (owned by the client). */
const char *baton_client_commands_topic(const baton_client_t *c);
/* The configuration it was made with. */
const baton_conf_t *baton_client_conf(const baton_client_t *c);

/* ---- sending (client_send.c) -------------------------------------------- */

/* What a start says; NULL fields take their defaults. */
typedef struct baton_client_start {
    const char *type;      /* required */
    const char *id;        /* NULL: "<type>-<16 random hex digits>" */
    const char *input;     /* JSON text; NULL: {} */
    const char *version;   /* NULL: the newest */
    const char *id_reuse;  /* codec.h BATON_ID_REUSE_* name */
    const char *dedupe_id; /* at most one command per dedupe id applies */
    const char *budget;    /* JSON {"MaxTokens","MaxCalls","MaxCost"}, valid
                              (asl.h baton_asl_budget_check); NULL: none */
} baton_client_start_t;

/* Each produces one command and waits for Kafka's acknowledgement; *sent
 * (new reference) is {"id","command","topic","partition","offset"}.
 * E_INVALID (nothing sent) for an empty type or name, an id not 1..256
 * bytes; payload and input must already be valid JSON text. */
baton_client_err_t baton_client_start(baton_client_t *c,
                                      const baton_client_start_t *s,
                                      json_t **sent, char *errstr,
                                      size_t errlen);
baton_client_err_t baton_client_signal(baton_client_t *c, const char *id,
                                       const char *name, const char *payload,
                                       json_t **sent, char *errstr,
                                       size_t errlen);
/* kind: BATON_CMD_CANCEL or BATON_CMD_TERMINATE. */
baton_client_err_t baton_client_stop(baton_client_t *c, baton_cmd_kind_t kind,
                                     const char *id, const char *reason,
                                     json_t **sent, char *errstr,
                                     size_t errlen);
/* E_INVALID with errstr unless id has 1..256 bytes. */
baton_client_err_t baton_client_check_id(const char *id, char *errstr,
                                         size_t errlen);

/* ---- reading runs (client_runs.c, client_redis.c) ------------------------ */

/* The describe object: {"id","type","version","status","position","state",
 * "pending","error","cause","started","closed","quarantine","partition"}
 * (docs/batonctl.md describe -o json).  E_NOT_FOUND when there is none. */
baton_client_err_t baton_client_describe(baton_client_t *c, const char *id,
                                         json_t **out, char *errstr,
                                         size_t errlen);
/* Adds d["graph"]: the run's definition as a Mermaid flowchart with the
 * state snap names marked (describe --graph). */
baton_client_err_t baton_client_describe_graph(baton_client_t *c, json_t *d,
                                               char *errstr, size_t errlen);
/* Polls the run every 10 ms until it is closed or wait_s ran out (0: one
 * look).  *out = {"id","status","output","error","cause","position"}:
 * status RUNNING or HELD when it is still open at the deadline.
 * E_NOT_FOUND ("timed out after ... not found") when it never existed.
 * Blocks the calling thread up to wait_s. */
baton_client_err_t baton_client_result(baton_client_t *c, const char *id,
                                       double wait_s, json_t **out,
                                       char *errstr, size_t errlen);
/* Events seq >= from (1 = the first), at most limit (< 0: all), as an
 * array of {"seq","type","time","state","data"}; *next = the seq after the
 * last one returned when more follow, else 0.  E_NOT_FOUND when the run is
 * not there.  Events that are not JSON are skipped (and logged). */
baton_client_err_t baton_client_history(baton_client_t *c, const char *id,
                                        int64_t from, int64_t limit,
                                        json_t **events, int64_t *next,
                                        char *errstr, size_t errlen);
/* Every run (status and type: NULL = any; status is one of the statuses,
 * upper case) sorted by id, each {"id","type","status","position",
 * "pending","started","closed"}. */
baton_client_err_t baton_client_list(baton_client_t *c, const char *status,
                                     const char *type, json_t **rows,
                                     char *errstr, size_t errlen);
/* 1 when s (any case) is a status a run can have; buf gets it upper case. */
int baton_client_status_parse(const char *s, char *buf, size_t len);

/* The snapshot of id (a JSON object, new reference) into *snap, also
 * when unreadable (shown QUARANTINED).  scan: look through every
 * partition when murmur2 misses.  E_NOT_FOUND when there is none. */
baton_client_err_t baton_client_snapshot(baton_client_t *c, const char *id,
                                         int scan, json_t **snap, char *errstr,
                                         size_t errlen);
/* The partition where the last found workflow lives, -1 unknown. */
int32_t baton_client_wf_partition(const baton_client_t *c);
/* Status of a snapshot ("st"; QUARANTINED when "q" says why; "UNKNOWN"). */
const char *baton_client_snap_status(const json_t *snap);
const char *baton_client_snap_str(const json_t *snap, const char *key,
                                  const char *dflt);
/* Runs one Redis command (hiredis format); the reply belongs to the
 * caller.  NULL with errstr on failure or an error reply. */
__attribute__((format(printf, 5, 6))) redisReply *
baton_client_redis_cmd(baton_client_t *c, char *errstr, size_t errlen,
                       const char *what, const char *fmt, ...);
redisReply *baton_client_redis_vcmd(baton_client_t *c, char *errstr,
                                    size_t errlen, const char *what,
                                    const char *fmt, va_list ap);
/* The handle's Redis connection (opened on first use; owned by the
 * handle), for tools that run their own commands (batonctl doctor); NULL
 * with errstr when Redis cannot be reached. */
redisContext *baton_client_redis_context(baton_client_t *c, char *errstr,
                                         size_t errlen);
/* A consumer on the handle's Kafka configuration (group NULL: none), for
 * metadata and committed offsets; the caller destroys it.  NULL with
 * errstr on failure. */
rd_kafka_t *baton_client_consumer(baton_client_t *c, const char *group,
                                  char *errstr, size_t errlen);
/* Redis answers PING. */
baton_client_err_t baton_client_redis_ping(baton_client_t *c, char *errstr,
                                           size_t errlen);

/* ---- Kafka: lag, readiness (client_lag.c) -------------------------------- */

/* {"partitions":[{"group","topic","partition","committed","end","lag"}],
 * "total"} for batond's group, every worker group baton.worker.<queue> and
 * every bridge trigger (docs/batonctl.md lag -o json).  Trigger files that
 * do not load are skipped with a warning logged. */
baton_client_err_t baton_client_lag(baton_client_t *c, json_t **out,
                                    char *errstr, size_t errlen);
/* Kafka's metadata answers within the time-out. */
baton_client_err_t baton_client_kafka_ping(baton_client_t *c, char *errstr,
                                           size_t errlen);

/* ---- the DLQ (client_dlq.c) ---------------------------------------------- */

/* Records of <prefix>.dlq up to the end read at the call, at most limit
 * (< 0: all), after waiting up to wait_s for the first one: each
 * {"partition","offset","timestamp","source_topic","source_partition",
 * "source_offset","trigger","key","reason","cut","content_type",
 * "value_size"} plus "value" (base64) when base64 is set, else
 * "value_prefix" (escaped text, cut). */
baton_client_err_t baton_client_dlq_list(baton_client_t *c, double wait_s,
                                         int64_t limit, int base64,
                                         json_t **records, char *errstr,
                                         size_t errlen);
/* Re-produces DLQ record partition:offset to its source topic (or to: when
 * not NULL).  *out = {"dlq_partition","dlq_offset","topic","partition",
 * "offset"}.  E_NOT_FOUND when there is no such record, E_CONFLICT when
 * its value was cut, E_INVALID when it names no source and to is NULL. */
baton_client_err_t baton_client_dlq_replay(baton_client_t *c, int32_t partition,
                                           int64_t offset, const char *to,
                                           json_t **out, char *errstr,
                                           size_t errlen);

/* ---- definitions (client_defs.c) ----------------------------------------- */

/* {"type","version","definition":{the ASL JSON}} of type at version (NULL:
 * the newest kept in Redis).  E_NOT_FOUND when Redis has none. */
baton_client_err_t baton_client_definition(baton_client_t *c, const char *type,
                                           const char *version, json_t **out,
                                           char *errstr, size_t errlen);

/* ---- live model output (client_live.c) ---------------------------------- */

/* The entries of one live-output stream of run id (common/keys.h): step
 * seq's, or the run's index when seq is NULL, after the stream entry id
 * after ("0-0": from the first), at most count (<= 0: 1000), waiting up
 * to block_ms (0: no wait) for the first one.  *entries = [{"id", then the
 * entry's fields: "event", "attempt", "text", "error", "seq"}] (empty
 * when none).  E_INVALID for a bad id or after. */
baton_client_err_t baton_client_live_entries(baton_client_t *c, const char *id,
                                             const char *seq, const char *after,
                                             int block_ms, int count,
                                             json_t **entries, char *errstr,
                                             size_t errlen);
/* What is new in run id's live output since cursor (NULL or "": all that
 * Redis keeps): *out = {"id","status","steps":[{"seq","attempt","text",
 * "done","error","restarted"}],"cursor"}, one row per step with new
 * entries: text is the new text of its current attempt, restarted true
 * when that text starts the attempt's reply (a new attempt, or a first
 * look: what the caller had for the step is replaced, else appended to),
 * done when the attempt's reply is complete, error the failed attempt's
 * error name (else null).  cursor (opaque) is what the next call passes.
 * E_NOT_FOUND when the run is not there, E_INVALID for a cursor this call
 * did not return.  Never blocks beyond its Redis calls. */
baton_client_err_t baton_client_live(baton_client_t *c, const char *id,
                                     const char *cursor, json_t **out,
                                     char *errstr, size_t errlen);
/* ---- worker conformance (client_conformance.c) ------------------------- */

/* The conformance workflow baton.conformance.<queue> (new reference; NULL
 * when out of memory): the definition batond must load for
 * baton_client_worker_check (docs/wire-protocol.md#conformance). */
json_t *baton_client_conformance_definition(const char *queue);
/* Drives the workers of queue through the conformance cases, each a run of
 * baton.conformance.<queue> (minutes at most; blocks the calling thread).
 * *out = {"queue","workflow","cases":[{"case","ok","expected","got",
 * "note","run"}],"passed","failed"}; a failed case is not an error (the
 * call returns OK), E_INVALID for a bad queue name. */
baton_client_err_t baton_client_worker_check(baton_client_t *c,
                                             const char *queue, json_t **out,
                                             char *errstr, size_t errlen);

#endif
