/*
 * redact.c -- masking secrets in URLs and configuration values (redact.h).
 */
#include "redact.h"

#include <stdio.h>
#include <string.h>

const char *baton_redact_url(const char *url, char *buf, size_t len) {
    const char *scheme, *auth, *at, *colon;
    if (!len) return buf;
    if (!url) url = "";
    scheme = strstr(url, "://");
    auth = scheme ? scheme + 3 : url;
    /* The userinfo ends at the last '@': an unencoded '@' in a password
     * must not leak its tail (common/redis.c parses the same way). */
    at = strrchr(auth, '@');
    colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon) {
        snprintf(buf, len, "%s", url);
        return buf;
    }
    snprintf(buf, len, "%.*s" BATON_REDACT_MASK "%s", (int)(colon + 1 - url),
             url, at);
    return buf;
}

int baton_redact_is_secret_key(const char *key) {
    static const char *const words[] = {
        "password",    "passwd",
        "secret",      "jaas",
        "ssl.key.pem", "ssl_key",
        "keystore",    "token",
        "credential",  "sasl.oauthbearer.config",
    };
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strstr(key, words[i])) return 1;
    return 0;
}

const char *baton_redact_value(const char *key, const char *value, char *buf,
                               size_t len) {
    if (!len) return buf;
    if (!value) value = "";
    if (baton_redact_is_secret_key(key))
        snprintf(buf, len, "%s", BATON_REDACT_MASK);
    else if (strstr(key, "url") || strstr(value, "://"))
        baton_redact_url(value, buf, len);
    else
        snprintf(buf, len, "%s", value);
    return buf;
}

void baton_redact_in(char *text, const char *secret) {
    size_t n;
    char *s;
    if (!text || !secret || !(n = strlen(secret))) return;
    for (s = strstr(text, secret); s; s = strstr(s + n, secret))
        memset(s, '*', n);
}
