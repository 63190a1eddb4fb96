/*
 * test_keys.c -- the Redis key layout (common/keys.h): every key name as
 * the layout table says, truncation refused, SCAN patterns escaped, and
 * snapshot keys read back.
 */
#include <stdio.h>
#include <string.h>

#include "keys.h"

static int passed, failed;
#define CHECK(cond, what)                                                    \
    do {                                                                     \
        if (cond) passed++;                                                  \
        else {                                                               \
            failed++;                                                        \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, what);   \
        }                                                                    \
    } while (0)

/* 1 when got is non-NULL and equals want. */
static int is(const char *got, const char *want) {
    return got && !strcmp(got, want);
}

static void test_key_names(void) {
    char b[BATON_KEYS_LEN];
    CHECK(is(baton_keys_wf(b, sizeof b, 3, "order-17"),
             "baton:{p3}:wf:order-17"), "snapshot key");
    CHECK(is(baton_keys_hist(b, sizeof b, 12, "order-17"),
             "baton:{p12}:hist:order-17"), "history key");
    CHECK(is(baton_keys_offsets(b, sizeof b, 0), "baton:{p0}:offsets"),
          "offsets key");
    CHECK(is(baton_keys_outbox(b, sizeof b, 7), "baton:{p7}:outbox"),
          "outbox key");
    CHECK(is(baton_keys_timers(b, sizeof b, 7), "baton:{p7}:timers"),
          "timers key");
    CHECK(is(baton_keys_epoch(b, sizeof b, 63), "baton:{p63}:epoch"),
          "epoch key");
    CHECK(is(baton_keys_def(b, sizeof b, "research", "0a1b"),
             "baton:defs:research:0a1b"), "definition key");
}

static void test_truncation(void) {
    char small[16], big[BATON_KEYS_LEN], id[257];
    CHECK(baton_keys_wf(small, sizeof small, 3, "order-17") == NULL,
          "a key that does not fit is refused");
    CHECK(baton_keys_epoch(big, 17, 3) == big,
          "a key that fits exactly ('baton:{p3}:epoch' + NUL: 17 bytes) does");
    CHECK(baton_keys_epoch(big, 16, 3) == NULL,
          "one byte less does not");
    memset(id, 'x', 256);
    id[256] = '\0';
    CHECK(baton_keys_hist(big, sizeof big, 2147483647, id) == big,
          "the longest id in the largest partition fits BATON_KEYS_LEN");
    CHECK(baton_keys_wf_pattern(big, sizeof big, id) == big,
          "so does its pattern");
    CHECK(baton_keys_wf_pattern(small, sizeof small, "abc") == NULL,
          "a pattern that does not fit is refused");
}

static void test_patterns(void) {
    char b[BATON_KEYS_LEN];
    CHECK(is(baton_keys_wf_pattern(b, sizeof b, "t1-"), "baton:{p*}:wf:t1-*"),
          "snapshot pattern");
    CHECK(is(baton_keys_hist_pattern(b, sizeof b, NULL),
             "baton:{p*}:hist:*"), "history pattern of every run");
    CHECK(is(baton_keys_wf_pattern(b, sizeof b, "a*b?[c]\\"),
             "baton:{p*}:wf:a\\*b\\?\\[c\\]\\\\*"),
          "glob characters in the prefix are escaped");
}

static void test_parse(void) {
    char b[BATON_KEYS_LEN];
    int32_t p = -1;
    const char *id = NULL;
    CHECK(baton_keys_parse_wf(baton_keys_wf(b, sizeof b, 41, "r:1"), &p, &id)
              && p == 41 && id && !strcmp(id, "r:1"),
          "a formatted snapshot key reads back");
    p = -1;
    CHECK(!baton_keys_parse_wf("baton:{p4}:hist:r1", &p, NULL) && p == -1,
          "a history key is not a snapshot key");
    CHECK(!baton_keys_parse_wf("baton:{p4}:wf:", NULL, NULL),
          "an empty id is refused");
    CHECK(!baton_keys_parse_wf("baton:{p}:wf:x", NULL, NULL),
          "a partition without digits is refused");
    CHECK(!baton_keys_parse_wf("baton:{px}:wf:x", NULL, NULL),
          "a partition that is no number is refused");
    CHECK(!baton_keys_parse_wf("baton:defs:wf:x", NULL, NULL),
          "a definition key is refused");
    CHECK(baton_keys_parse_wf("baton:{p0}:wf:x", NULL, NULL),
          "p and id may be NULL");
}

int main(void) {
    test_key_names();
    test_truncation();
    test_patterns();
    test_parse();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
