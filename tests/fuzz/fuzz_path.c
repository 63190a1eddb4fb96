/*
 * fuzz_path.c -- fuzz target: JSONPath / Reference Path parsing and
 * evaluation (orchestrator/asl/path.c).  The first byte holds the check
 * flags; a path that passes the check is selected from, and set into, a
 * fixed document with arrays, objects and its own context object.
 */
#include <jansson.h>

#include "fuzz.h"
#include "path.h"

static const char doc_text[] =
    "{\"a\":{\"b\":[1,2,{\"c\":\"x\"}],\"d\":null},\"list\":[0,1,2,3,4,5,6,7,"
    "8,9],\"s\":\"str\",\"n\":-1.5,\"e\":{},\"arr\":[[1],[2,[3]]]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512], *path;
    json_t *doc, *ctx, *out = NULL;
    if (size < 1) return 0;
    path = fuzz_cstr(data + 1, size - 1);
    doc = json_loads(doc_text, 0, NULL);
    ctx = json_pack("{s:{s:s}}", "Execution", "Id", "fuzz");
    if (!baton_asl_path_check(path, data[0], err, sizeof err)) {
        if (!baton_asl_path_select(path, doc, ctx, &out, err, sizeof err))
            json_decref(out);
        out = NULL;
        if (!baton_asl_path_get(path, doc, ctx, &out, err, sizeof err))
            FUZZ_ASSERT(out, "a path that matches gives a value");
        if (path[0] == '$' && path[1] != '$') {
            json_t *v = json_integer(42);
            baton_asl_path_set(&doc, path, v, err, sizeof err);
            json_decref(v);
            FUZZ_ASSERT(doc, "the document survives a set");
        }
    }
    json_decref(doc);
    json_decref(ctx);
    free(path);
    return 0;
}
