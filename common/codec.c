/*
 * codec.c -- the wire codec: Baton's four envelopes (command, task, result,
 * event; see codec.h) to and from Avro binary and JSON.
 *
 * Every envelope is described once, by a field table below that mirrors its
 * schema in schemas/<name>.avsc field by field; baton_codec_new() checks the
 * compiled-in schema against the table, so the two cannot drift apart.  The
 * table drives both encodings, the validation and the clear functions.
 *
 * The files: this one holds the tables, field access, names and task ids,
 * validation (the same for both encodings) and the public encode/decode,
 * which validate and hand over to codec_avro.c (Avro binary, the schemas,
 * baton_codec_new/destroy) or codec_json.c (the JSON envelope); codec.h is
 * the one public header, codec_int.h what the three files share.
 *
 * Every envelope is validated the same way in both encodings
 * (baton_codec_validate): required fields, UTF-8, workflow_id length,
 * payloads that parse as JSON, task_id format and consistency.
 *
 * Encoders validate too (except the JSON payloads, for speed), so Baton
 * never produces a message it would refuse.  Allocation of everything the
 * caller owns goes through baton_malloc; avro-c and jansson use their own
 * allocators for their internals.
 */
#include "codec.h"
#include "codec_int.h"
#include "json_limits.h"

#include <assert.h>
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

_Static_assert(sizeof(baton_cmd_kind_t) == sizeof(int),
               "enum fields are copied as int");
_Static_assert(sizeof(baton_result_kind_t) == sizeof(int),
               "enum fields are copied as int");

/* ---- envelope descriptions ------------------------------------------- */

static const char *const baton_codec_cmd_kinds[] = {"START", "SIGNAL", "CANCEL",
                                                    "TERMINATE", NULL};
static const char *const baton_codec_result_kinds[] = {"COMPLETED", "FAILED",
                                                       "HEARTBEAT", NULL};

#define BATON_FIELD(st, nm, ty, def) \
    { #nm, BATON_CODEC_F_##ty, offsetof(st, nm), def, NULL }
#define BATON_ENUM_FIELD(st, nm, syms) \
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
    /* version 3 */
    BATON_FIELD(baton_command_t, start_if_absent, BOOL, 1),
    BATON_FIELD(baton_command_t, start_input, OPT_JSON, 1),
    BATON_FIELD(baton_command_t, id_reuse, OPT, 1),
    BATON_FIELD(baton_command_t, dedupe_id, OPT, 1),
    BATON_FIELD(baton_command_t, dedupe_window_ms, LONG, 1),
    BATON_FIELD(baton_command_t, signal_hold_ms, LONG, 1),
    BATON_FIELD(baton_command_t, source_trigger, OPT, 1),
    BATON_FIELD(baton_command_t, source_topic, OPT, 1),
    BATON_FIELD(baton_command_t, source_partition, INT, 1),
    BATON_FIELD(baton_command_t, source_offset, LONG, 1),
    /* version 4 */
    BATON_FIELD(baton_command_t, run_path, OPT, 1),
    /* version 5 */
    BATON_FIELD(baton_command_t, budget, OPT_JSON, 1),
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
    /* version 4: lineage */
    BATON_FIELD(baton_task_t, root_workflow_id, OPT, 1),
    BATON_FIELD(baton_task_t, parent_workflow_id, OPT, 1),
    BATON_FIELD(baton_task_t, run_path, OPT, 1),
};
#define BATON_CODEC_TASK_V1_FIELDS 13

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
    /* version 3 */
    BATON_FIELD(baton_result_t, usage, OPT_JSON, 1),
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

const baton_codec_env_t baton_codec_envs[BATON_CODEC_NENV] = {
    {"command", &baton_schema_command, baton_codec_command_fields,
     BATON_ARRAY_SIZE(baton_codec_command_fields),
     BATON_CODEC_COMMAND_V1_FIELDS, sizeof(baton_command_t),
     baton_codec_check_command},
    {"task", &baton_schema_task, baton_codec_task_fields,
     BATON_ARRAY_SIZE(baton_codec_task_fields), BATON_CODEC_TASK_V1_FIELDS,
     sizeof(baton_task_t), baton_codec_check_task},
    {"result", &baton_schema_result, baton_codec_result_fields,
     BATON_ARRAY_SIZE(baton_codec_result_fields), BATON_CODEC_RESULT_V1_FIELDS,
     sizeof(baton_result_t), baton_codec_check_result},
    {"event", &baton_schema_event, baton_codec_event_fields,
     BATON_ARRAY_SIZE(baton_codec_event_fields),
     BATON_ARRAY_SIZE(baton_codec_event_fields), sizeof(baton_event_t),
     baton_codec_check_event},
};

/* ---- field access ----------------------------------------------------- */

static int baton_codec_is_str(baton_codec_ftype_t t) {
    return t == BATON_CODEC_F_STRING || t == BATON_CODEC_F_JSON ||
           t == BATON_CODEC_F_OPT || t == BATON_CODEC_F_OPT_JSON;
}

int baton_codec_is_opt(baton_codec_ftype_t t) {
    return t == BATON_CODEC_F_OPT || t == BATON_CODEC_F_OPT_JSON;
}

static int baton_codec_is_json(baton_codec_ftype_t t) {
    return t == BATON_CODEC_F_JSON || t == BATON_CODEC_F_OPT_JSON;
}

/* The char * member a string field describes (owned by the struct). */
char **baton_codec_str_at(void *s, const baton_codec_field_t *f) {
    return (char **)((char *)s + f->off);
}

const char *baton_codec_str_get(const void *s, const baton_codec_field_t *f) {
    return *(char *const *)((const char *)s + f->off);
}

/* Numeric members are copied with memcpy: enums are int-sized (asserted
 * above) but not declared int. */
int64_t baton_codec_num_get(const void *s, const baton_codec_field_t *f) {
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

void baton_codec_num_set(void *s, const baton_codec_field_t *f, int64_t v) {
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

size_t baton_codec_nsymbols(const baton_codec_field_t *f) {
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
    if (cmd) {
        baton_free(cmd->traceparent);
        baton_free(cmd->tracestate);
    }
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

/* 1 when p[0..n) is a nonce: 1..BATON_TASK_NONCE_MAX lower-case hex. */
static int baton_codec_nonce_ok(const char *p, size_t n) {
    if (n < 1 || n > BATON_TASK_NONCE_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return 0;
    return 1;
}

/* The id may itself contain '/', so the two numbers are taken from the
 * right.  Attempts start at 1, optionally followed by ".<nonce>"; the id
 * prefix is 1..256 bytes. */
int baton_task_id_parse(const char *task_id, size_t *wf_id_len, int64_t *seq,
                        int32_t *attempt) {
    const char *a, *s, *dot;
    int64_t sv, av;
    size_t alen;
    if (!task_id) return -1;
    a = strrchr(task_id, '/');
    if (!a || a == task_id) return -1;
    for (s = a - 1; s > task_id && *s != '/'; s--)
        ;
    if (*s != '/' || s == task_id) return -1;
    if ((size_t)(s - task_id) > BATON_WORKFLOW_ID_MAX) return -1;
    alen = strlen(a + 1);
    if ((dot = strchr(a + 1, '.'))) {
        if (!baton_codec_nonce_ok(dot + 1, strlen(dot + 1))) return -1;
        alen = (size_t)(dot - a - 1);
    }
    if (baton_codec_parse_dec(s + 1, (size_t)(a - s - 1), INT64_MAX, &sv) ||
        baton_codec_parse_dec(a + 1, alen, INT32_MAX, &av) || av < 1)
        return -1;
    if (wf_id_len) *wf_id_len = (size_t)(s - task_id);
    if (seq) *seq = sv;
    if (attempt) *attempt = (int32_t)av;
    return 0;
}

const char *baton_task_id_nonce(const char *task_id) {
    const char *a = task_id ? strrchr(task_id, '/') : NULL;
    const char *dot = a ? strchr(a, '.') : NULL;
    return dot ? dot + 1 : "";
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
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
            min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
            min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 7;
            min = 0x10000;
        } else
            return 0;
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
int baton_codec_json_oom(const json_error_t *jerr) {
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
        char why[128];
        int bad = baton_json_check(v, BATON_JSON_DEPTH_MAX, why, sizeof why);
        json_decref(v);
        if (bad)
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "%s: field '%s' is refused: %s", env->what,
                                f->name, why);
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
                                "%s: field '%s' is not valid UTF-8", env->what,
                                f->name);
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
                                      int64_t v, char *errstr, size_t errlen) {
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
                                     c->definition_version, errstr, errlen)) ||
        (err = baton_codec_not_empty("command", "branch", c->branch, errstr,
                                     errlen)))
        return err;
    if (!c->parent_id != !c->parent_task_id)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "command: fields 'parent_id' and "
                            "'parent_task_id' go together (a child run "
                            "names both)");
    if (c->run_path && (!*c->run_path || !c->parent_id))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "command: field 'run_path' must be non-empty "
                            "and comes with 'parent_id' (a child run)");
    if (!c->parent_id) return BATON_OK;
    if (!*c->parent_id || strlen(c->parent_id) > BATON_WORKFLOW_ID_MAX)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "command: field 'parent_id' must be 1 to %d "
                            "bytes, not %zu",
                            BATON_WORKFLOW_ID_MAX, strlen(c->parent_id));
    return baton_codec_task_of("command", "parent_task_id", c->parent_task_id,
                               c->parent_id, "parent_id", errstr, errlen);
}

int baton_id_reuse_valid(const char *s) {
    return s && (!strcmp(s, BATON_ID_REUSE_REFUSE_WHILE_RUNNING) ||
                 !strcmp(s, BATON_ID_REUSE_ALLOW_AFTER_CLOSE) ||
                 !strcmp(s, BATON_ID_REUSE_NEVER));
}

/* The version-3 fields: a known id-reuse policy, a dedupe id of sane
 * length, non-negative windows and source coordinates, start_if_absent
 * only on a SIGNAL that names what to start. */
static baton_err_t baton_codec_check_v3(const baton_command_t *c, char *errstr,
                                        size_t errlen) {
    baton_err_t err;
    if (c->id_reuse && !baton_id_reuse_valid(c->id_reuse))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "command: field 'id_reuse' must be "
                            "refuse_while_running, allow_after_close or "
                            "never, not '%s'",
                            c->id_reuse);
    if (c->dedupe_id &&
        (!*c->dedupe_id || strlen(c->dedupe_id) > BATON_DEDUPE_ID_MAX))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "command: field 'dedupe_id' must be 1 to %d "
                            "bytes, not %zu",
                            BATON_DEDUPE_ID_MAX, strlen(c->dedupe_id));
    if ((err = baton_codec_nonneg("command", "dedupe_window_ms",
                                  c->dedupe_window_ms, errstr, errlen)) ||
        (err = baton_codec_nonneg("command", "signal_hold_ms",
                                  c->signal_hold_ms, errstr, errlen)) ||
        (err = baton_codec_nonneg("command", "source_partition",
                                  c->source_partition, errstr, errlen)) ||
        (err = baton_codec_nonneg("command", "source_offset", c->source_offset,
                                  errstr, errlen)) ||
        (err = baton_codec_not_empty("command", "source_trigger",
                                     c->source_trigger, errstr, errlen)) ||
        (err = baton_codec_not_empty("command", "source_topic", c->source_topic,
                                     errstr, errlen)))
        return err;
    if (!c->start_if_absent) return BATON_OK;
    if (c->kind != BATON_CMD_SIGNAL)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "command: field 'start_if_absent' is only "
                            "allowed on a SIGNAL (start_or_signal)");
    return baton_codec_need("command", "workflow_type", c->workflow_type,
                            "start_if_absent", errstr, errlen);
}

/* START needs the definition to run, SIGNAL the signal's name; a CANCEL
 * may name the activity attempt to stop (a notice on baton.cancels).
 * Version-2 fields on other kinds are carried but mean nothing. */
static baton_err_t baton_codec_check_command(const void *s, char *errstr,
                                             size_t errlen) {
    const baton_command_t *c = s;
    baton_err_t err =
        baton_codec_check_wf_id("command", c->workflow_id, errstr, errlen);
    if (err) return err;
    if ((err = baton_codec_check_v3(c, errstr, errlen))) return err;
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

int baton_codec_queue_ok(const char *q) {
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

    if ((err = baton_codec_check_wf_id("task", t->workflow_id, errstr, errlen)))
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
        (err = baton_codec_nonneg("task", "timeout_seconds", t->timeout_seconds,
                                  errstr, errlen)) ||
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
        (err = baton_codec_need("result", "error", r->error, "FAILED", errstr,
                                errlen)))
        return err;
    return baton_codec_nonneg("result", "retry_after_ms", r->retry_after_ms,
                              errstr, errlen);
}

static baton_err_t baton_codec_check_event(const void *s, char *errstr,
                                           size_t errlen) {
    const baton_event_t *e = s;
    baton_err_t err;
    if ((err =
             baton_codec_check_wf_id("event", e->workflow_id, errstr, errlen)))
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
baton_err_t baton_codec_take_str(const baton_codec_env_t *env,
                                 const baton_codec_field_t *f, void *s,
                                 const char *str, size_t len, char *errstr,
                                 size_t errlen) {
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

/* ---- public encode / decode ------------------------------------------- */

/* Validates, then encodes.  On success *buf (baton_malloc) belongs to the
 * caller; on failure *buf is NULL and *len 0. */
static baton_err_t baton_codec_encode(baton_codec_t *c, int which,
                                      const void *s, int json, char **buf,
                                      size_t *len, char *errstr,
                                      size_t errlen) {
    const baton_codec_env_t *env = &baton_codec_envs[which];
    baton_err_t err;
    void *sealed = NULL;

    assert(c && s && buf && len);
    *buf = NULL;
    *len = 0;
    if ((err = baton_codec_validate(env, s, 0, errstr, errlen))) return err;
    if ((err = baton_codec_seal(baton_codec_crypt(c), env, s, &sealed, errstr,
                                errlen)))
        return err;
    if (json)
        err = baton_codec_json_encode(env, sealed ? sealed : s, buf, len,
                                      errstr, errlen);
    else
        err = baton_codec_avro_encode(c, which, sealed ? sealed : s, buf, len,
                                      errstr, errlen);
    baton_codec_seal_free(env, s, sealed);
    return err;
}

/* Zeroes *out, decodes into it, validates.  Whatever the result, *out
 * holds only baton_malloc strings the caller frees with the _clear
 * function. */
static baton_err_t baton_codec_decode(baton_codec_t *c, int which,
                                      const void *buf, size_t len, int json,
                                      void *out, char *errstr, size_t errlen) {
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
    if ((err = baton_codec_unseal(baton_codec_crypt(c), env, out, errstr,
                                  errlen)))
        return err;
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

/* Version 3 of a task is version 4 without the three lineage fields at the
 * end.  Encoded with those fields null, each is one zero byte (branch 0),
 * so the version-3 record is the version-4 one minus its last three
 * bytes. */
#define BATON_CODEC_TASK_V4_FIELDS 3

baton_err_t baton_codec_encode_task_v3(baton_codec_t *c, const baton_task_t *t,
                                       char **buf, size_t *len, char *errstr,
                                       size_t errlen) {
    baton_task_t v3 = *t;
    baton_err_t rc;
    v3.root_workflow_id = v3.parent_workflow_id = v3.run_path = NULL;
    rc = baton_codec_encode(c, BATON_CODEC_TASK, &v3, 0, buf, len, errstr,
                            errlen);
    if (rc) return rc;
    assert(*len > BATON_CODEC_TASK_V4_FIELDS);
    assert(!memcmp(*buf + *len - BATON_CODEC_TASK_V4_FIELDS, "\0\0\0", 3));
    *len -= BATON_CODEC_TASK_V4_FIELDS;
    return BATON_OK;
}

baton_err_t baton_codec_encode_result(baton_codec_t *c, const baton_result_t *r,
                                      int json, char **buf, size_t *len,
                                      char *errstr, size_t errlen) {
    return baton_codec_encode(c, BATON_CODEC_RESULT, r, json, buf, len, errstr,
                              errlen);
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
    return baton_codec_decode(c, BATON_CODEC_TASK, buf, len, json, out, errstr,
                              errlen);
}

baton_err_t baton_codec_decode_result(baton_codec_t *c, const void *buf,
                                      size_t len, int json, baton_result_t *out,
                                      char *errstr, size_t errlen) {
    baton_err_t err = baton_codec_decode(c, BATON_CODEC_RESULT, buf, len, json,
                                         out, errstr, errlen);
    /* A hint is a worker's word: capped here, and again by the retrier's
     * MaxDelaySeconds, so no value can overflow a deadline. */
    if (!err && out->retry_after_ms > BATON_RETRY_AFTER_MAX_MS)
        out->retry_after_ms = BATON_RETRY_AFTER_MAX_MS;
    return err;
}

baton_err_t baton_codec_decode_event(baton_codec_t *c, const void *buf,
                                     size_t len, int json, baton_event_t *out,
                                     char *errstr, size_t errlen) {
    return baton_codec_decode(c, BATON_CODEC_EVENT, buf, len, json, out, errstr,
                              errlen);
}
