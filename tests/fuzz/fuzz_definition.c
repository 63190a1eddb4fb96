/*
 * fuzz_definition.c -- fuzz target: the workflow definition parser and
 * validator (orchestrator/asl/definition.c, graph.c): any text is either
 * refused with a message or accepted as a definition whose start state
 * exists.
 */
#include "asl.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512], *text = fuzz_cstr(data, size);
    baton_asl_def_t *def = NULL;
    if (!baton_asl_def_parse("fuzz", text, &def, err, sizeof err)) {
        FUZZ_ASSERT(def && baton_asl_def_start_at(def),
                    "an accepted definition has a start state");
        baton_asl_def_destroy(def);
    } else {
        FUZZ_ASSERT(!def && err[0], "a refusal says why");
    }
    free(text);
    return 0;
}
