/*
 * llm_task.c -- the llm.chat task format (docs/agents.md "baton-worker-llm")
 * parsed and normalised, so that each provider file translates one shape:
 *
 *   {"messages": [...], "tools": [...], "tool_choice": ..., "temperature":
 *    0.2, "max_tokens": 512, "response_format": {...}, "model": "...",
 *    "provider": "openai" | "anthropic", "stream": true}
 *
 * Messages are OpenAI-style ({"role": system|user|assistant|tool,
 * "content", "tool_calls", "tool_call_id"}); an assistant message this
 * worker returned can be appended as it is (extra fields such as usage are
 * ignored).  Tool calls may be this worker's shape ({"id", "name",
 * "arguments": any JSON}) or OpenAI's ({"id", "function": {"name",
 * "arguments": "JSON text"}}); tools may be {"name", "description",
 * "parameters"} or OpenAI's {"type": "function", "function": {...}}.  A
 * task never carries an API key or a base URL: those are the worker's
 * (config and environment).  Pure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "baton_common.h"
#include "llm.h"

__attribute__((format(printf, 3, 4))) static int
task_err(char *errstr, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* {"id", "name", "arguments"} from either tool-call shape; NULL when it
 * has no name.  Arguments given as text are parsed when they are JSON and
 * kept as text otherwise (the provider receives them as they were). */
static json_t *norm_call(const json_t *c) {
    const json_t *fn = json_object_get(c, "function");
    const char *name = json_string_value(json_object_get(c, "name"));
    json_t *args = json_object_get(c, "arguments");
    if (!name && fn) name = json_string_value(json_object_get(fn, "name"));
    if (!args && fn) args = json_object_get(fn, "arguments");
    if (!name) return NULL;
    if (json_is_string(args)) {
        json_t *p = json_loads(json_string_value(args), JSON_DECODE_ANY, NULL);
        args = p ? p : json_incref(args);
    } else {
        args = args ? json_incref(args) : json_object();
    }
    return json_pack("{s:s?,s:s,s:o}", "id",
                     json_string_value(json_object_get(c, "id")), "name", name,
                     "arguments", args);
}

static json_t *norm_message(const json_t *m, size_t i, char *errstr,
                            size_t errlen) {
    const char *role = json_string_value(json_object_get(m, "role"));
    json_t *content = json_object_get(m, "content"), *out, *calls, *c;
    size_t k;
    if (!role || (strcmp(role, "system") && strcmp(role, "user") &&
                  strcmp(role, "assistant") && strcmp(role, "tool") &&
                  strcmp(role, "developer"))) {
        task_err(errstr, errlen,
                 "messages[%zu]: \"role\" must be system, user, assistant "
                 "or tool",
                 i);
        return NULL;
    }
    out = json_pack("{s:s,s:O}", "role", role, "content",
                    content ? content : json_null());
    if (!out) return NULL;
    if (!strcmp(role, "tool")) {
        const char *id = json_string_value(json_object_get(m, "tool_call_id"));
        if (!id) {
            json_decref(out);
            task_err(errstr, errlen,
                     "messages[%zu]: a tool message needs \"tool_call_id\"", i);
            return NULL;
        }
        json_object_set_new(out, "tool_call_id", json_string(id));
    }
    calls = json_array();
    json_array_foreach(json_object_get(m, "tool_calls"), k, c) {
        json_t *n = norm_call(c);
        if (!n) {
            json_decref(calls);
            json_decref(out);
            task_err(errstr, errlen,
                     "messages[%zu].tool_calls[%zu]: no function name", i, k);
            return NULL;
        }
        json_array_append_new(calls, n);
    }
    json_object_set_new(out, "tool_calls", calls);
    return out;
}

static json_t *norm_tools(const json_t *tools, char *errstr, size_t errlen) {
    json_t *out = json_array(), *t;
    size_t i;
    json_array_foreach(tools, i, t) {
        const json_t *fn = json_object_get(t, "function");
        const json_t *src = fn ? fn : t;
        const char *name = json_string_value(json_object_get(src, "name"));
        json_t *params = json_object_get(src, "parameters");
        if (!name) {
            json_decref(out);
            task_err(errstr, errlen, "tools[%zu]: no \"name\"", i);
            return NULL;
        }
        json_array_append_new(
            out,
            json_pack("{s:s,s:s*,s:o}", "name", name, "description",
                      json_string_value(json_object_get(src, "description")),
                      "parameters",
                      params ? json_incref(params)
                             : json_pack("{s:s,s:{}}", "type", "object",
                                         "properties")));
    }
    return out;
}

int llm_task_parse(const char *input, const llm_defaults_t *d, llm_task_t *t,
                   char *errstr, size_t errlen) {
    json_error_t jerr;
    json_t *in = json_loads(input, 0, &jerr), *msgs, *m, *v;
    const char *s;
    size_t i;

    memset(t, 0, sizeof *t);
    if (!json_is_object(in)) {
        json_decref(in);
        return task_err(errstr, errlen, "the task must be a JSON object");
    }
    if (json_object_get(in, "api_key") || json_object_get(in, "base_url")) {
        json_decref(in);
        return task_err(errstr, errlen,
                        "a task may not carry \"api_key\" or \"base_url\": "
                        "they are the worker's settings (llm.*)");
    }
    s = json_string_value(json_object_get(in, "provider"));
    if (!s) s = d->provider ? d->provider : "openai";
    if (!strcmp(s, "openai"))
        t->provider = LLM_OPENAI;
    else if (!strcmp(s, "anthropic"))
        t->provider = LLM_ANTHROPIC;
    else
        goto bad_provider;
    s = json_string_value(json_object_get(in, "model"));
    if (!s) s = d->model;
    if (!s || !*s) {
        json_decref(in);
        return task_err(errstr, errlen,
                        "no model: set \"model\" in the task or llm.model");
    }
    snprintf(t->model, sizeof t->model, "%s", s);
    msgs = json_object_get(in, "messages");
    if (!json_is_array(msgs) || !json_array_size(msgs)) {
        json_decref(in);
        return task_err(errstr, errlen,
                        "\"messages\" must be a non-empty array");
    }
    t->messages = json_array();
    json_array_foreach(msgs, i, m) {
        json_t *n = norm_message(m, i, errstr, errlen);
        if (!n) goto fail;
        json_array_append_new(t->messages, n);
    }
    if ((v = json_object_get(in, "tools")) && !json_is_null(v)) {
        if (!json_is_array(v)) {
            task_err(errstr, errlen, "\"tools\" must be an array");
            goto fail;
        }
        if (!(t->tools = norm_tools(v, errstr, errlen))) goto fail;
    }
    if ((v = json_object_get(in, "tool_choice")) && !json_is_null(v)) {
        s = json_string_value(v);
        if (s ? strcmp(s, "auto") && strcmp(s, "none") && strcmp(s, "required")
              : !json_string_value(json_object_get(v, "name")) &&
                    !json_string_value(json_object_get(
                        json_object_get(v, "function"), "name"))) {
            task_err(errstr, errlen,
                     "\"tool_choice\" must be \"auto\", \"none\", "
                     "\"required\" or {\"name\": TOOL}");
            goto fail;
        }
        if (s)
            t->tool_choice = json_incref(v);
        else {
            const char *n = json_string_value(json_object_get(v, "name"));
            if (!n)
                n = json_string_value(
                    json_object_get(json_object_get(v, "function"), "name"));
            t->tool_choice = json_pack("{s:s}", "name", n);
        }
    }
    if ((v = json_object_get(in, "response_format")) && !json_is_null(v)) {
        if (!json_is_object(v) ||
            !json_string_value(json_object_get(v, "type"))) {
            task_err(errstr, errlen,
                     "\"response_format\" must be {\"type\": \"text\" | "
                     "\"json_object\" | \"json_schema\", ...}");
            goto fail;
        }
        t->response_format = json_incref(v);
    }
    if ((v = json_object_get(in, "temperature")) && !json_is_null(v)) {
        if (!json_is_number(v)) {
            task_err(errstr, errlen, "\"temperature\" must be a number");
            goto fail;
        }
        t->temperature = json_number_value(v);
        t->has_temperature = 1;
    }
    t->max_tokens = d->max_tokens;
    if ((v = json_object_get(in, "max_tokens")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1) {
            task_err(errstr, errlen,
                     "\"max_tokens\" must be a positive integer");
            goto fail;
        }
        t->max_tokens = json_integer_value(v);
    }
    /* batond's: the tokens left in the run's budget (docs/agents.md) */
    if ((v = json_object_get(in, "max_tokens_cap")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1) {
            task_err(errstr, errlen,
                     "\"max_tokens_cap\" must be a positive integer");
            goto fail;
        }
        if (!t->max_tokens || t->max_tokens > json_integer_value(v))
            t->max_tokens = json_integer_value(v);
    }
    t->stream = d->stream;
    if ((v = json_object_get(in, "stream")) && !json_is_null(v))
        t->stream = json_is_true(v);
    json_decref(in);
    return 0;

bad_provider:
    task_err(errstr, errlen,
             "\"provider\" must be \"openai\" or \"anthropic\", not \"%s\"", s);
fail:
    json_decref(in);
    llm_task_clear(t);
    return -1;
}

void llm_task_clear(llm_task_t *t) {
    json_decref(t->messages);
    json_decref(t->tools);
    json_decref(t->tool_choice);
    json_decref(t->response_format);
    memset(t, 0, sizeof *t);
}
