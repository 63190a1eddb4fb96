/*
 * net_main.c -- the main() shared by baton-worker-llm, -http and -mcp: the
 * same flags, configuration order and signal handling as the example
 * worker (activities/examples/example_worker.c), plus curl's global
 * initialisation, which must run before any thread starts.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "net.h"

static baton_worker_t *net_running; /* for the signal handler */

static void net_on_signal(int sig) {
    (void)sig;
    baton_worker_stop(net_running); /* async-signal-safe */
}

static int net_flags(int argc, char **argv, const char *prog,
                     const char **config, const char **queue,
                     const char **concurrency) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"queue", required_argument, NULL, 'q'},
        {"concurrency", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "c:q:n:h", opts, NULL)) != -1) {
        if (c == 'c')
            *config = optarg;
        else if (c == 'q')
            *queue = optarg;
        else if (c == 'n')
            *concurrency = optarg;
        else
            break;
    }
    if (c != -1 || optind < argc) {
        fprintf(stderr,
                "usage: %s [--config FILE] [--queue Q] [--concurrency N]\n"
                "(docs/agents.md; configuration keys: batond --help)\n",
                prog);
        return 2;
    }
    return 0;
}

int baton_net_worker_main(int argc, char **argv, const char *prog,
                          const char *default_queue, baton_net_setup_fn setup,
                          baton_net_cleanup_fn cleanup) {
    const char *config = NULL, *queue = NULL, *concurrency = NULL;
    struct sigaction sa = {.sa_handler = net_on_signal, .sa_flags = SA_RESTART};
    baton_conf_t *conf;
    baton_worker_t *w;
    void *state = NULL;
    char err[512];
    int rc;

    if (net_flags(argc, argv, prog, &config, &queue, &concurrency)) return 2;
    if (!(conf = baton_worker_conf_load(config, queue, concurrency, err,
                                        sizeof err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 2;
    }
    if (!queue && !strcmp(baton_conf_get(conf, "worker.queue"), "default"))
        baton_conf_set(conf, "worker.queue", default_queue, err, sizeof err);
    if (baton_net_global_init()) {
        fprintf(stderr, "%s: curl_global_init failed\n", prog);
        baton_conf_destroy(conf);
        return 1;
    }
    if (!(w = baton_worker_new(conf, err, sizeof err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        baton_conf_destroy(conf);
        baton_net_global_cleanup();
        return 1;
    }
    if (setup(w, conf, &state)) {
        baton_worker_destroy(w);
        if (cleanup) cleanup(state);
        baton_conf_destroy(conf);
        baton_net_global_cleanup();
        return 2;
    }
    baton_conf_destroy(conf); /* setup copied what it keeps */
    net_running = w;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    rc = baton_worker_run(w) ? 1 : 0;
    if (rc) fprintf(stderr, "%s: %s\n", prog, baton_worker_errstr(w));
    net_running = NULL;
    baton_worker_destroy(w);
    if (cleanup) cleanup(state);
    baton_net_global_cleanup();
    return rc;
}
