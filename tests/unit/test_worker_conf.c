/*
 * test_worker_conf.c -- the worker SDK's settings: what baton_worker_new
 * and the cancellation listener refuse, with error texts naming the key,
 * and what they derive (revocation wait, the listener's fetch wait).
 * Creates Kafka client handles (no broker is contacted: 127.0.0.1:1 is
 * never reached before they are destroyed).
 */
#include "worker_fixture.h"

/* A config with a broker address and the given key/value pairs (NULL
 * for none). */
static baton_conf_t *conf_with(const char *k1, const char *v1, const char *k2,
                               const char *v2) {
    baton_conf_t *c = baton_conf_new();
    char err[256];
    if (baton_conf_set(c, "kafka.bootstrap.servers", "127.0.0.1:1", err,
                       sizeof err) ||
        baton_conf_set(c, "kafka.log_level", "0", err, sizeof err) ||
        (k1 && baton_conf_set(c, k1, v1, err, sizeof err)) ||
        (k2 && baton_conf_set(c, k2, v2, err, sizeof err)))
        fprintf(stderr, "conf_with: %s\n", err);
    return c;
}

/* baton_worker_new on the config; 1 when it fails with errstr equal to
 * want (prefix match when want ends in '*'). */
static int new_fails_with(baton_conf_t *c, const char *want) {
    char err[512] = "";
    baton_worker_t *w = baton_worker_new(c, err, sizeof err);
    size_t n = strlen(want);
    int ok;
    baton_conf_destroy(c);
    if (w) {
        baton_worker_destroy(w);
        return 0;
    }
    ok = want[n - 1] == '*' ? !strncmp(err, want, n - 1) : !strcmp(err, want);
    if (!ok) fprintf(stderr, "  got: %s\n", err);
    return ok;
}

static void test_worker_new_refuses(void) {
    CHECK(new_fails_with(conf_with("worker.concurrency", "0", NULL, NULL),
                         "worker.concurrency must be 1..10000, not 0"),
          "concurrency 0");
    CHECK(new_fails_with(conf_with("worker.concurrency", "10001", NULL, NULL),
                         "worker.concurrency must be 1..10000, not 10001"),
          "concurrency 10001");
    CHECK(new_fails_with(conf_with("worker.queue", "", NULL, NULL),
                         "worker.queue is empty"),
          "an empty queue");
    {
        baton_conf_t *c = baton_conf_new();
        CHECK(new_fails_with(c, "no Kafka brokers configured*"),
              "no broker address");
    }
    CHECK(new_fails_with(conf_with("kafka.consumer.client.id", "x",
                                   "kafka.no.such.property", "1"),
                         "*"),
          "an unknown librdkafka property");
    CHECK(new_fails_with(conf_with("worker.cancels.fetch.wait.max.ms",
                                   "999999999", NULL, NULL),
                         "cancellation listener: "
                         "worker.cancels.fetch.wait.max.ms = '999999999': *"),
          "a listener fetch wait librdkafka refuses names the key");
}

static void test_worker_new_derives(void) {
    char err[512] = "";
    baton_conf_t *c =
        conf_with("kafka.session.timeout.ms", "6000", "worker.queue", "images");
    baton_worker_t *w = baton_worker_new(c, err, sizeof err);
    baton_conf_destroy(c);
    CHECK(w != NULL, err);
    if (!w) return;
    CHECK(w->revoke_wait_ms == 3000,
          "revocation waits half of session.timeout.ms");
    CHECK(!strcmp(w->task_topic, "baton.tasks.images") &&
              !strcmp(w->group, "baton.worker.images") &&
              !strcmp(w->results_topic, "baton.results"),
          "topics and group follow the queue");
    CHECK(w->concurrency == 8 && w->prefetch == 8,
          "default concurrency 8, as many fetched ahead");
    CHECK(strchr(baton_worker_id(w), ':') != NULL,
          "the default id is host:pid");
    baton_worker_destroy(w);
}

static void test_listener_fetch_wait(void) {
    char err[512] = "";
    baton_conf_t *c = conf_with("kafka.consumer.fetch.wait.max.ms", "1",
                                "worker.cancels.fetch.wait.max.ms", "50");
    baton_cancels_t *l = baton_cancels_new(c, NULL, NULL, err, sizeof err);
    CHECK(l != NULL, err);
    baton_cancels_destroy(l);
    baton_conf_destroy(c);
    c = conf_with("worker.cancels.fetch.wait.max.ms", "-3", NULL, NULL);
    l = baton_cancels_new(c, NULL, NULL, err, sizeof err);
    CHECK(!l && strstr(err, "worker.cancels.fetch.wait.max.ms = '-3'"),
          "a negative listener fetch wait is refused, naming the key");
    baton_cancels_destroy(l);
    baton_conf_destroy(c);
}

int main(void) {
    baton_log_configure("error", "");
    test_worker_new_refuses();
    test_worker_new_derives();
    test_listener_fetch_wait();
    return fixture_report();
}
