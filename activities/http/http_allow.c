/*
 * http_allow.c -- the host allow-list of baton-worker-http: a task may call
 * only the hosts the operator listed (http.allow_hosts), so a model that
 * writes a URL cannot make the worker call anything else.  Redirects are
 * never followed (net_call.c), so the host checked is the host called.
 * Pure.
 */
#include <string.h>
#include <strings.h>

#include "http.h"

/* 1 when entry (n bytes) allows host. */
static int entry_allows(const char *e, size_t n, const char *host) {
    size_t hl = strlen(host);
    while (n && *e == ' ') e++, n--;
    while (n && e[n - 1] == ' ') n--;
    if (!n) return 0;
    if (n == 1 && *e == '*') return 1;
    if (n > 2 && e[0] == '*' && e[1] == '.') /* *.example.com */
        return hl > n - 1 && !strncasecmp(host + hl - (n - 1), e + 1, n - 1);
    return hl == n && !strncasecmp(host, e, n);
}

int http_allow_host(const char *list, const char *host) {
    const char *p = list;
    if (!list || !host || !*host) return 0;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (entry_allows(p, n, host)) return 1;
        p += n;
        if (*p == ',') p++;
    }
    return 0;
}
