/*
 * event_avro.c -- format avro of the event object (event.h): finds the
 * writer schema of a record (headers, Schema Registry wire format or Avro
 * single-object encoding) through the schema registry client
 * (schema_registry.h) and decodes the value into JSON (avro_json.h).
 *
 * Framings of the record value:
 *
 *   Schema Registry wire format      Avro single-object encoding
 *   offset  size  field              offset  size  field
 *   0       1     0x00 (magic)       0       2     0xC3 0x01 (marker)
 *   1       4     schema id, BE      2       8     CRC-64-AVRO of the
 *   5       ...   Avro binary                      schema's canonical
 *                                                  form, little-endian
 *                                    10      ...   Avro binary
 *
 * or plain Avro binary when a header names the schema (avro-schema-id, or
 * avro-subject with avro-subject-version).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "avro_json.h"
#include "event.h"

#define EA_HDR_ID "avro-schema-id"
#define EA_HDR_SUBJECT "avro-subject"
#define EA_HDR_VERSION "avro-subject-version"

/* A header's value as a C string into buf; 0 when absent or too long. */
static int ea_header(const baton_bridge_msg_t *m, const char *name, char *buf,
                     size_t len) {
    const baton_bridge_header_t *h = baton_bridge_event_header(m, name);
    if (!h || !h->value || h->size >= len || memchr(h->value, 0, h->size))
        return 0;
    memcpy(buf, h->value, h->size);
    buf[h->size] = '\0';
    return 1;
}

/* Finds the schema and where the Avro binary starts; fills `info`. */
static baton_err_t ea_schema(const baton_bridge_msg_t *m, baton_sreg_t *reg,
                             json_t *info, avro_schema_t *s, size_t *skip,
                             char *errstr, size_t errlen) {
    const unsigned char *v = m->value;
    char buf[512], ver[64];
    int32_t id;
    int64_t n;
    baton_err_t err;
    *skip = 0;
    if (ea_header(m, EA_HDR_ID, buf, sizeof buf)) {
        if (baton_parse_i64(buf, &n) || n < 0 || n > INT32_MAX)
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "header " EA_HDR_ID " '%s' is not a schema id",
                                buf);
        json_object_set_new(info, "encoding", json_string("header"));
        json_object_set_new(info, "schema_id", json_integer(n));
        return baton_sreg_by_id(reg, (int32_t)n, s, errstr, errlen);
    }
    if (ea_header(m, EA_HDR_SUBJECT, buf, sizeof buf)) {
        if (!ea_header(m, EA_HDR_VERSION, ver, sizeof ver))
            snprintf(ver, sizeof ver, "latest");
        if ((err =
                 baton_sreg_by_subject(reg, buf, ver, s, &id, errstr, errlen)))
            return err;
        json_object_set_new(info, "encoding", json_string("header"));
        json_object_set_new(info, "subject", json_string(buf));
        json_object_set_new(info, "schema_id", json_integer(id));
        return BATON_OK;
    }
    if (m->value_len >= 5 && v[0] == 0x00) {
        id = (int32_t)((uint32_t)v[1] << 24 | (uint32_t)v[2] << 16 |
                       (uint32_t)v[3] << 8 | v[4]);
        *skip = 5;
        json_object_set_new(info, "encoding", json_string("registry"));
        json_object_set_new(info, "schema_id", json_integer(id));
        return baton_sreg_by_id(reg, id, s, errstr, errlen);
    }
    if (m->value_len >= 10 && v[0] == 0xC3 && v[1] == 0x01) {
        uint64_t fp = 0;
        for (int i = 9; i >= 2; i--) fp = fp << 8 | v[i];
        *skip = 10;
        snprintf(buf, sizeof buf, "%016" PRIx64, fp);
        json_object_set_new(info, "encoding", json_string("single-object"));
        json_object_set_new(info, "fingerprint", json_string(buf));
        return baton_sreg_by_fingerprint(reg, fp, s, errstr, errlen);
    }
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                        "wrong magic byte 0x%02x (%zu bytes): neither the "
                        "Schema Registry wire format (0x00 + id) nor Avro "
                        "single-object encoding (0xC3 0x01 + fingerprint), "
                        "and no " EA_HDR_ID " or " EA_HDR_SUBJECT " header",
                        v[0], m->value_len);
}

baton_err_t baton_bridge_event_build_avro(const baton_bridge_msg_t *m,
                                          baton_sreg_t *reg, json_t **out,
                                          char *errstr, size_t errlen) {
    json_t *ev, *info = NULL, *v = NULL;
    avro_schema_t s = NULL;
    size_t skip;
    baton_err_t err;
    *out = NULL;
    if ((err = baton_bridge_event_base(m, &ev))) return err;
    if (!m->value || m->value_len == 0) {
        json_object_set_new(ev, "value", json_null());
        *out = ev;
        return BATON_OK;
    }
    if (!(info = json_object())) {
        json_decref(ev);
        return BATON_ERR_NOMEM;
    }
    if (!(err = ea_schema(m, reg, info, &s, &skip, errstr, errlen))) {
        const char *name = is_avro_named_type(s) ? avro_schema_name(s) : NULL;
        const char *ns = name ? avro_schema_namespace(s) : NULL;
        char full[512];
        if (name) {
            snprintf(full, sizeof full, "%s%s%s", ns && *ns ? ns : "",
                     ns && *ns ? "." : "", name);
            json_object_set_new(info, "name", json_string(full));
        }
        err = baton_avro_json_decode(s, (const unsigned char *)m->value + skip,
                                     m->value_len - skip, &v, errstr, errlen);
    }
    if (!err && (json_object_set_new(ev, "value", v) ||
                 json_object_set_new(ev, "avro", info)))
        err = BATON_ERR_NOMEM;
    else if (err)
        json_decref(info);
    if (err) {
        json_decref(ev);
        return err;
    }
    *out = ev;
    return BATON_OK;
}
