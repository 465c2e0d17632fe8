/**
 * Trends aggregator throughput as a ratio of a bare kafkajs consume loop over
 * the same mention records, and its memory with 1M distinct keys capped.
 *
 * Throughput: produces --records PostMentions records (2 mentions each, drawn
 * from 2,000 entity strings, created_at spread over 2 hours, out of order by
 * up to 3 s) to a fresh --partitions (3) topic once; the aggregator keeps
 * a watermark per partition (the smallest counts), so partitions read out of
 * step make no record late (the late count is printed per run); then for each of --runs
 * rounds, in turn: (a) bare: a kafkajs consumer (new group) whose eachBatch
 * only counts messages; (b) trends: the same consumer decoding each record
 * (decodeStrict, mentions schema) into a TrendState (1-minute windows, hop
 * 20 s, lateness 5 s) and closing windows per batch, flushing at the end.
 * Each run is timed from the first batch to the last record, and its process
 * CPU time (user + system) over that span is taken too, so mentions per
 * CPU-second ("per core") are reported beside wall-clock rates. Medians of
 * the runs, and the ratio of medians.
 *
 * Memory (--memory-keys, default 1000000): one window, every record a new
 * key, cap --cap (10000): heapUsed after a forced GC every 100,000 records
 * (run node with --expose-gc), and the tracked keys.
 *
 * Needs KAFKA_BROKERS for the throughput leg (skipped without it).
 * Usage: node --expose-gc dist/bench/trends.js [--records 200000] [--runs 3] [--partitions 3] [--memory-keys 1000000] [--cap 10000]
 */
import { deleteTopics, ensureTopic } from '../pipeline/kafka/topicAdmin.js';
import { openTopicWriter } from '../pipeline/kafka/topicWriter.js';
import { createLogger } from '../pipeline/ops/logger.js';
import { TrendState, TREND_DEFAULTS } from '../operators/trends/trendState.js';
import { decodeStrict, encodeStrict, loadSchema } from '../schemas/registry.js';
import type { PostMentions } from '../schemas/types.generated.js';
import { benchArgs } from './args.js';
import { consumeLoop } from './consumeLoop.js';
import { median } from './stats.js';
import { trendBenchRecord } from './trendRecords.js';

const args = benchArgs(import.meta.url, {
  records: { type: 'string', default: '200000' },
  runs: { type: 'string', default: '3' },
  'memory-keys': { type: 'string', default: '1000000' },
  cap: { type: 'string', default: '10000' },
  partitions: { type: 'string', default: '3' },
});
const PARTITIONS = Number(args.partitions);
const RECORDS = Number(args.records);
const RUNS = Number(args.runs);
const MENTIONS_PER_RECORD = 2;
const logger = createLogger({ level: 'error' });
const settings = { ...TREND_DEFAULTS, sizeMs: 60_000, hopMs: 20_000, latenessMs: 5_000 };

const record = (i: number): PostMentions => trendBenchRecord(i, RECORDS);

async function produce(brokers: string[], topic: string): Promise<void> {
  await ensureTopic({ brokers, topic, partitions: PARTITIONS });
  const type = loadSchema('mentions');
  const writer = await openTopicWriter({ brokers, topic });
  for (let i = 0; i < RECORDS; i += 2000) {
    const batch = [];
    for (let j = i; j < Math.min(RECORDS, i + 2000); j++) batch.push({ key: `m${j}`, value: encodeStrict(type, record(j)) });
    await writer.send(batch);
  }
  await writer.close();
}

interface Rate {
  wall: number;
  cpu: number;
}

async function consume(brokers: string[], topic: string, group: string, onBatch: (values: Buffer[], partition: number) => void, onEnd: () => void): Promise<Rate> {
  const t = await consumeLoop({ brokers, topic, groupId: group, total: RECORDS, logger, onBatch: (batch) => onBatch(batch.messages.map((m) => m.value!), batch.partition), onEnd });
  const mentions = RECORDS * MENTIONS_PER_RECORD;
  return { wall: mentions / t.seconds, cpu: mentions / t.cpuSeconds };
}

async function throughput(brokers: string[]): Promise<void> {
  const topic = `bench-trends-${Date.now()}`;
  await produce(brokers, topic);
  const type = loadSchema('mentions');
  const bare: Rate[] = [];
  const trends: Rate[] = [];
  for (let r = 0; r < RUNS; r++) {
    bare.push(await consume(brokers, topic, `${topic}-bare-${r}`, () => undefined, () => undefined));
    const st = new TrendState(settings);
    for (let p = 0; p < PARTITIONS; p++) st.addSource(String(p)); // the assignment: wait for every partition
    let windows = 0;
    trends.push(
      await consume(
        brokers,
        topic,
        `${topic}-trends-${r}`,
        (values, partition) => {
          const source = String(partition);
          for (const v of values) st.add(decodeStrict<PostMentions>(type, v), source);
          windows += st.close(0).length;
        },
        () => (windows += st.flush(0).length),
      ),
    );
    process.stderr.write(`run ${r + 1}: bare ${bare[r]!.wall.toFixed(0)} mentions/s (${bare[r]!.cpu.toFixed(0)} per CPU-s), trends ${trends[r]!.wall.toFixed(0)} mentions/s (${trends[r]!.cpu.toFixed(0)} per CPU-s), ${windows} windows, ${st.lateRecords} late\n`);
  }
  await deleteTopics({ brokers, topics: [topic] }).catch(() => undefined);
  const m = (xs: Rate[], k: keyof Rate) => median(xs.map((x) => x[k]));
  process.stdout.write(
    `${RECORDS} records (${RECORDS * MENTIONS_PER_RECORD} mentions), ${RUNS} runs, medians: bare kafkajs consume ${m(bare, 'wall').toFixed(0)} mentions/s (${m(bare, 'cpu').toFixed(0)} per CPU-s); ` +
      `trends ${m(trends, 'wall').toFixed(0)} mentions/s (${m(trends, 'cpu').toFixed(0)} per CPU-s); ratio wall ${(m(trends, 'wall') / m(bare, 'wall')).toFixed(2)}, per core ${(m(trends, 'cpu') / m(bare, 'cpu')).toFixed(2)}\n`,
  );
}

function memory(keys: number, cap: number): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  const st = new TrendState({ ...settings, sizeMs: 86_400_000, hopMs: 86_400_000, maxKeysPerWindow: cap });
  const heap = (): number => {
    gc?.();
    return process.memoryUsage().heapUsed / 2 ** 20;
  };
  const samples: string[] = [];
  const start = heap();
  for (let i = 0; i < keys; i++) {
    const text = `话题${i}`;
    st.add({ post_id: `p${i}`, created_at: i, mentions: [{ text, label: 'GPE.NAM', type: 'GPE', kind: 'NAM', start_utf16: 0, end_utf16: text.length }] });
    if ((i + 1) % 100_000 === 0) samples.push(`${(i + 1) / 1000}k: ${heap().toFixed(1)} MiB (${st.keysTracked} keys)`);
  }
  process.stdout.write(`memory, ${keys} distinct keys, cap ${cap}${gc === undefined ? ' (no --expose-gc: heap not collected before sampling)' : ''}: start ${start.toFixed(1)} MiB; ${samples.join('; ')}\n`);
}

memory(Number(args['memory-keys']), Number(args.cap));
const brokersEnv = process.env.KAFKA_BROKERS;
if (brokersEnv === undefined) process.stderr.write('KAFKA_BROKERS is not set: throughput leg skipped (export $(cat /tmp/kafka.env))\n');
else await throughput(brokersEnv.split(','));
