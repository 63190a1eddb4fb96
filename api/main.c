/*
 * main.c -- baton-api, Baton's HTTP API (docs/api.md, api/openapi.yaml):
 * the /v1/ routes on baton_client (the same code as batonctl), /healthz,
 * /readyz and the web console's static files.
 *
 *   baton-api [--config FILE] [--set KEY=VALUE]... [--listen HOST:PORT]
 *
 * Settings (common/config.h): api.listen (host:port), api.token (or
 * BATON_API_TOKEN; unset = no authentication), api.console.dir (default:
 * BATON_API_CONSOLE_DIR, where the build bundles api/console/),
 * api.timeout.ms, and the Kafka and Redis settings every binary reads.
 * The request body cap is batond.payload.max, the largest payload batond
 * accepts in a command.
 *
 * libmicrohttpd runs a thread per connection with its own polling thread
 * (api.h); main() waits for SIGTERM or SIGINT, then stops the daemon.
 * Exit status: 0 after a signal, 1 when it cannot start, 2 usage errors.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "baton_common.h"
#include "cli.h"
#include "kafka.h"

#ifndef BATON_API_CONSOLE_DIR
#define BATON_API_CONSOLE_DIR "console"
#endif

/* Parses "host:port" into *sa (IPv4 or IPv6 numeric, or a name).
 * Returns 0 or -1 with errstr. */
static int api_listen_addr(const char *s, struct sockaddr_storage *sa,
                           char *errstr, size_t errlen) {
    char host[256];
    const char *colon = strrchr(s, ':');
    struct addrinfo hints = {0}, *res = NULL;
    int rc;
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof host) {
        snprintf(errstr, errlen, "api.listen wants HOST:PORT, not '%s'", s);
        return -1;
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:8080 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) || !res) {
        snprintf(errstr, errlen, "api.listen '%s': %s", s, gai_strerror(rc));
        return -1;
    }
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

/* The partition count of <prefix>.commands, looked up once (-1 when Kafka
 * does not answer: each request then looks it up or scans Redis). */
static int32_t api_partitions(const api_t *api) {
    char errstr[512];
    baton_client_t *c =
        baton_client_new(api->conf, api->timeout_ms, errstr, sizeof errstr);
    int32_t n = c ? baton_client_partition_count(c) : -1;
    baton_client_destroy(c);
    return n;
}

static void api_usage(FILE *fp) {
    fprintf(fp, "Usage: " API_PROG " [--config FILE] [--set KEY=VALUE]... "
                "[--listen HOST:PORT]\n"
                "The HTTP API of Baton (docs/api.md).\n");
}

/* Parses the command line; returns an exit code. */
static int api_args(int argc, char **argv, const char **config,
                    baton_cli_sets_t *sets, const char **listen) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, 's'},
        {"listen", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "c:s:l:h", opts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'c': *config = optarg; break;
        case 's': rc = baton_cli_sets_add_x(API_PROG, sets, optarg); break;
        case 'l': *listen = optarg; break;
        case 'h': api_usage(stdout); exit(0);
        default: api_usage(stderr); return BATON_CLI_EXIT_USAGE;
        }
        if (rc) return rc;
    }
    if (optind < argc) {
        api_usage(stderr);
        return BATON_CLI_EXIT_USAGE;
    }
    return BATON_CLI_EXIT_OK;
}

/* Starts the daemon on api; NULL (logged) when it cannot. */
static struct MHD_Daemon *api_start(api_t *api, const char *listen) {
    struct sockaddr_storage sa = {0};
    char errstr[512];
    struct MHD_Daemon *d;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (api_listen_addr(listen, &sa, errstr, sizeof errstr)) {
        BATON_ERROR("main", "%s", errstr);
        return NULL;
    }
    if (sa.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    d = MHD_start_daemon(
        flags, 0, NULL, NULL, api_http_handler, api, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, api_http_completed,
        NULL, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(API_RESULT_WAIT_MAX_S + 30), MHD_OPTION_END);
    if (!d) BATON_ERROR("main", "cannot listen on %s", listen);
    return d;
}

/* Waits for SIGTERM or SIGINT (blocked in every thread). */
static void api_wait_signal(const sigset_t *set) {
    int sig = 0;
    sigwait(set, &sig);
    BATON_INFO("main", "signal %d: stopping", sig);
}

int main(int argc, char **argv) {
    const char *config = NULL, *listen = NULL;
    baton_cli_sets_t sets = {0};
    api_t api = {0};
    struct MHD_Daemon *d;
    sigset_t set;
    int rc;

    baton_log_set_program(API_PROG);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread starts */
    if ((rc = api_args(argc, argv, &config, &sets, &listen)) ||
        (rc = baton_cli_conf_load(API_PROG, config, &sets, &api.conf))) {
        baton_cli_sets_clear(&sets);
        return rc;
    }
    api.token = baton_conf_get(api.conf, "api.token");
    if (api.token && !*api.token) api.token = NULL;
    api.console_dir = baton_conf_get(api.conf, "api.console.dir");
    if (!api.console_dir) api.console_dir = BATON_API_CONSOLE_DIR;
    api.body_max = (size_t)baton_conf_get_int(api.conf, "batond.payload.max");
    api.timeout_ms = (int)baton_conf_get_int(api.conf, "api.timeout.ms");
    if (!listen) listen = baton_conf_get(api.conf, "api.listen");
    api.partitions = api_partitions(&api);
    if (!(d = api_start(&api, listen))) {
        baton_conf_destroy(api.conf);
        baton_cli_sets_clear(&sets);
        return BATON_CLI_EXIT_FAIL;
    }
    BATON_INFO("main", "listening on %s (console %s, %s, %d partitions known)",
               listen, api.console_dir,
               api.token ? "token required" : "no token", (int)api.partitions);
    api_wait_signal(&set);
    MHD_stop_daemon(d);
    baton_conf_destroy(api.conf);
    baton_cli_sets_clear(&sets);
    return BATON_CLI_EXIT_OK;
}
