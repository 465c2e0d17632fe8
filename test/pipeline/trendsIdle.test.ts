// `mentionflow trends --brokers --idle-timeout` against the test broker: a
// 3-partition mentions topic where partition 2 never gets a record and the
// other two stop; nothing more arrives after them. Without the idle timeout the
// silent partition holds the watermark and the last windows never close; with
// it, partition 2 leaves the watermark after the timeout and event time then
// follows the clock, so every window, the last one included, is written once
// with the offline reference counts. The aggregator is killed (SIGKILL) once
// the input is drained, so the restarted one, which gets no batch at all, must
// restore its state from the changelog on the idle tick and close the rest.
// Skipped without KAFKA_BROKERS. TRENDS_IDLE_TEST_OFF=1 runs it without
// --idle-timeout (it must then fail: the last window is missing).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { deleteTopics } from '../../pipeline/kafka/topicAdmin.js';
import { readTopic } from '../../pipeline/kafka/topicReader.js';
import { decodeStrict, encodeStrict, loadSchema } from '../../schemas/registry.js';
import type { EntityTrend, PostMentions } from '../../schemas/types.generated.js';
import { KAFKA_SKIP, committedOffsets, createTestTopics, deleteTestTopics, kafkaBrokers, sleep, spawnCli, type Cli, type TestTopics } from '../support/kafka.js';

const brokers = kafkaBrokers();
const N = 600;
const WINDOW = 2_000;
const LATENESS = 1_000;
const IDLE = 1_000;
const BASE = Date.UTC(2024, 4, 1, 8);
const NAMES = [...'赵钱孙李周吴郑王'];

interface Gen {
  id: string;
  partition: number;
  createdAt: number;
  text: string;
}

/** Record i in partition i % 2 (partition 2 stays silent), ~40 ms apart with up to 500 ms of jitter (inside the lateness). */
function generate(): Gen[] {
  return Array.from({ length: N }, (_, i) => ({ id: `p${i}`, partition: i % 2, createdAt: BASE + i * 40 - ((i * 7919) % 500), text: `${NAMES[i % 8]}${NAMES[(i * 3) % 7]}` }));
}

function encode(g: Gen): Buffer {
  const value = {
    post_id: g.id,
    created_at: g.createdAt,
    origin: null,
    mentions: [{ text: g.text, label: 'PER.NAM', type: 'PER', kind: 'NAM', start: 0, end: g.text.length, start_utf16: 0, end_utf16: g.text.length, confidence: 0.9 }],
    model: { id: 'test', version: '1' },
    processed_at: BASE,
    latency_ms: null,
  } as unknown as PostMentions;
  return encodeStrict(loadSchema('mentions'), value);
}

describe('mentionflow trends --brokers --idle-timeout', { skip: brokers === undefined ? KAFKA_SKIP : undefined, timeout: 120_000 }, () => {
  let topics: TestTopics | undefined;
  after(async () => {
    if (topics === undefined) return;
    await deleteTestTopics(brokers!, topics);
    await deleteTopics({ brokers: brokers!, topics: [`${topics.output}.changelog`] }).catch(() => undefined);
  });

  it('closes the last windows of a stream that went quiet, with a silent partition, across a kill', async () => {
    topics = await createTestTopics(brokers!, 'trends-idle', 3);
    const t = topics;
    const off = process.env.TRENDS_IDLE_TEST_OFF === '1';
    const args = [
      'trends', '--brokers', brokers!.join(','), '--from-topic', t.input, '--to-topic', t.output, '--late-topic', t.deadLetter, '--group', t.group,
      '--window', String(WINDOW), '--lateness', String(LATENESS), '--top', '100', '--create-topics', ...(off ? [] : ['--idle-timeout', String(IDLE)]),
    ];
    const gen = generate();
    const kafka = new Kafka({ clientId: 'trends-idle-test', brokers: brokers!, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: t.input, acks: -1, messages: gen.map((g) => ({ key: g.id, value: encode(g), partition: g.partition })) });
    await producer.disconnect();

    // the trend records as they are committed
    const trendType = loadSchema('trends');
    const windows = new Map<number, EntityTrend[]>();
    const reader = kafka.consumer({ groupId: `${t.group}-check`, readUncommitted: false, maxWaitTimeInMs: 200 });
    await reader.connect();
    await reader.subscribe({ topics: [t.output], fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        const trend = decodeStrict<EntityTrend>(trendType, message.value!);
        windows.set(Number(trend.window_start), [...(windows.get(Number(trend.window_start)) ?? []), trend]);
      },
    });

    const lastStart = Math.floor(Math.max(...gen.map((g) => g.createdAt)) / WINDOW) * WINDOW;
    const committed = async (): Promise<number> => [...(await committedOffsets(brokers!, t.group, t.input)).values()].reduce((a, o) => a + Math.max(0, Number(o)), 0);
    let cli: Cli = spawnCli(args);
    let restores = 0;
    let windowsAtKill = 0;
    try {
      for (let i = 0; i < 600 && (await committed()) < N; i++) {
        if (cli.proc.exitCode !== null) assert.fail(`trends exited early (${cli.proc.exitCode}): ${cli.stderr.slice(-2000)}`);
        await sleep(100);
      }
      assert.equal(await committed(), N, `the aggregator did not drain: ${cli.stderr.slice(-2000)}`);
      windowsAtKill = windows.size;
      cli.kill('SIGKILL');
      await cli.exited;
      cli = spawnCli(args);
      // nothing more is produced: only the idle timeout can close the last window
      for (let i = 0; i < 300 && !windows.has(lastStart); i++) {
        if (cli.proc.exitCode !== null) assert.fail(`trends exited early (${cli.proc.exitCode}): ${cli.stderr.slice(-2000)}`);
        await sleep(100);
      }
      await sleep(3 * IDLE); // time for a duplicate to show
      cli.kill('SIGTERM');
      const exit = await cli.exited;
      assert.equal(exit.code, 0, `exit after SIGTERM: ${cli.stderr.slice(-2000)}`);
      restores = [...cli.stderr.matchAll(/trend state restored/g)].length;
    } finally {
      cli.kill('SIGKILL');
      await reader.disconnect();
    }
    assert.ok(windows.has(lastStart), `the last window (${lastStart}) was never written; windows written: ${windows.size}`);
    assert.ok(restores >= 1, 'the restarted aggregator restored its state with no batch to read');

    const late = new Set<string>();
    await readTopic({ brokers: brokers!, topic: t.deadLetter, groupId: `${t.group}-check-late`, fromBeginning: true, idleTimeoutMs: 3000, onRecord: (r) => void late.add(r.key!.toString()) });
    const ref = new Map<number, Map<string, number>>();
    for (const g of gen) {
      if (late.has(g.id)) continue;
      const w = ref.get(Math.floor(g.createdAt / WINDOW) * WINDOW) ?? new Map<string, number>();
      w.set(g.text, (w.get(g.text) ?? 0) + 1);
      ref.set(Math.floor(g.createdAt / WINDOW) * WINDOW, w);
    }
    assert.deepEqual([...windows].filter(([, ts]) => ts.length > 1).map(([s]) => s), [], 'windows written more than once');
    for (const [start, counts] of ref) {
      const trend = windows.get(start)?.[0];
      assert.ok(trend !== undefined, `window ${start} missing from the trends topic`);
      assert.deepEqual(new Map(trend.top.map((e) => [e.text, Number(e.mentions)])), counts, `window ${new Date(start).toISOString()}`);
    }
    for (const [start, [trend]] of windows) if (!ref.has(start)) assert.equal(Number(trend!.mentions), 0, `window ${start} has mentions the reference has not`);
    process.stderr.write(`trends idle test: ${N} records in 2 of 3 partitions, ${windows.size} windows (${windowsAtKill} written before the kill at drain), ${late.size} late, restores after the kill: ${restores}\n`);
  });
});
