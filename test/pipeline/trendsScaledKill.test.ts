// The scaled-out trends survive kill -9 of every stage, exactly-once, against the test broker: the
// re-key stage, two aggregators on a 3-partition repartition topic and the merger run as processes
// while mention records are produced; per round, each stage in turn (the re-key, one aggregator
// (the first, then the second, alternating), the merger) is killed with SIGKILL mid-stream (once
// its group has committed more input since the previous kill: the stage is working) and restarted
// at once. The trend records must then equal one aggregator's over the same records (a TrendState
// here: every field but the watermark, emitted_at and late_records) and, per window, the records
// and mentions of an offline count; each window written once; no record late; and no (post, entity)
// record twice on the repartition topic (read_committed). TRENDS_SCALED_KILLS=N: N rounds of 3
// kills over 6,240 records each (default 1); TRENDS_SCALED_LOGS=DIR keeps each stage process's
// stderr there. No idle timeout (a killed re-key member holds its group up to its 30 s session
// timeout, and an idle timeout shorter than that would move the aggregators' event time on with
// the clock and make the records after it late): the last windows close on one record per mentions
// partition produced after the others, a few windows later, and not compared. The second
// aggregator starts once the first has restored (two starting at the same instant could crash one).
// Skipped without KAFKA_BROKERS.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { decodeEntityMention } from '../../operators/trends/rekey.js';
import { trendKey } from '../../operators/trends/trendState.js';
import { readTopic } from '../../pipeline/kafka/topicReader.js';
import { encodeStrict, loadSchema } from '../../schemas/registry.js';
import type { PostMentions } from '../../schemas/types.generated.js';
import { assertStagesRunning, checkScaledTrends, generateMentions, keepStageLogs, lateKeys, singleAggregatorTrends, stageArgs, scaledTopicsOfSuite, TrendWindowReader } from '../support/trendsScaled.js';
import { KAFKA_SKIP, committedOffsets, kafkaBrokers, sleep, spawnCli, type Cli } from '../support/kafka.js';

const brokers = kafkaBrokers();
const ROUNDS = Number(process.env.TRENDS_SCALED_KILLS ?? 1);
const N = 6_240 * ROUNDS;
const PER_TICK = 250;
const WINDOW = 2_000;
const LATENESS = 1_000;
const BASE = Date.UTC(2024, 6, 1, 8);

type Kind = 'rekey' | 'aggregate' | 'merge';
const KIND: Record<string, Kind> = { rekey: 'rekey', aggA: 'aggregate', aggB: 'aggregate', merge: 'merge' };
/** What each kind logs once it is up and has its state. */
const READY: Record<Kind, RegExp> = { rekey: /re-key stage consuming/, aggregate: /trend states restored/, merge: /trend merger restored/ };

describe('mentionflow trends --stage rekey|aggregate|merge, kill -9 of every stage', { skip: brokers === undefined ? KAFKA_SKIP : undefined, timeout: 120_000 + 240_000 * ROUNDS }, () => {
  const scaledTopics = scaledTopicsOfSuite(brokers);

  it(`${ROUNDS} round(s) of SIGKILL and restart of the re-key, an aggregator and the merger: every window once, equal to one aggregator's`, async () => {
    assert.ok(Number.isSafeInteger(ROUNDS) && ROUNDS >= 1, `TRENDS_SCALED_KILLS must be an integer >= 1, got ${process.env.TRENDS_SCALED_KILLS}`);
    const t = await scaledTopics('trends-kill', 3);
    const o = t.output;
    const common = stageArgs(brokers!, t, WINDOW, LATENESS, null);
    const gen = generateMentions(N, BASE);
    const kafka = new Kafka({ clientId: 'trends-kill-test', brokers: brokers!, logLevel: logLevel.NOTHING });
    const mentionsType = loadSchema('mentions');
    const keep = keepStageLogs(process.env.TRENDS_SCALED_LOGS);
    const groupOf: Record<Kind, [string, string]> = { rekey: [`${t.group}-rekey`, t.input], aggregate: [`${t.group}-aggregate`, `${o}.repartition`], merge: [`${t.group}-merge`, `${o}.partials`] };
    const committed = async (kind: Kind): Promise<number> => [...(await committedOffsets(brokers!, ...groupOf[kind])).values()].reduce((a, x) => a + Math.max(0, Number(x)), 0);

    const stages = new Map<string, Cli>();
    const runs = new Map<string, number>();
    const start = (name: string, extra: string[] = []): Cli => {
      const n = (runs.get(name) ?? 0) + 1;
      runs.set(name, n);
      const cli = keep(`${name}-${n}`, spawnCli([...common, '--stage', KIND[name]!, ...extra]));
      stages.set(name, cli);
      return cli;
    };
    const all = (): Cli[] => [...stages.values()];
    const waitUntil = async (cond: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> => {
      const end = Date.now() + ms;
      while (!(await cond())) {
        assertStagesRunning(stages);
        if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
        await sleep(200);
      }
    };

    const reader = new TrendWindowReader(kafka, `${t.group}-check`, t.output);
    const windows = reader.windows;
    const kills: string[] = [];
    const schedule = Array.from({ length: ROUNDS }, (_, r) => ['rekey', r % 2 === 0 ? 'aggA' : 'aggB', 'merge']).flat();
    /** Records produced before kill k: the kills spread evenly over the input. */
    const killAt = (k: number): number => Math.floor(((k + 1) * N) / (schedule.length + 1));
    /** Per kind, its group's committed input when the last kill's stage was restarted: the next kill waits for more. */
    const since = new Map<Kind, number>();
    const dead: Cli[] = [];
    const killAndRestart = async (name: string): Promise<void> => {
      const kind = KIND[name]!;
      // mid-stream: the stage is up and its group has committed more input since the last disruption
      await waitUntil(async () => READY[kind].test(stages.get(name)!.stderr) && (await committed(kind)) > (since.get(kind) ?? 0), 180_000, `${name} to commit more input before its kill`);
      const at = await committed(kind);
      const cli = stages.get(name)!;
      cli.kill('SIGKILL');
      await cli.exited;
      dead.push(cli);
      kills.push(`${name}@${at}`);
      start(name);
      for (const k of ['rekey', 'aggregate', 'merge'] as const) since.set(k, await committed(k));
    };

    try {
      await start('rekey', ['--create-topics', '--repartition-partitions', '3']).waitForStderr(READY.rekey, 60_000);
      start('aggA');
      start('merge');
      await reader.start();
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const send = (records: readonly PostMentions[], from: number) =>
        producer.send({ topic: t.input, acks: -1, messages: records.map((r, j) => ({ key: r.post_id, value: encodeStrict(mentionsType, r), partition: (from + j) % 3 })) });
      let next = 0;
      for (let i = 0; i < N; i += PER_TICK) {
        await send(gen.slice(i, i + PER_TICK), i);
        await sleep(500);
        assertStagesRunning(stages);
        if (!stages.has('aggB') && READY.aggregate.test(stages.get('aggA')!.stderr)) start('aggB'); // apart from the first
        while (next < schedule.length && i + PER_TICK >= killAt(next)) {
          if (!stages.has('aggB')) {
            await waitUntil(() => READY.aggregate.test(stages.get('aggA')!.stderr), 60_000, 'the first aggregator to restore');
            start('aggB');
          }
          await killAndRestart(schedule[next++]!);
        }
      }
      // one record per mentions partition a few windows after the others: it closes their last windows
      const end = Math.max(...gen.map((r) => r.created_at)) + LATENESS + 2 * WINDOW;
      await send([0, 1, 2].map((p) => ({ ...gen[0]!, post_id: `end-${p}`, created_at: end + p, mentions: [] })), 0);
      await producer.disconnect();

      const expected = singleAggregatorTrends(gen, WINDOW, LATENESS);
      const lastStart = expected[expected.length - 1]!.window_start;
      await waitUntil(() => windows.has(lastStart), 240_000, `the last window (${new Date(lastStart).toISOString()}), ${windows.size} of ${expected.length} written`);
      await sleep(3000); // time for a duplicate to show
      for (const p of all()) p.kill('SIGTERM');
      const exits = await Promise.all(all().map((p) => p.exited));
      const names = [...stages.keys()];
      exits.forEach((e, i) => assert.equal(e.code, 0, `${names[i]} after SIGTERM: ${all()[i]!.stderr.slice(-2000)}`));
      process.stderr.write(`trends kill test: ${N} records, ${kills.length} kills (stage@its group's committed input) ${kills.join(' ')}, ${expected.length} windows expected, ${windows.size} written\n`);
    } finally {
      for (const p of [...all(), ...dead]) p.kill('SIGKILL');
      await reader.consumer.disconnect();
    }
    assert.equal(kills.length, 3 * ROUNDS, 'every kill happened');

    assert.deepEqual(await lateKeys(brokers!, t), [], 'no record is late or invalid');
    // the re-key stage's exactly-once: no (post, entity) record twice among the committed ones
    const entityRecords = new Map<string, number>();
    await readTopic({
      brokers: brokers!,
      topic: `${o}.repartition`,
      groupId: `${t.group}-check-repartition`,
      fromBeginning: true,
      idleTimeoutMs: 10_000,
      onRecord: (r) => {
        const e = decodeEntityMention(r.value as Buffer);
        if (e.kind === 'PROGRESS') return;
        const k = `${e.post_id}\u0000${r.key?.toString() ?? ''}`;
        entityRecords.set(k, (entityRecords.get(k) ?? 0) + 1);
      },
    });
    const twice = [...entityRecords].filter(([, n]) => n > 1);
    assert.deepEqual(twice.slice(0, 5), [], `${twice.length} (post, entity) records twice on the repartition topic (of ${entityRecords.size})`);
    // and each there: one per entity of a post, one for a post without mentions (keyed by its id), the 3 closing ones
    const want = gen.reduce((n, r) => n + Math.max(1, new Set(r.mentions.map(trendKey)).size), 3);
    assert.equal(entityRecords.size, want, '(post, entity) records on the repartition topic');
    checkScaledTrends(windows, gen, WINDOW, LATENESS);
  });
});
