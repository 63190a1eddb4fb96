/*
 * llm_reply.c -- the assistant reply being assembled, whole or from stream
 * pieces, by either provider (text, tool calls with their argument text,
 * finish reason, token usage), and the activity result made from it once
 * complete: the one place where tool-call arguments are parsed, so that an
 * invalid argument text becomes a clear final activity error.  Pure.
 */
#include <string.h>

#include "baton_common.h"
#include "llm.h"

void llm_reply_init(llm_reply_t *r) {
    memset(r, 0, sizeof *r);
}

void llm_reply_clear(llm_reply_t *r) {
    for (size_t i = 0; i < r->ncalls; i++) {
        baton_free(r->calls[i].id);
        baton_free(r->calls[i].name);
        baton_free(r->calls[i].args);
    }
    baton_free(r->calls);
    baton_free(r->text);
    llm_reply_init(r);
}

/* Appends n bytes to *buf (len, cap), keeping a NUL after them. */
static int grow_add(char **buf, size_t *len, size_t *cap, const char *s,
                    size_t n) {
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 128;
        char *p;
        while (c < *len + n + 1) c *= 2;
        if (!(p = baton_realloc(*buf, c))) return -1;
        *buf = p;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

int llm_reply_add_text(llm_reply_t *r, const char *s, size_t n) {
    if (!n) return 0;
    if (grow_add(&r->text, &r->text_len, &r->text_cap, s, n)) return -1;
    if (r->on_text) r->on_text(s, n, r->opaque);
    return 0;
}

llm_call_t *llm_reply_call(llm_reply_t *r, size_t i) {
    if (i > 1024) return NULL; /* a bound on what a reply may claim */
    if (i >= r->ncalls) {
        llm_call_t *p = baton_realloc(r->calls, (i + 1) * sizeof *p);
        if (!p) return NULL;
        memset(p + r->ncalls, 0, (i + 1 - r->ncalls) * sizeof *p);
        for (size_t k = r->ncalls; k <= i; k++) p[k].block = -1;
        r->calls = p;
        r->ncalls = i + 1;
    }
    return &r->calls[i];
}

static int set_str(char **dst, const char *s) {
    char *p;
    if (!s) return 0;
    if (!(p = baton_strdup(s))) return -1;
    baton_free(*dst);
    *dst = p;
    return 0;
}

int llm_reply_call_set(llm_call_t *c, const char *id, const char *name) {
    return set_str(&c->id, id) || set_str(&c->name, name) ? -1 : 0;
}

int llm_reply_call_args(llm_call_t *c, const char *s, size_t n) {
    return grow_add(&c->args, &c->args_len, &c->args_cap, s, n);
}

json_t *llm_reply_result(const llm_reply_t *r, const char *provider,
                         llm_error_t *e) {
    json_t *calls = json_array(), *out;
    if (!strcmp(r->finish, "content_filter")) {
        llm_error_set(e, "LLM.ContentFilter", 0,
                      "the provider stopped the reply (content filter) "
                      "after %zu characters",
                      r->text_len);
        json_decref(calls);
        return NULL;
    }
    for (size_t i = 0; i < r->ncalls; i++) {
        const llm_call_t *c = &r->calls[i];
        json_error_t jerr;
        json_t *args;
        size_t k = 0;
        while (k < c->args_len && (c->args[k] == ' ' || c->args[k] == '\n'))
            k++;
        args = k == c->args_len ? json_object()
                                : json_loads(c->args, JSON_DECODE_ANY, &jerr);
        if (!args) {
            llm_error_set(e, "LLM.BadToolArguments", 0,
                          "tool call %zu (%s, id %s): the arguments are not "
                          "JSON (%s at position %d): %.200s",
                          i + 1, c->name ? c->name : "?", c->id ? c->id : "?",
                          jerr.text, jerr.position, c->args);
            json_decref(calls);
            return NULL;
        }
        if (!c->name || !*c->name) {
            llm_error_set(e, "LLM.BadToolArguments", 0,
                          "tool call %zu has no function name", i + 1);
            json_decref(args);
            json_decref(calls);
            return NULL;
        }
        json_array_append_new(
            calls, json_pack("{s:s?,s:s,s:s,s:o}", "id", c->id, "type",
                             "function", "name", c->name, "arguments", args));
    }
    out = json_pack(
        "{s:s,s:o,s:o,s:s,s:{s:I,s:I,s:I,s:I},s:s,s:s}", "role", "assistant",
        "content", r->text ? json_stringn(r->text, r->text_len) : json_null(),
        "tool_calls", calls, "finish_reason",
        r->finish[0] ? r->finish : (r->ncalls ? "tool_calls" : "stop"), "usage",
        "input_tokens", (json_int_t)r->input_tokens, "output_tokens",
        (json_int_t)r->output_tokens, "cached_tokens",
        (json_int_t)r->cached_tokens, "reasoning_tokens",
        (json_int_t)r->reasoning_tokens, "model", r->model, "provider",
        provider);
    if (!out) llm_error_set(e, "LLM.OutOfMemory", 1, "building the result");
    return out;
}
