/*
 * cli.h -- what every Baton binary with a command line shares: exit codes,
 * diagnostics on stderr ("<prog>: <message>"), option value parsing, and
 * the -b / -r / -X settings applied over the configuration file.
 *
 * Where it fits: batonctl (tools/batonctl/), baton-devstack, baton-bench
 * (bench/), baton-chaos (tests/chaos/) and baton-kafka (tests/tools/) print
 * their errors and exit the same way with it; the configuration itself is
 * common/config.h.  The program name is passed to every call (no global
 * state); each binary keeps it in one #define.
 *
 * Exit codes (STYLE.md, "Tools and the CLI"): 0 success, 1 any failure, 2
 * usage errors (unknown option, missing or malformed argument): a binary
 * that returns 2 did nothing.
 *
 * Thread: any; the functions keep no state beyond their arguments.
 */
#ifndef BATON_CLI_H
#define BATON_CLI_H

#include <stdint.h>

#include "config.h"

enum {
    BATON_CLI_EXIT_OK = 0,
    BATON_CLI_EXIT_FAIL = 1,
    BATON_CLI_EXIT_USAGE = 2,
};

#define BATON_CLI_MAX_SETS 64

/* Prints "<prog>: <message>\n" on stderr; returns BATON_CLI_EXIT_FAIL. */
__attribute__((format(printf, 2, 3))) int baton_cli_fail(const char *prog,
                                                         const char *fmt, ...);

/* Prints "<prog>: <message>" and "Try '<prog> --help' for more
 * information." on stderr; returns BATON_CLI_EXIT_USAGE. */
__attribute__((format(printf, 2, 3))) int
baton_cli_usage_error(const char *prog, const char *fmt, ...);

/* Parses a whole decimal integer in [min, max] from arg into *out.
 * Returns 0, or BATON_CLI_EXIT_USAGE after printing "<opt> wants an integer
 * >= min" (max INT64_MAX) or "<opt> wants an integer from min to max". */
int baton_cli_parse_int(const char *prog, const char *opt, const char *arg,
                        int64_t min, int64_t max, int64_t *out);

/* Parses a non-negative number of seconds (fractions allowed, at most a
 * year) into *out.  Returns 0, or BATON_CLI_EXIT_USAGE (printed). */
int baton_cli_parse_seconds(const char *prog, const char *opt, const char *arg,
                            double *out);

/* Configuration settings from flags, applied in command-line order over
 * the file and the environment: -b and -r map to a fixed key, -X KEY=VALUE
 * to any.  Zero-initialise; baton_cli_sets_clear frees the -X copies. */
typedef struct baton_cli_set {
    const char *key;   /* borrowed (-b/-r) or inside owned (-X) */
    const char *value; /* borrowed from argv or inside owned */
    char *owned;       /* -X: the copy of "key=value", split at '=' */
} baton_cli_set_t;

typedef struct baton_cli_sets {
    baton_cli_set_t v[BATON_CLI_MAX_SETS];
    int n;
} baton_cli_sets_t;

/* Records key = value (both borrowed: they must outlive sets).  Returns 0,
 * or BATON_CLI_EXIT_USAGE (printed) when there are too many. */
int baton_cli_sets_add(const char *prog, baton_cli_sets_t *sets,
                       const char *key, const char *value);

/* Records the argument of -X, "KEY=VALUE" (copied).  Returns 0,
 * BATON_CLI_EXIT_USAGE when it has no '=' or an empty key, or
 * BATON_CLI_EXIT_FAIL when out of memory (printed). */
int baton_cli_sets_add_x(const char *prog, baton_cli_sets_t *sets,
                         const char *arg);

/* Frees the -X copies; sets is empty afterwards. */
void baton_cli_sets_clear(baton_cli_sets_t *sets);

/* The configuration of a command-line binary: a new baton_conf_t loaded
 * from config_path (NULL: $BATON_CONFIG, else the dev stack's, see
 * config.h) and the environment, then sets applied in order, then the log
 * level configured from log.level / log.debug.  Returns 0 with *conf (the
 * caller destroys it), or an exit code (printed) with *conf NULL: 1 when
 * the file cannot be loaded, 2 when a setting or the log level is bad. */
int baton_cli_conf_load(const char *prog, const char *config_path,
                        const baton_cli_sets_t *sets, baton_conf_t **conf);

#endif
