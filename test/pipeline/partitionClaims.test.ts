// Exactly-once fencing per input partition, against the real broker, with
// the race made deterministic: two sinks (two "workers") claim the same input
// partition in a chosen order, and the source reads a claimed partition from
// the offset the claim returns. The process-level version (a worker frozen
// with SIGSTOP) is in test/faults.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lastValueFrom, of, take, toArray } from 'rxjs';
import type { OutputMessage, RecordRef } from '../../operators/types.js';
import { createKafkaClient } from '../../pipeline/kafka/client.js';
import { GroupOffsetReader } from '../../pipeline/kafka/groupOffsets.js';
import { BrokerOutage } from '../../pipeline/kafka/outage.js';
import { KafkaSource, type TransactionOffsets } from '../../pipeline/kafka/source.js';
import { partitionTransactionalId, TransactionalKafkaSink } from '../../pipeline/kafka/transactionalSink.js';
import type { TopicPartition, TopicPartitionOffset } from '../../pipeline/core/offsetTracker.js';
import { createLogger } from '../../pipeline/ops/logger.js';
import { KAFKA_SKIP, createTestTopics, deleteTestTopics, kafkaBrokers, uniqueName, within, type TestTopics } from '../support/kafka.js';

const logger = createLogger({ level: 'error' });

/**
 * The source's side of the protocol for one worker that holds partition 0
 * and has everything up to `upTo` done: what the sink asks of a KafkaSource,
 * without a consumer.
 */
class HeldPartition implements TransactionOffsets {
  claim: ((topic: string, partition: number) => Promise<string>) | undefined;
  released: TopicPartition[] = [];
  committedOffsets: TopicPartitionOffset[] = [];
  constructor(
    readonly groupId: string,
    private readonly topic: string,
    private readonly upTo: string,
  ) {}
  stage(): TopicPartitionOffset[] {
    return this.pending();
  }
  committed(offsets: readonly TopicPartitionOffset[]): void {
    this.committedOffsets.push(...offsets);
  }
  confirm(): Promise<boolean> {
    return Promise.resolve(false);
  }
  owns(): boolean {
    return true;
  }
  pending(): TopicPartitionOffset[] {
    return [{ topic: this.topic, partition: 0, offset: this.upTo }];
  }
  claimWith(claim: (topic: string, partition: number) => Promise<string>): void {
    this.claim = claim;
  }
  release(tp: TopicPartition): void {
    this.released.push(tp);
  }
}

function outputs(topic: string, from: number, to: number, tag: string): OutputMessage[] {
  return Array.from({ length: to - from }, (_, i) => {
    const ref: RecordRef = { topic, partition: 0, offset: String(from + i), receivedAt: 0, epoch: 0 };
    return { output: 'mentions' as const, key: Buffer.from(`${tag}-${from + i}`), value: Buffer.from(tag), ref };
  });
}

function worker(brokers: string[], topics: TestTopics, upTo: string, name: string): { sink: TransactionalKafkaSink; offsets: HeldPartition; groupOffsets: GroupOffsetReader } {
  const kafka = createKafkaClient({ brokers, clientId: name, logger });
  const offsets = new HeldPartition(topics.group, topics.input, upTo);
  const groupOffsets = new GroupOffsetReader(kafka, topics.group);
  const sink = new TransactionalKafkaSink({
    kafka,
    topics: { mentions: topics.output, deadletter: topics.deadLetter },
    transactionalIdPrefix: topics.group,
    offsets,
    committedOffsets: (partitions) => groupOffsets.read(partitions),
    outage: new BrokerOutage({ boundMs: 20_000, logger }),
    logger,
    transactionTimeoutMs: 10_000,
  });
  return { sink, offsets, groupOffsets };
}

/** The output keys a read_committed reader sees. */
async function committedKeys(brokers: string[], topic: string): Promise<string[]> {
  const kafka = createKafkaClient({ brokers, clientId: uniqueName('reader'), logger });
  const admin = kafka.admin();
  await admin.connect();
  const end = (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const keys: string[] = [];
  let seen = 0;
  let lastAt = Date.now();
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) keys.push(m.key?.toString() ?? '');
      seen = Math.max(seen, Number(batch.highWatermark));
      lastAt = Date.now();
    },
  });
  // Read until the high watermark (control records included) is reached and nothing came for a while.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (seen < end || Date.now() - lastAt < 1500)) await new Promise((r) => setTimeout(r, 200));
  await consumer.disconnect();
  return keys.sort();
}

test('per-partition fencing: once a partition is claimed by its new owner, the old owner cannot commit it (it gives the partition up); the claim reads what the old owner committed before', { timeout: 120_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const topics = await createTestTopics(brokers, 'claims', 1);
  const a = worker(brokers, topics, '10', 'worker-a');
  const b = worker(brokers, topics, '20', 'worker-b');
  try {
    assert.ok(a.offsets.claim && b.offsets.claim, 'each sink registers how partitions are claimed');
    // A holds the partition: its claim finds nothing committed; it commits records 0-9.
    assert.equal(await a.offsets.claim(topics.input, 0), '-1');
    await lastValueFrom(of(outputs(topics.input, 0, 10, 'a')).pipe(a.sink.write()));
    assert.deepEqual(a.offsets.committedOffsets, [{ topic: topics.input, partition: 0, offset: '10' }]);
    // B takes the partition over: its claim fences A and reads A's commit.
    assert.equal(await b.offsets.claim(topics.input, 0), '10', 'the claim reads what the previous owner committed');
    // A, a zombie now, tries to commit records 10-19: fenced, it gives the
    // partition up (the source drops it until the group assigns it again);
    // nothing of that transaction becomes visible.
    a.offsets.pending = () => [{ topic: topics.input, partition: 0, offset: '20' }];
    await lastValueFrom(of(outputs(topics.input, 10, 20, 'a')).pipe(a.sink.write()));
    assert.deepEqual(a.offsets.released, [{ topic: topics.input, partition: 0 }], 'A gave the partition up');
    assert.deepEqual(a.offsets.committedOffsets, [{ topic: topics.input, partition: 0, offset: '10' }], 'and did not count the fenced commit as done');
    // B commits the same records: the only copy a read_committed reader sees.
    await lastValueFrom(of(outputs(topics.input, 10, 20, 'b')).pipe(b.sink.write()));
    const keys = await committedKeys(brokers, topics.output);
    const expected = [...outputs(topics.input, 0, 10, 'a'), ...outputs(topics.input, 10, 20, 'b')].map((m) => m.key?.toString() ?? '').sort();
    assert.deepEqual(keys, expected);
    const reader = new GroupOffsetReader(createKafkaClient({ brokers, logger }), topics.group);
    try {
      assert.deepEqual(await reader.read([{ topic: topics.input, partition: 0 }]), [{ topic: topics.input, partition: 0, offset: '20' }]);
    } finally {
      await reader.close();
    }
  } finally {
    await a.sink.close();
    await b.sink.close();
    await a.groupOffsets.close();
    await b.groupOffsets.close();
    await deleteTestTopics(brokers, topics);
  }
});

test('the group offset reader answers the reads of one tick (a join claiming every partition at once) with one OffsetFetch on one admin connection', { timeout: 120_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const topics = await createTestTopics(brokers, 'groupoffsets', 3);
  const kafka = createKafkaClient({ brokers, logger });
  const reader = new GroupOffsetReader(kafka, topics.group);
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.setOffsets({ groupId: topics.group, topic: topics.input, partitions: [{ partition: 0, offset: '5' }, { partition: 2, offset: '7' }] });
    const tp = (partition: number) => ({ topic: topics.input, partition });
    const reads = await Promise.all([reader.read([tp(0)]), reader.read([tp(1)]), reader.read([tp(2), tp(0)])]);
    assert.deepEqual(reads, [
      [{ ...tp(0), offset: '5' }],
      [{ ...tp(1), offset: '-1' }],
      [{ ...tp(2), offset: '7' }, { ...tp(0), offset: '5' }],
    ]);
    assert.equal(reader.fetches, 1, 'three reads of one tick, one request');
    // A later read reuses the connection and sees a later commit.
    await admin.setOffsets({ groupId: topics.group, topic: topics.input, partitions: [{ partition: 1, offset: '3' }] });
    assert.deepEqual(await reader.read([tp(1)]), [{ ...tp(1), offset: '3' }]);
    assert.equal(reader.fetches, 2);
    await reader.close();
    await assert.rejects(reader.read([tp(0)]), /closed/);
  } finally {
    await reader.close();
    await admin.disconnect();
    await deleteTestTopics(brokers, topics);
  }
});

test('transactional ids are one per input partition: <prefix>-<topic>-<partition>', () => {
  assert.equal(partitionTransactionalId('g', 'posts', 3), 'g-posts-3');
});

test('the exactly-once source reads a claimed partition from the offset its claim returns, not from where it fetched', { timeout: 120_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const topics = await createTestTopics(brokers, 'claimseek', 1);
  const kafka = createKafkaClient({ brokers, logger });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: topics.input, messages: Array.from({ length: 30 }, (_, i) => ({ key: String(i), value: Buffer.from([i]) })) });
  await producer.disconnect();
  const source = new KafkaSource({ kafka, groupId: topics.group, topic: topics.input, maxInFlight: 1000, commit: 'transaction', sessionTimeoutMs: 6000, logger, outage: new BrokerOutage({ boundMs: 20_000, logger }) });
  const claims: string[] = [];
  // Nothing is committed, so the consumer fetches from offset 0; the claim says 12
  // (as when another worker committed up to 12 between this one's offset fetch and its claim).
  source.transactionOffsets().claimWith((topic, partition) => {
    claims.push(`${topic}[${partition}]`);
    return Promise.resolve('12');
  });
  try {
    await source.connect();
    const first = await within(lastValueFrom(source.records().pipe(take(5), toArray())), 60_000, 'records after the claim');
    assert.deepEqual(
      first.map((r) => r.ref.offset),
      ['12', '13', '14', '15', '16'],
    );
    assert.deepEqual(claims, [`${topics.input}[0]`], 'claimed once for its epoch');
  } finally {
    await source.close();
    await deleteTestTopics(brokers, topics);
  }
});
