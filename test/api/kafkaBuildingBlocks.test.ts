/**
 * The Kafka edges as library building blocks against the real broker:
 * workerConfig -> openKafkaEdges -> mentionStream (public API only), posts
 * in, one mention record per post and a dead letter for garbage out, then a
 * graceful stop that commits. Skips without KAFKA_BROKERS.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lastValueFrom, tap } from 'rxjs';
import { mentionStream, openKafkaEdges, silentLogger, workerConfig } from '../../index.js';
import { fakeTagger } from './fakeTagger.js';
import {
  committedOffsets,
  createTestTopics,
  deleteTestTopics,
  inputRecords,
  KAFKA_SKIP,
  kafkaBrokers,
  OutputCollector,
  produceRecords,
  waitUntil,
  within,
} from '../support/kafka.js';


test('workerConfig + openKafkaEdges + mentionStream: one output per input, committed on stop', { timeout: 120_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const topics = await createTestTopics(brokers, 'api', 2);
  const collector = OutputCollector.start(brokers, topics);
  try {
    const { records, ids, badKeys } = inputRecords(200, 'api', 50);
    await produceRecords(brokers, topics.input, records);
    const config = workerConfig({ brokers, inputTopic: topics.input, outputTopic: topics.output, deadLetterTopic: topics.deadLetter, groupId: topics.group, batchMaxWaitMs: 5 });
    const edges = await openKafkaEdges(config, { logger: silentLogger() });
    let acked = 0;
    const stream = mentionStream({ source: edges.source, sink: edges.sink, maxRecordBytes: edges.maxRecordBytes, tagger: fakeTagger }).pipe(tap((group) => (acked += group.length)));
    const done = lastValueFrom(stream, { defaultValue: [] });
    await waitUntil(() => acked >= records.length, 60_000, 'every input to be written and acknowledged', () => `${acked} of ${records.length}`);
    edges.source.stop();
    await within(done, 30_000, 'the stream to complete after stop()');
    await edges.close();
    assert.equal(acked, records.length);
    await collector.waitForAll(ids, badKeys, 30_000);
    assert.equal(collector.mentions.size, ids.length);
    assert.equal(collector.deadLetters.size, badKeys.length);
    assert.equal(badKeys.length, 4);
    const committed = await committedOffsets(brokers, topics.group, topics.input);
    const total = [...committed.values()].reduce((n, o) => n + Number(o), 0);
    assert.equal(total, records.length, 'the group committed every input');
  } finally {
    await collector.stop();
    await deleteTestTopics(brokers, topics);
  }
});
