/*
 * cmd_worker_check.c -- the worker-check command: the conformance check of
 * the workers serving a task queue (baton_client_worker_check,
 * client/client_conformance.c, runs the cases through batond); this file
 * prints one line per case, or with --definition the conformance workflow
 * batond must load for the queue (docs/batonctl.md worker-check).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>

#include "baton_common.h"
#include "batonctl.h"

/* "ok   CASE  (note)" or "FAIL CASE: expected ...; got ..." per case, then
 * a summary line. */
static void ctl_wcheck_print_text(const json_t *r) {
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(r, "cases"), i, k) {
        const char *name = json_string_value(json_object_get(k, "case"));
        const char *note = json_string_value(json_object_get(k, "note"));
        if (json_is_true(json_object_get(k, "ok")) && note)
            printf("ok   %-14s(%s)\n", name, note);
        else if (json_is_true(json_object_get(k, "ok")))
            printf("ok   %s\n", name);
        else
            printf("FAIL %-14sexpected %s; got %s (run %s)\n", name,
                   json_string_value(json_object_get(k, "expected")),
                   json_string_value(json_object_get(k, "got")),
                   json_string_value(json_object_get(k, "run")));
    }
    printf("%d passed, %d failed\n",
           (int)json_integer_value(json_object_get(r, "passed")),
           (int)json_integer_value(json_object_get(r, "failed")));
}

int ctl_cmd_worker_check(ctl_t *ctl) {
    char errstr[1024];
    const char *queue = ctl->o.pos[0];
    json_t *r;
    int rc;
    if (ctl->o.definition) {
        if (!baton_codec_queue_ok(queue))
            return ctl_usage_error("queue '%s': 1 to %d of [A-Za-z0-9._-]",
                                   queue, BATON_QUEUE_NAME_MAX);
        if (!(r = baton_client_conformance_definition(queue)))
            return ctl_fail("out of memory");
        rc = json_dumpf(r, stdout, JSON_INDENT(2)) || fputc('\n', stdout) < 0
                 ? ctl_fail("writing the definition failed")
                 : BATON_CLI_EXIT_OK;
        json_decref(r);
        return rc;
    }
    if (baton_client_worker_check(ctl->client, queue, &r, errstr,
                                  sizeof errstr))
        return ctl_client_fail(errstr);
    if (ctl->o.json_out)
        rc = ctl_print_json(r);
    else {
        ctl_wcheck_print_text(r);
        rc = BATON_CLI_EXIT_OK;
    }
    if (rc == BATON_CLI_EXIT_OK &&
        json_integer_value(json_object_get(r, "failed")))
        rc = BATON_CLI_EXIT_FAIL;
    json_decref(r);
    return rc;
}
