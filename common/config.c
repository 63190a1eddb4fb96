/*
 * config.c -- the configuration object of config.h and the table of every
 * documented key.
 *
 * A baton_conf_t is an insertion-ordered list of key/value strings (a few
 * dozen entries at most: a list is simpler than a hash and fast enough).
 * Keys under "kafka." pass through to librdkafka; all others must be in
 * conf_keys[] below, which is also the documentation printed by --help.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KEY_STR, KEY_INT } key_type_t;

typedef struct conf_key {
    const char *name;
    key_type_t type;
    const char *def; /* default, NULL = unset */
    const char *doc;
} conf_key_t;

static const conf_key_t conf_keys[] = {
    {"redis.url", KEY_STR, "redis://127.0.0.1:6379",
     "Redis holding snapshots, timers, offsets and outbox: "
     "redis://[[user]:password@]host[:port][/db] or unix://[...@]/path "
     "(user and password percent-encoded; never logged)"},
    {"redis.user", KEY_STR, NULL,
     "Redis ACL user; overrides the URL's (docs/security.md)"},
    {"redis.password", KEY_STR, NULL,
     "Redis password; overrides the URL's.  Better given as "
     "redis.password.file or $BATON_REDIS_PASSWORD_FILE"},
    {"log.level", KEY_STR, "info", "error, warn, info or debug"},
    {"log.debug", KEY_STR, "",
     "debug contexts: loop,redis,kafka,engine,worker or all"},
    {"topic.prefix", KEY_STR, "baton",
     "prefix of every topic: <prefix>.commands, .results, .events, .dlq, "
     ".tasks.<queue>; also the Redis key namespace unless "
     "redis.key.prefix is set"},
    {"redis.key.prefix", KEY_STR, NULL,
     "namespace of every Redis key (<prefix>:{pN}:...); default: "
     "topic.prefix.  Letters, digits, '.', '_', '-' (docs/security.md)"},
    {"batond.group", KEY_STR, "batond",
     "consumer group of the orchestrator instances"},
    {"batond.workflows.dir", KEY_STR, "config/workflows",
     "folder of workflow definitions (*.asl.json, *.json)"},
    {"batond.batch.max", KEY_INT, "2000",
     "most inputs applied in one batch (one MULTI/EXEC per partition)"},
    {"batond.batch.wait.ms", KEY_INT, "0",
     "how long a batch waits for more inputs once it has one"},
    {"batond.cache.max", KEY_INT, "100000",
     "workflow snapshots cached in memory per instance"},
    {"batond.history.max", KEY_INT, "1000",
     "history events kept in Redis per workflow (oldest dropped)"},
    {"batond.history.ttl.s", KEY_INT, "604800",
     "seconds a closed workflow's history and snapshot are kept"},
    {"batond.timers.horizon.s", KEY_INT, "300",
     "timers due within this many seconds are kept in memory; later ones "
     "stay in Redis until they come near"},
    {"batond.payload.max", KEY_INT, "262144",
     "largest JSON payload accepted in a command or result (bytes)"},
    {"batond.dedupe.window.ms", KEY_INT, "86400000",
     "how long a command's dedupe id (or request id) is remembered when "
     "the command sets no dedupe_window_ms"},
    {"batond.signal.hold.ms", KEY_INT, "3600000",
     "how long a signal for a workflow that does not exist yet is held "
     "when the command sets no signal_hold_ms"},
    {"batond.events.publish", KEY_STR, "all",
     "which history events batond also publishes on <prefix>.events: all, "
     "lifecycle (started, step completed, waiting for a signal, completed, "
     "failed, cancelled, terminated: the dev.baton.workflow.* types) or "
     "none; the Redis history keeps every event (docs/events.md)"},
    {"batond.tasks.json.queues", KEY_STR, "",
     "task queues whose tasks batond sends as JSON envelopes (header "
     "content-type: application/json) instead of Avro binary: a comma-"
     "separated list of queue names, or * for every queue "
     "(docs/wire-protocol.md)"},
    {"batond.tasks.avro.v3.queues", KEY_STR, "",
     "task queues served by workers built before task schema version 4 "
     "(a C SDK worker that refuses trailing bytes): batond sends their "
     "tasks as version-3 Avro records, without the lineage fields; same "
     "form as batond.tasks.json.queues, no queue on both "
     "(docs/wire-protocol.md, Schema evolution: old workers)"},
    {"batond.limits.envelope.max", KEY_INT, "1048576",
     "largest command or result message (bytes), checked before it is "
     "parsed; larger ones go to the DLQ"},
    {"batond.limits.string.max", KEY_INT, "4096",
     "largest string field that is not a JSON payload (reason, signal "
     "name, error, cause, worker, ...), bytes"},
    {"batond.limits.dlq.copy.max", KEY_INT, "65536",
     "a DLQ copy keeps at most this many bytes of the refused value (a "
     "stub with the reason in its baton-error header)"},
    {"batond.limits.signals.max", KEY_INT, "100",
     "signals a run keeps not yet received (buffered, or held for a run "
     "to come); one more goes to the DLQ (0: no limit)"},
    {"batond.limits.signals.bytes.max", KEY_INT, "1048576",
     "bytes of the payloads of those signals; one more that would exceed "
     "it goes to the DLQ (0: no limit)"},
    {"batond.limits.map.items.max", KEY_INT, "10000",
     "items of one Map state; more fail the step with "
     "States.DataLimitExceeded (Catch sees it; 0: no limit)"},
    {"batond.limits.state.max", KEY_INT, "67108864",
     "bytes of the data a state produces (its input or output, kept in "
     "the snapshot); more fail the run with States.DataLimitExceeded "
     "(0: no limit)"},
    {"batond.limits.history.bytes.max", KEY_INT, "16777216",
     "bytes of history a run writes to Redis; later events keep seq, "
     "type, time and state only, marked \"cut\" (0: no limit)"},
    {"batond.limits.apply.retries", KEY_INT, "3",
     "an input whose apply fails for a non-input reason (out of memory, "
     "...) this many batches in a row quarantines its run (0: never)"},
    {"batond.metrics.listen", KEY_STR, "",
     "host:port of batond's /metrics, /healthz, /readyz and "
     "/metrics/backlog (docs/operations.md); empty: none"},
    {"metrics.live.timeout.s", KEY_INT, "60",
     "/healthz answers 503 when the process's main loop has not run for "
     "this long"},
    {"metrics.refresh.ms", KEY_INT, "5000",
     "batond: how often the gauges read from Redis (outbox depth, timers, "
     "backlog per queue) are refreshed"},
    {"worker.queue", KEY_STR, "default", "task queue a worker consumes"},
    {"worker.metrics.listen", KEY_STR, "",
     "host:port of a worker's /metrics, /healthz and /readyz "
     "(docs/operations.md); empty: none"},
    {"worker.concurrency", KEY_INT, "8", "activities a worker runs at once"},
    {"worker.id", KEY_STR, NULL, "worker identity reported in results"},
    {"worker.cancels.fetch.wait.max.ms", KEY_INT, "200",
     "fetch.wait.max.ms of a worker's cancellation listener (the task "
     "consumers' is kafka.consumer.fetch.wait.max.ms)"},
    {"bridge.metrics.listen", KEY_STR, "",
     "baton-bridge: host:port of /metrics, /healthz and /readyz "
     "(docs/operations.md); empty: none"},
    {"bridge.triggers.dir", KEY_STR, "config/triggers",
     "baton-bridge: folder of trigger definitions (*.json, docs/bridge.md)"},
    {"bridge.group.prefix", KEY_STR, "baton.bridge",
     "baton-bridge: a trigger's default consumer group is "
     "<prefix>.<trigger>"},
    {"bridge.inflight.max", KEY_INT, "10000",
     "baton-bridge: commands produced and not yet acknowledged, at most; "
     "source partitions pause while full"},
    {"bridge.message.max", KEY_INT, "1048576",
     "baton-bridge: larger source records go to the DLQ (a trigger's "
     "max_bytes overrides)"},
    {"bridge.commit.interval.ms", KEY_INT, "200",
     "baton-bridge: how often acknowledged source offsets are committed"},
    {"bridge.avro.registry.url", KEY_STR, "",
     "baton-bridge: Schema Registry of format avro triggers "
     "(BATON_SCHEMA_REGISTRY_URL; a trigger's avro.registry_url wins)"},
    {"bridge.avro.registry.user", KEY_STR, NULL,
     "baton-bridge: registry basic-auth user (BATON_SCHEMA_REGISTRY_USER)"},
    {"bridge.avro.registry.password", KEY_STR, NULL,
     "baton-bridge: registry password; give it as "
     "bridge.avro.registry.password.file or "
     "$BATON_SCHEMA_REGISTRY_PASSWORD_FILE"},
    {"bridge.avro.registry.wait.ms", KEY_INT, "20000",
     "baton-bridge: how long an unreachable registry is retried for one "
     "record before it goes to the DLQ"},
    {"bridge.avro.cache.max", KEY_INT, "1000",
     "baton-bridge: registry schemas cached per trigger"},
    {"llm.provider", KEY_STR, "openai",
     "baton-worker-llm: default API, openai (chat completions: OpenAI, "
     "vLLM, Ollama, LiteLLM) or anthropic (Messages)"},
    {"llm.base_url", KEY_STR, "https://api.openai.com/v1",
     "baton-worker-llm: API base URL (BATON_LLM_BASE_URL); the worker "
     "adds /chat/completions or /messages"},
    {"llm.model", KEY_STR, NULL,
     "baton-worker-llm: model when a task names none (BATON_LLM_MODEL)"},
    {"llm.api_key_file", KEY_STR, NULL,
     "baton-worker-llm: file holding the API key (BATON_LLM_API_KEY_FILE; "
     "BATON_LLM_API_KEY wins); never put the key itself in a config file"},
    {"llm.max_tokens", KEY_INT, "1024",
     "baton-worker-llm: max_tokens when a task sets none"},
    {"llm.timeout.ms", KEY_INT, "600000",
     "baton-worker-llm: time-out of one model call"},
    {"llm.stream", KEY_INT, "1",
     "baton-worker-llm: 1 = stream replies (SSE) and publish the partial "
     "text to Redis for batonctl watch; 0 = whole replies"},
    {"llm.stream.ttl.s", KEY_INT, "3600",
     "baton-worker-llm: seconds a step's live-output stream is kept after "
     "the step"},
    {"batond.budget.activities", KEY_STR, "llm.chat",
     "activity types that are model calls: their usage counts toward a "
     "run's Budget and they are refused (Baton.BudgetExceeded) when it is "
     "spent; comma-separated (docs/agents.md, Budgets)"},
    {"llm.prices", KEY_STR, NULL,
     "price table of models for budgets, JSON {\"<model prefix>\": "
     "{\"input_per_mtok\", \"output_per_mtok\", "
     "\"cached_input_per_mtok\"}} (or llm.prices.file = PATH)"},
    {"llm.ratelimit.rpm", KEY_INT, "0",
     "requests per llm.ratelimit.window.ms shared by every LLM worker of "
     "the scope (0 = no limit; held in Redis)"},
    {"llm.ratelimit.tpm", KEY_INT, "0",
     "tokens (input + output) per window shared by every LLM worker of "
     "the scope (0 = no limit)"},
    {"llm.ratelimit.concurrency", KEY_INT, "0",
     "model calls in flight at once across every LLM worker of the scope "
     "(0 = no limit)"},
    {"llm.ratelimit.window.ms", KEY_INT, "60000",
     "the sliding window of llm.ratelimit.rpm and .tpm"},
    {"llm.ratelimit.wait.max.ms", KEY_INT, "30000",
     "longest a call waits for capacity before failing with the retryable "
     "LLM.RateLimited (its retry hint: when capacity comes back)"},
    {"llm.ratelimit.margin.ms", KEY_INT, "250",
     "a call that waited for an earlier one to leave the window goes this "
     "long after it left (absorbs the jitter between admission and the "
     "provider's receipt)"},
    {"llm.ratelimit.scope", KEY_STR, "queue",
     "what shares one limit: queue (every worker of the queue) or model "
     "(per provider and model)"},
    {"llm.ratelimit.lease.ms", KEY_INT, "60000",
     "a concurrency slot's lease, renewed while the call runs: a dead "
     "worker's slot comes back after this long"},
    {"llm.anthropic.version", KEY_STR, "2023-06-01",
     "baton-worker-llm: anthropic-version header"},
    {"http.allow_hosts", KEY_STR, "",
     "baton-worker-http: hosts a task may call, comma-separated (*.domain "
     "for subdomains); empty = none"},
    {"http.secrets", KEY_STR, "",
     "baton-worker-http: environment variables a task may name as a "
     "secret header value, comma-separated"},
    {"http.timeout.ms", KEY_INT, "30000",
     "baton-worker-http: default and largest time-out of one call"},
    {"http.max_response_bytes", KEY_INT, "1048576",
     "baton-worker-http: default and largest response body kept"},
    {"mcp.url", KEY_STR, NULL,
     "baton-worker-mcp: the MCP server's Streamable HTTP endpoint "
     "(BATON_MCP_URL), e.g. http://127.0.0.1:3001/mcp"},
    {"mcp.timeout.ms", KEY_INT, "60000",
     "baton-worker-mcp: time-out of one MCP request"},
    {"api.listen", KEY_STR, "127.0.0.1:8080",
     "baton-api: host:port the HTTP API listens on (docs/api.md)"},
    {"api.token", KEY_STR, NULL,
     "baton-api: bearer token every /v1/ request must carry "
     "(BATON_API_TOKEN); unset = no authentication"},
    {"api.console.dir", KEY_STR, NULL,
     "baton-api: folder of the web console's files; default: where the "
     "build bundles them"},
    {"api.timeout.ms", KEY_INT, "5000",
     "baton-api: time-out of the Kafka and Redis calls of one request"},
    {"tracing.otlp.endpoint", KEY_STR, "",
     "OTLP/HTTP collector base URL, e.g. http://127.0.0.1:4318: spans are "
     "POSTed to <url>/v1/traces as JSON (OTEL_EXPORTER_OTLP_ENDPOINT, "
     "BATON_TRACING_OTLP_ENDPOINT); empty = no export (docs/tracing.md)"},
    {"tracing.queue.max", KEY_INT, "8192",
     "spans waiting for export, at most; more are dropped and counted"},
    {"tracing.service.name", KEY_STR, NULL,
     "service.name of the exported spans (default: the program's name)"},
    {"tracing.genai.content", KEY_INT, "0",
     "1 = model and tool spans carry the messages and arguments "
     "(gen_ai.input.messages ...); 0 = never (the default)"},
    {"crypt.keys.dir", KEY_STR, "",
     "payload encryption (docs/security.md): folder of key files "
     "<key id>.key (32 raw bytes or 64 hex digits each); empty = payloads "
     "in clear"},
    {"crypt.active.key", KEY_STR, "",
     "payload encryption: the key id that encrypts (every key of "
     "crypt.keys.dir decrypts); may be empty when the folder holds one key"},
    {"crypt.queues", KEY_STR, "*",
     "payload encryption: task queues whose task inputs batond encrypts "
     "(comma list, * = all); workers of other queues get plaintext"},
    {"blob.threshold", KEY_INT, "65536",
     "claim check: a JSON value in a task, a result, a snapshot or the "
     "history larger than this (bytes) is stored once in Redis by content "
     "hash and travels as a reference (common/blob.h); 0 = off"},
    {"blob.element.min", KEY_INT, "1024",
     "claim check: when an array or object is over blob.threshold, each of "
     "its elements of at least this many bytes becomes a blob of its own "
     "(one blob per message of a conversation)"},
    {"blob.resolve.max", KEY_INT, "67108864",
     "claim check: most bytes of blobs one payload may resolve to"},
    {"blob.retention.s", KEY_INT, "604800",
     "claim check: seconds a blob is kept after the last run holding it "
     "closed"},
    {"blob.pending.ttl.s", KEY_INT, "86400",
     "claim check: seconds a blob a worker stored for a result is kept "
     "when no run takes it up"},
    {"devstack.partitions", KEY_INT, "8",
     "partitions of every topic the dev stack creates"},
    {"devstack.queues", KEY_STR, "default",
     "task queues whose topics the dev stack creates"},
};

typedef struct conf_entry {
    char *key;
    char *value;
} conf_entry_t;

struct baton_conf {
    conf_entry_t *entries;
    size_t cnt, cap;
};

baton_conf_t *baton_conf_new(void) {
    return baton_calloc(1, sizeof(baton_conf_t));
}

void baton_conf_destroy(baton_conf_t *conf) {
    if (!conf) return;
    for (size_t i = 0; i < conf->cnt; i++) {
        baton_free(conf->entries[i].key);
        baton_free(conf->entries[i].value);
    }
    baton_free(conf->entries);
    baton_free(conf);
}

static const conf_key_t *conf_key_find(const char *name) {
    for (size_t i = 0; i < BATON_ARRAY_SIZE(conf_keys); i++)
        if (!strcmp(conf_keys[i].name, name)) return &conf_keys[i];
    return NULL;
}

static conf_entry_t *conf_entry_find(const baton_conf_t *conf,
                                     const char *name) {
    for (size_t i = 0; i < conf->cnt; i++)
        if (!strcmp(conf->entries[i].key, name)) return &conf->entries[i];
    return NULL;
}

/* "<key>.file = PATH": sets <key> to the contents of PATH, trailing
 * newlines cut (so a secret never has to be on a command line or in the
 * config file itself).  The error names the key and the path, never the
 * contents. */
static baton_err_t conf_set_from_file(baton_conf_t *conf, const char *name,
                                      const char *path, char *errstr,
                                      size_t errlen) {
    char err[512], *text, *base;
    size_t n;
    baton_err_t rc;
    if (!(base = baton_strndup(name, strlen(name) - 5)))
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    if (!(text = baton_read_file(path, &n, err, sizeof err))) {
        rc = baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                          "%s: reading the value of %s: %s", name, base, err);
        baton_free(base);
        return rc;
    }
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r')) text[--n] = '\0';
    if (strlen(text) != n)
        rc = baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                          "%s: %s holds a NUL byte", name, path);
    else
        rc = baton_conf_set(conf, base, text, errstr, errlen);
    memset(text, 0, n);
    baton_free(text);
    baton_free(base);
    return rc;
}

static int conf_is_file_key(const char *name) {
    size_t n = strlen(name);
    return n > 5 && !strcmp(name + n - 5, ".file") && !conf_key_find(name);
}

baton_err_t baton_conf_set(baton_conf_t *conf, const char *name,
                           const char *value, char *errstr, size_t errlen) {
    conf_entry_t *e;
    char *v;

    if (conf_is_file_key(name))
        return conf_set_from_file(conf, name, value, errstr, errlen);
    if (strncmp(name, "kafka.", 6) != 0) {
        const conf_key_t *k = conf_key_find(name);
        int64_t iv;
        if (!k)
            return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                                "unknown configuration key '%s'", name);
        if (k->type == KEY_INT && baton_parse_i64(value, &iv))
            return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                                "configuration key '%s' wants an integer, "
                                "not '%s'",
                                name, value);
    } else if (!name[6]) {
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "empty kafka property name");
    }
    if (!(v = baton_strdup(value)))
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    if ((e = conf_entry_find(conf, name))) {
        baton_free(e->value);
        e->value = v;
        return BATON_OK;
    }
    if (conf->cnt == conf->cap) {
        size_t ncap = conf->cap ? conf->cap * 2 : 16;
        conf_entry_t *n = baton_realloc(conf->entries, ncap * sizeof(*n));
        if (!n) {
            baton_free(v);
            return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                                "out of memory");
        }
        conf->entries = n;
        conf->cap = ncap;
    }
    e = &conf->entries[conf->cnt];
    if (!(e->key = baton_strdup(name))) {
        baton_free(v);
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    }
    e->value = v;
    conf->cnt++;
    return BATON_OK;
}

const char *baton_conf_get(const baton_conf_t *conf, const char *name) {
    const conf_entry_t *e = conf_entry_find(conf, name);
    const conf_key_t *k;
    if (e) return e->value;
    k = conf_key_find(name);
    return k ? k->def : NULL;
}

int64_t baton_conf_get_int(const baton_conf_t *conf, const char *name) {
    const char *v = baton_conf_get(conf, name);
    int64_t iv = 0;
    if (v) baton_parse_i64(v, &iv);
    return iv;
}

static char *trim(char *s) {
    char *end;
    while (isspace((unsigned char)*s)) s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) *--end = '\0';
    return s;
}

baton_err_t baton_conf_load_file(baton_conf_t *conf, const char *path,
                                 char *errstr, size_t errlen) {
    char err[512];
    char *text = baton_read_file(path, NULL, err, sizeof err);
    baton_err_t rc;

    if (!text)
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "reading config file: %s", err);
    rc = baton_conf_load_text(conf, path, text, errstr, errlen);
    baton_free(text);
    return rc;
}

baton_err_t baton_conf_load_text(baton_conf_t *conf, const char *path,
                                 char *text, char *errstr, size_t errlen) {
    char err[512];
    char *line, *save = NULL;
    int lineno = 0;
    baton_err_t rc = BATON_OK;
    /* strtok_r skips empty lines, so count lines by hand. */
    for (line = text; line && rc == BATON_OK; lineno++) {
        char *nl = strchr(line, '\n'), *eq, *key, *val;
        if (nl) *nl = '\0';
        key = trim(line);
        line = nl ? nl + 1 : NULL;
        if (!*key || *key == '#') continue;
        if (!(eq = strchr(key, '='))) {
            rc = baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                              "%s:%d: expected 'key = value', got '%s'", path,
                              lineno + 1, key);
            break;
        }
        *eq = '\0';
        val = trim(eq + 1);
        key = trim(key);
        if ((rc = baton_conf_set(conf, key, val, err, sizeof err)))
            baton_seterr(errstr, errlen, rc, "%s:%d: %s", path, lineno + 1,
                         err);
    }
    (void)save;
    return rc;
}

baton_err_t baton_conf_load_env(baton_conf_t *conf, char *errstr,
                                size_t errlen) {
    static const struct {
        const char *env, *key;
    } map[] = {
        {"BATON_KAFKA_BROKERS", "kafka.bootstrap.servers"},
        {"BATON_REDIS_URL", "redis.url"},
        {"BATON_LOG_LEVEL", "log.level"},
        {"BATON_LOG_DEBUG", "log.debug"},
        {"BATON_TOPIC_PREFIX", "topic.prefix"},
        {"BATON_REDIS_USER", "redis.user"},
        {"BATON_REDIS_PASSWORD", "redis.password"},
        {"BATON_REDIS_KEY_PREFIX", "redis.key.prefix"},
        {"BATON_CRYPT_KEYS_DIR", "crypt.keys.dir"},
        {"BATON_CRYPT_ACTIVE_KEY", "crypt.active.key"},
        {"BATON_API_TOKEN", "api.token"},
        {"BATON_KAFKA_SASL_USERNAME", "kafka.sasl.username"},
        {"BATON_KAFKA_SASL_PASSWORD", "kafka.sasl.password"},
        {"BATON_KAFKA_SSL_KEY_PASSWORD", "kafka.ssl.key.password"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT", "tracing.otlp.endpoint"},
        {"BATON_TRACING_OTLP_ENDPOINT", "tracing.otlp.endpoint"},
        {"OTEL_SERVICE_NAME", "tracing.service.name"},
        {"BATON_SCHEMA_REGISTRY_URL", "bridge.avro.registry.url"},
        {"BATON_SCHEMA_REGISTRY_USER", "bridge.avro.registry.user"},
        {"BATON_SCHEMA_REGISTRY_PASSWORD", "bridge.avro.registry.password"},
    };
    /* Each variable also has a <NAME>_FILE form naming a file that holds
     * the value (the Docker/Kubernetes secrets convention); it wins over
     * <NAME> when both are set. */
    for (size_t i = 0; i < BATON_ARRAY_SIZE(map); i++) {
        char fenv[64], fkey[96];
        const char *v = getenv(map[i].env), *fv;
        baton_err_t rc;
        char err[600];
        snprintf(fenv, sizeof fenv, "%s_FILE", map[i].env);
        snprintf(fkey, sizeof fkey, "%s.file", map[i].key);
        if ((fv = getenv(fenv)) && *fv) {
            if ((rc = baton_conf_set(conf, fkey, fv, err, sizeof err)))
                return baton_seterr(errstr, errlen, rc, "environment %s: %s",
                                    fenv, err);
            continue;
        }
        if (!v || !*v) continue;
        if ((rc = baton_conf_set(conf, map[i].key, v, err, sizeof err)))
            return baton_seterr(errstr, errlen, rc, "environment %s: %s",
                                map[i].env, err);
    }
    return BATON_OK;
}

const char *baton_conf_key_prefix(const baton_conf_t *conf) {
    const char *p = baton_conf_get(conf, "redis.key.prefix");
    return p && *p ? p : baton_conf_get(conf, "topic.prefix");
}

static int file_exists(const char *path) {
    FILE *f = fopen(path, "r");
    if (f) fclose(f);
    return f != NULL;
}

baton_err_t baton_conf_load_default(baton_conf_t *conf,
                                    const char *explicit_path, char *errstr,
                                    size_t errlen) {
    const char *path = explicit_path;
    baton_err_t rc;

    if (!path || !*path) path = getenv("BATON_CONFIG");
    if (path && *path) {
        if ((rc = baton_conf_load_file(conf, path, errstr, errlen))) return rc;
    }
    /* The dev stack's connection file comes under an explicit config file
     * only when that file leaves the connection unset. */
    {
        const char *stack = getenv("BATON_STACK_FILE");
        if (!stack || !*stack) stack = "build/dev/stack.conf";
        if (file_exists(stack) &&
            !conf_entry_find(conf, "kafka.bootstrap.servers")) {
            baton_conf_t *tmp = baton_conf_new();
            if (!tmp)
                return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                                    "out of memory");
            rc = baton_conf_load_file(tmp, stack, errstr, errlen);
            for (size_t i = 0; rc == BATON_OK && i < tmp->cnt; i++)
                if (!conf_entry_find(conf, tmp->entries[i].key))
                    rc = baton_conf_set(conf, tmp->entries[i].key,
                                        tmp->entries[i].value, errstr, errlen);
            baton_conf_destroy(tmp);
            if (rc) return rc;
        }
    }
    if ((rc = baton_conf_load_env(conf, errstr, errlen))) return rc;
    if (baton_log_configure(baton_conf_get(conf, "log.level"),
                            baton_conf_get(conf, "log.debug")))
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "log.level must be error, warn, info or debug, "
                            "not '%s'",
                            baton_conf_get(conf, "log.level"));
    return BATON_OK;
}

int baton_conf_foreach(const baton_conf_t *conf, const char *prefix,
                       baton_conf_cb_t cb, void *opaque) {
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < conf->cnt; i++) {
        int r;
        if (strncmp(conf->entries[i].key, prefix, plen)) continue;
        if ((r = cb(conf->entries[i].key + plen, conf->entries[i].value,
                    opaque)))
            return r;
    }
    return 0;
}

void baton_conf_print_keys(FILE *out) {
    for (size_t i = 0; i < BATON_ARRAY_SIZE(conf_keys); i++)
        fprintf(out, "  %-24s %s (default: %s)\n", conf_keys[i].name,
                conf_keys[i].doc, conf_keys[i].def ? conf_keys[i].def : "-");
    fprintf(out,
            "  %-24s any librdkafka property, e.g. kafka.linger.ms; "
            "kafka.consumer.X / kafka.producer.X for one side\n",
            "kafka.*");
    fprintf(out,
            "  %-24s sets <key> to the contents of FILE (trailing "
            "newlines cut), e.g. kafka.sasl.password.file, "
            "redis.password.file; env: BATON_<NAME>_FILE\n",
            "<key>.file = FILE");
}
