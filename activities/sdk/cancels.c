/*
 * cancels.c -- the worker SDK's listener for cancellation notices on
 * <topic.prefix>.cancels (cancels.h says what and why).
 *
 * Layout: one thread owns the Kafka consumer and the codec that decodes
 * notices; the set of remembered task ids is shared with the run thread
 * and the pool threads under a mutex:
 *
 *   ids[]       ring of the last BATON_CANCELS_REMEMBERED task ids, in
 *               arrival order; head = the oldest, evicted first
 *   next[]      per ring slot, the next slot of the same hash bucket (-1)
 *   buckets[]   FNV-1a(task_id) % BATON_CANCELS_BUCKETS -> first slot
 *
 * Assignment, re-checked every second while the topic is missing, every
 * 30 s once it exists: partitions not assigned yet are added with
 * rd_kafka_incremental_assign (no group membership, nothing committed),
 * starting at their high watermark when the topic existed at the first
 * look, at their beginning when it appeared later or grew.
 */
#include "cancels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "codec.h"
#include "kafka.h"

#define SUBSYS "worker"
#define BATON_CANCELS_BUCKETS 8192
#define POLL_MS 200
#define FETCH_WAIT_MS "200" /* default of worker.cancels.fetch.wait.max.ms */
#define METADATA_TIMEOUT_MS 2000
#define RETRY_MISSING_US 1000000 /* topic missing: look again after 1 s */
#define RECHECK_US 30000000      /* topic there: look for new partitions */

struct baton_cancels {
    char *topic;
    rd_kafka_t *consumer;
    baton_codec_t *codec; /* the listener thread's */
    void (*wake)(void *opaque);
    void *wake_opaque;

    /* listener thread state */
    pthread_t thread;
    int started;
    atomic_int stop;
    int32_t assigned_cnt; /* partitions 0..assigned_cnt-1 are assigned */
    int looked;           /* metadata answered at least once */
    int64_t next_look_us;

    /* the remembered set, under mu */
    pthread_mutex_t mu;
    char *ids[BATON_CANCELS_REMEMBERED];
    int next[BATON_CANCELS_REMEMBERED];
    int buckets[BATON_CANCELS_BUCKETS];
    int head, cnt;
    atomic_uint_fast64_t generation;
};

/* ---- the remembered set ------------------------------------------------- */

static unsigned cancels_hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h % BATON_CANCELS_BUCKETS;
}

/* The slot holding id, or -1.  Caller holds mu. */
static int cancels_find(const baton_cancels_t *c, const char *id) {
    for (int i = c->buckets[cancels_hash(id)]; i >= 0; i = c->next[i])
        if (!strcmp(c->ids[i], id)) return i;
    return -1;
}

/* Drops the oldest id.  Caller holds mu; cnt > 0. */
static void cancels_evict(baton_cancels_t *c) {
    int slot = c->head;
    int *link = &c->buckets[cancels_hash(c->ids[slot])];
    while (*link != slot) link = &c->next[*link];
    *link = c->next[slot];
    baton_free(c->ids[slot]);
    c->ids[slot] = NULL;
    c->head = (c->head + 1) % BATON_CANCELS_REMEMBERED;
    c->cnt--;
}

/* Remembers id (copied).  Returns 1 when new, 0 when known, -1 on OOM.
 * Thread: the listener. */
static int cancels_add(baton_cancels_t *c, const char *id) {
    char *dup = baton_strdup(id);
    int slot, rc = 1;
    unsigned h;
    if (!dup) return -1;
    pthread_mutex_lock(&c->mu);
    if (cancels_find(c, id) >= 0) {
        rc = 0;
    } else {
        if (c->cnt == BATON_CANCELS_REMEMBERED) cancels_evict(c);
        slot = (c->head + c->cnt) % BATON_CANCELS_REMEMBERED;
        h = cancels_hash(id);
        c->ids[slot] = dup;
        c->next[slot] = c->buckets[h];
        c->buckets[h] = slot;
        c->cnt++;
        dup = NULL;
        atomic_fetch_add(&c->generation, 1);
    }
    pthread_mutex_unlock(&c->mu);
    baton_free(dup);
    return rc;
}

int baton_cancels_contains(baton_cancels_t *c, const char *task_id) {
    int found;
    if (!c || !task_id || !atomic_load(&c->generation)) return 0;
    pthread_mutex_lock(&c->mu);
    found = cancels_find(c, task_id) >= 0;
    pthread_mutex_unlock(&c->mu);
    return found;
}

uint64_t baton_cancels_generation(const baton_cancels_t *c) {
    return c ? atomic_load(&((baton_cancels_t *)c)->generation) : 0;
}

/* ---- assignment ----------------------------------------------------------- */

/* The topic's partition count: > 0, 0 when the topic does not exist, -1
 * when the cluster did not answer.  Thread: the listener (blocks). */
static int32_t cancels_partitions(baton_cancels_t *c) {
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->consumer, c->topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int32_t cnt = -1;
    if (!rkt) return -1;
    if (!rd_kafka_metadata(c->consumer, 0, rkt, &md, METADATA_TIMEOUT_MS) &&
        md->topic_cnt == 1) {
        rd_kafka_resp_err_t terr = md->topics[0].err;
        if (!terr)
            cnt = md->topics[0].partition_cnt;
        else if (terr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            cnt = 0;
    }
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return cnt;
}

/* Where a newly assigned partition starts: its high watermark when the
 * topic existed at the first look (older notices are not news), else its
 * beginning. */
static int64_t cancels_start_offset(baton_cancels_t *c, int32_t p, int at_end) {
    int64_t lo, hi;
    if (!at_end) return RD_KAFKA_OFFSET_BEGINNING;
    if (rd_kafka_query_watermark_offsets(c->consumer, c->topic, p, &lo, &hi,
                                         METADATA_TIMEOUT_MS))
        return RD_KAFKA_OFFSET_END;
    return hi;
}

/* Assigns partitions that appeared since the last look.  Thread: the
 * listener. */
static void cancels_refresh(baton_cancels_t *c) {
    int32_t n = cancels_partitions(c);
    int at_end = !c->looked && n > 0;
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_error_t *err;

    if (n >= 0) c->looked = 1;
    c->next_look_us = baton_mono_us() + (n > 0 ? RECHECK_US : RETRY_MISSING_US);
    if (n <= c->assigned_cnt) return;
    l = rd_kafka_topic_partition_list_new(n - c->assigned_cnt);
    for (int32_t p = c->assigned_cnt; p < n; p++)
        rd_kafka_topic_partition_list_add(l, c->topic, p)->offset =
            cancels_start_offset(c, p, at_end);
    if ((err = rd_kafka_incremental_assign(c->consumer, l))) {
        BATON_WARN(SUBSYS, "assigning %s: %s (retried)", c->topic,
                   rd_kafka_error_string(err));
        rd_kafka_error_destroy(err);
        c->next_look_us = baton_mono_us() + RETRY_MISSING_US;
    } else {
        BATON_INFO(SUBSYS,
                   "listening for cancellation notices on %s "
                   "(partitions %d..%d, from the %s)",
                   c->topic, (int)c->assigned_cnt, (int)(n - 1),
                   at_end ? "end" : "beginning");
        c->assigned_cnt = n;
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* ---- the listener thread ---------------------------------------------------- */

/* One message of the cancels topic: a CANCEL with a task_id is
 * remembered; anything else is logged and skipped (the topic is batond's:
 * a worker has no business dead-lettering it). */
static void cancels_handle(baton_cancels_t *c, const rd_kafka_message_t *m) {
    baton_command_t cmd;
    char e[512];
    int rc;

    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            BATON_WARN(SUBSYS, "%s: %s", c->topic, rd_kafka_message_errstr(m));
        return;
    }
    if (baton_codec_decode_command(c->codec, m->payload, m->len,
                                   baton_kafka_msg_is_json(m), &cmd, e,
                                   sizeof e)) {
        BATON_WARN(SUBSYS,
                   "%s [%d] offset %lld: undecodable notice "
                   "skipped: %s",
                   c->topic, (int)m->partition, (long long)m->offset, e);
    } else if (cmd.kind != BATON_CMD_CANCEL || !cmd.task_id) {
        BATON_WARN(SUBSYS,
                   "%s [%d] offset %lld: not a CANCEL with a task_id "
                   "(%s): skipped",
                   c->topic, (int)m->partition, (long long)m->offset,
                   baton_cmd_kind_name(cmd.kind));
    } else if ((rc = cancels_add(c, cmd.task_id)) < 0) {
        BATON_ERROR(SUBSYS,
                    "out of memory remembering the cancellation of "
                    "task %s: it is not stopped",
                    cmd.task_id);
    } else if (rc) {
        BATON_INFO(SUBSYS, "cancellation notice for task %s", cmd.task_id);
        c->wake(c->wake_opaque);
    }
    baton_command_clear(&cmd);
}

static void *cancels_main(void *arg) {
    baton_cancels_t *c = arg;
    while (!atomic_load(&c->stop)) {
        rd_kafka_message_t *m;
        if (baton_mono_us() >= c->next_look_us) cancels_refresh(c);
        if (!(m = rd_kafka_consumer_poll(c->consumer, POLL_MS))) continue;
        cancels_handle(c, m);
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

/* Sets what the listener's consumer does differently from the task
 * consumers, never overriding what the user set:
 *
 *   client.id          "baton-worker-cancels" unless kafka.client.id or
 *                      kafka.consumer.client.id is set;
 *   fetch.wait.max.ms  worker.cancels.fetch.wait.max.ms when set, else
 *                      FETCH_WAIT_MS.  A notice may wait this long on a
 *                      broker that holds empty fetches for the whole wait
 *                      (the dev stack's, whose kafka.consumer.fetch.wait.
 *                      max.ms = 1 is meant for the task consumers): one
 *                      idle fetch per 200 ms instead of one per 1 ms.
 *
 * Returns BATON_OK, or BATON_ERR_CONFIG with errstr naming the setting
 * and librdkafka's reason.  kc stays the caller's.  Thread: any. */
static baton_err_t cancels_conf_tune(const baton_conf_t *conf,
                                     rd_kafka_conf_t *kc, char *errstr,
                                     size_t errlen) {
    const char *wait = baton_conf_get(conf, "worker.cancels.fetch.wait.max.ms");
    char err[512];

    if (!baton_conf_get(conf, "kafka.client.id") &&
        !baton_conf_get(conf, "kafka.consumer.client.id") &&
        rd_kafka_conf_set(kc, "client.id", "baton-worker-cancels", err,
                          sizeof err) != RD_KAFKA_CONF_OK)
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "cancellation listener: client.id: %s", err);
    if (!wait) wait = FETCH_WAIT_MS;
    if (rd_kafka_conf_set(kc, "fetch.wait.max.ms", wait, err, sizeof err) !=
        RD_KAFKA_CONF_OK)
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "cancellation listener: "
                            "worker.cancels.fetch.wait.max.ms = '%s': %s",
                            wait, err);
    return BATON_OK;
}

/* ---- lifecycle ------------------------------------------------------------ */

baton_cancels_t *baton_cancels_new(const baton_conf_t *conf,
                                   void (*wake)(void *opaque), void *opaque,
                                   char *errstr, size_t errlen) {
    baton_cancels_t *c = baton_calloc(1, sizeof *c);
    rd_kafka_conf_t *kc;
    char buf[512], err[512];

    if (!c) {
        baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    memset(c->buckets, 0xff, sizeof c->buckets); /* all -1 */
    atomic_init(&c->stop, 0);
    atomic_init(&c->generation, 0);
    c->wake = wake;
    c->wake_opaque = opaque;
    if (!(c->topic =
              baton_strdup(baton_topic(conf, "cancels", buf, sizeof buf)))) {
        baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (!(c->codec = baton_codec_new(err, sizeof err))) {
        baton_seterr(errstr, errlen, BATON_ERR_CONFIG, "codec: %s", err);
        goto fail;
    }
    /* librdkafka's consumer API wants a group id, but the listener never
     * joins the group (assign, not subscribe) nor commits (auto-commit is
     * off): every instance reads every partition. */
    if (!(kc = baton_kafka_conf_new(
              conf, BATON_KAFKA_CONSUMER,
              baton_topic(conf, "worker.cancels", buf, sizeof buf), errstr,
              errlen)))
        goto fail;
    if (cancels_conf_tune(conf, kc, errstr, errlen)) {
        rd_kafka_conf_destroy(kc);
        goto fail;
    }
    if (!(c->consumer =
              baton_kafka_new(kc, BATON_KAFKA_CONSUMER, errstr, errlen)))
        goto fail;
    return c;
fail:
    baton_cancels_destroy(c);
    return NULL;
}

baton_err_t baton_cancels_start(baton_cancels_t *c, char *errstr,
                                size_t errlen) {
    int rc = pthread_create(&c->thread, NULL, cancels_main, c);
    if (rc)
        return baton_seterr(errstr, errlen, BATON_ERR_IO,
                            "starting the cancellation listener: %s",
                            strerror(rc));
    c->started = 1;
    return BATON_OK;
}

void baton_cancels_destroy(baton_cancels_t *c) {
    if (!c) return;
    if (c->started) {
        atomic_store(&c->stop, 1);
        pthread_join(c->thread, NULL);
    }
    if (c->consumer) {
        rd_kafka_consumer_close(c->consumer);
        rd_kafka_destroy(c->consumer);
    }
    baton_codec_destroy(c->codec);
    while (c->cnt) cancels_evict(c);
    pthread_mutex_destroy(&c->mu);
    baton_free(c->topic);
    baton_free(c);
}
