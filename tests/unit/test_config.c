/*
 * test_config.c -- common/config.c: every error message it can produce,
 * asserted by its text (naming the key, the file and the line), plus the
 * precedence it promises: file, then the dev stack file only for what the
 * file leaves unset, then the environment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#include "check.h"

/* 1 when err equals want; prints both otherwise. */
static int is(const char *err, const char *want) {
    if (!strcmp(err, want)) return 1;
    fprintf(stderr, "  got:  %s\n  want: %s\n", err, want);
    return 0;
}

/* Writes text to a fresh temporary file; its path into path. */
static void write_file(char *path, size_t len, const char *text) {
    int fd;
    snprintf(path, len, "/tmp/baton-test-config-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        fprintf(stderr, "cannot write %s\n", path);
    if (fd >= 0) close(fd);
}

/* No environment a developer's shell or the dev stack might add. */
static void clean_env(void) {
    static const char *const vars[] = {"BATON_CONFIG",    "BATON_KAFKA_BROKERS",
                                       "BATON_REDIS_URL", "BATON_LOG_LEVEL",
                                       "BATON_LOG_DEBUG", "BATON_TOPIC_PREFIX"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
    setenv("BATON_STACK_FILE", "/nonexistent/stack.conf", 1);
}

static void test_set_errors(void) {
    baton_conf_t *c = baton_conf_new();
    char err[256];
    CHECK(baton_conf_set(c, "no.such.key", "1", err, sizeof err) ==
                  BATON_ERR_CONFIG &&
              is(err, "unknown configuration key 'no.such.key'"),
          "an unknown key is named");
    CHECK(baton_conf_set(c, "worker.concurrency", "many", err, sizeof err) &&
              is(err, "configuration key 'worker.concurrency' wants an "
                      "integer, not 'many'"),
          "an integer key refuses text, naming key and value");
    CHECK(baton_conf_set(c, "kafka.", "x", err, sizeof err) &&
              is(err, "empty kafka property name"),
          "kafka. alone is refused");
    CHECK(!baton_conf_set(c, "kafka.linger.ms", "5", err, sizeof err) &&
              !strcmp(baton_conf_get(c, "kafka.linger.ms"), "5"),
          "kafka.* passes through unchecked");

    baton_alloc_fail_after(0);
    CHECK(baton_conf_set(c, "worker.queue", "q", err, sizeof err) ==
                  BATON_ERR_NOMEM &&
              is(err, "out of memory"),
          "out of memory copying the value");
    baton_alloc_fail_after(1);
    CHECK(baton_conf_set(c, "worker.queue", "q", err, sizeof err) ==
                  BATON_ERR_NOMEM &&
              is(err, "out of memory"),
          "out of memory copying the key");
    baton_alloc_fail_after(-1);
    for (int i = 0; i < 15; i++) {
        char k[64];
        snprintf(k, sizeof k, "kafka.p%d", i);
        baton_conf_set(c, k, "v", err, sizeof err);
    }
    baton_alloc_fail_after(1); /* 17th entry: the value, then the table */
    CHECK(baton_conf_set(c, "kafka.p99", "v", err, sizeof err) ==
                  BATON_ERR_NOMEM &&
              is(err, "out of memory"),
          "out of memory growing the table");
    baton_alloc_fail_after(-1);
    CHECK(baton_conf_get(c, "kafka.p99") == NULL &&
              baton_conf_get(c, "kafka.p3"),
          "a failed set leaves the others");
    CHECK(baton_conf_get_int(c, "worker.concurrency") == 8 &&
              !strcmp(baton_conf_get(c, "topic.prefix"), "baton") &&
              baton_conf_get(c, "worker.id") == NULL,
          "unset keys read their defaults");
    baton_conf_destroy(c);
}

static void test_file_errors(void) {
    baton_conf_t *c = baton_conf_new();
    char path[64], err[512], want[512];

    CHECK(baton_conf_load_file(c, "/nonexistent/baton.conf", err, sizeof err) ==
                  BATON_ERR_CONFIG &&
              is(err, "reading config file: /nonexistent/baton.conf: No such "
                      "file or directory"),
          "a missing file is named with the reason");

    write_file(path, sizeof path, "# comment\n\nworker.queue = q\noops\n");
    CHECK(baton_conf_load_file(c, path, err, sizeof err) == BATON_ERR_CONFIG,
          "a line without '=' fails");
    snprintf(want, sizeof want, "%s:4: expected 'key = value', got 'oops'",
             path);
    CHECK(is(err, want), "... naming file, line (blank lines count) and text");
    CHECK(!strcmp(baton_conf_get(c, "worker.queue"), "q"),
          "lines before the error are applied");
    unlink(path);

    write_file(path, sizeof path, "worker.queue=a\n  nope.key = 1  \n");
    baton_conf_load_file(c, path, err, sizeof err);
    snprintf(want, sizeof want, "%s:2: unknown configuration key 'nope.key'",
             path);
    CHECK(is(err, want), "an unknown key in a file: file, line and key");
    unlink(path);

    write_file(path, sizeof path, "batond.batch.max = lots\n");
    baton_conf_load_file(c, path, err, sizeof err);
    snprintf(want, sizeof want,
             "%s:1: configuration key 'batond.batch.max' wants an integer, "
             "not 'lots'",
             path);
    CHECK(is(err, want), "a bad integer in a file: file, line, key, value");

    baton_alloc_fail_after(0);
    baton_conf_load_file(c, path, err, sizeof err);
    baton_alloc_fail_after(-1);
    snprintf(want, sizeof want, "reading config file: %s: out of memory", path);
    CHECK(is(err, want), "out of memory reading the file");
    unlink(path);
    baton_conf_destroy(c);
}

static void test_env_and_default(void) {
    baton_conf_t *c;
    char path[64], stack[64], err[512], want[512];

    clean_env();
    setenv("BATON_TOPIC_PREFIX", "t", 1);
    c = baton_conf_new();
    baton_alloc_fail_after(0);
    CHECK(baton_conf_load_env(c, err, sizeof err) == BATON_ERR_NOMEM &&
              is(err, "environment BATON_TOPIC_PREFIX: out of memory"),
          "an environment variable that cannot be applied is named");
    baton_alloc_fail_after(-1);
    baton_conf_destroy(c);

    /* Precedence: file, then stack file for what the file leaves unset
     * (only when the file sets no broker), then the environment. */
    write_file(path, sizeof path, "worker.queue = from-file\n");
    write_file(stack, sizeof stack,
               "kafka.bootstrap.servers = stack:9092\nworker.queue = "
               "from-stack\nredis.url = redis://stack\n");
    setenv("BATON_STACK_FILE", stack, 1);
    setenv("BATON_REDIS_URL", "redis://env", 1);
    c = baton_conf_new();
    CHECK(baton_conf_load_default(c, path, err, sizeof err) == BATON_OK, err);
    CHECK(!strcmp(baton_conf_get(c, "worker.queue"), "from-file") &&
              !strcmp(baton_conf_get(c, "kafka.bootstrap.servers"),
                      "stack:9092") &&
              !strcmp(baton_conf_get(c, "redis.url"), "redis://env") &&
              !strcmp(baton_conf_get(c, "topic.prefix"), "t"),
          "file over stack file, environment over both");
    baton_conf_destroy(c);
    unsetenv("BATON_REDIS_URL");
    unsetenv("BATON_TOPIC_PREFIX");

    /* A broken stack file is reported as such. */
    unlink(stack);
    write_file(stack, sizeof stack, "garbage line\n");
    setenv("BATON_STACK_FILE", stack, 1);
    c = baton_conf_new();
    CHECK(baton_conf_load_default(c, path, err, sizeof err) == BATON_ERR_CONFIG,
          "a broken stack file fails");
    snprintf(want, sizeof want,
             "%s:1: expected 'key = value', got 'garbage line'", stack);
    CHECK(is(err, want), "... naming the stack file and line");
    baton_conf_destroy(c);
    unlink(stack);
    setenv("BATON_STACK_FILE", "/nonexistent/stack.conf", 1);

    /* BATON_CONFIG when no explicit path. */
    setenv("BATON_CONFIG", "/nonexistent/from-env.conf", 1);
    c = baton_conf_new();
    CHECK(baton_conf_load_default(c, NULL, err, sizeof err) &&
              is(err, "reading config file: /nonexistent/from-env.conf: No "
                      "such file or directory"),
          "BATON_CONFIG names the file to read");
    baton_conf_destroy(c);
    unsetenv("BATON_CONFIG");

    unlink(path);
    write_file(path, sizeof path, "log.level = loud\n");
    c = baton_conf_new();
    CHECK(baton_conf_load_default(c, path, err, sizeof err) &&
              is(err, "log.level must be error, warn, info or debug, not "
                      "'loud'"),
          "a bad log level is named");
    baton_conf_destroy(c);
    unlink(path);
    baton_log_configure("info", "");
}

int main(void) {
    test_set_errors();
    test_file_errors();
    test_env_and_default();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
