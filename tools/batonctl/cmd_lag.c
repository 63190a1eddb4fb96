/*
 * cmd_lag.c -- the lag command: committed offsets of batond's group
 * (batond.group), of every task queue's workers (baton.worker.<queue>) and
 * of every baton-bridge trigger (its group over its source topics, from the
 * trigger files of bridge.triggers.dir) against each partition's end
 * offset, read without joining the groups (baton_client_lag,
 * client/client_lag.c); this file renders them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <stdio.h>

#include "baton_common.h"
#include "batonctl.h"

/* ---- lag ---------------------------------------------------------------- */

/* Prints the rows as a table and the total. */
static int ctl_lag_print_text(const json_t *lag) {
    static const ctl_field_t cols[] = {
        {"group", "GROUP", CTL_FMT_PLAIN},
        {"topic", "TOPIC", CTL_FMT_PLAIN},
        {"partition", "PARTITION", CTL_FMT_PLAIN},
        {"committed", "COMMITTED", CTL_FMT_PLAIN},
        {"end", "END", CTL_FMT_PLAIN},
        {"lag", "LAG", CTL_FMT_PLAIN},
    };
    int rc = ctl_print_table(json_object_get(lag, "partitions"), cols,
                             BATON_ARRAY_SIZE(cols));
    if (rc == BATON_CLI_EXIT_OK)
        printf("total lag: %" PRId64 "\n",
               (int64_t)json_integer_value(json_object_get(lag, "total")));
    return rc;
}

int ctl_cmd_lag(ctl_t *ctl) {
    char errstr[1024];
    json_t *lag;
    int rc;
    if (baton_client_lag(ctl->client, &lag, errstr, sizeof errstr))
        return ctl_client_fail(errstr);
    rc = ctl->o.json_out ? ctl_print_json(lag) : ctl_lag_print_text(lag);
    json_decref(lag);
    return rc;
}
