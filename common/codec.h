/*
 * codec.h -- the wire envelopes of Baton and their two encodings.
 *
 * Four envelope types travel over Kafka, each defined by an Avro schema in
 * schemas/ (compiled into the binaries, see schemas.c):
 *
 *   topic              envelope          schema
 *   baton.commands     baton_command_t   schemas/command.avsc
 *   baton.tasks.<q>    baton_task_t      schemas/task.avsc
 *   baton.results      baton_result_t    schemas/result.avsc
 *   baton.events       baton_event_t     schemas/event.avsc
 *
 * On the wire a message value is Avro binary (no container, no schema id)
 * unless the Kafka header `content-type` is `application/json`, in which case
 * it is one JSON object with the same field names; nullable fields may be
 * given as plain values or omitted.  Payloads inside envelopes (workflow
 * input, activity input and output, signal payloads, event data) are JSON
 * text carried in string fields.  docs/wire-protocol.md is the reference for
 * worker authors.
 *
 * All strings in the structs below are NUL-terminated and owned by the
 * struct: baton_codec_*_clear() frees them.  Decoders validate: a message
 * that cannot be decoded, misses a required field or carries a payload that
 * is not valid JSON yields BATON_ERR_INVALID and a reason naming the field.
 * A baton_codec_t is not thread-safe: use one per thread.
 */
#ifndef BATON_CODEC_H
#define BATON_CODEC_H

#include "baton_common.h"

#define BATON_CONTENT_TYPE_JSON "application/json"
#define BATON_CONTENT_TYPE_AVRO "application/vnd.baton.avro"

/* A queue name becomes the Kafka topic <prefix>.tasks.<queue>: Kafka's
 * topic characters and length (249) minus room for the prefix. */
#define BATON_QUEUE_NAME_MAX (249 - 12)
/* The longest retry hint a result may carry (one year): larger ones are
 * cut to it when decoded. */
#define BATON_RETRY_AFTER_MAX_MS (366LL * 86400 * 1000)

/* 1 when q is a queue name: 1 to BATON_QUEUE_NAME_MAX of [A-Za-z0-9._-]
 * (the workflow validator and the task decoder apply the same rule). */
int baton_codec_queue_ok(const char *q);

typedef enum {
    BATON_CMD_START = 0,
    BATON_CMD_SIGNAL,
    BATON_CMD_CANCEL,
    BATON_CMD_TERMINATE,
} baton_cmd_kind_t;

/* A command to the orchestrator.  workflow_type and input for START;
 * name and payload for SIGNAL; reason for CANCEL and TERMINATE. */
typedef struct baton_command {
    baton_cmd_kind_t kind;
    char *workflow_id;   /* required, 1..256 bytes */
    char *workflow_type; /* START: definition name */
    char *name;          /* SIGNAL: signal name */
    char *payload;       /* START: input JSON; SIGNAL: payload JSON */
    char *reason;        /* CANCEL/TERMINATE: free text */
    char *request_id;    /* optional, echoed into history */
    int64_t sent_at_ms;  /* 0 when unknown */
    /* Added in schema version 2 (trailing, all optional; see
     * schemas/command.avsc).  Set by batond itself for child runs: */
    char *parent_id;          /* START of a child run: the parent workflow */
    char *parent_task_id;     /* START of a child run: the task id of the
                                 parent's pending step that the child's end
                                 answers (a Result to baton.results, key =
                                 parent_id) */
    char *definition_version; /* START: run this version of workflow_type
                                 (a child runs on its parent's version);
                                 NULL = the newest */
    char *branch;             /* START: path of the sub-state-machine to run
                                 (a Parallel branch or Map iteration, see
                                 baton_asl_def_sub); NULL = the whole one */
    char *task_id;            /* CANCEL notices on baton.cancels: the
                                 activity attempt that workers must stop */
    /* Added in schema version 3 (trailing, all optional): the contract of
     * baton-bridge (docs/bridge.md, docs/wire-protocol.md). */
    int32_t start_if_absent;  /* SIGNAL: start_or_signal -- when no run may
                                 receive it, start workflow_type with
                                 start_input instead (0 or 1) */
    char *start_input;        /* JSON: input of that start; NULL = {} */
    char *id_reuse;           /* START / start_if_absent: one of the
                                 BATON_ID_REUSE_* names; NULL = the first */
    char *dedupe_id;          /* at most one command per dedupe id is
                                 applied (per workflow); NULL = no dedupe */
    int64_t dedupe_window_ms; /* how long the id is remembered; 0 = default */
    int64_t signal_hold_ms;   /* SIGNAL to a workflow not started yet: held
                                 this long; 0 = default (one hour) */
    char *source_trigger;     /* baton-bridge: the trigger (tracing) */
    char *source_topic;       /* the source event's topic, partition and */
    int32_t source_partition; /* offset (meaningful when source_topic is */
    int64_t source_offset;    /* set) */
    /* Added in schema version 4 (trailing, optional): */
    char *run_path; /* START of a child run: its path from the
                                 top-level run (baton_task_t run_path) */
    /* Not in the envelope: the Kafka headers traceparent and tracestate
     * of the message (docs/tracing.md), set by whoever read it (NULL when
     * absent); baton_command_clear frees them, encoders ignore them. */
    char *traceparent;
    char *tracestate;
    /* Added in schema version 5 (trailing, optional): */
    char *budget; /* START: JSON {"MaxTokens", "MaxCalls", "MaxCost"}: the
                     run's budget for model calls (with the definition's
                     Budget, the smaller per field); a child run's START
                     carries what its parent has left; NULL = none */
} baton_command_t;

/* The id-reuse policies of a START (command field id_reuse). */
#define BATON_ID_REUSE_REFUSE_WHILE_RUNNING "refuse_while_running"
#define BATON_ID_REUSE_ALLOW_AFTER_CLOSE "allow_after_close"
#define BATON_ID_REUSE_NEVER "never"
/* 1 when s is one of the three names above. */
int baton_id_reuse_valid(const char *s);
/* Longest dedupe_id accepted (bytes). */
#define BATON_DEDUPE_ID_MAX 1024

/* An activity task, produced by batond to baton.tasks.<queue>. */
typedef struct baton_task {
    char *task_id;         /* "<workflow_id>/<activity_seq>/<attempt>" */
    char *idempotency_key; /* "<workflow_id>/<activity_seq>" */
    char *workflow_id;
    int64_t activity_seq;
    int32_t attempt;          /* 1 for the first attempt */
    char *activity_type;      /* handler name in the worker */
    char *queue;              /* task queue: topic baton.tasks.<queue> */
    char *input;              /* JSON */
    int32_t result_partition; /* partition of baton.results to reply to */
    int64_t scheduled_at_ms;
    int32_t timeout_seconds;   /* 0 = none */
    int32_t heartbeat_seconds; /* 0 = none */
    char *heartbeat_details;   /* JSON from the previous attempt, or NULL */
    /* Added in schema version 4 (trailing, optional; NULL from older
     * writers): the run's lineage (docs/wire-protocol.md "Lineage"). */
    char *root_workflow_id;   /* the top-level run (= workflow_id there) */
    char *parent_workflow_id; /* the run that started this one; NULL at
                                  the top */
    char *run_path;           /* "" at the top, else "<seq>[:<index>]" per
                                  level from the root, joined by '/':
                                  workflow_id = root_workflow_id + ":" +
                                  run_path with '/' read as ':' */
} baton_task_t;

typedef enum {
    BATON_RESULT_COMPLETED = 0,
    BATON_RESULT_FAILED,
    BATON_RESULT_HEARTBEAT,
} baton_result_kind_t;

/* An activity result, produced by a worker to baton.results (partition =
 * the task's result_partition, key = workflow_id). */
typedef struct baton_result {
    char *task_id; /* the task's task_id, unchanged */
    char *workflow_id;
    baton_result_kind_t kind;
    char *output;           /* COMPLETED: JSON; HEARTBEAT: details JSON */
    char *error;            /* FAILED: error name, e.g. "States.TaskFailed" */
    char *cause;            /* FAILED: free text */
    int64_t retry_after_ms; /* FAILED: hint, 0 = none; decoding caps it at
                               BATON_RETRY_AFTER_MAX_MS */
    char *worker;           /* optional worker identity */
    int64_t finished_at_ms;
    int32_t non_retryable; /* FAILED: 1 = skip Retry, go to Catch (schema
                              version 2, trailing, default false) */
    char *usage; /* version 3 (trailing, optional): a child run's report:
                    JSON, the model-call usage of the child and its own
                    children (orchestrator/budget.h); NULL = none */
} baton_result_t;

/* A workflow history event, produced to baton.events (key = workflow_id)
 * and kept in Redis.  (workflow_id, seq) identifies it: a consumer that sees
 * the same pair twice sees a re-sent duplicate. */
typedef struct baton_event {
    char *workflow_id;
    int64_t seq; /* 1, 2, 3 ... per workflow */
    char *type;  /* "WorkflowStarted", "ActivityScheduled", ... */
    int64_t time_ms;
    char *state; /* state name in the definition, or NULL */
    char *data;  /* JSON, or NULL */
} baton_event_t;

typedef struct baton_codec baton_codec_t;

/* Parses the compiled-in schemas.  NULL and errstr on failure. */
baton_codec_t *baton_codec_new(char *errstr, size_t errlen);
void baton_codec_destroy(baton_codec_t *codec); /* NULL is a no-op */

/* Payload encryption (common/crypt.h, codec_crypt.c): with a keyring set,
 * encoders seal the payload fields (command payload and start_input, task
 * input and heartbeat_details -- for the queues crypt.queues names --,
 * result output and cause, event data) with the active key, and decoders
 * open every sealed one (plaintext passes unchanged); a sealed field whose
 * key is missing fails the decode (BATON_ERR_CONFIG / NOTFOUND, naming the
 * key id).  kr is borrowed and must outlive the codec; NULL turns it off. */
struct baton_crypt;
void baton_codec_set_crypt(baton_codec_t *codec, const struct baton_crypt *kr);
const struct baton_crypt *baton_codec_crypt(const baton_codec_t *codec);

/* Encoders append nothing: *buf is allocated with baton_malloc and owned by
 * the caller; *len is its length.  json != 0 selects the JSON encoding. */
baton_err_t baton_codec_encode_command(baton_codec_t *c,
                                       const baton_command_t *cmd, int json,
                                       char **buf, size_t *len, char *errstr,
                                       size_t errlen);
baton_err_t baton_codec_encode_task(baton_codec_t *c, const baton_task_t *t,
                                    int json, char **buf, size_t *len,
                                    char *errstr, size_t errlen);
/* The task as a version-3 Avro record (docs/wire-protocol.md "Schema
 * evolution"): every field but the version-4 lineage, which is dropped,
 * for workers whose reader refuses trailing bytes (Baton's C SDK before
 * version 4).  Baton's decoder reads it back with the lineage NULL.  *buf
 * as baton_codec_encode_task's. */
baton_err_t baton_codec_encode_task_v3(baton_codec_t *c, const baton_task_t *t,
                                       char **buf, size_t *len, char *errstr,
                                       size_t errlen);
baton_err_t baton_codec_encode_result(baton_codec_t *c, const baton_result_t *r,
                                      int json, char **buf, size_t *len,
                                      char *errstr, size_t errlen);
baton_err_t baton_codec_encode_event(baton_codec_t *c, const baton_event_t *e,
                                     int json, char **buf, size_t *len,
                                     char *errstr, size_t errlen);

/* Decoders fill *out (zeroed first; clear it even on error).  json != 0
 * when the message carried content-type application/json. */
baton_err_t baton_codec_decode_command(baton_codec_t *c, const void *buf,
                                       size_t len, int json,
                                       baton_command_t *out, char *errstr,
                                       size_t errlen);
baton_err_t baton_codec_decode_task(baton_codec_t *c, const void *buf,
                                    size_t len, int json, baton_task_t *out,
                                    char *errstr, size_t errlen);
baton_err_t baton_codec_decode_result(baton_codec_t *c, const void *buf,
                                      size_t len, int json, baton_result_t *out,
                                      char *errstr, size_t errlen);
baton_err_t baton_codec_decode_event(baton_codec_t *c, const void *buf,
                                     size_t len, int json, baton_event_t *out,
                                     char *errstr, size_t errlen);

void baton_command_clear(baton_command_t *cmd);
void baton_task_clear(baton_task_t *t);
void baton_result_clear(baton_result_t *r);
void baton_event_clear(baton_event_t *e);

const char *baton_cmd_kind_name(baton_cmd_kind_t k); /* "START" ... */
int baton_cmd_kind_parse(const char *s, baton_cmd_kind_t *out); /* 0 ok */
const char *baton_result_kind_name(baton_result_kind_t k);

/* Longest nonce of a task id (lower-case hex digits). */
#define BATON_TASK_NONCE_MAX 32

/* Parses "<workflow_id>/<seq>/<attempt>[.<nonce>]" from the right (ids may
 * contain '/'); the nonce is 1..BATON_TASK_NONCE_MAX lower-case hex digits
 * batond draws at random for each attempt (docs/wire-protocol.md).
 * Returns 0 and fills the outputs (wf_id_len = length of the id prefix),
 * or -1 when malformed. */
int baton_task_id_parse(const char *task_id, size_t *wf_id_len, int64_t *seq,
                        int32_t *attempt);
/* The nonce of a well-formed task id (borrowed, a suffix of it), "" when it
 * has none. */
const char *baton_task_id_nonce(const char *task_id);

#endif /* BATON_CODEC_H */
