/**
 * The streaming pipeline on a real broker, side by side in one run, each
 * measurement in a fresh child process (bench/pipelineWorker.ts):
 *
 * 1. Throughput draining a pre-loaded topic (--partitions partitions) of
 *    synthetic posts (the sample posts with unique ids, Avro, produced once
 *    with an idempotent producer before the timed runs), --runs times per
 *    variant, the variants interleaved, medians:
 *      bare      a kafkajs consume -> produce the same bytes -> commit loop (the transport ceiling)
 *      codec     (only when --variants names it) the bare loop with the worker's Avro stages run on every
 *                record: the Post decoder, an identity tagging step, the PostMentions builder and the output
 *                encoder, as plain functions (no RxJS, batcher, metric taps, offset tracking or coalescing);
 *                codec / bare is what the Avro stages alone leave of the ceiling, identity / codec the framework's share
 *      identity  startWorker with Kafka edges, at-least-once, a tagger that finds nothing (framework overhead)
 *      full      the same with the shipped model (models/default, native backend), on --full-posts posts
 *    Each run has a fresh consumer group and output topic; its clock runs from
 *    the first input record consumed to the last output acknowledged (counted
 *    in the child from the producer's acknowledgements, then checked against
 *    the output topic's record count).
 *      standalone  (with full) the tagger alone in a fresh process, interleaved
 *                  with the runs above: same model, loading and warm-up as
 *                  full, the same --full-posts texts in input order, batches of
 *                  the worker's batchMaxCount; full / standalone is the share
 *                  of the tagger's throughput the pipeline keeps (target 0.85)
 * 2. Latency under an open-loop paced producer at each of --latency-loads
 *    (default 50% and 90%) of each variant's median throughput from leg 1,
 *    or at each of --latency-rates (fixed posts/s, the same for every variant
 *    and for both sides of a limitsPipeline comparison), for --latency-seconds each: from the broker's LogAppendTime of a post to
 *    the LogAppendTime of its output record (= when the broker acknowledged
 *    it), matched by record key (the post id); also from the post's scheduled
 *    send time (its created_at), and how long the last output came after the
 *    last input (drain: small when the variant kept up with the rate). The
 *    full variant's p99 at 50% is set against the issue's bound, 2 x the batch
 *    wait limit + one batch's tagging time (the standalone tagger's mean per
 *    batch, same run). Every run is bounded: the producer stops after
 *    --latency-seconds, the child has a deadline, the reads an idle timeout.
 * 3. Memory: RSS of the worker after 10,000 and after --rss-posts posts
 *    (input produced concurrently, in batches, with bounded lag), the
 *    --memory-variant pipeline: full (default, the worker with the model) or
 *    identity (the framework alone, about 30 times faster); and the model's
 *    tfjs tensor count before and after the full runs.
 * 4. Scaling (only with --legs ...,scaling; not in the default legs, since it
 *    adds 2 x --runs full-model drains per partition count): posts/s of ONE
 *    worker process pinned to core 0 (taskset -c 0) against TWO worker
 *    processes in one consumer group pinned to cores 0 and 1, each with
 *    TF_NUM_INTRAOP_THREADS=1 and TF_NUM_INTEROP_THREADS=1, on an input topic
 *    of each --scaling-partitions count (default 3; e.g. 3,6) holding
 *    --scaling-posts posts (default: --full-posts for the full variant,
 *    --posts for identity), --scaling-variant full|identity (default full).
 *    The members join first; once the group is stable the input is produced
 *    in one burst (on a pre-loaded topic the first member to join would drain
 *    everything before the second arrived). Clock: first record consumed by
 *    any member -> last output acknowledged, the members' acks summing to
 *    the posts. Reports both medians, two/one (target >= 1.7; with 3
 *    partitions a 2+1 split caps it at 1.5) and each member's assignment.
 *
 *   node dist/bench/pipeline.js [--posts N] [--full-posts N] [--runs K] [--partitions P] [--rss-posts N]
 *                               [--latency-seconds S] [--latency-loads 0.5,0.9 | --latency-rates R1,R2] [--variants bare,identity,full (or codec too)] [--legs throughput,latency,memory]
 *                               [--memory-variant full|identity]
 *                               [--worker-option KEY=VALUE ...]   (e.g. maxInFlight=4000; default: the worker's defaults)
 *                               [--texts FILE]   (the posts carry the sentences of this CoNLL file, e.g. WeiboNER's
 *                                 dev split, instead of the sample posts' texts; their other fields as before)
 *                               [--scaling-variant full|identity] [--scaling-posts N] [--scaling-partitions 3[,6]]
 *                               [--profile DIR]   (each measurement process writes a V8 CPU profile to DIR)
 *                               [--node-flags="FLAGS"]   (node/V8 flags for every measurement process, split
 *                                 on spaces; with "=", e.g. --node-flags="--trace-deopt --max-semi-space-size=32")
 *                               [--warmup-posts W]   (bare, codec and identity: the topic holds W + --posts posts;
 *                                 each run reports the cold figure (its first --posts outputs, as without
 *                                 a warm-up) and the warm one (the last --posts, timed from the W-th output
 *                                 acked on, in the same process and consumer); identical for both variants)
 *   e.g. node dist/bench/pipeline.js --legs scaling --runs 3 --scaling-partitions 3,6
 *
 * Prints a Markdown table; writes bench/results/pipeline.json and .md. Every
 * topic and group it creates is deleted at the end (also on SIGINT/SIGTERM).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { defaultModelDir, projectRoot } from '../cli/defaults.js';
import { readTopic } from '../pipeline/kafka/topicReader.js';
import { WORKER_OPTIONS } from '../pipeline/stream/config.js';
import { loadSchema } from '../schemas/registry.js';
import { BenchKafka, ChildRun, checkLocalBrokers, interrupt, produceRange, producePaced, setChildNodeArgs, stopChildren, type DoneMessage } from './pipelineHarness.js';
import { DEFAULT_VARIANTS, VARIANTS, type Variant, type WorkerTask } from './pipelineProtocol.js';
import {
  renderReport,
  type LatencyBound,
  type LatencyResult,
  type PipelineResults,
  type ScalingPartitions,
  type ScalingResult,
  type ScalingRun,
  type StandaloneRun,
  type ThroughputResult,
  type ThroughputRun,
} from './pipelineReport.js';
import { median, quantile } from './stats.js';
import { postFactory, useBenchTexts } from './syntheticPosts.js';
import { benchArgs, nodeFlagsArg } from './args.js';

const LEGS = ['throughput', 'latency', 'memory', 'scaling'] as const;
type Leg = (typeof LEGS)[number];
const DEFAULT_LEGS: readonly Leg[] = ['throughput', 'latency', 'memory'];

const values = benchArgs(import.meta.url, {
    posts: { type: 'string', default: '20000' },
    'warmup-posts': { type: 'string', default: '0' },
    'full-posts': { type: 'string', default: '3000' },
    runs: { type: 'string', default: '3' },
    partitions: { type: 'string', default: '3' },
    'rss-posts': { type: 'string', default: '1000000' },
    'latency-seconds': { type: 'string', default: '20' },
    'latency-warmup-seconds': { type: 'string', default: '2' },
    'latency-loads': { type: 'string', default: '0.5,0.9' },
    'latency-load': { type: 'string' },
    'latency-rates': { type: 'string' },
    variants: { type: 'string', default: DEFAULT_VARIANTS.join(',') },
    legs: { type: 'string', default: DEFAULT_LEGS.join(',') },
    'scaling-variant': { type: 'string', default: 'full' },
    'memory-variant': { type: 'string', default: 'full' },
    'scaling-posts': { type: 'string' },
    'scaling-partitions': { type: 'string', default: '3' },
    brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '127.0.0.1:19092' },
    model: { type: 'string', default: defaultModelDir() },
    'broker-version': { type: 'string' },
    'worker-option': { type: 'string', multiple: true, default: [] },
    profile: { type: 'string' },
    'node-flags': { type: 'string' },
    texts: { type: 'string' },
  });

/** Settings the benchmark itself decides (topics, group, delivery, model). */
const RESERVED = ['brokers', 'clientId', 'groupId', 'inputTopic', 'outputTopic', 'deadLetterTopic', 'startFrom', 'delivery', 'model', 'backend', 'logLevel'];

/** --worker-option KEY=VALUE (a WorkerConfig key, e.g. maxInFlight=4000), repeatable. */
function workerOptions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of values['worker-option'] ?? []) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(item);
    if (!m) throw new Error(`--worker-option ${item}: expected KEY=VALUE with a worker config key, e.g. batchMaxCount=128`);
    if (!WORKER_OPTIONS.some((o) => o.key === m[1]) || RESERVED.includes(m[1])) {
      throw new Error(`--worker-option ${m[1]}: not a worker setting the benchmark lets you change (the benchmark sets ${RESERVED.join(', ')})`);
    }
    out[m[1]] = m[2];
  }
  return out;
}

function int(name: string, min: number): number {
  const v = Number(values[name as keyof typeof values]);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer >= ${min}, got ${String(values[name as keyof typeof values])}`);
  return v;
}
function num(name: string, min: number, max: number): number {
  const v = Number(values[name as keyof typeof values]);
  if (!Number.isFinite(v) || v < min || v > max) throw new Error(`--${name} must be a number in [${min}, ${max}]`);
  return v;
}
function list<T extends string>(name: string, known: readonly T[]): T[] {
  const items = String(values[name as keyof typeof values])
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = items.filter((s) => !known.includes(s as T));
  if (bad.length > 0 || items.length === 0) throw new Error(`--${name}: unknown ${bad.join(', ') || '(empty)'}; choose from ${known.join(', ')}`);
  return items as T[];
}

/** A comma-separated list of numbers, each in [min, max], ascending without repeats; `what` says what they are. */
function numberList(flag: string, given: string, min: number, max: number, what: string): number[] {
  const xs = given.split(',').map((x) => Number(x.trim()));
  if (xs.some((x) => !Number.isFinite(x) || x < min || x > max)) {
    throw new Error(`--${flag}: a comma-separated list of ${what}, each in [${min}, ${max}], got ${given}`);
  }
  return [...new Set(xs)].sort((a, b) => a - b);
}

/** --latency-loads 0.5,0.9 (shares of each variant's median throughput); --latency-load X: just X. */
function loads(): number[] {
  return numberList('latency-loads', String(values['latency-load'] ?? values['latency-loads']!), 0.01, 1, 'shares of the measured maximum');
}

/**
 * --latency-rates 2000,2500: fixed input rates in posts/s, the same for every
 * variant and every side of a comparison (instead of shares of each one's own
 * throughput): what a user with a given input rate sees. No throughput leg needed.
 */
function rates(): number[] | undefined {
  const given = values['latency-rates'];
  return given === undefined ? undefined : numberList('latency-rates', String(given), 1, 1_000_000, 'input rates in posts/s');
}

const opts = {
  posts: int('posts', 1),
  warmupPosts: int('warmup-posts', 0),
  fullPosts: int('full-posts', 1),
  runs: int('runs', 1),
  partitions: int('partitions', 1),
  rssPosts: int('rss-posts', 0),
  latencySeconds: num('latency-seconds', 1, 3600),
  latencyWarmupSeconds: num('latency-warmup-seconds', 0, 3600),
  latencyLoads: loads(),
  latencyRates: rates(),
  variants: list<Variant>('variants', VARIANTS),
  legs: list<Leg>('legs', LEGS),
  brokers: values.brokers!.split(',').map((b) => b.trim()),
  model: values.model!,
  workerOptions: workerOptions(),
  scalingVariant: list<Variant>('scaling-variant', ['identity', 'full'])[0],
  memoryVariant: list<Variant>('memory-variant', ['identity', 'full'])[0],
  scalingPosts: 0,
  scalingPartitions: String(values['scaling-partitions'])
    .split(',')
    .map((x) => Number(x.trim())),
};
if (values['scaling-variant']!.includes(',')) throw new Error('--scaling-variant: one of identity, full');
if (values['memory-variant']!.includes(',')) throw new Error('--memory-variant: one of identity, full');
opts.scalingPosts = values['scaling-posts'] !== undefined ? int('scaling-posts', 1) : opts.scalingVariant === 'full' ? opts.fullPosts : opts.posts;
if (opts.scalingPartitions.length === 0 || opts.scalingPartitions.some((p) => !Number.isInteger(p) || p < 1)) {
  throw new Error(`--scaling-partitions: a comma-separated list of integers >= 1, got ${values['scaling-partitions']}`);
}
if (opts.legs.includes('scaling') && cpus().length < 2) throw new Error('the scaling leg pins two workers to cores 0 and 1: it needs at least 2 cores');
checkLocalBrokers(opts.brokers);
// --profile DIR: every measurement process writes a V8 CPU profile there (open it in Chrome DevTools); the timed figures then include the profiler's cost
// --node-flags "...": passed to every measurement process as well (after the profiler's)
const nodeFlags = nodeFlagsArg(values['node-flags']);
// --texts FILE: the posts carry the sentences of a CoNLL file (real lengths) instead of the sample posts' texts
const texts = useBenchTexts(values.texts);
setChildNodeArgs([...(values.profile !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : []), ...nodeFlags]);
if (opts.legs.includes('latency') && !opts.legs.includes('throughput') && !opts.latencyRates) {
  throw new Error('the latency leg paces at a share of the measured throughput: run it with --legs throughput,latency, or give fixed --latency-rates');
}
const MEMORY_FIRST = 10_000;

/** Slowest rates (posts/s) we still wait for, to bound every run. */
const FLOOR: Record<Variant, number> = { bare: 200, codec: 100, identity: 100, full: 5 };
const deadline = (variant: Variant, posts: number, extraS = 0) => Math.round((60 + extraS + posts / FLOOR[variant]) * 1000);

function brokerVersion(): string {
  if (values['broker-version']) return values['broker-version'];
  try {
    const jar = readdirSync(join(projectRoot(), 'deploy', 'kafka', 'target', 'libs')).find((f) => /^kafka_2\.\d+-.+\.jar$/.test(f));
    return jar?.replace(/^kafka_2\.\d+-(.+)\.jar$/, '$1') ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const log = (msg: string) => process.stderr.write(`[pipeline bench] ${msg}\n`);
const prefix = `bench-pipeline-${Date.now().toString(36)}`;
const kafka = await BenchKafka.open(opts.brokers);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupt.signal.aborted) process.exit(130);
    log(`${signal}: stopping; the topics and groups of this run are deleted next (${signal} again: exit at once)`);
    interrupt.abort();
    void stopChildren();
  });
}

function task(variant: Variant, name: string, t: Partial<WorkerTask> & Pick<WorkerTask, 'inputTopic' | 'deadlineMs'>): WorkerTask {
  return {
    variant,
    brokers: opts.brokers,
    outputTopic: `${name}.out`,
    deadLetterTopic: `${name}.dlq`,
    groupId: kafka.group(name),
    partitions: opts.partitions,
    checkpoints: [],
    progressEvery: 5000,
    model: opts.model,
    workerOptions: opts.workerOptions,
    ...t,
  };
}

async function outputTopics(name: string, logAppendTime: boolean, partitions = opts.partitions): Promise<void> {
  await kafka.create(`${name}.out`, partitions, { logAppendTime });
  await kafka.create(`${name}.dlq`, 1);
}

const results: PipelineResults = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, kernel: release(), memTotalBytes: totalmem(), loadavgStart: loadavg() },
  broker: { version: brokerVersion(), brokers: opts.brokers },
  settings: {
    ...opts,
    memoryCheckpoints: [],
    ...(nodeFlags.length > 0 ? { nodeFlags } : {}),
    ...(texts !== undefined ? { texts } : {}),
    ...(opts.legs.includes('scaling') ? {} : { scalingVariant: undefined, scalingPosts: undefined, scalingPartitions: undefined }),
  },
  throughput: {},
  ratios: {},
  latency: {},
};

/** 1. Throughput: pre-load, then the variants interleaved, --runs times. */
async function throughputLeg(): Promise<void> {
  const inputs: Partial<Record<Variant, { topic: string; posts: number; chars: number; warmup: number }>> = {};
  for (const [which, posts] of [
    ['main', opts.posts],
    ['full', opts.fullPosts],
  ] as const) {
    const users = opts.variants.filter((v) => (v === 'full') === (which === 'full'));
    if (users.length === 0) continue;
    const topic = await kafka.create(`${prefix}.tp-${which}.in`, opts.partitions);
    const writer = await kafka.writer(topic);
    // the warm-up (bare and identity only) comes on top: the cold span times the first `posts`, the warm span the last
    const warmup = which === 'main' ? opts.warmupPosts : 0;
    log(`producing ${posts + warmup} posts to ${topic}`);
    const make = postFactory(`${prefix}-${which}-`);
    const chars = await produceRange(writer, make, 0, posts)
      .then(async (c) => (await produceRange(writer, make, posts, posts + warmup), c))
      .finally(() => writer.close());
    for (const v of users) inputs[v] = { topic, posts, chars, warmup };
  }
  for (let r = 0; r < opts.runs; r++) {
    for (const variant of opts.variants) {
      const input = inputs[variant]!;
      const name = `${prefix}.tp-${variant}.r${r}`;
      await outputTopics(name, false);
      log(`throughput ${variant} run ${r + 1}/${opts.runs}: ${input.posts} posts${input.warmup > 0 ? ` (cold), then ${input.warmup} posts of warm-up and the last ${input.posts} timed again (warm)` : ''}`);
      const load1 = loadavg()[0];
      const total = input.posts + input.warmup;
      const run = new ChildRun(
        task(variant, name, { inputTopic: input.topic, target: total, ...(input.warmup > 0 ? { warmupPosts: input.warmup } : {}), deadlineMs: deadline(variant, total) }),
      );
      const done: DoneMessage = await run.done;
      if (interrupt.signal.aborted) throw new Error('interrupted');
      const out = await kafka.count(`${name}.out`);
      const dlq = await kafka.count(`${name}.dlq`);
      const uncommitted = await kafka.uncommitted(name, input.topic);
      await kafka.deleteGroups([name]);
      await kafka.delete([`${name}.out`, `${name}.dlq`]);
      // the bare loop acks whole requests: with a warm-up behind them, the cold span can end a little past `posts`
      const coldPosts = done.coldAcked ?? input.posts;
      const entry: ThroughputRun = {
        posts: input.posts,
        ...(input.warmup > 0 ? { warmupPosts: input.warmup } : {}),
        acked: done.acked,
        seconds: done.seconds,
        postsPerSecond: coldPosts / done.seconds,
        charsPerSecond: (input.chars * (coldPosts / input.posts)) / done.seconds,
        loadavg1: load1,
        ...(done.cpuSeconds !== undefined && done.seconds > 0 ? { cpuPerWallSecond: done.cpuSeconds / done.seconds } : {}),
        outputRecords: out,
        deadLetterRecords: dlq,
        uncommitted,
        ...(done.tensors ? { tensors: done.tensors } : {}),
        ...(done.tagging ? { tagging: done.tagging } : {}),
        ...(done.cpuSeconds !== undefined ? { cpuUsPerPost: (1e6 * done.cpuSeconds) / coldPosts } : {}),
        ...(done.mainThreadBusy !== undefined ? { mainThreadBusy: done.mainThreadBusy } : {}),
        ...(done.tailSeconds !== undefined ? { tailMs: 1000 * done.tailSeconds } : {}),
        ...(done.halfSeconds !== undefined && done.seconds > done.halfSeconds
          ? { secondHalfPostsPerSecond: (input.posts - Math.ceil(input.posts / 2)) / (done.seconds - done.halfSeconds) }
          : {}),
        ...(done.warm
          ? {
              warm: {
                posts: done.warm.posts,
                seconds: done.warm.seconds,
                postsPerSecond: done.warm.posts / done.warm.seconds,
                cpuUsPerPost: (1e6 * done.warm.cpuSeconds) / done.warm.posts,
                mainThreadBusy: done.warm.mainThreadBusy,
                cpuPerWallSecond: done.warm.cpuSeconds / done.warm.seconds,
              },
            }
          : {}),
      };
      if (done.settings) results.settings.batch = done.settings;
      const extra = `${entry.secondHalfPostsPerSecond !== undefined ? `, second half ${Math.round(entry.secondHalfPostsPerSecond)} posts/s` : ''}${entry.cpuUsPerPost !== undefined ? `, CPU ${entry.cpuUsPerPost.toFixed(1)} us/post` : ''}${entry.mainThreadBusy !== undefined ? `, main thread busy ${(100 * entry.mainThreadBusy).toFixed(0)}%` : ''}${entry.tailMs !== undefined ? `, tail ${entry.tailMs.toFixed(1)} ms` : ''}`;
      const w = entry.warm;
      if (w) log(`  warm (last ${w.posts} after the warm-up): ${Math.round(w.postsPerSecond)} posts/s, CPU ${w.cpuUsPerPost.toFixed(1)} us/post, main thread busy ${(100 * w.mainThreadBusy).toFixed(0)}%`);
      log(`  ${Math.round(entry.postsPerSecond)} posts/s${extra}, ${Math.round(entry.charsPerSecond)} chars/s; output topic holds ${out} records, dead letters ${dlq}, input records after the group's commit ${uncommitted}`);
      const t = (results.throughput[variant] ??= { posts: input.posts, chars: input.chars, runs: [], medianPostsPerSecond: 0, medianCharsPerSecond: 0 });
      t.runs.push(entry);
      const backend = await run.ready;
      if (backend) t.backend = backend;
    }
    if (inputs.full) await standaloneRun(inputs.full, r);
  }
  await kafka.delete([...new Set(Object.values(inputs).map((i) => i!.topic))]);
  for (const t of Object.values(results.throughput)) {
    t!.medianPostsPerSecond = median(t!.runs.map((r) => r.postsPerSecond));
    t!.medianCharsPerSecond = median(t!.runs.map((r) => r.charsPerSecond));
  }
  const tp = results.throughput;
  /** The median of f over the runs, when every run has it. */
  const med = (runs: ThroughputRun[], f: (x: ThroughputRun) => number | undefined): number | undefined => {
    const xs = runs.map(f).filter((x): x is number => x !== undefined);
    return xs.length === runs.length && xs.length > 0 ? median(xs) : undefined;
  };
  if (tp.bare && tp.identity) {
    const [b, i] = [tp.bare, tp.identity];
    results.ratios.identityOverBare = i.medianPostsPerSecond / b.medianPostsPerSecond;
    results.ratios.identityOverBarePaired = i.runs.slice(0, b.runs.length).map((x, r) => x.postsPerSecond / b.runs[r].postsPerSecond);
    const [bh, ih] = [med(b.runs, (x) => x.secondHalfPostsPerSecond), med(i.runs, (x) => x.secondHalfPostsPerSecond)];
    if (bh !== undefined && ih !== undefined) results.ratios.identityOverBareSecondHalf = ih / bh;
    const [bt, it] = [med(b.runs, (x) => x.tailMs), med(i.runs, (x) => x.tailMs)];
    if (bt !== undefined && it !== undefined) {
      results.ratios.tailMs = { bare: bt, identity: it };
      results.ratios.identityOverBareNoTail = median(i.runs.slice(0, b.runs.length).map((x, r) => (b.runs[r].seconds - b.runs[r].tailMs! / 1000) / (x.seconds - x.tailMs! / 1000)));
    }
    const [bc, ic] = [med(b.runs, (x) => x.cpuUsPerPost), med(i.runs, (x) => x.cpuUsPerPost)];
    if (bc !== undefined && ic !== undefined) results.ratios.identityOverBareCpu = bc / ic;
    const [bw, iw] = [med(b.runs, (x) => x.warm?.postsPerSecond), med(i.runs, (x) => x.warm?.postsPerSecond)];
    if (bw !== undefined && iw !== undefined) {
      results.ratios.identityOverBareWarm = iw / bw;
      results.ratios.identityOverBareWarmPaired = i.runs.slice(0, b.runs.length).map((x, r) => x.warm!.postsPerSecond / b.runs[r].warm!.postsPerSecond);
      const [bwc, iwc] = [med(b.runs, (x) => x.warm?.cpuUsPerPost), med(i.runs, (x) => x.warm?.cpuUsPerPost)];
      results.ratios.identityOverBareWarmCpu = bwc! / iwc!;
    }
  }
  const cpu = (t: ThroughputResult): number | undefined => med(t.runs, (x) => x.cpuUsPerPost);
  const cpuRatio = (a?: number, b?: number): number | undefined => (a !== undefined && b !== undefined ? a / b : undefined);
  if (tp.codec && tp.bare) {
    results.ratios.codecOverBare = tp.codec.medianPostsPerSecond / tp.bare.medianPostsPerSecond;
    results.ratios.codecOverBareCpu = cpuRatio(cpu(tp.bare), cpu(tp.codec));
  }
  if (tp.codec && tp.identity) {
    results.ratios.identityOverCodec = tp.identity.medianPostsPerSecond / tp.codec.medianPostsPerSecond;
    results.ratios.identityOverCodecCpu = cpuRatio(cpu(tp.codec), cpu(tp.identity));
  }
  if (tp.identity && tp.full) results.ratios.fullOverIdentity = tp.full.medianPostsPerSecond / tp.identity.medianPostsPerSecond;
  const sa = results.standalone;
  if (sa) {
    sa.medianPostsPerSecond = median(sa.runs.map((x) => x.postsPerSecond));
    sa.medianCharsPerSecond = median(sa.runs.map((x) => x.charsPerSecond));
    sa.medianBatchMs = median(sa.runs.map((x) => x.tagging.meanMs));
    if (tp.full) results.ratios.fullOverStandalone = tp.full.medianPostsPerSecond / sa.medianPostsPerSecond;
  }
}

/** The tagger alone on the full variant's texts (same model, batch size, warm-up), interleaved with the throughput runs. */
async function standaloneRun(input: { topic: string; posts: number; chars: number }, r: number): Promise<void> {
  log(`standalone tagger run ${r + 1}/${opts.runs}: ${input.posts} posts`);
  const run = new ChildRun(task('full', `${prefix}.standalone.r${r}`, { inputTopic: input.topic /* not read */, standalone: { posts: input.posts }, target: input.posts, deadlineMs: deadline('full', input.posts) }));
  const done = await run.done;
  if (interrupt.signal.aborted) throw new Error('interrupted');
  if (!done.tagging || !done.settings) throw new Error('standalone: the child reported no tagging statistics');
  const entry: StandaloneRun = {
    seconds: done.seconds,
    postsPerSecond: input.posts / done.seconds,
    charsPerSecond: input.chars / done.seconds,
    tagging: done.tagging,
  };
  log(`  ${Math.round(entry.postsPerSecond)} posts/s, ${Math.round(entry.charsPerSecond)} chars/s; ${done.tagging.batches} batches, ${done.tagging.meanMs.toFixed(1)} ms each on average`);
  const sa = (results.standalone ??= {
    posts: input.posts,
    chars: input.chars,
    batchSize: done.settings.batchMaxCount,
    runs: [],
    medianPostsPerSecond: 0,
    medianCharsPerSecond: 0,
    medianBatchMs: 0,
  });
  sa.runs.push(entry);
  const backend = await run.ready;
  if (backend) sa.backend = backend;
}

/** A latency leg's input rate: a share of the variant's throughput (--latency-loads) or a fixed rate (--latency-rates). */
type Pace = { load: number } | { rate: number };

/** 2. Latency at a pace: a share (`load`) of the variant's median throughput measured above, or a fixed rate. */
async function latencyLeg(variant: Variant, pace: Pace): Promise<LatencyResult> {
  const max = results.throughput[variant]?.medianPostsPerSecond;
  const fixed = 'rate' in pace;
  const rate = fixed ? pace.rate : pace.load * max!;
  // a fixed rate's load, when this run measured the throughput it is a share of
  const load = !fixed ? pace.load : max === undefined ? null : rate / max;
  const name = `${prefix}.lat-${variant}-${fixed ? `r${Math.round(rate)}` : Math.round(100 * pace.load)}`;
  // Both topics stamp records with the broker's append time.
  const input = await kafka.create(`${name}.in`, opts.partitions, { logAppendTime: true });
  await outputTopics(name, true);
  const expected = Math.round(rate * opts.latencySeconds);
  const run = new ChildRun(task(variant, name, { inputTopic: input, deadlineMs: deadline(variant, expected, opts.latencySeconds) }));
  const backend = await run.ready;
  log(`latency ${variant} at ${load === null ? 'a fixed rate' : `${Math.round(100 * load)}%`}: ${rate.toFixed(1)} posts/s for ${opts.latencySeconds} s`);
  const writer = await kafka.writer(input);
  const paced = await producePaced(writer, postFactory(`${name}-`), rate, opts.latencySeconds).finally(() => writer.close());
  run.tell({ type: 'target', n: paced.sent });
  const done = await run.done;

  const read = (topic: string, onRecord: (key: string, timestamp: number, value: Buffer) => void) =>
    readTopic({
      brokers: opts.brokers,
      clientId: 'bench-pipeline-reader',
      topic,
      groupId: kafka.group(`${topic}.reader`),
      fromBeginning: true,
      max: paced.sent,
      idleTimeoutMs: 15_000,
      onRecord: (rec) => onRecord(rec.key?.toString('utf8') ?? '', Number(rec.timestamp), rec.value!),
    });
  const appended = new Map<string, number>();
  let lastIn = -Infinity;
  let lastOut = -Infinity;
  await read(input, (key, timestamp) => {
    appended.set(key, timestamp);
    lastIn = Math.max(lastIn, timestamp);
  });
  const type = loadSchema(variant === 'bare' ? 'post' : 'mentions');
  const e2e: number[] = [];
  const fromSchedule: number[] = [];
  const inWorker: number[] = [];
  const from = paced.start + opts.latencyWarmupSeconds * 1000;
  let outputs = 0;
  await read(`${name}.out`, (key, timestamp, value) => {
    outputs++;
    lastOut = Math.max(lastOut, timestamp);
    const v = type.fromBuffer(value) as { created_at: number; latency_ms?: number | null };
    if (v.created_at < from) return;
    const inAt = appended.get(key);
    if (inAt !== undefined) e2e.push(timestamp - inAt);
    fromSchedule.push(timestamp - v.created_at);
    if (typeof v.latency_ms === 'number') inWorker.push(v.latency_ms);
  });
  await kafka.delete([input, `${name}.out`, `${name}.dlq`]);
  const q = (xs: number[]) => (xs.length > 0 ? { p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: quantile(xs, 1) } : { p50: NaN, p99: NaN, max: NaN });
  if (done.settings) results.settings.batch = done.settings;
  return {
    ...(backend ? { backend } : {}),
    load,
    ...(fixed ? { fixedRate: true } : {}),
    targetRate: rate,
    achievedRate: paced.sent / paced.seconds,
    seconds: opts.latencySeconds,
    sent: paced.sent,
    outputs,
    measured: e2e.length,
    producerMaxBehindMs: paced.maxBehindMs,
    drainMs: lastOut - lastIn,
    e2eMs: q(e2e),
    fromScheduleMs: q(fromSchedule),
    ...(inWorker.length > 0 ? { inWorkerMs: q(inWorker) } : {}),
    ...(done.tensors ? { tensors: done.tensors } : {}),
    ...(done.tagging ? { tagging: done.tagging } : {}),
  };
}

/**
 * The performance issue's bound on p99 end-to-end latency at 50% load:
 * 2 x the batch wait limit + one batch's tagging time, the latter from the
 * standalone tagger of this run (mean time of a batch of batchMaxCount posts).
 */
function latencyBound(): LatencyBound | undefined {
  const lat = results.latency.full?.find((l) => l.load === 0.5 && !l.fixedRate);
  const batch = results.settings.batch;
  if (!lat || !results.standalone || !batch) return undefined;
  const waitMs = batch.batchMode === 'fixed' ? batch.batchMaxWaitMs : 0;
  const boundMs = 2 * waitMs + results.standalone.medianBatchMs;
  return { load: 0.5, p99Ms: lat.e2eMs.p99, waitMs, batchMode: batch.batchMode, batchTaggingMs: results.standalone.medianBatchMs, boundMs, met: lat.e2eMs.p99 < boundMs };
}

/** 3. Memory of the --memory-variant pipeline (full by default, or identity) over a long input, produced while it runs. */
async function memoryLeg(): Promise<NonNullable<PipelineResults['memory']>> {
  const variant = opts.memoryVariant;
  const total = Math.max(MEMORY_FIRST, opts.rssPosts);
  // 10,000 and the end; in between, quarters show the trend on long runs
  const quarters = total >= 4 * MEMORY_FIRST ? [1, 2, 3].map((q) => Math.round((q * total) / 4)) : [];
  const checkpoints = [...new Set([MEMORY_FIRST, ...quarters, total])];
  results.settings.memoryCheckpoints = checkpoints;
  const name = `${prefix}.mem`;
  const input = await kafka.create(`${name}.in`, opts.partitions);
  await outputTopics(name, false);
  const run = new ChildRun(task(variant, name, { inputTopic: input, target: total, checkpoints, progressEvery: 5000, deadlineMs: deadline(variant, total, 120) }));
  const backend = await run.ready;
  log(`memory: ${total} posts through the ${variant} pipeline`);
  const writer = await kafka.writer(input);
  const make = postFactory(`${name}-`);
  const maxLag = 50_000;
  const batch = 2000;
  try {
    for (let i = 0; i < total && run.running; i += batch) {
      while (i - run.acked > maxLag && run.running) await run.nextProgress(1000);
      await produceRange(writer, make, i, Math.min(total, i + batch), batch);
      if (i % 100_000 === 0 && i > 0) log(`  produced ${i}, acked ${run.acked}`);
    }
  } finally {
    await writer.close();
  }
  const done = await run.done;
  await kafka.delete([input, `${name}.out`, `${name}.dlq`]);
  return { snapshots: run.memory, seconds: done.seconds, posts: total, variant, ...(backend ? { backend } : {}) };
}

/** 4. One pinned worker against two pinned workers in one group. */
const SCALING_TARGET = 1.7;
const PIN_ENV = { TF_NUM_INTRAOP_THREADS: '1', TF_NUM_INTEROP_THREADS: '1' };

async function scalingRun(variant: Variant, partitions: number, workers: number, r: number): Promise<{ run: ScalingRun; chars: number; backend?: string }> {
  const posts = opts.scalingPosts;
  const name = `${prefix}.sc-${variant}-p${partitions}-w${workers}.r${r}`;
  const input = await kafka.create(`${name}.in`, partitions);
  await outputTopics(name, false, partitions);
  log(`scaling ${variant}, ${partitions} partitions, ${workers} worker${workers > 1 ? 's' : ''}, run ${r + 1}/${opts.runs}: ${posts} posts`);
  const members = Array.from(
    { length: workers },
    (_, cpu) =>
      new ChildRun(
        task(variant, name, {
          inputTopic: input,
          partitions,
          groupMember: true,
          progressEvery: 1_000_000,
          progressIntervalMs: 100,
          deadlineMs: deadline(variant, posts, 60),
        }),
        { cpu, env: PIN_ENV },
      ),
  );
  // a member that fails rejects this, ending the waits below
  const failed = Promise.all(members.map((m) => m.done)).then(() => {
    throw new Error('a scaling member exited before the run ended');
  });
  failed.catch(() => undefined);
  const within = async <T>(p: Promise<T>): Promise<T> => Promise.race([p, failed]);
  const [backend] = await within(Promise.all(members.map((m) => m.ready)));
  // stable: every member's latest assignment non-empty (when there are enough partitions), disjoint, covering all
  const latest = () => members.map((m) => m.assignments[m.assignments.length - 1] ?? []);
  const stable = () => {
    const all = latest().flat();
    return new Set(all).size === partitions && all.length === partitions && latest().every((a) => a.length > 0 || workers > partitions);
  };
  const joinBy = Date.now() + 60_000;
  while (!stable()) {
    if (Date.now() > joinBy) throw new Error(`scaling: no stable assignment within 60 s: ${JSON.stringify(latest())}`);
    await within(sleep(50));
  }
  await within(sleep(500)); // no rebalance right behind
  if (!stable()) throw new Error('scaling: the group rebalanced again after it looked stable');
  const seen = members.map((m) => m.assignments.length);
  const assignment = latest();

  const writer = await kafka.writer(input);
  const t0 = Date.now();
  const chars = await produceRange(writer, postFactory(`${name}-`), 0, posts, 2000).finally(() => writer.close());
  const produceSeconds = (Date.now() - t0) / 1000;
  const until = Date.now() + deadline(variant, posts, 30);
  while (members.reduce((a, m) => a + m.acked, 0) < posts) {
    if (Date.now() > until) throw new Error(`scaling: deadline passed with ${members.map((m) => m.acked).join(' + ')} of ${posts} outputs acked`);
    await within(Promise.race(members.map((m) => m.nextProgress(1000))));
  }
  for (const m of members) m.tell({ type: 'stop' });
  const done: DoneMessage[] = await Promise.all(members.map((m) => m.done));
  if (interrupt.signal.aborted) throw new Error('interrupted');
  const firsts = done.map((d) => d.firstAtEpochMs).filter((x): x is number => x !== undefined);
  const lasts = done.map((d) => d.lastAckAtEpochMs).filter((x): x is number => x !== undefined);
  const seconds = (Math.max(...lasts) - Math.min(...firsts)) / 1000;
  const out = await kafka.count(`${name}.out`);
  const dlq = await kafka.count(`${name}.dlq`);
  const uncommitted = await kafka.uncommitted(name, input);
  await kafka.deleteGroups([name]);
  await kafka.delete([input, `${name}.out`, `${name}.dlq`]);
  const run: ScalingRun = {
    workers,
    posts,
    seconds,
    postsPerSecond: posts / seconds,
    produceSeconds,
    outputRecords: out,
    deadLetterRecords: dlq,
    uncommitted,
    members: members.map((m, cpu) => ({
      cpu,
      ...(m.cpus !== undefined ? { cpusAllowed: m.cpus } : {}),
      assignment: assignment[cpu],
      laterAssignments: m.assignments.slice(seen[cpu]),
      consumedByPartition: done[cpu].consumedByPartition ?? {},
      acked: done[cpu].acked,
    })),
  };
  const desc = run.members.map((m) => `cpu ${m.cpu}${m.cpusAllowed !== undefined ? ` (allowed ${m.cpusAllowed})` : ''} [${m.assignment.join(',')}] acked ${m.acked}`).join('; ');
  log(`  ${Math.round(run.postsPerSecond)} posts/s (${seconds.toFixed(2)} s; input produced in ${produceSeconds.toFixed(2)} s); ${desc}; output topic holds ${out}, dead letters ${dlq}, uncommitted ${uncommitted}`);
  return { run, chars, ...(backend ? { backend } : {}) };
}

async function scalingLeg(): Promise<ScalingResult> {
  const variant = opts.scalingVariant;
  const result: ScalingResult = { variant, posts: opts.scalingPosts, chars: 0, targetRatio: SCALING_TARGET, byPartitions: [] };
  for (const partitions of opts.scalingPartitions) {
    const p: ScalingPartitions = { partitions, one: [], two: [], medianOne: 0, medianTwo: 0, ratio: 0, idealRatio: partitions / Math.ceil(partitions / 2) };
    for (let r = 0; r < opts.runs; r++) {
      for (const workers of [1, 2]) {
        const { run, chars, backend } = await scalingRun(variant, partitions, workers, r);
        result.chars = chars;
        if (backend) result.backend = backend;
        (workers === 1 ? p.one : p.two).push(run);
      }
    }
    p.medianOne = median(p.one.map((x) => x.postsPerSecond));
    p.medianTwo = median(p.two.map((x) => x.postsPerSecond));
    p.ratio = p.medianTwo / p.medianOne;
    log(`scaling, ${partitions} partitions: one ${Math.round(p.medianOne)} posts/s, two ${Math.round(p.medianTwo)} posts/s, two/one ${p.ratio.toFixed(2)} (ideal for the split ${p.idealRatio.toFixed(2)}, target ${SCALING_TARGET})`);
    result.byPartitions.push(p);
  }
  return result;
}

try {
  if (opts.legs.includes('throughput')) await throughputLeg();
  if (opts.legs.includes('latency')) {
    const paces: Pace[] = opts.latencyRates ? opts.latencyRates.map((rate) => ({ rate })) : opts.latencyLoads.map((load) => ({ load }));
    for (const pace of paces) {
      for (const v of opts.variants) (results.latency[v] ??= []).push(await latencyLeg(v, pace));
    }
    results.latencyBound = latencyBound();
  }
  if (opts.legs.includes('memory')) results.memory = await memoryLeg();
  if (opts.legs.includes('scaling')) results.scaling = await scalingLeg();
} catch (err) {
  if (!interrupt.signal.aborted) throw err;
} finally {
  await stopChildren();
  await kafka.cleanup();
  await kafka.close();
}
if (interrupt.signal.aborted) {
  log('interrupted: no results written');
  process.exit(130);
}
results.machine.loadavgEnd = loadavg();

const md = renderReport(results);
process.stdout.write(md);
const dir = join(projectRoot(), 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'pipeline.json'), JSON.stringify(results, null, 1) + '\n');
writeFileSync(join(dir, 'pipeline.md'), md);
