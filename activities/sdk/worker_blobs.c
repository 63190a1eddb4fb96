/*
 * worker_blobs.c -- the claim check in the worker SDK (common/blob.h):
 * before a handler runs, references in its task's input are resolved from
 * Redis, so handlers see plain JSON; after it completes, an output over
 * blob.threshold is stored in Redis by content hash (blobs at the
 * partition the result goes to, TTL blob.pending.ttl.s until batond takes
 * them up) and the result carries references.  Handlers never see either.
 *
 * One Redis connection per worker, made on first use and shared by the
 * pool threads under blob_mu; a broken connection is dropped and made
 * again by the next job.  Thread: pool threads.
 */
#include <stdint.h>
#include <string.h>

#include "blob_store.h"
#include "redis.h"
#include "worker_int.h"

baton_err_t baton_worker_blobs_init(baton_worker_t *w, const baton_conf_t *conf,
                                    char *errstr, size_t errlen) {
    const char *u = baton_conf_get(conf, "redis.user");
    const char *pw = baton_conf_get(conf, "redis.password");
    const char *ns = baton_conf_key_prefix(conf);

    pthread_mutex_init(&w->blob_mu, NULL);
    w->blob_mu_init = 1;
    /* blob.threshold 0: no blobs, escaping only */
    w->blob_opts.threshold =
        baton_conf_get_int(conf, "blob.threshold") > 0
            ? (size_t)baton_conf_get_int(conf, "blob.threshold")
            : SIZE_MAX;
    w->blob_opts.element_min =
        (size_t)baton_conf_get_int(conf, "blob.element.min");
    w->blob_resolve_max = (size_t)baton_conf_get_int(conf, "blob.resolve.max");
    w->blob_ttl_s = baton_conf_get_int(conf, "blob.pending.ttl.s");
    if (!(w->redis_url = baton_strdup(baton_conf_get(conf, "redis.url"))) ||
        (u && !(w->redis_user = baton_strdup(u))) ||
        (pw && !(w->redis_password = baton_strdup(pw))) ||
        !(w->blob_ns = baton_strdup(ns)))
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    return BATON_OK;
}

void baton_worker_blobs_destroy(baton_worker_t *w) {
    if (w->blob_redis) redisFree(w->blob_redis);
    w->blob_redis = NULL;
    if (w->blob_mu_init) pthread_mutex_destroy(&w->blob_mu);
    baton_free(w->redis_url);
    baton_free(w->redis_user);
    baton_free(w->redis_password);
    baton_free(w->blob_ns);
}

/* The connection (blob_mu held); NULL with errstr set when Redis is
 * unreachable. */
static redisContext *blobs_conn(baton_worker_t *w, char *errstr,
                                size_t errlen) {
    if (w->blob_redis && w->blob_redis->err) {
        redisFree(w->blob_redis);
        w->blob_redis = NULL;
    }
    if (!w->blob_redis)
        w->blob_redis =
            baton_redis_connect_with(w->redis_url, w->redis_user,
                                     w->redis_password, 5000, errstr, errlen);
    return w->blob_redis;
}

int baton_worker_blobs_resolve_input(baton_worker_t *w, job_t *j) {
    char err[512], cause[700];
    char *out = NULL;
    size_t outlen = 0;
    baton_err_t rc;
    baton_blob_loc_t loc;

    if (!j->task.input ||
        !baton_blob_text_marked(j->task.input, strlen(j->task.input)))
        return 0;
    pthread_mutex_lock(&w->blob_mu);
    loc.c = blobs_conn(w, err, sizeof err);
    loc.ns = w->blob_ns;
    loc.partition = j->task.result_partition;
    loc.crypt = w->crypt;
    rc = loc.c ? baton_blob_store_resolve_text(
                     &loc, j->task.input, strlen(j->task.input),
                     w->blob_resolve_max, &out, &outlen, err, sizeof err)
               : BATON_ERR_REDIS;
    pthread_mutex_unlock(&w->blob_mu);
    if (!rc) {
        if (out) {
            baton_free(j->task.input);
            j->task.input = out;
        }
        return 0;
    }
    snprintf(cause, sizeof cause, "resolving the task's input: %s", err);
    BATON_WARN(SUBSYS, "task %s: %s", j->task.task_id, cause);
    /* Redis unreachable: try again; a blob missing, corrupt or over
     * blob.resolve.max will stay so. */
    baton_activity_fail_flags(
        j,
        rc == BATON_ERR_REDIS ? "Baton.BlobUnavailable" : "Baton.BlobInvalid",
        cause, 0, rc == BATON_ERR_REDIS ? 0 : BATON_FAIL_NON_RETRYABLE);
    return -1;
}

void baton_worker_blobs_store_output(baton_worker_t *w, job_t *j) {
    char err[512], cause[700];
    char *out = NULL;
    size_t outlen = 0, len;
    baton_err_t rc;
    baton_blob_loc_t loc;

    if (j->kind != BATON_RESULT_COMPLETED || !j->output) return;
    len = strlen(j->output);
    if (len <= w->blob_opts.threshold &&
        !baton_blob_text_marked(j->output, len))
        return;
    pthread_mutex_lock(&w->blob_mu);
    loc.c = blobs_conn(w, err, sizeof err);
    loc.ns = w->blob_ns;
    loc.partition = j->task.result_partition;
    loc.crypt = w->crypt;
    rc = loc.c ? baton_blob_store_encode_text(&loc, &w->blob_opts,
                                              w->blob_ttl_s, j->output, len,
                                              &out, &outlen, err, sizeof err)
               : BATON_ERR_REDIS;
    pthread_mutex_unlock(&w->blob_mu);
    if (!rc) {
        if (out) {
            BATON_DEBUG(SUBSYS, "task %s: output of %zu bytes sent as %zu",
                        j->task.task_id, len, outlen);
            baton_free(j->output);
            j->output = out;
        }
        return;
    }
    snprintf(cause, sizeof cause, "storing the output of %zu bytes: %s", len,
             err);
    BATON_WARN(SUBSYS, "task %s: %s", j->task.task_id, cause);
    baton_free(j->output);
    j->output = NULL;
    j->reported = 0;
    baton_activity_fail(j, "Baton.BlobUnavailable", cause, 0);
}
