/*
 * keys.h -- the Redis key layout of Baton, defined once: every key name
 * batond writes and every tool reads (batonctl, the bench, the chaos
 * checker, the tests) is formatted or matched here.  Pure string
 * formatting: no hiredis, so the core and any tool can use it.
 *
 * Every key begins with the deployment's namespace <ns> (the argument ns of
 * every function below): redis.key.prefix, default topic.prefix, default
 * "baton" (config.h baton_conf_key_prefix).  Two deployments sharing one
 * Redis with different namespaces never touch each other's keys, and a
 * Redis ACL rule "~<ns>:*" confines each (docs/security.md).  A namespace
 * is 1..64 of [A-Za-z0-9._-] (baton_keys_ns_valid), so it can hold neither
 * ':' nor a hash-tag brace.  The table shows the default "baton".
 *
 * Every key of Kafka partition N carries the hash tag {pN}, so with Redis
 * Cluster one partition's keys share a slot and one atomic script covers
 * them.  Only the instance that owns partition N touches its keys.
 *
 *   key                        type    holds
 *   baton:{pN}:wf:<id>         string  workflow snapshot, JSON
 *                                      (orchestrator/snapshot.h)
 *   baton:{pN}:hist:<id>       list    history events, JSON objects
 *                                      {"seq","type","time","state","data"}
 *                                      oldest first, capped at
 *                                      batond.history.max; expires
 *                                      batond.history.ttl.s after close
 *   baton:{pN}:offsets         hash    field = source topic name, value =
 *                                      next offset to apply (decimal)
 *   baton:{pN}:outbox          hash    field = output id, value = an
 *                                      outbox record (orchestrator/outbox.h);
 *                                      removed once Kafka acknowledged the
 *                                      message
 *   baton:{pN}:timers          zset    member = "<kind>|<seq>|<attempt>|
 *                                      <workflow id>" (engine_int.h), score
 *                                      = due time (ms)
 *   baton:{pN}:epoch           string  fencing token: INCR'd by each new
 *                                      owner; a batch write applies only
 *                                      when it still holds the current one
 *                                      (orchestrator/store.c)
 *   baton:{pN}:dd:<n>:<id>:<dd>
 *                              string  "1": a command with dedupe key <dd>
 *                                      was applied to workflow <id> (<n> =
 *                                      its length in bytes, so ids with ':'
 *                                      stay unambiguous); expires (PX) after
 *                                      the command's dedupe window
 *                                      (batond.dedupe.window.ms).  <dd> is
 *                                      "d:<dedupe_id>" or "r:<request_id>"
 *                                      (orchestrator/loop.c)
 *   baton:{pN}:blob:<hex>      string  claim check: a blob, the compact
 *                                      ref JSON text whose SHA-256 is <hex>
 *                                      (common/blob.h).  Written by batond
 *                                      (task inputs, snapshots, history) and
 *                                      by workers (large results, with the
 *                                      partition the task's result goes to,
 *                                      TTL blob.pending.ttl.s); no TTL while
 *                                      a run of partition N holds it
 *                                      (blobrc), blob.retention.s after
 *                                      the last such run closed
 *   baton:{pN}:blobs:<id>      set     the blobs run <id> holds (<hex>);
 *                                      deleted when the run closes
 *   baton:{pN}:blobrc          hash    field = <hex>, value = how many runs
 *                                      of partition N not yet closed hold
 *                                      the blob (orchestrator/store.c)
 *                                      The hash tag is the run's partition,
 *                                      so with Redis Cluster a blob sits in
 *                                      the slot of the runs that use it and
 *                                      the batch script adopts and releases
 *                                      it atomically; one content in two
 *                                      partitions is stored twice.
 *   baton:defs:<name>:<ver>    string  definition text of every version
 *                                      that ever ran (pins runs to it)
 *   baton:stream:{<id>}:<seq>  stream  live model output of step <seq> of
 *                                      run <id> (baton-worker-llm writes,
 *                                      `batonctl watch` reads): entries
 *                                      event=start attempt=N (a new attempt
 *                                      restarts the text), text=<piece>,
 *                                      event=done, event=error error=NAME
 *   baton:stream:{<id>}        stream  the run's index of those: one entry
 *                                      seq=<seq> attempt=N per attempt that
 *                                      streamed.  Both expire
 *                                      llm.stream.ttl.s after the step; the
 *                                      hash tag is the run id (one Redis
 *                                      Cluster slot per run)
 *   baton:rl:{<scope>}:req     zset    shared rate limit of model calls
 *                                      (baton-worker-llm, llm_ratelimit.c):
 *                                      one member per request admitted,
 *                                      scored by its time (ms, Redis
 *                                      clock); trimmed to the window
 *   baton:rl:{<scope>}:tok     zset    "<call id>:<tokens>" per call,
 *                                      scored by its admission: an
 *                                      estimate while it runs, its real
 *                                      tokens once it ended (tokens per
 *                                      window)
 *   baton:rl:{<scope>}:conc    zset    calls in flight, scored by the end
 *                                      of their lease (renewed while the
 *                                      call runs; an expired one is a dead
 *                                      worker's and is dropped).  <scope>:
 *                                      the queue, or "<provider>/<model>"
 *                                      (llm.ratelimit.scope); one hash tag,
 *                                      so one Lua script covers all three
 *
 * Output ids (the outbox fields) are deterministic: "<src><offset>.<k>" is
 * the k-th output of the input at <offset> of source <src> ('c' commands,
 * 'r' results, 't' timers), so re-applying an input could only overwrite
 * its own entries (orchestrator/wset.h).
 *
 * Every formatter writes into buf (len bytes, BATON_KEYS_LEN is always
 * enough for a workflow id of the codec's maximum length) and returns buf,
 * or NULL when the key does not fit (buf then holds a truncated string
 * that must not be used).  Thread: any; no state.
 */
#ifndef BATON_KEYS_H
#define BATON_KEYS_H

#include <stddef.h>
#include <stdint.h>

/* A buffer this long holds any key of a partition with an id of up to
 * 256 bytes (BATON_WORKFLOW_ID_MAX in codec.c), and any SCAN pattern of
 * such an id prefix. */
#define BATON_KEYS_LEN 1024
/* The longest namespace (the lengths above leave room for it). */
#define BATON_KEYS_NS_MAX 64

/* 1 when ns is a valid namespace: 1..BATON_KEYS_NS_MAX of [A-Za-z0-9._-]. */
int baton_keys_ns_valid(const char *ns);

/* baton:{pN}:wf:<id> -- a workflow's snapshot. */
const char *baton_keys_wf(char *buf, size_t len, const char *ns, int32_t p,
                          const char *id);
/* baton:{pN}:hist:<id> -- a workflow's history list. */
const char *baton_keys_hist(char *buf, size_t len, const char *ns, int32_t p,
                            const char *id);
/* baton:{pN}:offsets -- next input offset per source topic. */
const char *baton_keys_offsets(char *buf, size_t len, const char *ns,
                               int32_t p);
/* baton:{pN}:outbox -- messages decided, not yet acknowledged. */
const char *baton_keys_outbox(char *buf, size_t len, const char *ns, int32_t p);
/* baton:{pN}:timers -- due times of the partition's timers. */
const char *baton_keys_timers(char *buf, size_t len, const char *ns, int32_t p);
/* baton:{pN}:epoch -- the partition's fencing token. */
const char *baton_keys_epoch(char *buf, size_t len, const char *ns, int32_t p);
/* A buffer this long holds any dedupe key: a workflow id of up to 256
 * bytes and a dedupe key of up to 2 + 1024 (BATON_DEDUPE_ID_MAX). */
#define BATON_KEYS_DEDUPE_LEN 1400
/* baton:{pN}:dd:<len(id)>:<id>:<dd> -- "command dd was applied to id". */
const char *baton_keys_dedupe(char *buf, size_t len, const char *ns, int32_t p,
                              const char *id, const char *dd);
/* baton:defs:<name>:<ver> -- the text of one definition version. */
const char *baton_keys_def(char *buf, size_t len, const char *ns,
                           const char *name, const char *ver);

/* baton:{pN}:blob:<hex> -- a claim-check blob (hex: 64 hex digits). */
const char *baton_keys_blob(char *buf, size_t len, const char *ns, int32_t p,
                            const char *hex);
/* baton:{pN}:blobs:<id> -- the blobs a run holds. */
const char *baton_keys_blob_set(char *buf, size_t len, const char *ns,
                                int32_t p, const char *id);
/* baton:{pN}:blobrc -- live runs holding each blob of partition N. */
const char *baton_keys_blob_refs(char *buf, size_t len, const char *ns,
                                 int32_t p);

/* SCAN MATCH patterns over every partition: the snapshot / history keys of
 * the workflows whose id starts with id_prefix ("" or NULL: all).  The
 * prefix is escaped, so '*', '?', '[' and '\' in it match themselves. */
const char *baton_keys_wf_pattern(char *buf, size_t len, const char *ns,
                                  const char *id_prefix);
const char *baton_keys_hist_pattern(char *buf, size_t len, const char *ns,
                                    const char *id_prefix);

/* Reads a snapshot key back: 1 when key is <ns>:{p<digits>}:wf:<non-empty
 * id>, with *p the partition and *id pointing into key (borrowed); else 0
 * and *p, *id untouched.  p or id may be NULL. */
int baton_keys_parse_wf(const char *key, const char *ns, int32_t *p,
                        const char **id);

/* The three keys of the shared rate limit of `scope` (table above):
 * which = "req", "tok" or "conc". */
const char *baton_keys_ratelimit(char *buf, size_t len, const char *ns,
                                 const char *scope, const char *which);

/* The live-output stream of step seq of run workflow_id, and the run's
 * index of its streams (see the table above). */
const char *baton_keys_stream(char *buf, size_t len, const char *ns,
                              const char *workflow_id, const char *seq);
const char *baton_keys_stream_index(char *buf, size_t len, const char *ns,
                                    const char *workflow_id);

#endif /* BATON_KEYS_H */
