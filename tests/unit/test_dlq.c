/*
 * test_dlq.c -- the DLQ record format (common/dlq.h): the baton-error text
 * is byte for byte what orchestrator/loop.c's to_dlq wrote with its own
 * snprintf formats (copied below as the reference), it reads back to its
 * source, malformed texts are refused, and a cut value is recognised.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dlq.h"

#include "check.h"

/* loop.c's to_dlq formats before baton_dlq_reason (the reference). */
static void loop_c_reason(char *why, size_t len, const char *topic, int pid,
                          long long offset, const char *reason, size_t keep,
                          size_t total) {
    if (keep < total)
        snprintf(why, len,
                 "%s[%d]@%lld: %s (value cut to its first "
                 "%zu of %zu bytes)",
                 topic, pid, offset, reason, keep, total);
    else
        snprintf(why, len, "%s[%d]@%lld: %s", topic, pid, offset, reason);
}

static void test_same_text_as_loop(void) {
    static const struct {
        const char *topic;
        int partition;
        long long offset;
        const char *reason;
        size_t kept, total;
    } cases[] = {
        {"baton.commands", 0, 0, "unknown workflow type 'x'", 10, 10},
        {"baton.commands", 3, 17, "not valid JSON: '[' expected", 65536, 70000},
        {"dev.results", 63, 9223372036854775807LL, "", 0, 0},
        {"t", 2147483647, 1, "quarantined run r-1: snapshot unreadable", 1, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[1024], got[1024];
        loop_c_reason(want, sizeof want, cases[i].topic, cases[i].partition,
                      cases[i].offset, cases[i].reason, cases[i].kept,
                      cases[i].total);
        CHECK(baton_dlq_reason(got, sizeof got, cases[i].topic,
                               cases[i].partition, cases[i].offset,
                               cases[i].reason, cases[i].kept,
                               cases[i].total) == got,
              "returns buf");
        CHECK(!strcmp(got, want), want);
    }
    {
        char got[64];
        baton_dlq_reason(got, sizeof got, "baton.commands", 1, 2,
                         "unknown workflow type", 5, 5);
        CHECK(!strcmp(got, "baton.commands[1]@2: unknown workflow type"),
              "the literal text of an uncut record");
        baton_dlq_reason(got, 12, "baton.commands", 1, 2, "x", 5, 5);
        CHECK(!strcmp(got, "baton.comma"), "truncated to fit like snprintf");
    }
}

static void test_parse(void) {
    char buf[256], topic[64];
    int32_t p = -1;
    int64_t o = -1;
    baton_dlq_reason(buf, sizeof buf, "baton.commands", 5, 12345,
                     "unknown workflow type 'nope' [really]: @x", 9, 9);
    CHECK(baton_dlq_source_parse(buf, topic, sizeof topic, &p, &o) == 0,
          "an uncut reason parses");
    CHECK(!strcmp(topic, "baton.commands") && p == 5 && o == 12345,
          "topic, partition and offset read back");
    baton_dlq_reason(buf, sizeof buf, "dev.results", 0, 0, "r", 1, 300);
    CHECK(baton_dlq_source_parse(buf, topic, sizeof topic, &p, &o) == 0 &&
              !strcmp(topic, "dev.results") && p == 0 && o == 0,
          "a cut reason parses too");
    CHECK(baton_dlq_source_parse(buf, topic, 11, &p, &o) == -1,
          "a topic that does not fit is refused");
    CHECK(baton_dlq_source_parse(buf, topic, 12, &p, &o) == 0,
          "one that fits exactly is read");
    {
        static const char *bad[] = {
            "",
            "no source here",
            "[1]@2: topic missing",
            "t[1]2: no at",
            "t[x]@2: bad partition",
            "t[1]@: no offset",
            "t[1]@2 no colon",
            "t[1]@2:no space",
            "t[-1]@2: negative",
            "t[99999999999]@2: too big",
            "t[1]@99999999999999999999: big",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            CHECK(baton_dlq_source_parse(bad[i], topic, sizeof topic, &p, &o) ==
                      -1,
                  bad[i]);
        CHECK(baton_dlq_source_parse(NULL, topic, sizeof topic, &p, &o) == -1,
              "NULL is refused");
    }
}

static void test_cut(void) {
    char buf[256];
    baton_dlq_reason(buf, sizeof buf, "baton.commands", 1, 2, "too big", 64,
                     200);
    CHECK(baton_dlq_is_cut(buf, strlen(buf)), "a cut record is recognised");
    CHECK(!baton_dlq_is_cut(buf, 30), "only within len");
    baton_dlq_reason(buf, sizeof buf, "baton.commands", 1, 2, "bad", 64, 64);
    CHECK(!baton_dlq_is_cut(buf, strlen(buf)), "an uncut one is not");
    CHECK(!baton_dlq_is_cut(NULL, 0), "NULL is not cut");
}

int main(void) {
    test_same_text_as_loop();
    test_parse();
    test_cut();
    printf("test_dlq: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
