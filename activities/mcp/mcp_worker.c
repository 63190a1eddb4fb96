/*
 * mcp_worker.c -- baton-worker-mcp: the tools of an MCP server as
 * activities, over the Streamable HTTP transport (mcp_session.c).
 *
 *   baton-worker-mcp [--config FILE] [--queue Q (default mcp)]
 *                    [--concurrency N]
 *
 * Server: mcp.url (or BATON_MCP_URL); time-out mcp.timeout.ms.
 *
 * Activities (docs/agents.md):
 *   mcp.list_tools  {} -> {"tools": [MCP tools], "llm_tools": [llm.chat
 *                   tools], "count"}: every page of tools/list, for a
 *                   run's state (the model sees the list)
 *   mcp.call_tool   {"name", "arguments": {...} | "JSON text", "id"?,
 *                   "errors_as_result"?} -- an llm.chat tool call fits
 *                   as it is -> a tool message {"role": "tool",
 *                   "tool_call_id": id, "name", "content": text, "mcp":
 *                   raw result}.  A result with isError is the activity
 *                   error MCP.ToolError (final), or with
 *                   "errors_as_result": true a tool message with
 *                   "is_error": true (for the model to read).
 * Errors: JSON-RPC errors MCP.RpcError (final; an unknown tool is one),
 * HTTP and transport failures classified as the HTTP worker's (retryable
 * MCP.RateLimited, MCP.ServerError, ... with the server's retry hint).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton_common.h"
#include "mcp.h"

#define PROG "baton-worker-mcp"
#define MCP_MAX_PAGES 100

static int on_tick(void *opaque) {
    baton_activity_t *act = opaque;
    if (baton_activity_cancelled(act)) return 1;
    if (baton_activity_heartbeat_seconds(act) > 0)
        baton_activity_heartbeat(act, NULL);
    return 0;
}

static void fail_with(baton_activity_t *act, const mcp_error_t *e) {
    if (!strcmp(e->name, "MCP.Aborted") && baton_activity_cancelled(act))
        return; /* the SDK answers for a cancelled activity */
    baton_activity_fail_flags(act, e->name, e->cause, e->retry_after_ms,
                              e->retryable ? 0 : BATON_FAIL_NON_RETRYABLE);
    BATON_INFO("mcp", "task %s failed: %s%s: %s", baton_activity_task_id(act),
               e->name, e->retryable ? "" : " (final)", e->cause);
}

static void complete_new(baton_activity_t *act, json_t *out) {
    char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
    if (text)
        baton_activity_complete(act, text);
    else
        baton_activity_fail(act, "MCP.OutOfMemory", "encoding the result", 0);
    free(text);
    json_decref(out);
}

static void act_list_tools(baton_activity_t *act, void *opaque) {
    mcp_client_t *c = opaque;
    json_t *all = json_array(), *page, *cursor = NULL;
    mcp_error_t e;
    for (int i = 0; i < MCP_MAX_PAGES; i++) {
        json_t *params = cursor ? json_pack("{s:O}", "cursor", cursor) : NULL;
        json_decref(cursor);
        cursor = NULL;
        if (!(page =
                  mcp_client_call(c, "tools/list", params, on_tick, act, &e))) {
            json_decref(all);
            fail_with(act, &e);
            return;
        }
        json_array_extend(all, json_object_get(page, "tools"));
        if (json_is_string(json_object_get(page, "nextCursor")))
            cursor = json_incref(json_object_get(page, "nextCursor"));
        json_decref(page);
        if (!cursor) break;
    }
    json_decref(cursor);
    complete_new(act, mcp_tools_list_result(all));
    BATON_INFO("mcp", "task %s: %zu tools listed", baton_activity_task_id(act),
               json_array_size(all));
    json_decref(all);
}

/* The span of a tool call (docs/tracing.md): OpenTelemetry's GenAI
 * execute_tool attributes; arguments and result only with
 * tracing.genai.content = 1. */
static void trace_tool(baton_activity_t *act, const char *name, const char *id,
                       const json_t *args) {
    char span[300];
    if (!baton_activity_traced(act)) return;
    snprintf(span, sizeof span, "execute_tool %s", name);
    baton_activity_span_set_name(act, span);
    baton_activity_span_set_str(act, "gen_ai.operation.name", "execute_tool");
    baton_activity_span_set_str(act, "gen_ai.tool.name", name);
    baton_activity_span_set_str(act, "gen_ai.tool.type", "extension");
    baton_activity_span_set_str(act, "gen_ai.tool.call.id", id);
    baton_activity_span_set_str(act, "mcp.method.name", "tools/call");
    if (baton_activity_trace_content(act)) {
        char *a = json_dumps(args, JSON_COMPACT);
        baton_activity_span_set_str(act, "gen_ai.tool.call.arguments", a);
        free(a);
    }
}

static void trace_result(baton_activity_t *act, const json_t *res) {
    if (baton_activity_trace_content(act) && res) {
        char *r = json_dumps(res, JSON_COMPACT);
        baton_activity_span_set_str(act, "gen_ai.tool.call.result", r);
        free(r);
    }
}

/* tools/call's params; a traced execution's span goes along as
 * _meta.traceparent (OpenTelemetry's MCP conventions), so the server's
 * spans join the run's trace.  Takes args. */
static json_t *call_params(baton_activity_t *act, const char *name,
                           json_t *args) {
    char tp[64];
    json_t *p = json_pack("{s:s,s:o}", "name", name, "arguments", args);
    if (p && baton_activity_traceparent(act, tp, sizeof tp))
        json_object_set_new(p, "_meta", json_pack("{s:s}", "traceparent", tp));
    return p;
}

static void act_call_tool(baton_activity_t *act, void *opaque) {
    mcp_client_t *c = opaque;
    json_t *in = json_loads(baton_activity_input(act), 0, NULL), *args, *res,
           *out;
    const char *name, *id;
    mcp_error_t e;
    name = json_string_value(json_object_get(in, "name"));
    if (!name) /* an OpenAI-shaped tool call */
        name = json_string_value(
            json_object_get(json_object_get(in, "function"), "name"));
    if (!json_is_object(in) || !name) {
        json_decref(in);
        baton_activity_fail_flags(act, "MCP.BadTask",
                                  "mcp.call_tool needs {\"name\", "
                                  "\"arguments\"}",
                                  0, BATON_FAIL_NON_RETRYABLE);
        return;
    }
    id = json_string_value(json_object_get(in, "id"));
    args = json_object_get(in, "arguments");
    if (!args)
        args = json_object_get(json_object_get(in, "function"), "arguments");
    args = json_is_string(args) ? json_loads(json_string_value(args), 0, NULL)
           : args               ? json_incref(args)
                                : json_object();
    if (!json_is_object(args)) {
        json_decref(args);
        json_decref(in);
        baton_activity_fail_flags(act, "MCP.BadTask",
                                  "\"arguments\" must be a JSON object (or "
                                  "its text)",
                                  0, BATON_FAIL_NON_RETRYABLE);
        return;
    }
    trace_tool(act, name, id, args);
    res = mcp_client_call(c, "tools/call", call_params(act, name, args),
                          on_tick, act, &e);
    if (!res) {
        fail_with(act, &e);
    } else if (json_is_true(json_object_get(res, "isError")) &&
               !json_is_true(json_object_get(in, "errors_as_result"))) {
        char *text = mcp_tools_text(res);
        snprintf(e.name, sizeof e.name, "MCP.ToolError");
        e.retryable = 0;
        e.retry_after_ms = 0;
        snprintf(e.cause, sizeof e.cause, "tool %s: %.400s", name,
                 text ? text : "");
        free(text);
        fail_with(act, &e);
    } else {
        trace_result(act, res);
        out = mcp_tools_call_result(res, name, id);
        if (out && json_is_true(json_object_get(res, "isError")))
            json_object_set_new(out, "is_error", json_true());
        complete_new(act, out);
        BATON_INFO("mcp", "task %s (attempt %d): tool %s done",
                   baton_activity_task_id(act),
                   (int)baton_activity_attempt(act), name);
    }
    json_decref(res);
    json_decref(in);
}

static void mcp_cleanup(void *state) {
    mcp_client_destroy(state);
}

static int mcp_setup(baton_worker_t *w, const baton_conf_t *conf,
                     void **state) {
    const char *url = getenv("BATON_MCP_URL");
    mcp_client_t *c;
    if (!url || !*url) url = baton_conf_get(conf, "mcp.url");
    if (!url || !*url) {
        fprintf(stderr, PROG ": no MCP server: set mcp.url or "
                             "BATON_MCP_URL\n");
        return -1;
    }
    if (!(c = mcp_client_new(url,
                             (long)baton_conf_get_int(conf, "mcp.timeout.ms"))))
        return -1;
    *state = c;
    if (baton_worker_register(w, "mcp.list_tools", act_list_tools, c) ||
        baton_worker_register(w, "mcp.call_tool", act_call_tool, c)) {
        fprintf(stderr, PROG ": registering the activities failed\n");
        return -1;
    }
    BATON_INFO("mcp", "tools of %s", url);
    return 0;
}

int main(int argc, char **argv) {
    return baton_net_worker_main(argc, argv, PROG, "mcp", mcp_setup,
                                 mcp_cleanup);
}
