/**
 * withAdmin (pipeline/kafka/withAdmin.ts): the tools' admin round trip is
 * retried while the failure is retriable and given up at once otherwise.
 * The refused connection needs no broker; the rest uses KAFKA_BROKERS.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, KafkaEdgeError } from '../../common/errors.js';
import { withAdmin } from '../../pipeline/kafka/withAdmin.js';
import { KAFKA_SKIP, kafkaBrokers } from '../support/kafka.js';

const FAST = { initialDelayMs: 10, maxDelayMs: 20 };

test('a refused connection is retriable: retried `retries` times, then a KafkaEdgeError saying where', { timeout: 30_000 }, async () => {
  const retries: number[] = [];
  let calls = 0;
  await assert.rejects(
    withAdmin({ brokers: ['127.0.0.1:1'] }, { what: 'cannot list', policy: { ...FAST, retries: 2, onRetry: (_e, n) => retries.push(n) } }, async () => {
      calls += 1;
    }),
    (err: unknown) => err instanceof KafkaEdgeError && err.retriable && /^cannot connect to Kafka at 127\.0\.0\.1:1 \(no TLS, no SASL\): .*ECONNREFUSED/.test(err.message),
  );
  assert.deepEqual(retries, [1, 2]);
  assert.equal(calls, 0);
});

test('a failing call: the project error passes through at once, a kafkajs error gets the context', { timeout: 60_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  let calls = 0;
  await assert.rejects(
    withAdmin({ brokers }, { what: 'x', policy: FAST }, async () => {
      calls += 1;
      throw new ConfigError('topic "nope" does not exist');
    }),
    ConfigError,
  );
  assert.equal(calls, 1);
  const topic = `mf-with-admin-missing-${Date.now()}`;
  await assert.rejects(
    withAdmin({ brokers }, { what: 'cannot read offsets', position: { topic }, policy: { ...FAST, retries: 1 } }, (admin) => admin.fetchTopicOffsets(topic)),
    (err: unknown) => err instanceof KafkaEdgeError && err.topic === topic && err.message.startsWith('cannot read offsets: ') && err.message.endsWith(`(topic ${topic})`),
  );
  assert.equal(await withAdmin({ brokers }, { what: 'cannot list topics' }, async (admin) => Array.isArray(await admin.listTopics())), true);
});
