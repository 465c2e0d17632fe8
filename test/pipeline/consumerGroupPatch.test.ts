/**
 * The group generation in kafkajs's GROUP_JOIN payload
 * (pipeline/kafka/consumerGroupPatch.ts), which orders the archive sink's
 * staging folders: in place for kafkajs 2.2.4, handed out by the module
 * cache, and joining a real group reports the generation the coordinator
 * gave (1 for a new group, 2 after a second member joined).
 */
import '../../pipeline/kafka/kafkajs.js';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { createKafkaClient } from '../../pipeline/kafka/client.js';
import { consumerGroupPatched } from '../../pipeline/kafka/consumerGroupPatch.js';
import { createLogger } from '../../pipeline/ops/logger.js';
import { KAFKA_SKIP, createTestTopics, deleteTestTopics, kafkaBrokers, sleep } from '../support/kafka.js';

const require = createRequire(import.meta.url);

test('in place for kafkajs 2.2.4: the module cache hands out the patched ConsumerGroup', () => {
  assert.equal((require('kafkajs/package.json') as { version: string }).version, '2.2.4');
  assert.equal(consumerGroupPatched, true);
  const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as { patched?: boolean };
  assert.equal(ConsumerGroup.patched, true);
});

test('GROUP_JOIN payloads carry the generation joined (real broker)', { timeout: 120_000, skip: kafkaBrokers() === undefined ? KAFKA_SKIP : false }, async (t) => {
  const brokers = kafkaBrokers() as string[];
  const topics = await createTestTopics(brokers, 'group-generation', 2);
  const logger = createLogger({ level: 'error' });
  const consumers = [0, 1].map(() => createKafkaClient({ brokers, logger }).consumer({ groupId: topics.group, sessionTimeout: 6000, heartbeatInterval: 500 }));
  t.after(async () => {
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await deleteTestTopics(brokers, topics);
  });
  const joins: Array<Array<number | undefined>> = [[], []];
  for (const [i, c] of consumers.entries()) {
    c.on(c.events.GROUP_JOIN, (e) => joins[i].push((e.payload as { generationId?: number }).generationId));
    await c.connect();
    await c.subscribe({ topics: [topics.input] });
    await c.run({ eachMessage: async () => undefined });
    const end = Date.now() + 60_000;
    while (Date.now() < end && !(joins[i].length > 0 && (i === 0 || joins[0].length > 1))) await sleep(100);
  }
  assert.deepEqual(joins, [[1, 2], [2]]);
});
