/*
 * test_llm_reply.c -- replies read by both providers (llm_openai.c,
 * llm_anthropic.c) into llm_reply_t, whole and streamed, and the activity
 * result made of them (llm_reply.c): tool-call arguments arriving in
 * pieces and parsed once complete, invalid arguments reported as a final
 * error (never a crash), usage, finish reasons, stream error events and
 * chunks that are not JSON.
 */
#include "baton_common.h"
#include "llm.h"
#include "net_check.h"

static int feed_openai(llm_reply_t *r, llm_error_t *e, const char **chunks) {
    int rc = 0;
    for (size_t i = 0; chunks[i] && rc == 0; i++)
        rc = llm_openai_stream_event("message", chunks[i], r, e);
    return rc;
}

static void test_openai_stream(void) {
    const char *chunks[] = {
        "{\"model\": \"gpt-x\", \"choices\": [{\"index\": 0, \"delta\": "
        "{\"role\": \"assistant\", \"content\": \"Let me \"}}]}",
        "{\"choices\": [{\"delta\": {\"content\": \"check.\"}}]}",
        "{\"choices\": [{\"delta\": {\"tool_calls\": [{\"index\": 0, \"id\": "
        "\"c1\", \"type\": \"function\", \"function\": {\"name\": \"add\", "
        "\"arguments\": \"\"}}]}}]}",
        "{\"choices\": [{\"delta\": {\"tool_calls\": [{\"index\": 1, \"id\": "
        "\"c2\", \"function\": {\"name\": \"noargs\"}}]}}]}",
        "{\"choices\": [{\"delta\": {\"tool_calls\": [{\"index\": 0, "
        "\"function\": {\"arguments\": \"{\\\"a\\\": 1, \"}}]}}]}",
        "{\"choices\": [{\"delta\": {\"tool_calls\": [{\"index\": 0, "
        "\"function\": {\"arguments\": \"\\\"b\\\": 2}\"}}]}}]}",
        "{\"choices\": [{\"delta\": {}, \"finish_reason\": \"tool_calls\"}]}",
        "{\"choices\": [], \"usage\": {\"prompt_tokens\": 50, "
        "\"completion_tokens\": 7, \"prompt_tokens_details\": "
        "{\"cached_tokens\": 32}, \"completion_tokens_details\": "
        "{\"reasoning_tokens\": 4}}}",
        "[DONE]",
        NULL};
    llm_reply_t r;
    llm_error_t e = {0};
    json_t *res;
    llm_reply_init(&r);
    CHECK(feed_openai(&r, &e, chunks) == 1, "[DONE] completes the reply");
    res = llm_reply_result(&r, "openai", &e);
    CHECK_JSON(res,
               "{\"role\": \"assistant\", \"content\": \"Let me check.\", "
               "\"tool_calls\": [{\"id\": \"c1\", \"type\": \"function\", "
               "\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}, "
               "{\"id\": \"c2\", \"type\": \"function\", \"name\": "
               "\"noargs\", \"arguments\": {}}], \"finish_reason\": "
               "\"tool_calls\", \"usage\": {\"input_tokens\": 50, "
               "\"output_tokens\": 7, \"cached_tokens\": 32, "
               "\"reasoning_tokens\": 4}, \"model\": \"gpt-x\", "
               "\"provider\": \"openai\"}",
               "streamed OpenAI reply");
    json_decref(res);
    llm_reply_clear(&r);
}

static void test_bad_arguments(void) {
    const char *bad[] = {"{oops", "{\"a\": 1", "[1, 2", "nul", NULL};
    for (size_t i = 0; bad[i]; i++) {
        llm_reply_t r;
        llm_error_t e = {0};
        llm_call_t *c;
        json_t *res;
        llm_reply_init(&r);
        c = llm_reply_call(&r, 0);
        llm_reply_call_set(c, "c9", "f");
        llm_reply_call_args(c, bad[i], strlen(bad[i]));
        res = llm_reply_result(&r, "openai", &e);
        CHECK(res == NULL, bad[i]);
        CHECK_STR(e.name, "LLM.BadToolArguments", bad[i]);
        CHECK(!e.retryable, "bad arguments are final");
        CHECK(strstr(e.cause, "tool call 1 (f, id c9)") != NULL,
              "the cause names the call");
        llm_reply_clear(&r);
    }
    {
        llm_reply_t r;
        llm_error_t e = {0};
        llm_reply_init(&r);
        llm_reply_call_args(llm_reply_call(&r, 2), "{}", 2);
        CHECK(llm_reply_result(&r, "openai", &e) == NULL,
              "calls with no name (a gap in the indexes)");
        CHECK_STR(e.name, "LLM.BadToolArguments", "no function name");
        llm_reply_clear(&r);
    }
    {
        llm_reply_t r;
        llm_error_t e = {0};
        llm_reply_init(&r);
        CHECK(llm_reply_call(&r, 5000) == NULL, "an absurd index is refused");
        CHECK(llm_openai_stream_event(
                  "message",
                  "{\"choices\": [{\"delta\": {\"tool_calls\": [{\"index\": "
                  "-1, \"function\": {\"name\": \"f\"}}]}}]}",
                  &r, &e) == -1,
              "a negative index is an error");
        CHECK_STR(e.name, "LLM.MalformedResponse", "negative index");
        llm_reply_clear(&r);
    }
}

static void test_openai_whole_and_errors(void) {
    llm_reply_t r;
    llm_error_t e = {0};
    json_t *res;
    const char *body =
        "{\"model\": \"m\", \"choices\": [{\"message\": {\"role\": "
        "\"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"x\", "
        "\"type\": \"function\", \"function\": {\"name\": \"g\", "
        "\"arguments\": \"{\\\"q\\\": [1]}\"}}]}, \"finish_reason\": "
        "\"tool_calls\"}], \"usage\": {\"prompt_tokens\": 3, "
        "\"completion_tokens\": 2}}";
    llm_reply_init(&r);
    CHECK(llm_openai_parse(body, strlen(body), &r, &e) == 0, "whole reply");
    res = llm_reply_result(&r, "openai", &e);
    CHECK_JSON(json_object_get(res, "tool_calls"),
               "[{\"id\": \"x\", \"type\": \"function\", \"name\": \"g\", "
               "\"arguments\": {\"q\": [1]}}]",
               "whole reply's tool call");
    CHECK(json_is_null(json_object_get(res, "content")), "null content");
    json_decref(res);
    llm_reply_clear(&r);

    llm_reply_init(&r);
    CHECK(llm_openai_parse("{\"choices\": []}", 15, &r, &e) == -1,
          "no choices");
    CHECK_STR(e.name, "LLM.MalformedResponse", "no choices");
    CHECK(llm_openai_stream_event("message", "{broken", &r, &e) == -1,
          "a chunk that is not JSON");
    CHECK_STR(e.name, "LLM.MalformedResponse", "broken chunk");
    CHECK(llm_openai_stream_event(
              "message",
              "{\"error\": {\"type\": \"server_error\", \"message\": \"x\"}}",
              &r, &e) == -1,
          "an error chunk");
    CHECK_STR(e.name, "LLM.ServerError", "error chunk");
    llm_reply_clear(&r);

    llm_reply_init(&r);
    llm_reply_add_text(&r, "no", 2);
    snprintf(r.finish, sizeof r.finish, "content_filter");
    CHECK(llm_reply_result(&r, "openai", &e) == NULL, "content filter stop");
    CHECK_STR(e.name, "LLM.ContentFilter", "content filter stop");
    CHECK(!e.retryable, "content filter final");
    llm_reply_clear(&r);
}

static void test_anthropic(void) {
    const char *ev[][2] = {
        {"message_start",
         "{\"type\": \"message_start\", \"message\": {\"model\": \"claude\", "
         "\"usage\": {\"input_tokens\": 40, \"output_tokens\": 1, "
         "\"cache_read_input_tokens\": 30}}}"},
        {"ping", "{\"type\": \"ping\"}"},
        {"content_block_start",
         "{\"type\": \"content_block_start\", \"index\": 0, "
         "\"content_block\": {\"type\": \"text\", \"text\": \"\"}}"},
        {"content_block_delta",
         "{\"type\": \"content_block_delta\", \"index\": 0, \"delta\": "
         "{\"type\": \"text_delta\", \"text\": \"On it.\"}}"},
        {"content_block_stop", "{\"type\": \"content_block_stop\", "
                               "\"index\": 0}"},
        {"content_block_start",
         "{\"type\": \"content_block_start\", \"index\": 1, "
         "\"content_block\": {\"type\": \"tool_use\", \"id\": \"tu\", "
         "\"name\": \"lookup\", \"input\": {}}}"},
        {"content_block_delta",
         "{\"type\": \"content_block_delta\", \"index\": 1, \"delta\": "
         "{\"type\": \"input_json_delta\", \"partial_json\": "
         "\"{\\\"q\\\": \"}}"},
        {"content_block_delta",
         "{\"type\": \"content_block_delta\", \"index\": 1, \"delta\": "
         "{\"type\": \"input_json_delta\", \"partial_json\": "
         "\"\\\"baton\\\"}\"}}"},
        {"message_delta",
         "{\"type\": \"message_delta\", \"delta\": {\"stop_reason\": "
         "\"tool_use\"}, \"usage\": {\"output_tokens\": 12}}"},
        {"message_stop", "{\"type\": \"message_stop\"}"},
    };
    llm_reply_t r;
    llm_error_t e = {0};
    json_t *res;
    int rc = 0;
    llm_reply_init(&r);
    for (size_t i = 0; i < sizeof ev / sizeof ev[0] && rc == 0; i++)
        rc = llm_anthropic_stream_event(ev[i][0], ev[i][1], &r, &e);
    CHECK(rc == 1, "message_stop completes the reply");
    res = llm_reply_result(&r, "anthropic", &e);
    CHECK_JSON(res,
               "{\"role\": \"assistant\", \"content\": \"On it.\", "
               "\"tool_calls\": [{\"id\": \"tu\", \"type\": \"function\", "
               "\"name\": \"lookup\", \"arguments\": {\"q\": \"baton\"}}], "
               "\"finish_reason\": \"tool_calls\", \"usage\": "
               "{\"input_tokens\": 40, \"output_tokens\": 12, "
               "\"cached_tokens\": 30, \"reasoning_tokens\": 0}, \"model\": "
               "\"claude\", \"provider\": \"anthropic\"}",
               "streamed Anthropic reply");
    json_decref(res);
    llm_reply_clear(&r);

    llm_reply_init(&r);
    CHECK(llm_anthropic_stream_event(
              "error",
              "{\"type\": \"error\", \"error\": {\"type\": "
              "\"overloaded_error\", \"message\": \"Overloaded\"}}",
              &r, &e) == -1,
          "an error event");
    CHECK_STR(e.name, "LLM.ServerError", "overloaded mid-stream");
    memset(&e, 0, sizeof e);
    CHECK(llm_anthropic_stream_event(
              "content_block_delta",
              "{\"type\": \"content_block_delta\", \"index\": 4, \"delta\": "
              "{\"type\": \"input_json_delta\", \"partial_json\": \"{\"}}",
              &r, &e) == -1,
          "arguments for a block that is no tool_use");
    CHECK_STR(e.name, "LLM.MalformedResponse", "stray input_json_delta");
    llm_reply_clear(&r);

    llm_reply_init(&r);
    {
        const char *body =
            "{\"model\": \"claude\", \"content\": [{\"type\": \"text\", "
            "\"text\": \"Sorry\"}], \"stop_reason\": \"refusal\", "
            "\"usage\": {\"input_tokens\": 1, \"output_tokens\": 1}}";
        CHECK(llm_anthropic_parse(body, strlen(body), &r, &e) == 0,
              "whole refusal");
        CHECK(llm_reply_result(&r, "anthropic", &e) == NULL,
              "a refusal is a content-filter stop");
        CHECK_STR(e.name, "LLM.ContentFilter", "refusal");
    }
    llm_reply_clear(&r);
}

int main(void) {
    baton_log_configure("error", "");
    test_openai_stream();
    test_bad_arguments();
    test_openai_whole_and_errors();
    test_anthropic();
    return check_report();
}
