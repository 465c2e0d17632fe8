#!/usr/bin/env node
// Readiness probe for the test broker: a real kafkajs admin round trip
// (connect, describeCluster, listTopics, disconnect), retried until a deadline.
//
//   KAFKA_BROKERS=127.0.0.1:19092 node deploy/kafka/wait-ready.mjs [--warm]
//
// --warm additionally primes the group coordinator (__consumer_offsets) and the
// transaction coordinator (__transaction_state). The broker creates those
// internal topics lazily on the first FindCoordinator request, so without
// warming the first consumer group / transactional producer of a test run pays
// for it (kafkajs retries COORDINATOR_NOT_AVAILABLE meanwhile).
//
// Env: KAFKA_BROKERS (comma separated, default 127.0.0.1:19092),
//      KAFKA_READY_TIMEOUT_MS (default 30000).
// Exit 0 when ready, 1 when the deadline passed. Progress goes to stderr.
import { setTimeout } from 'node:timers';
import { Kafka, logLevel } from 'kafkajs';

const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:19092')
  .split(',')
  .map((b) => b.trim())
  .filter(Boolean);
const timeoutMs = Number(process.env.KAFKA_READY_TIMEOUT_MS || 30000);
const warm = process.argv.includes('--warm');
const started = Date.now();
const deadline = started + timeoutMs;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (msg) => process.stderr.write(`[wait-ready] ${msg}\n`);

const kafka = new Kafka({
  clientId: 'mentionflow-wait-ready',
  brokers,
  logLevel: logLevel.NOTHING,
  connectionTimeout: 3000,
  requestTimeout: 10000,
  // Fail fast inside one attempt; the outer loop does the bounded retrying.
  retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 },
});

async function probe() {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    const topics = await admin.listTopics();
    return { cluster, topics };
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

// Retry an async step until the global deadline.
async function until(name, fn) {
  let attempt = 0;
  for (;;) {
    attempt += 1;
    try {
      return await fn();
    } catch (err) {
      const left = deadline - Date.now();
      if (left <= 0) {
        log(`${name}: giving up after ${attempt} attempt(s), ${Date.now() - started} ms: ${err?.name}: ${err?.message}`);
        process.exit(1);
      }
      await sleep(Math.min(500, left));
    }
  }
}

const { cluster, topics } = await until('admin round trip', probe);
log(
  `admin round trip ok in ${Date.now() - started} ms: clusterId=${cluster.clusterId} ` +
    `controller=${cluster.controller} brokers=${cluster.brokers.map((b) => `${b.host}:${b.port}`).join(',')} ` +
    `topics=${topics.length}`,
);

if (warm) {
  const t0 = Date.now();
  // Group coordinator: FindCoordinator(GROUP) makes the broker create __consumer_offsets.
  await until('group coordinator', async () => {
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeGroups(['mentionflow-wait-ready-warmup']);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  });
  const t1 = Date.now();
  // Transaction coordinator: InitProducerId with a transactionalId needs __transaction_state.
  await until('transaction coordinator', async () => {
    const producer = kafka.producer({
      transactionalId: 'mentionflow-wait-ready-warmup',
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    try {
      await producer.connect();
      const tx = await producer.transaction();
      await tx.abort();
    } finally {
      await producer.disconnect().catch(() => {});
    }
  });
  log(`warm-up ok: group coordinator ${t1 - t0} ms, transaction coordinator ${Date.now() - t1} ms`);
}
