/*
 * cmd_dlq.c -- the dlq command: list the records of <topic.prefix>.dlq
 * (batond's and baton-bridge's, format in common/dlq.h) and replay one to
 * its source topic.  baton_client reads and replays them
 * (client/client_dlq.c: a consumer that never joins a group); this file
 * checks the arguments and renders the records.
 *
 *   batonctl dlq [--wait SECONDS]        one record per block (text) or per
 *                                        line (-o json, value in base64)
 *   batonctl dlq replay P:O [--to TOPIC] re-produce record O of partition P
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "baton_common.h"
#include "batonctl.h"

/* ---- dlq (list) --------------------------------------------------------- */

/* Prints one record: a "key: value" block (blank line between records) or
 * one JSON line. */
static int dlq_print_record(ctl_t *ctl, const json_t *o, size_t n) {
    static const ctl_field_t fields[] = {
        {"partition", "partition", CTL_FMT_PLAIN},
        {"offset", "offset", CTL_FMT_PLAIN},
        {"timestamp", "time", CTL_FMT_TIME},
        {"source_topic", "source topic", CTL_FMT_PLAIN},
        {"source_partition", "source partition", CTL_FMT_PLAIN},
        {"source_offset", "source offset", CTL_FMT_PLAIN},
        {"trigger", "trigger", CTL_FMT_PLAIN},
        {"key", "key", CTL_FMT_PLAIN},
        {"reason", "reason", CTL_FMT_PLAIN},
        {"value_size", "value size", CTL_FMT_PLAIN},
        {"value_prefix", "value", CTL_FMT_PLAIN},
    };
    ctl_field_t shown[BATON_ARRAY_SIZE(fields)];
    size_t ns = 0;
    if (ctl->o.json_out) return ctl_print_json(o);
    /* The trigger line only for bridge records. */
    for (size_t i = 0; i < BATON_ARRAY_SIZE(fields); i++)
        if (strcmp(fields[i].key, "trigger") ||
            !json_is_null(json_object_get(o, "trigger")))
            shown[ns++] = fields[i];
    if (n) printf("\n");
    return ctl_print_fields(o, shown, ns);
}

static int dlq_list(ctl_t *ctl) {
    char errstr[1024];
    json_t *records, *o;
    size_t i;
    int rc = BATON_CLI_EXIT_OK;
    if (baton_client_dlq_list(ctl->client, ctl->o.wait_s, -1, ctl->o.json_out,
                              &records, errstr, sizeof errstr))
        return ctl_client_fail(errstr);
    json_array_foreach(records, i, o) {
        if ((rc = dlq_print_record(ctl, o, i))) break;
    }
    json_decref(records);
    return rc;
}

/* ---- dlq replay --------------------------------------------------------- */

/* Parses "P:O" into *p and *o.  Returns 0 or -1. */
static int dlq_parse_position(const char *s, int32_t *p, int64_t *o) {
    const char *colon = strchr(s, ':');
    char ps[32];
    int64_t pv, ov;
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof ps) return -1;
    memcpy(ps, s, (size_t)(colon - s));
    ps[colon - s] = '\0';
    if (baton_parse_i64(ps, &pv) || pv < 0 || pv > INT32_MAX ||
        baton_parse_i64(colon + 1, &ov) || ov < 0)
        return -1;
    *p = (int32_t)pv;
    *o = ov;
    return 0;
}

static int dlq_replay(ctl_t *ctl, const char *pos) {
    char errstr[1024];
    int32_t p;
    int64_t o;
    json_t *out;
    int rc;

    if (dlq_parse_position(pos, &p, &o))
        return ctl_usage_error("dlq replay wants PARTITION:OFFSET, not '%s'",
                               pos);
    if (baton_client_dlq_replay(ctl->client, p, o, ctl->o.to, &out, errstr,
                                sizeof errstr))
        return ctl_client_fail(errstr);
    if (ctl->o.json_out)
        rc = ctl_print_json(out);
    else {
        printf("replayed DLQ record %d:%" PRId64 " to %s [%d] at offset "
               "%" PRId64 "\n",
               (int)p, o, json_string_value(json_object_get(out, "topic")),
               (int)json_integer_value(json_object_get(out, "partition")),
               (int64_t)json_integer_value(json_object_get(out, "offset")));
        rc = BATON_CLI_EXIT_OK;
    }
    json_decref(out);
    return rc;
}

/* ---- the command ---------------------------------------------------------- */

int ctl_cmd_dlq(ctl_t *ctl) {
    int replay = ctl->o.nargs == 2 && !strcmp(ctl->o.args[0], "replay");

    if (ctl->o.nargs && !replay)
        return ctl_usage_error("usage: " CTL_PROG
                               " dlq [--wait SECONDS] | " CTL_PROG
                               " dlq replay PARTITION:OFFSET "
                               "[--to TOPIC]");
    if (replay && (ctl->o.given & CTL_O_WAIT))
        return ctl_usage_error("--wait does not apply to 'dlq replay'");
    if (!replay && (ctl->o.given & CTL_O_TO))
        return ctl_usage_error("--to applies to 'dlq replay' only");
    return replay ? dlq_replay(ctl, ctl->o.args[1]) : dlq_list(ctl);
}
