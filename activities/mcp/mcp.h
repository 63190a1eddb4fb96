/*
 * mcp.h -- the parts of baton-worker-mcp (activities/mcp/): tools of an MCP
 * server (Model Context Protocol, Streamable HTTP transport) as activities.
 *
 *   mcp_rpc.c      JSON-RPC 2.0 messages: the requests the worker sends
 *                  (initialize, notifications/initialized, tools/list,
 *                  tools/call) and the reply found in a response body,
 *                  whether application/json or a text/event-stream
 *   mcp_tools.c    what the activities return: the tool list (MCP and
 *                  llm.chat shapes), a tool result as a tool message
 *   mcp_session.c  one session per worker (Mcp-Session-Id), created on
 *                  first use and again when the server forgot it
 *   mcp_worker.c   main() and the handlers mcp.list_tools, mcp.call_tool
 *
 * All but mcp_session.c and mcp_worker.c are pure and unit-tested
 * (tests/unit/test_mcp_rpc.c).
 */
#ifndef BATON_MCP_H
#define BATON_MCP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define MCP_PROTOCOL_VERSION "2025-06-18"

/* ---- mcp_rpc.c ---------------------------------------------------------- */

/* A request {"jsonrpc": "2.0", "id": id, "method", "params"} as compact
 * text (malloc'd; free), params stolen (may be NULL).  id < 0: a
 * notification (no id). */
char *mcp_rpc_request(int64_t id, const char *method, json_t *params);

/* The reply to request id in a response body: content_type
 * "application/json" (one message, or a batch) or "text/event-stream"
 * (SSE; every data is a message: notifications and requests of the
 * server are skipped).  Returns the "result" (new reference), or NULL
 * with *rpc_error set to the "error" object (new reference) when the
 * server answered with one, or NULL and *rpc_error NULL with a message in
 * errstr when no reply to id is in the body. */
json_t *mcp_rpc_reply(const char *content_type, const char *body, size_t len,
                      int64_t id, json_t **rpc_error, char *errstr,
                      size_t errlen);

/* ---- mcp_tools.c -------------------------------------------------------- */

/* The mcp.list_tools result from the tools of every tools/list page:
 * {"tools": [MCP tool objects], "llm_tools": [{"name", "description",
 * "parameters"}] (ready for llm.chat's "tools"), "count"}.  tools is
 * borrowed.  NULL when out of memory. */
json_t *mcp_tools_list_result(const json_t *tools);

/* The mcp.call_tool result from a tools/call result: a tool message
 * {"role": "tool", "tool_call_id", "name", "content": the text contents
 * joined by "\n" (or the structured content as JSON text), "mcp": the raw
 * result}.  call_id may be NULL.  NULL when out of memory. */
json_t *mcp_tools_call_result(const json_t *result, const char *name,
                              const char *call_id);

/* The text of a tools/call result's content (text items joined by "\n"),
 * malloc'd (free), for error causes and tool messages. */
char *mcp_tools_text(const json_t *result);

/* ---- mcp_session.c (network) ------------------------------------------- */

#include "net.h"

typedef struct mcp_error {
    char name[64]; /* "MCP.RpcError", "MCP.ServerError", ... */
    int retryable;
    int64_t retry_after_ms;
    char cause[512];
} mcp_error_t;

typedef struct mcp_client mcp_client_t;

/* A client of the server at url (copied).  NULL when out of memory. */
mcp_client_t *mcp_client_new(const char *url, long timeout_ms);
void mcp_client_destroy(mcp_client_t *c); /* NULL is a no-op */

/* Sends method with params (stolen; may be NULL) in the worker's session
 * (initialized first when there is none, and once again when the server
 * no longer knows it) and returns the result (new reference), or NULL
 * with e set: HTTP and transport failures classified as net.h says
 * (MCP.RateLimited, MCP.ServerError, ... retryable), a JSON-RPC error
 * MCP.RpcError (final), a response without the reply MCP.BadResponse
 * (retryable).  tick (may be NULL) runs while waiting; a non-zero return
 * aborts the call (e->name "MCP.Aborted").  Thread: any; the session is
 * shared by the worker's threads (a mutex guards it). */
json_t *mcp_client_call(mcp_client_t *c, const char *method, json_t *params,
                        baton_net_tick_fn tick, void *opaque, mcp_error_t *e);

#endif /* BATON_MCP_H */
