/*
 * test_httpd.c -- the operations endpoint (common/httpd.h) on a loopback
 * port: /metrics in the text format with its content type, /healthz 200
 * after a beat and 503 once the main loop is silent past the limit,
 * /readyz following the ready callback, the KEDA backlog JSON (and 400
 * without a queue, 404 without a callback), 404 and 405; listen addresses
 * parsed, bad ones and a port in use refused with the address named.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"

#include "check.h"

/* A free loopback port (bound, read, closed). */
static int free_port(void) {
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0), port;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
    close(s);
    return port;
}

/* One HTTP/1.0 request; the whole response into buf; its status code. */
static int request(int port, const char *method, const char *path, char *buf,
                   size_t len) {
    struct sockaddr_in a = {0};
    char req[512];
    size_t got = 0;
    ssize_t n;
    int s = socket(AF_INET, SOCK_STREAM, 0), status = -1;
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    buf[0] = '\0';
    if (connect(s, (struct sockaddr *)&a, sizeof a)) {
        close(s);
        return -1;
    }
    snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: x\r\n\r\n", method,
             path);
    if (write(s, req, strlen(req)) < 0) {
        close(s);
        return -1;
    }
    while (got + 1 < len && (n = read(s, buf + got, len - got - 1)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(s);
    sscanf(buf, "HTTP/1.%*d %d", &status);
    return status;
}

static int ready_flag;
static int ready(void *ctx, char *why, size_t whylen) {
    (void)ctx;
    if (!ready_flag) snprintf(why, whylen, "no partitions assigned");
    return ready_flag;
}

static int64_t backlog(void *ctx, const char *queue) {
    (void)ctx;
    return !strcmp(queue, "a b") ? 7 : 0;
}

static void test_endpoint(void) {
    baton_metrics_t *m = baton_metrics_new();
    baton_metric_t *c =
        baton_metrics_counter(m, "baton_x_total", "X.", "queue");
    baton_httpd_conf_t hc = {0};
    baton_httpd_t *h, *h2;
    char listen[64], err[256], buf[8192];
    int port = free_port();
    baton_metric_add(c, BATON_LV("q"), 3);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    hc.listen = listen;
    hc.metrics = m;
    hc.live_timeout_ms = 300;
    hc.ready = ready;
    hc.backlog = backlog;
    h = baton_httpd_start(&hc, err, sizeof err);
    CHECK(h, err);
    if (!h) return;
    CHECK(request(port, "GET", "/metrics", buf, sizeof buf) == 200,
          "/metrics 200");
    CHECK(strstr(buf, "text/plain; version=0.0.4"), "content type");
    CHECK(strstr(buf, "\r\n\r\n# HELP baton_x_total X.\n# TYPE baton_x_total "
                      "counter\nbaton_x_total{queue=\"q\"} 3\n"),
          "the registry rendered");
    baton_httpd_beat(h);
    CHECK(request(port, "GET", "/healthz", buf, sizeof buf) == 200,
          "/healthz 200 after a beat");
    usleep(500000);
    CHECK(request(port, "GET", "/healthz", buf, sizeof buf) == 503,
          "/healthz 503 when the loop is silent");
    CHECK(strstr(buf, "main loop stalled"), "stall said");
    baton_httpd_beat(h);
    CHECK(request(port, "GET", "/healthz", buf, sizeof buf) == 200,
          "/healthz 200 again");
    ready_flag = 0;
    CHECK(request(port, "GET", "/readyz", buf, sizeof buf) == 503,
          "/readyz 503");
    CHECK(strstr(buf, "not ready: no partitions assigned"), "why not");
    ready_flag = 1;
    CHECK(request(port, "GET", "/readyz", buf, sizeof buf) == 200,
          "/readyz 200");
    CHECK(request(port, "GET", "/metrics/backlog?queue=a%20b", buf,
                  sizeof buf) == 200,
          "backlog 200");
    CHECK(strstr(buf, "\r\n\r\n{\"queue\":\"a b\",\"backlog\":7}"),
          "backlog JSON");
    CHECK(request(port, "GET", "/metrics/backlog", buf, sizeof buf) == 400,
          "backlog without a queue: 400");
    CHECK(request(port, "GET", "/elsewhere", buf, sizeof buf) == 404, "404");
    CHECK(request(port, "POST", "/metrics", buf, sizeof buf) == 405, "405");
    h2 = baton_httpd_start(&hc, err, sizeof err);
    CHECK(!h2 && strstr(err, listen), "a port in use refused, named");
    baton_httpd_stop(h2);
    baton_httpd_stop(h);

    port = free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    hc.backlog = NULL;
    hc.ready = NULL;
    h = baton_httpd_start(&hc, err, sizeof err);
    CHECK(h, err);
    CHECK(request(port, "GET", "/metrics/backlog?queue=q", buf, sizeof buf) ==
              404,
          "no backlog callback: 404");
    CHECK(request(port, "GET", "/readyz", buf, sizeof buf) == 200,
          "no ready callback: ready");
    baton_httpd_stop(h);
    baton_httpd_stop(NULL);
    baton_httpd_beat(NULL);
    baton_metrics_destroy(m);
}

static void test_listen(void) {
    char host[64], err[256];
    int port = 0;
    baton_httpd_conf_t hc = {0};
    CHECK(
        !baton_httpd_parse_listen("127.0.0.1:9464", host, sizeof host, &port) &&
            !strcmp(host, "127.0.0.1") && port == 9464,
        "v4");
    CHECK(!baton_httpd_parse_listen("[::1]:80", host, sizeof host, &port) &&
              !strcmp(host, "::1") && port == 80,
          "v6");
    CHECK(!baton_httpd_parse_listen("localhost:0", host, sizeof host, &port) &&
              !strcmp(host, "localhost") && port == 0,
          "name");
    CHECK(baton_httpd_parse_listen("9464", host, sizeof host, &port),
          "no host");
    CHECK(baton_httpd_parse_listen(":9464", host, sizeof host, &port),
          "empty host");
    CHECK(baton_httpd_parse_listen("h:70000", host, sizeof host, &port),
          "port range");
    CHECK(baton_httpd_parse_listen("h:9x", host, sizeof host, &port),
          "port digits");
    CHECK(baton_httpd_parse_listen("[::1:80", host, sizeof host, &port),
          "unclosed bracket");
    hc.listen = "nowhere";
    CHECK(!baton_httpd_start(&hc, err, sizeof err) &&
              strstr(err, "metrics listen 'nowhere'"),
          "bad address named");
}

int main(void) {
    test_listen();
    test_endpoint();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
