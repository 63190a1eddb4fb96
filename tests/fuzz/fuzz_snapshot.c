/*
 * fuzz_snapshot.c -- fuzz target: the snapshot codec (orchestrator/
 * snapshot.c).  decode -> encode -> decode -> encode: whatever the loader
 * accepts must encode, be accepted again, and encode to the same text (a
 * snapshot batond writes is always one it can read back).
 */
#include <string.h>

#include "fuzz.h"
#include "snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512];
    baton_snapshot_t *s =
        baton_snapshot_decode((const char *)data, size, err, sizeof err);
    baton_snapshot_t *s2;
    char *t1, *t2;
    size_t l1 = 0, l2 = 0;
    if (!s) return 0;
    t1 = baton_snapshot_encode(s, &l1);
    FUZZ_ASSERT(t1, "a decoded snapshot encodes");
    s2 = baton_snapshot_decode(t1, l1, err, sizeof err);
    if (!s2) fprintf(stderr, "re-decode: %s\n%.*s\n", err, (int)l1, t1);
    FUZZ_ASSERT(s2, "an encoded snapshot decodes");
    t2 = baton_snapshot_encode(s2, &l2);
    FUZZ_ASSERT(t2 && l1 == l2 && !memcmp(t1, t2, l1),
                "the round trip is stable");
    baton_free(t1);
    baton_free(t2);
    baton_snapshot_destroy(s);
    baton_snapshot_destroy(s2);
    return 0;
}
