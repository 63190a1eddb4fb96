/*
 * llm_ratelimit.c -- rate limits of model calls shared by every replica of
 * baton-worker-llm, held in Redis (docs/agents.md "Shared rate limits";
 * keys: common/keys.h baton:rl:{<scope>}:req / :tok / :conc).
 *
 * Before a call the worker runs ACQUIRE, one Lua script over the scope's
 * three keys, on Redis' own clock (so the replicas' clocks do not matter):
 *
 *   requests   a sliding window log: one member per admitted request,
 *              scored by its time; admitted while fewer than rpm lie in
 *              the last window_ms
 *   tokens     one member "<call id>:<tokens>" per call, scored by its
 *              admission: admitted while the sum in the window plus this
 *              call's estimate stays within tpm (a call larger than tpm
 *              alone only into an empty window).  The estimate (request
 *              bytes / 4 + max_tokens, as providers reserve) is replaced
 *              by the call's real input + output tokens when it ends
 *   in flight  a semaphore: one member per running call, scored by the end
 *              of its lease (lease_ms, renewed while the call runs);
 *              an expired lease is a dead worker's and frees its slot
 *
 * The script admits the call (adding it to the request log and the
 * semaphore) or answers how long to wait until the first limit frees up.
 * The handler waits in steps of at most 500 ms, heartbeating and watching
 * for cancellation, for at most wait_max_ms: then the call fails with
 * LLM.RateLimited (retryable, the wait still needed as its retry hint)
 * and the pool thread goes back to work.  RELEASE leaves the semaphore
 * and records the call's tokens.  With Redis unreachable the call goes on
 * unlimited (one warning): the limits protect the provider's quota, they
 * must not stop the agents.
 *
 * Thread: the handler's; each call has its own connection.
 */
#include <stdio.h>
#include <string.h>

#include "baton_common.h"
#include "baton_worker.h"
#include "keys.h"
#include "llm.h"
#include "redis.h"

#define RL_STEP_MS 500

struct llm_ratelimit {
    redisContext *rc;
    char req[512], tok[512], conc[512];
    char id[300];
    const llm_ratelimit_conf_t *conf;
    int64_t renewed_us;
    int64_t est; /* tokens reserved under tpm until the call ends */
};

/* KEYS: req tok conc.  ARGV: window rpm tpm conc lease id margin est.
 * Returns 0 (admitted) or the milliseconds to wait. */
static const char ACQUIRE[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local win, rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2]), "
    "tonumber(ARGV[3])\n"
    "local conc, lease = tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local margin, est = tonumber(ARGV[7]), tonumber(ARGV[8])\n"
    "local wait = 0\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win)\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - win)\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)\n"
    "if rpm > 0 then\n"
    "  local n = redis.call('ZCARD', KEYS[1])\n"
    "  if n >= rpm then\n"
    "    local e = redis.call('ZRANGE', KEYS[1], n - rpm, n - rpm, "
    "'WITHSCORES')\n"
    "    wait = math.max(wait, tonumber(e[2]) + win + margin - now)\n"
    "  end\n"
    "end\n"
    "if tpm > 0 then\n"
    "  local all = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')\n"
    "  local sum = 0\n"
    "  for i = 1, #all, 2 do sum = sum + tonumber(string.match(all[i], "
    "':(%d+)$')) end\n"
    "  local room = math.max(tpm - est, 0)\n"
    "  for i = 1, #all, 2 do\n"
    "    if sum <= room then break end\n"
    "    sum = sum - tonumber(string.match(all[i], ':(%d+)$'))\n"
    "    if sum <= room then wait = math.max(wait, tonumber(all[i + 1]) + win "
    "+ margin - now) end\n"
    "  end\n"
    "end\n"
    "if conc > 0 and redis.call('ZCARD', KEYS[3]) >= conc then\n"
    "  wait = math.max(wait, 50)\n"
    "end\n"
    "if wait > 0 then return wait end\n"
    "if rpm > 0 then redis.call('ZADD', KEYS[1], now, ARGV[6]) end\n"
    "if tpm > 0 then redis.call('ZADD', KEYS[2], now, ARGV[6] .. ':' .. est) "
    "end\n"
    "if conc > 0 then redis.call('ZADD', KEYS[3], now + lease, ARGV[6]) end\n"
    "for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], win + lease + margin) end\n"
    "return 0\n";

/* KEYS: tok conc.  ARGV: id est tokens.  The estimate becomes the real
 * count, at the admission's time (what the window counted). */
static const char RELEASE[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "local m = ARGV[1] .. ':' .. ARGV[2]\n"
    "local at = redis.call('ZSCORE', KEYS[1], m)\n"
    "if at then\n"
    "  redis.call('ZREM', KEYS[1], m)\n"
    "  if tonumber(ARGV[3]) > 0 then\n"
    "    redis.call('ZADD', KEYS[1], at, ARGV[1] .. ':' .. ARGV[3])\n"
    "  end\n"
    "end\n"
    "return 0\n";

/* KEYS: conc.  ARGV: id lease. */
static const char RENEW[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "return redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), "
    "ARGV[1])\n";

int llm_ratelimit_on(const llm_ratelimit_conf_t *c) {
    return c->rpm > 0 || c->tpm > 0 || c->concurrency > 0;
}

/* Runs ACQUIRE once: 0 admitted, > 0 ms to wait, -1 Redis failed. */
static int64_t try_acquire(llm_ratelimit_t *rl) {
    char win[24], rpm[24], tpm[24], conc[24], lease[24], margin[24];
    char est[24];
    const char *argv[] = {"EVAL",   ACQUIRE, "3",    rl->req, rl->tok,
                          rl->conc, win,     rpm,    tpm,     conc,
                          lease,    rl->id,  margin, est};
    redisReply *r;
    int64_t v;
    snprintf(win, sizeof win, "%lld", (long long)rl->conf->window_ms);
    snprintf(rpm, sizeof rpm, "%lld", (long long)rl->conf->rpm);
    snprintf(tpm, sizeof tpm, "%lld", (long long)rl->conf->tpm);
    snprintf(conc, sizeof conc, "%lld", (long long)rl->conf->concurrency);
    snprintf(lease, sizeof lease, "%lld", (long long)rl->conf->lease_ms);
    snprintf(est, sizeof est, "%lld", (long long)rl->est);
    snprintf(margin, sizeof margin, "%lld", (long long)rl->conf->margin_ms + 1);
    r = redisCommandArgv(rl->rc, (int)BATON_ARRAY_SIZE(argv), argv, NULL);
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        BATON_WARN("llm", "rate limit %s not applied: %s", rl->req,
                   !r                             ? rl->rc->errstr
                   : r->type == REDIS_REPLY_ERROR ? r->str
                                                  : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    v = r->integer;
    freeReplyObject(r);
    return v;
}

static void rl_free(llm_ratelimit_t *rl) {
    if (!rl) return;
    if (rl->rc) redisFree(rl->rc);
    baton_free(rl);
}

llm_rl_rc_t llm_ratelimit_acquire(const llm_stream_target_t *to,
                                  const llm_ratelimit_conf_t *c,
                                  const char *scope, const char *call_id,
                                  int64_t est_tokens, baton_activity_t *act,
                                  llm_ratelimit_t **out, int64_t *hint_ms) {
    llm_ratelimit_t *rl = baton_calloc(1, sizeof *rl);
    char err[256];
    int64_t waited = 0, wait;

    *out = NULL;
    *hint_ms = 0;
    if (!rl) return LLM_RL_UNAVAILABLE;
    rl->conf = c;
    rl->est = est_tokens > 0 ? est_tokens : 1;
    baton_keys_ratelimit(rl->req, sizeof rl->req, to->ns, scope, "req");
    baton_keys_ratelimit(rl->tok, sizeof rl->tok, to->ns, scope, "tok");
    baton_keys_ratelimit(rl->conc, sizeof rl->conc, to->ns, scope, "conc");
    snprintf(rl->id, sizeof rl->id, "%s@%lld", call_id,
             (long long)baton_mono_us());
    if (!(rl->rc = baton_redis_connect_with(to->redis_url, to->redis_user,
                                            to->redis_password, 2000, err,
                                            sizeof err))) {
        BATON_WARN("llm", "rate limit of %s not applied: %s", scope, err);
        rl_free(rl);
        return LLM_RL_UNAVAILABLE;
    }
    while ((wait = try_acquire(rl)) > 0) {
        int64_t step = wait < RL_STEP_MS ? wait : RL_STEP_MS;
        if (waited + wait > c->wait_max_ms) {
            *hint_ms = wait;
            rl_free(rl);
            return LLM_RL_BUSY;
        }
        if (baton_activity_heartbeat_seconds(act) > 0) {
            char details[64];
            snprintf(details, sizeof details, "{\"rate_limited_ms\":%lld}",
                     (long long)(waited + step));
            baton_activity_heartbeat(act, details);
        }
        if (baton_activity_sleep(act, step)) {
            rl_free(rl);
            return LLM_RL_CANCELLED;
        }
        waited += step;
    }
    if (wait < 0) {
        rl_free(rl);
        return LLM_RL_UNAVAILABLE;
    }
    rl->renewed_us = baton_mono_us();
    if (waited)
        BATON_INFO("llm", "task %s waited %lld ms for the rate limit of %s",
                   call_id, (long long)waited, scope);
    *out = rl;
    return LLM_RL_OK;
}

void llm_ratelimit_renew(llm_ratelimit_t *rl) {
    char lease[24];
    const char *argv[] = {"EVAL",           RENEW, "1", rl ? rl->conc : "",
                          rl ? rl->id : "", lease};
    redisReply *r;
    if (!rl || rl->conf->concurrency <= 0 ||
        baton_mono_us() - rl->renewed_us < rl->conf->lease_ms * 1000 / 3)
        return;
    snprintf(lease, sizeof lease, "%lld", (long long)rl->conf->lease_ms);
    r = redisCommandArgv(rl->rc, (int)BATON_ARRAY_SIZE(argv), argv, NULL);
    freeReplyObject(r); /* a failure: the lease runs out, the slot frees */
    rl->renewed_us = baton_mono_us();
}

void llm_ratelimit_release(llm_ratelimit_t *rl, int64_t tokens) {
    char est[24], tk[24];
    const char *argv[] = {
        "EVAL",           RELEASE, "2", rl ? rl->tok : "", rl ? rl->conc : "",
        rl ? rl->id : "", est,     tk};
    redisReply *r;
    if (!rl) return;
    snprintf(est, sizeof est, "%lld", (long long)rl->est);
    snprintf(tk, sizeof tk, "%lld", (long long)tokens);
    r = redisCommandArgv(rl->rc, (int)BATON_ARRAY_SIZE(argv), argv, NULL);
    if (!r || r->type == REDIS_REPLY_ERROR)
        BATON_WARN("llm", "rate limit %s: release failed: %s", rl->conc,
                   r ? r->str : rl->rc->errstr);
    freeReplyObject(r);
    rl_free(rl);
}
