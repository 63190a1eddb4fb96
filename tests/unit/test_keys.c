/*
 * test_keys.c -- the Redis key layout (common/keys.h): every key name as
 * the layout table says, truncation refused, SCAN patterns escaped, and
 * snapshot keys read back.
 */
#include <stdio.h>
#include <string.h>

#include "keys.h"

/* The default namespace, whose layout the tests below spell out. */
#define NS "baton"

#include "check.h"

/* 1 when got is non-NULL and equals want. */
static int is(const char *got, const char *want) {
    return got && !strcmp(got, want);
}

static void test_key_names(void) {
    char b[BATON_KEYS_LEN];
    CHECK(is(baton_keys_wf(b, sizeof b, NS, 3, "order-17"),
             "baton:{p3}:wf:order-17"),
          "snapshot key");
    CHECK(is(baton_keys_hist(b, sizeof b, NS, 12, "order-17"),
             "baton:{p12}:hist:order-17"),
          "history key");
    CHECK(is(baton_keys_offsets(b, sizeof b, NS, 0), "baton:{p0}:offsets"),
          "offsets key");
    CHECK(is(baton_keys_outbox(b, sizeof b, NS, 7), "baton:{p7}:outbox"),
          "outbox key");
    CHECK(is(baton_keys_timers(b, sizeof b, NS, 7), "baton:{p7}:timers"),
          "timers key");
    CHECK(is(baton_keys_epoch(b, sizeof b, NS, 63), "baton:{p63}:epoch"),
          "epoch key");
    CHECK(is(baton_keys_def(b, sizeof b, NS, "research", "0a1b"),
             "baton:defs:research:0a1b"),
          "definition key");
}

static void test_truncation(void) {
    char small[16], big[BATON_KEYS_LEN], id[257];
    CHECK(baton_keys_wf(small, sizeof small, NS, 3, "order-17") == NULL,
          "a key that does not fit is refused");
    CHECK(baton_keys_epoch(big, 17, NS, 3) == big,
          "a key that fits exactly ('baton:{p3}:epoch' + NUL: 17 bytes) does");
    CHECK(baton_keys_epoch(big, 16, NS, 3) == NULL, "one byte less does not");
    memset(id, 'x', 256);
    id[256] = '\0';
    CHECK(baton_keys_hist(big, sizeof big, NS, 2147483647, id) == big,
          "the longest id in the largest partition fits BATON_KEYS_LEN");
    CHECK(baton_keys_wf_pattern(big, sizeof big, NS, id) == big,
          "so does its pattern");
    CHECK(baton_keys_wf_pattern(small, sizeof small, NS, "abc") == NULL,
          "a pattern that does not fit is refused");
}

static void test_patterns(void) {
    char b[BATON_KEYS_LEN];
    CHECK(
        is(baton_keys_wf_pattern(b, sizeof b, NS, "t1-"), "baton:{p*}:wf:t1-*"),
        "snapshot pattern");
    CHECK(
        is(baton_keys_hist_pattern(b, sizeof b, NS, NULL), "baton:{p*}:hist:*"),
        "history pattern of every run");
    CHECK(is(baton_keys_wf_pattern(b, sizeof b, NS, "a*b?[c]\\"),
             "baton:{p*}:wf:a\\*b\\?\\[c\\]\\\\*"),
          "glob characters in the prefix are escaped");
}

static void test_parse(void) {
    char b[BATON_KEYS_LEN];
    int32_t p = -1;
    const char *id = NULL;
    CHECK(baton_keys_parse_wf(baton_keys_wf(b, sizeof b, NS, 41, "r:1"), NS, &p,
                              &id) &&
              p == 41 && id && !strcmp(id, "r:1"),
          "a formatted snapshot key reads back");
    p = -1;
    CHECK(!baton_keys_parse_wf("baton:{p4}:hist:r1", NS, &p, NULL) && p == -1,
          "a history key is not a snapshot key");
    CHECK(!baton_keys_parse_wf("baton:{p4}:wf:", NS, NULL, NULL),
          "an empty id is refused");
    CHECK(!baton_keys_parse_wf("baton:{p}:wf:x", NS, NULL, NULL),
          "a partition without digits is refused");
    CHECK(!baton_keys_parse_wf("baton:{px}:wf:x", NS, NULL, NULL),
          "a partition that is no number is refused");
    CHECK(!baton_keys_parse_wf("baton:defs:wf:x", NS, NULL, NULL),
          "a definition key is refused");
    CHECK(baton_keys_parse_wf("baton:{p0}:wf:x", NS, NULL, NULL),
          "p and id may be NULL");
}

/* Two namespaces never share a key, and a reader of one never parses the
 * other's snapshot keys (issue 11: deployments sharing one Redis). */
static void test_namespaces(void) {
    char a[BATON_KEYS_LEN], b[BATON_KEYS_LEN];
    const char *id = NULL;
    CHECK(is(baton_keys_wf(a, sizeof a, "team-a", 3, "o1"),
             "team-a:{p3}:wf:o1") &&
              is(baton_keys_epoch(b, sizeof b, "team-b", 3),
                 "team-b:{p3}:epoch") &&
              is(baton_keys_def(b, sizeof b, "team-b", "r", "01"),
                 "team-b:defs:r:01") &&
              is(baton_keys_dedupe(b, sizeof b, "team-b", 3, "o1", "d:x"),
                 "team-b:{p3}:dd:2:o1:d:x"),
          "every key carries its namespace");
    CHECK(!baton_keys_parse_wf("team-a:{p3}:wf:o1", "team-b", NULL, &id) &&
              !baton_keys_parse_wf("team-a:{p3}:wf:o1", "team", NULL, &id) &&
              baton_keys_parse_wf("team-a:{p3}:wf:o1", "team-a", NULL, &id) &&
              !strcmp(id, "o1"),
          "a snapshot key is read back only in its namespace");
    CHECK(is(baton_keys_wf_pattern(a, sizeof a, "team-a", "o"),
             "team-a:{p*}:wf:o*"),
          "SCAN patterns stay in the namespace");
    CHECK(baton_keys_ns_valid("baton") && baton_keys_ns_valid("a.b_c-9") &&
              !baton_keys_ns_valid("") && !baton_keys_ns_valid("a:b") &&
              !baton_keys_ns_valid("a{b}") && !baton_keys_ns_valid("a*") &&
              !baton_keys_ns_valid(
                  "x12345678901234567890123456789012345678901234567890123456"
                  "78901234"),
          "namespaces hold neither ':' nor braces nor glob characters");
}

int main(void) {
    test_namespaces();
    test_key_names();
    test_truncation();
    test_patterns();
    test_parse();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
