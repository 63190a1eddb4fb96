/*
 * health.c -- /healthz (the process answers) and /readyz (Redis answers
 * PING and Kafka answers a metadata request within api's time-out): what
 * a load balancer or Kubernetes probes.  No token needed.
 *
 * Thread: the connection's thread (api.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>

#include "api.h"

void api_healthz(api_req_t *r) {
    api_answer(r, MHD_HTTP_OK, json_pack("{ss}", "status", "ok"));
}

void api_readyz(api_req_t *r) {
    char errstr[1024], why[1100];
    baton_client_t *c = baton_client_new(r->api->conf, r->api->timeout_ms,
                                         errstr, sizeof errstr);
    baton_client_err_t rc = c ? BATON_CLIENT_OK : BATON_CLIENT_E_INTERNAL;

    if (!rc && (rc = baton_client_redis_ping(c, errstr, sizeof errstr)))
        snprintf(why, sizeof why, "Redis: %s", errstr);
    else if (!rc && (rc = baton_client_kafka_ping(c, errstr, sizeof errstr)))
        snprintf(why, sizeof why, "Kafka: %s", errstr);
    else if (rc)
        snprintf(why, sizeof why, "%s", errstr);
    baton_client_destroy(c);
    if (rc)
        api_answer(r, MHD_HTTP_SERVICE_UNAVAILABLE,
                   json_pack("{ss ss}", "status", "not_ready", "reason", why));
    else
        api_answer(r, MHD_HTTP_OK, json_pack("{ss}", "status", "ready"));
}
