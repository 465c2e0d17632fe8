/**
 * Restore of the trends aggregator's state from its changelog with a large
 * state (issue 15 item 3: rebuilding the state at start-up, measured).
 *
 * Produces --keys mention records (one mention each, every one a distinct
 * entity, created_at spread over 50 s so that all of them sit in the open
 * windows: 10-minute windows, hop --hop-s (600: tumbling, 1 window open;
 * 200: every key in 3 windows)) to a fresh 3-partition topic; runs the
 * aggregator (pipeline/stream/trendsWorker.ts, exactly-once, commit interval
 * --commit-interval-ms) in this process until every record is committed;
 * stops it (its last commit writes the state); then starts a second
 * aggregator on the same group and transactional id, which restores the
 * state from the changelog (on its idle tick: nothing more arrives), and
 * reports: the time to drain, the changelog entry (gzip JSON bytes, chunks),
 * the restore time (read of the changelog up to the marker, gunzip, parse,
 * rebuild) and the restored keys, which must equal the first aggregator's.
 * --runs restores in a row (each a new aggregator) give a median.
 *
 * Needs KAFKA_BROKERS. Usage: node dist/bench/trendsRestore.js [--keys 100000] [--hop-s 600] [--runs 3] [--commit-interval-ms 1000] [--keep]
 */
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, deleteTopics } from '../pipeline/kafka/topicAdmin.js';
import { trendTopicSpecs } from '../pipeline/kafka/topicSpecs.js';
import { CHANGELOG_CHUNK_BYTES } from '../pipeline/kafka/trendsEdge.js';
import { createLogger } from '../pipeline/ops/logger.js';
import type { TrendMetrics } from '../pipeline/ops/trendMetrics.js';
import { StateEncoder } from '../pipeline/stream/trendsOptions.js';
import { startTrendsWorker, type TrendsWorkerOptions } from '../pipeline/stream/trendsWorker.js';
import { TREND_DEFAULTS } from '../operators/trends/trendState.js';
import { encodeStrict, loadSchema } from '../schemas/registry.js';
import type { PostMentions } from '../schemas/types.generated.js';
import { benchArgs } from './args.js';
import { median } from './stats.js';

const args = benchArgs(import.meta.url, {
  keys: { type: 'string', default: '100000' },
  'hop-s': { type: 'string', default: '600' },
  runs: { type: 'string', default: '3' },
  'commit-interval-ms': { type: 'string', default: '1000' },
  keep: { type: 'boolean', default: false },
});
const KEYS = Number(args.keys);
const brokersEnv = process.env.KAFKA_BROKERS;
if (brokersEnv === undefined) {
  process.stderr.write('KAFKA_BROKERS is not set (export $(cat /tmp/kafka.env))\n');
  process.exit(2);
}
const brokers = brokersEnv.split(',');
const logger = createLogger({ level: 'warn' });
const base = Date.UTC(2024, 4, 1, 8);
const stamp = Date.now().toString(36);
const t = { input: `bench-restore-in-${stamp}`, trends: `bench-restore-out-${stamp}`, group: `bench-restore-${stamp}` };
const settings = { ...TREND_DEFAULTS, sizeMs: 600_000, hopMs: Number(args['hop-s']) * 1000, latenessMs: 10_000, maxKeysPerWindow: Math.max(TREND_DEFAULTS.maxKeysPerWindow, KEYS) };

const specs = trendTopicSpecs({ trendsTopic: t.trends, changelogTopic: `${t.trends}.changelog`, topicPartitions: 1, topicReplicationFactor: -1, topicRetentionMs: -1 });
await createTopics({ brokers, logger }, [...specs, { ...specs[0]!, name: `${t.trends}.late` }, { ...specs[0]!, name: t.input, partitions: 3 }]);

const kafka = new Kafka({ clientId: 'bench-restore', brokers, logLevel: logLevel.NOTHING });
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
const type = loadSchema('mentions');
for (let i = 0; i < KEYS; i += 5000) {
  const messages = [];
  for (let j = i; j < Math.min(KEYS, i + 5000); j++) {
    const text = `话题${j}`;
    const r: PostMentions = {
      post_id: `p${j}`,
      created_at: base + (j % 50_000),
      origin: null,
      mentions: [{ text, label: 'GPE.NAM', type: 'GPE', kind: 'NAM', start: 0, end: text.length, start_utf16: 0, end_utf16: text.length, confidence: 0.9 }],
      model: { id: 'bench', version: '1' },
      processed_at: base,
      latency_ms: null,
    };
    messages.push({ key: r.post_id, value: encodeStrict(type, r), partition: j % 3 });
  }
  await producer.send({ topic: t.input, acks: -1, messages });
}
await producer.disconnect();

const restores: number[] = [];
const metrics = (): TrendMetrics => ({ closed: () => undefined, restored: (s: number) => void restores.push(s), stateWritten: () => undefined }) as unknown as TrendMetrics;
const options = (m: TrendMetrics): TrendsWorkerOptions => ({
  connection: { brokers, logger },
  settings,
  fromTopic: t.input,
  toTopic: t.trends,
  lateTopic: `${t.trends}.late`,
  changelogTopic: `${t.trends}.changelog`,
  groupId: t.group,
  delivery: 'exactly-once',
  transactionalId: `${t.group}-trends`,
  logger,
  metrics: m,
  idleTimeoutMs: 3_600_000, // only so that a restart restores with no batch to read; never reached
  commitIntervalMs: Number(args['commit-interval-ms']),
});

const admin = kafka.admin();
await admin.connect();
const committed = async (): Promise<number> => {
  const [entry] = await admin.fetchOffsets({ groupId: t.group, topics: [t.input] });
  return entry!.partitions.reduce((a, p) => a + Math.max(0, Number(p.offset)), 0);
};
const t0 = Date.now();
const first = await startTrendsWorker(options(metrics()));
while ((await committed()) < KEYS) await new Promise((r) => setTimeout(r, 200));
const drainS = (Date.now() - t0) / 1000;
const keys = first.state().keysTracked;
const bytes = new StateEncoder().encode(first.state().snapshot()).length; // what the aggregator writes
await first.stop();
await first.done;
process.stderr.write(`drained ${KEYS} records in ${drainS.toFixed(1)} s (from start, group join included); ${keys} keys tracked in ${first.state().openWindows} windows; entry ${bytes} bytes gzip (${Math.ceil(bytes / CHANGELOG_CHUNK_BYTES)} chunks)\n`);

const restored: number[] = [];
restores.length = 0; // the first aggregator's (empty) restore is not counted
for (let r = 0; r < Number(args.runs); r++) {
  const before = restores.length;
  const w = await startTrendsWorker(options(metrics()));
  for (let i = 0; i < 1200 && restores.length === before; i++) await new Promise((res) => setTimeout(res, 100));
  restored.push(w.state().keysTracked);
  await w.stop();
  await w.done;
  process.stderr.write(`restore ${r + 1}: ${restores.at(-1)?.toFixed(3)} s, ${restored.at(-1)} keys\n`);
}
await admin.disconnect();
if (!args.keep) await deleteTopics({ brokers, topics: [t.input, t.trends, `${t.trends}.late`, `${t.trends}.changelog`] }).catch(() => undefined);
const ok = restored.every((k) => k === keys);
process.stdout.write(
  `${KEYS} distinct entities, ${settings.sizeMs / 1000} s windows hop ${settings.hopMs / 1000} s: ${keys} keys tracked; changelog entry ${(bytes / 2 ** 20).toFixed(2)} MiB gzip in ${Math.ceil(bytes / CHANGELOG_CHUNK_BYTES)} chunks; ` +
    `drain ${drainS.toFixed(1)} s; restore median ${median(restores).toFixed(3)} s of ${restores.length} (${restores.map((s) => s.toFixed(3)).join(', ')}); restored keys ${ok ? 'equal' : 'DIFFER'} (${restored.join(', ')})${args.keep ? `; topics kept: ${t.input}` : ''}\n`,
);
process.exit(ok ? 0 : 1);
