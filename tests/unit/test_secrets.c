/*
 * test_secrets.c -- secrets never leave through a log line or an error:
 * common/redact.c (URL and configuration value masking), the redis.url
 * parser of common/redis.c (percent-decoding, '@' in a password, ACL
 * user, passwords of any length; every error redacted) and config.c's
 * "<key>.file" and BATON_<NAME>_FILE rules (docs/security.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "redact.h"
#include "redis.h"

#include "check.h"

static int streq(const char *a, const char *b) {
    if (a && b && !strcmp(a, b)) return 1;
    fprintf(stderr, "  got:  %s\n  want: %s\n", a ? a : "(null)",
            b ? b : "(null)");
    return 0;
}

static void test_redact_url(void) {
    char b[256];
    CHECK(streq(baton_redact_url("redis://:pw@h:1/2", b, sizeof b),
                "redis://:***@h:1/2"),
          "password only");
    CHECK(streq(baton_redact_url("redis://app:s3cr@t@h:6379", b, sizeof b),
                "redis://app:***@h:6379"),
          "an unencoded @ in the password does not leak its tail");
    CHECK(streq(baton_redact_url("redis://h:6379/0", b, sizeof b),
                "redis://h:6379/0"),
          "no userinfo: unchanged");
    CHECK(streq(baton_redact_url("redis://user@h", b, sizeof b),
                "redis://user@h"),
          "user without password: unchanged");
    CHECK(streq(baton_redact_url(NULL, b, sizeof b), ""), "NULL");
    baton_redact_url("redis://:0123456789abcdef@h", b, 12);
    CHECK(!strstr(b, "0123"), "truncation never shows the password");
}

static void test_redact_keys(void) {
    char b[128], text[] = "bad value 'hunter2' for hunter2x";
    CHECK(baton_redact_is_secret_key("kafka.sasl.password") &&
              baton_redact_is_secret_key("kafka.ssl.key.password") &&
              baton_redact_is_secret_key("redis.password") &&
              baton_redact_is_secret_key(
                  "kafka.sasl.oauthbearer.client.secret") &&
              baton_redact_is_secret_key("kafka.sasl.jaas.config") &&
              baton_redact_is_secret_key("kafka.ssl.key.pem"),
          "secret keys are recognised");
    CHECK(!baton_redact_is_secret_key("kafka.sasl.username") &&
              !baton_redact_is_secret_key("kafka.linger.ms"),
          "ordinary keys are not");
    CHECK(streq(baton_redact_value("kafka.sasl.password", "x", b, sizeof b),
                BATON_REDACT_MASK),
          "a secret value is masked");
    CHECK(streq(baton_redact_value("redis.url", "redis://u:p@h", b, sizeof b),
                "redis://u:***@h"),
          "a URL value is redacted");
    baton_redact_in(text, "hunter2");
    CHECK(streq(text, "bad value '*******' for *******x"),
          "every occurrence is overwritten");
}

static void test_url_parse(void) {
    baton_redis_url_t u;
    char err[512], url[2048], pw[1001];
    CHECK(!baton_redis_url_parse("redis://app:p%40ss%3Aw%25rd@h.example:"
                                 "7000/3",
                                 &u, err, sizeof err) &&
              streq(u.user, "app") && streq(u.password, "p@ss:w%rd") &&
              streq(u.host, "h.example") && u.port == 7000 && u.db == 3,
          "ACL user, percent-decoded password, port and db");
    baton_redis_url_free(&u);
    CHECK(
        !baton_redis_url_parse("redis://:a@b@127.0.0.1", &u, err, sizeof err) &&
            !u.user && streq(u.password, "a@b") && streq(u.host, "127.0.0.1") &&
            u.port == 6379,
        "an unencoded @ in the password parses (last @ ends it)");
    baton_redis_url_free(&u);
    memset(pw, 'x', 1000);
    pw[1000] = '\0';
    snprintf(url, sizeof url, "redis://:%s@h", pw);
    CHECK(!baton_redis_url_parse(url, &u, err, sizeof err) && u.password &&
              strlen(u.password) == 1000,
          "a 1000-byte password is not cut (was 255)");
    baton_redis_url_free(&u);
    CHECK(
        !baton_redis_url_parse("unix://:pw@/tmp/r.sock", &u, err, sizeof err) &&
            streq(u.unix_path, "/tmp/r.sock") && streq(u.password, "pw"),
        "unix socket with a password");
    baton_redis_url_free(&u);
    CHECK(baton_redis_url_parse("redis://:topsecret@h:notaport", &u, err,
                                sizeof err) == BATON_ERR_CONFIG &&
              strstr(err, "bad port") && !strstr(err, "topsecret"),
          "a parse error names the problem, not the password");
    CHECK(baton_redis_url_parse("redis://:p%zz@h", &u, err, sizeof err) &&
              strstr(err, "escape"),
          "a bad %%-escape is refused");
    CHECK(baton_redis_url_parse("rediss://:topsecret@h", &u, err, sizeof err) &&
              strstr(err, "docs/security.md") && !strstr(err, "topsecret"),
          "rediss:// is refused with the pointer to the TLS tunnel");
    CHECK(!baton_redis_connect("redis://:topsecret@127.0.0.1:1", 200, err,
                               sizeof err) &&
              strstr(err, "connecting to Redis") && !strstr(err, "topsecret"),
          "a connection error shows the redacted URL");
}

static void write_file(char *path, size_t len, const char *text) {
    FILE *f;
    snprintf(path, len, "/tmp/baton-test-secret-%d", (int)getpid());
    f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_secret_files(void) {
    baton_conf_t *c = baton_conf_new();
    char path[128], err[512];
    write_file(path, sizeof path, "s3cr3t-from-file\n\n");
    CHECK(
        !baton_conf_set(c, "kafka.sasl.password.file", path, err, sizeof err) &&
            streq(baton_conf_get(c, "kafka.sasl.password"), "s3cr3t-from-file"),
        "kafka.sasl.password.file sets kafka.sasl.password, newlines cut");
    CHECK(!baton_conf_set(c, "redis.password.file", path, err, sizeof err) &&
              streq(baton_conf_get(c, "redis.password"), "s3cr3t-from-file"),
          "redis.password.file");
    CHECK(baton_conf_set(c, "redis.password.file", "/nonexistent/pw", err,
                         sizeof err) == BATON_ERR_CONFIG &&
              strstr(err, "redis.password.file") &&
              strstr(err, "/nonexistent/pw"),
          "a missing secret file is named");
    CHECK(baton_conf_set(c, "no.such.file", path, err, sizeof err) &&
              strstr(err, "no.such") && !strstr(err, "s3cr3t"),
          "an unknown key's .file is refused without showing the contents");
    baton_conf_destroy(c);

    c = baton_conf_new();
    setenv("BATON_REDIS_PASSWORD", "from-env", 1);
    setenv("BATON_KAFKA_SASL_PASSWORD_FILE", path, 1);
    CHECK(
        !baton_conf_load_env(c, err, sizeof err) &&
            streq(baton_conf_get(c, "redis.password"), "from-env") &&
            streq(baton_conf_get(c, "kafka.sasl.password"), "s3cr3t-from-file"),
        "BATON_REDIS_PASSWORD and BATON_KAFKA_SASL_PASSWORD_FILE");
    unsetenv("BATON_REDIS_PASSWORD");
    unsetenv("BATON_KAFKA_SASL_PASSWORD_FILE");
    baton_conf_destroy(c);
    unlink(path);
}

static void test_key_prefix(void) {
    baton_conf_t *c = baton_conf_new();
    char err[256];
    CHECK(streq(baton_conf_key_prefix(c), "baton"),
          "default namespace: baton (existing layouts do not move)");
    baton_conf_set(c, "topic.prefix", "team-a", err, sizeof err);
    CHECK(streq(baton_conf_key_prefix(c), "team-a"),
          "the namespace follows topic.prefix");
    baton_conf_set(c, "redis.key.prefix", "ka", err, sizeof err);
    CHECK(streq(baton_conf_key_prefix(c), "ka"), "redis.key.prefix wins");
    baton_conf_destroy(c);
}

int main(void) {
    unsetenv("BATON_STACK_FILE");
    test_redact_url();
    test_redact_keys();
    test_url_parse();
    test_secret_files();
    test_key_prefix();
    printf("test_secrets: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
