/*
 * codec_avro.c -- the Avro binary half of the wire codec (codec.h): the
 * compiled-in schemas (checked against codec.c's field tables by
 * baton_codec_new), the bounded pre-scan, decode and encode.
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
 * task_id) and Result (non_retryable); version 3 added the bridge's fields
 * to Command (start_if_absent ... source_offset, see schemas/command.avsc).
 * A writer of an earlier version stops after its last field, so the
 * decoder accepts every such shorter record.  A version-1 writer stops after the
 * last version-1 field, so the Avro decoder also accepts a record that ends
 * at any field boundary at or after the envelope's last version-1 field
 * (v1_fields in the table): the missing fields take their defaults.  Every
 * such default (null, false, 0) is a single zero byte in Avro binary, so the
 * decoder pads a short message with one zero byte per missing field and
 * reads it as a whole record.  A message that ends inside a field, or
 * before the end of the version-1 fields, is still truncated.  Encoders
 * always write every field of the current version.
 *
 * Decoding never trusts the input.  avro-c 1.11 allocates a string's
 * claimed length before checking the buffer holds it (so a 5-byte message
 * can ask for gigabytes) and leaks that allocation when the message is
 * truncated, so every binary message is first scanned by a bounded walker
 * (baton_codec_avro_scan) that checks every length, branch, enum index and
 * the absence of trailing bytes; only a message that passes reaches
 * avro_value_read; codec.c then validates the envelope.
 */
#include <assert.h>
#include <avro.h>
#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "codec_int.h"

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
    avro_reader_t reader;            /* memory reader, re-pointed per decode */
    avro_writer_t writer;            /* memory writer, re-pointed per encode */
    const struct baton_crypt *crypt; /* payload keys (borrowed), or NULL */
};

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
                            "%s: truncated in field '%s'", env->what, f->name);
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
                            "%s: field '%s' has no symbol %" PRId64, env->what,
                            f->name, v);
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
                                        avro_value_t *fv, void *s, char *errstr,
                                        size_t errlen) {
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
        return baton_codec_take_str(env, f, s, str, size ? size - 1 : 0, errstr,
                                    errlen);
    }
    return baton_codec_avro_fail(env, f->name, rval, errstr, errlen);
}

baton_err_t baton_codec_avro_decode(baton_codec_t *c, int which,
                                    const void *buf, size_t len, void *out,
                                    char *errstr, size_t errlen) {
    const baton_codec_env_t *env = &baton_codec_envs[which];
    avro_value_t *rec = &c->avro[which].value;
    baton_err_t err;
    size_t missing;
    char *padded = NULL;
    int rval;

    if ((err = baton_codec_avro_scan(env, buf, len, &missing, errstr, errlen)))
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
        return baton_codec_avro_fail(env, "reading Avro", rval, errstr, errlen);
    for (size_t i = 0; i < env->nfields; i++) {
        avro_value_t fv;
        if ((rval = avro_value_get_by_index(rec, i, &fv, NULL)))
            return baton_codec_avro_fail(env, env->fields[i].name, rval, errstr,
                                         errlen);
        if ((err = baton_codec_avro_get(env, &env->fields[i], &fv, out, errstr,
                                        errlen)))
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
    default: return baton_codec_avro_set_str(fv, baton_codec_str_get(s, f));
    }
}

/* Fills the reusable generic value, sizes it, writes it into a buffer of
 * exactly that size (baton_malloc, owned by the caller on success). */
baton_err_t baton_codec_avro_encode(baton_codec_t *c, int which, const void *s,
                                    char **buf, size_t *len, char *errstr,
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
                                    const baton_codec_env_t *env, char *errstr,
                                    size_t errlen) {
    const char *text = *env->schema_text;
    baton_err_t err;

    if (avro_schema_from_json_length(text, strlen(text), &a->schema)) {
        a->schema = NULL;
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "schemas/%s.avsc: %s", env->what, avro_strerror());
    }
    if ((err = baton_codec_schema_check(env, a->schema, errstr, errlen)))
        return err;
    if (!(a->iface = avro_generic_class_from_schema(a->schema)) ||
        avro_generic_value_new(a->iface, &a->value))
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                            "schemas/%s.avsc: %s", env->what, avro_strerror());
    a->have_value = 1;
    return BATON_OK;
}

baton_codec_t *baton_codec_new(char *errstr, size_t errlen) {
    static const char empty[1];
    baton_codec_t *c = baton_calloc(1, sizeof *c);

    if (!c) {
        baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "codec: out of memory");
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
        baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "codec: out of memory");
        baton_codec_destroy(c);
        return NULL;
    }
    return c;
}

void baton_codec_set_crypt(baton_codec_t *c, const struct baton_crypt *kr) {
    c->crypt = kr;
}

const struct baton_crypt *baton_codec_crypt(const baton_codec_t *c) {
    return c->crypt;
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
