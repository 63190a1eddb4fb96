/*
 * json_limits.h -- the one nesting and content rule every JSON value Baton
 * accepts obeys, so that whatever is accepted can be written in a snapshot
 * and read back (docs/failure-model.md "Limits").
 *
 * A value accepted at decode time (a START input, a signal payload, an
 * activity output or heartbeat details: common/codec.c) nests at most
 * BATON_JSON_DEPTH_MAX levels and holds no NUL byte in a string or key.
 * The engine applies the same rule to the data it builds (a ResultPath can
 * nest a value deeper; States.Base64Decode could make a NUL): a run whose
 * data breaks it fails with States.Runtime where it is produced.  A
 * snapshot wraps such values in at most BATON_SNAPSHOT_NESTING levels of
 * its own (orchestrator/snapshot.h: held[i].p is the deepest), and the
 * snapshot loader (jansson, JSON_PARSER_MAX_DEPTH) admits more than the
 * sum: snapshot.c asserts it at compile time.
 *
 * Thread: any; pure functions.
 */
#ifndef BATON_JSON_LIMITS_H
#define BATON_JSON_LIMITS_H

#include <jansson.h>
#include <stddef.h>

/* Levels a JSON value may nest (a scalar is 1, [1] is 2). */
#define BATON_JSON_DEPTH_MAX 1000
/* Levels a snapshot adds around the values it holds. */
#define BATON_SNAPSHOT_NESTING 8

/* 0 when v nests at most max_depth levels and no string or object key in
 * it holds a NUL byte; else -1 with why (e.g. "nested deeper than 1000
 * levels") written to why[0..len). */
int baton_json_check(const json_t *v, int max_depth, char *why, size_t len);

#endif /* BATON_JSON_LIMITS_H */
