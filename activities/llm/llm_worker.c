/*
 * llm_worker.c -- baton-worker-llm: model calls as durable activities.
 *
 *   baton-worker-llm [--config FILE] [--queue Q (default llm)]
 *                    [--concurrency N]
 *
 * Activity llm.chat: the task format of llm_task.c (docs/agents.md) in,
 * the assistant message with parsed tool calls and usage out
 * (llm_reply.c).  The call goes to <llm.base_url>/chat/completions
 * (provider openai) or <llm.base_url>/messages (anthropic), streamed
 * (SSE) unless llm.stream = 0 or the task says "stream": false; streamed
 * text is published live to Redis (llm_stream.c) for `batonctl watch`.
 * Failures become activity errors classified by llm_error.c, with the
 * provider's retry hint as retry_after_ms.  While the call runs, the
 * handler heartbeats (when the state sets HeartbeatSeconds, details
 * {"chars": N}) and gives up when the activity is cancelled.
 *
 * Settings: llm.* keys (batond --help), overridden by the environment:
 * BATON_LLM_BASE_URL, BATON_LLM_MODEL, BATON_LLM_PROVIDER, and the API key
 * from BATON_LLM_API_KEY, else the file BATON_LLM_API_KEY_FILE, else the
 * file llm.api_key_file.  The key is sent in a header only: it is never in
 * a task, a result, a log line or an error (texts that leave the worker
 * are redacted against it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton_common.h"
#include "baton_worker.h"
#include "llm.h"

#define PROG "baton-worker-llm"
#define LLM_RAW_MAX (1u << 20)

typedef struct llm_worker {
    char *base_url, *model, *provider, *api_key, *redis_url, *anthropic_ver;
    char *redis_user, *redis_password, *ns; /* live output (keys.h) */
    int64_t max_tokens, timeout_ms, stream_ttl_s;
    int stream;
    llm_ratelimit_conf_t rl; /* llm.ratelimit.* */
    int rl_by_model;         /* llm.ratelimit.scope = model */
    char *queue;             /* the scope otherwise */
} llm_worker_t;

/* What one call's callbacks share. */
typedef struct llm_call_ctx {
    baton_activity_t *act;
    llm_reply_t reply;
    llm_error_t err;
    const llm_task_t *task;
    baton_sse_t *sse;
    llm_stream_t *live;
    int complete; /* the stream's final event was seen */
    int failed;   /* an error event or a bad chunk */
    int events;   /* stream events seen */
    char *raw;    /* the first LLM_RAW_MAX bytes of a streamed body: a
                     server that ignored "stream" sent a whole reply */
    size_t raw_len;
    llm_ratelimit_t *rl; /* the call's slot under the shared limits */
} llm_call_ctx_t;

/* ---- the call's callbacks (handler thread) ------------------------------- */

static void on_text(const char *text, size_t len, void *opaque) {
    llm_call_ctx_t *c = opaque;
    llm_stream_text(c->live, text, len);
}

static int on_event(const char *event, const char *data, size_t len,
                    void *opaque) {
    llm_call_ctx_t *c = opaque;
    int rc;
    (void)len;
    c->events++;
    if (c->complete || c->failed) return 0;
    rc = c->task->provider == LLM_ANTHROPIC
             ? llm_anthropic_stream_event(event, data, &c->reply, &c->err)
             : llm_openai_stream_event(event, data, &c->reply, &c->err);
    if (rc > 0) c->complete = 1;
    if (rc < 0) c->failed = 1;
    return rc < 0 ? 1 : 0;
}

static int on_body(const char *buf, size_t len, void *opaque) {
    llm_call_ctx_t *c = opaque;
    int rc;
    if (!c->events && c->raw_len + len <= LLM_RAW_MAX) {
        char *p = baton_realloc(c->raw, c->raw_len + len + 1);
        if (p) {
            memcpy(p + c->raw_len, buf, len);
            c->raw_len += len;
            p[c->raw_len] = '\0';
            c->raw = p;
        }
    }
    rc = baton_sse_feed(c->sse, buf, len);
    if (rc < 0 && !c->failed) {
        c->failed = 1;
        llm_error_set(&c->err, "LLM.MalformedResponse", 1,
                      "a stream line is too long");
    }
    return rc != 0;
}

static int on_tick(void *opaque) {
    llm_call_ctx_t *c = opaque;
    if (baton_activity_cancelled(c->act)) return 1;
    llm_ratelimit_renew(c->rl);
    if (baton_activity_heartbeat_seconds(c->act) > 0) {
        char details[64];
        snprintf(details, sizeof details, "{\"chars\":%zu}", c->reply.text_len);
        baton_activity_heartbeat(c->act, details); /* the SDK throttles */
    }
    return 0;
}

/* ---- reporting ----------------------------------------------------------- */

static void fail_with(baton_activity_t *act, const llm_worker_t *lw,
                      const llm_error_t *e) {
    char *cause = baton_net_redact(e->cause, lw->api_key);
    baton_activity_fail_flags(act, e->name, cause ? cause : "(redacted)",
                              e->retry_after_ms,
                              e->retryable ? 0 : BATON_FAIL_NON_RETRYABLE);
    BATON_INFO("llm", "task %s failed: %s%s (retry hint %lld ms): %s",
               baton_activity_task_id(act), e->name,
               e->retryable ? "" : " (final)", (long long)e->retry_after_ms,
               cause ? cause : "");
    baton_free(cause);
}

static void complete_with(baton_activity_t *act, const llm_worker_t *lw,
                          json_t *result) {
    char *text = json_dumps(result, JSON_COMPACT);
    char *clean = text ? baton_net_redact(text, lw->api_key) : NULL;
    if (clean)
        baton_activity_complete(act, clean);
    else
        baton_activity_fail(act, "LLM.OutOfMemory", "encoding the result", 0);
    free(text);
    baton_free(clean);
}

/* ---- the call ------------------------------------------------------------ */

/* Waits for capacity under the shared rate limits (llm_ratelimit.c).
 * 0: go on (c->rl holds the slot, or NULL without limits); 1: the
 * activity is answered (LLM.RateLimited) or cancelled: return. */
static int wait_for_capacity(const llm_worker_t *lw, llm_call_ctx_t *c,
                             const llm_task_t *task, size_t body_len) {
    char scope[300];
    int64_t hint = 0;
    llm_rl_rc_t rc;
    if (!llm_ratelimit_on(&lw->rl)) return 0;
    if (lw->rl_by_model)
        snprintf(scope, sizeof scope, "%s/%s",
                 task->provider == LLM_ANTHROPIC ? "anthropic" : "openai",
                 task->model);
    else
        snprintf(scope, sizeof scope, "%s", lw->queue);
    rc = llm_ratelimit_acquire(
        &(llm_stream_target_t){lw->redis_url, lw->redis_user,
                               lw->redis_password, lw->ns},
        &lw->rl, scope, baton_activity_task_id(c->act),
        (int64_t)(body_len / 4) + task->max_tokens, c->act, &c->rl, &hint);
    if (rc == LLM_RL_BUSY) {
        llm_error_set(&c->err, "LLM.RateLimited", 1,
                      "no capacity under the shared rate limit of %s within "
                      "llm.ratelimit.wait.max.ms (%lld ms)",
                      scope, (long long)lw->rl.wait_max_ms);
        c->err.retry_after_ms = hint;
        fail_with(c->act, lw, &c->err);
        return 1;
    }
    return rc == LLM_RL_CANCELLED;
}

/* The headers of a call into h (static strings and auth, a buffer the
 * caller frees). */
static char *auth_header(const llm_worker_t *lw, const llm_task_t *t) {
    size_t n = strlen(lw->api_key) + 32;
    char *h = baton_malloc(n);
    if (!h) return NULL;
    if (t->provider == LLM_ANTHROPIC)
        snprintf(h, n, "x-api-key: %s", lw->api_key);
    else
        snprintf(h, n, "Authorization: Bearer %s", lw->api_key);
    return h;
}

/* ---- tracing: OpenTelemetry's GenAI attributes (docs/tracing.md) ------ */

/* The request side of the span: operation, provider, model; the messages
 * only when tracing.genai.content = 1. */
static void trace_request(baton_activity_t *act, const llm_task_t *t) {
    char name[300];
    if (!baton_activity_traced(act)) return;
    snprintf(name, sizeof name, "chat %s", t->model);
    baton_activity_span_set_name(act, name);
    baton_activity_span_set_str(act, "gen_ai.operation.name", "chat");
    baton_activity_span_set_str(act, "gen_ai.provider.name",
                                t->provider == LLM_ANTHROPIC ? "anthropic"
                                                             : "openai");
    baton_activity_span_set_str(act, "gen_ai.request.model", t->model);
    if (t->max_tokens > 0)
        baton_activity_span_set_int(act, "gen_ai.request.max_tokens",
                                    t->max_tokens);
    if (baton_activity_trace_content(act)) {
        char *m = json_dumps(t->messages, JSON_COMPACT);
        baton_activity_span_set_str(act, "gen_ai.input.messages", m);
        free(m);
    }
}

/* The response side: model, usage, tool calls asked for; the output only
 * with content on. */
static void trace_reply(baton_activity_t *act, const llm_reply_t *r,
                        const json_t *result) {
    if (!baton_activity_traced(act)) return;
    if (r->model[0])
        baton_activity_span_set_str(act, "gen_ai.response.model", r->model);
    baton_activity_span_set_int(act, "gen_ai.usage.input_tokens",
                                r->input_tokens);
    baton_activity_span_set_int(act, "gen_ai.usage.output_tokens",
                                r->output_tokens);
    if (r->finish[0])
        baton_activity_span_set_str(act, "baton.llm.finish_reason", r->finish);
    baton_activity_span_set_int(act, "baton.llm.tool_calls",
                                (int64_t)r->ncalls);
    if (baton_activity_trace_content(act) && result) {
        char *o = json_dumps(result, JSON_COMPACT);
        baton_activity_span_set_str(act, "gen_ai.output.messages", o);
        free(o);
    }
}

static void llm_chat(baton_activity_t *act, void *opaque) {
    const llm_worker_t *lw = opaque;
    llm_defaults_t d = {lw->model, lw->provider, lw->max_tokens, lw->stream};
    llm_call_ctx_t c;
    llm_task_t task;
    json_t *body = NULL, *result = NULL;
    char err[512], url[2048], ver[96], *auth = NULL, *text = NULL;
    const char *headers[6];
    size_t nh = 0;
    baton_net_req_t req = {0};
    baton_net_resp_t resp;
    baton_net_rc_t rc;
    int64_t t0 = baton_mono_us();

    memset(&c, 0, sizeof c);
    llm_reply_init(&c.reply);
    c.act = act;
    c.reply.on_text = on_text;
    c.reply.opaque = &c;
    if (llm_task_parse(baton_activity_input(act), &d, &task, err, sizeof err)) {
        llm_error_set(&c.err, "LLM.BadTask", 0, "%s", err);
        fail_with(act, lw, &c.err);
        return;
    }
    c.task = &task;
    trace_request(act, &task);
    body = task.provider == LLM_ANTHROPIC ? llm_anthropic_body(&task)
                                          : llm_openai_body(&task);
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (!text || (*lw->api_key && !(auth = auth_header(lw, &task)))) {
        llm_error_set(&c.err, "LLM.OutOfMemory", 1, "building the request");
        goto fail;
    }
    /* a tokens estimate for tpm: ~4 bytes a token, plus the reply's cap */
    if (wait_for_capacity(lw, &c, &task, strlen(text))) goto out;
    snprintf(url, sizeof url, "%s%s", lw->base_url,
             task.provider == LLM_ANTHROPIC ? "/messages"
                                            : "/chat/completions");
    headers[nh++] = "Content-Type: application/json";
    if (auth) headers[nh++] = auth;
    if (task.provider == LLM_ANTHROPIC) {
        snprintf(ver, sizeof ver, "anthropic-version: %s", lw->anthropic_ver);
        headers[nh++] = ver;
    }
    if (task.stream) headers[nh++] = "Accept: text/event-stream";
    headers[nh] = NULL;

    req.url = url;
    req.headers = headers;
    req.body = text;
    req.body_len = strlen(text);
    req.timeout_ms = (long)lw->timeout_ms;
    req.on_tick = on_tick;
    req.opaque = &c;
    if (task.stream) {
        const char *idem = baton_activity_idempotency_key(act);
        const char *slash = strrchr(idem, '/');
        if (!(c.sse = baton_sse_new(on_event, &c))) {
            llm_error_set(&c.err, "LLM.OutOfMemory", 1, "stream parser");
            goto fail;
        }
        req.on_body = on_body;
        if (slash && *lw->redis_url)
            c.live = llm_stream_open(
                &(llm_stream_target_t){lw->redis_url, lw->redis_user,
                                       lw->redis_password, lw->ns},
                baton_activity_workflow_id(act), slash + 1,
                baton_activity_attempt(act), lw->stream_ttl_s);
    }
    rc = baton_net_call(&req, &resp);
    if (rc == BATON_NET_ABORTED && baton_activity_cancelled(act)) {
        BATON_INFO("llm", "task %s cancelled during the call",
                   baton_activity_task_id(act));
        baton_net_resp_clear(&resp);
        llm_stream_close(c.live, "Baton.Cancelled");
        c.live = NULL;
        goto out; /* the SDK answers for a cancelled activity */
    }
    if (c.failed) {
        /* an error event or a bad chunk: c.err says which */
    } else if (rc != BATON_NET_DONE) {
        llm_error_from_transport(rc, resp.error, &c.err);
    } else if (resp.status >= 300) {
        llm_error_from_http(resp.status, resp.headers, resp.body,
                            baton_now_ms(), &c.err);
    } else if (task.stream && !c.events && c.raw &&
               !strncmp(json_string_value(
                            json_object_get(resp.headers, "content-type"))
                            ? json_string_value(
                                  json_object_get(resp.headers, "content-type"))
                            : "",
                        "application/json", 16)) {
        /* The server ignored "stream": true and sent a whole reply. */
        if (task.provider == LLM_ANTHROPIC)
            llm_anthropic_parse(c.raw, c.raw_len, &c.reply, &c.err);
        else
            llm_openai_parse(c.raw, c.raw_len, &c.reply, &c.err);
    } else if (task.stream) {
        baton_sse_finish(c.sse); /* a last event without its blank line */
        if (!c.failed && !c.complete && !c.reply.finish[0])
            llm_error_set(&c.err, "LLM.ConnectionError", 1,
                          "the stream ended before the reply was complete");
    } else if (task.provider == LLM_ANTHROPIC) {
        llm_anthropic_parse(resp.body ? resp.body : "", resp.body_len, &c.reply,
                            &c.err);
    } else {
        llm_openai_parse(resp.body ? resp.body : "", resp.body_len, &c.reply,
                         &c.err);
    }
    baton_net_resp_clear(&resp);
    llm_ratelimit_release(c.rl, c.reply.input_tokens + c.reply.output_tokens);
    c.rl = NULL;
    if (!c.err.name[0] &&
        !(result = llm_reply_result(
              &c.reply, task.provider == LLM_ANTHROPIC ? "anthropic" : "openai",
              &c.err)) &&
        !c.err.name[0])
        llm_error_set(&c.err, "LLM.OutOfMemory", 1, "building the result");
    trace_reply(act, &c.reply, result);
    if (c.err.name[0]) goto fail;
    llm_stream_close(c.live, NULL);
    c.live = NULL;
    complete_with(act, lw, result);
    BATON_INFO("llm",
               "task %s (attempt %d) done: %s %s, %zu chars, %zu tool calls, "
               "tokens in %lld out %lld, %lld ms",
               baton_activity_task_id(act), (int)baton_activity_attempt(act),
               task.provider == LLM_ANTHROPIC ? "anthropic" : "openai",
               c.reply.model, c.reply.text_len, c.reply.ncalls,
               (long long)c.reply.input_tokens,
               (long long)c.reply.output_tokens,
               (long long)((baton_mono_us() - t0) / 1000));
    goto out;
fail:
    llm_stream_close(c.live, c.err.name);
    c.live = NULL;
    fail_with(act, lw, &c.err);
out:
    llm_ratelimit_release(c.rl, 0); /* not called: a cancelled call */
    json_decref(result);
    json_decref(body);
    free(text);
    baton_free(auth);
    baton_sse_destroy(c.sse);
    baton_free(c.raw);
    llm_reply_clear(&c.reply);
    llm_task_clear(&task);
}

/* ---- settings ------------------------------------------------------------ */

/* The API key: BATON_LLM_API_KEY, else the first line of the key file.
 * "" when none is configured (servers that need none: Ollama).  NULL
 * after printing why the file could not be read. */
static char *load_api_key(const baton_conf_t *conf) {
    const char *env = getenv("BATON_LLM_API_KEY"), *file;
    char line[4096] = "";
    FILE *f;
    if (env && *env) return baton_strdup(env);
    file = getenv("BATON_LLM_API_KEY_FILE");
    if (!file || !*file) file = baton_conf_get(conf, "llm.api_key_file");
    if (!file || !*file) return baton_strdup("");
    if (!(f = fopen(file, "r"))) {
        fprintf(stderr, PROG ": cannot read the API key file %s\n", file);
        return NULL;
    }
    if (!fgets(line, sizeof line, f)) line[0] = '\0';
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    return baton_strdup(line);
}

static char *setting(const baton_conf_t *conf, const char *key,
                     const char *env) {
    const char *v = getenv(env);
    if (!v || !*v) v = baton_conf_get(conf, key);
    return baton_strdup(v ? v : "");
}

static void llm_cleanup(void *state) {
    llm_worker_t *lw = state;
    if (!lw) return;
    baton_free(lw->base_url);
    baton_free(lw->model);
    baton_free(lw->provider);
    if (lw->api_key) memset(lw->api_key, 0, strlen(lw->api_key));
    baton_free(lw->api_key);
    baton_free(lw->redis_url);
    baton_free(lw->redis_user);
    if (lw->redis_password)
        memset(lw->redis_password, 0, strlen(lw->redis_password));
    baton_free(lw->redis_password);
    baton_free(lw->ns);
    baton_free(lw->anthropic_ver);
    baton_free(lw->queue);
    baton_free(lw);
}

static int llm_setup(baton_worker_t *w, const baton_conf_t *conf,
                     void **state) {
    llm_worker_t *lw = baton_calloc(1, sizeof *lw);
    if (!lw) return -1;
    lw->base_url = setting(conf, "llm.base_url", "BATON_LLM_BASE_URL");
    lw->model = setting(conf, "llm.model", "BATON_LLM_MODEL");
    lw->provider = setting(conf, "llm.provider", "BATON_LLM_PROVIDER");
    lw->redis_url = setting(conf, "redis.url", "BATON_REDIS_URL");
    if (baton_conf_get(conf, "redis.user"))
        lw->redis_user = baton_strdup(baton_conf_get(conf, "redis.user"));
    if (baton_conf_get(conf, "redis.password"))
        lw->redis_password =
            baton_strdup(baton_conf_get(conf, "redis.password"));
    lw->ns = baton_strdup(baton_conf_key_prefix(conf));
    lw->anthropic_ver = setting(conf, "llm.anthropic.version", "-");
    lw->api_key = load_api_key(conf);
    lw->max_tokens = baton_conf_get_int(conf, "llm.max_tokens");
    lw->timeout_ms = baton_conf_get_int(conf, "llm.timeout.ms");
    lw->stream = baton_conf_get_int(conf, "llm.stream") != 0;
    lw->stream_ttl_s = baton_conf_get_int(conf, "llm.stream.ttl.s");
    lw->rl.rpm = baton_conf_get_int(conf, "llm.ratelimit.rpm");
    lw->rl.tpm = baton_conf_get_int(conf, "llm.ratelimit.tpm");
    lw->rl.concurrency = baton_conf_get_int(conf, "llm.ratelimit.concurrency");
    lw->rl.window_ms = baton_conf_get_int(conf, "llm.ratelimit.window.ms");
    lw->rl.wait_max_ms = baton_conf_get_int(conf, "llm.ratelimit.wait.max.ms");
    lw->rl.lease_ms = baton_conf_get_int(conf, "llm.ratelimit.lease.ms");
    lw->rl.margin_ms = baton_conf_get_int(conf, "llm.ratelimit.margin.ms");
    lw->queue = setting(conf, "worker.queue", "-");
    *state = lw;
    if (!lw->queue) return -1;
    if (strcmp(baton_conf_get(conf, "llm.ratelimit.scope"), "queue") &&
        strcmp(baton_conf_get(conf, "llm.ratelimit.scope"), "model")) {
        fprintf(stderr, PROG ": llm.ratelimit.scope must be queue or model\n");
        return -1;
    }
    lw->rl_by_model =
        !strcmp(baton_conf_get(conf, "llm.ratelimit.scope"), "model");
    if (llm_ratelimit_on(&lw->rl) &&
        (lw->rl.window_ms < 1 || lw->rl.lease_ms < 1 ||
         lw->rl.wait_max_ms < 0 || lw->rl.margin_ms < 0)) {
        fprintf(stderr, PROG ": llm.ratelimit.window.ms and .lease.ms must be "
                             "positive, .wait.max.ms not negative\n");
        return -1;
    }
    if (!lw->base_url || !lw->model || !lw->provider || !lw->api_key ||
        !lw->redis_url || !lw->anthropic_ver || !lw->ns)
        return -1;
    if (strcmp(lw->provider, "openai") && strcmp(lw->provider, "anthropic")) {
        fprintf(stderr, PROG ": llm.provider must be openai or anthropic\n");
        return -1;
    }
    /* A trailing slash would double in <base>/chat/completions. */
    while (*lw->base_url && lw->base_url[strlen(lw->base_url) - 1] == '/')
        lw->base_url[strlen(lw->base_url) - 1] = '\0';
    if (baton_worker_register(w, "llm.chat", llm_chat, lw)) {
        fprintf(stderr, PROG ": registering llm.chat failed\n");
        return -1;
    }
    if (llm_ratelimit_on(&lw->rl))
        BATON_INFO("llm",
                   "shared rate limit (scope %s): %lld requests, %lld tokens "
                   "per %lld ms, %lld in flight (0 = none)",
                   lw->rl_by_model ? "model" : lw->queue, (long long)lw->rl.rpm,
                   (long long)lw->rl.tpm, (long long)lw->rl.window_ms,
                   (long long)lw->rl.concurrency);
    BATON_INFO("llm", "calling %s (%s, default model %s, streaming %s)",
               lw->base_url, lw->provider, *lw->model ? lw->model : "(none)",
               lw->stream ? "on" : "off");
    return 0;
}

int main(int argc, char **argv) {
    return baton_net_worker_main(argc, argv, PROG, "llm", llm_setup,
                                 llm_cleanup);
}
