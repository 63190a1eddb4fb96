/*
 * llm_anthropic.c -- Anthropic's Messages API (POST <base_url>/messages,
 * x-api-key and anthropic-version headers): the request body from a
 * normalised task (system messages lifted into "system", tool calls as
 * tool_use blocks, tool results as tool_result blocks in user turns,
 * consecutive turns of one role merged), the reply's content blocks, and
 * the stream events (message_start, content_block_start/delta/stop,
 * message_delta, message_stop, error).  Stop reasons are mapped to
 * OpenAI's finish reasons so a workflow sees one vocabulary.  Pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton_common.h"
#include "llm.h"

static const char *finish_of(const char *stop) {
    if (!strcmp(stop, "tool_use")) return "tool_calls";
    if (!strcmp(stop, "max_tokens")) return "length";
    if (!strcmp(stop, "refusal")) return "content_filter";
    return "stop"; /* end_turn, stop_sequence, pause_turn */
}

/* content as a list of blocks. */
static json_t *blocks_of(const json_t *content) {
    if (json_is_array(content)) return json_deep_copy(content);
    if (json_is_string(content) && json_string_length(content))
        return json_pack("[{s:s,s:O}]", "type", "text", "text", content);
    return json_array();
}

/* Appends blocks to the last turn when it has role, else a new turn. */
static void add_turn(json_t *msgs, const char *role, json_t *blocks) {
    json_t *last = json_array_get(msgs, json_array_size(msgs) - 1);
    if (last && !strcmp(json_string_value(json_object_get(last, "role")), role))
        json_array_extend(json_object_get(last, "content"), blocks);
    else
        json_array_append_new(
            msgs, json_pack("{s:s,s:O}", "role", role, "content", blocks));
    json_decref(blocks);
}

json_t *llm_anthropic_body(const llm_task_t *t) {
    json_t *body =
               json_pack("{s:s,s:I,s:[]}", "model", t->model, "max_tokens",
                         (json_int_t)(t->max_tokens > 0 ? t->max_tokens : 1024),
                         "messages"),
           *msgs = json_object_get(body, "messages"), *m, *c, *tool;
    char *system = NULL;
    size_t i, k, slen = 0;
    if (!body) return NULL;
    json_array_foreach(t->messages, i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        json_t *content = json_object_get(m, "content");
        if (!strcmp(role, "system") || !strcmp(role, "developer")) {
            const char *s = json_string_value(content);
            size_t n = s ? strlen(s) : 0;
            char *p = n ? baton_realloc(system, slen + n + 3) : NULL;
            if (!p) continue;
            system = p;
            if (slen) memcpy(system + slen, "\n\n", 2), slen += 2;
            memcpy(system + slen, s, n + 1);
            slen += n;
        } else if (!strcmp(role, "tool")) {
            char *text =
                json_is_string(content)
                    ? strdup(json_string_value(content))
                    : json_dumps(content, JSON_COMPACT | JSON_ENCODE_ANY);
            add_turn(msgs, "user",
                     json_pack("[{s:s,s:O,s:s}]", "type", "tool_result",
                               "tool_use_id",
                               json_object_get(m, "tool_call_id"), "content",
                               text ? text : ""));
            free(text);
        } else if (!strcmp(role, "assistant")) {
            json_t *blocks = blocks_of(content);
            json_array_foreach(json_object_get(m, "tool_calls"), k, c) {
                json_t *a = json_object_get(c, "arguments");
                json_array_append_new(
                    blocks, json_pack("{s:s,s:O,s:O,s:o}", "type", "tool_use",
                                      "id", json_object_get(c, "id"), "name",
                                      json_object_get(c, "name"), "input",
                                      json_is_object(a) ? json_incref(a)
                                                        : json_object()));
            }
            add_turn(msgs, "assistant", blocks);
        } else {
            add_turn(msgs, "user", blocks_of(content));
        }
    }
    if (t->response_format &&
        !strcmp(json_string_value(json_object_get(t->response_format, "type")),
                "json_schema")) {
        /* No response_format in the Messages API: ask for it in words. */
        char *schema = json_dumps(
            json_object_get(json_object_get(t->response_format, "json_schema"),
                            "schema"),
            JSON_COMPACT);
        char extra[] = "Reply with a single JSON document and nothing else, "
                       "valid against this JSON schema: ";
        size_t n = strlen(extra) + (schema ? strlen(schema) : 2);
        char *p = baton_realloc(system, slen + n + 3);
        if (p) {
            system = p;
            snprintf(system + slen, n + 3, "%s%s%s", slen ? "\n\n" : "", extra,
                     schema ? schema : "{}");
            slen = strlen(system);
        }
        free(schema);
    }
    if (system) json_object_set_new(body, "system", json_string(system));
    baton_free(system);
    if (t->tools && json_array_size(t->tools)) {
        json_t *tools = json_array();
        json_array_foreach(t->tools, i, tool) json_array_append_new(
            tools,
            json_pack("{s:O,s:O*,s:O}", "name", json_object_get(tool, "name"),
                      "description", json_object_get(tool, "description"),
                      "input_schema", json_object_get(tool, "parameters")));
        json_object_set_new(body, "tools", tools);
    }
    if (t->tool_choice) {
        const char *s = json_string_value(t->tool_choice);
        json_object_set_new(
            body, "tool_choice",
            !s ? json_pack("{s:s,s:O}", "type", "tool", "name",
                           json_object_get(t->tool_choice, "name"))
               : json_pack("{s:s}", "type",
                           !strcmp(s, "required") ? "any" : s));
    }
    if (t->has_temperature)
        json_object_set_new(body, "temperature", json_real(t->temperature));
    if (t->stream) json_object_set_new(body, "stream", json_true());
    return body;
}

static void take_usage(const json_t *u, llm_reply_t *r) {
    json_t *v;
    if (!json_is_object(u)) return;
    if ((v = json_object_get(u, "input_tokens")))
        r->input_tokens = json_integer_value(v);
    if ((v = json_object_get(u, "output_tokens")))
        r->output_tokens = json_integer_value(v);
    if ((v = json_object_get(u, "cache_read_input_tokens")))
        r->cached_tokens = json_integer_value(v);
}

static void take_stop(const json_t *obj, llm_reply_t *r) {
    const char *s = json_string_value(json_object_get(obj, "stop_reason"));
    if (s) snprintf(r->finish, sizeof r->finish, "%s", finish_of(s));
}

/* A tool_use block starting: a new call remembering its block index. */
static int start_tool(llm_reply_t *r, const json_t *blk, long index) {
    llm_call_t *c = llm_reply_call(r, r->ncalls);
    if (!c) return -1;
    c->block = index;
    return llm_reply_call_set(c, json_string_value(json_object_get(blk, "id")),
                              json_string_value(json_object_get(blk, "name")));
}

int llm_anthropic_parse(const char *body, size_t len, llm_reply_t *r,
                        llm_error_t *e) {
    json_t *doc = json_loadb(body, len, 0, NULL), *blk, *content;
    const char *m;
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
    content = json_object_get(doc, "content");
    if (!json_is_array(content)) {
        llm_error_set(e, "LLM.MalformedResponse", 1,
                      "the reply has no content blocks");
        json_decref(doc);
        return -1;
    }
    if ((m = json_string_value(json_object_get(doc, "model"))))
        snprintf(r->model, sizeof r->model, "%s", m);
    take_stop(doc, r);
    take_usage(json_object_get(doc, "usage"), r);
    json_array_foreach(content, i, blk) {
        const char *type = json_string_value(json_object_get(blk, "type"));
        if (!type) continue;
        if (!strcmp(type, "text")) {
            const char *t = json_string_value(json_object_get(blk, "text"));
            if (t) llm_reply_add_text(r, t, strlen(t));
        } else if (!strcmp(type, "tool_use")) {
            char *a = json_dumps(json_object_get(blk, "input"),
                                 JSON_COMPACT | JSON_ENCODE_ANY);
            if (start_tool(r, blk, (long)i) ||
                llm_reply_call_args(&r->calls[r->ncalls - 1], a ? a : "{}",
                                    a ? strlen(a) : 2)) {
                free(a);
                llm_error_set(e, "LLM.OutOfMemory", 1, "reading tool calls");
                json_decref(doc);
                return -1;
            }
            free(a);
        }
    }
    json_decref(doc);
    return 0;
}

static llm_call_t *call_of_block(llm_reply_t *r, long index) {
    for (size_t i = 0; i < r->ncalls; i++)
        if (r->calls[i].block == index) return &r->calls[i];
    return NULL;
}

int llm_anthropic_stream_event(const char *event, const char *data,
                               llm_reply_t *r, llm_error_t *e) {
    json_t *doc = json_loads(data, 0, NULL), *d;
    const char *type;
    long index;
    int rc = 0;
    if (!json_is_object(doc)) {
        json_decref(doc);
        llm_error_set(e, "LLM.MalformedResponse", 1,
                      "a stream event (%s) is not JSON: %.100s", event, data);
        return -1;
    }
    type = json_string_value(json_object_get(doc, "type"));
    if (!type) type = event;
    index = (long)json_integer_value(json_object_get(doc, "index"));
    d = json_object_get(doc, "delta");
    if (!strcmp(type, "error")) {
        llm_error_from_body_error(json_object_get(doc, "error"), e);
        rc = -1;
    } else if (!strcmp(type, "message_start")) {
        json_t *msg = json_object_get(doc, "message");
        const char *m = json_string_value(json_object_get(msg, "model"));
        if (m) snprintf(r->model, sizeof r->model, "%s", m);
        take_usage(json_object_get(msg, "usage"), r);
    } else if (!strcmp(type, "content_block_start")) {
        json_t *blk = json_object_get(doc, "content_block");
        const char *bt = json_string_value(json_object_get(blk, "type"));
        if (bt && !strcmp(bt, "tool_use") && start_tool(r, blk, index))
            rc = -1;
        else if (bt && !strcmp(bt, "text")) {
            const char *t = json_string_value(json_object_get(blk, "text"));
            if (t) llm_reply_add_text(r, t, strlen(t));
        }
    } else if (!strcmp(type, "content_block_delta")) {
        const char *dt = json_string_value(json_object_get(d, "type"));
        if (dt && !strcmp(dt, "text_delta")) {
            const char *t = json_string_value(json_object_get(d, "text"));
            if (t) llm_reply_add_text(r, t, strlen(t));
        } else if (dt && !strcmp(dt, "input_json_delta")) {
            const char *p =
                json_string_value(json_object_get(d, "partial_json"));
            llm_call_t *c = call_of_block(r, index);
            if (!c) {
                llm_error_set(e, "LLM.MalformedResponse", 1,
                              "input_json_delta for block %ld, which is no "
                              "tool_use block",
                              index);
                rc = -1;
            } else if (p && llm_reply_call_args(c, p, strlen(p))) {
                rc = -1;
            }
        }
    } else if (!strcmp(type, "message_delta")) {
        take_stop(d, r);
        take_usage(json_object_get(doc, "usage"), r);
    } else if (!strcmp(type, "message_stop")) {
        rc = 1;
    }
    if (rc < 0 && !e->name[0])
        llm_error_set(e, "LLM.OutOfMemory", 1, "reading the stream");
    json_decref(doc);
    return rc;
}
