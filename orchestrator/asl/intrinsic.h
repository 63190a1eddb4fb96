/*
 * intrinsic.h -- the States Language intrinsic functions ("States.Format(
 * 'Hello {}', $.name)") used in "x.$" fields of payload templates and in a
 * Fail state's ErrorPath/CausePath.
 *
 * Part of the ASL interpreter: the definition validator checks each call
 * once (syntax, function names, argument counts), the data flow evaluates
 * it against a state's input.  Arguments are 'strings' (escapes \' \{ \}
 * \\), numbers, true/false/null, Paths and nested calls (at most 10 deep).
 * Functions: States.Format, StringToJson, JsonToString, Array,
 * ArrayPartition, ArrayContains, ArrayRange, ArrayGetItem, ArrayLength,
 * ArrayUnique, Base64Encode, Base64Decode, Hash (MD5, SHA-1, SHA-256,
 * SHA-384, SHA-512), JsonMerge, MathRandom, MathAdd, StringSplit, UUID.
 * MathRandom and UUID draw from the environment's seeded generator, so
 * they are deterministic for a given baton_asl_ctx_t.seed.
 */
#ifndef BATON_ASL_INTRINSIC_H
#define BATON_ASL_INTRINSIC_H

#include <jansson.h>

#include "baton_common.h"
#include "dataflow.h"

/* Checks an intrinsic call for the definition.  Returns BATON_OK, or
 * BATON_ERR_INVALID with the problem in errstr, or BATON_ERR_NOMEM. */
baton_err_t baton_asl_intrinsic_check(const char *expr, char *errstr,
                                      size_t errlen);

/* Evaluates an intrinsic call against `input` (Paths in arguments apply to
 * it, "$$" ones to the context object).  Returns BATON_OK with *out a new
 * reference; BATON_ERR_INVALID with `fault` (States.IntrinsicFailure for a
 * bad argument, States.Runtime for a Path that matches nothing);
 * BATON_ERR_NOMEM. */
baton_err_t baton_asl_intrinsic_eval(baton_asl_env_t *env, const char *expr,
                                     json_t *input, json_t **out,
                                     baton_asl_fault_t *fault);

#endif /* BATON_ASL_INTRINSIC_H */
