/**
 * The kafkajs fix (pipeline/kafka/kafkajsFix.ts): the one-pass grouping of a
 * produce request's messages gives what kafkajs 2.2.4's own does, and
 * kafkajs's producer calls it.
 */
import '../../pipeline/kafka/kafkajs.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import vm from 'node:vm';
import { createKafkaClient } from '../../pipeline/kafka/client.js';
import { groupMessagesPerPartition, groupingCalls, groupingFixed } from '../../pipeline/kafka/kafkajsFix.js';
import { keyPartitioner } from '../../pipeline/kafka/keyPartitioner.js';
import { KAFKA_SKIP, createTestTopics, deleteTestTopics, kafkaBrokers } from '../support/kafka.js';

const require = createRequire(import.meta.url);
const path = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');

/** kafkajs's own grouping, compiled from its file (the module cache holds the replacement). */
function original(): typeof groupMessagesPerPartition {
  const module = { exports: undefined as unknown };
  vm.runInThisContext(`(function (module) {${readFileSync(path, 'utf8')}\n})`)(module);
  return module.exports as typeof groupMessagesPerPartition;
}

test('the fix is in place for kafkajs 2.2.4, and it is what the module cache hands out', () => {
  assert.equal((require('kafkajs/package.json') as { version: string }).version, '2.2.4', 'a kafkajs upgrade: check whether the fix is still needed (tulios/kafkajs#1576)');
  assert.equal(groupingFixed, true);
  assert.equal(require(path), groupMessagesPerPartition);
});

test('the one-pass grouping equals kafkajs own, partition by partition and in order', () => {
  const stock = original();
  assert.notEqual(stock, groupMessagesPerPartition);
  const partitionMetadata = Array.from({ length: 7 }, (_, i) => ({ partitionId: i, leader: 0 }));
  const partitioner = ({ message }: { message: unknown }) => Number((message as { key: string }).key) % 7;
  for (const n of [0, 1, 2, 50, 3000]) {
    const messages = Array.from({ length: n }, (_, i) => ({ key: String((i * 7919) % 101), value: `v${i}` }));
    const args = { topic: 't', partitionMetadata, messages, partitioner };
    assert.deepEqual(groupMessagesPerPartition(args), stock(args), `${n} messages`);
  }
  const none = { topic: 't', partitionMetadata: [], messages: [{ key: '1' }], partitioner };
  assert.deepEqual(groupMessagesPerPartition(none), stock(none));
});

test('kafkajs producer sends go through the replacement, to the partitions the key partitioner names', { timeout: 120_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const topics = await createTestTopics(brokers, 'kafkajsfix', 3);
  const kafka = createKafkaClient({ brokers });
  const producer = kafka.producer({ createPartitioner: keyPartitioner, allowAutoTopicCreation: false });
  try {
    await producer.connect();
    const before = groupingCalls.count;
    const messages = Array.from({ length: 300 }, (_, i) => ({ key: `post-${i}`, value: String(i) }));
    const sent = await producer.send({ topic: topics.input, messages });
    assert.ok(groupingCalls.count > before, 'the producer grouped its messages with the replacement');
    const perPartition = new Map(sent.map((r) => [r.partition, r]));
    const expected = new Map<number, number>();
    const choose = keyPartitioner();
    const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
    for (const message of messages) {
      const p = choose({ topic: topics.input, partitionMetadata, message });
      expected.set(p, (expected.get(p) ?? 0) + 1);
    }
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topics.input);
    await admin.disconnect();
    for (const o of offsets) assert.equal(Number(o.high), expected.get(o.partition) ?? 0, `partition ${o.partition}`);
    assert.ok(perPartition.size > 1);
  } finally {
    await producer.disconnect();
    await deleteTestTopics(brokers, topics);
  }
});
