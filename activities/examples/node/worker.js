#!/usr/bin/env node
// A Baton activity worker in Node.js, without the C SDK: plain Kafka + JSON.
//
// Copy this file to write your own; docs/wire-protocol.md explains every rule
// it follows.  It serves one task queue (default "node"; batond must send the
// queue's tasks as JSON: batond.tasks.json.queues), one task at a time:
//  - consumes baton.tasks.<queue> in the shared group baton.worker.<queue>,
//    auto-commit off, and commits a task's offset only once its result is
//    acknowledged (a worker killed in between gets the task again);
//  - sends HEARTBEAT results every heartbeat_seconds / 3 while a task runs,
//    and keeps its group membership alive meanwhile (kafkajs heartbeat());
//  - reads baton.cancels in a group of its own (every partition) and stops
//    the task batond gave up;
//  - answers FAILED with retry_after_ms or non_retryable when told.
//
// Connection settings: $BATON_KAFKA_BROKERS, else kafka.bootstrap.servers and
// kafka.consumer.session.timeout.ms of the dev stack file ($BATON_STACK_FILE,
// default build/dev/stack.conf), else localhost:9092.
// Install: npm install kafkajs.   Usage: node worker.js [QUEUE]
'use strict';
const fs = require('fs');
const os = require('os');
const { Kafka, logLevel } = require('kafkajs');

const QUEUE = process.argv[2] || process.env.BATON_QUEUE || 'node';
const WORKER_ID = `node@${os.hostname()}:${process.pid}`;
const JSON_HEADERS = { 'content-type': 'application/json' };
const EXEC_LOG = process.env.BATON_EXEC_LOG; // tests: one line per outcome

class ActivityError extends Error {
  // A failure for the workflow's Retry/Catch: an error name, a retry hint
  // (an API's Retry-After) and whether retrying is pointless.
  constructor(error, cause, { retryAfterMs = 0, nonRetryable = false } = {}) {
    super(cause);
    Object.assign(this, { error, retryAfterMs, nonRetryable });
  }
}
class Cancelled extends Error {}

// ---- the activities of this queue ------------------------------------------

async function textCount(args, ctx) {
  if (typeof args.text !== 'string')
    throw new ActivityError('Node.BadInput', 'text must be a string', { nonRetryable: true });
  for (let slept = 0; slept < (args.slow_ms || 0); slept += 100) {
    await ctx.sleep(100); // a long activity: heartbeats carry its progress
    ctx.heartbeat({ slept_ms: slept + 100 });
  }
  const words = args.text.split(/\s+/).filter(Boolean);
  return { words: words.length, chars: args.text.length, by: 'node',
           root: ctx.task.root_workflow_id };
}

// The conformance activity batonctl worker-check drives
// (docs/wire-protocol.md#conformance): each case asks for one behaviour.
async function conformance(args, ctx) {
  const attempt = ctx.task.attempt;
  if (args.case === 'fail_retryable' && attempt === 1)
    throw new ActivityError('Conformance.Retryable', 'asked to fail once',
                            { retryAfterMs: args.retry_after_ms || 0 });
  if (args.case === 'fail_final')
    throw new ActivityError('Conformance.Final', 'asked to fail', { nonRetryable: true });
  await ctx.sleep(args.ms || 0); // heartbeats go on; a cancel ends it
  return { echo: args.echo === undefined ? null : args.echo, attempt, slept_ms: args.ms || 0 };
}

const ACTIVITIES = { 'text.count': textCount, 'baton.conformance': conformance };

// ---- the wire protocol ------------------------------------------------------

function settings() {
  const conf = {};
  const path = process.env.BATON_STACK_FILE || 'build/dev/stack.conf';
  if (fs.existsSync(path))
    for (const line of fs.readFileSync(path, 'utf8').split('\n')) {
      const m = /^\s*([^#=\s]+)\s*=\s*(.*?)\s*$/.exec(line);
      if (m) conf[m[1]] = m[2];
    }
  const brokers = process.env.BATON_KAFKA_BROKERS ||
                  conf['kafka.bootstrap.servers'] || 'localhost:9092';
  return {
    brokers: brokers.split(','),
    sessionTimeout: Number(conf['kafka.consumer.session.timeout.ms'] || 30000),
    prefix: process.env.BATON_TOPIC_PREFIX || conf['topic.prefix'] || 'baton',
  };
}

function log(what, taskId, extra = '') {
  console.log(new Date().toISOString(), `worker[${QUEUE}]`, what, taskId || '', extra);
  if (EXEC_LOG && ['completed', 'failed', 'cancelled'].includes(what))
    fs.appendFileSync(EXEC_LOG, `${taskId} ${what} node\n`);
}

async function main() {
  const { brokers, sessionTimeout, prefix } = settings();
  const kafka = new Kafka({ clientId: WORKER_ID, brokers, logLevel: logLevel.WARN });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const tasks = kafka.consumer({
    groupId: `baton.worker.${QUEUE}`, sessionTimeout,
    heartbeatInterval: Math.max(100, Math.floor(sessionTimeout / 5)),
    maxWaitTimeInMs: 100, // an idle fetch waits at most this (latency)
    metadataMaxAge: 1000, // see a task topic created after we started
  });
  const cancelled = new Set(); // task ids batond gave up (last few thousand)
  let running = null; // { task, abort } of the task in progress

  const sendResult = (task, kind, fields) =>
    // acks: -1 (all): resolves once Kafka acknowledged the result
    producer.send({ topic: `${prefix}.results`, acks: -1, messages: [{
      key: task.workflow_id, partition: task.result_partition, headers: JSON_HEADERS,
      value: JSON.stringify({ task_id: task.task_id, workflow_id: task.workflow_id, kind,
                              worker: WORKER_ID, finished_at_ms: Date.now(), ...fields }),
    }] });

  async function runTask(task, heartbeat) {
    let abort;
    const aborted = new Promise((_, reject) => { abort = () => reject(new Cancelled()); });
    aborted.catch(() => {});
    running = { task, abort };
    let details = null;
    const ctx = {
      task,
      heartbeat: (d) => { details = d; },
      sleep: (ms) => Promise.race([new Promise((r) => setTimeout(r, ms)), aborted]),
    };
    const period = Math.max(task.heartbeat_seconds || 0, 1) * 1000 / 3;
    const beat = setInterval(() => {
      sendResult(task, 'HEARTBEAT', { output: JSON.stringify(details) }).catch(() => {});
      heartbeat().catch(() => {}); // our group membership, not batond's
    }, period);
    try {
      if (cancelled.has(task.task_id)) throw new Cancelled();
      const handler = ACTIVITIES[task.activity_type];
      if (!handler)
        throw new ActivityError('Worker.UnknownActivity', `no activity ${task.activity_type}`);
      const output = await Promise.race([handler(JSON.parse(task.input), ctx), aborted]);
      await sendResult(task, 'COMPLETED', { output: JSON.stringify(output) });
      log('completed', task.task_id);
    } catch (e) {
      if (e instanceof Cancelled) {
        await sendResult(task, 'FAILED', { error: 'Baton.Cancelled', cause: 'cancelled by batond' });
        log('cancelled', task.task_id);
      } else if (e instanceof ActivityError) {
        await sendResult(task, 'FAILED', { error: e.error, cause: e.message,
                                           retry_after_ms: e.retryAfterMs,
                                           non_retryable: e.nonRetryable });
        log('failed', task.task_id, e.error);
      } else { // a bug or an unexpected error: let the workflow's Retry decide
        await sendResult(task, 'FAILED', { error: 'States.TaskFailed', cause: String(e) });
        log('failed', task.task_id, String(e));
      }
    } finally {
      clearInterval(beat);
      running = null;
    }
  }

  // Cancellation notices: a group of our own sees every partition.  The
  // topic appears with batond's first notice: look for it until it exists.
  async function listenCancels(fromBeginning) {
    const admin = kafka.admin();
    await admin.connect();
    const exists = (await admin.listTopics()).includes(`${prefix}.cancels`);
    await admin.disconnect();
    if (!exists) return setTimeout(() => listenCancels(true).catch(console.error), 2000);
    const consumer = kafka.consumer({ groupId: `baton.cancels.${WORKER_ID}`, sessionTimeout,
                                      maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: `${prefix}.cancels`, fromBeginning });
    await consumer.run({ autoCommit: false, eachMessage: async ({ message }) => {
      const ct = message.headers['content-type'];
      if (!ct || ct.toString() !== 'application/json') return; // another queue's (Avro)
      const { task_id: id } = JSON.parse(message.value.toString());
      if (!id) return;
      cancelled.add(id);
      if (cancelled.size > 5000) cancelled.delete(cancelled.values().next().value);
      if (running && running.task.task_id === id) running.abort();
    } });
    return consumer;
  }

  await producer.connect();
  await tasks.connect();
  await tasks.subscribe({ topic: `${prefix}.tasks.${QUEUE}`, fromBeginning: true });
  await listenCancels(false);
  await tasks.run({
    autoCommit: false,
    partitionsConsumedConcurrently: 1, // one task at a time
    eachMessage: async ({ topic, partition, message, heartbeat }) => {
      let task;
      try {
        if ((message.headers['content-type'] || '').toString() !== 'application/json')
          throw new Error('not a JSON task: list the queue in batond.tasks.json.queues');
        task = JSON.parse(message.value.toString());
        for (const f of ['task_id', 'workflow_id', 'activity_type', 'input', 'result_partition'])
          if (!(f in task)) throw new Error(`missing required field '${f}'`);
      } catch (e) { // undecodable: to the DLQ, never block the partition
        await producer.send({ topic: `${prefix}.dlq`, acks: -1, messages: [{
          key: message.key, value: message.value, headers: { 'baton-error': `task: ${e.message}` } }] });
        task = null;
      }
      if (task) {
        log('started', task.task_id, `attempt ${task.attempt}`);
        await runTask(task, heartbeat);
      }
      // only now: the result is acknowledged
      await tasks.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
    },
  });
  log('ready, group', `baton.worker.${QUEUE}`);
  for (const sig of ['SIGTERM', 'SIGINT'])
    process.on(sig, () => tasks.disconnect().then(() => producer.disconnect())
      .finally(() => process.exit(0)));
}

main().catch((e) => { console.error(e); process.exit(1); });
