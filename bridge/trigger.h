/*
 * trigger.h -- trigger definitions of baton-bridge: one JSON file per
 * trigger in config/triggers/ (next to config/workflows/), parsed and
 * validated at start (docs/bridge.md is the user's reference).
 *
 * A trigger names the source topic(s) it consumes, its own consumer group,
 * the format of the events, a filter (an ASL Choice rule, asl.h) and an
 * action: start, signal or start_or_signal a workflow, with Parameters-
 * style templates over the event object (event.h) giving the workflow id,
 * the input or signal payload and an optional business message id.
 *
 * File layout (every field but topics and action optional):
 *
 *   { "comment": "free text",
 *     "topics": ["order.created"],           one topic or a list of them
 *     "group": "baton.bridge.<trigger>",     the consumer group
 *     "format": "json" | "cloudevents" | "avro",
 *     "avro": {                              format avro only, optional
 *       "registry_url": "http://sr:8081",    else bridge.avro.registry.url
 *       "registry_user": "bridge",           basic auth (else the bridge's)
 *       "registry_password_file": "/run/secrets/sr",
 *       "schemas": ["order.avsc"] },         single-object schemas, paths
 *                                            relative to the trigger file
 *     "filter": { Choice rule, no Next },    absent: every event matches
 *     "unmatched": "skip" | "dlq",           what to do with the others
 *     "max_bytes": 1048576,                  larger records go to the DLQ
 *     "action": {
 *       "type": "start" | "signal" | "start_or_signal",
 *       "workflow_type": "order-saga",       start, start_or_signal
 *       "id_reuse": "refuse_while_running" | "allow_after_close" | "never",
 *       "signal": "payment.settled",         signal, start_or_signal
 *       "id.$": "States.Format('order-{}', $.value.orderId)",  (or "id")
 *       "input.$": "$.value",                (or "input": {template})
 *       "payload.$": "$.value",              (or "payload": {template})
 *       "message_id.$": "$.headers.eventId", business dedupe id
 *       "dedupe_window_seconds": 86400,      with message_id only
 *       "signal_hold_seconds": 3600 } }      signal only
 *
 * The trigger's name is its file name without ".trigger.json" / ".json".
 * Errors name the file, the field and the reason:
 *   "config/triggers/orders.json: field 'action.workflow_type': required
 *    for action type 'start'".
 * Pure logic over jansson values; any thread.
 */
#ifndef BATON_BRIDGE_TRIGGER_H
#define BATON_BRIDGE_TRIGGER_H

#include <jansson.h>

#include "baton_common.h"

typedef enum {
    BATON_TRIGGER_FORMAT_JSON = 0,
    BATON_TRIGGER_FORMAT_CLOUDEVENTS,
    BATON_TRIGGER_FORMAT_AVRO,
} baton_trigger_format_t;

typedef enum {
    BATON_TRIGGER_START = 0,
    BATON_TRIGGER_SIGNAL,
    BATON_TRIGGER_START_OR_SIGNAL,
} baton_trigger_action_t;

/* A validated trigger.  Everything is owned by it. */
typedef struct baton_trigger {
    char *name;    /* from the file name */
    char *file;    /* the path it was read from (messages) */
    char **topics; /* ntopics >= 1 */
    size_t ntopics;
    char *group; /* consumer group */
    baton_trigger_format_t format;
    /* format avro: the trigger's own registry (NULL: the bridge's) and
     * schema files (paths resolved against the trigger's folder) */
    char *avro_registry_url, *avro_registry_user, *avro_password_file;
    char **avro_schemas;
    size_t navro_schemas;
    json_t *filter; /* Choice rule, or NULL: all match */
    int unmatched_dlq;
    int64_t max_bytes; /* 0: the bridge's bridge.message.max */
    baton_trigger_action_t action;
    char *workflow_type; /* start, start_or_signal */
    char *id_reuse;      /* start, start_or_signal; NULL = default */
    char *signal;        /* signal, start_or_signal */
    /* The templates as one object: "id" (or "id.$"), "input"/"input.$"
     * (start kinds), "payload"/"payload.$" (signal kinds), "message_id.$"
     * (optional).  Evaluated at once over the event object. */
    json_t *tmpl;
    int64_t dedupe_window_ms; /* 0: batond's default */
    int64_t signal_hold_ms;   /* 0: batond's default */
} baton_trigger_t;

/* Parses and validates one trigger from JSON text.  `name` is the trigger
 * name, `file` the path for messages, `group_prefix` the prefix of the
 * default group ("baton.bridge" gives "baton.bridge.<name>").  Returns
 * BATON_OK with *out (destroy it), or BATON_ERR_INVALID with errstr
 * "<file>: field '<field>': <reason>", or BATON_ERR_NOMEM. */
baton_err_t baton_trigger_parse(const char *name, const char *file,
                                const char *text, const char *group_prefix,
                                baton_trigger_t **out, char *errstr,
                                size_t errlen);

/* Reads and parses one file; the name comes from the file name. */
baton_err_t baton_trigger_load_file(const char *path, const char *group_prefix,
                                    baton_trigger_t **out, char *errstr,
                                    size_t errlen);

/* Loads every *.json file of dir, in name order.  *out is a baton_malloc'd
 * array of *n triggers (baton_trigger_list_destroy).  A folder without a
 * trigger is an error; so are two triggers with one group. */
baton_err_t baton_trigger_load_dir(const char *dir, const char *group_prefix,
                                   baton_trigger_t ***out, size_t *n,
                                   char *errstr, size_t errlen);

void baton_trigger_destroy(baton_trigger_t *t); /* NULL is a no-op */
void baton_trigger_list_destroy(baton_trigger_t **list, size_t n);

/* The trigger name of a path: the base name less ".trigger.json" or
 * ".json", into buf. */
void baton_trigger_name_of(const char *path, char *buf, size_t len);

const char *baton_trigger_action_name(baton_trigger_action_t a);
const char *baton_trigger_format_name(baton_trigger_format_t f);

#endif /* BATON_BRIDGE_TRIGGER_H */
