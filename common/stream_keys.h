/*
 * stream_keys.h -- the Redis keys of live LLM output, the one owner of
 * their format (written by baton-worker-llm, read by `batonctl watch`).
 * common/keys.h did not exist when this was written; when it does, these
 * move there.
 *
 *   key                                 type    holds
 *   baton:stream:{<workflow_id>}:<seq>  stream  the partial text of one
 *                                               step (activity_seq <seq>)
 *   baton:stream:{<workflow_id>}        stream  the run's index: one
 *                                               entry per step attempt
 *                                               that streamed
 *
 * Step stream entries (fields):
 *   event=start attempt=N   an attempt begins (a later attempt restarts
 *                           the text: a watcher starts over)
 *   text=<piece>            the next piece of text
 *   event=done              the reply is complete
 *   event=error error=NAME  the attempt failed (a retry may follow)
 * Index entries: seq=<seq> attempt=N.  Both keys expire llm.stream.ttl.s
 * after the step ends (and are given that expiry when the step starts, so a
 * worker killed mid-step leaves nothing behind for long).  The hash tag is
 * the workflow id: a run's keys share one Redis Cluster slot.
 */
#ifndef BATON_STREAM_KEYS_H
#define BATON_STREAM_KEYS_H

#include <stdio.h>

/* The step stream's key into buf; returns buf. */
static inline const char *baton_keys_stream(char *buf, size_t len,
                                            const char *workflow_id,
                                            const char *seq) {
    snprintf(buf, len, "baton:stream:{%s}:%s", workflow_id, seq);
    return buf;
}

/* The run index's key into buf; returns buf. */
static inline const char *baton_keys_stream_index(char *buf, size_t len,
                                                  const char *workflow_id) {
    snprintf(buf, len, "baton:stream:{%s}", workflow_id);
    return buf;
}

#endif /* BATON_STREAM_KEYS_H */
