/*
 * event.c -- decoding a source record into the event object (event.h):
 * JSON values and CloudEvents in binary and structured mode (Avro values:
 * event_avro.c).
 */
#include "event.h"

#include <string.h>
#include <strings.h>

#define CE_PREFIX "ce_"

/* A header's value as a JSON string, or NULL when it is not UTF-8 (or
 * absent). */
static json_t *header_string(const baton_bridge_header_t *h) {
    if (!h->value) return NULL;
    return json_stringn((const char *)h->value, h->size);
}

/* The last header named name (case-insensitive), or NULL. */
static const baton_bridge_header_t *header_find(const baton_bridge_msg_t *m,
                                                const char *name) {
    const baton_bridge_header_t *found = NULL;
    for (size_t i = 0; i < m->nheaders; i++)
        if (!strcasecmp(m->headers[i].name, name)) found = &m->headers[i];
    return found;
}

/* Parses text as one JSON value; INVALID with the position when it is not. */
static baton_err_t parse_json(const void *p, size_t n, const char *what,
                              json_t **out, char *errstr, size_t errlen) {
    json_error_t jerr;
    *out = json_loadb((const char *)p, n, JSON_DECODE_ANY, &jerr);
    if (*out) return BATON_OK;
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                        "%s is not JSON: %s (at byte %d)", what, jerr.text,
                        jerr.position);
}

/* 1 when a content type means JSON (absent counts as JSON). */
static int content_is_json(const baton_bridge_header_t *ct) {
    char buf[128];
    size_t n;
    if (!ct || !ct->value || ct->size == 0) return 1;
    n = ct->size < sizeof buf - 1 ? ct->size : sizeof buf - 1;
    memcpy(buf, ct->value, n);
    buf[n] = '\0';
    return strstr(buf, "json") != NULL;
}

/* The value as data: JSON when json, else a UTF-8 string. */
static baton_err_t data_value(const baton_bridge_msg_t *m, int json,
                              json_t **out, char *errstr, size_t errlen) {
    if (!m->value || m->value_len == 0) {
        *out = json_null();
        return BATON_OK;
    }
    if (json)
        return parse_json(m->value, m->value_len, "value", out, errstr, errlen);
    if (!(*out = json_stringn((const char *)m->value, m->value_len)))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "value is neither JSON nor UTF-8 text");
    return BATON_OK;
}

static baton_err_t ce_require(json_t *ce, const char *mode, char *errstr,
                              size_t errlen) {
    static const char *const req[] = {"specversion", "id", "source", "type"};
    for (size_t i = 0; i < BATON_ARRAY_SIZE(req); i++) {
        json_t *v = json_object_get(ce, req[i]);
        if (!json_is_string(v) || !json_string_length(v))
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "CloudEvent (%s mode) lacks the required "
                                "attribute '%s'",
                                mode, req[i]);
    }
    if (strcmp(json_string_value(json_object_get(ce, "specversion")), "1.0"))
        return baton_seterr(
            errstr, errlen, BATON_ERR_INVALID,
            "CloudEvent specversion '%s' is not 1.0",
            json_string_value(json_object_get(ce, "specversion")));
    return BATON_OK;
}

/* Binary mode: attributes from ce_* headers, data = the value. */
static baton_err_t ce_binary(const baton_bridge_msg_t *m, json_t *ev,
                             char *errstr, size_t errlen) {
    const baton_bridge_header_t *ct = header_find(m, "content-type");
    json_t *ce = json_object(), *data = NULL, *s;
    baton_err_t err;
    if (!ce) return BATON_ERR_NOMEM;
    for (size_t i = 0; i < m->nheaders; i++) {
        const baton_bridge_header_t *h = &m->headers[i];
        if (strncasecmp(h->name, CE_PREFIX, strlen(CE_PREFIX))) continue;
        if (!(s = header_string(h))) {
            json_decref(ce);
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "CloudEvent header '%s' is not UTF-8", h->name);
        }
        json_object_set_new(ce, h->name + strlen(CE_PREFIX), s);
    }
    if (ct && (s = header_string(ct)))
        json_object_set_new(ce, "datacontenttype", s);
    if ((err = ce_require(ce, "binary", errstr, errlen)) ||
        (err = data_value(m, content_is_json(ct), &data, errstr, errlen))) {
        json_decref(ce);
        return err;
    }
    json_object_set_new(ev, "value", data);
    json_object_set_new(ev, "ce", ce);
    return BATON_OK;
}

/* Structured mode: the value is the whole event as JSON. */
static baton_err_t ce_structured(json_t *whole, json_t *ev, char *errstr,
                                 size_t errlen) {
    json_t *ce, *data;
    baton_err_t err;
    if (!json_is_object(whole))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "CloudEvent (structured mode) is not a JSON "
                            "object");
    if (!(ce = json_copy(whole))) return BATON_ERR_NOMEM;
    data = json_object_get(whole, "data");
    if (!data) data = json_object_get(whole, "data_base64");
    json_object_del(ce, "data");
    json_object_del(ce, "data_base64");
    if ((err = ce_require(ce, "structured", errstr, errlen))) {
        json_decref(ce);
        return err;
    }
    json_object_set(ev, "value", data ? data : json_null());
    json_object_set_new(ev, "ce", ce);
    return BATON_OK;
}

static baton_err_t cloudevent(const baton_bridge_msg_t *m, json_t *ev,
                              char *errstr, size_t errlen) {
    const baton_bridge_header_t *ct = header_find(m, "content-type");
    json_t *whole = NULL;
    baton_err_t err;
    char ctbuf[64] = "";
    if (header_find(m, CE_PREFIX "specversion"))
        return ce_binary(m, ev, errstr, errlen);
    if (ct && ct->value)
        snprintf(ctbuf, sizeof ctbuf, "%.*s",
                 (int)(ct->size < 63 ? ct->size : 63), (const char *)ct->value);
    if (!m->value || m->value_len == 0)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "not a CloudEvent: no ce_specversion header and "
                            "an empty value");
    err = parse_json(m->value, m->value_len, "value", &whole, errstr, errlen);
    if (err) return err;
    if (strncasecmp(ctbuf, "application/cloudevents", 23) &&
        !(json_is_object(whole) && json_object_get(whole, "specversion"))) {
        json_decref(whole);
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "not a CloudEvent: no ce_specversion header and "
                            "no specversion attribute in the value");
    }
    err = ce_structured(whole, ev, errstr, errlen);
    json_decref(whole);
    return err;
}

static json_t *headers_object(const baton_bridge_msg_t *m) {
    json_t *h = json_object(), *s;
    if (!h) return NULL;
    for (size_t i = 0; i < m->nheaders; i++)
        if ((s = header_string(&m->headers[i])))
            json_object_set_new(h, m->headers[i].name, s);
    return h;
}

baton_err_t baton_bridge_event_base(const baton_bridge_msg_t *m, json_t **out) {
    json_t *ev = json_object(), *key = NULL;
    *out = NULL;
    if (!ev) return BATON_ERR_NOMEM;
    if (m->key) key = json_stringn((const char *)m->key, m->key_len);
    if (json_object_set_new(ev, "key", key ? key : json_null()) ||
        json_object_set_new(ev, "headers", headers_object(m)) ||
        json_object_set_new(ev, "topic", json_string(m->topic)) ||
        json_object_set_new(ev, "partition", json_integer(m->partition)) ||
        json_object_set_new(ev, "offset", json_integer(m->offset)) ||
        json_object_set_new(ev, "timestamp",
                            m->timestamp_ms >= 0 ? json_integer(m->timestamp_ms)
                                                 : json_null())) {
        json_decref(ev);
        return BATON_ERR_NOMEM;
    }
    *out = ev;
    return BATON_OK;
}

const baton_bridge_header_t *
baton_bridge_event_header(const baton_bridge_msg_t *m, const char *name) {
    return header_find(m, name);
}

baton_err_t baton_bridge_event_build(baton_trigger_format_t format,
                                     const baton_bridge_msg_t *m, json_t **out,
                                     char *errstr, size_t errlen) {
    json_t *ev, *v = NULL;
    baton_err_t err;
    *out = NULL;
    if ((err = baton_bridge_event_base(m, &ev))) return err;
    if (format == BATON_TRIGGER_FORMAT_CLOUDEVENTS) {
        err = cloudevent(m, ev, errstr, errlen);
    } else if (format == BATON_TRIGGER_FORMAT_AVRO) {
        err = baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                           "format avro needs a schema registry: "
                           "baton_bridge_event_build_avro");
    } else if (!(err = data_value(m, 1, &v, errstr, errlen))) {
        if (json_object_set_new(ev, "value", v)) err = BATON_ERR_NOMEM;
    }
    if (err) {
        json_decref(ev);
        return err;
    }
    *out = ev;
    return BATON_OK;
}
