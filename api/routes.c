/*
 * routes.c -- baton-api's /v1/ routes (docs/api.md, api/openapi.yaml).
 * Each handler makes a baton_client for its request (client/client.h),
 * calls it and serialises the JSON it returns; a client failure becomes
 * the error answer of its kind (http.c api_client_error).
 *
 *   POST /v1/runs                          start
 *   GET  /v1/runs                          list (status, type, limit,
 *                                          cursor = the last id returned)
 *   GET  /v1/runs/{id}                     describe
 *   GET  /v1/runs/{id}/result              result (wait: long poll)
 *   GET  /v1/runs/{id}/history             history (from, limit)
 *   GET  /v1/runs/{id}/live                live model output (cursor)
 *   POST /v1/runs/{id}/signals/{name}      signal (body = payload)
 *   POST /v1/runs/{id}/cancel | terminate  {"reason"?}
 *   GET  /v1/definitions/{type}            definition (version)
 *   GET  /v1/dlq                           DLQ records (limit)
 *   POST /v1/dlq/{partition}/{offset}/replay
 *   GET  /v1/queues                        worker lag per queue
 *   GET  /v1/lag                           lag of every group
 *
 * Dispatch is the table api_routes (the end of this file), which
 * tests/openapi/check.py compares with api/openapi.yaml.
 *
 * Thread: the connection's thread (api.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "baton_common.h"

#define API_SEGS_MAX 6

/* The path after /v1/ cut at '/' (empty segments kept). */
typedef struct api_path {
    char buf[2048];
    const char *seg[API_SEGS_MAX];
    int n; /* API_SEGS_MAX + 1: too many */
} api_path_t;

static void api_path_split(api_path_t *p, const char *url) {
    char *s = p->buf, *slash;
    snprintf(p->buf, sizeof p->buf, "%s", url + 4); /* after "/v1/" */
    p->n = 0;
    for (;;) {
        if (p->n == API_SEGS_MAX) {
            p->n++;
            return;
        }
        p->seg[p->n++] = s;
        if (!(slash = strchr(s, '/'))) return;
        *slash = '\0';
        s = slash + 1;
    }
}

/* A new client for r (its Kafka partition count preset when known). */
static baton_client_t *api_client(api_req_t *r) {
    char errstr[512];
    baton_client_t *c = baton_client_new(r->api->conf, r->api->timeout_ms,
                                         errstr, sizeof errstr);
    if (!c)
        api_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "%s", errstr);
    else if (r->api->partitions > 0)
        baton_client_set_partition_count(c, r->api->partitions);
    return c;
}

/* Query argument name as an integer in [lo, hi] into *v (dflt when
 * absent); 0, or -1 with a bad_request answer. */
static int api_query_int(api_req_t *r, const char *name, int64_t dflt,
                         int64_t lo, int64_t hi, int64_t *v) {
    const char *s = api_query(r, name);
    *v = dflt;
    if (!s) return 0;
    if (baton_parse_i64(s, v) || *v < lo || *v > hi) {
        api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
                  "query argument %s wants an integer from %lld to %lld, not "
                  "'%.40s'",
                  name, (long long)lo, (long long)hi, s);
        return -1;
    }
    return 0;
}

/* The body as JSON (an empty body: NULL and 0); -1 with a bad_request
 * answer when it is not JSON. */
static int api_body_json(api_req_t *r, json_t **out) {
    json_error_t jerr;
    *out = NULL;
    if (!r->body || !r->body_len) return 0;
    if (!(*out = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, &jerr))) {
        api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
                  "the request body is not JSON: %s (line %d, column %d)",
                  jerr.text, jerr.line, jerr.column);
        return -1;
    }
    return 0;
}

/* obj[key] as a string into *s (NULL when absent or null); -1 with a
 * bad_request answer when it is another type. */
static int api_field_str(api_req_t *r, const json_t *obj, const char *key,
                         const char **s) {
    json_t *v = json_object_get(obj, key);
    *s = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) {
        api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
                  "\"%s\" must be a string", key);
        return -1;
    }
    *s = json_string_value(v);
    return 0;
}

/* ---- runs --------------------------------------------------------------- */

static void api_start(api_req_t *r, baton_client_t *c) {
    baton_client_start_t st = {0};
    char errstr[1024], *input = NULL;
    json_t *body, *sent = NULL;
    baton_client_err_t rc;

    if (api_body_json(r, &body)) return;
    if (!json_is_object(body)) {
        json_decref(body);
        api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
                  "the body must be a JSON object {\"type\", \"id\"?, "
                  "\"input\"?, ...}");
        return;
    }
    if (api_field_str(r, body, "type", &st.type) ||
        api_field_str(r, body, "id", &st.id) ||
        api_field_str(r, body, "version", &st.version) ||
        api_field_str(r, body, "id_reuse", &st.id_reuse) ||
        api_field_str(r, body, "dedupe_id", &st.dedupe_id)) {
        json_decref(body);
        return;
    }
    if (!st.type) {
        json_decref(body);
        api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
                  "\"type\" (the workflow type) is required");
        return;
    }
    if (json_object_get(body, "input") &&
        !(input = json_dumps(json_object_get(body, "input"),
                             JSON_COMPACT | JSON_ENCODE_ANY))) {
        json_decref(body);
        api_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                  "out of memory");
        return;
    }
    st.input = input;
    rc = baton_client_start(c, &st, &sent, errstr, sizeof errstr);
    if (rc)
        api_client_error(r, rc, errstr);
    else
        api_answer(r, MHD_HTTP_ACCEPTED,
                   json_pack("{sO ss sO}", "id", json_object_get(sent, "id"),
                             "type", st.type, "partition",
                             json_object_get(sent, "partition")));
    free(input);
    json_decref(sent);
    json_decref(body);
}

/* The rows after cursor (ids sorted), at most limit. */
static void api_list(api_req_t *r, baton_client_t *c) {
    const char *st = api_query(r, "status"), *type = api_query(r, "type");
    const char *cursor = api_query(r, "cursor");
    char status[16], errstr[1024];
    json_t *rows, *page, *row;
    int64_t limit;
    size_t i;
    baton_client_err_t rc;

    if (st && !*st) st = NULL;
    if (type && !*type) type = NULL;
    if (st && !baton_client_status_parse(st, status, sizeof status)) {
        api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
                  "status wants RUNNING, SUCCEEDED, FAILED, CANCELLED, "
                  "TERMINATED or QUARANTINED, not '%.40s'",
                  st);
        return;
    }
    if (api_query_int(r, "limit", API_LIST_LIMIT_DEFAULT, 1, API_LIST_LIMIT_MAX,
                      &limit))
        return;
    if ((rc = baton_client_list(c, st ? status : NULL, type, &rows, errstr,
                                sizeof errstr))) {
        api_client_error(r, rc, errstr);
        return;
    }
    page = json_array();
    json_array_foreach(rows, i, row) {
        const char *id = json_string_value(json_object_get(row, "id"));
        if (cursor && *cursor && strcmp(id, cursor) <= 0) continue;
        if ((int64_t)json_array_size(page) == limit) break;
        json_array_append(page, row);
    }
    api_answer(
        r, MHD_HTTP_OK,
        json_pack(
            "{so so}", "runs", page, "next_cursor",
            i < json_array_size(rows) && json_array_size(page)
                ? json_copy(json_object_get(
                      json_array_get(page, json_array_size(page) - 1), "id"))
                : json_null()));
    json_decref(rows);
}

static void api_describe(api_req_t *r, baton_client_t *c, const char *id) {
    char errstr[1024];
    json_t *d;
    baton_client_err_t rc =
        baton_client_describe(c, id, &d, errstr, sizeof errstr);
    if (rc)
        api_client_error(r, rc, errstr);
    else
        api_answer(r, MHD_HTTP_OK, d);
}

static void api_result(api_req_t *r, baton_client_t *c, const char *id) {
    char errstr[1024];
    int64_t wait;
    json_t *res;
    const char *st;
    baton_client_err_t rc;

    if (api_query_int(r, "wait", 0, 0, API_RESULT_WAIT_MAX_S, &wait)) return;
    if ((rc = baton_client_result(c, id, (double)wait, &res, errstr,
                                  sizeof errstr))) {
        api_client_error(r, rc, errstr);
        return;
    }
    st = json_string_value(json_object_get(res, "status"));
    if (!strcmp(st, "RUNNING") || !strcmp(st, "HELD"))
        api_answer(r, MHD_HTTP_ACCEPTED,
                   json_pack("{ss ss}", "id", id, "status", "RUNNING"));
    else {
        json_object_del(res, "position");
        api_answer(r, MHD_HTTP_OK, json_incref(res));
    }
    json_decref(res);
}

static void api_history(api_req_t *r, baton_client_t *c, const char *id) {
    char errstr[1024];
    int64_t from, limit, next;
    json_t *events;
    baton_client_err_t rc;

    if (api_query_int(r, "from", 1, 1, INT64_MAX, &from) ||
        api_query_int(r, "limit", API_HISTORY_LIMIT_DEFAULT, 1,
                      API_HISTORY_LIMIT_MAX, &limit))
        return;
    if ((rc = baton_client_history(c, id, from, limit, &events, &next, errstr,
                                   sizeof errstr))) {
        api_client_error(r, rc, errstr);
        return;
    }
    api_answer(r, MHD_HTTP_OK,
               json_pack("{so so}", "events", events, "next",
                         next ? json_integer(next) : json_null()));
}

/* What is new in the run's live model output since ?cursor=. */
static void api_live(api_req_t *r, baton_client_t *c, const char *id) {
    char errstr[1024];
    json_t *live;
    baton_client_err_t rc = baton_client_live(c, id, api_query(r, "cursor"),
                                              &live, errstr, sizeof errstr);
    if (rc)
        api_client_error(r, rc, errstr);
    else
        api_answer(r, MHD_HTTP_OK, live);
}

static void api_signal(api_req_t *r, baton_client_t *c, const char *id,
                       const char *name) {
    char errstr[1024], *payload = NULL;
    json_t *body, *sent;
    baton_client_err_t rc;

    if (api_body_json(r, &body)) return;
    if (body && !(payload = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY))) {
        json_decref(body);
        api_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                  "out of memory");
        return;
    }
    rc =
        baton_client_signal(c, id, name, payload, &sent, errstr, sizeof errstr);
    if (rc)
        api_client_error(r, rc, errstr);
    else
        api_answer(r, MHD_HTTP_ACCEPTED,
                   json_pack("{ss ss}", "id", id, "signal", name));
    json_decref(sent);
    free(payload);
    json_decref(body);
}

static void api_stop(api_req_t *r, baton_client_t *c, const char *id,
                     baton_cmd_kind_t kind) {
    char errstr[1024];
    const char *reason = NULL;
    json_t *body, *sent;
    baton_client_err_t rc;

    if (api_body_json(r, &body)) return;
    if (body && !json_is_object(body)) {
        json_decref(body);
        api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
                  "the body must be a JSON object {\"reason\"?}");
        return;
    }
    if (api_field_str(r, body, "reason", &reason)) {
        json_decref(body);
        return;
    }
    if (!reason)
        reason = kind == BATON_CMD_CANCEL ? "cancelled with baton-api"
                                          : "terminated with baton-api";
    rc = baton_client_stop(c, kind, id, reason, &sent, errstr, sizeof errstr);
    if (rc)
        api_client_error(r, rc, errstr);
    else
        api_answer(
            r, MHD_HTTP_ACCEPTED,
            json_pack("{ss ss}", "id", id, "command",
                      kind == BATON_CMD_CANCEL ? "cancel" : "terminate"));
    json_decref(sent);
    json_decref(body);
}

/* ---- definitions, DLQ, queues, lag -------------------------------------- */

static void api_definition(api_req_t *r, baton_client_t *c, const char *type) {
    char errstr[1024];
    const char *ver = api_query(r, "version");
    json_t *d;
    baton_client_err_t rc = baton_client_definition(
        c, type, ver && *ver ? ver : NULL, &d, errstr, sizeof errstr);
    if (rc)
        api_client_error(r, rc, errstr);
    else
        api_answer(r, MHD_HTTP_OK, d);
}

/* A DLQ record as the API shows it: the value (base64) as "payload". */
static void api_dlq_rename(json_t *records) {
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec) {
        json_t *v = json_object_get(rec, "value");
        if (!v) continue;
        json_object_set(rec, "payload", v);
        json_object_del(rec, "value");
    }
}

static void api_dlq(api_req_t *r, baton_client_t *c) {
    char errstr[1024];
    int64_t limit;
    json_t *records;
    baton_client_err_t rc;
    if (api_query_int(r, "limit", API_DLQ_LIMIT_DEFAULT, 1, 100000, &limit))
        return;
    if ((rc = baton_client_dlq_list(c, 0, limit, 1, &records, errstr,
                                    sizeof errstr))) {
        api_client_error(r, rc, errstr);
        return;
    }
    api_dlq_rename(records);
    api_answer(r, MHD_HTTP_OK, json_pack("{so}", "records", records));
}

static void api_dlq_replay(api_req_t *r, baton_client_t *c, const char *ps,
                           const char *os) {
    char errstr[1024];
    int64_t p, o;
    json_t *out;
    baton_client_err_t rc;
    if (baton_parse_i64(ps, &p) || p < 0 || p > INT32_MAX ||
        baton_parse_i64(os, &o) || o < 0) {
        api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
                  "replay wants /v1/dlq/PARTITION/OFFSET/replay with two "
                  "non-negative integers");
        return;
    }
    rc = baton_client_dlq_replay(c, (int32_t)p, o, NULL, &out, errstr,
                                 sizeof errstr);
    if (rc)
        api_client_error(r, rc, errstr);
    else
        api_answer(r, MHD_HTTP_ACCEPTED, out);
}

/* {"queues":[{"queue","topic","lag"}]}: the worker groups of the lag. */
static json_t *api_queues_json(const json_t *lag) {
    static const char wprefix[] = "baton.worker.";
    json_t *queues = json_array(), *row, *q = NULL;
    size_t i;
    json_array_foreach(json_object_get(lag, "partitions"), i, row) {
        const char *group = json_string_value(json_object_get(row, "group"));
        json_int_t n = json_integer_value(json_object_get(row, "lag"));
        if (strncmp(group, wprefix, sizeof wprefix - 1)) continue;
        if (!q || strcmp(json_string_value(json_object_get(q, "queue")),
                         group + sizeof wprefix - 1)) {
            q = json_pack("{ss sO sI}", "queue", group + sizeof wprefix - 1,
                          "topic", json_object_get(row, "topic"), "lag",
                          (json_int_t)0);
            json_array_append_new(queues, q);
        }
        json_object_set_new(
            q, "lag",
            json_integer(json_integer_value(json_object_get(q, "lag")) + n));
    }
    return json_pack("{so}", "queues", queues);
}

static void api_lag(api_req_t *r, baton_client_t *c, int queues) {
    char errstr[1024];
    json_t *lag;
    baton_client_err_t rc = baton_client_lag(c, &lag, errstr, sizeof errstr);
    if (rc) {
        api_client_error(r, rc, errstr);
        return;
    }
    api_answer(r, MHD_HTTP_OK,
               queues ? api_queues_json(lag) : json_incref(lag));
    json_decref(lag);
}

/* ---- dispatch ----------------------------------------------------------- */

/* A route's handler: the path's segments after /v1/ in p. */
typedef void api_handler_fn(api_req_t *r, baton_client_t *c,
                            const api_path_t *p);

static void api_h_start(api_req_t *r, baton_client_t *c, const api_path_t *p) {
    (void)p;
    api_start(r, c);
}
static void api_h_list(api_req_t *r, baton_client_t *c, const api_path_t *p) {
    (void)p;
    api_list(r, c);
}
static void api_h_describe(api_req_t *r, baton_client_t *c,
                           const api_path_t *p) {
    api_describe(r, c, p->seg[1]);
}
static void api_h_result(api_req_t *r, baton_client_t *c, const api_path_t *p) {
    api_result(r, c, p->seg[1]);
}
static void api_h_history(api_req_t *r, baton_client_t *c,
                          const api_path_t *p) {
    api_history(r, c, p->seg[1]);
}
static void api_h_live(api_req_t *r, baton_client_t *c, const api_path_t *p) {
    api_live(r, c, p->seg[1]);
}
static void api_h_signal(api_req_t *r, baton_client_t *c, const api_path_t *p) {
    api_signal(r, c, p->seg[1], p->seg[3]);
}
static void api_h_cancel(api_req_t *r, baton_client_t *c, const api_path_t *p) {
    api_stop(r, c, p->seg[1], BATON_CMD_CANCEL);
}
static void api_h_terminate(api_req_t *r, baton_client_t *c,
                            const api_path_t *p) {
    api_stop(r, c, p->seg[1], BATON_CMD_TERMINATE);
}
static void api_h_definition(api_req_t *r, baton_client_t *c,
                             const api_path_t *p) {
    api_definition(r, c, p->seg[1]);
}
static void api_h_dlq(api_req_t *r, baton_client_t *c, const api_path_t *p) {
    (void)p;
    api_dlq(r, c);
}
static void api_h_replay(api_req_t *r, baton_client_t *c, const api_path_t *p) {
    api_dlq_replay(r, c, p->seg[1], p->seg[2]);
}
static void api_h_queues(api_req_t *r, baton_client_t *c, const api_path_t *p) {
    (void)p;
    api_lag(r, c, 1);
}
static void api_h_lag(api_req_t *r, baton_client_t *c, const api_path_t *p) {
    (void)p;
    api_lag(r, c, 0);
}

/* The /v1/ routes: method, pattern ("{x}" matches one non-empty segment),
 * handler.  One line each: tests/openapi/check.py reads this table and
 * fails when a route here is not in api/openapi.yaml (or the reverse). */
static const struct {
    const char *method, *pattern;
    api_handler_fn *fn;
} api_routes[] = {
    /* clang-format off */
    {"POST", "/v1/runs", api_h_start},
    {"GET",  "/v1/runs", api_h_list},
    {"GET",  "/v1/runs/{id}", api_h_describe},
    {"GET",  "/v1/runs/{id}/result", api_h_result},
    {"GET",  "/v1/runs/{id}/history", api_h_history},
    {"GET",  "/v1/runs/{id}/live", api_h_live},
    {"POST", "/v1/runs/{id}/signals/{name}", api_h_signal},
    {"POST", "/v1/runs/{id}/cancel", api_h_cancel},
    {"POST", "/v1/runs/{id}/terminate", api_h_terminate},
    {"GET",  "/v1/definitions/{type}", api_h_definition},
    {"GET",  "/v1/dlq", api_h_dlq},
    {"POST", "/v1/dlq/{partition}/{offset}/replay", api_h_replay},
    {"GET",  "/v1/queues", api_h_queues},
    {"GET",  "/v1/lag", api_h_lag},
    /* clang-format on */
};

/* 1 when p (the segments after /v1/) matches pattern. */
static int api_route_match(const char *pattern, const api_path_t *p) {
    const char *s = pattern + 4; /* after "/v1/" */
    for (int i = 0; i < p->n; i++) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (!n) return 0;
        if (s[0] == '{' ? !*p->seg[i]
                        : strlen(p->seg[i]) != n || strncmp(s, p->seg[i], n))
            return 0;
        if (!e) return i == p->n - 1;
        s = e + 1;
    }
    return 0;
}

static void api_route(api_req_t *r, baton_client_t *c, const api_path_t *p) {
    for (size_t i = 0; i < BATON_ARRAY_SIZE(api_routes); i++)
        if (!strcmp(r->method, api_routes[i].method) &&
            api_route_match(api_routes[i].pattern, p)) {
            api_routes[i].fn(r, c, p);
            return;
        }
    api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no route %s %s", r->method,
              r->url);
}

const char *api_route_pattern(const char *method, const char *url) {
    api_path_t p;
    if (strncmp(url, "/v1/", 4) || strlen(url) >= sizeof p.buf) return NULL;
    api_path_split(&p, url);
    if (p.n > API_SEGS_MAX) return NULL;
    for (size_t i = 0; i < BATON_ARRAY_SIZE(api_routes); i++)
        if (!strcmp(method, api_routes[i].method) &&
            api_route_match(api_routes[i].pattern, &p))
            return api_routes[i].pattern;
    return NULL;
}

void api_routes_v1(api_req_t *r) {
    api_path_t p;
    baton_client_t *c;
    if (strlen(r->url) >= sizeof p.buf) {
        api_error(r, MHD_HTTP_NOT_FOUND, "not_found",
                  "no route (path too "
                  "long)");
        return;
    }
    api_path_split(&p, r->url);
    if (p.n > API_SEGS_MAX) {
        api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no route %s %s",
                  r->method, r->url);
        return;
    }
    if (!(c = api_client(r))) return;
    api_route(r, c, &p);
    baton_client_destroy(c);
}
