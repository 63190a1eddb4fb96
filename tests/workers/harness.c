/*
 * harness.c -- the blocks the two test workers share (harness.h): output
 * helpers, the exec and start logs, and main's run sequence with signal handling.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUBSYS "harness"

static baton_worker_t *harness_worker; /* for the signal handler only */

void harness_complete_new(baton_activity_t *act, json_t *out,
                          const char *oom_error) {
    char *text = out ? json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (text)
        baton_activity_complete(act, text);
    else
        baton_activity_fail(act, oom_error, "encoding output", 0);
    free(text);
    json_decref(out);
}

const char *harness_str_or(json_t *obj, const char *key, const char *def) {
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : def;
}

int harness_open_log(const char *prog, const char *path, int *fd) {
    if (!path) return 0;
    *fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (*fd < 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    return 0;
}

void harness_exec_log(int fd, const baton_activity_t *act, int64_t start_ms,
                      const char *type) {
    char line[1024];
    int n;
    if (fd < 0) return;
    n = snprintf(line, sizeof line, "%s %d %lld %lld%s%s\n",
                 baton_activity_task_id(act), (int)getpid(),
                 (long long)start_ms, (long long)baton_now_ms(),
                 type ? " " : "", type ? type : "");
    if (n > 0 && (size_t)n < sizeof line && write(fd, line, (size_t)n) != n)
        BATON_WARN(SUBSYS, "writing the exec log: %s", strerror(errno));
}

void harness_start_log(int fd, const baton_activity_t *act, int64_t start_ms,
                       const char *name) {
    char line[1024];
    int n;
    if (fd < 0) return;
    n = snprintf(line, sizeof line, "%s %d %lld %s %d %lld\n",
                 baton_activity_task_id(act), (int)getpid(),
                 (long long)start_ms, name ? name : "-",
                 (int)baton_activity_partition(act),
                 (long long)baton_activity_offset(act));
    if (n > 0 && (size_t)n < sizeof line && write(fd, line, (size_t)n) != n)
        BATON_WARN(SUBSYS, "writing the start log: %s", strerror(errno));
}

static void harness_on_signal(int sig) {
    (void)sig;
    baton_worker_stop(harness_worker); /* async-signal-safe */
}

static void harness_install_signals(baton_worker_t *w) {
    struct sigaction sa;
    harness_worker = w;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = harness_on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

int harness_run(const char *prog, const char *config, const char *queue,
                const char *concurrency, harness_register_fn reg) {
    baton_conf_t *conf;
    baton_worker_t *w;
    char err[512];
    int rc;

    if (!(conf = baton_worker_conf_load(config, queue, concurrency, err,
                                        sizeof err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 2;
    }
    w = baton_worker_new(conf, err, sizeof err);
    baton_conf_destroy(conf);
    if (!w) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    if (reg(w)) {
        fprintf(stderr, "%s: registering handlers failed\n", prog);
        baton_worker_destroy(w);
        return 1;
    }
    harness_install_signals(w);
    rc = baton_worker_run(w) ? 1 : 0;
    if (rc) fprintf(stderr, "%s: %s\n", prog, baton_worker_errstr(w));
    harness_worker = NULL;
    baton_worker_destroy(w);
    return rc;
}
