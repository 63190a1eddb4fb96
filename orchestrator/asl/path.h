/*
 * path.h -- the JSONPath subset of the States Language (Paths and
 * Reference Paths), evaluated over jansson values.
 *
 * Part of the ASL interpreter (asl.h).  Used by the data flow (InputPath,
 * OutputPath, ResultPath, "x.$" template fields), by Choice rules and by
 * the definition validator.  Pure functions, any thread.
 *
 * Syntax understood (states-language.net, "Paths"):
 *
 *   $                 the whole document
 *   $$                the context object (asl.h baton_asl_ctx_t), e.g.
 *                     $$.Execution.Input, $$.State.RetryCount
 *   .name             a field; a backslash escapes the next character
 *                     ($.store\.book is the field "store.book")
 *   ['name'] ["n"]    a field in bracket notation (also after a dot:
 *                     $.abc.['def ghi'], as AWS writes it)
 *   [3] [-1]          an array element (negative counts from the end)
 *   [*] .*            every element / field           \
 *   [1:3] [-3:] [::2] a slice                          } several values:
 *   [0,2] ['a','b']   a union                          /  gathered in an array
 *
 * A Reference Path (ResultPath, *SecondsPath, ...) is limited to fields and
 * non-negative indexes, so it names exactly one node.  Filters ([?()]),
 * deep scan (..) and functions (length()) are refused as bad paths.
 */
#ifndef BATON_ASL_PATH_H
#define BATON_ASL_PATH_H

#include <jansson.h>

#include "baton_common.h"

/* Flags of baton_asl_path_check. */
#define BATON_ASL_PATH_REFERENCE 0x1u  /* only fields and indexes >= 0 */
#define BATON_ASL_PATH_NO_CONTEXT 0x2u /* "$$" refused */

/* Returns 1 when `path` addresses the context object ("$$..."). */
int baton_asl_path_is_context(const char *path);

/* Checks the syntax of `path`.  Returns BATON_OK, or BATON_ERR_INVALID with
 * the reason in errstr (e.g. "deep scan '..' is not supported"), or
 * BATON_ERR_NOMEM. */
baton_err_t baton_asl_path_check(const char *path, unsigned flags, char *errstr,
                                 size_t errlen);

/* Applies `path` to `doc` ("$...") or to `context` ("$$...").  Returns
 * BATON_OK with *out a NEW reference: the node itself for a definite path,
 * an array of all the matches for one with wildcards, slices or unions.
 * BATON_ERR_NOTFOUND when a definite path matches nothing (or `context` is
 * NULL for a "$$" path); BATON_ERR_INVALID for a bad path (errstr);
 * BATON_ERR_NOMEM. */
baton_err_t baton_asl_path_select(const char *path, json_t *doc,
                                  json_t *context, json_t **out, char *errstr,
                                  size_t errlen);

/* Like baton_asl_path_select for a definite path, but *out is BORROWED from
 * doc/context (valid while they live).  A path that may yield several
 * values is BATON_ERR_INVALID. */
baton_err_t baton_asl_path_get(const char *path, json_t *doc, json_t *context,
                               json_t **out, char *errstr, size_t errlen);

/* Stores `value` (borrowed: a reference is taken) at the Reference Path
 * `path` inside *doc, which the caller owns exclusively (a deep copy: it is
 * modified in place).  Missing intermediate fields are created as objects;
 * "$" replaces *doc itself (the old one is released).  Walking into a
 * non-object, or an index past the end of an array, is BATON_ERR_INVALID
 * with the reason in errstr; *doc is then left valid but possibly partly
 * extended.  BATON_ERR_NOMEM on allocation failure. */
baton_err_t baton_asl_path_set(json_t **doc, const char *path, json_t *value,
                               char *errstr, size_t errlen);

#endif /* BATON_ASL_PATH_H */
