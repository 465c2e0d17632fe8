/**
 * Archive sink throughput (`mentionflow archive --follow`) as a ratio of a
 * bare kafkajs consume loop over the same records (target >= 0.7).
 *
 * Produces --posts Post records (v2, ~120 bytes, event times over 6 hours)
 * to a fresh 3-partition topic once, then for each of --runs rounds, in
 * turn: (a) bare: a kafkajs consumer group (new group id) with eachBatch
 * only counting the messages; (b) archive: startArchiveSink (new group id,
 * new directory, default rolls: 64 MiB / 10 min, deflate) until every
 * record is archived, then stop() (final flush: fsync, rename, commit).
 * Each time runs from the first record received to the last record counted
 * (bare) or to the end of stop() (archive), so the group join is left out
 * of both. Reports medians (posts/s) and the ratio of medians.
 *
 * Needs KAFKA_BROKERS. Usage: node dist/bench/archive.js [--posts 200000] [--runs 3] [--codec deflate|null]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaClient } from '../pipeline/kafka/client.js';
import { deleteTopics, ensureTopic } from '../pipeline/kafka/topicAdmin.js';
import { openTopicWriter } from '../pipeline/kafka/topicWriter.js';
import { createLogger } from '../pipeline/ops/logger.js';
import { startArchiveSink } from '../pipeline/stream/archiveSink.js';
import { encodeStrict, loadSchema } from '../schemas/registry.js';
import { benchArgs } from './args.js';
import { median } from './stats.js';

const args = benchArgs(import.meta.url, { posts: { type: 'string', default: '200000' }, runs: { type: 'string', default: '3' }, codec: { type: 'string', default: 'deflate' } });
const CODEC = args.codec === 'null' ? 'null' : 'deflate';
const POSTS = Number(args.posts);
const RUNS = Number(args.runs);
const brokersEnv = process.env.KAFKA_BROKERS;
if (brokersEnv === undefined) {
  process.stderr.write('KAFKA_BROKERS is not set (e.g. export $(cat /tmp/kafka.env))\n');
  process.exit(2);
}
const brokers: string[] = brokersEnv.split(',');
const topic = `bench-archive-${Date.now()}`;
const logger = createLogger({ level: 'error' });

async function produce(): Promise<void> {
  await ensureTopic({ brokers, topic, partitions: 3 });
  const type = loadSchema('post');
  const writer = await openTopicWriter({ brokers, topic });
  const texts = ['今天在北京见到了马云，他说阿里巴巴明年还要招人。', '上海下雨了😀小王约我明天去外滩散步', '那位老板昨天在深圳开了发布会，腾讯的人也来了'];
  const base = Date.UTC(2024, 4, 1, 8);
  for (let i = 0; i < POSTS; i += 2000) {
    const batch = [];
    for (let j = i; j < Math.min(POSTS, i + 2000); j++) {
      const post = { id: `b${j}`, text: `${texts[j % 3]} #${j}`, author_id: `u${j % 97}`, created_at: base + (j % 6) * 3_600_000 + j, source: 'weibo', lang: null, reply_to: null, attributes: {}, topic_tags: [], geo: null };
      batch.push({ key: post.id, value: encodeStrict(type, post) });
    }
    await writer.send(batch);
  }
  await writer.close();
}

async function bare(run: number): Promise<number> {
  const consumer = createKafkaClient({ brokers: brokers, logger }).consumer({ groupId: `${topic}-bare-${run}`, maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let count = 0;
  let first = 0n;
  let last = 0n;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((r) => (finish = r));
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      if (count === 0) first = process.hrtime.bigint();
      count += batch.messages.length;
      if (count >= POSTS) {
        last = process.hrtime.bigint();
        finish();
      }
    },
  });
  await done;
  await consumer.disconnect();
  return POSTS / (Number(last - first) / 1e9);
}

async function archive(run: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-archive-'));
  const sink = await startArchiveSink({ brokers: brokers, logger, topic, dir, groupId: `${topic}-archive-${run}`, tickMs: 5, codec: CODEC });
  const counter = sink.metrics.registry.getSingleMetric('mentionflow_archive_records_total') as unknown as { get(): Promise<{ values: Array<{ value: number; labels: { result?: string } }> }> };
  const archived = async () => (await counter.get()).values.find((v) => v.labels.result === 'archived')?.value ?? 0;
  let first = 0n;
  for (;;) {
    const n = await archived();
    if (n > 0 && first === 0n) first = process.hrtime.bigint();
    if (n >= POSTS) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  await sink.stop();
  const seconds = Number(process.hrtime.bigint() - first) / 1e9;
  rmSync(dir, { recursive: true, force: true });
  return POSTS / seconds;
}

await produce();
const rates = { bare: [] as number[], archive: [] as number[] };
for (let r = 0; r < RUNS; r++) {
  rates.bare.push(await bare(r));
  rates.archive.push(await archive(r));
  process.stderr.write(`run ${r + 1}: bare ${rates.bare[r].toFixed(0)} posts/s, archive ${rates.archive[r].toFixed(0)} posts/s\n`);
}
await deleteTopics({ brokers, topics: [topic] }).catch(() => undefined);
const b = median(rates.bare);
const a = median(rates.archive);
process.stdout.write(
  `${POSTS} posts, ${RUNS} runs: bare kafkajs consume ${b.toFixed(0)} posts/s (${rates.bare.map((x) => x.toFixed(0)).join(', ')}), ` +
    `archive sink (${CODEC}) ${a.toFixed(0)} posts/s (${rates.archive.map((x) => x.toFixed(0)).join(', ')}); ratio of medians ${(a / b).toFixed(2)}\n`,
);
