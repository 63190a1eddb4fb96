/*
 * codec_json.c -- the JSON half of the wire codec (codec.h): the same four
 * envelopes as one JSON object, decoded and encoded with jansson, driven
 * by codec.c's field tables; codec.c validates what comes out.
 *
 * JSON: one object with the same field names.  Nullable fields may be null,
 * absent or a plain string; fields with a schema default may be absent;
 * enums are symbol strings ("START", case-insensitive on input); payload
 * fields (JSON text) may be a string holding JSON text or any JSON value
 * other than a string, which is stored as its compact serialization.
 * Unknown fields are ignored, duplicate fields rejected.
 */
#include <assert.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "codec_int.h"

/* ---- JSON ------------------------------------------------------------- */

/* json_dump_callback's sink: appends to a baton_buf_t. */
static int baton_codec_sink_add(const char *p, size_t n, void *data) {
    return baton_buf_append(data, p, n);
}

/* Serializes v compactly into a NUL-terminated baton_malloc buffer owned
 * by the caller.  The only failure is memory. */
static baton_err_t baton_codec_json_dump(const json_t *v, char **out,
                                         size_t *len) {
    baton_buf_t sk = {NULL, 0, 0};
    if (json_dump_callback(v, baton_codec_sink_add, &sk,
                           JSON_COMPACT | JSON_ENCODE_ANY) != 0 ||
        !sk.p) {
        baton_free(sk.p);
        *out = NULL;
        return BATON_ERR_NOMEM;
    }
    *out = sk.p;
    if (len) *len = sk.n;
    return BATON_OK;
}

static baton_err_t baton_codec_json_type(const baton_codec_env_t *env,
                                         const baton_codec_field_t *f,
                                         const char *want, char *errstr,
                                         size_t errlen) {
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                        "%s: field '%s' must be %s", env->what, f->name, want);
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
                                        const json_t *v, void *s, char *errstr,
                                        size_t errlen) {
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
            return baton_codec_json_type(env, f, "an integer", errstr, errlen);
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

baton_err_t baton_codec_json_decode(const baton_codec_env_t *env,
                                    const void *buf, size_t len, void *out,
                                    char *errstr, size_t errlen) {
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
    case BATON_CODEC_F_INT: return json_integer(baton_codec_num_get(s, f));
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
baton_err_t baton_codec_json_encode(const baton_codec_env_t *env, const void *s,
                                    char **buf, size_t *len, char *errstr,
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
