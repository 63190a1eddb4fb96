/*
 * cli.c -- the command-line helpers of cli.h: diagnostics, option value
 * parsing and the -b / -r / -X settings shared by batonctl, baton-bench,
 * baton-chaos, baton-devstack and baton-kafka.
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton_common.h"

#define BATON_CLI_MAX_SECONDS (86400.0 * 365)

static void baton_cli_vprint(const char *prog, const char *fmt, va_list ap) {
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
}

int baton_cli_fail(const char *prog, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    baton_cli_vprint(prog, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return BATON_CLI_EXIT_FAIL;
}

int baton_cli_usage_error(const char *prog, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    baton_cli_vprint(prog, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
    return BATON_CLI_EXIT_USAGE;
}

int baton_cli_parse_int(const char *prog, const char *opt, const char *arg,
                        int64_t min, int64_t max, int64_t *out) {
    if (!baton_parse_i64(arg, out) && *out >= min && *out <= max) return 0;
    if (max == INT64_MAX)
        return baton_cli_usage_error(
            prog, "%s wants an integer >= %" PRId64 ", not '%s'", opt, min,
            arg);
    return baton_cli_usage_error(
        prog, "%s wants an integer from %" PRId64 " to %" PRId64 ", not '%s'",
        opt, min, max, arg);
}

int baton_cli_parse_seconds(const char *prog, const char *opt, const char *arg,
                            double *out) {
    char *end;
    double v;
    errno = 0;
    v = strtod(arg, &end);
    if (errno || end == arg || *end || !(v >= 0) || v > BATON_CLI_MAX_SECONDS)
        return baton_cli_usage_error(
            prog, "%s wants a number of seconds, not '%s'", opt, arg);
    *out = v;
    return 0;
}

int baton_cli_sets_add(const char *prog, baton_cli_sets_t *sets,
                       const char *key, const char *value) {
    if (sets->n == BATON_CLI_MAX_SETS)
        return baton_cli_usage_error(prog, "too many -X/-b/-r options");
    sets->v[sets->n].key = key;
    sets->v[sets->n].value = value;
    sets->v[sets->n].owned = NULL;
    sets->n++;
    return 0;
}

int baton_cli_sets_add_x(const char *prog, baton_cli_sets_t *sets,
                         const char *arg) {
    char *copy, *eq;
    int rc;
    if (!(copy = baton_strdup(arg)))
        return baton_cli_fail(prog, "out of memory");
    if (!(eq = strchr(copy, '=')) || eq == copy) {
        baton_free(copy);
        return baton_cli_usage_error(prog, "-X wants KEY=VALUE, not '%s'", arg);
    }
    *eq = '\0';
    if ((rc = baton_cli_sets_add(prog, sets, copy, eq + 1))) {
        baton_free(copy);
        return rc;
    }
    sets->v[sets->n - 1].owned = copy;
    return 0;
}

void baton_cli_sets_clear(baton_cli_sets_t *sets) {
    for (int i = 0; i < sets->n; i++) baton_free(sets->v[i].owned);
    sets->n = 0;
}

int baton_cli_conf_load(const char *prog, const char *config_path,
                        const baton_cli_sets_t *sets, baton_conf_t **conf) {
    char errstr[512];
    int rc = BATON_CLI_EXIT_OK;
    baton_conf_t *c = baton_conf_new();

    *conf = NULL;
    if (!c) return baton_cli_fail(prog, "out of memory");
    if (baton_conf_load_default(c, config_path, errstr, sizeof errstr))
        rc = baton_cli_fail(prog, "%s", errstr);
    for (int i = 0; !rc && sets && i < sets->n; i++)
        if (baton_conf_set(c, sets->v[i].key, sets->v[i].value, errstr,
                           sizeof errstr))
            rc = baton_cli_usage_error(prog, "%s", errstr);
    if (!rc && baton_log_configure(baton_conf_get(c, "log.level"),
                                   baton_conf_get(c, "log.debug")))
        rc = baton_cli_usage_error(
            prog, "log.level must be error, warn, info or debug");
    if (rc) {
        baton_conf_destroy(c);
        return rc;
    }
    *conf = c;
    return BATON_CLI_EXIT_OK;
}
