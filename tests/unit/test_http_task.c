/*
 * test_http_task.c -- baton-worker-http's pure parts: the host allow-list
 * (http_allow.c) and the http.request task (http_task.c): secrets by name
 * only when listed and set, header injection refused, JSON bodies, limits
 * capped by the worker's settings, the Idempotency-Key and traceparent
 * headers the worker adds (a task's own wins).
 */
#include "baton_common.h"
#include "http.h"
#include "net.h"
#include "net_check.h"

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static const char *fake_env(const char *name, void *opaque) {
    (void)opaque;
    if (!strcmp(name, "CRM_TOKEN")) return "tok-123";
    if (!strcmp(name, "OTHER")) return "other";
    return NULL;
}

static const http_limits_t lim = {30000, 65536, "CRM_TOKEN, UNSET_ONE"};

static void test_allow(void) {
    const char *list = "api.example.com, *.corp.test,127.0.0.1";
    CHECK(http_allow_host(list, "api.example.com"), "exact host");
    CHECK(http_allow_host(list, "API.example.com"), "case-insensitive");
    CHECK(!http_allow_host(list, "evil-api.example.com"), "not a prefix");
    CHECK(!http_allow_host(list, "example.com"), "not the parent");
    CHECK(http_allow_host(list, "a.b.corp.test"), "wildcard subdomain");
    CHECK(!http_allow_host(list, "corp.test"), "wildcard is not the domain");
    CHECK(!http_allow_host(list, "xcorp.test"), "wildcard needs the dot");
    CHECK(http_allow_host(list, "127.0.0.1"), "an address");
    CHECK(!http_allow_host("", "127.0.0.1"), "an empty list allows nothing");
    CHECK(http_allow_host("*", "anything.org"), "* allows all");
    {
        char host[64];
        CHECK(baton_net_url_host("https://user:pw@Api.Example.com:8443/x?y",
                                 host, sizeof host) == 0 &&
                  !strcmp(host, "api.example.com"),
              "host of a URL with credentials and port");
        CHECK(baton_net_url_host("http://[::1]:80/", host, sizeof host) == 0 &&
                  !strcmp(host, "::1"),
              "IPv6 host");
        CHECK(baton_net_url_host("ftp://x/", host, sizeof host) == -1,
              "not http");
        CHECK(baton_net_url_host("http://a.com@127.0.0.1/", host,
                                 sizeof host) == 0 &&
                  !strcmp(host, "127.0.0.1"),
              "the host after userinfo is the one called");
    }
}

static int parse(const char *in, http_task_t *t, char *err) {
    return http_task_parse(in, &lim, fake_env, NULL, t, err, 256);
}

static void test_bad(void) {
    static const struct {
        const char *in, *want;
    } t[] = {
        {"[]", "the task must be a JSON object"},
        {"{}", "\"url\" (a string) is required"},
        {"{\"url\": \"file:///etc/passwd\"}",
         "\"url\" must be http:// or https://"},
        {"{\"url\": \"http://h/\", \"method\": \"get\"}",
         "\"method\" must be an upper-case HTTP method"},
        {"{\"url\": \"http://h/\", \"headers\": {\"A\": {\"secret\": "
         "\"OTHER\"}}}",
         "header A: secret OTHER is not one this worker may use "
         "(http.secrets)"},
        {"{\"url\": \"http://h/\", \"headers\": {\"A\": {\"secret\": "
         "\"UNSET_ONE\"}}}",
         "header A: secret UNSET_ONE is not set in the worker's environment"},
        {"{\"url\": \"http://h/\", \"headers\": {\"A\": \"x\\r\\nB: y\"}}",
         "header A: a line break in the value"},
        {"{\"url\": \"http://h/\", \"headers\": {\"A: b\": \"x\"}}",
         "header name 'A: b' is not valid"},
        {"{\"url\": \"http://h/\", \"headers\": {\"A\": 5}}",
         "header A: a string or {\"secret\": NAME} wanted"},
        {"{\"url\": \"http://h/\", \"timeout_ms\": -1}",
         "\"timeout_ms\" must be a positive integer"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        http_task_t task;
        char err[256] = "";
        CHECK(parse(t[i].in, &task, err) == -1, t[i].in);
        CHECK_STR(err, t[i].want, t[i].in);
    }
}

static void test_good(void) {
    http_task_t t;
    char err[256] = "", *idem;
    CHECK(parse("{\"url\": \"https://h/x\", \"headers\": {\"Authorization\": "
                "{\"secret\": \"CRM_TOKEN\", \"prefix\": \"Bearer \"}, "
                "\"X-A\": \"1\"}, \"body\": {\"n\": 1}, \"timeout_ms\": "
                "999999, \"max_response_bytes\": 100, \"tag\": [1]}",
                &t, err) == 0,
          err);
    CHECK_STR(t.method, "POST", "a body means POST");
    CHECK(t.nheaders == 3, "two headers and the content type");
    CHECK_STR(t.headers[0], "Authorization: Bearer tok-123", "secret header");
    CHECK_STR(t.headers[2], "Content-Type: application/json",
              "JSON body content type");
    CHECK_STR(t.body, "{\"n\":1}", "JSON body");
    CHECK(t.timeout_ms == 30000, "time-out capped by http.timeout.ms");
    CHECK(t.max_body == 100, "a smaller cap is kept");
    CHECK(t.nsecrets == 1 && !strcmp(t.secret_values[0], "tok-123"),
          "the secret is remembered for redaction");
    CHECK_JSON(t.tag, "[1]", "tag");
    idem = http_default_header(&t, "Idempotency-Key", "wf-1/4");
    CHECK_STR(idem, "Idempotency-Key: wf-1/4", "idempotency header");
    baton_free(idem);
    idem = http_default_header(&t, "traceparent", TP);
    CHECK_STR(idem, "traceparent: " TP, "traceparent header");
    baton_free(idem);
    CHECK(http_default_header(&t, "traceparent", NULL) == NULL,
          "no traceparent for an untraced task");
    http_task_clear(&t);

    CHECK(parse("{\"url\": \"http://h/\", \"body\": \"raw text\", "
                "\"headers\": {\"idempotency-key\": \"mine\", "
                "\"TraceParent\": \"00-mine\"}}",
                &t, err) == 0,
          err);
    CHECK(t.nheaders == 2 && !strcmp(t.body, "raw text"),
          "a string body is sent as it is, no content type added");
    CHECK(http_default_header(&t, "Idempotency-Key", "wf-1/4") == NULL,
          "a task's own Idempotency-Key wins");
    CHECK(http_default_header(&t, "traceparent", TP) == NULL,
          "a task's own traceparent wins");
    http_task_clear(&t);
    CHECK(parse("{\"url\": \"http://h/\"}", &t, err) == 0, err);
    CHECK_STR(t.method, "GET", "GET without a body");
    CHECK(t.max_body == 65536, "the default cap");
    http_task_clear(&t);
}

int main(void) {
    baton_log_configure("error", "");
    test_allow();
    test_bad();
    test_good();
    return check_report();
}
