// The trends aggregator's state split into several changelog records and
// restored from them, against the test broker: an aggregator (in this
// process, exactly-once) counts 3,000 distinct entities with 4 KiB chunks,
// stops; a second one on the same group restores (on its idle check, with
// nothing to read) and must hold exactly the first one's state. Skipped
// without KAFKA_BROKERS.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { TREND_DEFAULTS } from '../../operators/trends/trendState.js';
import { createTopics, deleteTopics } from '../../pipeline/kafka/topicAdmin.js';
import { readTopic } from '../../pipeline/kafka/topicReader.js';
import { trendTopicSpecs } from '../../pipeline/kafka/topicSpecs.js';
import { createLogger } from '../../pipeline/ops/logger.js';
import type { TrendMetrics } from '../../pipeline/ops/trendMetrics.js';
import { StateEncoder } from '../../pipeline/stream/trendsOptions.js';
import { startTrendsWorker, type TrendsWorkerOptions } from '../../pipeline/stream/trendsWorker.js';
import { encodeStrict, loadSchema } from '../../schemas/registry.js';
import type { PostMentions } from '../../schemas/types.generated.js';
import { KAFKA_SKIP, committedOffsets, createTestTopics, deleteTestTopics, kafkaBrokers, sleep, type TestTopics } from '../support/kafka.js';

const brokers = kafkaBrokers();
const N = 3000;
const CHUNK = 4096;
const BASE = Date.UTC(2024, 4, 1, 8);

describe('trends state in chunks, restored', { skip: brokers === undefined ? KAFKA_SKIP : undefined, timeout: 90_000 }, () => {
  let topics: TestTopics | undefined;
  after(async () => {
    if (topics === undefined) return;
    await deleteTestTopics(brokers!, topics);
    await deleteTopics({ brokers: brokers!, topics: [`${topics.output}.changelog`] }).catch(() => undefined);
  });

  it('a state of many chunks comes back whole', async () => {
    topics = await createTestTopics(brokers!, 'trends-chunks', 3);
    const t = topics;
    const logger = createLogger({ level: 'warn' });
    const changelog = `${t.output}.changelog`;
    await createTopics({ brokers: brokers!, logger }, trendTopicSpecs({ trendsTopic: t.output, changelogTopic: changelog, topicPartitions: 1, topicReplicationFactor: -1, topicRetentionMs: -1 }).filter((s) => s.role === 'changelog'));
    const type = loadSchema('mentions');
    const kafka = new Kafka({ clientId: 'trends-chunks-test', brokers: brokers!, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic: t.input,
      acks: -1,
      messages: Array.from({ length: N }, (_, i) => {
        const text = `话题${i}`;
        const r = { post_id: `p${i}`, created_at: BASE + i * 10, origin: null, mentions: [{ text, label: 'GPE.NAM', type: 'GPE', kind: 'NAM', start: 0, end: text.length, start_utf16: 0, end_utf16: text.length, confidence: 0.9 }], model: { id: 'test', version: '1' }, processed_at: BASE, latency_ms: null } as PostMentions;
        return { key: r.post_id, value: encodeStrict(type, r), partition: i % 3 };
      }),
    });
    await producer.disconnect();

    let restores = 0;
    let entryBytes = 0;
    const metrics = { closed: () => undefined, restored: () => void restores++, stateWritten: (b: number) => void (entryBytes = b) } as unknown as TrendMetrics;
    const options: TrendsWorkerOptions = {
      connection: { brokers: brokers!, logger },
      settings: { ...TREND_DEFAULTS, sizeMs: 600_000, hopMs: 600_000, latenessMs: 10_000 },
      fromTopic: t.input, toTopic: t.output, lateTopic: t.deadLetter, changelogTopic: changelog, groupId: t.group,
      delivery: 'exactly-once', transactionalId: `${t.group}-trends`, logger, metrics,
      commitIntervalMs: 200, changelogChunkBytes: CHUNK,
      idleTimeoutMs: 3_600_000, // restores on the idle check with nothing to read; never idle that long
    };
    const first = await startTrendsWorker(options);
    const committed = async (): Promise<number> => [...(await committedOffsets(brokers!, t.group, t.input)).values()].reduce((a, o) => a + Math.max(0, Number(o)), 0);
    for (let i = 0; i < 600 && (await committed()) < N; i++) await sleep(100);
    assert.equal(await committed(), N, 'the first aggregator did not commit every record');
    await first.stop();
    await first.done;
    const saved = JSON.stringify(first.state().snapshot());
    assert.equal(first.state().keysTracked, N);
    const entry = new StateEncoder().encode(first.state().snapshot()); // the same bytes whatever the encoder reused
    const chunks = Math.ceil(entry.length / CHUNK);
    assert.equal(entryBytes, entry.length, 'the entry size metric is the last entry written');
    assert.ok(chunks >= 3, `the state should need several chunks of ${CHUNK} bytes, needs ${chunks}`);

    restores = 0;
    const second = await startTrendsWorker(options);
    for (let i = 0; i < 300 && restores === 0; i++) await sleep(100);
    await second.stop();
    await second.done;
    assert.equal(restores, 1, 'the second aggregator restored once');
    assert.equal(JSON.stringify(second.state().snapshot()), saved, 'the restored state differs from the saved one');

    const keys = new Set<string>();
    await readTopic({ brokers: brokers!, topic: changelog, groupId: `${t.group}-check`, fromBeginning: true, idleTimeoutMs: 3000, onRecord: (r) => void keys.add(r.key?.toString() ?? '') });
    for (let i = 0; i < chunks; i++) assert.ok(keys.has(`trends:${t.group}#${i}`), `chunk ${i} of ${chunks} is on the changelog`);
    process.stderr.write(`trends chunks test: ${N} keys, state ${chunks} chunks of ${CHUNK} bytes, restored whole\n`);
  });
});
