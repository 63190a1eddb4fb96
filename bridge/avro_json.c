/*
 * avro_json.c -- the bounded Avro-binary-to-JSON walk, the Parsing
 * Canonical Form and CRC-64-AVRO of avro_json.h.
 *
 * Avro binary, as read here (specification 1.11, "Binary Encoding"):
 *
 *   int, long        zigzag varint, at most 5 / 10 bytes
 *   float, double    4 / 8 bytes little-endian IEEE 754
 *   boolean          one byte, 0 or 1
 *   bytes, string    long length, then that many bytes
 *   fixed            size bytes
 *   enum             int symbol index
 *   union            long branch index, then the branch's value
 *   array, map       blocks: long count (negative: -count, then a long
 *                    byte size of the block), count items (a map item is a
 *                    string key then the value); a count of 0 ends
 *   record           the fields in order, nothing in between
 */
#include "avro_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define AJ_DEPTH_MAX 64
/* items of zero bytes each (null, empty records) a block may claim */
#define AJ_ZERO_ITEMS_MAX 100000

typedef struct aj_reader {
    const unsigned char *p, *end, *start;
    int depth;
    char *errstr;
    size_t errlen;
    char path[256]; /* the field being read, for messages */
} aj_reader_t;

static baton_err_t aj_fail(aj_reader_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static baton_err_t aj_fail(aj_reader_t *r, const char *fmt, ...) {
    char m[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return baton_seterr(r->errstr, r->errlen, BATON_ERR_INVALID,
                        "%s%s%s%s at byte %td", r->path[0] ? "field '" : "",
                        r->path, r->path[0] ? "': " : "", m, r->p - r->start);
}

static baton_err_t aj_long(aj_reader_t *r, int maxbytes, int64_t *out) {
    uint64_t v = 0;
    int shift = 0;
    for (int i = 0; i < maxbytes; i++) {
        unsigned char b;
        if (r->p >= r->end) return aj_fail(r, "truncated varint");
        b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return BATON_OK;
        }
        shift += 7;
    }
    return aj_fail(r, "varint longer than %d bytes", maxbytes);
}

static json_t *aj_base64(const unsigned char *p, size_t n) {
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t olen = (n + 2) / 3 * 4, o = 0;
    char *s = baton_malloc(olen + 1);
    json_t *j;
    if (!s) return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        s[o++] = tab[(v >> 18) & 63];
        s[o++] = tab[(v >> 12) & 63];
        s[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        s[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    s[o] = '\0';
    j = json_stringn(s, o);
    baton_free(s);
    return j;
}

static json_t *aj_real(double d) {
    if (isnan(d)) return json_string("NaN");
    if (isinf(d)) return json_string(d > 0 ? "Infinity" : "-Infinity");
    return json_real(d);
}

/* n bytes of the buffer (length-checked); *p points at them. */
static baton_err_t aj_take(aj_reader_t *r, int64_t n, const unsigned char **p,
                           const char *what) {
    if (n < 0) return aj_fail(r, "negative %s length %lld", what, (long long)n);
    if (n > r->end - r->p)
        return aj_fail(r, "%s of %lld bytes, %td left", what, (long long)n,
                       r->end - r->p);
    *p = r->p;
    r->p += n;
    return BATON_OK;
}

static baton_err_t aj_value(aj_reader_t *r, avro_schema_t s, json_t **out);

/* A string (UTF-8 checked by jansson). */
static baton_err_t aj_string(aj_reader_t *r, json_t **out) {
    const unsigned char *p;
    int64_t n = 0;
    baton_err_t err;
    if ((err = aj_long(r, 10, &n)) || (err = aj_take(r, n, &p, "string")))
        return err;
    if (!(*out = json_stringn((const char *)p, (size_t)n)))
        return aj_fail(r, "string is not UTF-8");
    return BATON_OK;
}

/* Arrays and maps: blocks of items. */
static baton_err_t aj_blocks(aj_reader_t *r, avro_schema_t s, int is_map,
                             json_t *into) {
    avro_schema_t item =
        is_map ? avro_schema_map_values(s) : avro_schema_array_items(s);
    for (;;) {
        int64_t count = 0, size = 0;
        baton_err_t err;
        if ((err = aj_long(r, 10, &count))) return err;
        if (count == 0) return BATON_OK;
        if (count < 0) {
            if (count == INT64_MIN) return aj_fail(r, "bad block count");
            count = -count;
            if ((err = aj_long(r, 10, &size))) return err;
        }
        if (count > (r->end - r->p) && count > AJ_ZERO_ITEMS_MAX)
            return aj_fail(r, "block of %lld items, %td bytes left",
                           (long long)count, r->end - r->p);
        for (int64_t i = 0; i < count; i++) {
            json_t *k = NULL, *v = NULL;
            if (is_map && (err = aj_string(r, &k))) return err;
            if ((err = aj_value(r, item, &v))) {
                json_decref(k);
                return err;
            }
            if (is_map ? json_object_set_new(into, json_string_value(k), v)
                       : json_array_append_new(into, v)) {
                json_decref(k);
                return BATON_ERR_NOMEM;
            }
            json_decref(k);
        }
    }
}

static baton_err_t aj_record(aj_reader_t *r, avro_schema_t s, json_t *into) {
    size_t n = avro_schema_record_size(s), plen = strlen(r->path);
    for (size_t i = 0; i < n; i++) {
        const char *name = avro_schema_record_field_name(s, (int)i);
        json_t *v = NULL;
        baton_err_t err;
        snprintf(r->path + plen, sizeof r->path - plen, "%s%s", plen ? "." : "",
                 name);
        if ((err = aj_value(r, avro_schema_record_field_get_by_index(s, (int)i),
                            &v)))
            return err;
        r->path[plen] = '\0';
        if (json_object_set_new(into, name, v)) return BATON_ERR_NOMEM;
    }
    return BATON_OK;
}

static baton_err_t aj_fixedlen(aj_reader_t *r, size_t n, void *dst) {
    if ((size_t)(r->end - r->p) < n) return aj_fail(r, "truncated");
    memcpy(dst, r->p, n);
    r->p += n;
    return BATON_OK;
}

static baton_err_t aj_scalar(aj_reader_t *r, avro_schema_t s, json_t **out) {
    const unsigned char *p;
    int64_t l = 0;
    baton_err_t err;
    unsigned char b[8] = {0};
    switch (avro_typeof(s)) {
    case AVRO_NULL: *out = json_null(); return BATON_OK;
    case AVRO_BOOLEAN:
        if ((err = aj_fixedlen(r, 1, b))) return err;
        if (b[0] > 1) return aj_fail(r, "boolean byte %u", b[0]);
        *out = json_boolean(b[0]);
        return BATON_OK;
    case AVRO_INT32:
    case AVRO_INT64:
        if ((err = aj_long(r, avro_typeof(s) == AVRO_INT32 ? 5 : 10, &l)))
            return err;
        if (avro_typeof(s) == AVRO_INT32 && (l < INT32_MIN || l > INT32_MAX))
            return aj_fail(r, "int out of range");
        *out = json_integer(l);
        return BATON_OK;
    case AVRO_FLOAT: {
        float f;
        uint32_t u;
        if ((err = aj_fixedlen(r, 4, b))) return err;
        u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
            (uint32_t)b[3] << 24;
        memcpy(&f, &u, 4);
        *out = aj_real(f);
        return BATON_OK;
    }
    case AVRO_DOUBLE: {
        double d;
        uint64_t u = 0;
        if ((err = aj_fixedlen(r, 8, b))) return err;
        for (int i = 7; i >= 0; i--) u = u << 8 | b[i];
        memcpy(&d, &u, 8);
        *out = aj_real(d);
        return BATON_OK;
    }
    case AVRO_STRING: return aj_string(r, out);
    case AVRO_BYTES:
        if ((err = aj_long(r, 10, &l)) || (err = aj_take(r, l, &p, "bytes")))
            return err;
        *out = aj_base64(p, (size_t)l);
        return BATON_OK;
    case AVRO_FIXED:
        if ((err = aj_take(r, avro_schema_fixed_size(s), &p, "fixed")))
            return err;
        *out = aj_base64(p, (size_t)avro_schema_fixed_size(s));
        return BATON_OK;
    case AVRO_ENUM:
        if ((err = aj_long(r, 5, &l))) return err;
        if (l < 0 || l >= avro_schema_enum_number_of_symbols(s))
            return aj_fail(r, "enum index %lld of %d symbols", (long long)l,
                           avro_schema_enum_number_of_symbols(s));
        *out = json_string(avro_schema_enum_get(s, (int)l));
        return BATON_OK;
    default: return aj_fail(r, "unexpected type %d", (int)avro_typeof(s));
    }
}

static baton_err_t aj_value(aj_reader_t *r, avro_schema_t s, json_t **out) {
    baton_err_t err = BATON_OK;
    int64_t l = 0;
    *out = NULL;
    if (is_avro_link(s)) s = avro_schema_link_target(s);
    if (++r->depth > AJ_DEPTH_MAX) return aj_fail(r, "nested too deep");
    switch (avro_typeof(s)) {
    case AVRO_UNION:
        if ((err = aj_long(r, 10, &l))) break;
        if (l < 0 || (size_t)l >= avro_schema_union_size(s)) {
            err = aj_fail(r, "union branch %lld of %zu", (long long)l,
                          avro_schema_union_size(s));
            break;
        }
        err = aj_value(r, avro_schema_union_branch(s, (int)l), out);
        break;
    case AVRO_RECORD:
        if (!(*out = json_object())) return BATON_ERR_NOMEM;
        err = aj_record(r, s, *out);
        break;
    case AVRO_MAP:
    case AVRO_ARRAY:
        *out = avro_typeof(s) == AVRO_MAP ? json_object() : json_array();
        if (!*out) return BATON_ERR_NOMEM;
        err = aj_blocks(r, s, avro_typeof(s) == AVRO_MAP, *out);
        break;
    default:
        if (!(err = aj_scalar(r, s, out)) && !*out) err = BATON_ERR_NOMEM;
    }
    r->depth--;
    if (err) {
        json_decref(*out);
        *out = NULL;
    }
    return err;
}

baton_err_t baton_avro_json_decode(avro_schema_t schema, const void *buf,
                                   size_t len, json_t **out, char *errstr,
                                   size_t errlen) {
    aj_reader_t r = {.p = buf,
                     .end = (const unsigned char *)buf + len,
                     .start = buf,
                     .errstr = errstr,
                     .errlen = errlen};
    baton_err_t err;
    *out = NULL;
    if ((err = aj_value(&r, schema, out))) return err;
    if (r.p != r.end) {
        json_decref(*out);
        *out = NULL;
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%td trailing bytes after the value", r.end - r.p);
    }
    return BATON_OK;
}

/* ---- Parsing Canonical Form -------------------------------------------- */

typedef struct pcf {
    char *buf;
    size_t len, cap;
    int oom;
    const char *seen[256]; /* named types written in full already */
    size_t nseen;
} pcf_t;

static void pcf_put(pcf_t *c, const char *s, size_t n) {
    if (c->oom) return;
    if (c->len + n + 1 > c->cap) {
        size_t ncap = (c->len + n + 1) * 2;
        char *nb = baton_realloc(c->buf, ncap);
        if (!nb) {
            c->oom = 1;
            return;
        }
        c->buf = nb;
        c->cap = ncap;
    }
    memcpy(c->buf + c->len, s, n);
    c->len += n;
    c->buf[c->len] = '\0';
}

static void pcf_str(pcf_t *c, const char *s) {
    pcf_put(c, s, strlen(s));
}

/* A JSON string literal (names and symbols are [A-Za-z0-9_.]). */
static void pcf_quoted(pcf_t *c, const char *s) {
    pcf_str(c, "\"");
    pcf_str(c, s);
    pcf_str(c, "\"");
}

static void pcf_fullname(pcf_t *c, avro_schema_t s) {
    const char *ns = avro_schema_namespace(s);
    pcf_str(c, "\"");
    if (ns && *ns) {
        pcf_str(c, ns);
        pcf_str(c, ".");
    }
    pcf_str(c, avro_schema_name(s));
    pcf_str(c, "\"");
}

/* 1 when s was written in full before (then only its name is written). */
static int pcf_named_seen(pcf_t *c, avro_schema_t s) {
    for (size_t i = 0; i < c->nseen; i++)
        if (c->seen[i] == (const char *)s) return 1;
    if (c->nseen < BATON_ARRAY_SIZE(c->seen)) c->seen[c->nseen++] = (void *)s;
    return 0;
}

static void pcf_schema(pcf_t *c, avro_schema_t s) {
    char num[32];
    if (is_avro_link(s)) s = avro_schema_link_target(s);
    switch (avro_typeof(s)) {
    case AVRO_RECORD:
    case AVRO_ENUM:
    case AVRO_FIXED:
        if (pcf_named_seen(c, s)) {
            pcf_fullname(c, s);
            return;
        }
        pcf_str(c, "{\"name\":");
        pcf_fullname(c, s);
        pcf_str(c, is_avro_record(s) ? ",\"type\":\"record\""
                   : is_avro_enum(s) ? ",\"type\":\"enum\""
                                     : ",\"type\":\"fixed\"");
        if (is_avro_record(s)) {
            pcf_str(c, ",\"fields\":[");
            for (size_t i = 0; i < avro_schema_record_size(s); i++) {
                pcf_str(c, i ? ",{\"name\":" : "{\"name\":");
                pcf_quoted(c, avro_schema_record_field_name(s, (int)i));
                pcf_str(c, ",\"type\":");
                pcf_schema(c, avro_schema_record_field_get_by_index(s, (int)i));
                pcf_str(c, "}");
            }
            pcf_str(c, "]}");
        } else if (is_avro_enum(s)) {
            pcf_str(c, ",\"symbols\":[");
            for (int i = 0; i < avro_schema_enum_number_of_symbols(s); i++) {
                if (i) pcf_str(c, ",");
                pcf_quoted(c, avro_schema_enum_get(s, i));
            }
            pcf_str(c, "]}");
        } else {
            snprintf(num, sizeof num, ",\"size\":%lld}",
                     (long long)avro_schema_fixed_size(s));
            pcf_str(c, num);
        }
        return;
    case AVRO_ARRAY:
        pcf_str(c, "{\"type\":\"array\",\"items\":");
        pcf_schema(c, avro_schema_array_items(s));
        pcf_str(c, "}");
        return;
    case AVRO_MAP:
        pcf_str(c, "{\"type\":\"map\",\"values\":");
        pcf_schema(c, avro_schema_map_values(s));
        pcf_str(c, "}");
        return;
    case AVRO_UNION:
        pcf_str(c, "[");
        for (size_t i = 0; i < avro_schema_union_size(s); i++) {
            if (i) pcf_str(c, ",");
            pcf_schema(c, avro_schema_union_branch(s, (int)i));
        }
        pcf_str(c, "]");
        return;
    default: pcf_quoted(c, avro_schema_type_name(s));
    }
}

char *baton_avro_json_canonical(avro_schema_t schema) {
    pcf_t c;
    memset(&c, 0, sizeof c);
    pcf_schema(&c, schema);
    if (c.oom || !c.buf) {
        baton_free(c.buf);
        return NULL;
    }
    return c.buf;
}

/* ---- CRC-64-AVRO --------------------------------------------------------- */

#define AJ_CRC64_EMPTY UINT64_C(0xc15d213aa4d7a795)

uint64_t baton_avro_json_crc64(const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t fp = AJ_CRC64_EMPTY;
    for (size_t i = 0; i < n; i++) {
        uint64_t t = (fp ^ b[i]) & 0xff;
        for (int k = 0; k < 8; k++) t = (t >> 1) ^ (AJ_CRC64_EMPTY & -(t & 1));
        fp = (fp >> 8) ^ t;
    }
    return fp;
}
