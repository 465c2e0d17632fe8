/**
 * The trends aggregator as it runs in Kafka mode (pipeline/stream/trendsWorker.ts:
 * decode, TrendState, encode, the state snapshot, one transaction per
 * commit), against a bare kafkajs consume loop over the same records, with
 * commit intervals side by side: --intervals 0,1000 (0: outputs, state and
 * offsets written after every fetched batch, as before the commit interval).
 *
 * Produces --records mention records as bench/trends.ts does (2 mentions
 * each, 2,000 entity strings, created_at over 2 hours, out of order by up to
 * 3 s) to a fresh 3-partition topic once; then for each of --runs rounds, in
 * turn: the bare loop (bench/consumeLoop.ts), and for each interval an
 * aggregator (exactly-once, 1-minute windows, hop 20 s, lateness 5 s, new
 * group and changelog) timed from the end of its restore (just before its
 * first batch) to its last committed offset (the bare loop from its first
 * batch to its last record), with this
 * process's CPU time over the same span. Medians of the runs, the ratios of
 * medians to the bare loop.
 *
 * --baseline DIR (a copy of another build's dist/, e.g. main's, in a directory
 * whose parent has the package.json, schemas/ and node_modules): each round
 * also runs that build's aggregator beside this one's (in turn first and second), on the same
 * records and intervals, and prints the medians of both and their ratio.
 *
 * Needs KAFKA_BROKERS. Usage: node dist/bench/trendsWorker.js [--records 100000] [--runs 3] [--intervals 0,1000] [--baseline DIR]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, deleteTopics } from '../pipeline/kafka/topicAdmin.js';
import { trendTopicSpecs } from '../pipeline/kafka/topicSpecs.js';
import { createLogger } from '../pipeline/ops/logger.js';
import { createTrendMetrics } from '../pipeline/ops/trendMetrics.js';
import { startTrendsWorker } from '../pipeline/stream/trendsWorker.js';
import { TREND_DEFAULTS } from '../operators/trends/trendState.js';
import { encodeStrict, loadSchema } from '../schemas/registry.js';
import type { PostMentions } from '../schemas/types.generated.js';
import { benchArgs } from './args.js';
import { consumeLoop } from './consumeLoop.js';
import { median } from './stats.js';
import { trendBenchRecord } from './trendRecords.js';

const args = benchArgs(import.meta.url, {
  records: { type: 'string', default: '100000' },
  runs: { type: 'string', default: '3' },
  intervals: { type: 'string', default: '0,1000' },
  baseline: { type: 'string', default: '' },
});
const RECORDS = Number(args.records);
const RUNS = Number(args.runs);
const INTERVALS = String(args.intervals).split(',').map(Number);
const brokersEnv = process.env.KAFKA_BROKERS;
if (brokersEnv === undefined) {
  process.stderr.write('KAFKA_BROKERS is not set (export $(cat /tmp/kafka.env))\n');
  process.exit(2);
}
const brokers = brokersEnv.split(',');
const logger = createLogger({ level: 'error' });
const settings = { ...TREND_DEFAULTS, sizeMs: 60_000, hopMs: 20_000, latenessMs: 5_000 };
const stamp = Date.now().toString(36);
const input = `bench-trendsw-in-${stamp}`;

const record = (i: number): PostMentions => trendBenchRecord(i, RECORDS);

const BASELINE = String(args.baseline);
type Start = typeof startTrendsWorker;
const builds: Array<{ name: string; start: Start }> = [{ name: 'this build', start: startTrendsWorker }];
if (BASELINE !== '') {
  const mod = (await import(pathToFileURL(resolve(BASELINE, 'pipeline/stream/trendsWorker.js')).href)) as { startTrendsWorker: Start };
  builds.push({ name: `baseline ${BASELINE}`, start: mod.startTrendsWorker });
}

const kafka = new Kafka({ clientId: 'bench-trendsw', brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ waitForLeaders: true, topics: [{ topic: input, numPartitions: 3 }] });
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
const type = loadSchema('mentions');
for (let i = 0; i < RECORDS; i += 2000) {
  const messages = [];
  for (let j = i; j < Math.min(RECORDS, i + 2000); j++) messages.push({ key: `m${j}`, value: encodeStrict(type, record(j)) });
  await producer.send({ topic: input, acks: -1, messages });
}
await producer.disconnect();

interface Rate {
  wall: number;
  cpu: number;
}
const mentions = RECORDS * 2;
const toDelete: string[] = [input];

async function aggregator(start: Start, build: number, interval: number, run: number): Promise<Rate> {
  const out = `bench-trendsw-out-${stamp}-${build}-${interval}-${run}`;
  const group = `bench-trendsw-${stamp}-${build}-${interval}-${run}`;
  const specs = trendTopicSpecs({ trendsTopic: out, changelogTopic: `${out}.changelog`, topicPartitions: 1, topicReplicationFactor: -1, topicRetentionMs: -1 });
  await createTopics({ brokers, logger }, [...specs, { ...specs[0]!, name: `${out}.late` }]);
  toDelete.push(out, `${out}.changelog`, `${out}.late`);
  let started: { t0: bigint; c0: NodeJS.CpuUsage } | undefined;
  const metrics = createTrendMetrics({ state: () => worker.state(), collectDefault: false });
  const worker = await start({
    connection: { brokers, logger },
    settings,
    fromTopic: input,
    toTopic: out,
    lateTopic: `${out}.late`,
    changelogTopic: `${out}.changelog`,
    groupId: group,
    delivery: 'exactly-once',
    transactionalId: `${group}-trends`,
    logger,
    commitIntervalMs: interval,
    // timed from the end of the restore, just before the first batch is processed
    metrics: {
      ...metrics,
      restored: (s: number) => {
        started ??= { t0: process.hrtime.bigint(), c0: process.cpuUsage() };
        metrics.restored(s);
      },
    },
  });
  const committed = async (): Promise<number> => {
    const [entry] = await admin.fetchOffsets({ groupId: group, topics: [input] });
    return entry!.partitions.reduce((a, p) => a + Math.max(0, Number(p.offset)), 0);
  };
  while ((await committed()) < RECORDS) await new Promise((r) => setTimeout(r, 20));
  const { t0, c0 } = started!;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cu = process.cpuUsage(c0);
  await worker.stop();
  await worker.done;
  return { wall: mentions / seconds, cpu: mentions / ((cu.user + cu.system) / 1e6) };
}

const bare: Rate[] = [];
/** Per build, per interval: the runs. */
const agg = builds.map(() => new Map<number, Rate[]>(INTERVALS.map((i) => [i, []])));
for (let r = 0; r < RUNS; r++) {
  const t = await consumeLoop({ brokers, topic: input, groupId: `bench-trendsw-bare-${stamp}-${r}`, total: RECORDS, logger });
  bare.push({ wall: mentions / t.seconds, cpu: mentions / t.cpuSeconds });
  const line = [`run ${r + 1}: bare ${bare[r]!.wall.toFixed(0)} mentions/s (${bare[r]!.cpu.toFixed(0)} per CPU-s)`];
  for (const i of INTERVALS) {
    const order = [...builds.entries()];
    if (r % 2 === 1) order.reverse(); // neither build always runs first
    for (const [b, build] of order) {
      const rate = await aggregator(build.start, b, i, r);
      agg[b]!.get(i)!.push(rate);
      line.push(`${build.name}, commit interval ${i} ms ${rate.wall.toFixed(0)} mentions/s (${rate.cpu.toFixed(0)} per CPU-s)`);
    }
  }
  process.stderr.write(`${line.join('; ')}\n`);
}
await admin.disconnect();
await deleteTopics({ brokers, topics: toDelete }).catch(() => undefined);
const m = (xs: Rate[], k: keyof Rate) => median(xs.map((x) => x[k]));
const parts = [`${RECORDS} records (${mentions} mentions), ${RUNS} runs, medians: bare kafkajs consume ${m(bare, 'wall').toFixed(0)} mentions/s (${m(bare, 'cpu').toFixed(0)} per CPU-s)`];
for (const [b, build] of builds.entries()) {
  for (const [i, xs] of agg[b]!) {
    parts.push(`${build.name}, commit interval ${i} ms: ${m(xs, 'wall').toFixed(0)} mentions/s (${m(xs, 'cpu').toFixed(0)} per CPU-s), ratio wall ${(m(xs, 'wall') / m(bare, 'wall')).toFixed(3)}, per core ${(m(xs, 'cpu') / m(bare, 'cpu')).toFixed(3)}`);
  }
}
if (builds.length > 1) {
  for (const i of INTERVALS) {
    const [mine, base] = [agg[0]!.get(i)!, agg[1]!.get(i)!];
    parts.push(`interval ${i} ms, this build / baseline: wall ${(m(mine, 'wall') / m(base, 'wall')).toFixed(2)}, per core ${(m(mine, 'cpu') / m(base, 'cpu')).toFixed(2)}`);
  }
}
process.stdout.write(`${parts.join('; ')}\n`);
