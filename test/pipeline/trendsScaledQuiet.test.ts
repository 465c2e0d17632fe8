// The scaled-out trends against the test broker when a repartition partition receives no entity
// record at all: the entity keys of the generated mention records are chosen so that the
// producer's partitioner (murmur2, as kafkajs's default) maps none of them to repartition
// partition 2 of 3, and every record has a mention (no record keyed by its post id). That
// partition's aggregator then only sees the re-key stage's progress markers; the merger must
// still write every window, equal to one TrendState over the same records (every field but the
// watermark, emitted_at and late_records), each once. Without the markers partition 2 never
// closes a window and the merger writes nothing. One re-key, one aggregate, one merge member.
// Skipped without KAFKA_BROKERS.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { trendSettings } from '../../operators/windowTrends.js';
import { TrendState, trendKey } from '../../operators/trends/trendState.js';
import { murmur2 } from '../../pipeline/kafka/keyPartitioner.js';
import { decodeEntityMention } from '../../operators/trends/rekey.js';
import { encodeStrict, loadSchema } from '../../schemas/registry.js';
import type { Mention, PostMentions } from '../../schemas/types.generated.js';
import { assertStagesRunning, comparableTrend, lateKeys, stageArgs, scaledTopicsOfSuite, TrendWindowReader } from '../support/trendsScaled.js';
import { KAFKA_SKIP, kafkaBrokers, sleep, spawnCli, type Cli } from '../support/kafka.js';

const brokers = kafkaBrokers();
const N = 1500;
const PER_TICK = 250;
const WINDOW = 2_000;
const LATENESS = 1_000;
const BASE = Date.UTC(2024, 5, 1, 8);
const QUIET = 2;
const NAMES = [...'赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章'];

/** The repartition partition of a key, as the producer's partitioner picks it. */
const partitionOf = (key: string, n: number): number => (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % n;

/** Entities whose keys avoid repartition partition QUIET of 3. */
function entities(): Array<Pick<Mention, 'text' | 'label' | 'type' | 'kind'>> {
  const out: Array<Pick<Mention, 'text' | 'label' | 'type' | 'kind'>> = [];
  for (let e = 0; e < NAMES.length && out.length < 16; e++) {
    const m = { text: `${NAMES[e]}${NAMES[(e * 7) % NAMES.length]}`, label: 'PER.NAM', type: 'PER' as const, kind: 'NAM' as const };
    if (partitionOf(trendKey(m), 3) !== QUIET) out.push(m);
  }
  return out;
}

/** Record i: 1-2 mentions of the entities above, created_at ~25 ms apart with jitter inside the lateness, all distinct. */
function generate(): PostMentions[] {
  const ents = entities();
  const used = new Set<number>();
  return Array.from({ length: N }, (_, i) => {
    let t = BASE + i * 25 - ((i * 7919) % 700);
    while (used.has(t)) t++;
    used.add(t);
    const mentions: Mention[] = [];
    for (let j = 0; j < 1 + (i % 2); j++) {
      const e = ents[(i * 5 + j * 3 + Math.floor(i / 200)) % ents.length]!;
      mentions.push({ ...e, start: j * 4, end: j * 4 + 2, start_utf16: j * 4, end_utf16: j * 4 + 2, confidence: 0.9 } as Mention);
    }
    return { post_id: `p${i}`, created_at: t, origin: null, mentions, model: { id: 'test', version: '1' }, processed_at: BASE, latency_ms: null } as unknown as PostMentions;
  });
}

describe('mentionflow trends --stage rekey|aggregate|merge, a repartition partition with no entity record', { skip: brokers === undefined ? KAFKA_SKIP : undefined, timeout: 180_000 }, () => {
  const scaledTopics = scaledTopicsOfSuite(brokers);

  it('the quiet partition closes its windows on the progress markers and the merger writes every window of one aggregator', async () => {
    const t = await scaledTopics('trends-quiet', 3);
    const common = stageArgs(brokers!, t, WINDOW, LATENESS);
    const gen = generate();
    const kafka = new Kafka({ clientId: 'trends-quiet-test', brokers: brokers!, logLevel: logLevel.NOTHING });
    const mentionsType = loadSchema('mentions');
    const perPartition = [0, 0, 0];
    const markers = [0, 0, 0];
    const procs: Cli[] = [];
    const reader = new TrendWindowReader(kafka, `${t.group}-check`, t.output);
    const windows = reader.windows;
    const single = new TrendState(trendSettings({ windowMs: WINDOW, hopMs: WINDOW, latenessMs: LATENESS, top: 5, historyWindows: 3, minCount: 2 }));
    for (const r of gen) assert.equal(single.add(r), 'counted');
    const expected = single.flush(0);
    const lastStart = expected[expected.length - 1]!.window_start;
    let wrote = false;
    try {
      const rekey = spawnCli([...common, '--stage', 'rekey', '--create-topics', '--repartition-partitions', '3']);
      procs.push(rekey);
      await rekey.waitForStderr(/re-key stage consuming/, 60_000);
      procs.push(spawnCli([...common, '--stage', 'aggregate']), spawnCli([...common, '--stage', 'merge']));
      await reader.start([`${t.output}.repartition`], (_topic, partition, message) => {
        if (decodeEntityMention(message.value!).kind === 'PROGRESS') markers[partition]!++;
        else perPartition[partition]!++;
      });
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      for (let i = 0; i < N; i += PER_TICK) {
        await producer.send({ topic: t.input, acks: -1, messages: gen.slice(i, i + PER_TICK).map((r, j) => ({ key: r.post_id, value: encodeStrict(mentionsType, r), partition: (i + j) % 3 })) });
        assertStagesRunning(procs);
        await sleep(500);
      }
      await producer.disconnect();
      // the last window closes on the idle timeout (3 s) once the input stops; 60 s is ample
      for (let i = 0; i < 300 && !windows.has(lastStart); i++) {
        assertStagesRunning(procs);
        await sleep(200);
      }
      wrote = windows.has(lastStart);
      await sleep(2000); // time for a duplicate to show
      for (const p of procs) p.kill('SIGTERM');
      const exits = await Promise.all(procs.map((p) => p.exited));
      exits.forEach((e, i) => assert.equal(e.code, 0, `stage ${i} after SIGTERM: ${procs[i]!.stderr.slice(-2000)}`));
    } finally {
      for (const p of procs) p.kill('SIGKILL');
      await reader.consumer.disconnect();
    }
    process.stderr.write(`trends quiet-partition test: ${N} records, ${expected.length} windows expected, ${windows.size} written; repartition entity records per partition ${perPartition.join('/')}, progress markers ${markers.join('/')}\n`);
    assert.equal(perPartition[QUIET], 0, 'no entity record reached the quiet partition');
    assert.ok(perPartition[0]! > 0 && perPartition[1]! > 0);
    assert.ok(wrote, `the merger wrote the last window (${new Date(lastStart).toISOString()}); ${windows.size} of ${expected.length} windows written`);

    assert.deepEqual(await lateKeys(brokers!, t), [], 'no record is late or invalid');
    assert.deepEqual([...windows].filter(([, ts]) => ts.length > 1).map(([s]) => s), [], 'windows written more than once');
    for (const e of expected) {
      const got = windows.get(e.window_start)?.[0];
      assert.ok(got !== undefined, `window ${e.window_start} missing`);
      assert.deepEqual(comparableTrend(got), comparableTrend(e), `window ${new Date(e.window_start).toISOString()}`);
    }
    for (const [start, [w]] of windows) if (start > lastStart) assert.equal(w!.records, 0, `window ${start} after the last has records`);
  });
});
