/*
 * kafka_tool.c -- `baton-kafka`, the tests' raw Kafka hands (kcat is not in
 * Debian's minimal set): produce arbitrary bytes, read a topic back with
 * its headers, and tell which partition a workflow id maps to.
 *
 *   baton-kafka produce TOPIC [--partition N] [--key K] [--json]
 *                      [--header NAME=VALUE]... [--lines]  < value
 *       --lines: every stdin line is one message, "KEY<TAB>VALUE" (or just
 *       VALUE, keyed by --key); the default sends stdin as one message
 *   baton-kafka consume TOPIC [--count N] [--timeout S] [--sizes]
 *       prints one line per message: partition offset key header=value...
 *       then the value (newlines escaped as \n); --sizes: one line
 *       "partition offset bytes key" per message instead (bytes = the
 *       value's)
 *   baton-kafka partition TOPIC KEY
 *   baton-kafka --help
 *
 * Connection settings as every Baton binary (config.h); exit codes and
 * diagnostics of common/cli.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KT_PROG "baton-kafka"

#include "cli.h"
#include "config.h"
#include "kafka.h"

/* A whole decimal int option value, or exits with a usage error. */
static int int_arg(const char *name, const char *s) {
    int64_t v;
    if (baton_cli_parse_int(KT_PROG, name, s, -1, 1000000000, &v))
        exit(BATON_CLI_EXIT_USAGE);
    return (int)v;
}

/* Prints the synopsis on out; returns the exit code of a usage error. */
static int usage(FILE *out) {
    fprintf(out, "usage: baton-kafka produce TOPIC [--partition N] "
                 "[--key K] [--json] [--header NAME=VALUE]... [--lines] "
                 "< value\n"
                 "       baton-kafka consume TOPIC [--count N] "
                 "[--timeout S] [--sizes]\n"
                 "       baton-kafka partition TOPIC KEY\n");
    return BATON_CLI_EXIT_USAGE;
}

/* Produces one message with the extra headers (NAME=VALUE strings). */
static rd_kafka_resp_err_t produce_one(rd_kafka_t *rk, const char *topic,
                                       int32_t partition, const char *key,
                                       const char *val, size_t len, int json,
                                       char **hdr, int nhdr) {
    rd_kafka_headers_t *h = baton_kafka_headers_new(json);
    rd_kafka_resp_err_t e;
    for (int i = 0; i < nhdr; i++) {
        const char *eq = strchr(hdr[i], '=');
        if (!strncmp(hdr[i], "content-type=", 13))
            rd_kafka_header_remove(h, "content-type");
        rd_kafka_header_add(h, hdr[i], eq ? eq - hdr[i] : -1, eq ? eq + 1 : "",
                            -1);
    }
    while ((e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
                RD_KAFKA_V_VALUE((void *)val, len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(rk, 10);
    if (e) rd_kafka_headers_destroy(h);
    return e;
}

static int tool_produce(baton_conf_t *conf, int argc, char **argv) {
    const char *topic = argv[0], *key = NULL;
    int32_t partition = RD_KAFKA_PARTITION_UA;
    int json = 0, lines = 0, nhdr = 0;
    char err[512], *hdr[32];
    static char buf[1 << 20];
    size_t len = 0;
    rd_kafka_conf_t *kc;
    rd_kafka_t *rk;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--partition") && i + 1 < argc)
            partition = int_arg("--partition", argv[++i]);
        else if (!strcmp(argv[i], "--key") && i + 1 < argc)
            key = argv[++i];
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--lines"))
            lines = 1;
        else if (!strcmp(argv[i], "--header") && i + 1 < argc &&
                 nhdr < (int)BATON_ARRAY_SIZE(hdr))
            hdr[nhdr++] = argv[++i];
        else
            return usage(stderr);
    }
    if (!(kc = baton_kafka_conf_new(conf, BATON_KAFKA_PRODUCER, NULL, err,
                                    sizeof err)) ||
        !(rk = baton_kafka_new(kc, BATON_KAFKA_PRODUCER, err, sizeof err))) {
        return baton_cli_fail(KT_PROG, "%s", err);
    }
    if (!lines) {
        len = fread(buf, 1, sizeof buf, stdin);
        e = produce_one(rk, topic, partition, key, buf, len, json, hdr, nhdr);
    }
    while (lines && !e && fgets(buf, sizeof buf, stdin)) {
        char *val = buf, *tab = strchr(buf, '\t');
        const char *k = key;
        len = strcspn(buf, "\n");
        buf[len] = '\0';
        if (tab) {
            *tab = '\0';
            k = buf;
            val = tab + 1;
        }
        e = produce_one(rk, topic, partition, k, val, strlen(val), json, hdr,
                        nhdr);
    }
    if (!e && rd_kafka_flush(rk, 30000)) e = RD_KAFKA_RESP_ERR__TIMED_OUT;
    rd_kafka_destroy(rk);
    if (e) return baton_cli_fail(KT_PROG, "produce: %s", rd_kafka_err2str(e));
    return BATON_CLI_EXIT_OK;
}

static void print_escaped(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\n')
            fputs("\\n", stdout);
        else if (c < 32 || c > 126)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static int tool_consume(baton_conf_t *conf, int argc, char **argv) {
    const char *topic = argv[0];
    int count = -1, timeout_s = 5, seen = 0, sizes = 0;
    char err[512];
    rd_kafka_conf_t *kc;
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *parts;
    int32_t pc;
    int64_t deadline;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--count") && i + 1 < argc)
            count = int_arg("--count", argv[++i]);
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
            timeout_s = int_arg("--timeout", argv[++i]);
        else if (!strcmp(argv[i], "--sizes"))
            sizes = 1;
        else
            return usage(stderr);
    }
    if (!(kc = baton_kafka_conf_new(conf, BATON_KAFKA_CONSUMER, "baton-kafka",
                                    err, sizeof err)) ||
        !(rk = baton_kafka_new(kc, BATON_KAFKA_CONSUMER, err, sizeof err))) {
        return baton_cli_fail(KT_PROG, "%s", err);
    }
    if ((pc = baton_kafka_partition_count(rk, topic, 10000, err, sizeof err)) <
        0) {
        rd_kafka_destroy(rk);
        return baton_cli_fail(KT_PROG, "%s", err);
    }
    parts = rd_kafka_topic_partition_list_new(pc);
    for (int32_t p = 0; p < pc; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    deadline = baton_mono_us() + (int64_t)timeout_s * 1000000;
    while ((count < 0 || seen < count) && baton_mono_us() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        rd_kafka_headers_t *h;
        if (!m) continue;
        if (!m->err && sizes) {
            printf("%d %lld %zu %.*s\n", m->partition, (long long)m->offset,
                   m->len, (int)m->key_len, m->key ? (const char *)m->key : "");
            seen++;
        } else if (!m->err) {
            printf("%d %lld %.*s", m->partition, (long long)m->offset,
                   (int)m->key_len, m->key ? (const char *)m->key : "");
            if (!rd_kafka_message_headers(m, &h)) {
                const char *name;
                const void *val;
                size_t size;
                for (size_t i = 0;
                     !rd_kafka_header_get_all(h, i, &name, &val, &size); i++) {
                    printf(" %s=", name);
                    print_escaped(val, size);
                }
            }
            printf("\n");
            print_escaped(m->payload, m->len);
            printf("\n");
            seen++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return count < 0 || seen >= count ? 0 : 1;
}

static int tool_partition(baton_conf_t *conf, int argc, char **argv) {
    char err[512];
    rd_kafka_conf_t *kc;
    rd_kafka_t *rk;
    int32_t pc;
    if (argc != 2) return usage(stderr);
    if (!(kc = baton_kafka_conf_new(conf, BATON_KAFKA_PRODUCER, NULL, err,
                                    sizeof err)) ||
        !(rk = baton_kafka_new(kc, BATON_KAFKA_PRODUCER, err, sizeof err))) {
        return baton_cli_fail(KT_PROG, "%s", err);
    }
    pc = baton_kafka_partition_count(rk, argv[0], 10000, err, sizeof err);
    rd_kafka_destroy(rk);
    if (pc < 0) {
        return baton_cli_fail(KT_PROG, "%s", err);
    }
    printf("%d\n", baton_partition_for(argv[1], pc));
    return 0;
}

int main(int argc, char **argv) {
    baton_conf_t *conf = baton_conf_new();
    char err[512];
    int rc;
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        baton_conf_destroy(conf);
        usage(stdout);
        return BATON_CLI_EXIT_OK;
    }
    if (argc < 3) {
        baton_conf_destroy(conf);
        return usage(stderr);
    }
    if (!conf) return baton_cli_fail(KT_PROG, "out of memory");
    if (baton_conf_load_default(conf, NULL, err, sizeof err)) {
        baton_conf_destroy(conf);
        return baton_cli_fail(KT_PROG, "%s", err);
    }
    if (!strcmp(argv[1], "produce"))
        rc = tool_produce(conf, argc - 2, argv + 2);
    else if (!strcmp(argv[1], "consume"))
        rc = tool_consume(conf, argc - 2, argv + 2);
    else if (!strcmp(argv[1], "partition"))
        rc = tool_partition(conf, argc - 2, argv + 2);
    else
        rc = usage(stderr);
    baton_conf_destroy(conf);
    return rc;
}
