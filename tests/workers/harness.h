/*
 * harness.h -- what the test workers (test_worker.c -> baton-test-worker,
 * agent_worker.c -> baton-agent-worker) share: completing with a jansson
 * value, reading input fields, the exec log the integration tests count
 * executions with, and main's run sequence (config, worker, handlers,
 * SIGTERM/SIGINT, run, destroy).  Test tooling only, on the public SDK
 * (baton_worker.h).
 */
#ifndef BATON_TESTS_HARNESS_H
#define BATON_TESTS_HARNESS_H

#include <jansson.h>

#include "baton_worker.h"

/* Completes act with out (stolen, may be NULL); when out is NULL or cannot
 * be encoded the activity fails with oom_error.  Thread: the handler's. */
void harness_complete_new(baton_activity_t *act, json_t *out,
                          const char *oom_error);

/* obj's string member key, or def (obj may be NULL).  Borrowed from obj. */
const char *harness_str_or(json_t *obj, const char *key, const char *def);

/* Opens path for appending into *fd (nothing when path is NULL).  Returns
 * 0, or -1 after printing "<prog>: <path>: <why>" on stderr. */
int harness_open_log(const char *prog, const char *path, int *fd);

/* Appends "<task_id> <pid> <start_ms> <end_ms>" and, when type is not
 * NULL, " <type>", as one line with one write() (fd opened O_APPEND: many
 * workers share one file).  fd < 0: nothing.  Thread: any. */
void harness_exec_log(int fd, const baton_activity_t *act, int64_t start_ms,
                      const char *type);

/* Appends "<task_id> <pid> <start_ms> <name> <partition> <offset>" as
 * one line with one write() when an execution starts (the start log: a
 * test sees which worker had a task before it killed that worker, and the
 * task message's place in its topic).  fd < 0: nothing.
 * Thread: any. */
void harness_start_log(int fd, const baton_activity_t *act, int64_t start_ms,
                       const char *name);

/* Registers the worker's handlers; 0 or -1. */
typedef int (*harness_register_fn)(baton_worker_t *w);

/* main's sequence: config from file/environment then the queue and
 * concurrency flags (NULL: not given), the worker, reg, baton_worker_stop
 * on SIGTERM/SIGINT, run until drained, destroy.  Returns the exit status:
 * 0 after a clean drain, 1 on errors, 2 on a bad config. */
int harness_run(const char *prog, const char *config, const char *queue,
                const char *concurrency, harness_register_fn reg);

#endif
