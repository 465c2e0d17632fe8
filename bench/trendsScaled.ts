/**
 * The scaled-out trends aggregators (`mentionflow trends --stage aggregate`,
 * each its own process) on a 3-partition repartition topic: one aggregator
 * against two, side by side, wall rate only (the aggregators are child
 * processes; the machine's other load is in the figures too).
 *
 * Produces --records mention records as bench/trendsWorker.ts does
 * (bench/trendRecords.ts: 2 mentions each, 2,000 entity strings) to a fresh
 * 3-partition mentions topic, runs the re-key stage in this process until it
 * has committed them all (timed: the re-key rate), then for each of --runs
 * rounds, in turn, 1 and 2 aggregator processes (exactly-once, 1-minute
 * windows, hop 20 s, lateness 5 s, commit interval 1 s, a new group each)
 * timed from the group's first committed offset to the last. Medians of the
 * runs, and the ratio two / one.
 *
 * Needs KAFKA_BROKERS. Usage: node dist/bench/trendsScaled.js [--records 60000] [--runs 3]
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, deleteTopics } from '../pipeline/kafka/topicAdmin.js';
import { scaledTrendTopicSpecs } from '../pipeline/kafka/topicSpecs.js';
import { createLogger } from '../pipeline/ops/logger.js';
import { startTrendsRekey } from '../pipeline/stream/trendsRekey.js';
import { encodeStrict, loadSchema } from '../schemas/registry.js';
import { benchArgs } from './args.js';
import { median } from './stats.js';
import { trendBenchRecord } from './trendRecords.js';

const args = benchArgs(import.meta.url, {
  records: { type: 'string', default: '60000' },
  runs: { type: 'string', default: '3' },
});
const RECORDS = Number(args.records);
const RUNS = Number(args.runs);
const brokersEnv = process.env.KAFKA_BROKERS;
if (brokersEnv === undefined) {
  process.stderr.write('KAFKA_BROKERS is not set (export $(cat /tmp/kafka.env))\n');
  process.exit(2);
}
const brokers = brokersEnv.split(',');
const logger = createLogger({ level: 'error' });
const stamp = Date.now().toString(36);
const input = `bench-trendss-in-${stamp}`;
const out = `bench-trendss-out-${stamp}`;
const repartition = `${out}.repartition`;
const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');

const kafka = new Kafka({ clientId: 'bench-trendss', brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ waitForLeaders: true, topics: [{ topic: input, numPartitions: 3 }, { topic: out, numPartitions: 1 }, { topic: `${out}.late`, numPartitions: 1 }] });
const scaled = scaledTrendTopicSpecs({ repartitionTopic: repartition, repartitionPartitions: 3, partitionChangelogTopic: `${repartition}.changelog`, partialsTopic: `${out}.partials`, deadLetterTopic: `${repartition}.deadletter`, topicReplicationFactor: -1, topicRetentionMs: -1 });
await createTopics({ brokers, logger }, scaled);
const toDelete = [input, out, `${out}.late`, ...scaled.map((s) => s.name)];
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
const type = loadSchema('mentions');
for (let i = 0; i < RECORDS; i += 2000) {
  const messages = [];
  for (let j = i; j < Math.min(RECORDS, i + 2000); j++) messages.push({ key: `m${j}`, value: encodeStrict(type, trendBenchRecord(j, RECORDS)) });
  await producer.send({ topic: input, acks: -1, messages });
}
await producer.disconnect();

const committed = async (group: string, topic: string): Promise<number> => {
  const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return entry!.partitions.reduce((a, p) => a + Math.max(0, Number(p.offset)), 0);
};
/** The offsets a consumer of the topic commits once it has read everything: each partition's end, less the commit marker the last transaction left there. */
const endOf = async (topic: string): Promise<number> => (await admin.fetchTopicOffsets(topic)).reduce((a, p) => a + Math.max(0, Number(p.high) - 1), 0);

// the re-key stage, in this process
const rekeyGroup = `bench-trendss-rekey-${stamp}`;
const rekey = await startTrendsRekey({
  logger,
  edges: { brokers, groupId: rekeyGroup, inputTopic: input, outputTopic: repartition, deadLetterTopic: `${repartition}.deadletter`, startFrom: 'earliest', delivery: 'exactly-once', maxInFlight: 2000, commitIntervalMs: 1000, sessionTimeoutMs: 30_000, maxBrokerOutageMs: 300_000 },
});
const r0 = process.hrtime.bigint();
while ((await committed(rekeyGroup, input)) < RECORDS) await new Promise((r) => setTimeout(r, 50));
const rekeySeconds = Number(process.hrtime.bigint() - r0) / 1e9;
rekey.stop();
await rekey.done;
const entities = await endOf(repartition);
process.stderr.write(`re-key: ${RECORDS} records -> ${entities} repartition offsets (records and transaction markers) in ${rekeySeconds.toFixed(1)} s (${(RECORDS / rekeySeconds).toFixed(0)} records/s, group join included)\n`);

async function aggregators(k: number, run: number): Promise<number> {
  const group = `bench-trendss-${stamp}-${k}-${run}`;
  const procs = Array.from({ length: k }, () =>
    spawn(process.execPath, [cli, 'trends', '--stage', 'aggregate', '--brokers', brokers.join(','), '--from-topic', input, '--to-topic', out, '--repartition-topic', repartition, '--group', group, '--window', '1m', '--hop', '20s', '--lateness', '5s', '--commit-interval', '1s'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1' } }),
  );
  let errors = '';
  for (const p of procs) p.stderr!.on('data', (d: Buffer) => (errors = (errors + d.toString()).slice(-4000)));
  const exited = (): boolean => procs.some((p) => p.exitCode !== null || p.signalCode !== null);
  const g = `${group}-aggregate`;
  let first = 0;
  while ((first = await committed(g, repartition)) === 0) {
    if (exited()) throw new Error(`an aggregator exited: ${errors}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const t0 = process.hrtime.bigint();
  let n = first;
  while ((n = await committed(g, repartition)) < entities) {
    if (exited()) throw new Error(`an aggregator exited: ${errors}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const p of procs) p.kill('SIGTERM');
  await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.on('exit', r)))));
  return ((n - first) / entities) * RECORDS * 2 / seconds; // mentions/s over the timed span
}

const rates = new Map<number, number[]>([
  [1, []],
  [2, []],
]);
for (let r = 0; r < RUNS; r++) {
  const line: string[] = [];
  for (const k of [1, 2]) {
    const rate = await aggregators(k, r);
    rates.get(k)!.push(rate);
    line.push(`${k} aggregator(s) ${rate.toFixed(0)} mentions/s`);
  }
  process.stderr.write(`run ${r + 1}: ${line.join('; ')}\n`);
}
await admin.disconnect();
await deleteTopics({ brokers, topics: toDelete }).catch(() => undefined);
const one = median(rates.get(1)!);
const two = median(rates.get(2)!);
process.stdout.write(`${RECORDS} records (${RECORDS * 2} mentions, ${entities} repartition records), ${RUNS} runs, medians: 1 aggregator ${one.toFixed(0)} mentions/s, 2 aggregators ${two.toFixed(0)} mentions/s, ratio 2/1 ${(two / one).toFixed(2)}\n`);
