/*
 * budget.h -- a run's budget for model calls and the usage counted
 * against it (issue 14; docs/agents.md "Budgets").
 *
 * Pure logic over jansson values, used by the engine (engine_budget.c).
 * Two JSON objects travel with a run:
 *
 *   budget  {"MaxTokens": N, "MaxCalls": N, "MaxCost": X}, each field
 *           optional (asl.h baton_asl_budget_check): the limits.  From the
 *           definition's top-level "Budget" and the START's budget (the
 *           smaller of the two per field); a child run (child workflow,
 *           Parallel branch, Map item) gets what its parent has left when
 *           it starts, so the whole tree stays within the root's budget
 *           (children running at the same time each see the same rest:
 *           together they may pass it by at most what the ones in flight
 *           use; the next call after that is refused);
 *   usage   {"calls", "input_tokens", "output_tokens", "cached_tokens",
 *           "reasoning_tokens", "cost"}: the sums over the run's completed
 *           model calls (the "usage" the LLM worker reports in its result)
 *           and over the usage its child runs reported when they ended.
 *           Tokens against MaxTokens are input + output.  cost: per model,
 *           from the price table (below); a model with no price costs 0.
 *
 * Price table (config llm.prices, JSON text, or llm.prices.file):
 *   {"gpt-4o-mini": {"input_per_mtok": 0.15, "output_per_mtok": 0.60,
 *                    "cached_input_per_mtok": 0.075}, ...}
 * in any currency per million tokens.  A reply's model (as the provider
 * names it, e.g. "gpt-4o-mini-2024-07-18") takes the price of the longest
 * key that begins it; "*" prices every other model.  Cached input tokens
 * (part of input_tokens) cost cached_input_per_mtok when given, else
 * input_per_mtok.
 *
 * Thread: any; nothing is shared.
 */
#ifndef BATON_BUDGET_H
#define BATON_BUDGET_H

#include <jansson.h>

#include "baton_common.h"

/* BATON_OK when prices is a valid price table (an object of objects whose
 * fields are non-negative numbers named input_per_mtok, output_per_mtok,
 * cached_input_per_mtok); else BATON_ERR_INVALID with errstr. */
baton_err_t baton_budget_prices_check(const json_t *prices, char *errstr,
                                      size_t errlen);

/* The smaller of a and b per field (either may be NULL): a new reference,
 * NULL when both are NULL or out of memory. */
json_t *baton_budget_merge(const json_t *a, const json_t *b);

/* What is left of budget after usage (each limit minus what was used,
 * never below 0): a new reference; NULL when budget is NULL or out of
 * memory. */
json_t *baton_budget_remaining(const json_t *budget, const json_t *usage);

/* 1 when one more model call must be refused: calls, tokens (input +
 * output) or cost have reached their limit; cause says which and by how
 * much.  0 when budget is NULL or there is room. */
int baton_budget_refuses(const json_t *budget, const json_t *usage, char *cause,
                         size_t len);

/* Tokens left under MaxTokens (>= 0), or -1 when there is no such limit. */
int64_t baton_budget_tokens_left(const json_t *budget, const json_t *usage);

/* Adds one completed model call to *usage (created when NULL): its result
 * `output` carries {"usage": {...}, "model"}; a result without usage still
 * counts as a call.  prices may be NULL.  BATON_OK or BATON_ERR_NOMEM. */
baton_err_t baton_budget_add_call(json_t **usage, const json_t *output,
                                  const json_t *prices);

/* Adds another usage object (a child run's report) to *usage (created
 * when NULL); fields that are not numbers are ignored.  BATON_OK or
 * BATON_ERR_NOMEM. */
baton_err_t baton_budget_add_usage(json_t **usage, const json_t *other);

/* The cost of tokens of `model` under prices (0 when none applies). */
double baton_budget_cost(const json_t *prices, const char *model, int64_t input,
                         int64_t output, int64_t cached);

#endif /* BATON_BUDGET_H */
