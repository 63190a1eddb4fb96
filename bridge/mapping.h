/*
 * mapping.h -- from one event object (event.h) to the command a trigger
 * makes of it: the filter decides whether it applies, the templates give
 * the workflow id, the input or payload and the business message id.
 *
 *   action            command
 *   start             START  workflow_type, payload = input, id_reuse
 *   signal            SIGNAL name = signal, payload, signal_hold_ms
 *   start_or_signal   SIGNAL name = signal, payload, start_if_absent = 1,
 *                     workflow_type, start_input = input, id_reuse
 *
 * Every command carries dedupe_id "<trigger>/<topic>/<partition>/<offset>",
 * or "<trigger>/msg/<message id>" when the trigger has "message_id.$"
 * (then also dedupe_window_ms), and the source coordinates.  Intrinsics
 * that draw random numbers (States.UUID, States.MathRandom) are seeded
 * from the source coordinates (trigger, topic, partition, offset), so a
 * redelivered event maps to the same command.
 * Pure; any thread.
 */
#ifndef BATON_BRIDGE_MAPPING_H
#define BATON_BRIDGE_MAPPING_H

#include <jansson.h>

#include "codec.h"
#include "trigger.h"

/* Maps event (from baton_bridge_event_build) with trigger t.
 * BATON_OK and *matched = 0: the filter did not match (cmd untouched).
 * BATON_OK and *matched = 1: *cmd filled (strings baton_malloc'd: clear it
 * with baton_command_clear), ready to encode; sent_at_ms = now_ms.
 * BATON_ERR_INVALID: the event cannot be mapped (a filter or template
 * error of the language, an id that is not a 1..256-byte string, a
 * payload larger than payload_max bytes): errstr says why, for the DLQ.
 * BATON_ERR_NOMEM. */
baton_err_t baton_bridge_map(const baton_trigger_t *t, json_t *event,
                             int64_t payload_max, int64_t now_ms,
                             baton_command_t *cmd, int *matched, char *errstr,
                             size_t errlen);

#endif /* BATON_BRIDGE_MAPPING_H */
