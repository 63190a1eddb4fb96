/*
 * devstack.c -- baton-devstack: the embedded Kafka + Redis every Baton
 * binary finds by default (DESIGN.md "Dev stack").
 *
 *   baton-devstack [--dir DIR] [--partitions N] [--queues a,b] [--brokers N]
 *                  [--kafka BOOTSTRAP [--replication N]]
 *                  [--stack-file FILE] [--config FILE]
 *                  [--session-timeout-ms MS] [--heartbeat-ms MS]
 *
 * --session-timeout-ms and --heartbeat-ms (defaults 6000 and 500) are the
 * consumer settings written to the stack file: they bound how long the
 * group takes to hand a dead member's partitions over (see below and
 * README.md, "Failover").
 *
 * --kafka BOOTSTRAP: no mock cluster; the topics below are created on the
 * given (real, e.g. Apache Kafka from scripts/kafka.sh) cluster through the
 * Admin API with --replication N (default 1) replicas, an existing topic is
 * kept (devstack_topics.c), and the stack file gets settings for a real
 * broker.  Redis' data dir is then kept across starts (the cluster keeps
 * its log, so the offsets Redis holds stay valid); the control commands
 * that drive the mock cluster answer an error (kill and restart broker
 * nodes with scripts/kafka.sh instead); the Redis ones work as below.
 *
 * Runs in the foreground until SIGTERM or SIGINT and hosts:
 *
 *  - Kafka: librdkafka's mock cluster (rd_kafka_mock_cluster_new), brokers
 *    1..N speaking the real Kafka protocol on loopback ports chosen by the
 *    mock (random on every start: clients read them from the stack file).
 *    Topics <prefix>.commands, .results, .events, .dlq and .tasks.<q> for
 *    every queue in devstack.queues are created up front with
 *    devstack.partitions partitions each.  Why up front: the mock does
 *    auto-create topics, but with its own default of 4 partitions (checked
 *    against librdkafka 2.0.2: a producer's Metadata request for an unknown
 *    topic creates it with 4 partitions, replication min(3, brokers)), and
 *    consumers (allow.auto.create.topics=false) never create one.  A
 *    commands/results pair created that way would not be co-partitioned
 *    with what batond expects.  A queue missing from devstack.queues is
 *    therefore created with 4 partitions the first time a task is produced
 *    to it, and a worker subscribing first waits until then.
 *
 *  - Redis: a private `redis-server --port P --bind 127.0.0.1 --appendonly
 *    yes --appendfsync everysec --dir DIR/redis --save "" --daemonize no`
 *    on a free loopback port, logging to DIR/redis.log.  Its data dir is
 *    wiped at every start: the mock cluster keeps its log in memory only, so
 *    Kafka starts empty at offset 0 and Redis state of a previous run (input
 *    offsets per partition, outboxes) would make batond skip new inputs as
 *    "already applied".  Within one run the AOF is kept, so `redis-restart`
 *    below replays it (the kill -9 guarantee of DESIGN.md).  redis-server
 *    runs in its own process group (a terminal's Ctrl-C reaches only the
 *    dev stack, which then stops Redis in order) and gets SIGTERM if the dev
 *    stack itself dies (PR_SET_PDEATHSIG).  An unexpected exit of
 *    redis-server is logged as an error; `redis-start` brings it back.
 *
 * Once everything is up it writes, atomically (tmp file + rename), the
 * stack file DIR/stack.conf: a Baton config file (config.h) that every
 * binary loads by default, plus DIR/devstack.pid.  On SIGTERM/SIGINT it
 * stops redis-server (SIGTERM, SIGKILL after 5 s), destroys the mock
 * cluster and removes the stack file, the pid file and the control FIFO.
 * Exit status: 0 after a clean stop, 1 on failure, 2 on usage errors.
 *
 * Control channel, for fault-injection tests: the FIFO DIR/control accepts
 * one command per line (`echo broker-down 1 > build/dev/control`):
 *
 *   broker-down <id>             disconnect broker id (-1 = all) and refuse
 *                                connections; no leader change (mock limit)
 *   broker-up <id>               accept connections again
 *   rtt <id> <ms>                add round-trip delay to broker id (-1 all)
 *   push-errors <api> <cnt> <err>  fail the next cnt requests of ApiKey api
 *                                (number or name: Produce, Fetch, Metadata,
 *                                OffsetCommit, JoinGroup, ...) with Kafka
 *                                error err (number, or name as in
 *                                rd_kafka_err2name: NOT_LEADER_FOR_PARTITION,
 *                                _TRANSPORT = disconnect the client, ...)
 *   clear-errors <api>           drop errors pushed for api
 *   leader <topic> <part> <id>   move the partition's leadership to broker
 *                                id (-1: leaderless); clients get
 *                                NOT_LEADER_FOR_PARTITION and refresh their
 *                                metadata (the log is the cluster's, so
 *                                nothing is lost: needs --brokers >= 2)
 *   coordinator <group> <id>     move the group's coordinator to broker id
 *                                (the group's members and state stay)
 *   redis-kill                   kill -9 redis-server, no restart
 *   redis-start                  start redis-server again (same port, AOF)
 *   redis-restart                kill -9 redis-server and start it again on
 *                                the same port and dir: the AOF replays
 *
 * Each command, when done, appends "<n> ok <command>" or "<n> error
 * <command>: <reason>" to DIR/control.log (n counts from 1 per run), so a
 * test that wrote its k-th command waits for k lines; redis-restart and
 * redis-start are done once the new redis-server answers PING.
 *
 * Measured on the build machine (2 vCPU, 1 broker, 5 topics x 8
 * partitions, release build): start to stack file written 15-30 ms, most
 * of it redis-server starting until it answers PING -- but about 1 s in
 * roughly half of the starts.  The cause is the mock cluster: every
 * rd_kafka_mock_* call (topic create here, broker-down and push-errors in
 * the control channel) is an op its thread serves after poll(), and when
 * the op's wakeup byte arrives between serving the op queue and draining
 * the wakeup pipe it waits for the thread's next timer (up to 1 s).  Any
 * one control command can therefore take up to a second; control.log says
 * when it is done.
 *
 * Other things about the mock cluster (librdkafka 2.0.2) worth knowing:
 *  - a group's first member waits 3 s for its assignment (the mock's
 *    group.initial.rebalance.delay.ms), a member joining a stable group
 *    session.timeout.ms - 1 s, and a member killed with -9 is replaced
 *    after ~2 x session.timeout.ms (about 11 s with the 6 s set below);
 *  - OffsetCommit is refused (REBALANCE_IN_PROGRESS) while the group is
 *    joining or syncing, where a real broker accepts commits of the
 *    current generation until the rejoin: a commit made in the rebalance
 *    callback fails;
 *  - the group protocol is the leader's first assignment strategy and the
 *    mock asserts (aborting this process) if a member's first strategy
 *    differs: all members of a group must list the same strategy first.
 *
 * Thread: everything here runs on the main thread; the mock cluster runs on
 * librdkafka's own threads.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "baton_common.h"
#include "config.h"
#include "devstack_topics.h"

#define SUBSYS "devstack"
#define REDIS_STOP_GRACE_MS 5000
#define REDIS_START_TIMEOUT_MS 30000

typedef struct devstack {
    /* settings */
    char dir[PATH_MAX]; /* absolute */
    char stack_file[PATH_MAX];
    char pid_file[PATH_MAX];
    char control_path[PATH_MAX];
    char control_log_path[PATH_MAX];
    char redis_dir[PATH_MAX];
    char redis_log[PATH_MAX];
    const char *prefix;
    const char *extra_prefixes; /* --extra-prefixes: more deployments' topic
                                   prefixes (a,b), for namespace tests */
    const char *queues;
    int partitions;
    int brokers;
    const char *external;   /* --kafka bootstrap servers, or NULL: the mock */
    int replication;        /* topics' replication factor with --kafka */
    int session_timeout_ms; /* written to the stack file for consumers */
    int heartbeat_ms;

    /* Kafka */
    rd_kafka_t *rk; /* the handle the mock cluster lives on */
    rd_kafka_mock_cluster_t *mcluster;
    char bootstraps[1024];

    /* Redis */
    pid_t redis_pid; /* 0 when not running */
    int redis_port;
    const char *redis_conf; /* --redis-conf: a redis.conf read first (ACL
                               users, requirepass), NULL: none */

    /* control channel */
    int control_fd;
    FILE *control_log;
    long control_seq;
    char control_buf[4096];
    size_t control_len;
} devstack_t;

/* ---- signals: a self-pipe the main loop polls ------------------------- */

static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    int saved = errno;
    char c = (char)sig;
    if (sig == SIGTERM || sig == SIGINT) stop_requested = 1;
    if (write(sig_pipe[1], &c, 1) < 0) { /* full pipe: already woken */
    }
    errno = saved;
}

static int signals_install(void) {
    struct sigaction sa;
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK)) return -1;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL) ||
        sigaction(SIGCHLD, &sa, NULL))
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* ---- small file helpers ------------------------------------------------ */

/* mkdir -p.  Returns 0 or -1 with errno. */
static int mkdir_p(const char *path) {
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) && errno != EEXIST) return -1;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* rm -rf path; a missing path is fine. */
static int rm_rf(const char *path) {
    if (access(path, F_OK)) return 0;
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes text to path atomically: path.tmp, fsync, rename.  Returns 0, or
 * -1 with errstr. */
static int write_atomic(const char *path, const char *text, char *errstr,
                        size_t errlen) {
    char tmp[PATH_MAX + 8];
    size_t len = strlen(text), off = 0;
    int fd;

    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        goto fail;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) goto fail_fd;
        off += (size_t)w;
    }
    if (fsync(fd)) goto fail_fd;
    if (close(fd)) goto fail;
    if (rename(tmp, path)) goto fail;
    return 0;
fail_fd:
    close(fd);
fail:
    baton_seterr(errstr, errlen, BATON_ERR_IO, "writing %s: %s", path,
                 strerror(errno));
    unlink(tmp);
    return -1;
}

/* ---- Kafka: the mock cluster ------------------------------------------- */

static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                         const char *buf) {
    (void)rk;
    if (level <= 3)
        BATON_ERROR("kafka", "%s: %s", fac, buf);
    else if (level == 4)
        BATON_WARN("kafka", "%s: %s", fac, buf);
    else
        BATON_DEBUG("kafka", "%s: %s", fac, buf);
}

static int create_topic(devstack_t *ds, const char *suffix, char *errstr,
                        size_t errlen) {
    char topic[512];
    rd_kafka_resp_err_t err;
    int rf = ds->brokers < 3 ? ds->brokers : 3;

    snprintf(topic, sizeof topic, "%s.%s", ds->prefix, suffix);
    err = rd_kafka_mock_topic_create(ds->mcluster, topic, ds->partitions, rf);
    if (err) {
        baton_seterr(errstr, errlen, BATON_ERR_KAFKA, "creating topic %s: %s",
                     topic, rd_kafka_err2str(err));
        return -1;
    }
    BATON_DEBUG(SUBSYS, "created topic %s (%d partitions)", topic,
                ds->partitions);
    return 0;
}

/* Adds the topics of one deployment (prefix) to names[*n..]: .commands,
 * .results, .events, .dlq and .tasks.<q> of every queue.  Returns 0 or -1. */
static int external_names(devstack_t *ds, const char *prefix,
                          char (*names)[256], int cap, int *n, char *errstr,
                          size_t errlen) {
    static const char *const fixed[] = {"commands", "results", "events", "dlq"};
    char *queues, *q, *save = NULL;
    for (size_t i = 0; i < BATON_ARRAY_SIZE(fixed); i++) {
        if (*n == cap)
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "too many topics (at most %d)", cap),
                   -1;
        snprintf(names[*n], 256, "%s.%s", prefix, fixed[i]);
        (*n)++;
    }
    if (!(queues = baton_strdup(ds->queues)))
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory"),
               -1;
    for (q = strtok_r(queues, ",", &save); q; q = strtok_r(NULL, ",", &save)) {
        while (*q == ' ') q++;
        if (!*q) continue;
        if (*n == cap) {
            baton_free(queues);
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "too many topics (at most %d)", cap),
                   -1;
        }
        snprintf(names[*n], 256, "%s.tasks.%s", prefix, q);
        (*n)++;
    }
    baton_free(queues);
    return 0;
}

/* Creates every topic on the external cluster (--kafka), for the main
 * prefix and each of --extra-prefixes.  Returns 0 or -1. */
static int kafka_external_start(devstack_t *ds, char *errstr, size_t errlen) {
    char names[128][256];
    const char *topics[128];
    int n = 0, rc = 0;
    int64_t t0 = baton_mono_us();

    if (external_names(ds, ds->prefix, names, 128, &n, errstr, errlen))
        return -1;
    if (ds->extra_prefixes && *ds->extra_prefixes) {
        char *list = baton_strdup(ds->extra_prefixes), *psave = NULL, *pp;
        if (!list)
            return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                                "out of memory"),
                   -1;
        for (pp = strtok_r(list, ",", &psave); pp && !rc;
             pp = strtok_r(NULL, ",", &psave))
            rc = external_names(ds, pp, names, 128, &n, errstr, errlen);
        baton_free(list);
        if (rc) return -1;
    }
    for (int i = 0; i < n; i++) topics[i] = names[i];
    snprintf(ds->bootstraps, sizeof ds->bootstraps, "%s", ds->external);
    rc = devstack_topics_create(ds->external, topics, n, ds->partitions,
                                ds->replication, 60000, errstr, errlen);
    if (!rc)
        BATON_INFO(SUBSYS,
                   "external Kafka at %s: %d topics of %d partitions "
                   "(replication %d) under '%s.' ready in %.0f ms",
                   ds->bootstraps, n, ds->partitions, ds->replication,
                   ds->prefix, (double)(baton_mono_us() - t0) / 1000.0);
    return rc;
}

/* Creates <prefix>.commands, .results, .events, .dlq and .tasks.<q> of
 * every queue.  Returns the number of topics created, or -1. */
static int create_topics_under(devstack_t *ds, const char *prefix, char *errstr,
                               size_t errlen) {
    static const char *const fixed[] = {"commands", "results", "events", "dlq"};
    const char *main_prefix = ds->prefix;
    char *queues, *q, *save = NULL;
    int ntopics = 0, rc = 0;

    ds->prefix = prefix;
    for (size_t i = 0; i < BATON_ARRAY_SIZE(fixed) && !rc; i++, ntopics++)
        rc = create_topic(ds, fixed[i], errstr, errlen);
    if (!rc && !(queues = baton_strdup(ds->queues))) {
        baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
        rc = -1;
    }
    if (!rc) {
        for (q = strtok_r(queues, ",", &save); q && !rc;
             q = strtok_r(NULL, ",", &save)) {
            char suffix[512];
            while (*q == ' ') q++;
            if (!*q) continue;
            snprintf(suffix, sizeof suffix, "tasks.%s", q);
            rc = create_topic(ds, suffix, errstr, errlen);
            ntopics++;
        }
        baton_free(queues);
    }
    ds->prefix = main_prefix;
    return rc ? -1 : ntopics;
}

/* Starts the mock cluster and creates every topic.  Returns 0 or -1. */
static int kafka_start(devstack_t *ds, char *errstr, size_t errlen) {
    rd_kafka_conf_t *kconf;
    char err[512];
    int ntopics = 0;

    if (ds->external) return kafka_external_start(ds, errstr, errlen);
    kconf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(kconf, kafka_log_cb);
    /* The handle only hosts the cluster: it has no brokers of its own and
     * would say so at notice level on every start. */
    rd_kafka_conf_set(kconf, "log_level", "4", err, sizeof err);
    rd_kafka_conf_set(kconf, "client.id", "baton-devstack", err, sizeof err);
    if (!(ds->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kconf, err, sizeof err))) {
        rd_kafka_conf_destroy(kconf);
        baton_seterr(errstr, errlen, BATON_ERR_KAFKA,
                     "creating the mock cluster's Kafka handle: %s", err);
        return -1;
    }
    if (!(ds->mcluster = rd_kafka_mock_cluster_new(ds->rk, ds->brokers))) {
        baton_seterr(errstr, errlen, BATON_ERR_KAFKA,
                     "starting the mock Kafka cluster (%d brokers) failed",
                     ds->brokers);
        return -1;
    }
    snprintf(ds->bootstraps, sizeof ds->bootstraps, "%s",
             rd_kafka_mock_cluster_bootstraps(ds->mcluster));

    if ((ntopics = create_topics_under(ds, ds->prefix, errstr, errlen)) < 0)
        return -1;
    if (ds->extra_prefixes && *ds->extra_prefixes) {
        /* Every extra deployment gets the same topics under its prefix. */
        char *list = baton_strdup(ds->extra_prefixes), *psave = NULL, *pp;
        int n = list ? 0 : -1;
        for (pp = list ? strtok_r(list, ",", &psave) : NULL; pp && n >= 0;
             pp = strtok_r(NULL, ",", &psave))
            if ((n = create_topics_under(ds, pp, errstr, errlen)) >= 0)
                ntopics += n;
        baton_free(list);
        if (n < 0) return -1;
    }
    BATON_INFO(SUBSYS,
               "Kafka mock cluster up: %d broker(s) at %s, %d topics of %d "
               "partitions under '%s.'",
               ds->brokers, ds->bootstraps, ntopics, ds->partitions,
               ds->prefix);
    return 0;
}

static void kafka_stop(devstack_t *ds) {
    if (ds->mcluster) rd_kafka_mock_cluster_destroy(ds->mcluster);
    ds->mcluster = NULL;
    if (ds->rk) rd_kafka_destroy(ds->rk);
    ds->rk = NULL;
}

/* ---- Redis: a private redis-server ------------------------------------ */

/* A loopback port nobody listens on right now (the kernel's choice). */
static int free_port(void) {
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;
    if (fd < 0) return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!bind(fd, (struct sockaddr *)&sa, sizeof sa) &&
        !getsockname(fd, (struct sockaddr *)&sa, &len))
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* 1 when redis-server on port answers PING. */
static int redis_ping(int port) {
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *r;
    int ok = 0;
    if (!c || c->err) {
        if (c) redisFree(c);
        return 0;
    }
    redisSetTimeout(c, tv);
    if ((r = redisCommand(c, "PING"))) {
        /* A server that wants AUTH (--redis-conf) answers too. */
        ok = (r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "PONG")) ||
             (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOAUTH", 6));
        freeReplyObject(r);
    }
    redisFree(c);
    return ok;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

/* Describes a wait() status into buf. */
static const char *exit_str(int status, char *buf, size_t len) {
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "status 0x%x", status);
    return buf;
}

/* Forks and execs redis-server on ds->redis_port, then waits until it
 * answers PING.  Returns 0, or -1 with errstr (the child is reaped). */
static int redis_spawn(devstack_t *ds, char *errstr, size_t errlen) {
    char port[16];
    const char *bin = getenv("BATON_REDIS_SERVER");
    int64_t deadline = baton_mono_us() + REDIS_START_TIMEOUT_MS * 1000LL;
    pid_t pid;

    if (!bin || !*bin) bin = "redis-server";
    snprintf(port, sizeof port, "%d", ds->redis_port);
    if ((pid = fork()) < 0)
        return baton_seterr(errstr, errlen, BATON_ERR_IO, "fork: %s",
                            strerror(errno)),
               -1;
    if (pid == 0) {
        char *args[] = {(char *)bin, "--port",        port,
                        "--bind",    "127.0.0.1",     "--appendonly",
                        "yes",       "--appendfsync", "everysec",
                        "--dir",     ds->redis_dir,   "--save",
                        "",          "--daemonize",   "no",
                        "--logfile", ds->redis_log,   NULL};
        /* A config file must be redis-server's first argument. */
        char *with_conf[BATON_ARRAY_SIZE(args) + 1] = {(char *)bin,
                                                       (char *)ds->redis_conf};
        char **argv = args;
        sigset_t none;
        if (ds->redis_conf) {
            memcpy(with_conf + 2, args + 1, sizeof args - sizeof *args);
            argv = with_conf;
        }
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        closefrom(3); /* librdkafka's pipes are not close-on-exec */
        if (getppid() == 1) _exit(127); /* parent already gone */
        execvp(bin, argv);
        fprintf(stderr, "baton-devstack: exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    ds->redis_pid = pid;
    for (;;) {
        int status;
        char why[128];
        if (waitpid(pid, &status, WNOHANG) == pid) {
            ds->redis_pid = 0;
            return baton_seterr(errstr, errlen, BATON_ERR_REDIS,
                                "redis-server on port %d %s before answering "
                                "PING (see %s)",
                                ds->redis_port,
                                exit_str(status, why, sizeof why),
                                ds->redis_log),
                   -1;
        }
        if (redis_ping(ds->redis_port)) break;
        if (baton_mono_us() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            ds->redis_pid = 0;
            return baton_seterr(errstr, errlen, BATON_ERR_REDIS,
                                "redis-server on port %d did not answer PING "
                                "within %d ms (see %s)",
                                ds->redis_port, REDIS_START_TIMEOUT_MS,
                                ds->redis_log),
                   -1;
        }
        sleep_ms(5);
    }
    BATON_INFO(SUBSYS,
               "redis-server pid %d answers on 127.0.0.1:%d (AOF in "
               "%s)",
               (int)pid, ds->redis_port, ds->redis_dir);
    return 0;
}

/* First start: a wiped data dir (kept with --kafka) and a free port (retried: another process
 * may take the port between our probe and redis-server's bind). */
static int redis_start(devstack_t *ds, char *errstr, size_t errlen) {
    /* An external cluster keeps its log: so does Redis (see the top). */
    if ((!ds->external && rm_rf(ds->redis_dir)) || mkdir_p(ds->redis_dir))
        return baton_seterr(errstr, errlen, BATON_ERR_IO,
                            "preparing Redis data dir %s: %s", ds->redis_dir,
                            strerror(errno)),
               -1;
    for (int attempt = 1;; attempt++) {
        if ((ds->redis_port = free_port()) < 0)
            return baton_seterr(errstr, errlen, BATON_ERR_IO,
                                "finding a free loopback port: %s",
                                strerror(errno)),
                   -1;
        if (!redis_spawn(ds, errstr, errlen)) return 0;
        if (attempt == 3) return -1;
        BATON_WARN(SUBSYS, "%s; retrying on another port", errstr);
    }
}

/* Kills redis-server: SIGKILL at once when hard, else SIGTERM and SIGKILL
 * after REDIS_STOP_GRACE_MS.  Reaps it.  No-op when not running. */
static void redis_stop(devstack_t *ds, int hard) {
    int status = 0;
    char why[128];
    int64_t deadline;

    if (!ds->redis_pid) return;
    kill(ds->redis_pid, hard ? SIGKILL : SIGTERM);
    deadline = baton_mono_us() + REDIS_STOP_GRACE_MS * 1000LL;
    for (;;) {
        pid_t r = waitpid(ds->redis_pid, &status, WNOHANG);
        if (r == ds->redis_pid || (r < 0 && errno == ECHILD)) break;
        if (baton_mono_us() > deadline) {
            BATON_WARN(SUBSYS,
                       "redis-server pid %d ignored SIGTERM for %d "
                       "ms: SIGKILL",
                       (int)ds->redis_pid, REDIS_STOP_GRACE_MS);
            kill(ds->redis_pid, SIGKILL);
            waitpid(ds->redis_pid, &status, 0);
            break;
        }
        sleep_ms(10);
    }
    BATON_INFO(SUBSYS, "redis-server pid %d stopped: %s", (int)ds->redis_pid,
               exit_str(status, why, sizeof why));
    ds->redis_pid = 0;
}

/* Reaps an exited redis-server (after SIGCHLD) and says so loudly. */
static void redis_reap(devstack_t *ds) {
    int status;
    char why[128];
    if (!ds->redis_pid ||
        waitpid(ds->redis_pid, &status, WNOHANG) != ds->redis_pid)
        return;
    BATON_ERROR(SUBSYS,
                "redis-server pid %d %s unexpectedly: Redis at 127.0.0.1:%d "
                "is DOWN (see %s; `echo redis-start > %s` restarts it)",
                (int)ds->redis_pid, exit_str(status, why, sizeof why),
                ds->redis_port, ds->redis_log, ds->control_path);
    ds->redis_pid = 0;
}

/* ---- the stack file ---------------------------------------------------- */

/* The consumer settings written for a real broker (--kafka). */
static void stack_file_external(const devstack_t *ds, char *buf, size_t len) {
    snprintf(
        buf, len,
        "\n"
        "# Settings for a real Kafka broker.  The consumer-only ones are\n"
        "# under kafka.consumer. so producers do not warn about them.\n"
        "# A real broker answers a fetch as soon as data arrives\n"
        "# (fetch.min.bytes=1), so fetch.wait.max.ms only bounds how long\n"
        "# an idle fetch is held (measured on Apache Kafka 3.9, 2 vCPU:\n"
        "# hop p50 3.9 / 4.9 / 2.7 ms at 100 / 10 / 500 ms, i.e. noise;\n"
        "# idle broker CPU with batond + one worker 21%% at 100 ms, 13%%\n"
        "# at 500 ms).  Not more than 100 ms: a partition librdkafka\n"
        "# resumes or gets assigned joins the next fetch, after the one\n"
        "# in flight returns.\n"
        "kafka.consumer.fetch.wait.max.ms=100\n"
        "# How long the group takes to notice a dead member (kill -9): the\n"
        "# broker's group.min.session.timeout.ms must allow it (scripts/\n"
        "# kafka.sh sets 500 ms; a stock broker's minimum is 6000).\n"
        "kafka.consumer.session.timeout.ms=%d\n"
        "# Well under session.timeout.ms: members learn of a rebalance at\n"
        "# their next heartbeat (--heartbeat-ms).\n"
        "kafka.consumer.heartbeat.interval.ms=%d\n"
        "# Consumers notice topics created after they subscribed (a task\n"
        "# queue auto-created by its first task) within a second.\n"
        "kafka.consumer.topic.metadata.refresh.interval.ms=1000\n",
        ds->session_timeout_ms, ds->heartbeat_ms);
}

static int stack_file_write(devstack_t *ds, char *errstr, size_t errlen) {
    char text[16384], ext[4096];
    time_t now = time(NULL);
    struct tm tm;
    char when[64];
    size_t used;

    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (ds->external) {
        stack_file_external(ds, ext, sizeof ext);
        snprintf(
            text, sizeof text,
            "# Baton dev stack connection settings, written by "
            "baton-devstack at %s.\n"
            "# Every Baton binary loads this file by default (config.h); it "
            "is\n"
            "# rewritten on every start and removed at stop.\n"
            "# devstack.pid=%d\n"
            "# redis.pid=%d\n"
            "# devstack.control=%s\n"
            "\n"
            "# An external Kafka cluster (baton-devstack --kafka; topics "
            "replicated %d times).\n"
            "kafka.bootstrap.servers=%s\n"
            "# The private redis-server (AOF everysec, data in %s).\n"
            "redis.url=redis://127.0.0.1:%d\n",
            when, (int)getpid(), (int)ds->redis_pid, ds->control_path,
            ds->replication, ds->bootstraps, ds->redis_dir, ds->redis_port);
        used = strlen(text);
        snprintf(text + used, sizeof text - used, "%s", ext);
        return write_atomic(ds->stack_file, text, errstr, errlen);
    }
    snprintf(
        text, sizeof text,
        "# Baton dev stack connection settings, written by baton-devstack at "
        "%s.\n"
        "# Every Baton binary loads this file by default (config.h); it is\n"
        "# rewritten on every start (ports change) and removed at stop.\n"
        "# devstack.pid=%d\n"
        "# redis.pid=%d\n"
        "# devstack.control=%s\n"
        "\n"
        "# The embedded Kafka: librdkafka mock brokers on loopback.\n"
        "kafka.bootstrap.servers=%s\n"
        "# The private redis-server (AOF everysec, data in %s).\n"
        "redis.url=redis://127.0.0.1:%d\n"
        "\n"
        "# Latency settings for the embedded broker.  The consumer-only ones\n"
        "# are under kafka.consumer. so producers do not warn about them.\n"
        "# The mock holds an empty fetch for the whole fetch.wait.max.ms:\n"
        "# 1 ms gives ~1 ms produce->consume; Baton's default (100 ms)\n"
        "# would add up to 100 ms to every hop.\n"
        "kafka.consumer.fetch.wait.max.ms=1\n"
        "# A member joining a stable group waits about session.timeout.ms\n"
        "# on the mock (44 s with the default 45 s), and a member killed\n"
        "# with -9 is replaced after about 2 x session.timeout.ms: keep it\n"
        "# short (baton-devstack --session-timeout-ms).\n"
        "kafka.consumer.session.timeout.ms=%d\n"
        "# Must stay well under session.timeout.ms; short so that\n"
        "# rebalances start and finish quickly (--heartbeat-ms).\n"
        "kafka.consumer.heartbeat.interval.ms=%d\n"
        "# Consumers notice topics created after they subscribed (a task\n"
        "# queue auto-created by its first task) within a second.\n"
        "kafka.consumer.topic.metadata.refresh.interval.ms=1000\n",
        when, (int)getpid(), (int)ds->redis_pid, ds->control_path,
        ds->bootstraps, ds->redis_dir, ds->redis_port, ds->session_timeout_ms,
        ds->heartbeat_ms);
    return write_atomic(ds->stack_file, text, errstr, errlen);
}

/* ---- the control channel ----------------------------------------------- */

static int control_open(devstack_t *ds, char *errstr, size_t errlen) {
    unlink(ds->control_path);
    if (mkfifo(ds->control_path, 0600))
        return baton_seterr(errstr, errlen, BATON_ERR_IO, "mkfifo %s: %s",
                            ds->control_path, strerror(errno)),
               -1;
    /* O_RDWR: we are a writer too, so the FIFO never reports EOF/POLLHUP
     * when a client closes its end (Linux allows O_RDWR on a FIFO). */
    if ((ds->control_fd =
             open(ds->control_path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
        return baton_seterr(errstr, errlen, BATON_ERR_IO, "opening %s: %s",
                            ds->control_path, strerror(errno)),
               -1;
    if (!(ds->control_log = fopen(ds->control_log_path, "we")))
        return baton_seterr(errstr, errlen, BATON_ERR_IO, "opening %s: %s",
                            ds->control_log_path, strerror(errno)),
               -1;
    setvbuf(ds->control_log, NULL, _IOLBF, 0);
    return 0;
}

static void control_close(devstack_t *ds) {
    if (ds->control_fd >= 0) close(ds->control_fd);
    ds->control_fd = -1;
    if (ds->control_log) fclose(ds->control_log);
    ds->control_log = NULL;
    unlink(ds->control_path);
}

/* Kafka ApiKey by number or name (the ones fault tests care about). */
static int parse_api_key(const char *s, int16_t *out) {
    static const struct {
        const char *name;
        int16_t key;
    } names[] = {
        {"Produce", 0},          {"Fetch", 1},        {"ListOffsets", 2},
        {"Metadata", 3},         {"OffsetCommit", 8}, {"OffsetFetch", 9},
        {"FindCoordinator", 10}, {"JoinGroup", 11},   {"Heartbeat", 12},
        {"LeaveGroup", 13},      {"SyncGroup", 14},   {"ApiVersions", 18},
        {"InitProducerId", 22},
    };
    int64_t v;
    if (!baton_parse_i64(s, &v) && v >= 0 && v < 100) {
        *out = (int16_t)v;
        return 0;
    }
    for (size_t i = 0; i < BATON_ARRAY_SIZE(names); i++)
        if (!strcasecmp(s, names[i].name)) {
            *out = names[i].key;
            return 0;
        }
    return -1;
}

/* Kafka error by number or by rd_kafka_err2name name. */
static int parse_kafka_err(const char *s, rd_kafka_resp_err_t *out) {
    const struct rd_kafka_err_desc *descs;
    size_t cnt;
    int64_t v;
    if (!baton_parse_i64(s, &v)) {
        *out = (rd_kafka_resp_err_t)v;
        return 0;
    }
    rd_kafka_get_err_descs(&descs, &cnt);
    for (size_t i = 0; i < cnt; i++)
        if (descs[i].name && !strcasecmp(descs[i].name, s)) {
            *out = descs[i].code;
            return 0;
        }
    return -1;
}

static int parse_broker(const char *s, int32_t *out) {
    int64_t v;
    if (!s || baton_parse_i64(s, &v) || v < -1 || v > INT32_MAX) return -1;
    *out = (int32_t)v;
    return 0;
}

/* Runs one command line.  Returns 0, or -1 with errstr. */
static int control_exec(devstack_t *ds, char *line, char *errstr,
                        size_t errlen) {
    char *argv[8], *save = NULL;
    int argc = 0;
    int32_t broker;
    rd_kafka_resp_err_t err = 0;

    for (char *t = strtok_r(line, " \t\r", &save); t && argc < 8;
         t = strtok_r(NULL, " \t\r", &save))
        argv[argc++] = t;
    if (!argc) return 0;

    if (ds->external && strncmp(argv[0], "redis-", 6))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "'%s' drives the embedded broker (librdkafka's "
                            "mock cluster) and this dev stack runs on the "
                            "external Kafka at %s (--kafka): only redis-kill, "
                            "redis-start and redis-restart work here; kill "
                            "and restart a broker node with scripts/kafka.sh "
                            "kill9/restart",
                            argv[0], ds->external),
               -1;
    if (!strcmp(argv[0], "broker-down") || !strcmp(argv[0], "broker-up")) {
        if (argc != 2 || parse_broker(argv[1], &broker)) goto usage;
        err = argv[0][7] == 'd'
                  ? rd_kafka_mock_broker_set_down(ds->mcluster, broker)
                  : rd_kafka_mock_broker_set_up(ds->mcluster, broker);
    } else if (!strcmp(argv[0], "rtt")) {
        int64_t ms;
        if (argc != 3 || parse_broker(argv[1], &broker) ||
            baton_parse_i64(argv[2], &ms) || ms < 0 || ms > INT32_MAX)
            goto usage;
        err = rd_kafka_mock_broker_set_rtt(ds->mcluster, broker, (int)ms);
    } else if (!strcmp(argv[0], "push-errors")) {
        int16_t api;
        int64_t cnt;
        rd_kafka_resp_err_t code, *codes;
        if (argc != 4 || parse_api_key(argv[1], &api) ||
            baton_parse_i64(argv[2], &cnt) || cnt < 1 || cnt > 100000 ||
            parse_kafka_err(argv[3], &code))
            goto usage;
        if (!(codes = baton_calloc((size_t)cnt, sizeof *codes)))
            return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                                "out of memory"),
                   -1;
        for (int64_t i = 0; i < cnt; i++) codes[i] = code;
        rd_kafka_mock_push_request_errors_array(ds->mcluster, api, (size_t)cnt,
                                                codes);
        baton_free(codes);
    } else if (!strcmp(argv[0], "clear-errors")) {
        int16_t api;
        if (argc != 2 || parse_api_key(argv[1], &api)) goto usage;
        rd_kafka_mock_clear_request_errors(ds->mcluster, api);
    } else if (!strcmp(argv[0], "leader")) {
        int64_t part;
        if (argc != 4 || baton_parse_i64(argv[2], &part) || part < 0 ||
            part > INT32_MAX || parse_broker(argv[3], &broker))
            goto usage;
        err = rd_kafka_mock_partition_set_leader(ds->mcluster, argv[1],
                                                 (int32_t)part, broker);
    } else if (!strcmp(argv[0], "coordinator")) {
        if (argc != 3 || parse_broker(argv[2], &broker) || broker < 1)
            goto usage;
        err = rd_kafka_mock_coordinator_set(ds->mcluster, "group", argv[1],
                                            broker);
    } else if (!strcmp(argv[0], "redis-kill")) {
        if (argc != 1) goto usage;
        redis_stop(ds, 1);
    } else if (!strcmp(argv[0], "redis-start") ||
               !strcmp(argv[0], "redis-restart")) {
        if (argc != 1) goto usage;
        if (argv[0][6] == 'r') redis_stop(ds, 1);
        if (!ds->redis_pid) {
            if (redis_spawn(ds, errstr, errlen)) return -1;
            if (stack_file_write(ds, errstr, errlen)) return -1;
        }
    } else {
        goto usage;
    }
    if (err)
        return baton_seterr(errstr, errlen, BATON_ERR_KAFKA, "%s",
                            rd_kafka_err2str(err)),
               -1;
    return 0;
usage:
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                        "unknown command or bad arguments (commands: "
                        "broker-down ID, broker-up ID, rtt ID MS, push-errors "
                        "API CNT ERR, clear-errors API, leader TOPIC "
                        "PARTITION ID, coordinator GROUP ID, redis-kill, "
                        "redis-start, redis-restart)"),
           -1;
}

/* Reads what is in the FIFO and runs every complete line. */
static void control_serve(devstack_t *ds) {
    for (;;) {
        ssize_t r = read(ds->control_fd, ds->control_buf + ds->control_len,
                         sizeof ds->control_buf - 1 - ds->control_len);
        char *line, *nl;
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;
        ds->control_len += (size_t)r;
        ds->control_buf[ds->control_len] = '\0';
        line = ds->control_buf;
        while ((nl = strchr(line, '\n'))) {
            char copy[sizeof ds->control_buf], err[512];
            *nl = '\0';
            snprintf(copy, sizeof copy, "%s", line);
            if (*line) {
                ds->control_seq++;
                if (control_exec(ds, line, err, sizeof err)) {
                    BATON_ERROR(SUBSYS, "control '%s': %s", copy, err);
                    fprintf(ds->control_log, "%ld error %s: %s\n",
                            ds->control_seq, copy, err);
                } else {
                    BATON_INFO(SUBSYS, "control '%s': done", copy);
                    fprintf(ds->control_log, "%ld ok %s\n", ds->control_seq,
                            copy);
                }
            }
            line = nl + 1;
        }
        ds->control_len -= (size_t)(line - ds->control_buf);
        memmove(ds->control_buf, line, ds->control_len);
        if (ds->control_len == sizeof ds->control_buf - 1) {
            BATON_ERROR(SUBSYS, "control line longer than %zu bytes dropped",
                        sizeof ds->control_buf - 1);
            ds->control_len = 0;
        }
    }
}

/* ---- the pid file ------------------------------------------------------ */

/* Refuses to start when a live dev stack owns dir; removes a stale one's
 * files.  Returns 0 or -1 with errstr. */
static int pid_file_check(devstack_t *ds, char *errstr, size_t errlen) {
    char *text = baton_read_file(ds->pid_file, NULL, NULL, 0), comm[64] = "";
    char path[64];
    int64_t pid;
    FILE *f;

    if (!text) return 0;
    text[strcspn(text, "\n")] = '\0';
    if (!baton_parse_i64(text, &pid) && pid > 0 && pid != getpid() &&
        !kill((pid_t)pid, 0)) {
        snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
        if ((f = fopen(path, "r"))) {
            if (!fgets(comm, sizeof comm, f)) comm[0] = '\0';
            fclose(f);
        }
        if (!strncmp(comm, "baton-devstack", 14)) {
            baton_free(text);
            return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                                "a dev stack is already running in %s (pid "
                                "%d): stop it first",
                                ds->dir, (int)pid),
                   -1;
        }
    }
    BATON_WARN(SUBSYS,
               "removing the files of a dev stack that did not stop "
               "cleanly (pid %s)",
               text);
    baton_free(text);
    unlink(ds->stack_file);
    return 0;
}

static int pid_file_write(devstack_t *ds, char *errstr, size_t errlen) {
    char text[32];
    snprintf(text, sizeof text, "%d\n", (int)getpid());
    return write_atomic(ds->pid_file, text, errstr, errlen);
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *out) {
    fprintf(out,
            "usage: baton-devstack [--dir DIR] [--partitions N] [--queues "
            "a,b] [--brokers N]\n"
            "                      [--kafka BOOTSTRAP [--replication N]]\n"
            "                      [--stack-file FILE] [--config FILE]\n"
            "                      [--session-timeout-ms MS] [--heartbeat-ms "
            "MS]\n"
            "                      [--redis-conf FILE]  (redis.conf read "
            "first: ACL users, requirepass)\n"
            "                      [--extra-prefixes a,b]  (topics of more "
            "deployments; task queues auto-create)\n"
            "Runs the embedded Kafka (librdkafka mock cluster) and a private "
            "redis-server\n"
            "until SIGTERM/SIGINT; writes their addresses to the stack file "
            "(default\n"
            "DIR/stack.conf, DIR default build/dev).  Fault injection: "
            "commands written\n"
            "to the FIFO DIR/control (see tools/devstack.c).  --kafka: no "
            "mock cluster;\n"
            "the topics are created on that Kafka cluster (replication N) "
            "instead.\n");
}

/* Parses flags over the loaded configuration.  Returns 0, or 2 for usage
 * errors (after printing why). */
static int parse_args(devstack_t *ds, baton_conf_t *conf, int argc, char **argv,
                      const char **config_path, const char **dir,
                      const char **stack_file) {
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"partitions", required_argument, NULL, 'p'},
        {"queues", required_argument, NULL, 'q'},
        {"brokers", required_argument, NULL, 'b'},
        {"stack-file", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {"session-timeout-ms", required_argument, NULL, 'S'},
        {"heartbeat-ms", required_argument, NULL, 'H'},
        {"kafka", required_argument, NULL, 'k'},
        {"replication", required_argument, NULL, 'r'},
        {"redis-conf", required_argument, NULL, 'R'},
        {"extra-prefixes", required_argument, NULL, 'E'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *partitions = NULL, *queues = NULL, *brokers = "1";
    const char *session = "6000", *heartbeat = "500";
    const char *replication = NULL;
    int brokers_set = 0;
    char err[512];
    int64_t v;
    int c;
    baton_err_t rc;

    while ((c = getopt_long(argc, argv, "d:p:q:b:s:c:S:H:k:r:R:E:h", opts,
                            NULL)) != -1) {
        switch (c) {
        case 'd': *dir = optarg; break;
        case 'p': partitions = optarg; break;
        case 'q': queues = optarg; break;
        case 'b':
            brokers = optarg;
            brokers_set = 1;
            break;
        case 's': *stack_file = optarg; break;
        case 'c': *config_path = optarg; break;
        case 'S': session = optarg; break;
        case 'H': heartbeat = optarg; break;
        case 'k': ds->external = optarg; break;
        case 'r': replication = optarg; break;
        case 'R': ds->redis_conf = optarg; break;
        case 'E': ds->extra_prefixes = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "baton-devstack: unexpected argument '%s'\n",
                argv[optind]);
        usage(stderr);
        return 2;
    }
    if ((rc = baton_conf_load_default(conf, *config_path, err, sizeof err))) {
        fprintf(stderr, "baton-devstack: %s\n", err);
        return 2;
    }
    if ((partitions && baton_conf_set(conf, "devstack.partitions", partitions,
                                      err, sizeof err)) ||
        (queues &&
         baton_conf_set(conf, "devstack.queues", queues, err, sizeof err))) {
        fprintf(stderr, "baton-devstack: %s\n", err);
        return 2;
    }
    v = baton_conf_get_int(conf, "devstack.partitions");
    if (v < 1 || v > 10000) {
        fprintf(stderr, "baton-devstack: --partitions must be 1..10000\n");
        return 2;
    }
    ds->partitions = (int)v;
    if (baton_parse_i64(brokers, &v) || v < 1 || v > 100) {
        fprintf(stderr, "baton-devstack: --brokers must be 1..100\n");
        return 2;
    }
    ds->brokers = (int)v;
    if (ds->external && (!*ds->external || brokers_set)) {
        fprintf(stderr, "baton-devstack: --kafka needs bootstrap servers and "
                        "excludes --brokers (the mock's broker count)\n");
        return 2;
    }
    if (replication && !ds->external) {
        fprintf(stderr, "baton-devstack: --replication goes with --kafka\n");
        return 2;
    }
    if (baton_parse_i64(replication ? replication : "1", &v) || v < 1 ||
        v > 32) {
        fprintf(stderr, "baton-devstack: --replication must be 1..32\n");
        return 2;
    }
    ds->replication = (int)v;
    if (baton_parse_i64(session, &v) || v < 100 || v > 3600000) {
        fprintf(stderr,
                "baton-devstack: --session-timeout-ms must be 100..3600000\n");
        return 2;
    }
    ds->session_timeout_ms = (int)v;
    if (baton_parse_i64(heartbeat, &v) || v < 10 ||
        v >= ds->session_timeout_ms) {
        fprintf(stderr, "baton-devstack: --heartbeat-ms must be 10 ms or more "
                        "and less than --session-timeout-ms\n");
        return 2;
    }
    ds->heartbeat_ms = (int)v;
    ds->queues = baton_conf_get(conf, "devstack.queues");
    ds->prefix = baton_conf_get(conf, "topic.prefix");
    return 0;
}

/* Fills the absolute paths under dir (created).  Returns 0 or -1. */
static int paths_init(devstack_t *ds, const char *dir, const char *stack_file,
                      char *errstr, size_t errlen) {
    char abs[PATH_MAX];
    if (mkdir_p(dir) || !realpath(dir, abs))
        return baton_seterr(errstr, errlen, BATON_ERR_IO, "state dir %s: %s",
                            dir, strerror(errno)),
               -1;
    snprintf(ds->dir, sizeof ds->dir, "%s", abs);
#define DS_PATH(field, name)                                                 \
    if ((size_t)snprintf(ds->field, sizeof ds->field, "%s/%s", abs, name) >= \
        sizeof ds->field)                                                    \
        return baton_seterr(errstr, errlen, BATON_ERR_IO, "path too long"), -1;
    DS_PATH(pid_file, "devstack.pid")
    DS_PATH(control_path, "control")
    DS_PATH(control_log_path, "control.log")
    DS_PATH(redis_dir, "redis")
    DS_PATH(redis_log, "redis.log")
    DS_PATH(stack_file, "stack.conf")
#undef DS_PATH
    if (stack_file)
        snprintf(ds->stack_file, sizeof ds->stack_file, "%s", stack_file);
    return 0;
}

/* Serves signals, the control FIFO and redis-server's health until
 * SIGTERM/SIGINT. */
static void run_loop(devstack_t *ds) {
    while (!stop_requested) {
        struct pollfd fds[2] = {{sig_pipe[0], POLLIN, 0},
                                {ds->control_fd, POLLIN, 0}};
        char drain[64];
        if (poll(fds, 2, 1000) < 0 && errno != EINTR) {
            BATON_ERROR(SUBSYS, "poll: %s", strerror(errno));
            sleep_ms(100);
        }
        while (read(sig_pipe[0], drain, sizeof drain) > 0) {
        }
        redis_reap(ds);
        if (fds[1].revents & POLLIN) control_serve(ds);
    }
}

int main(int argc, char **argv) {
    int64_t t0 = baton_mono_us();
    devstack_t ds = {.control_fd = -1};
    baton_conf_t *conf = baton_conf_new();
    const char *config_path = NULL, *dir = "build/dev", *stack_file = NULL;
    char err[1024];
    int rc, owner = 0; /* owner: the files in dir are ours to remove */

    baton_log_set_program("baton-devstack");
    if (!conf) {
        fprintf(stderr, "baton-devstack: out of memory\n");
        return 1;
    }
    if ((rc = parse_args(&ds, conf, argc, argv, &config_path, &dir,
                         &stack_file))) {
        baton_conf_destroy(conf);
        return rc;
    }
    rc = 1;
    if (signals_install() ||
        paths_init(&ds, dir, stack_file, err, sizeof err) ||
        pid_file_check(&ds, err, sizeof err))
        goto fail;
    owner = 1;
    if (pid_file_write(&ds, err, sizeof err) ||
        kafka_start(&ds, err, sizeof err) ||
        redis_start(&ds, err, sizeof err) ||
        control_open(&ds, err, sizeof err) ||
        stack_file_write(&ds, err, sizeof err))
        goto fail;
    BATON_INFO(SUBSYS, "dev stack up in %.1f ms: stack file %s, control %s",
               (double)(baton_mono_us() - t0) / 1000.0, ds.stack_file,
               ds.control_path);

    run_loop(&ds);
    BATON_INFO(SUBSYS, "stopping the dev stack");
    rc = 0;
    goto out;
fail:
    BATON_ERROR(SUBSYS, "starting the dev stack: %s", err);
out:
    if (owner) {
        unlink(ds.stack_file);
        control_close(&ds);
    }
    redis_stop(&ds, 0);
    kafka_stop(&ds);
    if (owner) unlink(ds.pid_file);
    baton_conf_destroy(conf);
    return rc;
}
