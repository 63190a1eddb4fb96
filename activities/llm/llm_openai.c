/*
 * llm_openai.c -- the OpenAI-compatible chat completions API (POST
 * <base_url>/chat/completions: OpenAI, vLLM, Ollama, llama.cpp's server,
 * LiteLLM): the request body from a normalised task, the reply, and the
 * stream chunks ("data: {chunk}" ... "data: [DONE]", tool-call arguments
 * arriving in pieces keyed by their index).  Pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton_common.h"
#include "llm.h"

/* A message in the wire shape: tool-call arguments as JSON text, tool
 * results and non-text content as text. */
static json_t *wire_message(const json_t *m) {
    const char *role = json_string_value(json_object_get(m, "role"));
    json_t *content = json_object_get(m, "content"), *out, *c;
    json_t *calls = json_object_get(m, "tool_calls");
    size_t i;
    if (!strcmp(role, "tool") && content && !json_is_string(content)) {
        char *t = json_dumps(content, JSON_COMPACT | JSON_ENCODE_ANY);
        out = json_pack("{s:s,s:s?}", "role", role, "content", t);
        free(t);
    } else {
        out = json_pack("{s:s,s:O}", "role", role, "content", content);
    }
    if (!out) return NULL;
    if (json_object_get(m, "tool_call_id"))
        json_object_set(out, "tool_call_id",
                        json_object_get(m, "tool_call_id"));
    if (json_array_size(calls)) {
        json_t *wc = json_array();
        json_array_foreach(calls, i, c) {
            json_t *a = json_object_get(c, "arguments");
            char *t = json_is_string(a)
                          ? strdup(json_string_value(a))
                          : json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
            json_array_append_new(
                wc, json_pack("{s:s?,s:s,s:{s:s,s:s}}", "id",
                              json_string_value(json_object_get(c, "id")),
                              "type", "function", "function", "name",
                              json_string_value(json_object_get(c, "name")),
                              "arguments", t ? t : "{}"));
            free(t);
        }
        json_object_set_new(out, "tool_calls", wc);
    }
    return out;
}

json_t *llm_openai_body(const llm_task_t *t) {
    json_t *body = json_pack("{s:s,s:[]}", "model", t->model, "messages"),
           *msgs = json_object_get(body, "messages"), *m, *tool;
    size_t i;
    if (!body) return NULL;
    json_array_foreach(t->messages, i, m)
        json_array_append_new(msgs, wire_message(m));
    if (t->tools && json_array_size(t->tools)) {
        json_t *tools = json_array();
        json_array_foreach(t->tools, i, tool) json_array_append_new(
            tools,
            json_pack("{s:s,s:O}", "type", "function", "function", tool));
        json_object_set_new(body, "tools", tools);
    }
    if (t->tool_choice) {
        if (json_is_string(t->tool_choice))
            json_object_set(body, "tool_choice", t->tool_choice);
        else
            json_object_set_new(
                body, "tool_choice",
                json_pack("{s:s,s:{s:O}}", "type", "function", "function",
                          "name", json_object_get(t->tool_choice, "name")));
    }
    if (t->response_format)
        json_object_set(body, "response_format", t->response_format);
    if (t->has_temperature)
        json_object_set_new(body, "temperature", json_real(t->temperature));
    if (t->max_tokens > 0)
        json_object_set_new(body, "max_tokens", json_integer(t->max_tokens));
    if (t->stream) {
        json_object_set_new(body, "stream", json_true());
        json_object_set_new(body, "stream_options",
                            json_pack("{s:b}", "include_usage", 1));
    }
    return body;
}

static void take_usage(const json_t *u, llm_reply_t *r) {
    if (!json_is_object(u)) return;
    r->input_tokens = json_integer_value(json_object_get(u, "prompt_tokens"));
    r->output_tokens =
        json_integer_value(json_object_get(u, "completion_tokens"));
    r->cached_tokens = json_integer_value(json_object_get(
        json_object_get(u, "prompt_tokens_details"), "cached_tokens"));
    r->reasoning_tokens = json_integer_value(json_object_get(
        json_object_get(u, "completion_tokens_details"), "reasoning_tokens"));
}

static void take_model(const json_t *doc, llm_reply_t *r) {
    const char *m = json_string_value(json_object_get(doc, "model"));
    if (m) snprintf(r->model, sizeof r->model, "%s", m);
}

static void take_finish(const json_t *choice, llm_reply_t *r) {
    const char *f = json_string_value(json_object_get(choice, "finish_reason"));
    if (f) snprintf(r->finish, sizeof r->finish, "%s", f);
}

int llm_openai_parse(const char *body, size_t len, llm_reply_t *r,
                     llm_error_t *e) {
    json_t *doc = json_loadb(body, len, 0, NULL), *choice, *msg, *c;
    const char *text;
    size_t i;
    if (!json_is_object(doc)) {
        llm_error_set(e, "LLM.MalformedResponse", 1,
                      "the reply is not JSON (%zu bytes)", len);
        json_decref(doc);
        return -1;
    }
    if (json_is_object(json_object_get(doc, "error"))) {
        llm_error_from_body_error(json_object_get(doc, "error"), e);
        json_decref(doc);
        return -1;
    }
    choice = json_array_get(json_object_get(doc, "choices"), 0);
    msg = json_object_get(choice, "message");
    if (!json_is_object(msg)) {
        llm_error_set(e, "LLM.MalformedResponse", 1,
                      "the reply has no choices[0].message");
        json_decref(doc);
        return -1;
    }
    take_model(doc, r);
    take_finish(choice, r);
    take_usage(json_object_get(doc, "usage"), r);
    if ((text = json_string_value(json_object_get(msg, "content"))))
        llm_reply_add_text(r, text, strlen(text));
    json_array_foreach(json_object_get(msg, "tool_calls"), i, c) {
        json_t *fn = json_object_get(c, "function");
        const char *a = json_string_value(json_object_get(fn, "arguments"));
        llm_call_t *call = llm_reply_call(r, i);
        if (!call ||
            llm_reply_call_set(
                call, json_string_value(json_object_get(c, "id")),
                json_string_value(json_object_get(fn, "name"))) ||
            (a && llm_reply_call_args(call, a, strlen(a)))) {
            llm_error_set(e, "LLM.OutOfMemory", 1, "reading tool calls");
            json_decref(doc);
            return -1;
        }
    }
    json_decref(doc);
    return 0;
}

int llm_openai_stream_event(const char *event, const char *data, llm_reply_t *r,
                            llm_error_t *e) {
    json_t *doc, *choice, *delta, *c;
    const char *text;
    size_t i;
    (void)event;
    if (!strcmp(data, "[DONE]")) return 1;
    if (!(doc = json_loads(data, 0, NULL)) || !json_is_object(doc)) {
        json_decref(doc);
        llm_error_set(e, "LLM.MalformedResponse", 1,
                      "a stream chunk is not JSON: %.100s", data);
        return -1;
    }
    if (json_is_object(json_object_get(doc, "error"))) {
        llm_error_from_body_error(json_object_get(doc, "error"), e);
        json_decref(doc);
        return -1;
    }
    take_model(doc, r);
    if (json_is_object(json_object_get(doc, "usage")))
        take_usage(json_object_get(doc, "usage"), r);
    choice = json_array_get(json_object_get(doc, "choices"), 0);
    take_finish(choice, r);
    delta = json_object_get(choice, "delta");
    if ((text = json_string_value(json_object_get(delta, "content"))))
        llm_reply_add_text(r, text, strlen(text));
    json_array_foreach(json_object_get(delta, "tool_calls"), i, c) {
        json_t *fn = json_object_get(c, "function"),
               *idx = json_object_get(c, "index");
        const char *a = json_string_value(json_object_get(fn, "arguments"));
        llm_call_t *call = llm_reply_call(
            r, json_is_integer(idx) ? (size_t)json_integer_value(idx) : i);
        if (!call ||
            llm_reply_call_set(
                call, json_string_value(json_object_get(c, "id")),
                json_string_value(json_object_get(fn, "name"))) ||
            (a && llm_reply_call_args(call, a, strlen(a)))) {
            llm_error_set(e, "LLM.MalformedResponse", 1,
                          "a stream chunk has a bad tool-call index");
            json_decref(doc);
            return -1;
        }
    }
    json_decref(doc);
    return 0;
}
