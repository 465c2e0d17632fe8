// Bounded topic replay (pipeline/kafka/replay.ts), kafkaExamples and `archive --from-topic` against a
// real broker (KAFKA_BROKERS, e.g. from deploy/kafka/start.sh). Skipped, with a note, when it is unset.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { take } from 'rxjs';
import { ConfigError } from '../../common/errors.js';
import { archiveTopic } from '../../cli/commands/archive.js';
import { projectRoot } from '../../cli/defaults.js';
import { replayTopic, resolveReplayRanges } from '../../pipeline/kafka/replay.js';
import { createKafkaClient } from '../../pipeline/kafka/client.js';
import { deleteTopics, ensureTopic } from '../../pipeline/kafka/topicAdmin.js';
import { avroExamples } from '../../pipeline/train/sources/avroExamples.js';
import { RecordDecodeError, kafkaExamples } from '../../pipeline/train/sources/kafkaExamples.js';
import type { TrainingExample } from '../../pipeline/train/sources/example.js';
import { encodeStrict, loadSchema } from '../../schemas/registry.js';
import type { LabeledExample } from '../../schemas/types.generated.js';
import { collect, errorOf, tempDir } from './helpers.js';

const BROKERS = process.env.KAFKA_BROKERS?.split(',').filter((b) => b !== '') ?? [];
const SKIP = BROKERS.length === 0 ? 'KAFKA_BROKERS is not set; start a broker with `out="$(bash deploy/kafka/start.sh)" && export "$out"`' : false;
const OPTS = { timeout: 60_000, skip: SKIP };
const BASE = 1_700_000_000_000;
/** Records per partition of the main topic: partition 0 has offsets 0..5, partition 1 has 0..3. */
const SIZES = [6, 4];
const tag = `${Date.now()}-${randomBytes(3).toString('hex')}`;
const TOPIC = `mf-replay-${tag}`;
const BAD_TOPIC = `mf-replay-bad-${tag}`;
const TXN_TOPIC = `mf-replay-txn-${tag}`;
const tmp = tempDir('replay');
const connection = { brokers: BROKERS };

function record(partition: number, i: number): LabeledExample {
  return {
    id: `p${partition}-${i}`,
    text: `张三${i}在北京`,
    spans: [{ start: 0, end: 2, label: 'PER.NAM' }, { start: 4, end: 6, label: 'GPE.NAM' }],
    segmentation: i % 2 === 0 ? [2, 3, 4, 6] : null,
    source: 'weibo',
    created_at: BASE + i * 1000,
  };
}

/** Ids "p<partition>-<offset>" of examples, sorted (partitions interleave as fetched). */
const ids = (examples: Array<TrainingExample | LabeledExample>) => examples.map((e) => e.id).sort();
/** The expected ids: offsets [lo, hi) of each listed partition. */
function expected(ranges: Record<number, [number, number]>): string[] {
  return Object.entries(ranges)
    .flatMap(([p, [lo, hi]]) => Array.from({ length: Math.max(0, hi - lo) }, (_, k) => `p${p}-${lo + k}`))
    .sort();
}

describe('replay and kafkaExamples against a real broker', { skip: SKIP }, () => {
  before(async () => {
    const type = loadSchema('example');
    await ensureTopic({ ...connection, topic: TOPIC, partitions: 2 });
    await ensureTopic({ ...connection, topic: BAD_TOPIC, partitions: 1 });
    await ensureTopic({ ...connection, topic: TXN_TOPIC, partitions: 1 });
    const kafka = createKafkaClient(connection);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (const [partition, n] of SIZES.entries()) {
        await producer.send({
          topic: TOPIC,
          acks: -1,
          messages: Array.from({ length: n }, (_, i) => ({ partition, key: `p${partition}-${i}`, value: encodeStrict(type, record(partition, i)), timestamp: String(BASE + i * 1000) })),
        });
      }
      await producer.send({
        topic: BAD_TOPIC,
        acks: -1,
        messages: [
          { partition: 0, value: encodeStrict(type, record(0, 0)) },
          { partition: 0, value: Buffer.from('not avro at all') },
          { partition: 0, value: encodeStrict(type, { ...record(0, 2), spans: [{ start: 5, end: 9, label: 'PER.NAM' }] }) },
          { partition: 0, value: encodeStrict(type, record(0, 3)) },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    const txProducer = kafka.producer({ transactionalId: `mf-replay-tx-${tag}`, idempotent: true, maxInFlightRequests: 1 });
    await txProducer.connect();
    try {
      const txn = await txProducer.transaction();
      await txn.send({ topic: TXN_TOPIC, messages: [0, 1, 2].map((i) => ({ partition: 0, value: encodeStrict(type, record(0, i)) })) });
      await txn.commit();
    } finally {
      await txProducer.disconnect();
    }
  });

  after(async () => {
    tmp.cleanup();
    await deleteTopics({ ...connection, topics: [TOPIC, BAD_TOPIC, TXN_TOPIC] }).catch(() => undefined);
  });

  it('resolves offset and timestamp bounds per partition, clamped to [earliest, latest]', OPTS, async () => {
    assert.deepEqual(await resolveReplayRanges({ ...connection, topic: TOPIC, from: { offset: 1 }, to: { offset: 4 } }), [
      { partition: 0, start: '1', end: '4' },
      { partition: 1, start: '1', end: '4' },
    ]);
    assert.deepEqual(await resolveReplayRanges({ ...connection, topic: TOPIC, from: { timestamp: BASE + 2000 }, to: { timestamp: BASE + 3500 } }), [
      { partition: 0, start: '2', end: '4' },
      { partition: 1, start: '2', end: '4' },
    ]);
    assert.deepEqual(await resolveReplayRanges({ ...connection, topic: TOPIC, from: { offset: '5' }, to: { offset: 99 } }), [
      { partition: 0, start: '5', end: '6' },
      { partition: 1, start: '4', end: '4' },
    ]);
    assert.deepEqual(await resolveReplayRanges({ ...connection, topic: TOPIC, partitions: [1] }), [{ partition: 1, start: '0', end: '4' }]);
  });

  it('between two offsets: exactly offsets [from, to) of every partition', OPTS, async () => {
    const examples = await collect(kafkaExamples({ ...connection, topic: TOPIC, from: { offset: 1 }, to: { offset: 4 } }), 30_000);
    assert.deepEqual(ids(examples), expected({ 0: [1, 4], 1: [1, 4] }));
    const e = examples.find((x) => x.id === 'p0-2') as TrainingExample;
    assert.deepEqual(e.chars, [...'张三2在北京']);
    assert.deepEqual(e.nerTags, ['B-PER.NAM', 'I-PER.NAM', 'O', 'O', 'B-GPE.NAM', 'I-GPE.NAM']);
    assert.deepEqual(e.segTags, ['B', 'E', 'S', 'S', 'B', 'E']);
    assert.equal(e.origin, `${TOPIC}[0]@2`);
    assert.equal(e.createdAt, BASE + 2000);
    // Within a partition, offset order.
    const p0 = examples.filter((x) => x.id.startsWith('p0-')).map((x) => x.id);
    assert.deepEqual(p0, ['p0-1', 'p0-2', 'p0-3']);
  });

  it('between two timestamps: from inclusive, to exclusive', OPTS, async () => {
    const examples = await collect(kafkaExamples({ ...connection, topic: TOPIC, from: { timestamp: BASE + 2000 }, to: { timestamp: BASE + 4000 } }), 30_000);
    assert.deepEqual(ids(examples), expected({ 0: [2, 4], 1: [2, 4] }));
    const tail = await collect(replayTopic({ ...connection, topic: TOPIC, from: { timestamp: BASE + 3001 } }), 30_000);
    assert.deepEqual(tail.map((r) => `${r.partition}@${r.offset}`).sort(), ['0@4', '0@5']);
    assert.ok(tail.every((r) => Number(r.timestamp) >= BASE + 3001));
  });

  it('defaults read the whole topic; partitions selects; an empty range completes at once', OPTS, async () => {
    assert.deepEqual(ids(await collect(kafkaExamples({ ...connection, topic: TOPIC }), 30_000)), expected({ 0: [0, 6], 1: [0, 4] }));
    assert.deepEqual(ids(await collect(kafkaExamples({ ...connection, topic: TOPIC, partitions: [1], from: { offset: 3 } }), 30_000)), expected({ 1: [3, 4] }));
    const started = Date.now();
    assert.deepEqual(await collect(replayTopic({ ...connection, topic: TOPIC, from: { offset: 2 }, to: { offset: 2 } }), 30_000), []);
    assert.deepEqual(await collect(replayTopic({ ...connection, topic: TOPIC, from: 'latest' }), 30_000), []);
    assert.ok(Date.now() - started < 15_000);
  });

  it('completes when the range ends at a transaction marker (read_committed)', OPTS, async () => {
    const examples = await collect(kafkaExamples({ ...connection, topic: TXN_TOPIC }), 30_000);
    assert.deepEqual(ids(examples), ['p0-0', 'p0-1', 'p0-2']);
  });

  it('a malformed record is a RecordDecodeError naming topic[partition]@offset; onInvalid skips it', OPTS, async () => {
    const err = await errorOf(kafkaExamples({ ...connection, topic: BAD_TOPIC }), 30_000);
    assert.ok(err instanceof RecordDecodeError, String(err));
    assert.equal(err.offset, '1');
    assert.ok(err.message.startsWith(`${BAD_TOPIC}[0]@1: `), err.message);
    const skipped: string[] = [];
    const examples = await collect(kafkaExamples({ ...connection, topic: BAD_TOPIC, onInvalid: (e) => skipped.push((e as RecordDecodeError).offset) }), 30_000);
    assert.deepEqual(ids(examples), ['p0-0', 'p0-3']);
    assert.deepEqual(skipped, ['1', '2']);
  });

  it('unsubscribing stops reading and the consumer leaves its group', OPTS, async () => {
    const groupId = `mf-replay-group-${tag}`;
    const first = await collect(replayTopic({ ...connection, topic: TOPIC, groupId }).pipe(take(1)), 30_000);
    assert.equal(first.length, 1);
    const admin = createKafkaClient(connection).admin();
    await admin.connect();
    try {
      let members = -1;
      const end = Date.now() + 15_000;
      while (Date.now() < end) {
        const { groups } = await admin.describeGroups([groupId]);
        members = groups[0]?.members.length ?? 0;
        if (members === 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(members, 0, 'the replay consumer is still a group member after unsubscribing');
    } finally {
      await admin.disconnect();
    }
  });

  it('config errors: unknown topic or partition, inverted bounds', OPTS, async () => {
    const unknown = await errorOf(replayTopic({ ...connection, topic: `mf-no-such-topic-${tag}` }), 30_000);
    assert.ok(unknown instanceof ConfigError);
    assert.match(unknown.message, /does not exist/);
    const partition = await errorOf(replayTopic({ ...connection, topic: TOPIC, partitions: [7] }), 30_000);
    assert.match(partition.message, /has no partition 7/);
    assert.throws(() => replayTopic({ ...connection, topic: TOPIC, from: { offset: 5 }, to: { offset: 2 } }), ConfigError);
    assert.throws(() => replayTopic({ ...connection, topic: TOPIC, from: { offset: -1 } }), ConfigError);
    assert.throws(() => replayTopic({ ...connection, topic: TOPIC, to: { timestamp: 1.5 } }), ConfigError);
  });

  it('archive --from-topic writes the range to a container that avroExamples reads back', OPTS, async () => {
    const output = path.join(tmp.dir, 'dump.avro');
    const result = await archiveTopic({ ...connection, topic: TOPIC, from: { timestamp: BASE + 1000 }, to: { offset: 3 }, output });
    assert.equal(result.count, 4);
    const archived = await collect(avroExamples(output));
    assert.deepEqual(ids(archived), expected({ 0: [1, 3], 1: [1, 3] }));
    const e = archived.find((x) => x.id === 'p1-2') as TrainingExample;
    assert.deepEqual(e.segTags, ['B', 'E', 'S', 'S', 'B', 'E']);
    assert.equal(e.createdAt, BASE + 2000);
  });

  it('the archive command dumps a topic range: --from-offset, --to-time, --partitions', OPTS, async () => {
    const output = path.join(tmp.dir, 'cli-dump.avro');
    const main = path.join(projectRoot(), 'dist', 'cli', 'main.js');
    const args = ['archive', '--from-topic', TOPIC, '--brokers', BROKERS.join(','), '--from-offset', '1', '--to-time', String(BASE + 3000), '--partitions', '1', '--output', output];
    const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /archived 2 example\(s\) from topic/);
    assert.deepEqual(ids(await collect(avroExamples(output))), expected({ 1: [1, 3] }));
  });
});
