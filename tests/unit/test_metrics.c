/*
 * test_metrics.c -- the Prometheus text format of common/metrics.h: HELP
 * and TYPE lines, label and HELP escaping, histogram buckets (cumulative,
 * +Inf equal to _count, _sum), counters that refuse to go down, gauges,
 * clearing, re-registration and bad names, floats Prometheus reads back,
 * out of memory while rendering; librdkafka's statistics re-exported
 * (kafka_stats.h) from a document shaped as librdkafka 2.0.2 writes it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kafka_stats.h"
#include "metrics.h"

#include "check.h"

/* 1 when the rendered text of m contains line (a whole line). */
static int has_line(baton_metrics_t *m, const char *line) {
    char *t = baton_metrics_render(m, NULL), want[1024];
    int found;
    snprintf(want, sizeof want, "\n%s\n", line);
    if (!t) return 0;
    found = !strncmp(t, want + 1, strlen(want + 1)) || strstr(t, want);
    baton_free(t);
    return found;
}

static void test_counter_gauge(void) {
    baton_metrics_t *m = baton_metrics_new();
    baton_metric_t *c = baton_metrics_counter(m, "baton_runs_started_total",
                                              "Runs started.", "type");
    baton_metric_t *g =
        baton_metrics_gauge(m, "baton_outbox_depth", "Outbox entries.", NULL);
    char *t;
    baton_metric_add(c, BATON_LV("order"), 1);
    baton_metric_add(c, BATON_LV("order"), 2);
    baton_metric_add(c, BATON_LV("refund"), 1);
    baton_metric_add(c, BATON_LV("order"), -5); /* ignored */
    baton_metric_set(g, NULL, 7);
    baton_metric_add(g, NULL, -2);
    t = baton_metrics_render(m, NULL);
    CHECK(t && !strncmp(t,
                        "# HELP baton_runs_started_total Runs started.\n"
                        "# TYPE baton_runs_started_total counter\n"
                        "baton_runs_started_total{type=\"order\"} 3\n"
                        "baton_runs_started_total{type=\"refund\"} 1\n"
                        "# HELP baton_outbox_depth Outbox entries.\n"
                        "# TYPE baton_outbox_depth gauge\n"
                        "baton_outbox_depth 5\n",
                        4096),
          "counter and gauge rendered in order");
    baton_free(t);
    CHECK(baton_metric_get(c, BATON_LV("order")) == 3, "get counter");
    CHECK(baton_metric_get(c, BATON_LV("none")) == 0, "get missing series");
    baton_metric_set(c, BATON_LV("order"), 2); /* below: refused */
    CHECK(baton_metric_get(c, BATON_LV("order")) == 3, "counter never drops");
    baton_metric_set(c, BATON_LV("order"), 10);
    CHECK(baton_metric_get(c, BATON_LV("order")) == 10, "counter set up");
    CHECK(baton_metrics_counter(m, "baton_runs_started_total", "x", "type") ==
              c,
          "same registration returns the family");
    CHECK(!baton_metrics_gauge(m, "baton_runs_started_total", "x", "type"),
          "other type refused");
    CHECK(!baton_metrics_counter(m, "baton_runs_started_total", "x", "queue"),
          "other labels refused");
    CHECK(!baton_metrics_counter(m, "9bad", "x", NULL), "bad name refused");
    CHECK(!baton_metrics_counter(m, "baton_ok", "x", "a:b"),
          "bad label name refused");
    CHECK(!baton_metrics_histogram(m, "baton_h", "x", "le", NULL, 0),
          "le label refused on a histogram");
    baton_metric_clear(c);
    CHECK(!has_line(m, "baton_runs_started_total{type=\"order\"} 10"),
          "cleared");
    baton_metrics_destroy(m);
}

static void test_escaping(void) {
    baton_metrics_t *m = baton_metrics_new();
    baton_metric_t *g = baton_metrics_gauge(
        m, "baton_x", "Help with a \\ backslash\nand a newline.", "a,b");
    baton_metric_set(g, BATON_LV("q\"uo\\te\nnl", ""), 1.5);
    CHECK(has_line(m, "# HELP baton_x Help with a \\\\ backslash\\nand a "
                      "newline."),
          "HELP escaped");
    CHECK(has_line(m, "baton_x{a=\"q\\\"uo\\\\te\\nnl\",b=\"\"} 1.5"),
          "label values escaped");
    baton_metrics_destroy(m);
}

static void test_histogram(void) {
    static const double bounds[] = {0.1, 1, 10};
    baton_metrics_t *m = baton_metrics_new();
    baton_metric_t *h = baton_metrics_histogram(m, "baton_lat_seconds",
                                                "Latency.", "queue", bounds, 3);
    baton_metric_observe(h, BATON_LV("q"), 0.05);
    baton_metric_observe(h, BATON_LV("q"), 0.1); /* le is inclusive */
    baton_metric_observe(h, BATON_LV("q"), 5);
    baton_metric_observe(h, BATON_LV("q"), 100);
    baton_metric_observe(h, BATON_LV("q"), NAN); /* ignored */
    CHECK(has_line(m, "# TYPE baton_lat_seconds histogram"), "type");
    CHECK(has_line(m, "baton_lat_seconds_bucket{queue=\"q\",le=\"0.1\"} 2"),
          "first bucket (inclusive)");
    CHECK(has_line(m, "baton_lat_seconds_bucket{queue=\"q\",le=\"1\"} 2"),
          "cumulative");
    CHECK(has_line(m, "baton_lat_seconds_bucket{queue=\"q\",le=\"10\"} 3"),
          "third bucket");
    CHECK(has_line(m, "baton_lat_seconds_bucket{queue=\"q\",le=\"+Inf\"} 4"),
          "+Inf holds everything");
    CHECK(has_line(m, "baton_lat_seconds_sum{queue=\"q\"} 105.15"), "_sum");
    CHECK(has_line(m, "baton_lat_seconds_count{queue=\"q\"} 4"), "_count");
    CHECK(baton_metric_get(h, BATON_LV("q")) == 4, "get = count");
    CHECK(!baton_metrics_histogram(m, "baton_bad", "x", NULL,
                                   (const double[]){1, 1}, 2),
          "bounds must increase");
    {
        baton_metric_t *u =
            baton_metrics_histogram(m, "baton_nolabel", "N.", NULL, bounds, 1);
        baton_metric_observe(u, NULL, 3);
        CHECK(has_line(m, "baton_nolabel_bucket{le=\"0.1\"} 0"),
              "histogram without labels: le alone");
        CHECK(has_line(m, "baton_nolabel_bucket{le=\"+Inf\"} 1"),
              "histogram without labels: +Inf");
        CHECK(has_line(m, "baton_nolabel_count 1"), "count without braces");
    }
    baton_metrics_destroy(m);
}

static void test_floats(void) {
    baton_metrics_t *m = baton_metrics_new();
    baton_metric_t *g = baton_metrics_gauge(m, "baton_f", "F.", "k");
    baton_metric_set(g, BATON_LV("inf"), INFINITY);
    baton_metric_set(g, BATON_LV("ninf"), -INFINITY);
    baton_metric_set(g, BATON_LV("nan"), NAN);
    baton_metric_set(g, BATON_LV("big"), 1234567890123.0);
    baton_metric_set(g, BATON_LV("tenth"), 0.1);
    CHECK(has_line(m, "baton_f{k=\"inf\"} +Inf"), "+Inf");
    CHECK(has_line(m, "baton_f{k=\"ninf\"} -Inf"), "-Inf");
    CHECK(has_line(m, "baton_f{k=\"nan\"} NaN"), "NaN");
    CHECK(has_line(m, "baton_f{k=\"big\"} 1234567890123"), "integers whole");
    CHECK(has_line(m, "baton_f{k=\"tenth\"} 0.1"), "shortest decimal");
    baton_metrics_build_info(m, "test");
    CHECK(has_line(m, "baton_build_info{version=\"" BATON_VERSION
                      "\",program=\"test\"} 1"),
          "build info");
    baton_metrics_destroy(m);
}

static void test_oom(void) {
    baton_metrics_t *m = baton_metrics_new();
    baton_metric_t *g = baton_metrics_gauge(m, "baton_g", "G.", "k");
    char *t;
    baton_metric_set(g, BATON_LV("a"), 1);
    baton_alloc_fail_after(0);
    t = baton_metrics_render(m, NULL);
    baton_alloc_fail_after(-1);
    CHECK(!t, "render returns NULL on out of memory");
    baton_alloc_fail_after(0);
    baton_metric_set(g, BATON_LV("b"), 1); /* dropped, no crash */
    baton_alloc_fail_after(-1);
    CHECK(baton_metric_get(g, BATON_LV("b")) == 0, "series not created");
    baton_metrics_destroy(m);
    baton_metrics_destroy(NULL);
}

/* Two updates of one consumer: broker rtt in seconds, the bootstrap
 * broker skipped, lag only for active partitions with a known lag, and a
 * partition gone from the second document gone from the metrics. */
static void test_kafka_stats(void) {
    static const char doc1[] =
        "{\"name\":\"rdkafka#consumer-1\",\"type\":\"consumer\","
        "\"replyq\":2,\"msg_cnt\":0,\"txmsgs\":0,\"rxmsgs\":41,"
        "\"txmsg_bytes\":0,\"rxmsg_bytes\":4100,"
        "\"brokers\":{\"127.0.0.1:9092/1\":{\"nodeid\":1,"
        "\"waitresp_cnt\":1,\"txerrs\":0,\"rxerrs\":1,"
        "\"rtt\":{\"avg\":1500,\"p99\":20000}},"
        "\"127.0.0.1:9092/bootstrap\":{\"nodeid\":-1,\"rtt\":{\"avg\":7}}},"
        "\"topics\":{\"baton.tasks.q\":{\"partitions\":{"
        "\"0\":{\"partition\":0,\"fetch_state\":\"active\","
        "\"consumer_lag\":5,\"fetchq_cnt\":3},"
        "\"1\":{\"partition\":1,\"fetch_state\":\"active\","
        "\"consumer_lag\":-1,\"fetchq_cnt\":0},"
        "\"2\":{\"partition\":2,\"fetch_state\":\"none\","
        "\"consumer_lag\":9},"
        "\"-1\":{\"partition\":-1,\"consumer_lag\":-1}}}},"
        "\"cgrp\":{\"assignment_size\":2,\"rebalance_cnt\":1}}";
    static const char doc2[] =
        "{\"name\":\"rdkafka#consumer-1\",\"type\":\"consumer\","
        "\"rxmsgs\":50,\"brokers\":{},\"topics\":{\"baton.tasks.q\":{"
        "\"partitions\":{\"1\":{\"partition\":1,\"fetch_state\":"
        "\"active\",\"consumer_lag\":0}}}}}";
    baton_metrics_t *m = baton_metrics_new();
    baton_kafka_stats_t *ks = baton_kafka_stats_new(m);
    char err[256];
    CHECK(ks, "kafka stats registered");
    CHECK(!baton_kafka_stats_update(ks, doc1, sizeof doc1 - 1, err, sizeof err),
          "first document read");
    CHECK(has_line(m, "baton_kafka_messages_received_total{client=\"rdkafka#"
                      "consumer-1\"} 41"),
          "rxmsgs");
    CHECK(has_line(m, "baton_kafka_broker_rtt_avg_seconds{client=\"rdkafka#"
                      "consumer-1\",broker=\"127.0.0.1:9092/1\"} 0.0015"),
          "rtt avg in seconds");
    CHECK(has_line(m, "baton_kafka_broker_rtt_p99_seconds{client=\"rdkafka#"
                      "consumer-1\",broker=\"127.0.0.1:9092/1\"} 0.02"),
          "rtt p99 in seconds");
    CHECK(!has_line(m, "baton_kafka_broker_rtt_avg_seconds{client=\"rdkafka#"
                       "consumer-1\",broker=\"127.0.0.1:9092/bootstrap\"} "
                       "7e-06"),
          "bootstrap broker skipped");
    CHECK(has_line(m, "baton_kafka_consumer_lag{client=\"rdkafka#consumer-1\","
                      "topic=\"baton.tasks.q\",partition=\"0\"} 5"),
          "lag of an active partition");
    CHECK(!has_line(m, "baton_kafka_consumer_lag{client=\"rdkafka#consumer-1\","
                       "topic=\"baton.tasks.q\",partition=\"1\"} -1"),
          "unknown lag absent");
    CHECK(!has_line(m, "baton_kafka_consumer_lag{client=\"rdkafka#consumer-1\","
                       "topic=\"baton.tasks.q\",partition=\"2\"} 9"),
          "partition not fetched absent");
    CHECK(has_line(m, "baton_kafka_assigned_partitions{client=\"rdkafka#"
                      "consumer-1\"} 2"),
          "assignment size");
    CHECK(has_line(m, "baton_kafka_broker_errors_total{client=\"rdkafka#"
                      "consumer-1\",broker=\"127.0.0.1:9092/1\"} 1"),
          "broker errors");
    CHECK(!baton_kafka_stats_update(ks, doc2, sizeof doc2 - 1, err, sizeof err),
          "second document read");
    CHECK(!has_line(m, "baton_kafka_consumer_lag{client=\"rdkafka#consumer-1\","
                       "topic=\"baton.tasks.q\",partition=\"0\"} 5"),
          "revoked partition's lag gone");
    CHECK(has_line(m, "baton_kafka_consumer_lag{client=\"rdkafka#consumer-1\","
                      "topic=\"baton.tasks.q\",partition=\"1\"} 0"),
          "lag known now");
    CHECK(has_line(m, "baton_kafka_messages_received_total{client=\"rdkafka#"
                      "consumer-1\"} 50"),
          "counter follows");
    CHECK(baton_kafka_stats_update(ks, "{nope", 5, err, sizeof err) ==
              BATON_ERR_INVALID,
          "bad JSON refused");
    baton_kafka_stats_destroy(ks);
    baton_metrics_destroy(m);
}

int main(void) {
    test_counter_gauge();
    test_escaping();
    test_histogram();
    test_floats();
    test_oom();
    test_kafka_stats();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
