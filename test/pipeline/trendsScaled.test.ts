// The scaled-out trends against the test broker: `trends --stage rekey` (one member), two
// `--stage aggregate` members on a 3-partition repartition topic (the second joins mid-stream: a
// rebalance moves partitions and their state), and `--stage merge`, over a generated stream of
// mention records produced while they run. The trend records must equal those of one aggregator
// over the same input (a TrendState fed the same records in this process: every field but the
// watermark, emitted_at and late_records), each window written once, and each window's records and
// mentions equal an offline count written independently here. Skipped without KAFKA_BROKERS.
// TRENDS_SCALED_KILL=1 also kills the first aggregator (SIGKILL) at 70% of the input and restarts it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { encodeStrict, loadSchema } from '../../schemas/registry.js';
import { assertStagesRunning, checkScaledTrends, generateMentions, lateKeys, singleAggregatorTrends, stageArgs, scaledTopicsOfSuite, TrendWindowReader } from '../support/trendsScaled.js';
import { KAFKA_SKIP, committedOffsets, kafkaBrokers, sleep, spawnCli, type Cli } from '../support/kafka.js';

const brokers = kafkaBrokers();
const N = Number(process.env.TRENDS_SCALED_RECORDS ?? 4000);
const PER_TICK = 250;
const WINDOW = 2_000;
const LATENESS = 1_000;
const BASE = Date.UTC(2024, 4, 1, 8);
/** TRENDS_SCALED_KILL=1: the first aggregator is also killed with SIGKILL at 70% of the input and restarted. */
const KILL = process.env.TRENDS_SCALED_KILL === '1';

describe('mentionflow trends --stage rekey|aggregate|merge', { skip: brokers === undefined ? KAFKA_SKIP : undefined, timeout: 240_000 }, () => {
  const scaledTopics = scaledTopicsOfSuite(brokers);

  it('two aggregators (the second joining mid-stream) and the merger write the trend records of one aggregator', async () => {
    const t = await scaledTopics('trends-scaled', 3);
    const common = stageArgs(brokers!, t, WINDOW, LATENESS);
    const gen = generateMentions(N, BASE);
    const kafka = new Kafka({ clientId: 'trends-scaled-test', brokers: brokers!, logLevel: logLevel.NOTHING });
    const mentionsType = loadSchema('mentions');

    const procs: Cli[] = [];
    const reader = new TrendWindowReader(kafka, `${t.group}-check`, t.output);
    const windows = reader.windows;
    let rebalancedAt = 0;
    const killed: Cli[] = [];
    let killedAt = 0;
    try {
      const rekey = spawnCli([...common, '--stage', 'rekey', '--create-topics', '--repartition-partitions', '3']);
      procs.push(rekey);
      await rekey.waitForStderr(/re-key stage consuming/, 60_000);
      const aggA = spawnCli([...common, '--stage', 'aggregate']);
      const merge = spawnCli([...common, '--stage', 'merge']);
      procs.push(aggA, merge);
      await reader.start();
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const committed = async (group: string, topic: string): Promise<number> => [...(await committedOffsets(brokers!, group, topic)).values()].reduce((a, o) => a + Math.max(0, Number(o)), 0);
      for (let i = 0; i < N; i += PER_TICK) {
        await producer.send({ topic: t.input, acks: -1, messages: gen.slice(i, i + PER_TICK).map((r, j) => ({ key: r.post_id, value: encodeStrict(mentionsType, r), partition: (i + j) % 3 })) });
        if (i >= N * 0.4 && procs.length === 3) {
          // once the first aggregator has committed some of its input: a second one joins, a rebalance. On a
          // loaded machine the first commit can come after the whole input was produced (then no second
          // aggregator ever joined): the rest of the input waits for it (bounded)
          for (let w = 0; w < 600 && rebalancedAt === 0; w++) {
            rebalancedAt = await committed(`${t.group}-aggregate`, `${t.output}.repartition`);
            if (rebalancedAt === 0) await sleep(200);
            assertStagesRunning(procs);
          }
          if (rebalancedAt > 0) procs.push(spawnCli([...common, '--stage', 'aggregate']));
        }
        if (KILL && i >= N * 0.7 && procs.length === 4 && killed.length === 0) {
          // kill -9 of the first aggregator, restarted at once: its partitions move with their committed state
          const a = procs.splice(1, 1)[0]!;
          a.kill('SIGKILL');
          await a.exited;
          killed.push(a);
          killedAt = await committed(`${t.group}-aggregate`, `${t.output}.repartition`);
          procs.push(spawnCli([...common, '--stage', 'aggregate']));
        }
        assertStagesRunning(procs);
        await sleep(500);
      }
      await producer.disconnect();

      const expected = singleAggregatorTrends(gen, WINDOW, LATENESS);
      const lastStart = expected[expected.length - 1]!.window_start;
      for (let i = 0; i < 900 && !windows.has(lastStart); i++) {
        assertStagesRunning(procs);
        await sleep(200);
      }
      await sleep(3000); // time for a duplicate to show
      for (const p of procs) p.kill('SIGTERM');
      const exits = await Promise.all(procs.map((p) => p.exited));
      exits.forEach((e, i) => assert.equal(e.code, 0, `stage ${i} after SIGTERM: ${procs[i]!.stderr.slice(-2000)}`));
      const owned = [...procs, ...killed].map((p) => [...p.stderr.matchAll(/"partitions":\[([\d,]*)\]/g)].map((m) => m[1]).join(' / ')).filter((x) => x !== '');
      process.stderr.write(`trends scaled test: ${N} records, ${expected.length} windows expected, ${windows.size} written; aggregators restored ${owned.join('; ')}; B joined at ${rebalancedAt} repartition offsets committed${KILL ? `; A killed (SIGKILL) at ${killedAt} and restarted` : ''}\n`);
      assert.ok(procs[3] !== undefined && /trend states restored/.test(procs[3].stderr), `the second aggregator joined and restored what it was assigned: ${procs[3]?.stderr.slice(-3000) ?? 'never started'}`);
      if (KILL) assert.ok(killed.length === 1 && killedAt > rebalancedAt, 'the first aggregator was killed after the second joined');
      assert.ok(rebalancedAt > 0, 'the second aggregator joined mid-stream (after some repartition offsets were committed)');
    } finally {
      for (const p of [...procs, ...killed]) p.kill('SIGKILL');
      await reader.consumer.disconnect();
    }

    assert.deepEqual(await lateKeys(brokers!, t), [], 'no record is late or invalid');
    checkScaledTrends(windows, gen, WINDOW, LATENESS);
  });
});
