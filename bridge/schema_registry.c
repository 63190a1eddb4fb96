/*
 * schema_registry.c -- the registry client and schema cache of
 * schema_registry.h.
 *
 * Cache: one array of entries, each a parsed schema with where it came
 * from (a registry id, or a file: pinned, never evicted) and its
 * fingerprint; a second small array maps "subject/version" to an id.
 * Both are searched linearly: a bridge sees a handful of schemas, and
 * every lookup after the first of an id is a hit.
 */
#include "schema_registry.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "avro_json.h"

#define SREG_BODY_MAX (1 << 20)
#define SREG_BACKOFF_FIRST_MS 100
#define SREG_BACKOFF_MAX_MS 2000
#define SREG_CONNECT_TIMEOUT_MS 2000
#define SREG_TIMEOUT_MS 5000
#define SREG_LATEST_TTL_MS 30000

typedef struct sreg_entry {
    int32_t id; /* -1: from a file (pinned) */
    uint64_t fp;
    avro_schema_t schema;
    int64_t used; /* lookup counter value when last used (LRU) */
} sreg_entry_t;

typedef struct sreg_subject {
    char *key; /* "subject/version" */
    int32_t id;
    int64_t expires_ms; /* 0: never */
} sreg_subject_t;

struct baton_sreg {
    char *url, *shown, *user, *password;
    int64_t wait_ms;
    size_t cache_max;
    sreg_entry_t *e;
    size_t n, cap, nfiles;
    sreg_subject_t *subj;
    size_t nsubj;
    int64_t clock, fetches;
    CURL *curl;
};

static char *sreg_dup(const char *s) {
    return s && *s ? baton_strdup(s) : NULL;
}

/* The URL without user information, for messages. */
static char *sreg_shown(const char *url) {
    const char *at = strchr(url, '@'), *scheme = strstr(url, "://");
    size_t n;
    char *s;
    if (!at || !scheme || at < scheme) return baton_strdup(url);
    n = (size_t)(scheme + 3 - url);
    if (!(s = baton_malloc(n + strlen(at + 1) + 1))) return NULL;
    memcpy(s, url, n);
    memcpy(s + n, at + 1, strlen(at + 1) + 1);
    return s;
}

baton_err_t baton_sreg_new(const baton_sreg_conf_t *c, baton_sreg_t **out,
                           char *errstr, size_t errlen) {
    baton_sreg_t *r = baton_calloc(1, sizeof *r);
    *out = NULL;
    if (!r) return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "no memory");
    r->wait_ms = c->wait_ms > 0 ? c->wait_ms : 0;
    r->cache_max = c->cache_max ? c->cache_max : 1;
    if (c->url && *c->url) {
        size_t n = strlen(c->url);
        if (!(r->url = baton_strdup(c->url)) ||
            !(r->shown = sreg_shown(c->url)))
            goto nomem;
        while (n > 1 && r->url[n - 1] == '/') r->url[--n] = '\0';
        if (!(r->curl = curl_easy_init())) goto nomem;
    }
    if ((c->user && *c->user && !(r->user = sreg_dup(c->user))) ||
        (c->password && *c->password && !(r->password = sreg_dup(c->password))))
        goto nomem;
    *out = r;
    return BATON_OK;
nomem:
    baton_sreg_destroy(r);
    return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
}

void baton_sreg_destroy(baton_sreg_t *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) avro_schema_decref(r->e[i].schema);
    for (size_t i = 0; i < r->nsubj; i++) baton_free(r->subj[i].key);
    if (r->password) memset(r->password, 0, strlen(r->password));
    if (r->curl) curl_easy_cleanup(r->curl);
    baton_free(r->subj);
    baton_free(r->e);
    baton_free(r->url);
    baton_free(r->shown);
    baton_free(r->user);
    baton_free(r->password);
    baton_free(r);
}

int64_t baton_sreg_fetches(const baton_sreg_t *r) {
    return r->fetches;
}

/* ---- the cache ------------------------------------------------------------ */

/* Parses schema text; INVALID naming `what` when it is not Avro. */
static baton_err_t sreg_parse(const char *text, size_t n, const char *what,
                              avro_schema_t *out, uint64_t *fp, char *errstr,
                              size_t errlen) {
    char *pcf;
    if (avro_schema_from_json_length(text, n, out))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: not an Avro schema: %s", what,
                            avro_strerror());
    if (!(pcf = baton_avro_json_canonical(*out))) {
        avro_schema_decref(*out);
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    }
    *fp = baton_avro_json_crc64(pcf, strlen(pcf));
    baton_free(pcf);
    return BATON_OK;
}

/* Stores a schema (stolen); evicts the least recently used registry entry
 * when the cache is full.  Returns the entry or NULL (no memory: the
 * schema is released). */
static sreg_entry_t *sreg_store(baton_sreg_t *r, int32_t id, uint64_t fp,
                                avro_schema_t s) {
    sreg_entry_t *slot = NULL;
    if (id >= 0 && r->n - r->nfiles >= r->cache_max) {
        for (size_t i = 0; i < r->n; i++)
            if (r->e[i].id >= 0 && (!slot || r->e[i].used < slot->used))
                slot = &r->e[i];
        avro_schema_decref(slot->schema);
    } else {
        if (r->n == r->cap) {
            size_t ncap = r->cap ? r->cap * 2 : 8;
            sreg_entry_t *ne = baton_realloc(r->e, ncap * sizeof *ne);
            if (!ne) {
                avro_schema_decref(s);
                return NULL;
            }
            r->e = ne;
            r->cap = ncap;
        }
        slot = &r->e[r->n++];
        if (id < 0) r->nfiles++;
    }
    slot->id = id;
    slot->fp = fp;
    slot->schema = s;
    slot->used = ++r->clock;
    return slot;
}

baton_err_t baton_sreg_add_file(baton_sreg_t *r, const char *path, char *errstr,
                                size_t errlen) {
    char err[512];
    size_t n;
    char *text = baton_read_file(path, &n, err, sizeof err);
    avro_schema_t s;
    uint64_t fp;
    baton_err_t rc;
    if (!text)
        return baton_seterr(errstr, errlen, BATON_ERR_IO,
                            "reading schema file: %s", err);
    rc = sreg_parse(text, n, path, &s, &fp, errstr, errlen);
    baton_free(text);
    if (rc) return rc;
    if (!sreg_store(r, -1, fp, s))
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    return BATON_OK;
}

static sreg_entry_t *sreg_find_id(baton_sreg_t *r, int32_t id) {
    for (size_t i = 0; i < r->n; i++)
        if (r->e[i].id == id) {
            r->e[i].used = ++r->clock;
            return &r->e[i];
        }
    return NULL;
}

baton_err_t baton_sreg_by_fingerprint(baton_sreg_t *r, uint64_t fp,
                                      avro_schema_t *out, char *errstr,
                                      size_t errlen) {
    for (size_t i = 0; i < r->n; i++)
        if (r->e[i].fp == fp) {
            r->e[i].used = ++r->clock;
            *out = r->e[i].schema;
            return BATON_OK;
        }
    return baton_seterr(errstr, errlen, BATON_ERR_NOTFOUND,
                        "no schema with fingerprint %016llx among the "
                        "trigger's schema files and the schemas fetched "
                        "from the registry",
                        (unsigned long long)fp);
}

/* ---- HTTP ------------------------------------------------------------------ */

typedef struct sreg_body {
    char *p;
    size_t n;
    int over;
} sreg_body_t;

static size_t sreg_on_write(char *data, size_t size, size_t nmemb, void *ud) {
    sreg_body_t *b = ud;
    size_t n = size * nmemb;
    char *np;
    if (b->n + n > SREG_BODY_MAX || !(np = baton_realloc(b->p, b->n + n + 1))) {
        b->over = 1;
        return 0;
    }
    b->p = np;
    memcpy(b->p + b->n, data, n);
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

static void sreg_sleep_ms(int64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One GET of path.  BATON_OK with *json (200), BATON_ERR_NOTFOUND (404),
 * BATON_ERR_INVALID (a 200 that is not JSON), BATON_ERR_IO otherwise (to
 * retry); errstr says what happened. */
static baton_err_t sreg_get_once(baton_sreg_t *r, const char *path,
                                 json_t **json, char *errstr, size_t errlen) {
    char url[2048];
    sreg_body_t body = {0};
    long code = 0;
    CURLcode cc;
    json_error_t jerr;
    baton_err_t rc;
    snprintf(url, sizeof url, "%s%s", r->url, path);
    curl_easy_reset(r->curl);
    curl_easy_setopt(r->curl, CURLOPT_URL, url);
    curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)SREG_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, (long)SREG_TIMEOUT_MS);
    curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, sreg_on_write);
    curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (r->user) {
        curl_easy_setopt(r->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(r->curl, CURLOPT_USERNAME, r->user);
        curl_easy_setopt(r->curl, CURLOPT_PASSWORD,
                         r->password ? r->password : "");
    }
    r->fetches++;
    cc = curl_easy_perform(r->curl);
    if (cc == CURLE_OK)
        curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &code);
    if (cc != CURLE_OK)
        rc = baton_seterr(
            errstr, errlen, BATON_ERR_IO, "GET %s%s: %s", r->shown, path,
            body.over ? "response over 1 MiB" : curl_easy_strerror(cc));
    else if (code == 404)
        rc = baton_seterr(errstr, errlen, BATON_ERR_NOTFOUND,
                          "GET %s%s: 404 %.200s", r->shown, path,
                          body.p ? body.p : "");
    else if (code != 200)
        rc = baton_seterr(errstr, errlen, BATON_ERR_IO, "GET %s%s: HTTP %ld",
                          r->shown, path, code);
    else if (!(*json = json_loadb(body.p ? body.p : "", body.n, 0, &jerr)))
        rc = baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                          "GET %s%s: the answer is not JSON: %s", r->shown,
                          path, jerr.text);
    else
        rc = BATON_OK;
    baton_free(body.p);
    return rc;
}

/* GET with retries while the registry does not answer (see the header). */
static baton_err_t sreg_get(baton_sreg_t *r, const char *path, json_t **json,
                            char *errstr, size_t errlen) {
    int64_t start = baton_mono_us() / 1000, backoff = SREG_BACKOFF_FIRST_MS;
    int tries = 0;
    baton_err_t rc;
    char err[1024];
    *json = NULL;
    if (!r->url)
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "no schema registry configured (trigger "
                            "avro.registry_url or bridge.avro.registry.url)");
    for (;;) {
        int64_t waited;
        tries++;
        rc = sreg_get_once(r, path, json, err, sizeof err);
        if (rc != BATON_ERR_IO) break;
        waited = baton_mono_us() / 1000 - start;
        if (waited >= r->wait_ms)
            return baton_seterr(errstr, errlen, BATON_ERR_IO,
                                "schema registry unreachable: %d tries in "
                                "%lld ms, last: %s",
                                tries, (long long)waited, err);
        if (tries == 1)
            BATON_WARN("bridge", "%s: retrying for up to %lld ms", err,
                       (long long)r->wait_ms);
        sreg_sleep_ms(backoff < r->wait_ms - waited ? backoff
                                                    : r->wait_ms - waited);
        backoff = backoff * 2 > SREG_BACKOFF_MAX_MS ? SREG_BACKOFF_MAX_MS
                                                    : backoff * 2;
    }
    if (rc) return baton_seterr(errstr, errlen, rc, "%s", err);
    return BATON_OK;
}

/* The "schema" of a registry answer, parsed and stored under id. */
static baton_err_t sreg_store_answer(baton_sreg_t *r, int32_t id, json_t *ans,
                                     const char *what, avro_schema_t *out,
                                     char *errstr, size_t errlen) {
    const char *type = json_string_value(json_object_get(ans, "schemaType"));
    json_t *text = json_object_get(ans, "schema");
    sreg_entry_t *e;
    avro_schema_t s;
    uint64_t fp;
    baton_err_t rc;
    if (type && strcmp(type, "AVRO"))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s is a %s schema, not Avro", what, type);
    if (!json_is_string(text))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: the registry's answer has no \"schema\"",
                            what);
    if ((rc = sreg_parse(json_string_value(text), json_string_length(text),
                         what, &s, &fp, errstr, errlen)))
        return rc;
    if ((e = sreg_find_id(r, id))) { /* fetched meanwhile (by subject) */
        avro_schema_decref(s);
    } else if (!(e = sreg_store(r, id, fp, s))) {
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    }
    *out = e->schema;
    return BATON_OK;
}

baton_err_t baton_sreg_by_id(baton_sreg_t *r, int32_t id, avro_schema_t *out,
                             char *errstr, size_t errlen) {
    sreg_entry_t *e = id >= 0 ? sreg_find_id(r, id) : NULL;
    char path[64], what[64], err[1024];
    json_t *ans;
    baton_err_t rc;
    if (e) {
        *out = e->schema;
        return BATON_OK;
    }
    snprintf(path, sizeof path, "/schemas/ids/%ld", (long)id);
    snprintf(what, sizeof what, "schema id %ld", (long)id);
    if ((rc = sreg_get(r, path, &ans, err, sizeof err)))
        return baton_seterr(errstr, errlen, rc, "%s%s: %s",
                            rc == BATON_ERR_NOTFOUND ? "unknown " : "", what,
                            err);
    rc = sreg_store_answer(r, id, ans, what, out, errstr, errlen);
    json_decref(ans);
    return rc;
}

/* The cached id of "subject/version", or -1. */
static int32_t sreg_subject_cached(baton_sreg_t *r, const char *key) {
    for (size_t i = 0; i < r->nsubj; i++)
        if (!strcmp(r->subj[i].key, key)) {
            if (r->subj[i].expires_ms &&
                r->subj[i].expires_ms < baton_mono_us() / 1000)
                return -1;
            return r->subj[i].id;
        }
    return -1;
}

static void sreg_subject_put(baton_sreg_t *r, const char *key, int32_t id,
                             int latest) {
    sreg_subject_t *s = NULL, *ns;
    for (size_t i = 0; i < r->nsubj && !s; i++)
        if (!strcmp(r->subj[i].key, key)) s = &r->subj[i];
    if (!s) {
        if (r->nsubj >= r->cache_max) return; /* full: not cached */
        if (!(ns = baton_realloc(r->subj, (r->nsubj + 1) * sizeof *ns))) return;
        r->subj = ns;
        s = &r->subj[r->nsubj];
        if (!(s->key = baton_strdup(key))) return;
        r->nsubj++;
    }
    s->id = id;
    s->expires_ms = latest ? baton_mono_us() / 1000 + SREG_LATEST_TTL_MS : 0;
}

baton_err_t baton_sreg_by_subject(baton_sreg_t *r, const char *subject,
                                  const char *version, avro_schema_t *out,
                                  int32_t *id, char *errstr, size_t errlen) {
    char key[600], path[1024], what[640], err[1024], *esc;
    json_t *ans, *jid;
    int32_t cached;
    baton_err_t rc;
    if (!version || !*version) version = "latest";
    snprintf(key, sizeof key, "%s/%s", subject, version);
    snprintf(what, sizeof what, "subject '%s' version %s", subject, version);
    if ((cached = sreg_subject_cached(r, key)) >= 0) {
        *id = cached;
        return baton_sreg_by_id(r, cached, out, errstr, errlen);
    }
    if (!r->curl)
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "%s: no schema registry configured", what);
    if (!(esc = curl_easy_escape(r->curl, subject, 0)))
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    snprintf(path, sizeof path, "/subjects/%s/versions/%s", esc,
             strcmp(version, "latest") ? version : "latest");
    curl_free(esc);
    if ((rc = sreg_get(r, path, &ans, err, sizeof err)))
        return baton_seterr(errstr, errlen, rc, "%s%s: %s",
                            rc == BATON_ERR_NOTFOUND ? "unknown " : "", what,
                            err);
    jid = json_object_get(ans, "id");
    if (!json_is_integer(jid) || json_integer_value(jid) < 0 ||
        json_integer_value(jid) > INT32_MAX) {
        json_decref(ans);
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: the registry's answer has no id", what);
    }
    *id = (int32_t)json_integer_value(jid);
    rc = sreg_store_answer(r, *id, ans, what, out, errstr, errlen);
    json_decref(ans);
    if (!rc) sreg_subject_put(r, key, *id, !strcmp(version, "latest"));
    return rc;
}
