/*
 * codec.c -- the wire codec: Baton's four envelopes (command, task, result,
 * event; see codec.h) to and from Avro binary and JSON.
 *
 * Every envelope is described once, by a field table below that mirrors its
 * schema in schemas/<name>.avsc field by field; baton_codec_new() checks the
 * compiled-in schema against the table, so the two cannot drift apart.  The
 * table drives both encodings, the validation and the clear functions.
 *
 * Avro binary (no container, no schema id, no magic byte):
 *
 *   type in the schema     bytes on the wire                 C field
 *   "string"               zigzag-varint length, UTF-8 bytes char * (required)
 *   ["null","string"]      varint branch 0 = null            char * or NULL
 *                          | branch 1 then a string
 *   "long" / "int"         zigzag varint                     int64_t / int32_t
 *   enum                   zigzag varint symbol index        C enum
 *   "boolean"              one byte, 0 or 1                  int32_t
 *
 * fields follow each other in schema order with nothing in between, and the
 * record must end exactly at the end of the message.
 *
 * Versions.  Version 2 of the protocol added trailing fields with defaults
 * to Command (parent_id, parent_task_id, definition_version, branch,
 * task_id) and Result (non_retryable).  A version-1 writer stops after the
 * last version-1 field, so the Avro decoder also accepts a record that ends
 * at any field boundary at or after the envelope's last version-1 field
 * (v1_fields in the table): the missing fields take their defaults.  Every
 * such default (null, false, 0) is a single zero byte in Avro binary, so the
 * decoder pads a short message with one zero byte per missing field and
 * reads it as a whole record.  A message that ends inside a field, or
 * before the end of the version-1 fields, is still truncated.  Encoders
 * always write every field of the current version.
 *
 * JSON: one object with the same field names.  Nullable fields may be null,
 * absent or a plain string; fields with a schema default may be absent;
 * enums are symbol strings ("START", case-insensitive on input); payload
 * fields (JSON text) may be a string holding JSON text or any JSON value
 * other than a string, which is stored as its compact serialization.
 * Unknown fields are ignored, duplicate fields rejected.
 *
 * Decoding never trusts the input.  avro-c 1.11 allocates a string's
 * claimed length before checking the buffer holds it (so a 5-byte message
 * can ask for gigabytes) and leaks that allocation when the message is
 * truncated, so every binary message is first scanned by a bounded walker
 * (baton_codec_avro_scan) that checks every length, branch, enum index and
 * the absence of trailing bytes; only a message that passes reaches
 * avro_value_read.  Then every envelope is validated the same way in both
 * encodings (baton_codec_validate): required fields, UTF-8, workflow_id
 * length, payloads that parse as JSON, task_id format and consistency.
 *
 * Encoders validate too (except the JSON payloads, for speed), so Baton
 * never produces a message it would refuse.  Allocation of everything the
 * caller owns goes through baton_malloc; avro-c and jansson use their own
 * allocators for their internals.
 */
#include "codec.h"

#include <assert.h>
#include <avro.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Generated from schemas/<name>.avsc by common/embed_schemas.cmake. */
extern const char *baton_schema_command;
extern const char *baton_schema_task;
extern const char *baton_schema_result;
extern const char *baton_schema_event;

#define BATON_WORKFLOW_ID_MAX 256
/* Kafka topic names are at most 249 bytes; "baton.tasks." takes 12. */
#define BATON_QUEUE_NAME_MAX (249 - 12)

_Static_assert(sizeof(baton_cmd_kind_t) == sizeof(int),
               "enum fields are copied as int");
_Static_assert(sizeof(baton_result_kind_t) == sizeof(int),
               "enum fields are copied as int");

/* ---- envelope descriptions ------------------------------------------- */

typedef enum {
    BATON_CODEC_F_STRING,   /* "string"                      char *  */
    BATON_CODEC_F_JSON,     /* "string" holding JSON text    char *  */
    BATON_CODEC_F_OPT,      /* ["null","string"]             char *  */
    BATON_CODEC_F_OPT_JSON, /* ["null","string"], JSON text  char *  */
    BATON_CODEC_F_LONG,     /* "long"                        int64_t */
    BATON_CODEC_F_INT,      /* "int"                         int32_t */
    BATON_CODEC_F_ENUM,     /* enum                          C enum  */
    BATON_CODEC_F_BOOL,     /* "boolean"                     int32_t */
} baton_codec_ftype_t;

typedef struct {
    const char *name;
    baton_codec_ftype_t type;
    size_t off;                 /* offsetof in the C struct */
    int has_default;            /* the schema gives a default: may be absent
                                   in JSON (always so for nullable fields) */
    const char *const *symbols; /* F_ENUM: NULL-terminated symbol list */
} baton_codec_field_t;

typedef struct {
    const char *what; /* "command": prefix of every error message */
    const char *const *schema_text;
    const baton_codec_field_t *fields;
    size_t nfields;
    size_t v1_fields; /* fields of protocol version 1: a binary record may
                         end after any field from this one on */
    size_t size;      /* sizeof the C struct */
    /* Checks across fields, after the table-driven checks passed. */
    baton_err_t (*check)(const void *s, char *errstr, size_t errlen);
} baton_codec_env_t;

enum {
    BATON_CODEC_COMMAND,
    BATON_CODEC_TASK,
    BATON_CODEC_RESULT,
    BATON_CODEC_EVENT,
    BATON_CODEC_NENV
};

static const char *const baton_codec_cmd_kinds[] = {"START", "SIGNAL",
                                                    "CANCEL", "TERMINATE",
                                                    NULL};
static const char *const baton_codec_result_kinds[] = {
    "COMPLETED", "FAILED", "HEARTBEAT", NULL};

#define BATON_FIELD(st, nm, ty, def)                                         \
    { #nm, BATON_CODEC_F_##ty, offsetof(st, nm), def, NULL }
#define BATON_ENUM_FIELD(st, nm, syms)                                       \
    { #nm, BATON_CODEC_F_ENUM, offsetof(st, nm), 0, syms }

static const baton_codec_field_t baton_codec_command_fields[] = {
    BATON_ENUM_FIELD(baton_command_t, kind, baton_codec_cmd_kinds),
    BATON_FIELD(baton_command_t, workflow_id, STRING, 0),
    BATON_FIELD(baton_command_t, workflow_type, OPT, 1),
    BATON_FIELD(baton_command_t, name, OPT, 1),
    BATON_FIELD(baton_command_t, payload, OPT_JSON, 1),
    BATON_FIELD(baton_command_t, reason, OPT, 1),
    BATON_FIELD(baton_command_t, request_id, OPT, 1),
    BATON_FIELD(baton_command_t, sent_at_ms, LONG, 1),
    /* version 2 */
    BATON_FIELD(baton_command_t, parent_id, OPT, 1),
    BATON_FIELD(baton_command_t, parent_task_id, OPT, 1),
    BATON_FIELD(baton_command_t, definition_version, OPT, 1),
    BATON_FIELD(baton_command_t, branch, OPT, 1),
    BATON_FIELD(baton_command_t, task_id, OPT, 1),
};
#define BATON_CODEC_COMMAND_V1_FIELDS 8

static const baton_codec_field_t baton_codec_task_fields[] = {
    BATON_FIELD(baton_task_t, task_id, STRING, 0),
    BATON_FIELD(baton_task_t, idempotency_key, STRING, 0),
    BATON_FIELD(baton_task_t, workflow_id, STRING, 0),
    BATON_FIELD(baton_task_t, activity_seq, LONG, 0),
    BATON_FIELD(baton_task_t, attempt, INT, 0),
    BATON_FIELD(baton_task_t, activity_type, STRING, 0),
    BATON_FIELD(baton_task_t, queue, STRING, 0),
    BATON_FIELD(baton_task_t, input, JSON, 0),
    BATON_FIELD(baton_task_t, result_partition, INT, 0),
    BATON_FIELD(baton_task_t, scheduled_at_ms, LONG, 1),
    BATON_FIELD(baton_task_t, timeout_seconds, INT, 1),
    BATON_FIELD(baton_task_t, heartbeat_seconds, INT, 1),
    BATON_FIELD(baton_task_t, heartbeat_details, OPT_JSON, 1),
};

static const baton_codec_field_t baton_codec_result_fields[] = {
    BATON_FIELD(baton_result_t, task_id, STRING, 0),
    BATON_FIELD(baton_result_t, workflow_id, STRING, 0),
    BATON_ENUM_FIELD(baton_result_t, kind, baton_codec_result_kinds),
    BATON_FIELD(baton_result_t, output, OPT_JSON, 1),
    BATON_FIELD(baton_result_t, error, OPT, 1),
    BATON_FIELD(baton_result_t, cause, OPT, 1),
    BATON_FIELD(baton_result_t, retry_after_ms, LONG, 1),
    BATON_FIELD(baton_result_t, worker, OPT, 1),
    BATON_FIELD(baton_result_t, finished_at_ms, LONG, 1),
    /* version 2 */
    BATON_FIELD(baton_result_t, non_retryable, BOOL, 1),
};
#define BATON_CODEC_RESULT_V1_FIELDS 9

static const baton_codec_field_t baton_codec_event_fields[] = {
    BATON_FIELD(baton_event_t, workflow_id, STRING, 0),
    BATON_FIELD(baton_event_t, seq, LONG, 0),
    BATON_FIELD(baton_event_t, type, STRING, 0),
    BATON_FIELD(baton_event_t, time_ms, LONG, 0),
    BATON_FIELD(baton_event_t, state, OPT, 1),
    BATON_FIELD(baton_event_t, data, OPT_JSON, 1),
};

static baton_err_t baton_codec_check_command(const void *s, char *errstr,
                                             size_t errlen);
static baton_err_t baton_codec_check_task(const void *s, char *errstr,
                                          size_t errlen);
static baton_err_t baton_codec_check_result(const void *s, char *errstr,
                                            size_t errlen);
static baton_err_t baton_codec_check_event(const void *s, char *errstr,
                                           size_t errlen);

static const baton_codec_env_t baton_codec_envs[BATON_CODEC_NENV] = {
    {"command", &baton_schema_command, baton_codec_command_fields,
     BATON_ARRAY_SIZE(baton_codec_command_fields),
     BATON_CODEC_COMMAND_V1_FIELDS, sizeof(baton_command_t),
     baton_codec_check_command},
    {"task", &baton_schema_task, baton_codec_task_fields,
     BATON_ARRAY_SIZE(baton_codec_task_fields),
     BATON_ARRAY_SIZE(baton_codec_task_fields), sizeof(baton_task_t),
     baton_codec_check_task},
    {"result", &baton_schema_result, baton_codec_result_fields,
     BATON_ARRAY_SIZE(baton_codec_result_fields),
     BATON_CODEC_RESULT_V1_FIELDS, sizeof(baton_result_t),
     baton_codec_check_result},
    {"event", &baton_schema_event, baton_codec_event_fields,
     BATON_ARRAY_SIZE(baton_codec_event_fields),
     BATON_ARRAY_SIZE(baton_codec_event_fields), sizeof(baton_event_t),
     baton_codec_check_event},
};

/* ---- the codec handle ------------------------------------------------- */

/* One parsed schema with its reusable generic value. */
typedef struct {
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value;
    int have_value;
} baton_codec_avro_t;

struct baton_codec {
    baton_codec_avro_t avro[BATON_CODEC_NENV];
    avro_reader_t reader; /* memory reader, re-pointed per decode */
    avro_writer_t writer; /* memory writer, re-pointed per encode */
};

/* ---- field access ----------------------------------------------------- */

static int baton_codec_is_str(baton_codec_ftype_t t) {
    return t == BATON_CODEC_F_STRING || t == BATON_CODEC_F_JSON ||
           t == BATON_CODEC_F_OPT || t == BATON_CODEC_F_OPT_JSON;
}

static int baton_codec_is_opt(baton_codec_ftype_t t) {
    return t == BATON_CODEC_F_OPT || t == BATON_CODEC_F_OPT_JSON;
}

static int baton_codec_is_json(baton_codec_ftype_t t) {
    return t == BATON_CODEC_F_JSON || t == BATON_CODEC_F_OPT_JSON;
}

/* The char * member a string field describes (owned by the struct). */
static char **baton_codec_str_at(void *s, const baton_codec_field_t *f) {
    return (char **)((char *)s + f->off);
}

static const char *baton_codec_str_get(const void *s,
                                       const baton_codec_field_t *f) {
    return *(char *const *)((const char *)s + f->off);
}

/* Numeric members are copied with memcpy: enums are int-sized (asserted
 * above) but not declared int. */
static int64_t baton_codec_num_get(const void *s,
                                   const baton_codec_field_t *f) {
    const char *p = (const char *)s + f->off;
    int64_t l;
    int32_t i;
    int e;
    switch (f->type) {
    case BATON_CODEC_F_LONG: memcpy(&l, p, sizeof l); return l;
    case BATON_CODEC_F_INT:
    case BATON_CODEC_F_BOOL: memcpy(&i, p, sizeof i); return i;
    default: memcpy(&e, p, sizeof e); return e;
    }
}

static void baton_codec_num_set(void *s, const baton_codec_field_t *f,
                                int64_t v) {
    char *p = (char *)s + f->off;
    int32_t i = (int32_t)v;
    int e = (int)v;
    switch (f->type) {
    case BATON_CODEC_F_LONG: memcpy(p, &v, sizeof v); break;
    case BATON_CODEC_F_INT:
    case BATON_CODEC_F_BOOL: memcpy(p, &i, sizeof i); break;
    default: memcpy(p, &e, sizeof e); break;
    }
}

static size_t baton_codec_nsymbols(const baton_codec_field_t *f) {
    size_t n = 0;
    while (f->symbols[n]) n++;
    return n;
}

/* Frees every string of an envelope and zeroes it. */
static void baton_codec_clear(const baton_codec_env_t *env, void *s) {
    if (!s) return;
    for (size_t i = 0; i < env->nfields; i++) {
        if (!baton_codec_is_str(env->fields[i].type)) continue;
        char **p = baton_codec_str_at(s, &env->fields[i]);
        baton_free(*p);
        *p = NULL;
    }
    memset(s, 0, env->size);
}

void baton_command_clear(baton_command_t *cmd) {
    baton_codec_clear(&baton_codec_envs[BATON_CODEC_COMMAND], cmd);
}
void baton_task_clear(baton_task_t *t) {
    baton_codec_clear(&baton_codec_envs[BATON_CODEC_TASK], t);
}
void baton_result_clear(baton_result_t *r) {
    baton_codec_clear(&baton_codec_envs[BATON_CODEC_RESULT], r);
}
void baton_event_clear(baton_event_t *e) {
    baton_codec_clear(&baton_codec_envs[BATON_CODEC_EVENT], e);
}

/* ---- names and task ids ----------------------------------------------- */

const char *baton_cmd_kind_name(baton_cmd_kind_t k) {
    if ((unsigned)k >= BATON_ARRAY_SIZE(baton_codec_cmd_kinds) - 1)
        return "UNKNOWN";
    return baton_codec_cmd_kinds[k];
}

/* Case-insensitive, so "start" typed by a person works too. */
int baton_cmd_kind_parse(const char *s, baton_cmd_kind_t *out) {
    if (!s) return -1;
    for (int i = 0; baton_codec_cmd_kinds[i]; i++) {
        if (strcasecmp(s, baton_codec_cmd_kinds[i]) == 0) {
            *out = (baton_cmd_kind_t)i;
            return 0;
        }
    }
    return -1;
}

const char *baton_result_kind_name(baton_result_kind_t k) {
    if ((unsigned)k >= BATON_ARRAY_SIZE(baton_codec_result_kinds) - 1)
        return "UNKNOWN";
    return baton_codec_result_kinds[k];
}

/* Parses the canonical decimal p[0..n): digits only, no sign, no leading
 * zero (so every number has one spelling), at most max.  -1 if not. */
static int baton_codec_parse_dec(const char *p, size_t n, int64_t max,
                                 int64_t *out) {
    int64_t v = 0;
    if (n == 0 || (n > 1 && p[0] == '0')) return -1;
    for (size_t i = 0; i < n; i++) {
        int d = p[i] - '0';
        if (d < 0 || d > 9) return -1;
        if (v > (max - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* The id may itself contain '/', so the two numbers are taken from the
 * right.  Attempts start at 1; the id prefix is 1..256 bytes. */
int baton_task_id_parse(const char *task_id, size_t *wf_id_len, int64_t *seq,
                        int32_t *attempt) {
    const char *a, *s;
    int64_t sv, av;
    if (!task_id) return -1;
    a = strrchr(task_id, '/');
    if (!a || a == task_id) return -1;
    for (s = a - 1; s > task_id && *s != '/'; s--)
        ;
    if (*s != '/' || s == task_id) return -1;
    if ((size_t)(s - task_id) > BATON_WORKFLOW_ID_MAX) return -1;
    if (baton_codec_parse_dec(s + 1, (size_t)(a - s - 1), INT64_MAX, &sv) ||
        baton_codec_parse_dec(a + 1, strlen(a + 1), INT32_MAX, &av) ||
        av < 1)
        return -1;
    if (wf_id_len) *wf_id_len = (size_t)(s - task_id);
    if (seq) *seq = sv;
    if (attempt) *attempt = (int32_t)av;
    return 0;
}

/* ---- validation ------------------------------------------------------- */

/* 1 when p[0..n) is well-formed UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF), as Avro strings and JSON both require. */
static int baton_codec_utf8_ok(const unsigned char *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k;
        unsigned cp, min;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xc2 && c <= 0xdf) { k = 1; cp = c & 0x1f; min = 0x80; }
        else if (c >= 0xe0 && c <= 0xef) { k = 2; cp = c & 0x0f; min = 0x800; }
        else if (c >= 0xf0 && c <= 0xf4) { k = 3; cp = c & 7; min = 0x10000; }
        else return 0;
        if (n - i - 1 < k) return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (p[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* Whether a failed jansson parse ran out of memory.  jansson 2.14 sets
 * json_error_out_of_memory only on some paths: where it fails to allocate
 * a container it returns with the error text still empty (every real
 * syntax error has a text) and the code byte unwritten; where the lexer
 * fails to allocate a token it reports a syntax error, which cannot be
 * told apart -- so a genuine out-of-memory while parsing may still come
 * out as BATON_ERR_INVALID. */
static int baton_codec_json_oom(const json_error_t *jerr) {
    /* text first: the code byte is only written along with a text */
    return jerr->text[0] == '\0' ||
           json_error_code(jerr) == json_error_out_of_memory;
}

/* Checks that text parses as one JSON value (any type).  Distinguishes
 * jansson running out of memory (NOMEM) from bad input (INVALID). */
static baton_err_t baton_codec_check_json_text(const baton_codec_env_t *env,
                                               const baton_codec_field_t *f,
                                               const char *text, char *errstr,
                                               size_t errlen) {
    json_error_t jerr;
    json_t *v = json_loadb(text, strlen(text), JSON_DECODE_ANY, &jerr);
    if (v) {
        json_decref(v);
        return BATON_OK;
    }
    if (baton_codec_json_oom(&jerr))
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                            "%s: field '%s': out of memory parsing JSON",
                            env->what, f->name);
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                        "%s: field '%s' is not valid JSON: %s (at byte %d)",
                        env->what, f->name, jerr.text, jerr.position);
}

/* Table-driven checks of a filled struct: required strings present, all
 * strings UTF-8, enums in range, JSON fields parse (only when check_json:
 * decoders do, encoders trust their caller), then the envelope's own
 * cross-field checks. */
static baton_err_t baton_codec_validate(const baton_codec_env_t *env,
                                        const void *s, int check_json,
                                        char *errstr, size_t errlen) {
    baton_err_t err;
    for (size_t i = 0; i < env->nfields; i++) {
        const baton_codec_field_t *f = &env->fields[i];
        const char *str;
        if (f->type == BATON_CODEC_F_BOOL) {
            int64_t v = baton_codec_num_get(s, f);
            if (v != 0 && v != 1)
                return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                    "%s: field '%s' must be 0 or 1, not "
                                    "%" PRId64,
                                    env->what, f->name, v);
            continue;
        }
        if (f->type == BATON_CODEC_F_ENUM) {
            int64_t v = baton_codec_num_get(s, f);
            if (v < 0 || (size_t)v >= baton_codec_nsymbols(f))
                return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                    "%s: field '%s' has no symbol %" PRId64,
                                    env->what, f->name, v);
            continue;
        }
        if (!baton_codec_is_str(f->type)) continue;
        str = baton_codec_str_get(s, f);
        if (!str) {
            if (baton_codec_is_opt(f->type)) continue;
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "%s: missing required field '%s'", env->what,
                                f->name);
        }
        if (!baton_codec_utf8_ok((const unsigned char *)str, strlen(str)))
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "%s: field '%s' is not valid UTF-8",
                                env->what, f->name);
        if (check_json && baton_codec_is_json(f->type) &&
            (err = baton_codec_check_json_text(env, f, str, errstr, errlen)))
            return err;
    }
    return env->check(s, errstr, errlen);
}

static baton_err_t baton_codec_check_wf_id(const char *what, const char *id,
                                           char *errstr, size_t errlen) {
    size_t n = strlen(id);
    if (n == 0 || n > BATON_WORKFLOW_ID_MAX)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: field 'workflow_id' must be 1 to %d bytes, "
                            "not %zu",
                            what, BATON_WORKFLOW_ID_MAX, n);
    return BATON_OK;
}

static baton_err_t baton_codec_need(const char *what, const char *field,
                                    const char *v, const char *when,
                                    char *errstr, size_t errlen) {
    if (v && *v) return BATON_OK;
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                        "%s: %s requires a non-empty field '%s'", what, when,
                        field);
}

static baton_err_t baton_codec_nonneg(const char *what, const char *field,
                                      int64_t v, char *errstr,
                                      size_t errlen) {
    if (v >= 0) return BATON_OK;
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                        "%s: field '%s' must be >= 0, not %" PRId64, what,
                        field, v);
}

/* An optional string that, when given, must not be empty. */
static baton_err_t baton_codec_not_empty(const char *what, const char *field,
                                         const char *v, char *errstr,
                                         size_t errlen) {
    if (!v || *v) return BATON_OK;
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                        "%s: field '%s' is empty (null when not given)", what,
                        field);
}

/* BATON_OK when id is a well-formed task id of workflow wf (both
 * NUL-terminated); otherwise INVALID naming field. */
static baton_err_t baton_codec_task_of(const char *what, const char *field,
                                       const char *id, const char *wf,
                                       const char *wf_field, char *errstr,
                                       size_t errlen) {
    size_t wlen;
    if (baton_task_id_parse(id, &wlen, NULL, NULL))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: field '%s' is not "
                            "<workflow_id>/<activity_seq>/<attempt>",
                            what, field);
    if (wlen != strlen(wf) || memcmp(id, wf, wlen) != 0)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: field '%s' does not belong to field '%s'",
                            what, field, wf_field);
    return BATON_OK;
}

/* The version-2 fields of a START: a child run names its parent and the
 * parent's step it answers (both or neither); a pinned version and a
 * branch are non-empty when given. */
static baton_err_t baton_codec_check_start(const baton_command_t *c,
                                           char *errstr, size_t errlen) {
    baton_err_t err;
    if ((err = baton_codec_need("command", "workflow_type", c->workflow_type,
                                "START", errstr, errlen)) ||
        (err = baton_codec_not_empty("command", "definition_version",
                                     c->definition_version, errstr,
                                     errlen)) ||
        (err = baton_codec_not_empty("command", "branch", c->branch, errstr,
                                     errlen)))
        return err;
    if (!c->parent_id != !c->parent_task_id)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "command: fields 'parent_id' and "
                            "'parent_task_id' go together (a child run "
                            "names both)");
    if (!c->parent_id) return BATON_OK;
    if (!*c->parent_id || strlen(c->parent_id) > BATON_WORKFLOW_ID_MAX)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "command: field 'parent_id' must be 1 to %d "
                            "bytes, not %zu",
                            BATON_WORKFLOW_ID_MAX, strlen(c->parent_id));
    return baton_codec_task_of("command", "parent_task_id", c->parent_task_id,
                               c->parent_id, "parent_id", errstr, errlen);
}

/* START needs the definition to run, SIGNAL the signal's name; a CANCEL
 * may name the activity attempt to stop (a notice on baton.cancels).
 * Version-2 fields on other kinds are carried but mean nothing. */
static baton_err_t baton_codec_check_command(const void *s, char *errstr,
                                             size_t errlen) {
    const baton_command_t *c = s;
    baton_err_t err = baton_codec_check_wf_id("command", c->workflow_id,
                                              errstr, errlen);
    if (err) return err;
    if (c->kind == BATON_CMD_START)
        return baton_codec_check_start(c, errstr, errlen);
    if (c->kind == BATON_CMD_SIGNAL)
        return baton_codec_need("command", "name", c->name, "SIGNAL", errstr,
                                errlen);
    if (c->kind == BATON_CMD_CANCEL && c->task_id)
        return baton_codec_task_of("command", "task_id", c->task_id,
                                   c->workflow_id, "workflow_id", errstr,
                                   errlen);
    return BATON_OK;
}

/* 1 when key is exactly "<wf>/<seq>". */
static int baton_codec_idem_key_ok(const char *key, const char *wf,
                                   int64_t seq) {
    char tail[32];
    size_t n = strlen(wf);
    snprintf(tail, sizeof tail, "/%" PRId64, seq);
    return strncmp(key, wf, n) == 0 && strcmp(key + n, tail) == 0;
}

static int baton_codec_queue_ok(const char *q) {
    size_t n = strlen(q);
    if (n == 0 || n > BATON_QUEUE_NAME_MAX) return 0;
    return strspn(q, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789._-") == n;
}

/* The task_id and idempotency key must spell out the other fields. */
static baton_err_t baton_codec_check_task(const void *s, char *errstr,
                                          size_t errlen) {
    const baton_task_t *t = s;
    size_t wlen;
    int64_t seq;
    int32_t attempt;
    baton_err_t err;

    if ((err = baton_codec_check_wf_id("task", t->workflow_id, errstr,
                                       errlen)))
        return err;
    if (baton_task_id_parse(t->task_id, &wlen, &seq, &attempt))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "task: field 'task_id' is not "
                            "<workflow_id>/<activity_seq>/<attempt>");
    if (wlen != strlen(t->workflow_id) ||
        memcmp(t->task_id, t->workflow_id, wlen) != 0 ||
        seq != t->activity_seq || attempt != t->attempt)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "task: field 'task_id' does not match "
                            "workflow_id, activity_seq and attempt");
    if (!baton_codec_idem_key_ok(t->idempotency_key, t->workflow_id,
                                 t->activity_seq))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "task: field 'idempotency_key' is not "
                            "<workflow_id>/<activity_seq>");
    if (!*t->activity_type)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "task: field 'activity_type' is empty");
    if (!baton_codec_queue_ok(t->queue))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "task: field 'queue' must be 1 to %d of "
                            "[A-Za-z0-9._-]",
                            BATON_QUEUE_NAME_MAX);
    if ((err = baton_codec_nonneg("task", "result_partition",
                                  t->result_partition, errstr, errlen)) ||
        (err = baton_codec_nonneg("task", "timeout_seconds",
                                  t->timeout_seconds, errstr, errlen)) ||
        (err = baton_codec_nonneg("task", "heartbeat_seconds",
                                  t->heartbeat_seconds, errstr, errlen)))
        return err;
    return BATON_OK;
}

/* A result must name a well-formed task of its own workflow; a failure
 * must say which error it is, for the retry and catch rules. */
static baton_err_t baton_codec_check_result(const void *s, char *errstr,
                                            size_t errlen) {
    const baton_result_t *r = s;
    baton_err_t err;

    if ((err = baton_codec_check_wf_id("result", r->workflow_id, errstr,
                                       errlen)) ||
        (err = baton_codec_task_of("result", "task_id", r->task_id,
                                   r->workflow_id, "workflow_id", errstr,
                                   errlen)))
        return err;
    if (r->kind == BATON_RESULT_FAILED &&
        (err = baton_codec_need("result", "error", r->error, "FAILED",
                                errstr, errlen)))
        return err;
    return baton_codec_nonneg("result", "retry_after_ms", r->retry_after_ms,
                              errstr, errlen);
}

static baton_err_t baton_codec_check_event(const void *s, char *errstr,
                                           size_t errlen) {
    const baton_event_t *e = s;
    baton_err_t err;
    if ((err = baton_codec_check_wf_id("event", e->workflow_id, errstr,
                                       errlen)))
        return err;
    if (e->seq < 1)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "event: field 'seq' must be >= 1, not %" PRId64,
                            e->seq);
    if (!*e->type)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "event: field 'type' is empty");
    return BATON_OK;
}

/* Copies str[0..len) into the struct's string field (baton_strndup: the
 * struct owns it).  The C structs carry NUL-terminated strings, so an
 * embedded NUL byte is refused rather than silently truncating. */
static baton_err_t baton_codec_take_str(const baton_codec_env_t *env,
                                        const baton_codec_field_t *f, void *s,
                                        const char *str, size_t len,
                                        char *errstr, size_t errlen) {
    char **dst = baton_codec_str_at(s, f);
    if (memchr(str, '\0', len))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: field '%s' contains a NUL byte", env->what,
                            f->name);
    assert(*dst == NULL);
    *dst = baton_strndup(str, len);
    if (!*dst)
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                            "%s: field '%s': out of memory", env->what,
                            f->name);
    return BATON_OK;
}

/* ---- Avro binary: the bounded pre-scan ---------------------------------- */

typedef struct {
    const unsigned char *p, *end;
} baton_codec_cur_t;

/* Reads one zigzag varint.  Returns 0, -1 when the input ends first, -2
 * when the varint is longer than a 64-bit value. */
static int baton_codec_cur_long(baton_codec_cur_t *c, int64_t *out) {
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        unsigned b;
        if (c->p >= c->end) return -1;
        b = *c->p++;
        if (shift == 63 && b > 1) return -2;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = (int64_t)((v >> 1) ^ (0 - (v & 1)));
            return 0;
        }
    }
    return -2;
}

/* Walks one field: every varint well-formed, every string within the
 * message, union branch and enum index in range. */
static baton_err_t baton_codec_scan_field(const baton_codec_env_t *env,
                                          const baton_codec_field_t *f,
                                          baton_codec_cur_t *c, char *errstr,
                                          size_t errlen) {
    int64_t v;
    int rc;

    if (f->type == BATON_CODEC_F_BOOL) {
        if (c->p >= c->end)
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "%s: truncated in field '%s'", env->what,
                                f->name);
        if (*c->p > 1)
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "%s: field '%s': boolean byte %u is not 0 "
                                "or 1",
                                env->what, f->name, (unsigned)*c->p);
        c->p++;
        return BATON_OK;
    }
    rc = baton_codec_cur_long(c, &v);
    if (rc == 0 && baton_codec_is_opt(f->type)) {
        if (v == 0) return BATON_OK; /* null */
        if (v != 1)
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "%s: field '%s': union branch %" PRId64
                                " is not 0 (null) or 1 (string)",
                                env->what, f->name, v);
        rc = baton_codec_cur_long(c, &v);
    }
    if (rc == -1)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: truncated in field '%s'", env->what,
                            f->name);
    if (rc == -2)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: field '%s': malformed varint", env->what,
                            f->name);
    switch (f->type) {
    case BATON_CODEC_F_LONG: return BATON_OK;
    case BATON_CODEC_F_INT:
        if (v >= INT32_MIN && v <= INT32_MAX) return BATON_OK;
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: field '%s': %" PRId64 " is out of int range",
                            env->what, f->name, v);
    case BATON_CODEC_F_ENUM:
        if (v >= 0 && (size_t)v < baton_codec_nsymbols(f)) return BATON_OK;
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: field '%s' has no symbol %" PRId64,
                            env->what, f->name, v);
    default: /* a string: v is its length */
        if (v >= 0 && (uint64_t)v <= (uint64_t)(c->end - c->p)) {
            c->p += v;
            return BATON_OK;
        }
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: field '%s': string length %" PRId64
                            " but %zu bytes left",
                            env->what, f->name, v, (size_t)(c->end - c->p));
    }
}

/* Proves buf[0..len) is exactly one well-formed record of the envelope's
 * schema, so avro_value_read can neither over-allocate nor leak.  A record
 * of an earlier protocol version ends at a field boundary at or after the
 * last version-1 field: *missing is then how many trailing fields it
 * lacks (each read as one zero byte: its default), else 0. */
static baton_err_t baton_codec_avro_scan(const baton_codec_env_t *env,
                                         const void *buf, size_t len,
                                         size_t *missing, char *errstr,
                                         size_t errlen) {
    baton_codec_cur_t c = {buf, (const unsigned char *)buf + len};
    baton_err_t err;
    *missing = 0;
    for (size_t i = 0; i < env->nfields; i++) {
        if (i >= env->v1_fields && c.p == c.end) {
            *missing = env->nfields - i;
            return BATON_OK;
        }
        if ((err = baton_codec_scan_field(env, &env->fields[i], &c, errstr,
                                          errlen)))
            return err;
    }
    if (c.p != c.end)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: %zu trailing bytes after the record",
                            env->what, (size_t)(c.end - c.p));
    return BATON_OK;
}

/* ---- Avro binary: decode ---------------------------------------------- */

static baton_err_t baton_codec_avro_fail(const baton_codec_env_t *env,
                                         const char *doing, int rval,
                                         char *errstr, size_t errlen) {
    return baton_seterr(errstr, errlen,
                        rval == ENOMEM ? BATON_ERR_NOMEM : BATON_ERR_INVALID,
                        "%s: %s: %s", env->what, doing, avro_strerror());
}

/* Copies one field of the decoded generic value into the struct. */
static baton_err_t baton_codec_avro_get(const baton_codec_env_t *env,
                                        const baton_codec_field_t *f,
                                        avro_value_t *fv, void *s,
                                        char *errstr, size_t errlen) {
    avro_value_t branch;
    const char *str;
    size_t size;
    int64_t l;
    int32_t i;
    int e, disc, rval = 0;

    switch (f->type) {
    case BATON_CODEC_F_LONG:
        if ((rval = avro_value_get_long(fv, &l))) break;
        baton_codec_num_set(s, f, l);
        return BATON_OK;
    case BATON_CODEC_F_INT:
        if ((rval = avro_value_get_int(fv, &i))) break;
        baton_codec_num_set(s, f, i);
        return BATON_OK;
    case BATON_CODEC_F_ENUM:
        if ((rval = avro_value_get_enum(fv, &e))) break;
        baton_codec_num_set(s, f, e);
        return BATON_OK;
    case BATON_CODEC_F_BOOL:
        if ((rval = avro_value_get_boolean(fv, &e))) break;
        baton_codec_num_set(s, f, e != 0);
        return BATON_OK;
    case BATON_CODEC_F_OPT:
    case BATON_CODEC_F_OPT_JSON:
        if ((rval = avro_value_get_discriminant(fv, &disc))) break;
        if (disc == 0) return BATON_OK;
        if ((rval = avro_value_get_current_branch(fv, &branch))) break;
        fv = &branch;
        /* fall through */
    default:
        if ((rval = avro_value_get_string(fv, &str, &size))) break;
        /* size counts avro-c's NUL terminator */
        return baton_codec_take_str(env, f, s, str, size ? size - 1 : 0,
                                    errstr, errlen);
    }
    return baton_codec_avro_fail(env, f->name, rval, errstr, errlen);
}

static baton_err_t baton_codec_avro_decode(baton_codec_t *c, int which,
                                           const void *buf, size_t len,
                                           void *out, char *errstr,
                                           size_t errlen) {
    const baton_codec_env_t *env = &baton_codec_envs[which];
    avro_value_t *rec = &c->avro[which].value;
    baton_err_t err;
    size_t missing;
    char *padded = NULL;
    int rval;

    if ((err = baton_codec_avro_scan(env, buf, len, &missing, errstr,
                                     errlen)))
        return err;
    if (missing) { /* an earlier version's record: add the defaults */
        if (!(padded = baton_malloc(len + missing)))
            return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                                "%s: out of memory", env->what);
        memcpy(padded, buf, len);
        memset(padded + len, 0, missing);
        buf = padded;
        len += missing;
    }
    avro_reader_memory_set_source(c->reader, buf, (int64_t)len);
    rval = avro_value_read(c->reader, rec);
    baton_free(padded); /* avro-c copied what it keeps */
    if (rval)
        return baton_codec_avro_fail(env, "reading Avro", rval, errstr,
                                     errlen);
    for (size_t i = 0; i < env->nfields; i++) {
        avro_value_t fv;
        if ((rval = avro_value_get_by_index(rec, i, &fv, NULL)))
            return baton_codec_avro_fail(env, env->fields[i].name, rval,
                                         errstr, errlen);
        if ((err = baton_codec_avro_get(env, &env->fields[i], &fv, out,
                                        errstr, errlen)))
            return err;
    }
    avro_value_reset(rec); /* release the payload copies early */
    return BATON_OK;
}

/* ---- Avro binary: encode ---------------------------------------------- */

/* Points an Avro string at the caller's text without copying it: the
 * wrapped buffer has no free function, and the value is reset before the
 * encoder returns, so the generic value never outlives the caller's data. */
static int baton_codec_avro_set_str(avro_value_t *v, const char *s) {
    avro_wrapped_buffer_t wb;
    int rval = avro_wrapped_buffer_new(&wb, s, strlen(s) + 1);
    return rval ? rval : avro_value_give_string_len(v, &wb);
}

static int baton_codec_avro_set(const baton_codec_field_t *f, const void *s,
                                avro_value_t *fv) {
    avro_value_t branch;
    const char *str;
    int rval;

    switch (f->type) {
    case BATON_CODEC_F_LONG:
        return avro_value_set_long(fv, baton_codec_num_get(s, f));
    case BATON_CODEC_F_INT:
        return avro_value_set_int(fv, (int32_t)baton_codec_num_get(s, f));
    case BATON_CODEC_F_ENUM:
        return avro_value_set_enum(fv, (int)baton_codec_num_get(s, f));
    case BATON_CODEC_F_BOOL:
        return avro_value_set_boolean(fv, baton_codec_num_get(s, f) != 0);
    case BATON_CODEC_F_OPT:
    case BATON_CODEC_F_OPT_JSON:
        str = baton_codec_str_get(s, f);
        if (!str) {
            if ((rval = avro_value_set_branch(fv, 0, &branch))) return rval;
            return avro_value_set_null(&branch);
        }
        if ((rval = avro_value_set_branch(fv, 1, &branch))) return rval;
        return baton_codec_avro_set_str(&branch, str);
    default:
        return baton_codec_avro_set_str(fv, baton_codec_str_get(s, f));
    }
}

/* Fills the reusable generic value, sizes it, writes it into a buffer of
 * exactly that size (baton_malloc, owned by the caller on success). */
static baton_err_t baton_codec_avro_encode(baton_codec_t *c, int which,
                                           const void *s, char **buf,
                                           size_t *len, char *errstr,
                                           size_t errlen) {
    const baton_codec_env_t *env = &baton_codec_envs[which];
    avro_value_t *rec = &c->avro[which].value;
    baton_err_t err = BATON_OK;
    size_t size = 0;
    char *out = NULL;
    int rval = 0;

    for (size_t i = 0; i < env->nfields && !rval; i++) {
        avro_value_t fv;
        if (!(rval = avro_value_get_by_index(rec, i, &fv, NULL)))
            rval = baton_codec_avro_set(&env->fields[i], s, &fv);
    }
    if (!rval) rval = avro_value_sizeof(rec, &size);
    if (rval) {
        err = baton_codec_avro_fail(env, "building Avro value", rval, errstr,
                                    errlen);
    } else if (!(out = baton_malloc(size))) {
        err = baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                           "%s: out of memory for %zu bytes", env->what, size);
    } else {
        avro_writer_memory_set_dest(c->writer, out, (int64_t)size);
        rval = avro_value_write(c->writer, rec);
        if (rval || avro_writer_tell(c->writer) != (int64_t)size) {
            /* cannot happen: the size was computed from the same value */
            err = baton_codec_avro_fail(env, "writing Avro", rval ? rval : EIO,
                                        errstr, errlen);
            baton_free(out);
            out = NULL;
        }
    }
    avro_value_reset(rec);
    *buf = out;
    *len = out ? size : 0;
    return err;
}

/* ---- JSON ------------------------------------------------------------- */

/* A growing output buffer for json_dump_callback, in baton_malloc memory. */
typedef struct {
    char *buf;
    size_t len, cap;
} baton_codec_sink_t;

static int baton_codec_sink_add(const char *p, size_t n, void *data) {
    baton_codec_sink_t *sk = data;
    if (sk->len + n + 1 > sk->cap) {
        size_t cap = sk->cap ? sk->cap : 256;
        char *nb;
        while (cap < sk->len + n + 1) cap *= 2;
        if (!(nb = baton_realloc(sk->buf, cap))) return -1;
        sk->buf = nb;
        sk->cap = cap;
    }
    memcpy(sk->buf + sk->len, p, n);
    sk->len += n;
    sk->buf[sk->len] = '\0';
    return 0;
}

/* Serializes v compactly into a NUL-terminated baton_malloc buffer owned
 * by the caller.  The only failure is memory. */
static baton_err_t baton_codec_json_dump(const json_t *v, char **out,
                                         size_t *len) {
    baton_codec_sink_t sk = {NULL, 0, 0};
    if (json_dump_callback(v, baton_codec_sink_add, &sk,
                           JSON_COMPACT | JSON_ENCODE_ANY) != 0 ||
        !sk.buf) {
        baton_free(sk.buf);
        *out = NULL;
        return BATON_ERR_NOMEM;
    }
    *out = sk.buf;
    if (len) *len = sk.len;
    return BATON_OK;
}

static baton_err_t baton_codec_json_type(const baton_codec_env_t *env,
                                         const baton_codec_field_t *f,
                                         const char *want, char *errstr,
                                         size_t errlen) {
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                        "%s: field '%s' must be %s", env->what, f->name,
                        want);
}

/* A payload field: a string is the JSON text itself; any other value
 * (object, array, number, true, false, null for a required field) is
 * stored as its compact serialization. */
static baton_err_t baton_codec_json_get_payload(const baton_codec_env_t *env,
                                                const baton_codec_field_t *f,
                                                const json_t *v, void *s,
                                                char *errstr, size_t errlen) {
    char **dst = baton_codec_str_at(s, f);
    if (json_is_string(v))
        return baton_codec_take_str(env, f, s, json_string_value(v),
                                    json_string_length(v), errstr, errlen);
    if (baton_codec_json_dump(v, dst, NULL))
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                            "%s: field '%s': out of memory", env->what,
                            f->name);
    return BATON_OK;
}

/* Reads one field from the JSON object into the struct.  v is NULL when
 * the field is absent. */
static baton_err_t baton_codec_json_get(const baton_codec_env_t *env,
                                        const baton_codec_field_t *f,
                                        const json_t *v, void *s,
                                        char *errstr, size_t errlen) {
    json_int_t n;

    if (!v || (json_is_null(v) && f->type != BATON_CODEC_F_JSON)) {
        if (f->has_default) return BATON_OK; /* struct is zeroed */
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: missing required field '%s'", env->what,
                            f->name);
    }
    switch (f->type) {
    case BATON_CODEC_F_JSON:
    case BATON_CODEC_F_OPT_JSON:
        return baton_codec_json_get_payload(env, f, v, s, errstr, errlen);
    case BATON_CODEC_F_STRING:
    case BATON_CODEC_F_OPT:
        if (!json_is_string(v))
            return baton_codec_json_type(env, f, "a string", errstr, errlen);
        return baton_codec_take_str(env, f, s, json_string_value(v),
                                    json_string_length(v), errstr, errlen);
    case BATON_CODEC_F_ENUM:
        for (size_t i = 0; json_is_string(v) && f->symbols[i]; i++) {
            if (strcasecmp(json_string_value(v), f->symbols[i]) == 0) {
                baton_codec_num_set(s, f, (int64_t)i);
                return BATON_OK;
            }
        }
        return baton_codec_json_type(env, f, "one of the symbol strings",
                                     errstr, errlen);
    case BATON_CODEC_F_INT:
        n = json_integer_value(v);
        if (!json_is_integer(v) || n < INT32_MIN || n > INT32_MAX)
            return baton_codec_json_type(env, f, "an integer in int range",
                                         errstr, errlen);
        baton_codec_num_set(s, f, n);
        return BATON_OK;
    case BATON_CODEC_F_LONG:
        if (!json_is_integer(v))
            return baton_codec_json_type(env, f, "an integer", errstr,
                                         errlen);
        baton_codec_num_set(s, f, json_integer_value(v));
        return BATON_OK;
    case BATON_CODEC_F_BOOL:
        if (!json_is_boolean(v))
            return baton_codec_json_type(env, f, "true or false", errstr,
                                         errlen);
        baton_codec_num_set(s, f, json_is_true(v));
        return BATON_OK;
    }
    return BATON_OK; /* cannot happen: every type is handled above */
}

static baton_err_t baton_codec_json_decode(const baton_codec_env_t *env,
                                           const void *buf, size_t len,
                                           void *out, char *errstr,
                                           size_t errlen) {
    json_error_t jerr;
    json_t *root;
    baton_err_t err = BATON_OK;

    /* NUL escapes are let through here so the field check can name the
     * field; payload text is still parsed without JSON_ALLOW_NUL. */
    root = json_loadb(len ? buf : "", len,
                      JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!root) {
        if (baton_codec_json_oom(&jerr))
            return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                                "%s: out of memory parsing JSON", env->what);
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: not valid JSON: %s (at byte %d)", env->what,
                            jerr.text, jerr.position);
    }
    if (!json_is_object(root))
        err = baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                           "%s: JSON envelope must be an object", env->what);
    for (size_t i = 0; i < env->nfields && !err; i++) {
        const baton_codec_field_t *f = &env->fields[i];
        err = baton_codec_json_get(env, f, json_object_get(root, f->name), out,
                                   errstr, errlen);
    }
    json_decref(root);
    return err;
}

/* The JSON value of one field: NULL only when out of memory. */
static json_t *baton_codec_json_value(const baton_codec_field_t *f,
                                      const void *s) {
    const char *str;
    switch (f->type) {
    case BATON_CODEC_F_LONG:
    case BATON_CODEC_F_INT:
        return json_integer(baton_codec_num_get(s, f));
    case BATON_CODEC_F_ENUM:
        return json_string(f->symbols[baton_codec_num_get(s, f)]);
    case BATON_CODEC_F_BOOL:
        return json_boolean(baton_codec_num_get(s, f) != 0);
    default:
        str = baton_codec_str_get(s, f);
        return str ? json_stringn(str, strlen(str)) : json_null();
    }
}

/* Builds the JSON object (all fields, nulls included, payloads as strings)
 * and serializes it into a baton_malloc buffer owned by the caller. */
static baton_err_t baton_codec_json_encode(const baton_codec_env_t *env,
                                           const void *s, char **buf,
                                           size_t *len, char *errstr,
                                           size_t errlen) {
    json_t *root = json_object();
    baton_err_t err = root ? BATON_OK : BATON_ERR_NOMEM;

    for (size_t i = 0; i < env->nfields && !err; i++) {
        const baton_codec_field_t *f = &env->fields[i];
        if (json_object_set_new(root, f->name, baton_codec_json_value(f, s)))
            err = BATON_ERR_NOMEM;
    }
    if (!err) err = baton_codec_json_dump(root, buf, len);
    json_decref(root);
    if (err)
        return baton_seterr(errstr, errlen, err,
                            "%s: out of memory encoding JSON", env->what);
    return BATON_OK;
}

/* ---- public encode / decode ------------------------------------------- */

/* Validates, then encodes.  On success *buf (baton_malloc) belongs to the
 * caller; on failure *buf is NULL and *len 0. */
static baton_err_t baton_codec_encode(baton_codec_t *c, int which,
                                      const void *s, int json, char **buf,
                                      size_t *len, char *errstr,
                                      size_t errlen) {
    const baton_codec_env_t *env = &baton_codec_envs[which];
    baton_err_t err;

    assert(c && s && buf && len);
    *buf = NULL;
    *len = 0;
    if ((err = baton_codec_validate(env, s, 0, errstr, errlen))) return err;
    if (json) return baton_codec_json_encode(env, s, buf, len, errstr, errlen);
    return baton_codec_avro_encode(c, which, s, buf, len, errstr, errlen);
}

/* Zeroes *out, decodes into it, validates.  Whatever the result, *out
 * holds only baton_malloc strings the caller frees with the _clear
 * function. */
static baton_err_t baton_codec_decode(baton_codec_t *c, int which,
                                      const void *buf, size_t len, int json,
                                      void *out, char *errstr,
                                      size_t errlen) {
    const baton_codec_env_t *env = &baton_codec_envs[which];
    baton_err_t err;

    assert(c && out);
    memset(out, 0, env->size);
    if (!buf && len)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: NULL buffer", env->what);
    if (json)
        err = baton_codec_json_decode(env, buf, len, out, errstr, errlen);
    else
        err = baton_codec_avro_decode(c, which, buf ? buf : "", len, out,
                                      errstr, errlen);
    if (err) return err;
    return baton_codec_validate(env, out, 1, errstr, errlen);
}

baton_err_t baton_codec_encode_command(baton_codec_t *c,
                                       const baton_command_t *cmd, int json,
                                       char **buf, size_t *len, char *errstr,
                                       size_t errlen) {
    return baton_codec_encode(c, BATON_CODEC_COMMAND, cmd, json, buf, len,
                              errstr, errlen);
}

baton_err_t baton_codec_encode_task(baton_codec_t *c, const baton_task_t *t,
                                    int json, char **buf, size_t *len,
                                    char *errstr, size_t errlen) {
    return baton_codec_encode(c, BATON_CODEC_TASK, t, json, buf, len, errstr,
                              errlen);
}

baton_err_t baton_codec_encode_result(baton_codec_t *c,
                                      const baton_result_t *r, int json,
                                      char **buf, size_t *len, char *errstr,
                                      size_t errlen) {
    return baton_codec_encode(c, BATON_CODEC_RESULT, r, json, buf, len,
                              errstr, errlen);
}

baton_err_t baton_codec_encode_event(baton_codec_t *c, const baton_event_t *e,
                                     int json, char **buf, size_t *len,
                                     char *errstr, size_t errlen) {
    return baton_codec_encode(c, BATON_CODEC_EVENT, e, json, buf, len, errstr,
                              errlen);
}

baton_err_t baton_codec_decode_command(baton_codec_t *c, const void *buf,
                                       size_t len, int json,
                                       baton_command_t *out, char *errstr,
                                       size_t errlen) {
    return baton_codec_decode(c, BATON_CODEC_COMMAND, buf, len, json, out,
                              errstr, errlen);
}

baton_err_t baton_codec_decode_task(baton_codec_t *c, const void *buf,
                                    size_t len, int json, baton_task_t *out,
                                    char *errstr, size_t errlen) {
    return baton_codec_decode(c, BATON_CODEC_TASK, buf, len, json, out,
                              errstr, errlen);
}

baton_err_t baton_codec_decode_result(baton_codec_t *c, const void *buf,
                                      size_t len, int json,
                                      baton_result_t *out, char *errstr,
                                      size_t errlen) {
    return baton_codec_decode(c, BATON_CODEC_RESULT, buf, len, json, out,
                              errstr, errlen);
}

baton_err_t baton_codec_decode_event(baton_codec_t *c, const void *buf,
                                     size_t len, int json, baton_event_t *out,
                                     char *errstr, size_t errlen) {
    return baton_codec_decode(c, BATON_CODEC_EVENT, buf, len, json, out,
                              errstr, errlen);
}

/* ---- construction ----------------------------------------------------- */

/* 1 when the Avro type of one schema field is what the table says. */
static int baton_codec_type_matches(avro_schema_t fs,
                                    const baton_codec_field_t *f) {
    size_t n;
    switch (f->type) {
    case BATON_CODEC_F_STRING:
    case BATON_CODEC_F_JSON: return is_avro_string(fs);
    case BATON_CODEC_F_OPT:
    case BATON_CODEC_F_OPT_JSON:
        return is_avro_union(fs) && avro_schema_union_size(fs) == 2 &&
               is_avro_null(avro_schema_union_branch(fs, 0)) &&
               is_avro_string(avro_schema_union_branch(fs, 1));
    case BATON_CODEC_F_LONG: return is_avro_int64(fs);
    case BATON_CODEC_F_INT: return is_avro_int32(fs);
    case BATON_CODEC_F_BOOL: return is_avro_boolean(fs);
    case BATON_CODEC_F_ENUM:
        n = baton_codec_nsymbols(f);
        if (!is_avro_enum(fs) ||
            avro_schema_enum_number_of_symbols(fs) != (int)n)
            return 0;
        for (size_t i = 0; i < n; i++)
            if (strcmp(avro_schema_enum_get(fs, (int)i), f->symbols[i]))
                return 0;
        return 1;
    }
    return 0;
}

/* Which schema fields carry a "default": avro-c does not expose it, so
 * the schema text is read with jansson.  Returns a bit per field, or -1
 * when the text cannot be read (out of memory: it parsed once already). */
static int64_t baton_codec_schema_defaults(const char *text) {
    json_t *root = json_loads(text, 0, NULL);
    json_t *fields = json_object_get(root, "fields");
    int64_t bits = 0;
    size_t i;
    json_t *fld;

    if (!json_is_array(fields)) {
        json_decref(root);
        return -1;
    }
    json_array_foreach(fields, i, fld) {
        if (i < 63 && json_object_get(fld, "default")) bits |= INT64_C(1) << i;
    }
    json_decref(root);
    return bits;
}

/* Proves the compiled-in schema and the field table describe the same
 * record: names, order, types, enum symbols, defaults. */
static baton_err_t baton_codec_schema_check(const baton_codec_env_t *env,
                                            avro_schema_t sch, char *errstr,
                                            size_t errlen) {
    int64_t defaults;
    if (!is_avro_record(sch) || avro_schema_record_size(sch) != env->nfields)
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "schemas/%s.avsc: expected a record of %zu "
                            "fields, as codec.c describes",
                            env->what, env->nfields);
    defaults = baton_codec_schema_defaults(*env->schema_text);
    if (defaults < 0)
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                            "schemas/%s.avsc: out of memory", env->what);
    for (size_t i = 0; i < env->nfields; i++) {
        const baton_codec_field_t *f = &env->fields[i];
        const char *name = avro_schema_record_field_name(sch, (int)i);
        avro_schema_t fs = avro_schema_record_field_get_by_index(sch, (int)i);
        int has_default = (defaults >> i) & 1;
        if (!name || strcmp(name, f->name) ||
            !baton_codec_type_matches(fs, f) || has_default != f->has_default)
            return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                                "schemas/%s.avsc: field %zu does not match "
                                "'%s' in codec.c (name, type or default)",
                                env->what, i, f->name);
    }
    return BATON_OK;
}

static baton_err_t baton_codec_load(baton_codec_avro_t *a,
                                    const baton_codec_env_t *env,
                                    char *errstr, size_t errlen) {
    const char *text = *env->schema_text;
    baton_err_t err;

    if (avro_schema_from_json_length(text, strlen(text), &a->schema)) {
        a->schema = NULL;
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "schemas/%s.avsc: %s", env->what,
                            avro_strerror());
    }
    if ((err = baton_codec_schema_check(env, a->schema, errstr, errlen)))
        return err;
    if (!(a->iface = avro_generic_class_from_schema(a->schema)) ||
        avro_generic_value_new(a->iface, &a->value))
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                            "schemas/%s.avsc: %s", env->what,
                            avro_strerror());
    a->have_value = 1;
    return BATON_OK;
}

baton_codec_t *baton_codec_new(char *errstr, size_t errlen) {
    static const char empty[1];
    baton_codec_t *c = baton_calloc(1, sizeof *c);

    if (!c) {
        baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                     "codec: out of memory");
        return NULL;
    }
    for (int i = 0; i < BATON_CODEC_NENV; i++) {
        if (baton_codec_load(&c->avro[i], &baton_codec_envs[i], errstr,
                             errlen)) {
            baton_codec_destroy(c);
            return NULL;
        }
    }
    c->reader = avro_reader_memory(empty, 0);
    c->writer = avro_writer_memory(empty, 0);
    if (!c->reader || !c->writer) {
        baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                     "codec: out of memory");
        baton_codec_destroy(c);
        return NULL;
    }
    return c;
}

void baton_codec_destroy(baton_codec_t *c) {
    if (!c) return;
    for (int i = 0; i < BATON_CODEC_NENV; i++) {
        baton_codec_avro_t *a = &c->avro[i];
        if (a->have_value) avro_value_decref(&a->value);
        if (a->iface) avro_value_iface_decref(a->iface);
        if (a->schema) avro_schema_decref(a->schema);
    }
    if (c->reader) avro_reader_free(c->reader);
    if (c->writer) avro_writer_free(c->writer);
    baton_free(c);
}
