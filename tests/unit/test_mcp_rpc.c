/*
 * test_mcp_rpc.c -- baton-worker-mcp's pure parts: JSON-RPC requests and
 * the reply to one request found in a JSON or SSE response (mcp_rpc.c),
 * and the activity results (mcp_tools.c): the tool list in both shapes, a
 * tool result as a tool message.
 */
#include "baton_common.h"
#include "mcp.h"
#include "net_check.h"

static void test_requests(void) {
    char *s = mcp_rpc_request(3, "tools/list", NULL);
    json_t *j = json_loads(s, 0, NULL);
    CHECK_JSON(j,
               "{\"jsonrpc\": \"2.0\", \"id\": 3, \"method\": "
               "\"tools/list\"}",
               "request");
    json_decref(j);
    free(s);
    s = mcp_rpc_request(-1, "notifications/initialized", NULL);
    j = json_loads(s, 0, NULL);
    CHECK_JSON(j,
               "{\"jsonrpc\": \"2.0\", \"method\": "
               "\"notifications/initialized\"}",
               "a notification has no id");
    json_decref(j);
    free(s);
}

/* mcp_rpc_reply of a NUL-terminated body. */
static json_t *reply(const char *ct, const char *body, int64_t id, json_t **err,
                     char *msg, size_t len) {
    return mcp_rpc_reply(ct, body, strlen(body), id, err, msg, len);
}

static void test_replies(void) {
    json_t *err, *res;
    char msg[256];
    const char *sse =
        "event: message\nid: a\ndata: {\"jsonrpc\": \"2.0\", \"method\": "
        "\"notifications/progress\", \"params\": {\"progress\": 1}}\n\n"
        "event: message\ndata: {\"jsonrpc\": \"2.0\", \"id\": 9, \"method\": "
        "\"sampling/createMessage\"}\n\n"
        "event: message\ndata: {\"jsonrpc\": \"2.0\", \"id\": 9, \"result\": "
        "{\"ok\": true}}\n\n";
    res = mcp_rpc_reply("text/event-stream", sse, strlen(sse), 9, &err, msg,
                        sizeof msg);
    CHECK_JSON(res, "{\"ok\": true}",
               "the reply after a notification and a server request");
    json_decref(res);
    res = reply("application/json; charset=utf-8",
                "{\"jsonrpc\": \"2.0\", \"id\": 2, \"error\": "
                "{\"code\": -32601, \"message\": \"no\"}}",
                2, &err, msg, sizeof msg);
    CHECK(res == NULL, "an error reply");
    CHECK_JSON(err, "{\"code\": -32601, \"message\": \"no\"}", "the error");
    json_decref(err);
    res = reply("application/json",
                "[{\"jsonrpc\": \"2.0\", \"id\": 1, \"result\": 1}, "
                "{\"jsonrpc\": \"2.0\", \"id\": 2, \"result\": 2}]",
                2, &err, msg, sizeof msg);
    CHECK_JSON(res, "2", "the reply in a batch");
    json_decref(res);
    res = reply("application/json",
                "{\"jsonrpc\": \"2.0\", \"id\": 5, \"result\": {}}", 6, &err,
                msg, sizeof msg);
    CHECK(res == NULL && err == NULL, "no reply to our id");
    CHECK_STR(msg, "no reply to request 6 in the response", "message");
    res = reply("application/json", "<html>", 1, &err, msg, sizeof msg);
    CHECK(res == NULL && err == NULL, "not JSON");
    CHECK_STR(msg, "the response (application/json, 6 bytes) is not JSON",
              "message");
}

static void test_results(void) {
    json_t *tools = json_loads(
        "[{\"name\": \"echo\", \"description\": \"Echoes\", \"inputSchema\": "
        "{\"type\": \"object\", \"properties\": {\"message\": {\"type\": "
        "\"string\"}}}}, {\"name\": \"bare\"}]",
        0, NULL);
    json_t *r = mcp_tools_list_result(tools), *call, *msg;
    CHECK_JSON(json_object_get(r, "llm_tools"),
               "[{\"name\": \"echo\", \"description\": \"Echoes\", "
               "\"parameters\": {\"type\": \"object\", \"properties\": "
               "{\"message\": {\"type\": \"string\"}}}}, {\"name\": \"bare\", "
               "\"parameters\": {\"type\": \"object\"}}]",
               "the llm.chat shape");
    CHECK(json_integer_value(json_object_get(r, "count")) == 2, "count");
    json_decref(r);
    json_decref(tools);
    call = json_loads("{\"content\": [{\"type\": \"text\", \"text\": \"a\"}, "
                      "{\"type\": \"image\", \"data\": \"x\"}, {\"type\": "
                      "\"text\", \"text\": \"b\"}]}",
                      0, NULL);
    msg = mcp_tools_call_result(call, "echo", "c1");
    CHECK_JSON(msg,
               "{\"role\": \"tool\", \"tool_call_id\": \"c1\", \"name\": "
               "\"echo\", \"content\": \"a\\nb\", \"mcp\": {\"content\": "
               "[{\"type\": \"text\", \"text\": \"a\"}, {\"type\": "
               "\"image\", \"data\": \"x\"}, {\"type\": \"text\", \"text\": "
               "\"b\"}]}}",
               "a tool message");
    json_decref(msg);
    json_decref(call);
    call = json_loads("{\"content\": [], \"structuredContent\": {\"v\": 1}}", 0,
                      NULL);
    msg = mcp_tools_call_result(call, "s", NULL);
    CHECK_STR(json_string_value(json_object_get(msg, "content")), "{\"v\":1}",
              "structured content as the text");
    CHECK(!json_object_get(msg, "tool_call_id"), "no id");
    json_decref(msg);
    json_decref(call);
}

int main(void) {
    baton_log_configure("error", "");
    test_requests();
    test_replies();
    test_results();
    return check_report();
}
