/** What the scaled-out trends' broker tests share (trendsScaled, trendsScaledQuiet, trendsScaledKill, trendsScaledMetrics). */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { trendSettings } from '../../operators/windowTrends.js';
import { TrendState } from '../../operators/trends/trendState.js';
import { deleteTopics } from '../../pipeline/kafka/topicAdmin.js';
import { readTopic } from '../../pipeline/kafka/topicReader.js';
import { decodeStrict, loadSchema } from '../../schemas/registry.js';
import type { EntityTrend, Mention, PostMentions } from '../../schemas/types.generated.js';
import { createTestTopics, deleteTestTopics, type Cli, type TestTopics } from './kafka.js';

/** A trend record without the fields that differ between one aggregator and the scaled-out stages. */
export function comparableTrend(t: EntityTrend): unknown {
  const { watermark: _w, emitted_at: _e, late_records: _l, ...rest } = t;
  return JSON.parse(JSON.stringify(rest));
}

/** The arguments every stage of one test run shares (add `--stage ...`); `idleTimeoutMs` null: no idle timeout. */
export function stageArgs(brokers: readonly string[], t: TestTopics, windowMs: number, latenessMs: number, idleTimeoutMs: number | null = 3000): string[] {
  return [
    'trends', '--brokers', brokers.join(','), '--from-topic', t.input, '--to-topic', t.output, '--late-topic', t.deadLetter, '--group', t.group,
    '--window', String(windowMs), '--lateness', String(latenessMs), '--top', '5', '--history', '3', '--min-count', '2', '--commit-interval', '500',
    ...(idleTimeoutMs === null ? [] : ['--idle-timeout', String(idleTimeoutMs)]),
  ];
}

/** Deletes the test topics and the topics the stages created from the output topic's name. */
export async function deleteScaledTopics(brokers: string[], topics: TestTopics): Promise<void> {
  await deleteTestTopics(brokers, topics);
  const o = topics.output;
  await deleteTopics({ brokers, topics: [`${o}.changelog`, `${o}.repartition`, `${o}.repartition.changelog`, `${o}.partials`, `${o}.repartition.deadletter`] }).catch(() => undefined);
}

/**
 * Called inside a describe: a function creating the suite's test topics (one set), which are deleted
 * after the suite with the topics the stages created from them.
 */
export function scaledTopicsOfSuite(brokers: readonly string[] | undefined): (prefix: string, partitions: number) => Promise<TestTopics> {
  let topics: TestTopics | undefined;
  after(async () => {
    if (topics !== undefined) await deleteScaledTopics([...brokers!], topics);
  });
  return async (prefix, partitions) => (topics = await createTestTopics([...brokers!], prefix, partitions));
}

/**
 * A read_committed reader of the stages' trend records on `output`, kept by window start as read
 * (`windows`); the records of the other topics it is started on go to `other`. Start it in the
 * test's try, disconnect `consumer` in its finally.
 */
export class TrendWindowReader {
  readonly windows = new Map<number, EntityTrend[]>();
  readonly consumer: Consumer;
  private readonly trendType = loadSchema('trends');

  constructor(
    kafka: Kafka,
    groupId: string,
    private readonly output: string,
  ) {
    this.consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 200 });
  }

  async start(others: readonly string[] = [], other?: (topic: string, partition: number, message: KafkaMessage) => void): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.output, ...others], fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        if (topic !== this.output) return other?.(topic, partition, message);
        const trend = decodeStrict<EntityTrend>(this.trendType, message.value!);
        this.windows.set(trend.window_start, [...(this.windows.get(trend.window_start) ?? []), trend]);
      },
    });
  }
}

const NAMES = [...'赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章'];
const LABELS = ['PER.NAM', 'ORG.NAM', 'GPE.NAM'];

/**
 * `n` mention records from `base` on: record i has 0-3 mentions of 40 skewed, drifting entities (an
 * entity twice in a post now and then), created_at ~25 ms apart with up to 700 ms of jitter back
 * (inside a lateness of 1 s), all distinct.
 */
export function generateMentions(n: number, base: number): PostMentions[] {
  const used = new Set<number>();
  return Array.from({ length: n }, (_, i) => {
    let t = base + i * 25 - ((i * 7919) % 700);
    while (used.has(t)) t++;
    used.add(t);
    const k = (i * 31) % 4;
    const mentions: Mention[] = [];
    for (let j = 0; j < k; j++) {
      // skewed, and the popular ones drift every ~4 windows: new and rising entities
      const e = (Math.floor((((i * 13 + j * 101) % 97) / 97) ** 2 * 20) + Math.floor(i / 300) * 3) % 40;
      const text = `${NAMES[e]}${NAMES[(e * 7) % 40]}`;
      const label = LABELS[e % 3]!;
      const [type, kind] = label.split('.') as [Mention['type'], Mention['kind']];
      mentions.push({ text, label, type, kind, start: j * 4, end: j * 4 + 2, start_utf16: j * 4, end_utf16: j * 4 + 2, confidence: 0.9 });
    }
    return { post_id: `p${i}`, created_at: t, origin: null, mentions, model: { id: 'test', version: '1' }, processed_at: base, latency_ms: null } as unknown as PostMentions;
  });
}

/** The trend records of one aggregator (a TrendState with the settings of stageArgs) over `records`, at the end of the input. */
export function singleAggregatorTrends(records: readonly PostMentions[], windowMs: number, latenessMs: number): EntityTrend[] {
  const single = new TrendState(trendSettings({ windowMs, hopMs: windowMs, latenessMs, top: 5, historyWindows: 3, minCount: 2 }));
  for (const r of records) assert.equal(single.add(r), 'counted');
  return single.flush(0);
}

/** The keys of the records on the late topic (late or invalid), read_committed. */
export async function lateKeys(brokers: string[], t: TestTopics): Promise<string[]> {
  const late: string[] = [];
  await readTopic({ brokers, topic: t.deadLetter, groupId: `${t.group}-check-late`, fromBeginning: true, idleTimeoutMs: 3000, onRecord: (r) => void late.push(String(r.key?.toString())) });
  return late;
}

/**
 * The trend records written (by window start, as read) against the records: each window written
 * once; equal to one aggregator's (every field but the watermark, emitted_at and late_records); none
 * with records after the last; and records and mentions per window equal to an offline count
 * written here independently of TrendState. New and rising entities occur.
 */
export function checkScaledTrends(windows: ReadonlyMap<number, readonly EntityTrend[]>, records: readonly PostMentions[], windowMs: number, latenessMs: number): void {
  const expected = singleAggregatorTrends(records, windowMs, latenessMs);
  assert.deepEqual([...windows].filter(([, ts]) => ts.length > 1).map(([s]) => s), [], 'windows written more than once');
  for (const e of expected) {
    const got = windows.get(e.window_start)?.[0];
    assert.ok(got !== undefined, `window ${e.window_start} missing`);
    assert.deepEqual(comparableTrend(got), comparableTrend(e), `window ${new Date(e.window_start).toISOString()}`);
  }
  const lastStart = expected[expected.length - 1]!.window_start;
  for (const [start, [w]] of windows) if (start > lastStart) assert.equal(w!.records, 0, `window ${start} after the last has records`);
  const offline = new Map<number, [number, number]>();
  for (const r of records) {
    const s = Math.floor(r.created_at / windowMs) * windowMs;
    const [n, m] = offline.get(s) ?? [0, 0];
    offline.set(s, [n + 1, m + r.mentions.length]);
  }
  for (const [s, [n, m]] of offline) assert.deepEqual([windows.get(s)?.[0]?.records, windows.get(s)?.[0]?.mentions], [n, m], `window ${s}`);
  assert.ok(expected.some((e) => e.new_entities.length > 0) && expected.some((e) => e.rising.length > 0), 'new and rising entities occur');
}

/** Fails the test, with its stderr's tail, when a stage process has exited (a map names them). */
export function assertStagesRunning(procs: ReadonlyMap<string, Cli> | readonly Cli[]): void {
  for (const [name, p] of procs instanceof Map ? procs : [...procs].entries()) {
    if (p.proc.exitCode !== null || p.proc.signalCode !== null) assert.fail(`stage ${String(name)} exited early (${p.proc.exitCode ?? p.proc.signalCode}): ${p.stderr.slice(-2000)}`);
  }
}

/**
 * Keeps each stage process's stderr in `dir` (none when undefined) as NAME.log once it exits:
 * TRENDS_SCALED_LOGS=DIR in the broker tests, to diagnose a failure.
 */
export function keepStageLogs(dir: string | undefined): (name: string, cli: Cli) => Cli {
  if (dir !== undefined) mkdirSync(dir, { recursive: true });
  return (name, cli) => {
    if (dir !== undefined) void cli.exited.then(() => writeFileSync(join(dir, `${name}.log`), cli.stderr));
    return cli;
  };
}
