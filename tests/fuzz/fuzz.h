/*
 * fuzz.h -- what every fuzz target of tests/fuzz/ implements: libFuzzer's
 * entry point.  Built two ways (tests/fuzz/CMakeLists.txt): with clang,
 * -fsanitize=fuzzer links libFuzzer's main (`make fuzz`: long runs that
 * grow tests/fuzz/corpus/<target>/); with any compiler, driver.c's main
 * replays the committed corpus (plus every file it is given) through the
 * same function under ASan+UBSan, which is what `make test` runs.  A
 * target aborts (FUZZ_ASSERT) when an invariant breaks, so a crash is a
 * finding either way.
 */
#ifndef BATON_FUZZ_H
#define BATON_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond, what)                                               \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n", __FILE__, \
                    __LINE__, what);                                          \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* A NUL-terminated copy of data (malloc'd; the caller frees). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) abort();
    for (size_t i = 0; i < size; i++) s[i] = (char)data[i];
    s[size] = '\0';
    return s;
}

#endif /* BATON_FUZZ_H */
