/*
 * llm.h -- the parts of baton-worker-llm (activities/llm/) and how they
 * fit:
 *
 *   llm_task.c       the task format (docs/agents.md) parsed and
 *                    normalised into llm_task_t
 *   llm_openai.c     OpenAI-compatible chat completions: request body,
 *                    reply, stream chunks
 *   llm_anthropic.c  Anthropic Messages: request body, reply, stream events
 *   llm_reply.c      the assistant reply being assembled (text, tool
 *                    calls, usage) and the activity result made from it
 *   llm_error.c      classification of a failed call into an activity
 *                    error (name, retryable, retry hint)
 *   llm_stream.c     partial text published to a Redis stream per run and
 *                    step (keys: common/keys.h)
 *   llm_ratelimit.c  rate limits shared by every replica, in Redis (keys:
 *                    common/keys.h)
 *   llm_worker.c     main(), configuration, the llm.chat handler
 *   ../net/          the HTTP call on libcurl, the SSE parser, the status
 *                    table shared with the HTTP and MCP workers
 *
 * Everything but llm_stream.c, llm_ratelimit.c and llm_worker.c is pure (no network, no
 * Redis) and unit-tested (tests/unit/test_llm_*.c).  Thread: the functions
 * run on the handler's thread; nothing is shared between calls.
 */
#ifndef BATON_LLM_H
#define BATON_LLM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"

/* ---- llm_error.c -------------------------------------------------------- */

typedef struct llm_error {
    char name[64]; /* "LLM.RateLimited", ... ("" = none) */
    int retryable;
    int64_t retry_after_ms; /* the server's hint, 0 = none */
    char cause[512];
} llm_error_t;

__attribute__((format(printf, 4, 5))) void llm_error_set(llm_error_t *e,
                                                         const char *name,
                                                         int retryable,
                                                         const char *fmt, ...);
/* A response with status >= 400 (or a 200 whose body is not a reply):
 * the kind from the status (net.h's table), then the body's provider
 * error overrides: insufficient_quota (OpenAI's 429 when the account is
 * out of credit) -> LLM.InsufficientQuota, final; a content-policy error
 * -> LLM.ContentFilter, final.  The hint from the headers.  The cause
 * quotes the provider's message (at most 300 bytes). */
void llm_error_from_http(long status, const json_t *headers, const char *body,
                         int64_t now_ms, llm_error_t *e);
/* A transport failure (baton_net_call's rc and message). */
void llm_error_from_transport(baton_net_rc_t rc, const char *msg,
                              llm_error_t *e);
/* An error reported inside a stream or a body ({"error": {"type",
 * "code", "message"}} or Anthropic's {"type": "error", "error": {...}}):
 * overloaded/api/server errors retryable, rate limits retryable, the rest
 * final. */
void llm_error_from_body_error(const json_t *error, llm_error_t *e);

/* ---- llm_task.c --------------------------------------------------------- */

typedef enum { LLM_OPENAI = 0, LLM_ANTHROPIC = 1 } llm_provider_t;

typedef struct llm_defaults {
    const char *model;    /* llm.model */
    const char *provider; /* llm.provider: "openai" or "anthropic" */
    int64_t max_tokens;   /* llm.max_tokens */
    int stream;           /* llm.stream */
} llm_defaults_t;

typedef struct llm_task {
    llm_provider_t provider;
    char model[256];
    json_t *messages;        /* normalised: {role, content, tool_calls:
                              [{id, name, arguments (any JSON)}],
                              tool_call_id} */
    json_t *tools;           /* [{name, description, parameters}] or NULL */
    json_t *tool_choice;     /* "auto" | "none" | "required" | {"name"} or
                              NULL */
    json_t *response_format; /* OpenAI's {"type": ...} or NULL */
    double temperature;
    int has_temperature;
    int64_t max_tokens; /* 0 = the provider's default */
    int stream;
} llm_task_t;

/* Parses the activity input into t (free with llm_task_clear).  0, or -1
 * with a message in errstr (a bad task: not retryable). */
int llm_task_parse(const char *input, const llm_defaults_t *d, llm_task_t *t,
                   char *errstr, size_t errlen);
void llm_task_clear(llm_task_t *t);

/* ---- llm_reply.c -------------------------------------------------------- */

typedef void (*llm_text_fn)(const char *text, size_t len, void *opaque);

typedef struct llm_call {
    char *id, *name;
    char *args; /* the arguments' JSON text as received (NUL-terminated) */
    size_t args_len, args_cap;
    long block; /* Anthropic content-block index, -1 otherwise */
} llm_call_t;

typedef struct llm_reply {
    char *text;
    size_t text_len, text_cap;
    llm_call_t *calls;
    size_t ncalls;
    char finish[32]; /* OpenAI's names: stop, tool_calls, length,
                        content_filter */
    int64_t input_tokens, output_tokens, cached_tokens, reasoning_tokens;
    char model[256];
    llm_text_fn on_text; /* streamed text pieces (may be NULL) */
    void *opaque;
} llm_reply_t;

void llm_reply_init(llm_reply_t *r);
void llm_reply_clear(llm_reply_t *r);
/* Appends text (calls on_text).  0, or -1 when out of memory. */
int llm_reply_add_text(llm_reply_t *r, const char *s, size_t n);
/* The tool call at index i (created, with any calls before it, when
 * missing), or NULL when out of memory. */
llm_call_t *llm_reply_call(llm_reply_t *r, size_t i);
/* Sets id / name (copied) when not NULL; appends n bytes of arguments. */
int llm_reply_call_set(llm_call_t *c, const char *id, const char *name);
int llm_reply_call_args(llm_call_t *c, const char *s, size_t n);
/* The activity result (docs/agents.md): {"role": "assistant", "content",
 * "tool_calls": [{"id", "type": "function", "name", "arguments"}],
 * "finish_reason", "usage": {"input_tokens", "output_tokens",
 * "cached_tokens", "reasoning_tokens"}, "model", "provider"}, with every
 * tool call's arguments parsed (empty = {}).  NULL with e set when an
 * argument text is not JSON (LLM.BadToolArguments) or the reply was
 * stopped by a content filter (LLM.ContentFilter): both final. */
json_t *llm_reply_result(const llm_reply_t *r, const char *provider,
                         llm_error_t *e);

/* ---- llm_openai.c / llm_anthropic.c ------------------------------------ */

/* The request body (new reference) or NULL when out of memory. */
json_t *llm_openai_body(const llm_task_t *t);
json_t *llm_anthropic_body(const llm_task_t *t);
/* A complete (non-streamed) reply into r.  0, or -1 with e set. */
int llm_openai_parse(const char *body, size_t len, llm_reply_t *r,
                     llm_error_t *e);
int llm_anthropic_parse(const char *body, size_t len, llm_reply_t *r,
                        llm_error_t *e);
/* One stream event into r: 0 = go on, 1 = the reply is complete ([DONE],
 * message_stop), -1 = error (e set: an error event or a chunk that is not
 * JSON). */
int llm_openai_stream_event(const char *event, const char *data, llm_reply_t *r,
                            llm_error_t *e);
int llm_anthropic_stream_event(const char *event, const char *data,
                               llm_reply_t *r, llm_error_t *e);

/* ---- llm_stream.c (Redis) ----------------------------------------------- */

typedef struct llm_stream llm_stream_t;

/* Where live output goes: Redis (url, and user/password overriding the
 * URL's, each NULL for none) and the deployment's key namespace. */
typedef struct llm_stream_target {
    const char *redis_url, *redis_user, *redis_password, *ns;
} llm_stream_target_t;

/* A publisher of partial text to the stream of (workflow_id, seq) for
 * attempt (keys: common/keys.h).  NULL (after a warning in the log) when
 * Redis cannot be reached: the call goes on without live output.
 * ttl_s: the key's expiry, set at the start and again at the end. */
llm_stream_t *llm_stream_open(const llm_stream_target_t *to,
                              const char *workflow_id, const char *seq,
                              int attempt, int64_t ttl_s);
/* Buffers text; publishes at most every 100 ms or 256 bytes. */
void llm_stream_text(llm_stream_t *s, const char *text, size_t len);
/* Publishes what is buffered and the end entry (event done or error with
 * the error name), sets the expiry, frees s.  NULL is a no-op. */
void llm_stream_close(llm_stream_t *s, const char *error_name);

/* ---- llm_ratelimit.c (Redis) -------------------------------------------- */

/* llm.ratelimit.*: 0 = no such limit. */
typedef struct llm_ratelimit_conf {
    int64_t rpm;         /* requests per window */
    int64_t tpm;         /* tokens (input + output) per window */
    int64_t concurrency; /* calls in flight */
    int64_t window_ms, wait_max_ms, lease_ms, margin_ms;
} llm_ratelimit_conf_t;

typedef struct llm_ratelimit llm_ratelimit_t; /* one admitted call */
typedef struct baton_activity baton_activity_t;

typedef enum {
    LLM_RL_OK = 0,      /* admitted: *out is the call's slot */
    LLM_RL_BUSY,        /* no capacity within wait_max_ms: *hint_ms */
    LLM_RL_CANCELLED,   /* the activity was cancelled while waiting */
    LLM_RL_UNAVAILABLE, /* Redis failed (warned): call without limits */
} llm_rl_rc_t;

/* 1 when c sets any limit. */
int llm_ratelimit_on(const llm_ratelimit_conf_t *c);
/* Waits for capacity under the limits of `scope` (heartbeating while it
 * waits when the state sets HeartbeatSeconds).  c and to are borrowed and
 * must outlive *out; call_id names the call in the keys' members;
 * est_tokens is what the call may use (reserved under tpm until it ends). */
llm_rl_rc_t llm_ratelimit_acquire(const llm_stream_target_t *to,
                                  const llm_ratelimit_conf_t *c,
                                  const char *scope, const char *call_id,
                                  int64_t est_tokens, baton_activity_t *act,
                                  llm_ratelimit_t **out, int64_t *hint_ms);
/* Renews the call's concurrency lease (at most every lease_ms / 3). */
void llm_ratelimit_renew(llm_ratelimit_t *rl);
/* The call ended having used `tokens` (0: none, or unknown after a
 * failure): frees its slot, replaces its reservation under tpm by them,
 * frees rl.  NULL is a no-op. */
void llm_ratelimit_release(llm_ratelimit_t *rl, int64_t tokens);

#endif /* BATON_LLM_H */
