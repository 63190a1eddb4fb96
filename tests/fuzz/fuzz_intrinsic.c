/*
 * fuzz_intrinsic.c -- fuzz target: the intrinsic functions
 * (orchestrator/asl/intrinsic.c): an expression that passes the
 * definition-time check is evaluated against a fixed input; it yields a
 * value or a fault with an error name, never a crash.
 */
#include <jansson.h>
#include <string.h>

#include "asl.h"
#include "fuzz.h"
#include "intrinsic.h"

static const char input_text[] =
    "{\"a\":[1,2,3,2],\"s\":\"a,b,c\",\"n\":7,\"o\":{\"k\":\"v\"},"
    "\"b64\":\"aGVsbG8=\",\"big\":9007199254740993,\"f\":1.5,\"t\":true}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512], *expr = fuzz_cstr(data, size);
    baton_asl_ctx_t ctx;
    baton_asl_env_t env;
    baton_asl_fault_t fault;
    json_t *input, *out = NULL;
    if (baton_asl_intrinsic_check(expr, err, sizeof err)) {
        free(expr);
        return 0;
    }
    memset(&ctx, 0, sizeof ctx);
    ctx.workflow_id = "fuzz";
    ctx.workflow_type = "fuzz";
    ctx.seed = 1;
    input = json_loads(input_text, 0, NULL);
    ctx.execution_input = input;
    baton_asl_env_init(&env, &ctx);
    baton_asl_env_enter(&env, "S", 0);
    memset(&fault, 0, sizeof fault);
    if (!baton_asl_intrinsic_eval(&env, expr, input, &out, &fault))
        FUZZ_ASSERT(out, "a successful call gives a value");
    json_decref(out);
    baton_asl_env_clear(&env);
    json_decref(input);
    free(expr);
    return 0;
}
