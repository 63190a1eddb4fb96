/*
 * trace.c -- W3C traceparent parsing, derived span ids and the OTLP JSON
 * encoding of spans (trace.h).
 */
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int baton_trace_id_ok(const char *hex, size_t n) {
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        if (hexval(hex[i]) < 0) return 0;
        nonzero |= hex[i] != '0';
    }
    return nonzero;
}

int baton_trace_parse(const char *s, size_t len, baton_trace_ctx_t *out) {
    /* 00-<32>-<16>-<2>: version 00 is exactly this long; a later version
     * may append fields after a '-', which we ignore (W3C "future"). */
    if (!s || len < BATON_TRACEPARENT_LEN) return -1;
    if (hexval(s[0]) < 0 || hexval(s[1]) < 0 || !memcmp(s, "ff", 2)) return -1;
    if (!memcmp(s, "00", 2) && len != BATON_TRACEPARENT_LEN) return -1;
    if (len > BATON_TRACEPARENT_LEN && s[BATON_TRACEPARENT_LEN] != '-')
        return -1;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-') return -1;
    if (!baton_trace_id_ok(s + 3, 32) || !baton_trace_id_ok(s + 36, 16))
        return -1;
    if (hexval(s[53]) < 0 || hexval(s[54]) < 0) return -1;
    memcpy(out->trace_id, s + 3, 32);
    out->trace_id[32] = '\0';
    memcpy(out->span_id, s + 36, 16);
    out->span_id[16] = '\0';
    out->flags = (unsigned)(hexval(s[53]) * 16 + hexval(s[54]));
    return 0;
}

void baton_trace_format(const baton_trace_ctx_t *c, char *buf, size_t len) {
    snprintf(buf, len, "00-%s-%s-%02x", c->trace_id, c->span_id,
             c->flags & 0xffu);
}

void baton_trace_hex(const unsigned char *bytes, size_t n, char *out) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

/* FNV-1a over the parts, then the splitmix64 finaliser: well spread, the
 * same on every machine. */
static uint64_t hash64(uint64_t seed, const char *a, const char *b) {
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (const char *p = a; p && *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ 0xffu) * 1099511628211ULL; /* separator */
    for (const char *p = b; p && *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h ? h : 1;
}

static void u64_hex(uint64_t v, char *out) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (56 - 8 * i));
    baton_trace_hex(b, 8, out);
}

void baton_trace_derive_id(char out[BATON_SPAN_ID_HEX + 1],
                           const char *trace_id, const char *what) {
    u64_hex(hash64(0, trace_id, what), out);
}

void baton_trace_derive_trace_id(char out[BATON_TRACE_ID_HEX + 1],
                                 const char *what) {
    u64_hex(hash64(1, "trace", what), out);
    u64_hex(hash64(2, "trace", what), out + 16);
}

/* ---- spans ------------------------------------------------------------ */

void baton_span_clear(baton_span_t *sp) {
    json_decref(sp->attrs);
    memset(sp, 0, sizeof *sp);
}

baton_err_t baton_span_copy(baton_span_t *dst, const baton_span_t *src) {
    *dst = *src;
    dst->attrs = NULL;
    if (src->attrs && !(dst->attrs = json_deep_copy(src->attrs)))
        return BATON_ERR_NOMEM;
    return BATON_OK;
}

static baton_err_t attr_set(baton_span_t *sp, const char *key, json_t *v) {
    if (!v) return BATON_ERR_NOMEM;
    if (!sp->attrs && !(sp->attrs = json_object())) {
        json_decref(v);
        return BATON_ERR_NOMEM;
    }
    return json_object_set_new(sp->attrs, key, v) ? BATON_ERR_NOMEM : BATON_OK;
}

baton_err_t baton_span_attr_str(baton_span_t *sp, const char *key,
                                const char *val) {
    if (!val) return BATON_OK;
    return attr_set(sp, key, json_string(val));
}

baton_err_t baton_span_attr_int(baton_span_t *sp, const char *key,
                                int64_t val) {
    return attr_set(sp, key, json_integer((json_int_t)val));
}

/* {"key": k, "value": {"stringValue": ...}}: OTLP's AnyValue in JSON,
 * 64-bit integers as decimal strings. */
static json_t *otlp_attr(const char *k, json_t *v) {
    json_t *val;
    char num[32];
    if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        val = json_pack("{ss}", "intValue", num);
    } else if (json_is_real(v))
        val = json_pack("{sf}", "doubleValue", json_real_value(v));
    else if (json_is_boolean(v))
        val = json_pack("{sb}", "boolValue", json_is_true(v));
    else if (json_is_string(v))
        val = json_pack("{ss}", "stringValue", json_string_value(v));
    else {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        val = t ? json_pack("{ss}", "stringValue", t) : NULL;
        free(t);
    }
    return val ? json_pack("{ssso}", "key", k, "value", val) : NULL;
}

static json_t *otlp_attrs(const json_t *attrs) {
    json_t *a = json_array(), *v;
    const char *k;
    if (!a || !attrs) return a;
    json_object_foreach((json_t *)attrs, k, v) {
        json_t *one = otlp_attr(k, v);
        if (!one || json_array_append_new(a, one)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *otlp_span(const baton_span_t *sp) {
    char t0[32], t1[32];
    json_t *o, *attrs = otlp_attrs(sp->attrs);
    if (!attrs) return NULL;
    snprintf(t0, sizeof t0, "%lld", (long long)sp->start_ns);
    snprintf(t1, sizeof t1, "%lld", (long long)sp->end_ns);
    o = json_pack("{sssssssisssssos{si}}", "traceId", sp->trace_id, "spanId",
                  sp->span_id, "name", sp->name, "kind", (int)sp->kind,
                  "startTimeUnixNano", t0, "endTimeUnixNano", t1, "attributes",
                  attrs, "status", "code", sp->error ? 2 : 0);
    if (!o) return NULL;
    if (sp->parent_id[0])
        json_object_set_new(o, "parentSpanId", json_string(sp->parent_id));
    if (sp->error && sp->status_msg[0])
        json_object_set_new(json_object_get(o, "status"), "message",
                            json_string(sp->status_msg));
    return o;
}

json_t *baton_span_otlp_json(const baton_span_t *spans, size_t n,
                             const char *service) {
    json_t *arr = json_array();
    if (!arr) return NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *s = otlp_span(&spans[i]);
        if (!s || json_array_append_new(arr, s)) {
            json_decref(arr);
            return NULL;
        }
    }
    return json_pack("{s[{s{s[{sss{ss}}]}s[{s{ss}so}]}]}", "resourceSpans",
                     "resource", "attributes", "key", "service.name", "value",
                     "stringValue", service, "scopeSpans", "scope", "name",
                     "baton", "spans", arr);
}
