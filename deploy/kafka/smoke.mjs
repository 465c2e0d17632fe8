#!/usr/bin/env node
// End-to-end smoke test of a broker (ours from start.sh, or any other) with kafkajs:
//
//   KAFKA_BROKERS=127.0.0.1:19092 node deploy/kafka/smoke.mjs            # full run
//   KAFKA_BROKERS=127.0.0.1:19092 node deploy/kafka/smoke.mjs --after-restart
//
// Full run: create a 3-partition topic (waitForLeaders), produce 100 messages,
// consume them with a consumer group, produce with an idempotent producer, run a
// consume-transform-produce transaction (transactionalId + sendOffsets) plus an
// aborted transaction, and read back with read_committed / read_uncommitted
// consumers. Leaves the topics behind so that --after-restart can check, after a
// stop (KEEP_DATA=1) + start, that topics, records and committed offsets survived.
// Prints one timing line per step; exits non-zero on the first failure.
import { setTimeout, clearTimeout } from 'node:timers';
import { Kafka, logLevel, CompressionTypes } from 'kafkajs';

process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:19092').split(',');
const afterRestart = process.argv.includes('--after-restart');
const T = {
  input: 'smoke.input',
  idem: 'smoke.idempotent',
  output: 'smoke.tx-output',
};
const GROUP = 'smoke-group';
const TX_GROUP = 'smoke-tx-group';
const N = 100;

const kafka = new Kafka({ clientId: 'mentionflow-smoke', brokers, logLevel: logLevel.WARN });
const admin = kafka.admin();

let failures = 0;
let passes = 0;
async function step(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    passes += 1;
    console.log(`ok   ${String(Date.now() - t0).padStart(6)} ms  ${name}${detail ? `  (${detail})` : ''}`);
  } catch (err) {
    failures += 1;
    console.log(`FAIL ${String(Date.now() - t0).padStart(6)} ms  ${name}: ${err?.stack ?? err}`);
    throw err;
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

/** Consume from the beginning until `count` messages arrived (or timeout). */
async function consumeN(topic, count, { groupId, readUncommitted = false, timeoutMs = 30000 } = {}) {
  const consumer = kafka.consumer({
    groupId: groupId ?? `smoke-reader-${topic}-${readUncommitted ? 'ru' : 'rc'}-${Date.now()}`,
    readUncommitted,
    maxWaitTimeInMs: 200,
  });
  const got = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timeout: ${got.length}/${count} messages from ${topic}`)),
        timeoutMs,
      );
      consumer
        .run({
          autoCommit: true,
          eachMessage: async ({ partition, message }) => {
            got.push({ partition, offset: message.offset, key: message.key?.toString(), value: message.value?.toString() });
            if (got.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    // Let the in-flight auto-commit go out, and catch any unexpected extra records.
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    await consumer.disconnect();
  }
  return got;
}

const msgs = (prefix, n) =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}-k${i % 10}`, value: `${prefix}-${i}` }));

await admin.connect();
try {
  if (!afterRestart) {
    await step('createTopics x3 (3 partitions, waitForLeaders)', async () => {
      const existing = await admin.listTopics();
      const stale = Object.values(T).filter((t) => existing.includes(t));
      if (stale.length) {
        await admin.deleteTopics({ topics: stale, timeout: 10000 });
        await new Promise((r) => setTimeout(r, 1000));
      }
      const created = await admin.createTopics({
        waitForLeaders: true,
        topics: Object.values(T).map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })),
      });
      assert(created, 'createTopics returned false');
      const md = await admin.fetchTopicMetadata({ topics: Object.values(T) });
      for (const t of md.topics) assert(t.partitions.length === 3, `${t.name} has ${t.partitions.length} partitions`);
      return Object.values(T).join(', ');
    });

    await step(`produce ${N} messages (acks=all, gzip)`, async () => {
      const producer = kafka.producer();
      await producer.connect();
      const res = await producer.send({ topic: T.input, acks: -1, compression: CompressionTypes.GZIP, messages: msgs('m', N) });
      await producer.disconnect();
      return `partitions: ${res.map((r) => `${r.partition}@${r.baseOffset}`).join(' ')}`;
    });

    await step(`consume ${N} messages with group ${GROUP}`, async () => {
      const got = await consumeN(T.input, N, { groupId: GROUP });
      assert(got.length === N, `got ${got.length}`);
      assert(new Set(got.map((m) => m.value)).size === N, 'duplicates');
      const parts = new Set(got.map((m) => m.partition));
      assert(parts.size === 3, `messages spread over ${parts.size} partitions`);
      const offs = await admin.fetchOffsets({ groupId: GROUP, topics: [T.input] });
      const committed = offs[0].partitions.reduce((s, p) => s + Number(p.offset), 0);
      assert(committed === N, `committed offsets sum ${committed}`);
      return `3 partitions, committed offsets sum ${committed}`;
    });

    await step('idempotent producer: 3 x 50 messages', async () => {
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      for (let b = 0; b < 3; b += 1) await producer.send({ topic: T.idem, acks: -1, messages: msgs(`i${b}`, 50) });
      await producer.disconnect();
      const got = await consumeN(T.idem, 150);
      assert(new Set(got.map((m) => m.value)).size === 150, 'duplicates or losses');
      return '150 unique read back';
    });

    let txTime = 0;
    await step('transactional consume-transform-produce (sendOffsets) + aborted tx', async () => {
      const producer = kafka.producer({
        transactionalId: 'smoke-tx',
        idempotent: true,
        maxInFlightRequests: 1,
      });
      const t0 = Date.now();
      await producer.connect(); // InitProducerId -> transaction coordinator
      txTime = Date.now() - t0;

      // committed: input -> upper-cased output, input offsets committed in the same tx
      const input = await consumeN(T.input, N, { groupId: `smoke-tx-scan-${Date.now()}` });
      const tx = await producer.transaction();
      await tx.send({
        topic: T.output,
        messages: input.map((m) => ({ key: m.key, value: m.value.toUpperCase() })),
      });
      const byPartition = new Map();
      for (const m of input) {
        const next = Number(m.offset) + 1;
        byPartition.set(m.partition, Math.max(byPartition.get(m.partition) ?? 0, next));
      }
      await tx.sendOffsets({
        consumerGroupId: TX_GROUP,
        topics: [{ topic: T.input, partitions: [...byPartition].map(([partition, o]) => ({ partition, offset: String(o) })) }],
      });
      await tx.commit();

      // aborted: must be invisible to read_committed
      const tx2 = await producer.transaction();
      await tx2.send({ topic: T.output, messages: msgs('aborted', 10) });
      await tx2.abort();
      await producer.disconnect();

      const offs = await admin.fetchOffsets({ groupId: TX_GROUP, topics: [T.input] });
      const committed = offs[0].partitions.reduce((s, p) => s + Number(p.offset), 0);
      assert(committed === N, `tx group committed offsets sum ${committed}`);
      return `InitProducerId ${txTime} ms; ${TX_GROUP} offsets sum ${committed}`;
    });

    await step('read_committed consumer sees exactly the committed tx', async () => {
      const got = await consumeN(T.output, N, { timeoutMs: 20000 });
      assert(got.length === N, `got ${got.length}`);
      assert(got.every((m) => m.value.startsWith('M-')), 'aborted records visible');
      return `${got.length} records, 0 aborted`;
    });

    await step('read_uncommitted consumer also sees the aborted records', async () => {
      const got = await consumeN(T.output, N + 10, { readUncommitted: true, timeoutMs: 20000 });
      const aborted = got.filter((m) => m.value.startsWith('aborted-')).length;
      assert(aborted === 10, `aborted seen: ${aborted}`);
      return `${got.length} records incl. ${aborted} aborted`;
    });
  } else {
    await step('after restart: topics still there with 3 partitions', async () => {
      const md = await admin.fetchTopicMetadata({ topics: Object.values(T) });
      for (const t of md.topics) assert(t.partitions.length === 3, `${t.name} has ${t.partitions.length} partitions`);
      return md.topics.map((t) => t.name).join(', ');
    });
    await step('after restart: committed group offsets survived', async () => {
      for (const g of [GROUP, TX_GROUP]) {
        const offs = await admin.fetchOffsets({ groupId: g, topics: [T.input] });
        const sum = offs[0].partitions.reduce((s, p) => s + Number(p.offset), 0);
        assert(sum === N, `${g} offsets sum ${sum}`);
      }
      return `${GROUP}=${N}, ${TX_GROUP}=${N}`;
    });
    await step('after restart: records readable (input 100, idempotent 150, tx output 100 committed)', async () => {
      const a = await consumeN(T.input, N);
      const b = await consumeN(T.idem, 150);
      const c = await consumeN(T.output, N);
      assert(a.length === N && b.length === 150 && c.length === N, `${a.length}/${b.length}/${c.length}`);
      assert(c.every((m) => m.value.startsWith('M-')), 'aborted records visible');
      return `${a.length}/${b.length}/${c.length}`;
    });
    await step('after restart: new transaction still works', async () => {
      const producer = kafka.producer({ transactionalId: 'smoke-tx', idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const tx = await producer.transaction();
      await tx.send({ topic: T.output, messages: [{ key: 'r', value: 'M-AFTER-RESTART' }] });
      await tx.commit();
      await producer.disconnect();
      const c = await consumeN(T.output, N + 1);
      assert(c.some((m) => m.value === 'M-AFTER-RESTART'), 'post-restart tx record missing');
      return `${c.length} committed records`;
    });
  }
} finally {
  await admin.disconnect();
  console.log(`${passes} passed, ${failures} failed`);
}
