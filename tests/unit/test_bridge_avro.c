/*
 * test_bridge_avro.c -- baton-bridge's format avro, the pure parts:
 * Avro binary to JSON (bridge/avro_json.c) for every type, refusals of
 * hostile bytes (lengths, counts, branches, trailing bytes), the Parsing
 * Canonical Form and CRC-64-AVRO fingerprint, and the framings of
 * event_avro.c with a registry client that has only schema files (no
 * network: the registry itself is tests/integration/0110-bridge-avro.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_json.h"
#include "check.h"
#include "event.h"
#include "schema_registry.h"

static char errstr[1024];

/* Every type the walk knows; the enum takes the record's namespace. */
static const char SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"shop\","
    "\"doc\":\"dropped by the canonical form\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"},"
    "{\"name\":\"n\",\"type\":\"long\"},"
    "{\"name\":\"i\",\"type\":\"int\"},"
    "{\"name\":\"ok\",\"type\":\"boolean\"},"
    "{\"name\":\"f\",\"type\":\"float\"},"
    "{\"name\":\"d\",\"type\":\"double\"},"
    "{\"name\":\"b\",\"type\":\"bytes\"},"
    "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"F2\","
    "\"size\":2}},"
    "{\"name\":\"st\",\"type\":{\"type\":\"enum\",\"name\":\"St\","
    "\"symbols\":[\"NEW\",\"PAID\"]}},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"int\"}},"
    "{\"name\":\"u\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"st2\",\"type\":\"St\"},"
    "{\"name\":\"ts\",\"type\":{\"type\":\"long\","
    "\"logicalType\":\"timestamp-millis\"}}]}";

static const char PCF[] =
    "{\"name\":\"shop.Order\",\"type\":\"record\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"long\"},"
    "{\"name\":\"i\",\"type\":\"int\"},{\"name\":\"ok\",\"type\":\"boolean\"},"
    "{\"name\":\"f\",\"type\":\"float\"},{\"name\":\"d\",\"type\":\"double\"},"
    "{\"name\":\"b\",\"type\":\"bytes\"},{\"name\":\"fx\",\"type\":{\"name\":"
    "\"shop.F2\",\"type\":\"fixed\",\"size\":2}},{\"name\":\"st\",\"type\":"
    "{\"name\":\"shop.St\",\"type\":\"enum\",\"symbols\":[\"NEW\",\"PAID\"]}},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"int\"}},"
    "{\"name\":\"u\",\"type\":[\"null\",\"string\"]},{\"name\":\"st2\","
    "\"type\":\"shop.St\"},{\"name\":\"ts\",\"type\":\"long\"}]}";

/* One Order in Avro binary. */
static const unsigned char ORDER[] = {
    0x04, 'A',  '1',                                /* id "A1" */
    0x18,                                           /* n 12 */
    0x03,                                           /* i -2 */
    0x01,                                           /* ok true */
    0x00, 0x00, 0xc0, 0x3f,                         /* f 1.5 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x40, /* d 2.5 */
    0x06, 'a',  'b',  'c',                          /* b "abc" -> YWJj */
    0xff, 0x00,                                     /* fx -> /wA= */
    0x02,                                           /* st PAID */
    0x04, 0x02, 'x',  0x02, 'y',  0x00,             /* tags ["x","y"] */
    0x01, 0x06, 0x02, 'k',  0x0e, 0x00, /* m {"k":7}: block -1, 3 bytes */
    0x02, 0x02, 'z',                    /* u "z" */
    0x00,                               /* st2 NEW */
    0x80, 0x01                          /* ts 64 */
};

static avro_schema_t schema(void) {
    avro_schema_t s = NULL;
    if (avro_schema_from_json_length(SCHEMA, strlen(SCHEMA), &s))
        fprintf(stderr, "schema: %s\n", avro_strerror());
    return s;
}

static void test_decode(void) {
    avro_schema_t s = schema();
    json_t *v = NULL, *want;
    char *dump;
    CHECK(s != NULL, "the test schema does not parse");
    CHECK(baton_avro_json_decode(s, ORDER, sizeof ORDER, &v, errstr,
                                 sizeof errstr) == BATON_OK,
          "decoding ORDER: %s", errstr);
    want = json_loads("{\"id\":\"A1\",\"n\":12,\"i\":-2,\"ok\":true,\"f\":1.5,"
                      "\"d\":2.5,\"b\":\"YWJj\",\"fx\":\"/wA=\",\"st\":"
                      "\"PAID\",\"tags\":[\"x\",\"y\"],\"m\":{\"k\":7},"
                      "\"u\":\"z\",\"st2\":\"NEW\",\"ts\":64}",
                      0, NULL);
    dump = v ? json_dumps(v, JSON_COMPACT) : NULL;
    CHECK(v && json_equal(v, want), "ORDER decoded to %s",
          dump ? dump : "nothing");
    free(dump);
    json_decref(v);
    json_decref(want);
    avro_schema_decref(s);
}

static void expect_bad(const unsigned char *p, size_t n, const char *needle) {
    avro_schema_t s = schema();
    json_t *v = (json_t *)1;
    baton_err_t err =
        baton_avro_json_decode(s, p, n, &v, errstr, sizeof errstr);
    CHECK(err == BATON_ERR_INVALID && v == NULL,
          "hostile bytes (want '%s'): error %d, value %p", needle, (int)err,
          (void *)v);
    CHECK(strstr(errstr, needle) != NULL, "want '%s', got '%s'", needle,
          errstr);
    avro_schema_decref(s);
}

static void test_hostile(void) {
    unsigned char buf[sizeof ORDER + 1];
    /* a string claiming 2^62 bytes: refused before any allocation */
    static const unsigned char huge[] = {0xfe, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0x7f};
    expect_bad(huge, sizeof huge, "field 'id': string of");
    expect_bad(ORDER, 2, "field 'id': string of 2 bytes, 1 left");
    expect_bad(ORDER, 5, "field 'ok': truncated");
    memcpy(buf, ORDER, sizeof ORDER);
    buf[sizeof ORDER] = 0;
    expect_bad(buf, sizeof buf, "1 trailing bytes");
    memcpy(buf, ORDER, sizeof ORDER);
    buf[24] = 0x08; /* st: symbol 4 of 2 */
    expect_bad(buf, sizeof ORDER, "field 'st': enum index 4 of 2 symbols");
    memcpy(buf, ORDER, sizeof ORDER);
    buf[37] = 0x06; /* u: branch 3 of 2 */
    expect_bad(buf, sizeof ORDER, "field 'u': union branch 3 of 2");
    memcpy(buf, ORDER, sizeof ORDER);
    buf[5] = 0x02; /* ok: boolean byte 2 */
    expect_bad(buf, sizeof ORDER, "field 'ok': boolean byte 2");
}

static void test_fingerprint(void) {
    avro_schema_t s = schema(), i = avro_schema_int();
    char *pcf = baton_avro_json_canonical(s),
         *pi = baton_avro_json_canonical(i);
    CHECK(pcf && !strcmp(pcf, PCF), "canonical form of the test schema: %s",
          pcf ? pcf : "NULL");
    /* the specification's examples: "int" and the empty input */
    CHECK(pi && !strcmp(pi, "\"int\""), "canonical form of int: %s",
          pi ? pi : "NULL");
    CHECK(baton_avro_json_crc64("\"int\"", 5) == UINT64_C(0x7275d51a3f395c8f),
          "CRC-64-AVRO of \"int\": %016llx",
          (unsigned long long)baton_avro_json_crc64("\"int\"", 5));
    CHECK(baton_avro_json_crc64("", 0) == UINT64_C(0xc15d213aa4d7a795),
          "CRC-64-AVRO of the empty input: %016llx",
          (unsigned long long)baton_avro_json_crc64("", 0));
    baton_free(pcf);
    baton_free(pi);
    avro_schema_decref(s);
    avro_schema_decref(i);
}

/* A record through event_avro.c with value v (n bytes) and headers. */
static baton_err_t build(baton_sreg_t *r, const void *v, size_t n,
                         const baton_bridge_header_t *h, size_t nh,
                         json_t **ev) {
    baton_bridge_msg_t m = {.topic = "t",
                            .partition = 1,
                            .offset = 9,
                            .timestamp_ms = -1,
                            .value = v,
                            .value_len = n,
                            .headers = h,
                            .nheaders = nh};
    return baton_bridge_event_build_avro(&m, r, ev, errstr, sizeof errstr);
}

static void test_framings(void) {
    baton_sreg_conf_t c = {.cache_max = 4, .wait_ms = 0};
    baton_sreg_t *r = NULL;
    unsigned char buf[10 + sizeof ORDER];
    char path[] = "/tmp/test_bridge_avro.XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    uint64_t fp = baton_avro_json_crc64(PCF, strlen(PCF));
    baton_bridge_header_t hid = {"avro-schema-id", "7", 1};
    json_t *ev = NULL;
    CHECK(f != NULL, "cannot write the schema file %s", path);
    if (!f) return;
    fputs(SCHEMA, f);
    fclose(f);
    CHECK(baton_sreg_new(&c, &r, errstr, sizeof errstr) == BATON_OK,
          "registry client without a URL: %s", errstr);
    CHECK(baton_sreg_add_file(r, path, errstr, sizeof errstr) == BATON_OK,
          "schema file: %s", errstr);
    /* single-object encoding, the schema found by fingerprint */
    buf[0] = 0xC3;
    buf[1] = 0x01;
    for (int i = 0; i < 8; i++) buf[2 + i] = (unsigned char)(fp >> (8 * i));
    memcpy(buf + 10, ORDER, sizeof ORDER);
    CHECK(build(r, buf, sizeof buf, NULL, 0, &ev) == BATON_OK,
          "single-object encoding: %s", errstr);
    CHECK(ev && !strcmp(json_string_value(json_object_get(
                            json_object_get(ev, "value"), "st")),
                        "PAID"),
          "single-object encoding: value.st is not PAID");
    CHECK(ev && !strcmp(json_string_value(json_object_get(
                            json_object_get(ev, "avro"), "name")),
                        "shop.Order"),
          "single-object encoding: avro.name is not shop.Order");
    CHECK(ev && !strcmp(json_string_value(json_object_get(
                            json_object_get(ev, "avro"), "encoding")),
                        "single-object"),
          "single-object encoding: avro.encoding is not single-object");
    json_decref(ev);
    /* an unknown fingerprint */
    buf[2] ^= 1;
    CHECK(build(r, buf, sizeof buf, NULL, 0, &ev) == BATON_ERR_NOTFOUND,
          "an unknown fingerprint is not NOTFOUND: %s", errstr);
    CHECK(strstr(errstr, "no schema with fingerprint") != NULL,
          "unknown fingerprint: %s", errstr);
    /* wrong magic */
    buf[0] = 0x07;
    CHECK(build(r, buf, sizeof buf, NULL, 0, &ev) == BATON_ERR_INVALID,
          "a wrong magic byte is not INVALID: %s", errstr);
    CHECK(strstr(errstr, "wrong magic byte 0x07") != NULL,
          "wrong magic byte: %s", errstr);
    /* the wire format and a header need the registry */
    buf[0] = 0x00;
    CHECK(build(r, buf, sizeof buf, NULL, 0, &ev) == BATON_ERR_CONFIG,
          "the wire format without a registry is not CONFIG: %s", errstr);
    CHECK(build(r, ORDER, sizeof ORDER, &hid, 1, &ev) == BATON_ERR_CONFIG,
          "a schema-id header without a registry is not CONFIG: %s", errstr);
    CHECK(strstr(errstr, "no schema registry configured") != NULL,
          "schema-id header without a registry: %s", errstr);
    /* an empty value is a tombstone */
    CHECK(build(r, NULL, 0, NULL, 0, &ev) == BATON_OK, "tombstone: %s", errstr);
    CHECK(ev && json_is_null(json_object_get(ev, "value")),
          "a tombstone's value is not null");
    json_decref(ev);
    CHECK(baton_sreg_fetches(r) == 0,
          "%lld registry fetches without a registry URL",
          (long long)baton_sreg_fetches(r));
    baton_sreg_destroy(r);
    remove(path);
}

int main(void) {
    test_decode();
    test_hostile();
    test_fingerprint();
    test_framings();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
