/*
 * mcp_tools.c -- the results of the MCP worker's activities, shaped for a
 * run's state: the tool list both as the server gave it and as llm.chat
 * takes it (so a workflow passes it to the model as it is), and a tool
 * result as a tool message the workflow appends to the conversation.
 * Pure.
 */
#include <stdlib.h>
#include <string.h>

#include "baton_common.h"
#include "mcp.h"

json_t *mcp_tools_list_result(const json_t *tools) {
    json_t *llm = json_array(), *t;
    size_t i;
    if (!llm) return NULL;
    json_array_foreach(tools, i, t) {
        json_t *schema = json_object_get(t, "inputSchema");
        json_array_append_new(
            llm, json_pack("{s:O,s:O*,s:o}", "name", json_object_get(t, "name"),
                           "description", json_object_get(t, "description"),
                           "parameters",
                           schema ? json_incref(schema)
                                  : json_pack("{s:s}", "type", "object")));
    }
    return json_pack("{s:O,s:o,s:i}", "tools", tools, "llm_tools", llm, "count",
                     (int)json_array_size(tools));
}

char *mcp_tools_text(const json_t *result) {
    json_t *c;
    size_t i, len = 0;
    char *out = malloc(1);
    if (!out) return NULL;
    out[0] = '\0';
    json_array_foreach(json_object_get(result, "content"), i, c) {
        const char *t = json_string_value(json_object_get(c, "text"));
        size_t n;
        char *p;
        if (!t) continue;
        n = strlen(t);
        if (!(p = realloc(out, len + n + 2))) break;
        out = p;
        if (len) out[len++] = '\n';
        memcpy(out + len, t, n + 1);
        len += n;
    }
    return out;
}

json_t *mcp_tools_call_result(const json_t *result, const char *name,
                              const char *call_id) {
    char *text = mcp_tools_text(result);
    json_t *sc = json_object_get(result, "structuredContent"), *out;
    if (text && !*text && sc) {
        free(text);
        text = json_dumps(sc, JSON_COMPACT);
    }
    out = json_pack("{s:s,s:s*,s:s,s:s,s:O}", "role", "tool", "tool_call_id",
                    call_id, "name", name, "content", text ? text : "", "mcp",
                    result);
    free(text);
    return out;
}
