/*
 * output.c -- how batonctl prints the JSON value every read command builds:
 * one line of compact JSON (-o json), or text: aligned "label: value" lines
 * (describe) or a table (history, list, lag), times as ISO 8601 UTC.
 * Data goes to stdout; diagnostics to stderr.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "baton_common.h"
#include "batonctl.h"

/* ---- output ------------------------------------------------------------- */

/* "2024-05-01T12:00:00.123Z" into buf; "-" for 0. */
static const char *ctl_fmt_time(int64_t ms, char *buf, size_t len) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char day[32];
    if (ms <= 0 || !gmtime_r(&t, &tm)) {
        snprintf(buf, len, "-");
        return buf;
    }
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03dZ", day, (int)(ms % 1000));
    return buf;
}

/* Compact JSON text of v (any type) for the text output, baton_malloc'd;
 * NULL when out of memory.  Reals with 15 significant digits, so a sum of
 * costs reads 0.0003744, not 0.00037439999999999999 (-o json keeps 17). */
static char *ctl_json_text(const json_t *v) {
    char *s =
        json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    char *copy = s ? baton_strdup(s) : NULL;
    free(s);
    return copy;
}

static char *ctl_fmt_value(const json_t *v, ctl_fmt_t fmt);

/* "task seq=3 attempt=1 ..." from a pending object (a "due" rendered as a
 * time); baton_malloc'd, NULL when out of memory. */
static char *ctl_fmt_pending(const json_t *p) {
    const char *k;
    json_t *v;
    const char *kind = json_string_value(json_object_get(p, "kind"));
    char *out = baton_strdup(kind ? kind : "?");
    size_t len = out ? strlen(out) : 0;

    json_object_foreach((json_t *)p, k, v) {
        char *vs, *n;
        size_t add;
        if (!out || !strcmp(k, "kind")) continue;
        vs = ctl_fmt_value(v, strcmp(k, "due") ? CTL_FMT_PLAIN : CTL_FMT_TIME);
        add = strlen(k) + (vs ? strlen(vs) : 0) + 2;
        if (vs && (n = baton_realloc(out, len + add + 1))) {
            out = n;
            len += (size_t)snprintf(out + len, add + 1, " %s=%s", k, vs);
        } else {
            baton_free(out);
            out = NULL;
        }
        baton_free(vs);
    }
    return out;
}

/* Text form of one value; baton_malloc'd, NULL when out of memory. */
static char *ctl_fmt_value(const json_t *v, ctl_fmt_t fmt) {
    char buf[64];
    if (!v || json_is_null(v)) return baton_strdup("-");
    if (fmt == CTL_FMT_TIME && json_is_integer(v))
        return baton_strdup(
            ctl_fmt_time(json_integer_value(v), buf, sizeof buf));
    if (fmt == CTL_FMT_PENDING && json_is_object(v)) return ctl_fmt_pending(v);
    if (json_is_string(v)) return baton_strdup(json_string_value(v));
    return ctl_json_text(v);
}

/* Prints v on stdout as one line of compact JSON.  Returns an exit code. */
int ctl_print_json(const json_t *v) {
    if (json_dumpf(v, stdout, JSON_COMPACT | JSON_ENCODE_ANY) ||
        fputc('\n', stdout) == EOF)
        return ctl_fail("writing to stdout failed");
    return BATON_CLI_EXIT_OK;
}

/* Prints the fields of obj as aligned "label: value" lines. */
int ctl_print_fields(const json_t *obj, const ctl_field_t *f, size_t nf) {
    int w = 0;
    for (size_t i = 0; i < nf; i++)
        if ((int)strlen(f[i].label) > w) w = (int)strlen(f[i].label);
    for (size_t i = 0; i < nf; i++) {
        char *s = ctl_fmt_value(json_object_get(obj, f[i].key), f[i].fmt);
        if (!s) return ctl_fail("out of memory");
        printf("%s:%*s %s\n", f[i].label, w - (int)strlen(f[i].label), "", s);
        baton_free(s);
    }
    return BATON_CLI_EXIT_OK;
}

/* Prints an array of objects as a table: a header, then one row each, the
 * columns padded to their widest cell (the last one is not padded). */
int ctl_print_table(const json_t *rows, const ctl_field_t *f, size_t nf) {
    size_t nrows = json_array_size(rows), ncells = (nrows + 1) * nf;
    char **cells = baton_calloc(ncells, sizeof(char *));
    int w[16] = {0}, oom = 0;

    if (!cells || nf > BATON_ARRAY_SIZE(w)) { /* NEVER: nf is a constant */
        baton_free(cells);
        return ctl_fail("out of memory");
    }
    for (size_t c = 0; c < nf; c++) cells[c] = baton_strdup(f[c].label);
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < nf; c++)
            cells[(r + 1) * nf + c] = ctl_fmt_value(
                json_object_get(json_array_get(rows, r), f[c].key), f[c].fmt);
    for (size_t i = 0; i < ncells; i++) {
        if (!cells[i])
            oom = 1;
        else if ((int)strlen(cells[i]) > w[i % nf])
            w[i % nf] = (int)strlen(cells[i]);
    }
    for (size_t i = 0; !oom && i < ncells; i++) {
        if (i % nf == nf - 1)
            printf("%s\n", cells[i]);
        else
            printf("%-*s  ", w[i % nf], cells[i]);
    }
    for (size_t i = 0; i < ncells; i++) baton_free(cells[i]);
    baton_free(cells);
    return oom ? ctl_fail("out of memory") : BATON_CLI_EXIT_OK;
}
