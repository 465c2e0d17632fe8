/** The results of bench/pipeline.ts, and their Markdown rendering. */
import path from 'node:path';
import type { BatchSettings, MemorySnapshot, TaggingStats, TensorCounts, Variant } from './pipelineProtocol.js';
import { median } from './stats.js';

export interface ThroughputRun {
  posts: number;
  /** Outputs acknowledged when the clock stopped (>= posts). */
  acked: number;
  /** First input record consumed -> posts-th output acknowledged. */
  seconds: number;
  postsPerSecond: number;
  charsPerSecond: number;
  /** Records on the run's output topic afterwards (should equal posts). */
  outputRecords: number;
  deadLetterRecords: number;
  /** Input records after the group's committed offsets once the process has stopped (0: the final commit covered everything). */
  uncommitted: number;
  tensors?: TensorCounts;
  /** The tagger calls of the run (pipeline variants). */
  tagging?: TaggingStats;
  /** CPU of the measuring process over the clock's span, microseconds per post (all its threads). */
  cpuUsPerPost?: number;
  /** Share of the clock's span the measuring process's event loop was busy (1: the main thread set the pace; lower: it waited, e.g. for the broker). */
  mainThreadBusy?: number;
  /** Posts/s of the second half of the drain (from the (posts/2)-th output acked to the last): past the start-up and JIT warm-up. */
  secondHalfPostsPerSecond?: number;
  /** The drain's tail: from the last input record of the span handed on to the span's end, ms. */
  tailMs?: number;
  /** --warmup-posts: the posts drained after the cold span and before the warm one (the topic holds posts + warmupPosts). */
  warmupPosts?: number;
  /** The 1-minute load average just before the run (the other jobs on the machine). */
  loadavg1?: number;
  /** CPU seconds of the measuring process per wall second of the span: under 1 with the main thread busy means it waited for a core (other processes ran). */
  cpuPerWallSecond?: number;
  /** --warmup-posts: the last `posts` outputs, timed from the warmupPosts-th output acked on (same process and consumer). */
  warm?: { posts: number; seconds: number; postsPerSecond: number; cpuUsPerPost: number; mainThreadBusy: number; cpuPerWallSecond: number };
}

/** One run of the tagger alone (see WorkerTask.standalone). */
export interface StandaloneRun {
  /** First tagger call started -> last one returned. */
  seconds: number;
  postsPerSecond: number;
  charsPerSecond: number;
  tagging: TaggingStats;
}

export interface StandaloneResult {
  posts: number;
  chars: number;
  /** Posts per tagger call (the worker's batchMaxCount). */
  batchSize: number;
  backend?: string;
  runs: StandaloneRun[];
  medianPostsPerSecond: number;
  medianCharsPerSecond: number;
  /** Median over runs of the mean time of one batch, ms. */
  medianBatchMs: number;
}

/** p99 end-to-end at 50% load against 2 x the batch wait limit + one batch's tagging time (full variant). */
export interface LatencyBound {
  load: number;
  p99Ms: number;
  batchMode: string;
  /** The batch wait limit counted (batchMaxWaitMs in fixed mode; 0 in adaptive mode, which has no timer). */
  waitMs: number;
  /** One batch of batchMaxCount posts, the standalone tagger of the same run (StandaloneResult.medianBatchMs). */
  batchTaggingMs: number;
  boundMs: number;
  met: boolean;
}

export interface ThroughputResult {
  posts: number;
  /** Code points of all input posts. */
  chars: number;
  runs: ThroughputRun[];
  /** tfjs backend of the worker (full variant). */
  backend?: string;
  medianPostsPerSecond: number;
  medianCharsPerSecond: number;
}

export interface Quantiles {
  p50: number;
  p99: number;
  max: number;
}

export interface LatencyResult {
  backend?: string;
  /** Share of the variant's median throughput the producer paces at (with a fixed rate: rate / that median, null without a throughput leg). */
  load: number | null;
  /** Paced at a fixed rate (--latency-rates), the same for every variant, not at a share of its throughput. */
  fixedRate?: boolean;
  targetRate: number;
  achievedRate: number;
  seconds: number;
  sent: number;
  /** Output records read back. */
  outputs: number;
  /** Outputs counted in the quantiles (those scheduled after the warm-up). */
  measured: number;
  producerMaxBehindMs: number;
  /** Last output's LogAppendTime - last input's LogAppendTime: about one latency when the variant kept up, the backlog when it did not. */
  drainMs: number;
  /** LogAppendTime of the post -> LogAppendTime of its output. */
  e2eMs: Quantiles;
  /** Scheduled send time of the post (its created_at) -> LogAppendTime of its output. */
  fromScheduleMs: Quantiles;
  /** latency_ms of the output records (record received by the worker -> record built), pipeline variants only. */
  inWorkerMs?: Quantiles;
  tensors?: TensorCounts;
  /** The tagger calls during the run (pipeline variants). */
  tagging?: TaggingStats;
}

/** One worker process of a scaling run. */
export interface ScalingMember {
  /** The CPU it was pinned to (taskset -c) and what the process reported as allowed. */
  cpu: number;
  cpusAllowed?: string;
  /** Its assignment when the input was produced (the stable one the run waited for). */
  assignment: number[];
  /** Assignments it reported after that (non-empty: the group rebalanced during the run). */
  laterAssignments: number[][];
  /** Input records it consumed per partition, and outputs it had acked. */
  consumedByPartition: Record<string, number>;
  acked: number;
}

export interface ScalingRun {
  workers: number;
  posts: number;
  /** First record consumed by any worker -> last output acknowledged by any worker (the members' acks summing to posts). */
  seconds: number;
  postsPerSecond: number;
  /** Wall time of producing the input burst (after the group was stable). */
  produceSeconds: number;
  outputRecords: number;
  deadLetterRecords: number;
  uncommitted: number;
  members: ScalingMember[];
}

export interface ScalingPartitions {
  partitions: number;
  one: ScalingRun[];
  two: ScalingRun[];
  medianOne: number;
  medianTwo: number;
  /** medianTwo / medianOne. */
  ratio: number;
  /** partitions / ceil(partitions / 2): the best two/one ratio when the busier worker holds ceil(P/2) equally loaded partitions. */
  idealRatio: number;
}

export interface ScalingResult {
  variant: Variant;
  backend?: string;
  posts: number;
  chars: number;
  /** The issue's target for two workers / one worker. */
  targetRatio: number;
  byPartitions: ScalingPartitions[];
}

export interface PipelineResults {
  date: string;
  machine: { cpu: string; cores: number; node: string; kernel: string; memTotalBytes: number; loadavgStart: number[]; loadavgEnd?: number[] };
  broker: { version: string; brokers: string[] };
  settings: {
    posts: number;
    fullPosts: number;
    runs: number;
    partitions: number;
    rssPosts: number;
    latencySeconds: number;
    latencyWarmupSeconds: number;
    latencyLoads: number[];
    /** Fixed input rates of the latency legs, posts/s (--latency-rates), when given instead of loads. */
    latencyRates?: number[];
    /** The batch settings the workers ran with (reported by the children). */
    batch?: BatchSettings;
    variants: Variant[];
    legs: string[];
    model: string;
    workerOptions: Record<string, string>;
    /** Node/V8 flags of every measurement process (--node-flags), when given. */
    nodeFlags?: string[];
    /** The CoNLL file whose sentences the posts carry (--texts), when given. */
    texts?: string;
    memoryCheckpoints: number[];
    scalingVariant?: Variant;
    scalingPosts?: number;
    scalingPartitions?: number[];
  };
  throughput: Partial<Record<Variant, ThroughputResult>>;
  ratios: {
    identityOverBare?: number;
    fullOverIdentity?: number;
    fullOverStandalone?: number;
    /** identity / bare of run r against run r (the two ran back to back), one per run. */
    identityOverBarePaired?: number[];
    /** identity / bare of the median second-half posts/s (warm). */
    identityOverBareSecondHalf?: number;
    /** bare / identity of the median CPU microseconds per post (the share of the bare loop's CPU cost: load-independent). */
    identityOverBareCpu?: number;
    /** Median drain tail (ms) of each variant: from the last input record handed on to the span's end. */
    tailMs?: { bare: number; identity: number };
    /** identity / bare run by run with each run's tail left out of its span (median): the ratio without the end-of-drain waits. */
    identityOverBareNoTail?: number;
    /** --warmup-posts: identity / bare of the median warm posts/s, run by run, and of the median warm CPU per post (bare / identity). */
    identityOverBareWarm?: number;
    identityOverBareWarmPaired?: number[];
    identityOverBareWarmCpu?: number;
    /**
     * With the codec variant: codec / bare and identity / codec of median posts/s, and of median CPU per post
     * (bare / codec, codec / identity): the Avro stages' share of the gap and the framework's.
     */
    codecOverBare?: number;
    identityOverCodec?: number;
    codecOverBareCpu?: number;
    identityOverCodecCpu?: number;
  };
  standalone?: StandaloneResult;
  /** Per variant, one result per load (ascending). */
  latency: Partial<Record<Variant, LatencyResult[]>>;
  latencyBound?: LatencyBound;
  memory?: { snapshots: MemorySnapshot[]; seconds: number; posts: number; variant?: Variant; backend?: string };
  scaling?: ScalingResult;
}

const WHAT: Record<Variant, string> = {
  bare: 'kafkajs consume -> produce same bytes -> commit',
  codec: "the bare loop + the worker's Avro stages per record (decode, PostMentions, encode), no framework",
  identity: 'pipeline, tagger = identity (no mentions)',
  full: 'pipeline, the model',
};

/** What a variant ran: the full variant names its model (--model; models/default unless given). */
function what(v: Variant, model: string): string {
  return v === 'full' ? `pipeline, ${relativeModel(model)}` : WHAT[v];
}

function relativeModel(model: string): string {
  const rel = path.relative(process.cwd(), model);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : model;
}

const n0 = (x: number) => Math.round(x).toLocaleString('en-US');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
const load = (l?: number[]) => (l ? l.map((x) => x.toFixed(2)).join(' ') : 'n/a');

function worker(options: Record<string, string>, batch?: BatchSettings): string {
  const set = Object.entries(options).map(([k, v]) => `${k}=${v}`);
  const base = 'at-least-once, otherwise the defaults (batches of at most 64 posts / 50 ms / 8192 code points, 2000 records in flight, commits every 1000 ms)';
  const inForce = batch
    ? ` (batches in force: ${batch.batchMode}, at most ${batch.batchMaxCount} posts / ${batch.batchMode === 'fixed' ? `${batch.batchMaxWaitMs} ms / ` : ''}${batch.batchMaxChars} code points)`
    : '';
  return set.length === 0 ? base : `${base}, except ${set.join(', ')}${inForce}`;
}

const pct = (x: number) => `${Math.round(100 * x)}%`;
const tag = (t?: TaggingStats) => (t ? `${(t.posts / t.batches).toFixed(1)} / ${f1(t.p50Ms)} / ${f1(t.p99Ms)}` : 'n/a');

export function renderReport(r: PipelineResults): string {
  const s = r.settings;
  const backend = r.throughput.full?.backend ?? r.latency.full?.[0]?.backend ?? r.scaling?.backend ?? r.memory?.backend ?? 'n/a (no full-model run)';
  const lines = [
    `# Pipeline benchmark (${r.date})`,
    '',
    `Machine: ${r.machine.cpu} x ${r.machine.cores} cores, ${mib(r.machine.memTotalBytes)} MiB RAM, Linux ${r.machine.kernel}, Node ${r.machine.node}; ` +
      `tfjs backend ${backend}; broker Apache Kafka ${r.broker.version} at ${r.broker.brokers.join(',')} (single node, replication 1). ` +
      `Load average (1/5/15 min) at start ${load(r.machine.loadavgStart)}, at end ${load(r.machine.loadavgEnd)}.`,
    '',
    `Worker settings: ${worker(s.workerOptions, s.batch)}; input topics of ${s.partitions} partitions; ` +
      `synthetic posts = ${s.texts !== undefined ? `the sentences of ${s.texts} (the sample posts' other fields)` : 'the sample posts (schemas/post/samples)'} cycled with unique ids, Avro (Post, latest version), keyed by id.` +
      (s.nodeFlags !== undefined && s.nodeFlags.length > 0 ? ` Node flags of the measurement processes: ${s.nodeFlags.join(' ')}.` : ''),
  ];

  const tp = r.throughput;
  if (Object.keys(tp).length > 0) {
    lines.push(
      '',
      `## Throughput: draining a pre-loaded topic (median of ${s.runs} run${s.runs > 1 ? 's' : ''}, fresh process, group and output topic each)`,
      '',
      '| variant | what | posts | posts/s | range over runs | chars/s | second half posts/s (range) | CPU us/post (range) | main thread busy (range) | output records per run |',
      '|---|---|---:|---:|---|---:|---|---|---|---|',
    );
    const spread = (xs: (number | undefined)[], digits = 0): string => {
      const ys = xs.filter((x): x is number => x !== undefined);
      if (ys.length === 0) return 'n/a';
      const f = (x: number) => (digits === 0 ? n0(x) : x.toFixed(digits));
      return `${f(median(ys))} (${f(Math.min(...ys))}–${f(Math.max(...ys))})`;
    };
    for (const v of s.variants) {
      const t = tp[v];
      if (!t) continue;
      const pps = t.runs.map((x) => x.postsPerSecond);
      const outs = t.runs.map(
        (x) =>
          `${x.outputRecords}${x.outputRecords !== x.posts + (x.warmupPosts ?? 0) ? ' (MISMATCH)' : ''}${x.deadLetterRecords > 0 ? ` + ${x.deadLetterRecords} DLQ` : ''}` +
          `${x.uncommitted !== 0 ? ` (${x.uncommitted} uncommitted)` : ''}`,
      );
      lines.push(
        `| ${v} | ${what(v, s.model)} | ${n0(t.posts)} | ${n0(t.medianPostsPerSecond)} | ${n0(Math.min(...pps))}–${n0(Math.max(...pps))} | ${n0(t.medianCharsPerSecond)} | ` +
          `${spread(t.runs.map((x) => x.secondHalfPostsPerSecond))} | ${spread(t.runs.map((x) => x.cpuUsPerPost), 1)} | ${spread(t.runs.map((x) => x.mainThreadBusy), 2)} | ${outs.join(', ')} |`,
      );
    }
    const sa = r.standalone;
    if (sa) {
      const pps = sa.runs.map((x) => x.postsPerSecond);
      lines.push(
        `| standalone | the tagger alone: same model, texts and batches of ${sa.batchSize} posts, no Kafka/Avro/RxJS | ${n0(sa.posts)} | ${n0(sa.medianPostsPerSecond)} | ` +
          `${n0(Math.min(...pps))}–${n0(Math.max(...pps))} | ${n0(sa.medianCharsPerSecond)} | n/a | n/a | n/a | n/a (${sa.runs.map((x) => `${x.tagging.batches} calls`).join(', ')}) |`,
      );
    }
    const ratios = [];
    if (r.ratios.identityOverBare !== undefined) ratios.push(`identity / bare = ${r.ratios.identityOverBare.toFixed(3)} (target >= 0.70)`);
    if (r.ratios.codecOverBare !== undefined) ratios.push(`codec / bare = ${r.ratios.codecOverBare.toFixed(3)} (CPU per post bare / codec ${r.ratios.codecOverBareCpu?.toFixed(3) ?? 'n/a'})`);
    if (r.ratios.identityOverCodec !== undefined) ratios.push(`identity / codec = ${r.ratios.identityOverCodec.toFixed(3)} (CPU per post codec / identity ${r.ratios.identityOverCodecCpu?.toFixed(3) ?? 'n/a'})`);
    if (r.ratios.fullOverIdentity !== undefined) ratios.push(`full / identity = ${r.ratios.fullOverIdentity.toFixed(4)}`);
    if (r.ratios.fullOverStandalone !== undefined) ratios.push(`full / standalone = ${r.ratios.fullOverStandalone.toFixed(3)} (target >= 0.85)`);
    if (ratios.length > 0) lines.push('', `Ratios of median posts/s: ${ratios.join('; ')}.`);
    const paired = r.ratios.identityOverBarePaired ?? [];
    if (paired.length > 0) {
      const more = [
        `run by run (identity run r / bare run r, back to back): ${paired.map((x) => x.toFixed(3)).join(', ')}, median ${median(paired).toFixed(3)}`,
        ...(r.ratios.identityOverBareSecondHalf !== undefined ? [`second halves (warm): ${r.ratios.identityOverBareSecondHalf.toFixed(3)}`] : []),
        ...(r.ratios.identityOverBareCpu !== undefined ? [`CPU per post, bare / identity: ${r.ratios.identityOverBareCpu.toFixed(3)} (what the ratio would be if the worker process alone set the pace)`] : []),
        ...(r.ratios.tailMs !== undefined && r.ratios.identityOverBareNoTail !== undefined
          ? [
              `drain tail (last input record handed on -> end of the span), median: bare ${r.ratios.tailMs.bare.toFixed(1)} ms, identity ${r.ratios.tailMs.identity.toFixed(1)} ms; ` +
                `run by run without the tails: ${r.ratios.identityOverBareNoTail.toFixed(3)}`,
            ]
          : []),
      ];
      lines.push('', `identity / bare, other views: ${more.join('; ')}.`);
    }
    lines.push(...warmSection(r, spread));
    lines.push(
      '',
      'The bare loop consumes its partitions concurrently (partitionsConsumedConcurrently = partitions) and produces each fetched batch in requests of at most 512 KiB, ' +
        'one request in flight (idempotent producer, acks=all), committing through kafkajs autoCommit every 1000 ms; the identity tagger returns [] for every text. ' +
        'Clock: from the first input record the consumer delivers to the moment the last output is acknowledged by the broker ' +
        '(counted in the worker process: in the pipeline by its own metric taps, records_in_total when a record enters and records_out_total when the sink has an output acknowledged; in the bare loop when producer.send resolves); ' +
        'group join and process start are outside it. The output topic is then counted (high - low watermark) to check that every post produced exactly one output, and the committed offsets of the run group are compared with the end of the input (flagged when the final commit left records uncommitted). ' +
        'chars/s = code points of all input posts / seconds. ' +
        'Second half: posts/s from the moment half the posts were acknowledged to the end (past start-up and JIT warm-up). ' +
        "CPU us/post: the measuring process's CPU time (user + system, all threads) over the clock's span, per post: on a shared machine the least load-dependent view. " +
        "Main thread busy: the share of the span the process's event loop was running code (1: it set the pace; lower: it waited, e.g. for the broker's acknowledgements).",
    );
    if (sa) {
      const fullBatches = tp.full?.runs.map((x) => x.tagging).filter((x): x is TaggingStats => x !== undefined) ?? [];
      lines.push(
        '',
        `Standalone: the full variant's tagger (same model, backend, batch size ${sa.batchSize} and warm-up) in its own process, tagging the texts of the same ${n0(sa.posts)} synthetic posts in input order, ` +
          `one call of ${sa.batchSize} texts at a time, clock from the first call to the last result; interleaved with the runs above. ` +
          `A batch took ${f1(sa.medianBatchMs)} ms on average (median over runs)` +
          (fullBatches.length > 0
            ? `; in the full pipeline runs the tagger was called with ${fullBatches.map((t) => (t.posts / t.batches).toFixed(1)).join(', ')} posts per call on average, ${fullBatches.map((t) => f1(t.meanMs)).join(', ')} ms per call.`
            : '.'),
      );
    }
  }

  const lat = r.latency;
  if (Object.keys(lat).length > 0) {
    lines.push(
      '',
      `## Latency: open-loop paced producer at ${s.latencyRates ? `${s.latencyRates.map(n0).join(' and ')} posts/s, for every variant` : `${s.latencyLoads.map(pct).join(' and ')} of each variant's median throughput above`}, ${s.latencySeconds} s each, first ${s.latencyWarmupSeconds} s excluded`,
      '',
      '| variant | load | rate target / achieved (posts/s) | outputs measured | end-to-end p50 ms | p99 ms | max ms | from scheduled send p50 / p99 ms | in-worker p50 / p99 ms | tagger calls: posts per call / p50 / p99 ms | drain after last post ms | producer max behind ms |',
      '|---|---:|---|---:|---:|---:|---:|---|---|---|---:|---:|',
    );
    // one leg per pace (load or fixed rate) and variant, in the order they ran
    const paces = (s.latencyRates ?? s.latencyLoads).length;
    for (let k = 0; k < paces; k++) {
      for (const v of s.variants) {
        const l = lat[v]?.[k];
        if (!l) continue;
        const inw = l.inWorkerMs ? `${f1(l.inWorkerMs.p50)} / ${f1(l.inWorkerMs.p99)}` : 'n/a';
        const lost = l.outputs !== l.sent ? ` (${l.outputs} of ${l.sent} outputs)` : '';
        lines.push(
          `| ${v} | ${l.load === null ? 'n/a' : pct(l.load)} | ${f1(l.targetRate)} / ${f1(l.achievedRate)} | ${n0(l.measured)}${lost} | ${f1(l.e2eMs.p50)} | ${f1(l.e2eMs.p99)} | ${f1(l.e2eMs.max)} | ` +
            `${f1(l.fromScheduleMs.p50)} / ${f1(l.fromScheduleMs.p99)} | ${inw} | ${v === 'bare' ? 'n/a' : tag(l.tagging)} | ${n0(l.drainMs)} | ${n0(l.producerMaxBehindMs)} |`,
        );
      }
    }
    const b = r.latencyBound;
    if (b) {
      lines.push(
        '',
        `Bound (performance issue): full pipeline p99 end-to-end at ${pct(b.load)} load ${f1(b.p99Ms)} ms against 2 x ${b.waitMs} ms batch wait` +
          `${b.batchMode === 'fixed' ? '' : ` (${b.batchMode} batching has no wait timer: 0)`} + one batch's tagging time ${f1(b.batchTaggingMs)} ms ` +
          `(the standalone tagger's mean per batch of ${r.standalone?.batchSize ?? '?'} posts, this run) = ${f1(b.boundMs)} ms: ${b.met ? 'met' : 'NOT met'}.`,
      );
    }
    lines.push(
      '',
      "End-to-end: from the broker's append time of a post to the append time of its output record (input and output topics stamp records with " +
        'LogAppendTime; on this single-replica broker the append is when an acks=all produce is acknowledged), matched by record key (the post id). ' +
        "From scheduled send: from the post's scheduled time in the open-loop producer (its created_at; every 5 ms the producer sends all posts that are due, " +
        'acks=all, one request at a time) to the same output time, so it adds the load generator\'s own delays (see producer max behind). ' +
        "In-worker: the output record's latency_ms = processed_at - when the worker's consumer handed the input over (excludes the fetch and the output produce). " +
        'Tagger calls: the mean posts per tagger call and the p50 / p99 wall time of a call in that run. ' +
        'Drain: append time of the last output - append time of the last post; about one latency when the variant kept up with the rate, longer when a backlog built up. ' +
        (s.latencyRates
          ? 'The rates are fixed (--latency-rates), the same for every variant; load is the rate over the median of the throughput leg of the same run, when it ran. '
          : 'The rates are shares of the medians measured in the throughput leg of the same run. ') +
        'One clock: everything runs on this machine, the paced producer in the benchmark process.',
    );
  }

  const m = r.memory;
  if (m && m.snapshots.length > 0) {
    lines.push(
      '',
      `## Memory: ${m.variant ?? 'identity'} pipeline, ${n0(m.posts)} posts (input produced while it runs, at most 50,000 ahead)`,
      '',
      '| outputs acked | RSS MiB | heap used MiB | heap committed MiB | external MiB | RSS brk / other anonymous / file-backed MiB | peak RSS MiB |',
      '|---:|---:|---:|---:|---:|---|---:|',
    );
    for (const x of m.snapshots) {
      const kinds = x.rssByKind ? `${mib(x.rssByKind.brk)} / ${mib(x.rssByKind.anon)} / ${mib(x.rssByKind.file)}` : 'n/a';
      lines.push(`| ${n0(x.acked)} | ${mib(x.rss)} | ${mib(x.heapUsed)} | ${mib(x.heapTotal)} | ${mib(x.external)} | ${kinds} | ${mib(x.peakRss)} |`);
    }
    const [a, b] = [m.snapshots[0], m.snapshots[m.snapshots.length - 1]];
    if (m.snapshots.length > 1) {
      lines.push('', `RSS ratio ${n0(b.acked)} / ${n0(a.acked)} posts: ${(b.rss / a.rss).toFixed(3)}; heap used ratio: ${(b.heapUsed / a.heapUsed).toFixed(3)}.`);
    }
    lines.push('', 'Each snapshot is process.memoryUsage() of the worker process right after a forced full GC (node --expose-gc), taken when the acked count first reaches the checkpoint; heap committed is heapTotal (the memory V8 has committed for its heap); the RSS split is from /proc/self/smaps: the brk heap (glibc\'s main malloc arena), other anonymous mappings (V8\'s heap pages, other malloc arenas, large buffers, thread stacks) and file-backed mappings (code); peak RSS is VmHWM from /proc/self/status.');
  }

  const sc = r.scaling;
  if (sc && sc.byPartitions.length > 0) {
    const runs = `median of ${s.runs} run${s.runs > 1 ? 's' : ''}`;
    lines.push(
      '',
      `## Scaling: one vs two pinned worker processes in one consumer group (${sc.variant} variant${sc.backend ? `, backend ${sc.backend}` : ''}, ${n0(sc.posts)} posts, ${runs})`,
      '',
      '| input partitions | 1 worker (core 0) posts/s | range | 2 workers (cores 0, 1) posts/s | range | two / one | ideal two / one (partition split) | target |',
      '|---:|---:|---|---:|---|---:|---:|---:|',
    );
    const range = (xs: ScalingRun[]) => `${n0(Math.min(...xs.map((x) => x.postsPerSecond)))}–${n0(Math.max(...xs.map((x) => x.postsPerSecond)))}`;
    for (const p of sc.byPartitions) {
      lines.push(
        `| ${p.partitions} | ${n0(p.medianOne)} | ${range(p.one)} | ${n0(p.medianTwo)} | ${range(p.two)} | ${p.ratio.toFixed(2)} | ${p.idealRatio.toFixed(2)} | ${sc.targetRatio.toFixed(1)}${p.ratio >= sc.targetRatio ? ' (met)' : ' (not met)'} |`,
      );
    }
    lines.push('', '| partitions | workers | run | posts/s | seconds | produce s | per worker: cpu, assignment, records consumed by partition, outputs acked | output records |', '|---:|---:|---:|---:|---:|---:|---|---|');
    for (const p of sc.byPartitions) {
      for (const x of [...p.one, ...p.two]) {
        const i = (x.workers === 1 ? p.one : p.two).indexOf(x) + 1;
        const members = x.members
          .map((m) => {
            const by = Object.entries(m.consumedByPartition)
              .map(([k, v]) => `p${k}:${v}`)
              .join(' ');
            const later = m.laterAssignments.length > 0 ? `, then REBALANCED to ${m.laterAssignments.map((a) => `[${a.join(',')}]`).join(' ')}` : '';
            return `cpu ${m.cpu}${m.cpusAllowed !== undefined && m.cpusAllowed !== String(m.cpu) ? ` (allowed ${m.cpusAllowed}!)` : ''}: [${m.assignment.join(',')}]${later}, ${by || 'none'}, ${n0(m.acked)} acked`;
          })
          .join('; ');
        const outs = `${x.outputRecords}${x.outputRecords !== x.posts ? ' (MISMATCH)' : ''}${x.deadLetterRecords > 0 ? ` + ${x.deadLetterRecords} DLQ` : ''}${x.uncommitted !== 0 ? ` (${x.uncommitted} uncommitted)` : ''}`;
        lines.push(`| ${p.partitions} | ${x.workers} | ${i} | ${n0(x.postsPerSecond)} | ${x.seconds.toFixed(2)} | ${x.produceSeconds.toFixed(2)} | ${members} | ${outs} |`);
      }
    }
    lines.push(
      '',
      'Each worker is a separate process pinned with `taskset -c` (the first to core 0, the second to core 1) with TF_NUM_INTRAOP_THREADS=1 and TF_NUM_INTEROP_THREADS=1, ' +
        'same worker settings as above, all members of one fresh consumer group per run (fresh input and output topics too). ' +
        'The members start, load the model, join the group and the run waits until their assignments are stable and cover the input partitions; only then is the input produced, in one burst (produce s), ' +
        'because on a pre-loaded topic the first member to join would start draining every partition before the second arrived (the broker has group.initial.rebalance.delay.ms=0). ' +
        'Clock: from the first input record consumed by any member to the last output acknowledged by any member, once the members\' acked outputs sum to the posts (epoch timestamps from each process, one machine clock). ' +
        'With 3 partitions two members split them 2 + 1, so the busier member drains 2/3 of the input and the ideal two/one ratio is 1.5, below the target of 1.7; ' +
        'with an even number of partitions the ideal is 2. ' +
        `The broker and the benchmark's parent process are not pinned and share the same ${r.machine.cores} cores, so on a machine with few cores the two-worker runs also compete with them.`,
    );
  }

  const tensors: [string, TensorCounts | undefined][] = [
    ...(tp.full?.runs.map((x, i): [string, TensorCounts | undefined] => [`throughput ${i + 1}`, x.tensors]) ?? []),
    ...(lat.full?.map((x): [string, TensorCounts | undefined] => [`latency ${x.fixedRate ? `${n0(x.targetRate)} posts/s` : pct(x.load ?? NaN)}`, x.tensors]) ?? []),
  ];
  if (tensors.some(([, t]) => t !== undefined)) {
    lines.push('', '## tfjs tensors (full variant, each process)', '', '| run | after model load | after warm-up (stream start) | after the stream | after tagger.dispose() |', '|---|---:|---:|---:|---:|');
    for (const [label, t] of tensors) if (t) lines.push(`| ${label} | ${t.afterLoad} | ${t.beforeStream} | ${t.afterStream} | ${t.afterDispose} |`);
  }
  return lines.join('\n') + '\n';
}

/** --warmup-posts: the warm figures next to the cold ones, and each run's conditions (where the spread comes from). */
function warmSection(r: PipelineResults, spread: (xs: (number | undefined)[], digits?: number) => string): string[] {
  const variants = r.settings.variants.filter((v) => r.throughput[v]?.runs.some((x) => x.warm !== undefined));
  if (variants.length === 0) return [];
  const w = r.throughput[variants[0]]!.runs[0].warmupPosts ?? 0;
  const lines = [
    '',
    `### Warm: the same runs, the last ${n0(r.settings.posts)} posts timed after ${n0(w)} posts drained untimed (same process, consumer and producer)`,
    '',
    '| variant | cold posts/s (range) | warm posts/s (range) | cold CPU us/post (range) | warm CPU us/post (range) | warm main thread busy (range) | warm CPU s per wall s (range) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const v of variants) {
    const runs = r.throughput[v]!.runs;
    lines.push(
      `| ${v} | ${spread(runs.map((x) => x.postsPerSecond))} | ${spread(runs.map((x) => x.warm?.postsPerSecond))} | ${spread(runs.map((x) => x.cpuUsPerPost), 1)} | ` +
        `${spread(runs.map((x) => x.warm?.cpuUsPerPost), 1)} | ${spread(runs.map((x) => x.warm?.mainThreadBusy), 2)} | ${spread(runs.map((x) => x.warm?.cpuPerWallSecond), 2)} |`,
    );
  }
  const q = r.ratios;
  if (q.identityOverBareWarm !== undefined) {
    const paired = q.identityOverBareWarmPaired ?? [];
    lines.push(
      '',
      `identity / bare, warm: **${q.identityOverBareWarm.toFixed(3)}** of medians (cold: ${q.identityOverBare?.toFixed(3) ?? 'n/a'}); run by run ${paired.map((x) => x.toFixed(3)).join(', ')}` +
        `${paired.length > 0 ? `, median ${median(paired).toFixed(3)}` : ''}; warm CPU per post, bare / identity: ${q.identityOverBareWarmCpu?.toFixed(3) ?? 'n/a'}.`,
    );
  }
  lines.push('', '| run | variant | load avg (1 min) before | cold posts/s | cold CPU us/post | cold CPU s per wall s | warm posts/s | warm CPU us/post | warm CPU s per wall s |', '|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  const runs = Math.max(...variants.map((v) => r.throughput[v]!.runs.length));
  const f = (x: number | undefined, d: number) => (x === undefined ? 'n/a' : d === 0 ? n0(x) : x.toFixed(d));
  for (let i = 0; i < runs; i++) {
    for (const v of variants) {
      const x = r.throughput[v]!.runs[i];
      if (!x) continue;
      lines.push(
        `| ${i + 1} | ${v} | ${f(x.loadavg1, 2)} | ${f(x.postsPerSecond, 0)} | ${f(x.cpuUsPerPost, 1)} | ${f(x.cpuPerWallSecond, 2)} | ${f(x.warm?.postsPerSecond, 0)} | ${f(x.warm?.cpuUsPerPost, 1)} | ${f(x.warm?.cpuPerWallSecond, 2)} |`,
      );
    }
  }
  lines.push(
    '',
    `Warm: the input topic holds ${n0(w)} more posts than --posts; the cold figures are the first --posts outputs (timed as without a warm-up), the warm ones the last --posts, ` +
      `timed from the ${n0(w)}-th output acknowledged to the end, in the same process, consumer group member and producer: JIT, connections and lazily loaded modules are warm. ` +
      'Identical for both variants. CPU s per wall s: the process\'s CPU time over the span divided by its wall time; with the main thread busy near 1, a value under 1 is time the process ' +
      'waited for a core while other processes ran (the load of the machine), which moves posts/s but not CPU us/post.',
  );
  return lines;
}
