/*
 * test_llm_request.c -- the llm.chat task format (llm_task.c) and the
 * request bodies built from it for both providers (llm_openai.c,
 * llm_anthropic.c): what a bad task is told, the two tool-call shapes
 * normalised, tools and tool_choice in each API's shape, system messages
 * and tool results in Anthropic's turns, streaming options.
 */
#include "baton_common.h"
#include "llm.h"
#include "net_check.h"

static const llm_defaults_t defaults = {"default-model", "openai", 1024, 1};

/* Parses; returns 0 or -1 with the message in err. */
static int parse(const char *input, llm_task_t *t, char *err, size_t len) {
    return llm_task_parse(input, &defaults, t, err, len);
}

static void test_bad_tasks(void) {
    static const struct {
        const char *input, *want;
    } t[] = {
        {"[1]", "the task must be a JSON object"},
        {"{}", "\"messages\" must be a non-empty array"},
        {"{\"messages\": []}", "\"messages\" must be a non-empty array"},
        {"{\"messages\": [{\"role\": \"robot\"}]}",
         "messages[0]: \"role\" must be system, user, assistant or tool"},
        {"{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}",
         "messages[0]: a tool message needs \"tool_call_id\""},
        {"{\"messages\": [{\"role\": \"assistant\", \"tool_calls\": "
         "[{\"id\": \"c\"}]}]}",
         "messages[0].tool_calls[0]: no function name"},
        {"{\"api_key\": \"sk-1\", \"messages\": [{\"role\": \"user\"}]}",
         "a task may not carry \"api_key\" or \"base_url\": they are the "
         "worker's settings (llm.*)"},
        {"{\"provider\": \"acme\", \"messages\": [{\"role\": \"user\"}]}",
         "\"provider\" must be \"openai\" or \"anthropic\", not \"acme\""},
        {"{\"tool_choice\": \"maybe\", \"messages\": [{\"role\": \"user\"}]}",
         "\"tool_choice\" must be \"auto\", \"none\", \"required\" or "
         "{\"name\": TOOL}"},
        {"{\"temperature\": \"hot\", \"messages\": [{\"role\": \"user\"}]}",
         "\"temperature\" must be a number"},
        {"{\"max_tokens\": 0, \"messages\": [{\"role\": \"user\"}]}",
         "\"max_tokens\" must be a positive integer"},
        {"{\"max_tokens_cap\": 0, \"messages\": [{\"role\": \"user\"}]}",
         "\"max_tokens_cap\" must be a positive integer"},
        {"{\"tools\": [{\"description\": \"x\"}], \"messages\": [{\"role\": "
         "\"user\"}]}",
         "tools[0]: no \"name\""},
        {"{\"response_format\": \"json\", \"messages\": [{\"role\": "
         "\"user\"}]}",
         "\"response_format\" must be {\"type\": \"text\" | \"json_object\" "
         "| \"json_schema\", ...}"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        llm_task_t task;
        char err[256] = "";
        CHECK(parse(t[i].input, &task, err, sizeof err) == -1, t[i].input);
        CHECK_STR(err, t[i].want, t[i].input);
    }
    {
        llm_defaults_t nomodel = {NULL, "openai", 0, 0};
        llm_task_t task;
        char err[256] = "";
        CHECK(llm_task_parse("{\"messages\": [{\"role\": \"user\"}]}", &nomodel,
                             &task, err, sizeof err) == -1,
              "no model");
        CHECK_STR(err, "no model: set \"model\" in the task or llm.model",
                  "no model");
    }
}

/* A conversation with a system prompt, a tool round in both tool-call
 * shapes and two tool results. */
static const char *conversation =
    "{\"messages\": ["
    "{\"role\": \"system\", \"content\": \"Be brief.\"},"
    "{\"role\": \"user\", \"content\": \"Weather and sum?\"},"
    "{\"role\": \"assistant\", \"content\": \"\", \"usage\": {}, "
    "\"tool_calls\": ["
    "{\"id\": \"c1\", \"name\": \"weather\", \"arguments\": {\"city\": "
    "\"Oslo\"}},"
    "{\"id\": \"c2\", \"type\": \"function\", \"function\": {\"name\": "
    "\"add\", \"arguments\": \"{\\\"a\\\":1,\\\"b\\\":2}\"}}]},"
    "{\"role\": \"tool\", \"tool_call_id\": \"c1\", \"content\": "
    "{\"forecast\": \"sunny\"}},"
    "{\"role\": \"tool\", \"tool_call_id\": \"c2\", \"content\": \"3\"}],"
    "\"tools\": [{\"name\": \"weather\", \"description\": \"Forecast\", "
    "\"parameters\": {\"type\": \"object\"}}, {\"type\": \"function\", "
    "\"function\": {\"name\": \"add\"}}],"
    "\"tool_choice\": {\"name\": \"add\"}, \"temperature\": 0.5, "
    "\"model\": \"m1\"}";

static void test_normalised(void) {
    llm_task_t t;
    char err[256];
    CHECK(parse(conversation, &t, err, sizeof err) == 0, "conversation");
    CHECK_STR(t.model, "m1", "model from the task");
    CHECK(t.provider == LLM_OPENAI && t.stream == 1 && t.max_tokens == 1024,
          "defaults");
    CHECK_JSON(json_object_get(json_array_get(t.messages, 2), "tool_calls"),
               "[{\"id\": \"c1\", \"name\": \"weather\", \"arguments\": "
               "{\"city\": \"Oslo\"}}, {\"id\": \"c2\", \"name\": \"add\", "
               "\"arguments\": {\"a\": 1, \"b\": 2}}]",
               "both tool-call shapes normalised, arguments parsed");
    CHECK_JSON(t.tools,
               "[{\"name\": \"weather\", \"description\": \"Forecast\", "
               "\"parameters\": {\"type\": \"object\"}}, {\"name\": \"add\", "
               "\"parameters\": {\"type\": \"object\", \"properties\": {}}}]",
               "tools normalised");
    llm_task_clear(&t);
}

static void test_openai_body(void) {
    llm_task_t t;
    char err[256];
    json_t *b;
    parse(conversation, &t, err, sizeof err);
    b = llm_openai_body(&t);
    CHECK_JSON(json_object_get(b, "messages"),
               "[{\"role\": \"system\", \"content\": \"Be brief.\"},"
               "{\"role\": \"user\", \"content\": \"Weather and sum?\"},"
               "{\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": ["
               "{\"id\": \"c1\", \"type\": \"function\", \"function\": "
               "{\"name\": \"weather\", \"arguments\": "
               "\"{\\\"city\\\":\\\"Oslo\\\"}\"}},"
               "{\"id\": \"c2\", \"type\": \"function\", \"function\": "
               "{\"name\": \"add\", \"arguments\": "
               "\"{\\\"a\\\":1,\\\"b\\\":2}\"}}]},"
               "{\"role\": \"tool\", \"content\": "
               "\"{\\\"forecast\\\":\\\"sunny\\\"}\", \"tool_call_id\": "
               "\"c1\"},"
               "{\"role\": \"tool\", \"content\": \"3\", \"tool_call_id\": "
               "\"c2\"}]",
               "OpenAI messages: arguments and tool results as text");
    CHECK_JSON(json_object_get(b, "tools"),
               "[{\"type\": \"function\", \"function\": {\"name\": "
               "\"weather\", \"description\": \"Forecast\", \"parameters\": "
               "{\"type\": \"object\"}}}, {\"type\": \"function\", "
               "\"function\": {\"name\": \"add\", \"parameters\": {\"type\": "
               "\"object\", \"properties\": {}}}}]",
               "OpenAI tools");
    CHECK_JSON(json_object_get(b, "tool_choice"),
               "{\"type\": \"function\", \"function\": {\"name\": \"add\"}}",
               "OpenAI tool_choice for one tool");
    CHECK_JSON(json_object_get(b, "stream_options"),
               "{\"include_usage\": true}", "usage in the stream");
    CHECK(json_real_value(json_object_get(b, "temperature")) == 0.5 &&
              json_integer_value(json_object_get(b, "max_tokens")) == 1024,
          "temperature, max_tokens");
    CHECK(!json_object_get(b, "api_key"), "no key in the body");
    json_decref(b);
    llm_task_clear(&t);
}

static void test_anthropic_body(void) {
    llm_task_t t;
    char err[256];
    json_t *b;
    parse(conversation, &t, err, sizeof err);
    t.provider = LLM_ANTHROPIC;
    t.stream = 0;
    b = llm_anthropic_body(&t);
    CHECK_STR(json_string_value(json_object_get(b, "system")), "Be brief.",
              "system lifted");
    CHECK_JSON(json_object_get(b, "messages"),
               "[{\"role\": \"user\", \"content\": [{\"type\": \"text\", "
               "\"text\": \"Weather and sum?\"}]},"
               "{\"role\": \"assistant\", \"content\": ["
               "{\"type\": \"tool_use\", \"id\": \"c1\", \"name\": "
               "\"weather\", \"input\": {\"city\": \"Oslo\"}},"
               "{\"type\": \"tool_use\", \"id\": \"c2\", \"name\": \"add\", "
               "\"input\": {\"a\": 1, \"b\": 2}}]},"
               "{\"role\": \"user\", \"content\": ["
               "{\"type\": \"tool_result\", \"tool_use_id\": \"c1\", "
               "\"content\": \"{\\\"forecast\\\":\\\"sunny\\\"}\"},"
               "{\"type\": \"tool_result\", \"tool_use_id\": \"c2\", "
               "\"content\": \"3\"}]}]",
               "Anthropic turns: tool_use blocks, tool results in one user "
               "turn");
    CHECK_JSON(json_object_get(b, "tools"),
               "[{\"name\": \"weather\", \"description\": \"Forecast\", "
               "\"input_schema\": {\"type\": \"object\"}}, {\"name\": "
               "\"add\", \"input_schema\": {\"type\": \"object\", "
               "\"properties\": {}}}]",
               "Anthropic tools");
    CHECK_JSON(json_object_get(b, "tool_choice"),
               "{\"type\": \"tool\", \"name\": \"add\"}",
               "Anthropic tool_choice");
    CHECK(!json_object_get(b, "stream"), "not streamed");
    CHECK(json_integer_value(json_object_get(b, "max_tokens")) == 1024,
          "max_tokens");
    json_decref(b);
    llm_task_clear(&t);

    CHECK(parse("{\"provider\": \"anthropic\", \"tool_choice\": "
                "\"required\", \"response_format\": {\"type\": "
                "\"json_schema\", \"json_schema\": {\"name\": \"x\", "
                "\"schema\": {\"type\": \"object\"}}}, \"messages\": "
                "[{\"role\": \"user\", \"content\": \"hi\"}]}",
                &t, err, sizeof err) == 0,
          "json_schema task");
    b = llm_anthropic_body(&t);
    CHECK_JSON(json_object_get(b, "tool_choice"), "{\"type\": \"any\"}",
               "required -> any");
    CHECK(strstr(json_string_value(json_object_get(b, "system")),
                 "{\"type\":\"object\"}") != NULL,
          "the schema is asked for in the system prompt");
    CHECK(json_is_true(json_object_get(b, "stream")), "streamed");
    json_decref(b);
    llm_task_clear(&t);
}

/* batond's max_tokens_cap (the budget's tokens left) lowers max_tokens,
 * never raises it. */
static void test_max_tokens_cap(void) {
    static const struct {
        const char *input;
        int64_t want;
    } t[] = {
        {"{\"max_tokens_cap\": 100, \"messages\": [{\"role\": \"user\"}]}",
         100},
        {"{\"max_tokens\": 50, \"max_tokens_cap\": 100, \"messages\": "
         "[{\"role\": \"user\"}]}",
         50},
        {"{\"max_tokens\": 5000, \"max_tokens_cap\": 100, \"messages\": "
         "[{\"role\": \"user\"}]}",
         100},
        {"{\"max_tokens_cap\": 99999, \"messages\": [{\"role\": \"user\"}]}",
         1024},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        llm_task_t task;
        char err[256] = "";
        CHECK(parse(t[i].input, &task, err, sizeof err) == 0, t[i].input);
        CHECK(task.max_tokens == t[i].want, t[i].input);
        llm_task_clear(&task);
    }
}

int main(void) {
    baton_log_configure("error", "");
    test_bad_tasks();
    test_max_tokens_cap();
    test_normalised();
    test_openai_body();
    test_anthropic_body();
    return check_report();
}
