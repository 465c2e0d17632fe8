// `mentionflow trends --brokers` in exactly-once mode against the test broker:
// generated mention records (out of order inside the lateness, plus some an
// hour old) produced into a 3-partition topic while the aggregator runs; it is
// killed with SIGKILL three times mid-stream and restarted, then drains and
// stops on SIGTERM. The trends topic, read read_committed, must hold every
// window once with per-key counts equal to an offline count written here,
// and every record missing from the counts must be on the late topic.
// Skipped without KAFKA_BROKERS.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { readTopic } from '../../pipeline/kafka/topicReader.js';
import { deleteTopics } from '../../pipeline/kafka/topicAdmin.js';
import { decodeStrict, encodeStrict, loadSchema } from '../../schemas/registry.js';
import type { EntityTrend, PostMentions } from '../../schemas/types.generated.js';
import { KAFKA_SKIP, committedOffsets, createTestTopics, deleteTestTopics, endOffsets, kafkaBrokers, sleep, spawnCli, type Cli, type TestTopics } from '../support/kafka.js';

const brokers = kafkaBrokers();
const N = 12_000;
const PARTITIONS = 3;
const WINDOW = 10_000;
const LATENESS = 5_000;
const BASE = Date.UTC(2024, 4, 1, 8);
const ENTITIES = [...'赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨'];
const LABELS = ['PER.NAM', 'GPE.NAM', 'ORG.NAM'] as const;

interface Gen {
  id: string;
  partition: number;
  createdAt: number;
  mentions: Array<{ text: string; label: string }>;
  /** Made an hour old: may be late (depends on how far the other partitions were read). */
  old: boolean;
}

/** Record i: in partition i % 3, time advancing ~50 ms per record with up to 2 s of jitter (< lateness: never late), every 97th an hour old. */
function generate(): Gen[] {
  const out: Gen[] = [];
  for (let i = 0; i < N; i++) {
    const old = i > N / 2 && i % 97 === 0;
    const createdAt = BASE + i * 50 - ((i * 7919) % 2000) - (old ? 3_600_000 : 0);
    const k = (i * 31) % 41;
    const mentions = [
      { text: `${ENTITIES[k % ENTITIES.length]}${ENTITIES[(k * 7) % ENTITIES.length]}`, label: LABELS[k % 3]! },
      ...(i % 3 === 0 ? [{ text: ENTITIES[i % ENTITIES.length]!, label: LABELS[(i >> 2) % 3]! }] : []),
    ];
    out.push({ id: `p${i}`, partition: i % PARTITIONS, createdAt, mentions, old });
  }
  return out;
}

function encode(g: Gen | { id: string; createdAt: number; mentions: [] }): Buffer {
  const value: PostMentions = {
    post_id: g.id,
    created_at: g.createdAt,
    origin: null,
    mentions: g.mentions.map((m) => {
      const [type, kind] = m.label.split('.') as ['PER', 'NAM'];
      return { text: m.text, label: m.label, type, kind, start: 0, end: m.text.length, start_utf16: 0, end_utf16: m.text.length, confidence: 0.9 };
    }),
    model: { id: 'test', version: '1' },
    processed_at: BASE,
    latency_ms: null,
  } as unknown as PostMentions;
  return encodeStrict(loadSchema('mentions'), value);
}

/** The offline count: window start -> key -> mentions, of the records not on the late topic. */
function reference(gen: readonly Gen[], late: ReadonlySet<string>): Map<number, Map<string, number>> {
  const ref = new Map<number, Map<string, number>>();
  for (const g of gen) {
    if (late.has(g.id)) continue;
    const start = Math.floor(g.createdAt / WINDOW) * WINDOW;
    const w = ref.get(start) ?? new Map<string, number>();
    for (const m of g.mentions) w.set(`${m.text}|${m.label}`, (w.get(`${m.text}|${m.label}`) ?? 0) + 1);
    ref.set(start, w);
  }
  return ref;
}

describe('mentionflow trends --brokers, exactly-once, killed three times', { skip: brokers === undefined ? KAFKA_SKIP : undefined, timeout: 240_000 }, () => {
  let topics: TestTopics | undefined;
  after(async () => {
    if (topics === undefined) return;
    if (process.env.TRENDS_KEEP_TOPICS === undefined) await deleteTestTopics(brokers!, topics);
    process.stderr.write(`topics: ${JSON.stringify(topics)}\n`);
    if (process.env.TRENDS_KEEP_TOPICS === undefined) await deleteTopics({ brokers: brokers!, topics: [`${topics.output}.changelog`] }).catch(() => undefined);
  });

  it('writes each window once with the reference counts; what is not counted is on the late topic', async () => {
    topics = await createTestTopics(brokers!, 'trends', PARTITIONS);
    const t = topics;
    const args = [
      'trends', '--brokers', brokers!.join(','), '--from-topic', t.input, '--to-topic', t.output, '--late-topic', t.deadLetter, '--group', t.group,
      '--window', String(WINDOW), '--lateness', String(LATENESS), '--top', '1000', '--delivery', process.env.TRENDS_TEST_DELIVERY ?? 'exactly-once', '--create-topics',
    ];
    const gen = generate();
    const kafka = new Kafka({ clientId: 'trends-test', brokers: brokers!, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const CHUNK = 200;
    const produced = (async () => {
      for (let i = 0; i < gen.length; i += CHUNK) {
        const slice = gen.slice(i, i + CHUNK);
        await producer.send({ topic: t.input, acks: -1, messages: slice.map((g) => ({ key: g.id, value: encode(g), partition: g.partition })) });
        await sleep(500);
      }
      // one record per partition an hour after the rest: the watermark passes every window of the data
      const end = BASE + N * 50 + 3_600_000;
      await producer.send({ topic: t.input, acks: -1, messages: [0, 1, 2].map((p) => ({ key: `end${p}`, value: encode({ id: `end${p}`, createdAt: end, mentions: [] }), partition: p })) });
    })();

    const committed = async (): Promise<number> => [...(await committedOffsets(brokers!, t.group, t.input)).values()].reduce((a, o) => a + Math.max(0, Number(o)), 0);
    let cli: Cli = spawnCli(args);
    const kills: number[] = [];
    const restores: string[] = [];
    const noteRestores = (c: Cli): void => void restores.push(...[...c.stderr.matchAll(/trend state restored.*?"seconds":([0-9.e-]+)/g)].map((m) => Number(m[1]).toFixed(3)));
    try {
      for (let k = 0; k < 3; k++) {
        // the first kill after a fifth is committed, the next ones as soon as the restarted aggregator committed anything
        const target = k === 0 ? N / 5 : kills[k - 1]! + 1;
        for (let i = 0; i < 600 && (await committed()) < target; i++) {
          if (cli.proc.exitCode !== null) assert.fail(`trends exited early (${cli.proc.exitCode}): ${cli.stderr.slice(-2000)}`);
          await sleep(100);
        }
        kills.push(await committed());
        process.stderr.write(`kill ${k + 1} at ${kills[k]} committed\n`);
        cli.kill('SIGKILL');
        await cli.exited;
        noteRestores(cli);
        cli = spawnCli(args);
      }
      await produced;
      const ends = await endOffsets(brokers!, t.input);
      const total = [...ends.values()].reduce((a, o) => a + Number(o), 0);
      for (let i = 0; i < 1200 && (await committed()) < total; i++) {
        if (cli.proc.exitCode !== null) assert.fail(`trends exited early (${cli.proc.exitCode}): ${cli.stderr.slice(-2000)}`);
        await sleep(100);
      }
      process.stderr.write(`drained: ${await committed()} of ${total}\n`);
      assert.equal(await committed(), total, `the aggregator did not drain: ${cli.stderr.slice(-2000)}`);
      cli.kill('SIGTERM');
      const exit = await cli.exited;
      assert.equal(exit.code, 0, `exit after SIGTERM: ${cli.stderr.slice(-2000)}`);
      noteRestores(cli);
    } finally {
      cli.kill('SIGKILL');
      await producer.disconnect();
    }
    assert.ok(kills[0]! > 0 && kills[0]! < kills[1]! && kills[1]! < kills[2]! && kills[2]! < N, `killed mid-stream: committed offsets at the kills ${kills.join(', ')}`);

    const trendType = loadSchema('trends');
    const windows = new Map<number, EntityTrend[]>();
    await readTopic({
      brokers: brokers!, topic: t.output, groupId: `${t.group}-check`, fromBeginning: true, idleTimeoutMs: 4000,
      onRecord: (r) => {
        const trend = decodeStrict<EntityTrend>(trendType, r.value!);
        windows.set(Number(trend.window_start), [...(windows.get(Number(trend.window_start)) ?? []), trend]);
      },
    });
    const late = new Set<string>();
    await readTopic({
      brokers: brokers!, topic: t.deadLetter, groupId: `${t.group}-check-late`, fromBeginning: true, idleTimeoutMs: 3000,
      onRecord: (r) => void late.add(r.key!.toString()),
    });
    const oldIds = new Set(gen.filter((g) => g.old).map((g) => g.id));
    for (const id of late) assert.ok(oldIds.has(id), `${id} is on the late topic but was never more than the lateness out of order`);

    const ref = reference(gen, late);
    const twice = [...windows].filter(([, ts]) => ts.length > 1).map(([s]) => s);
    assert.deepEqual(twice, [], 'windows written more than once');
    for (const [start, counts] of ref) {
      const trend = windows.get(start)?.[0];
      assert.ok(trend !== undefined, `window ${start} missing from the trends topic`);
      const got = new Map(trend.top.map((e) => [`${e.text}|${e.label}`, Number(e.mentions)]));
      assert.deepEqual(got, counts, `window ${new Date(start).toISOString()}`);
    }
    for (const [start, [trend]] of windows) if (!ref.has(start)) assert.equal(Number(trend!.mentions), 0, `window ${start} has mentions the reference has not`);
    const counted = [...ref.values()].reduce((a, w) => a + [...w.values()].reduce((x, y) => x + y, 0), 0);
    process.stderr.write(`trends kill test: ${N} records, kills at committed ${kills.join(', ')}, ${ref.size} windows with mentions (${counted} mentions), ${late.size} late of ${oldIds.size} hour-old records; restores took ${restores.join(', ')} s\n`);
  });
});
