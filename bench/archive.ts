/**
 * Archive sink throughput (`mentionflow archive --follow`) as a ratio of a
 * bare kafkajs consume loop over the same records (target >= 0.7).
 *
 * Produces --posts Post records (bench/archivePosts.ts: v2, ~120 bytes, event
 * times over 6 hours; their texts are three sentences repeated, which deflate
 * packs 10:1, or with --text FILE the non-empty lines of FILE in turn,
 * whitespace removed, e.g. a segmented Weibo corpus: real text, which deflate
 * packs about 2:1 and costs several times more CPU on) to a fresh 3-partition topic once, then for each of --runs rounds, in
 * turn: (a) bare: a kafkajs consumer group (new group id) with eachBatch
 * only counting the messages; (b) archive: startArchiveSink (new group id,
 * new directory, default rolls: 64 MiB / 10 min, deflate) until every
 * record is archived, then stop() (final flush: fsync, rename, commit,
 * then leave the group), one leg per compression of --codecs (deflate,
 * deflate-huffman, deflate-rle, snappy, null; plain deflate uses
 * --deflate-strategy; a deflate leg may name its library, deflate@zlib or
 * deflate@libdeflate, else the sink's default, auto); (c) with --baseline DIST1,DIST2,..., the same archive
 * leg with the startArchiveSink of each other compiled tree (e.g. a copy of
 * main's dist/, with its schemas/ and a node_modules link beside it), so
 * before and after are measured side by side in one run. The order of the
 * archive legs rotates from run to run.
 * Each time runs from the first record received (bare: the first batch;
 * archive: the first batch queued for the files, mentionflow_archive_pending_bytes
 * > 0, polled every 2 ms; a baseline without that gauge: the first record
 * archived, which starts its clock a batch late) to the last record counted
 * (bare) or to the commit of the last offset by the final flush (archive:
 * every record then in a renamed, fsynced file and committed), so the
 * group join and the group leave (disconnect, which waits out the fetch in
 * flight, up to maxWaitTimeInMs 500) are left out of both; the time of the
 * whole stop() is printed per run too. Reports medians (posts/s), the
 * range, the ratio of medians and the per-run ratios (their median and
 * interquartile range), the load average at the start and end and at each
 * run, each leg's timed seconds (a warning when a leg's median is under
 * --min-seconds, default 2: shorter legs are mostly noise on a shared
 * machine; the default 1,000,000 posts give legs of 2-5 s on 2 cores), and
 * the process's CPU time per record over the same span (all threads:
 * the main one and libuv's pool, where deflate and fsync run), which moves
 * much less than wall time when the machine is shared, and the CPU time of
 * the main (JS) thread alone per record (bench/threadCpu.ts: what the
 * consumer's own thread spends, apart from libuv's pool and V8's helpers),
 * and the difference, the other threads' (pool, GC helpers).
 *
 * Needs KAFKA_BROKERS. Usage: node dist/bench/archive.js [--posts 1000000] [--runs 3] [--min-seconds 2] [--codec deflate|snappy|null] [--codecs deflate,deflate@zlib,deflate-huffman,snappy,null]
 *   [--deflate-strategy default|huffman|rle] [--text FILE] [--baseline DIST1,DIST2,...]
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deleteTopics, ensureTopic } from '../pipeline/kafka/topicAdmin.js';
import { openTopicWriter } from '../pipeline/kafka/topicWriter.js';
import { createLogger } from '../pipeline/ops/logger.js';
import { startArchiveSink } from '../pipeline/stream/archiveSink.js';
import { DEFLATE_STRATEGIES, type DeflateStrategy } from '../schemas/container.js';
import { DEFLATE_ENGINE_CHOICES, type DeflateEngineChoice } from '../schemas/deflate.js';
import { benchPost, benchTexts } from './archivePosts.js';
import { benchArgs } from './args.js';
import { consumeLoop } from './consumeLoop.js';
import { median, quantile } from './stats.js';
import { mainThreadCpuUs } from './threadCpu.js';

const args = benchArgs(import.meta.url, {
  posts: { type: 'string', default: '1000000' },
  'min-seconds': { type: 'string', default: '2' },
  runs: { type: 'string', default: '3' },
  codec: { type: 'string', default: 'deflate' },
  codecs: { type: 'string' },
  'deflate-strategy': { type: 'string', default: 'default' },
  baseline: { type: 'string' },
  text: { type: 'string' },
});
type Codec = 'deflate' | 'snappy' | 'null';
/** A leg's compression: a codec, and for deflate a zlib strategy and the library (engine; undefined: the sink's default). */
interface Compression {
  name: string;
  codec: Codec;
  strategy: DeflateStrategy;
  engine?: DeflateEngineChoice;
}
const compressionOf = (spec: string): Compression => {
  const [name, engine] = spec.split('@');
  if (engine !== undefined && !(DEFLATE_ENGINE_CHOICES as readonly string[]).includes(engine)) throw new Error(`unknown deflate library in ${JSON.stringify(spec)} (${DEFLATE_ENGINE_CHOICES.join(', ')})`);
  if (engine !== undefined) return { ...compressionOf(name), name: spec, engine: engine as DeflateEngineChoice };
  const [codec, strategy = args['deflate-strategy']] = name.split('-');
  if (codec !== 'deflate' && codec !== 'snappy' && codec !== 'null') throw new Error(`unknown codec ${JSON.stringify(name)} (deflate, deflate-huffman, deflate-rle, snappy, null)`);
  if (!(DEFLATE_STRATEGIES as readonly string[]).includes(strategy) || (codec !== 'deflate' && name.includes('-'))) throw new Error(`unknown deflate strategy in ${JSON.stringify(name)} (${DEFLATE_STRATEGIES.join(', ')})`);
  return { name: codec === 'deflate' && strategy !== 'default' ? `deflate-${strategy}` : codec, codec, strategy: strategy as DeflateStrategy };
};
/** --codecs deflate,deflate-huffman,snappy,null: one archive leg per compression in each run, side by side; default --codec alone. */
const CODECS: Compression[] = (args.codecs ?? args.codec).split(',').map((c) => compressionOf(c.trim()));
const CODEC = CODECS[0];
const POSTS = Number(args.posts);
const RUNS = Number(args.runs);
const MIN_SECONDS = Number(args['min-seconds']);
if (!(POSTS > 0) || !Number.isInteger(RUNS) || RUNS < 1 || !(MIN_SECONDS >= 0)) {
  process.stderr.write('--posts must be > 0, --runs an integer >= 1, --min-seconds >= 0\n');
  process.exit(2);
}
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
  const texts = benchTexts(args.text);
  const writer = await openTopicWriter({ brokers, topic });
  for (let i = 0; i < POSTS; i += 2000) {
    const batch = [];
    for (let j = i; j < Math.min(POSTS, i + 2000); j++) batch.push(benchPost(j, texts));
    await writer.send(batch);
  }
  await writer.close();
}

/** CPU time of this process (all its threads: main, libuv pool for deflate and fsync) in microseconds since `from`. */
const cpuSince = (from: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(from);
  return u.user + u.system;
};

async function bare(run: number): Promise<{ rate: number; seconds: number; cpuUs: number; mainUs: number }> {
  const t = await consumeLoop({ brokers, topic, groupId: `${topic}-bare-${run}`, total: POSTS, logger });
  return { rate: POSTS / t.seconds, seconds: t.seconds, cpuUs: (t.cpuSeconds * 1e6) / POSTS, mainUs: ((t.mainCpuSeconds ?? NaN) * 1e6) / POSTS };
}

type StartSink = typeof startArchiveSink;
interface Gauge {
  get(): Promise<{ values: Array<{ value: number; labels: { result?: string } }> }>;
}

/** Bytes of the files under `dir` (the archive written). */
function dirBytes(dir: string): number {
  let sum = 0;
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const st = statSync(join(dir, name));
    if (st.isFile()) sum += st.size;
  }
  return sum;
}

async function archive(start: StartSink, label: string, run: number, compression: Compression): Promise<{ rate: number; seconds: number; stopMs: number; cpuUs: number; mainUs: number; bytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-archive-'));
  const { codec, strategy, engine } = compression;
  // A tree older than the strategy or engine option ignores it (and is only run with the defaults).
  const sink = await start({
    brokers: brokers,
    logger,
    topic,
    dir,
    groupId: `${topic}-${label.replace(/[^\w.-]/g, '_')}-${run}`,
    tickMs: 5,
    codec,
    ...(strategy !== 'default' ? { deflateStrategy: strategy } : {}),
    ...(engine !== undefined ? { deflateEngine: engine } : {}),
  });
  const metric = (name: string) => sink.metrics.registry.getSingleMetric(name) as unknown as Gauge;
  const counter = metric('mentionflow_archive_records_total');
  const committedGauge = metric('mentionflow_archive_committed_offset');
  const archived = async () => (await counter.get()).values.find((v) => v.labels.result === 'archived')?.value ?? 0;
  // The first record fetched: the sink queues each fetched batch (pending bytes) before archiving it.
  // A tree without that gauge (an older baseline) starts the clock at the first record archived.
  const pendingGauge = sink.metrics.registry.getSingleMetric('mentionflow_archive_pending_bytes') as unknown as Gauge | undefined;
  const fetched = async () => (pendingGauge === undefined ? 0 : ((await pendingGauge.get()).values[0]?.value ?? 0));
  // The topic is fresh: offsets start at 0 in each partition, so the committed offsets sum to POSTS at the end.
  const committed = async () => (await committedGauge.get()).values.reduce((sum, v) => sum + v.value, 0);
  let first = 0n;
  let cpu0 = process.cpuUsage();
  let main0 = mainThreadCpuUs() ?? NaN;
  for (;;) {
    const n = await archived();
    if ((n > 0 || (await fetched()) > 0) && first === 0n) {
      first = process.hrtime.bigint();
      cpu0 = process.cpuUsage();
      main0 = mainThreadCpuUs() ?? NaN;
    }
    if (n >= POSTS) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  const stopStart = process.hrtime.bigint();
  const stopping = sink.stop();
  let last = 0n;
  let cpuUs = 0;
  let mainUs = NaN;
  for (;;) {
    if ((await committed()) >= POSTS) {
      last = process.hrtime.bigint();
      cpuUs = cpuSince(cpu0);
      mainUs = (mainThreadCpuUs() ?? NaN) - main0;
      break;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await stopping;
  const stopMs = Number(process.hrtime.bigint() - stopStart) / 1e6;
  const bytes = dirBytes(dir) / POSTS;
  rmSync(dir, { recursive: true, force: true });
  const seconds = Number(last - first) / 1e9;
  return { rate: POSTS / seconds, seconds, stopMs, cpuUs: cpuUs / POSTS, mainUs: mainUs / POSTS, bytes };
}

const legs: Array<{ label: string; start: StartSink; codec: Compression; baseline?: string }> = CODECS.map((codec) => ({ label: CODECS.length === 1 ? 'archive' : codec.name, start: startArchiveSink, codec }));
/** --baseline DIST1,DIST2: one leg per other compiled tree, with the first compression. */
const BASELINES = args.baseline === undefined ? [] : args.baseline.split(',').map((d) => d.trim());
for (const [i, dist] of BASELINES.entries()) {
  const url = pathToFileURL(join(resolve(dist), 'pipeline/stream/archiveSink.js')).href;
  legs.push({ label: BASELINES.length === 1 ? 'baseline' : `baseline${i + 1}`, start: ((await import(url)) as { startArchiveSink: StartSink }).startArchiveSink, codec: CODEC, baseline: dist });
}
const load = { start: loadavg(), end: [] as number[] };
await produce();
const rates: Record<string, number[]> = { bare: [] };
const cpu: Record<string, number[]> = { bare: [] };
const mainCpu: Record<string, number[]> = { bare: [] };
const seconds: Record<string, number[]> = { bare: [] };
const sizes: Record<string, number[]> = {};
for (const leg of legs) {
  sizes[leg.label] = [];
  seconds[leg.label] = [];
  rates[leg.label] = [];
  cpu[leg.label] = [];
  mainCpu[leg.label] = [];
}
for (let r = 0; r < RUNS; r++) {
  const runLoad = loadavg()[0];
  const b = await bare(r);
  rates.bare.push(b.rate);
  seconds.bare.push(b.seconds);
  cpu.bare.push(b.cpuUs);
  mainCpu.bare.push(b.mainUs);
  const line = [`run ${r + 1} (load ${runLoad.toFixed(2)}): bare ${b.rate.toFixed(0)} posts/s (${b.seconds.toFixed(2)} s, ${b.cpuUs.toFixed(2)} us CPU/record, main thread ${b.mainUs.toFixed(2)})`];
  // Rotate the order of the archive legs from run to run, so none always follows the bare loop.
  for (const leg of legs.map((_, i) => legs[(i + r) % legs.length])) {
    const { rate, seconds: s, stopMs, cpuUs, mainUs, bytes } = await archive(leg.start, leg.label, r, leg.codec);
    seconds[leg.label].push(s);
    sizes[leg.label].push(bytes);
    rates[leg.label].push(rate);
    cpu[leg.label].push(cpuUs);
    mainCpu[leg.label].push(mainUs);
    line.push(`${leg.label} ${rate.toFixed(0)} posts/s (ratio ${(rate / rates.bare[r]).toFixed(2)}, ${s.toFixed(2)} s, ${cpuUs.toFixed(2)} us CPU/record, main thread ${mainUs.toFixed(2)}, stop() ${stopMs.toFixed(0)} ms, ${bytes.toFixed(1)} file bytes/record)`);
  }
  process.stderr.write(`${line.join(', ')}\n`);
}
load.end = loadavg();
await deleteTopics({ brokers, topics: [topic] }).catch(() => undefined);
const fmt = (xs: number[]) => `${median(xs).toFixed(0)} posts/s (${xs.map((x) => x.toFixed(0)).join(', ')})`;
const fmtUs = (xs: number[]) => `${median(xs).toFixed(2)} us/record (${xs.map((x) => x.toFixed(2)).join(', ')})`;
const fmtCpu = (label: string) => `CPU ${fmtUs(cpu[label])}, main thread ${fmtUs(mainCpu[label])}, other threads ${(median(cpu[label]) - median(mainCpu[label])).toFixed(2)} us/record`;
const fmtSeconds = (label: string) => `legs ${median(seconds[label]).toFixed(2)} s (${Math.min(...seconds[label]).toFixed(2)}-${Math.max(...seconds[label]).toFixed(2)})`;
const b = median(rates.bare);
const short = Object.keys(seconds).filter((label) => median(seconds[label]) < MIN_SECONDS);
if (short.length > 0) process.stderr.write(`warning: legs shorter than ${MIN_SECONDS} s (median) in ${short.join(', ')}: their rates are mostly noise on a shared machine; raise --posts\n`);
process.stdout.write(
  `${POSTS} posts${args.text === undefined ? '' : ` (texts: ${args.text})`}, ${RUNS} runs, codec ${CODECS.map((c) => c.name).join(', ')}, load average ${load.start.map((x) => x.toFixed(2)).join(' ')} at start, ${load.end.map((x) => x.toFixed(2)).join(' ')} at end\n` +
    `  bare kafkajs consume: ${fmt(rates.bare)}; ${fmtSeconds('bare')}; ${fmtCpu('bare')}\n` +
    legs
      .map((leg) => {
        const xs = rates[leg.label];
        const ratios = xs.map((x, i) => x / rates.bare[i]);
        const name = leg.baseline !== undefined ? `archive sink (${leg.label} ${leg.baseline}, ${leg.codec.name})` : `archive sink (this tree, ${leg.codec.name})`;
        return `  ${name}: ${fmt(xs)}; ratio of medians ${(median(xs) / b).toFixed(2)} (per run ${ratios.map((x) => x.toFixed(2)).join(', ')}, median ${median(ratios).toFixed(2)}, interquartile ${quantile(ratios, 0.25).toFixed(2)}-${quantile(ratios, 0.75).toFixed(2)}); ${fmtSeconds(leg.label)}; ${fmtCpu(leg.label)}; ${median(sizes[leg.label]).toFixed(1)} file bytes/record\n`;
      })
      .join(''),
);
