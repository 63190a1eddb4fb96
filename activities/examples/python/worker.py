#!/usr/bin/python3
"""A Baton activity worker in Python, without the C SDK: plain Kafka + JSON.

Copy this file to write your own; docs/wire-protocol.md explains every rule
it follows.  It serves one task queue (default "py"; batond must send that
queue's tasks as JSON: batond.tasks.json.queues), one task at a time:

- consumes baton.tasks.<queue> in the shared group baton.worker.<queue>,
  auto-commit off, and commits a task's offset only once its result is
  acknowledged by Kafka (a worker killed in between gets the task again);
- keeps polling while the activity runs (on a thread), with the task
  partitions paused, so a long activity never leaves the group;
- sends HEARTBEAT results every heartbeat_seconds / 3 while it runs;
- reads every partition of baton.cancels (no group) and stops a task that
  batond gave up (the activity sees ctx.cancelled);
- answers FAILED with retry_after_ms or non_retryable when the activity says.

Connection settings: $BATON_KAFKA_BROKERS, else kafka.* keys of the dev
stack file ($BATON_STACK_FILE, default build/dev/stack.conf), else
localhost:9092.  Usage: worker.py [QUEUE]   (needs python3-confluent-kafka)
"""
import json
import os
import signal
import socket
import sys
import threading
import time
from collections import deque

from confluent_kafka import (OFFSET_BEGINNING, OFFSET_END, Consumer,
                             KafkaException, Producer, TopicPartition)

QUEUE = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BATON_QUEUE", "py")
WORKER_ID = f"python@{socket.gethostname()}:{os.getpid()}"
JSON_HEADERS = [("content-type", b"application/json")]
EXEC_LOG = os.environ.get("BATON_EXEC_LOG")  # tests: one line per outcome


class ActivityError(Exception):
    """A failure for the workflow's Retry/Catch: an error name, a retry
    hint (e.g. an API's Retry-After) and whether retrying is pointless."""
    def __init__(self, error, cause, retry_after_ms=0, non_retryable=False):
        super().__init__(cause)
        self.error, self.retry_after_ms = error, retry_after_ms
        self.non_retryable = non_retryable


class Cancelled(Exception):
    """Raised by ctx.sleep when batond gave the attempt up."""


class Context:
    """What an activity gets besides its input."""
    def __init__(self, task):
        self.task = task
        self.cancelled = threading.Event()
        self.details = None  # the last heartbeat details, sent by the loop

    def heartbeat(self, details):
        self.details = details

    def sleep(self, ms):
        """Sleeps, ending early with Cancelled when the task is cancelled."""
        if self.cancelled.wait(ms / 1000.0):
            raise Cancelled()


# ---- the activities of this queue ------------------------------------------

def text_normalize(args, ctx):
    if args.get("fail_first") and ctx.task["attempt"] == 1:
        raise ActivityError("Py.Flaky", "first attempt fails on purpose",
                            retry_after_ms=300)
    if not isinstance(args.get("text"), str):
        raise ActivityError("Py.BadInput", "text must be a string", non_retryable=True)
    start = (ctx.task.get("heartbeat_details") and
             json.loads(ctx.task["heartbeat_details"]).get("slept_ms")) or 0
    slept = start
    while slept < (args.get("slow_ms") or 0):  # a long activity: checkpoints
        ctx.sleep(100)
        slept += 100
        ctx.heartbeat({"slept_ms": slept})
    return {"text": " ".join(args["text"].split()).lower(), "by": "python",
            "attempt": ctx.task["attempt"], "root": ctx.task.get("root_workflow_id")}


def conformance(args, ctx):
    """The conformance activity batonctl worker-check drives
    (docs/wire-protocol.md#conformance): each case asks for one behaviour."""
    case, attempt = args.get("case"), ctx.task["attempt"]
    if case == "fail_retryable" and attempt == 1:
        raise ActivityError("Conformance.Retryable", "asked to fail once",
                            retry_after_ms=args.get("retry_after_ms") or 0)
    if case == "fail_final":
        raise ActivityError("Conformance.Final", "asked to fail", non_retryable=True)
    ctx.sleep(args.get("ms") or 0)  # heartbeats go on; a cancel ends it
    return {"echo": args.get("echo"), "attempt": attempt, "slept_ms": args.get("ms") or 0}


ACTIVITIES = {"text.normalize": text_normalize, "baton.conformance": conformance}


# ---- the wire protocol ------------------------------------------------------

def kafka_settings():
    """librdkafka properties: the dev stack file's kafka.* keys, brokers
    from $BATON_KAFKA_BROKERS.  Returns (common, consumer_only, prefix)."""
    common, consumer, prefix = {}, {}, "baton"
    path = os.environ.get("BATON_STACK_FILE", "build/dev/stack.conf")
    if os.path.exists(path):
        for line in open(path):
            key, eq, value = line.strip().partition("=")
            key, value = key.strip(), value.strip()
            if not eq or key.startswith("#"):
                continue
            if key.startswith("kafka.consumer."):
                consumer[key[len("kafka.consumer."):]] = value
            elif key.startswith("kafka.producer."):
                pass  # producer-only settings: none needed here
            elif key.startswith("kafka."):
                common[key[len("kafka."):]] = value
            elif key == "topic.prefix":
                prefix = value
    common["bootstrap.servers"] = os.environ.get(
        "BATON_KAFKA_BROKERS", common.get("bootstrap.servers", "localhost:9092"))
    return common, consumer, os.environ.get("BATON_TOPIC_PREFIX", prefix)


def log(*words):
    print(time.strftime("%H:%M:%S"), f"worker[{QUEUE}]", *words, flush=True)
    if EXEC_LOG and words[0] in ("completed", "failed", "cancelled"):
        with open(EXEC_LOG, "a") as f:
            f.write(f"{words[1]} {words[0]} python\n")


class Worker:
    def __init__(self):
        common, consumer_only, self.prefix = kafka_settings()
        self.tasks = Consumer({**common, **consumer_only,
                               "group.id": f"baton.worker.{QUEUE}",
                               "enable.auto.commit": False,
                               "auto.offset.reset": "earliest"})
        # Cancellation notices: every partition, no group, nothing committed.
        self.cancels = Consumer({**common, **consumer_only,
                                 "group.id": f"baton.cancels.{WORKER_ID}",
                                 "enable.auto.commit": False})
        self.producer = Producer({**common, "enable.idempotence": True,
                                  "acks": "all", "linger.ms": 0})
        self.cancel_topic = f"{self.prefix}.cancels"
        self.cancel_parts = None  # partitions of baton.cancels once found
        self.cancelled_ids = deque(maxlen=5000)  # notices seen (any order)
        self.running = None  # (msg, task, ctx, thread, outcome) of the task
        self.stopping = False  # SIGTERM: finish the task in hand, then leave

    # -- produce and wait for the acknowledgement
    def produce_acked(self, topic, value, key, partition=None, headers=None):
        outcome = []
        extra = {} if partition is None else {"partition": partition}
        self.producer.produce(topic, value=value, key=key, headers=headers,
                              on_delivery=lambda err, _m: outcome.append(err), **extra)
        while not outcome:
            self.producer.poll(0.1)
            self.poll_cancels()
        if outcome[0] is not None:
            raise KafkaException(outcome[0])

    def send_result(self, task, kind, **fields):
        result = {"task_id": task["task_id"], "workflow_id": task["workflow_id"],
                  "kind": kind, "worker": WORKER_ID,
                  "finished_at_ms": int(time.time() * 1000), **fields}
        self.produce_acked(f"{self.prefix}.results", json.dumps(result),
                           task["workflow_id"], task["result_partition"], JSON_HEADERS)

    # -- cancellation notices
    def poll_cancels(self):
        if self.cancel_parts is None:
            return
        msg = self.cancels.poll(0)
        while msg is not None:
            # Notices for JSON queues come as JSON; others' (Avro) are not ours.
            if not msg.error() and dict(msg.headers() or []).get(
                    "content-type") == b"application/json":
                notice = json.loads(msg.value())
                if notice.get("task_id"):
                    self.cancelled_ids.append(notice["task_id"])
                if self.running and self.running[1]["task_id"] in self.cancelled_ids:
                    self.running[2].cancelled.set()
            msg = self.cancels.poll(0)

    def find_cancel_topic(self, at_start):
        md = self.tasks.list_topics(self.cancel_topic, timeout=5)
        topic = md.topics.get(self.cancel_topic)
        if topic is None or topic.error is not None or not topic.partitions:
            return
        # Notices older than this worker concern tasks that are over; a
        # topic that appears later is read from its beginning.
        start = OFFSET_END if at_start else OFFSET_BEGINNING
        self.cancel_parts = [TopicPartition(self.cancel_topic, p, start)
                             for p in topic.partitions]
        self.cancels.assign(self.cancel_parts)

    # -- one task
    def start_task(self, msg):
        try:
            if dict(msg.headers() or []).get("content-type") != b"application/json":
                raise ValueError("not a JSON task: list the queue in "
                                 "batond.tasks.json.queues")
            task = json.loads(msg.value())
            for f in ("task_id", "workflow_id", "activity_type", "input", "result_partition"):
                if f not in task:
                    raise ValueError(f"missing required field '{f}'")
        except ValueError as e:  # undecodable: to the DLQ, never block
            self.produce_acked(f"{self.prefix}.dlq", msg.value(), msg.key(),
                               headers=[("baton-error", f"task: {e}".encode())])
            self.commit(msg)
            return
        ctx, outcome = Context(task), {}
        if task["task_id"] in self.cancelled_ids:
            ctx.cancelled.set()
        thread = threading.Thread(target=self.run_activity, args=(task, ctx, outcome))
        self.running = (msg, task, ctx, thread, outcome)
        self.tasks.pause(self.tasks.assignment())  # one task at a time
        log("started", task["task_id"], f"attempt {task['attempt']}")
        thread.start()

    def run_activity(self, task, ctx, outcome):
        try:
            if ctx.cancelled.is_set():
                raise Cancelled()
            handler = ACTIVITIES.get(task["activity_type"])
            if handler is None:
                raise ActivityError("Worker.UnknownActivity",
                                    f"no activity {task['activity_type']!r} on queue {QUEUE}")
            outcome["output"] = handler(json.loads(task["input"]), ctx)
        except Exception as e:  # noqa: BLE001 -- every failure is reported
            outcome["error"] = e

    def finish_task(self):
        msg, task, ctx, _thread, outcome = self.running
        err = outcome.get("error")
        if err is None:
            self.send_result(task, "COMPLETED", output=json.dumps(outcome["output"]))
            log("completed", task["task_id"])
        elif isinstance(err, Cancelled):
            self.send_result(task, "FAILED", error="Baton.Cancelled",
                             cause="cancelled by batond")
            log("cancelled", task["task_id"])
        elif isinstance(err, ActivityError):
            self.send_result(task, "FAILED", error=err.error, cause=str(err),
                             retry_after_ms=err.retry_after_ms,
                             non_retryable=err.non_retryable)
            log("failed", task["task_id"], err.error)
        else:  # a bug or an unexpected error: let the workflow's Retry decide
            self.send_result(task, "FAILED", error="States.TaskFailed", cause=repr(err))
            log("failed", task["task_id"], repr(err))
        self.running = None
        self.commit(msg)  # only now: the result is acknowledged
        self.tasks.resume(self.tasks.assignment())

    def commit(self, msg):
        try:
            self.tasks.commit(offsets=[TopicPartition(msg.topic(), msg.partition(),
                                                      msg.offset() + 1)],
                              asynchronous=False)
        except KafkaException as e:  # revoked meanwhile: redelivered, harmless
            log("commit failed", e)

    def heartbeat_if_due(self, last):
        task, ctx = self.running[1], self.running[2]
        period = max(task.get("heartbeat_seconds") or 0, 1) / 3.0
        if time.monotonic() - last < period:
            return last
        self.send_result(task, "HEARTBEAT", output=json.dumps(ctx.details))
        return time.monotonic()

    def run(self):
        def on_assign(consumer, parts):
            if self.running:  # still busy: the new partitions wait too
                consumer.pause(parts)
        self.tasks.subscribe([f"{self.prefix}.tasks.{QUEUE}"], on_assign=on_assign)
        self.find_cancel_topic(at_start=True)
        log("ready, group", f"baton.worker.{QUEUE}")
        last_look = last_beat = time.monotonic()
        while not self.stopping or self.running:
            msg = self.tasks.poll(0.05)  # paused while busy: keeps us in the group
            if msg is not None and msg.error():
                log("consumer error", msg.error())
            elif msg is not None and self.stopping:
                pass  # not started, not committed: the group's next owner runs it
            elif msg is not None:
                self.start_task(msg)
                last_beat = time.monotonic()
            self.poll_cancels()
            if self.running and not self.running[3].is_alive():
                self.finish_task()
            elif self.running:
                last_beat = self.heartbeat_if_due(last_beat)
            if self.cancel_parts is None and time.monotonic() - last_look > 2:
                self.find_cancel_topic(at_start=False)
                last_look = time.monotonic()
        self.tasks.close()  # leaves the group now: no wait for a session timeout
        self.cancels.close()
        self.producer.flush(5)
        log("stopped")


if __name__ == "__main__":
    worker = Worker()
    signal.signal(signal.SIGTERM, lambda *_: setattr(worker, "stopping", True))
    signal.signal(signal.SIGINT, lambda *_: setattr(worker, "stopping", True))
    worker.run()
