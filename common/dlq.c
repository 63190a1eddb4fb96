/*
 * dlq.c -- the dead-letter record format (dlq.h): batond's baton-error
 * text written and read back.  Pure: strings only.
 */
#include "dlq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *baton_dlq_reason(char *buf, size_t len, const char *topic, int partition,
                       int64_t offset, const char *reason, size_t kept,
                       size_t total) {
    if (!len) return buf;
    if (kept < total)
        snprintf(buf, len,
                 "%s[%d]@%lld: %s " BATON_DLQ_CUT_MARK "%zu of %zu bytes)",
                 topic, partition, (long long)offset, reason, kept, total);
    else
        snprintf(buf, len, "%s[%d]@%lld: %s", topic, partition,
                 (long long)offset, reason);
    return buf;
}

/* Reads a decimal integer at *p (optional '-'), ending at the character
 * stop; advances *p past stop.  Returns 0 or -1. */
static int dlq_parse_num(const char **p, char stop, long long *out) {
    char *end;
    if (**p != '-' && (**p < '0' || **p > '9')) return -1;
    errno = 0;
    *out = strtoll(*p, &end, 10);
    if (errno || *end != stop) return -1;
    *p = end + 1;
    return 0;
}

int baton_dlq_source_parse(const char *error, char *topic, size_t topiclen,
                           int32_t *partition, int64_t *offset) {
    const char *open = error ? strchr(error, '[') : NULL, *p;
    long long part, off;
    size_t tlen;

    if (!open || open == error || !topiclen) return -1;
    tlen = (size_t)(open - error);
    if (tlen >= topiclen) return -1;
    p = open + 1;
    if (dlq_parse_num(&p, ']', &part) || *p++ != '@' ||
        dlq_parse_num(&p, ':', &off) || *p != ' ')
        return -1;
    if (part < 0 || part > INT32_MAX) return -1;
    memcpy(topic, error, tlen);
    topic[tlen] = '\0';
    *partition = (int32_t)part;
    *offset = (int64_t)off;
    return 0;
}

int baton_dlq_is_cut(const char *error, size_t len) {
    size_t m = strlen(BATON_DLQ_CUT_MARK);
    for (size_t i = 0; error && i + m <= len; i++)
        if (!memcmp(error + i, BATON_DLQ_CUT_MARK, m)) return 1;
    return 0;
}
