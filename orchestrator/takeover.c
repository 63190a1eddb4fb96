/*
 * takeover.c -- taking a set of partitions over (takeover.h).
 */
#include "takeover.h"

int baton_takeover_run(const baton_takeover_port_t *port, const int32_t *parts,
                       size_t n) {
    size_t i = 0;
    while (i < n) {
        char err[512];
        if (!port->take(port->ctx, parts[i], err, sizeof err)) {
            i++;
            continue;
        }
        BATON_ERROR("takeover",
                    "taking partition %d: %s; reconnecting and "
                    "taking all %zu partitions of the set again",
                    parts[i], err, n);
        if (port->reconnect(port->ctx)) return -1;
        i = 0; /* a restarted store may have lost the epochs taken so far */
    }
    return 0;
}
