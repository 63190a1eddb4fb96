/*
 * codec_int.h -- what the three files of the wire codec share, private to
 * them (codec.h is the public header): the field-table types that describe
 * each envelope (codec.c defines the tables), field access and string
 * copying, and the entry points of the two encodings (codec_avro.c,
 * codec_json.c) that codec.c's public encode/decode call after or before
 * validating.  No Avro type appears here: the codec handle's layout is
 * codec_avro.c's.
 */
#ifndef BATON_CODEC_INT_H
#define BATON_CODEC_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

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

/* The four envelope descriptions, indexed by BATON_CODEC_COMMAND... */
extern const baton_codec_env_t baton_codec_envs[BATON_CODEC_NENV];

/* ---- codec.c: field access and validation helpers ------------------------ */

/* 1 for the nullable string types (["null","string"]). */
int baton_codec_is_opt(baton_codec_ftype_t t);

/* The char * member a string field describes (owned by the struct). */
char **baton_codec_str_at(void *s, const baton_codec_field_t *f);

/* The value of a string field (NULL when a nullable one is absent). */
const char *baton_codec_str_get(const void *s, const baton_codec_field_t *f);

/* Numeric members are copied with memcpy: enums are int-sized (asserted
 * in codec.c) but not declared int. */
int64_t baton_codec_num_get(const void *s, const baton_codec_field_t *f);

/* Sets a numeric member (long, int, enum, boolean) from v. */
void baton_codec_num_set(void *s, const baton_codec_field_t *f, int64_t v);

/* The number of symbols of an enum field. */
size_t baton_codec_nsymbols(const baton_codec_field_t *f);

/* Whether a failed jansson parse ran out of memory.  jansson 2.14 sets
 * json_error_out_of_memory only on some paths: where it fails to allocate
 * a container it returns with the error text still empty (every real
 * syntax error has a text) and the code byte unwritten; where the lexer
 * fails to allocate a token it reports a syntax error, which cannot be
 * told apart -- so a genuine out-of-memory while parsing may still come
 * out as BATON_ERR_INVALID. */
int baton_codec_json_oom(const json_error_t *jerr);

/* Copies str[0..len) into the struct's string field (baton_strndup: the
 * struct owns it).  The C structs carry NUL-terminated strings, so an
 * embedded NUL byte is refused rather than silently truncating. */
baton_err_t baton_codec_take_str(const baton_codec_env_t *env,
                                 const baton_codec_field_t *f, void *s,
                                 const char *str, size_t len, char *errstr,
                                 size_t errlen);

/* ---- codec_crypt.c: payload encryption ---------------------------------- */

/* With kr set and an active key: *copy a new shallow copy (baton_malloc)
 * of s whose payload fields are sealed (new strings); else *copy NULL.
 * Free it with baton_codec_seal_free. */
baton_err_t baton_codec_seal(const struct baton_crypt *kr,
                             const baton_codec_env_t *env, const void *s,
                             void **copy, char *errstr, size_t errlen);
void baton_codec_seal_free(const baton_codec_env_t *env, const void *s,
                           void *copy);
/* Opens every sealed payload field of out in place. */
baton_err_t baton_codec_unseal(const struct baton_crypt *kr,
                               const baton_codec_env_t *env, void *out,
                               char *errstr, size_t errlen);

/* ---- codec_avro.c, codec_json.c: the two encodings --------------------- */

/* Decodes an Avro binary envelope of kind which (BATON_CODEC_COMMAND...)
 * into out, zeroed by the caller, after the bounded pre-scan; the strings
 * in out are baton_malloc'd whatever the result.  Not yet validated. */
baton_err_t baton_codec_avro_decode(baton_codec_t *c, int which,
                                    const void *buf, size_t len, void *out,
                                    char *errstr, size_t errlen);

/* Fills the reusable generic value, sizes it, writes it into a buffer of
 * exactly that size (baton_malloc, owned by the caller on success). */
baton_err_t baton_codec_avro_encode(baton_codec_t *c, int which, const void *s,
                                    char **buf, size_t *len, char *errstr,
                                    size_t errlen);

/* Decodes a JSON envelope into out, zeroed by the caller; the strings in
 * out are baton_malloc'd whatever the result.  Not yet validated. */
baton_err_t baton_codec_json_decode(const baton_codec_env_t *env,
                                    const void *buf, size_t len, void *out,
                                    char *errstr, size_t errlen);

/* Builds the JSON object (all fields, nulls included, payloads as strings)
 * and serializes it into a baton_malloc buffer owned by the caller. */
baton_err_t baton_codec_json_encode(const baton_codec_env_t *env, const void *s,
                                    char **buf, size_t *len, char *errstr,
                                    size_t errlen);

#endif
