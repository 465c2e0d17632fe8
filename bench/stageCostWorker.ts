/**
 * One measurement of bench/stageCost.ts, in its own process (forked with
 * --expose-gc): the framework stage `stage` of the build in `dist` (its
 * modules imported from that directory, so another build's dist measures
 * that build's code) over `records` synthetic posts, cold (the first pass in
 * this process) and warm (one more pass after `warmupPasses` untimed ones;
 * for the whole stream, spans of one stream instead, see wholeStreamCost).
 * Inputs of a stage are made beforehand, untimed, by the same build's
 * upstream stages. Each pass: CPU (process.cpuUsage, all threads: GC helpers
 * and the background compiler included), wall time, and the bytes allocated
 * on the V8 heap (used heap after - before + what every GC during the pass
 * freed, from v8.GCProfiler). Outputs are counted, not kept, as in a
 * streaming worker. Answers the parent with one IPC message.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { Observable, from, type OperatorFunction } from 'rxjs';
import type { Mention, Tagger } from '../models/tagger.js';
import type { Item, OutputMessage, RawRecord, RecordRef, TaggedPost } from '../operators/types.js';
import type { Post, PostMentions } from '../schemas/types.generated.js';
import type * as OperatorsModule from '../operators/index.js';
import type * as TapsModule from '../pipeline/stream/metricsTaps.js';
import type * as CoalesceModule from '../pipeline/core/coalesce.js';
import type * as MetricsModule from '../pipeline/ops/metrics.js';
import type * as WorkerModule from '../pipeline/stream/worker.js';
import type * as LoggerModule from '../pipeline/ops/logger.js';
import type * as ConfigModule from '../pipeline/stream/config.js';
import type { PassCost, Stage, StageResult, StageTask } from './stageCostProtocol.js';
import { postFactory } from './syntheticPosts.js';

declare const gc: () => void;

/** Identity tagger: finds nothing (the framework's cost alone). */
class IdentityTagger implements Tagger {
  readonly modelId = 'identity';
  readonly modelVersion = '0';
  tag(texts: readonly string[]): Promise<Mention[][]> {
    return Promise.resolve(texts.map(() => []));
  }
  dispose(): void {}
}

interface Build {
  ops: typeof OperatorsModule;
  taps: typeof TapsModule;
  coalesce: typeof CoalesceModule;
  metrics: typeof MetricsModule;
  worker: typeof WorkerModule;
  logger: typeof LoggerModule;
  config: typeof ConfigModule;
}

async function loadBuild(dist: string): Promise<Build> {
  const load = (path: string) => import(pathToFileURL(join(dist, path)).href);
  const [ops, taps, coalesce, metrics, worker, logger, config] = await Promise.all([
    load('operators/index.js'),
    load('pipeline/stream/metricsTaps.js'),
    load('pipeline/core/coalesce.js'),
    load('pipeline/ops/metrics.js'),
    load('pipeline/stream/worker.js'),
    load('pipeline/ops/logger.js'),
    load('pipeline/stream/config.js'),
  ]);
  return { ops, taps, coalesce, metrics, worker, logger, config } as Build;
}

/** The worker's defaults for what mentionStream reads (from the build's own option table). */
function defaults(b: Build): WorkerModule.StreamSettings & { maxInFlight: number } {
  const d = (key: string): unknown => b.config.WORKER_OPTIONS.find((o) => o.key === key)?.default;
  return {
    inputWire: d('inputWire'),
    batchMode: d('batchMode'),
    batchMaxCount: d('batchMaxCount'),
    batchMaxWaitMs: d('batchMaxWaitMs'),
    batchMaxChars: d('batchMaxChars'),
    taggerConcurrency: d('taggerConcurrency'),
    maxInFlight: d('maxInFlight'),
  } as WorkerModule.StreamSettings & { maxInFlight: number };
}

/** Synthetic input records shaped as the Kafka source builds them (ref, key, value; the ref's fields in its order). */
function rawRecords(n: number): RawRecord[] {
  const make = postFactory('stage-');
  const out: RawRecord[] = [];
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const p = make(i, t0);
    const ref: RecordRef = { topic: 'posts', partition: i % 3, offset: String(Math.floor(i / 3)), receivedAt: t0, epoch: 1 };
    out.push({ ref, key: Buffer.from(p.key), value: p.value });
  }
  return out;
}

async function collect<T, R>(input: readonly T[], op: OperatorFunction<T, R>): Promise<R[]> {
  const out: R[] = [];
  await new Promise<void>((resolve, reject) => from(input).pipe(op).subscribe({ next: (v) => out.push(v), error: reject, complete: resolve }));
  return out;
}

/** Runs `op` over `input`, counting what comes out (nothing kept). */
function drain<T, R>(input: readonly T[], op: OperatorFunction<T, R>, size: (r: R) => number): Promise<number> {
  let n = 0;
  return new Promise<number>((resolve, reject) =>
    from(input)
      .pipe(op)
      .subscribe({ next: (v) => (n += size(v)), error: reject, complete: () => resolve(n) }),
  );
}

const one = (): number => 1;
const len = (xs: readonly unknown[]): number => xs.length;

/**
 * The whole stream (mentionStream) between an in-memory source that pauses at
 * maxInFlight as the Kafka source does (resuming at half) and a sink whose
 * writes resolve at once: ONE stream, as in a worker, over `passes` cycles of
 * `raw`; `onAcked(total)` after each acknowledged group. Resolves with the outputs acked.
 */
function wholeStream(b: Build, raw: readonly RawRecord[], passes: number, onAcked: (total: number) => void): Promise<number> {
  const settings = defaults(b);
  const metrics = b.metrics.createPipelineMetrics({ collectDefault: false, tensorMemory: () => ({ numTensors: 0, numBytes: 0 }) });
  const logger = b.logger.silentLogger();
  const tagger = new IdentityTagger();
  const total = passes * raw.length;
  let next = 0;
  let inFlight = 0;
  let wake: (() => void) | undefined;
  let paused = false;
  const source = {
    records: () =>
      new Observable<RawRecord>((sub) => {
        const pump = (): void => {
          while (next < total && inFlight < settings.maxInFlight && !sub.closed) {
            inFlight++;
            sub.next(raw[next++ % raw.length]);
          }
          if (next === total) sub.complete();
          else paused = true;
        };
        wake = pump;
        pump();
      }),
    ack: (refs: readonly RecordRef[]) => {
      inFlight -= refs.length;
      if (paused && inFlight <= settings.maxInFlight / 2) {
        paused = false;
        setImmediate(() => wake?.());
      }
    },
    stop: () => undefined,
  };
  const sink = { write: () => b.coalesce.writeCoalesced<OutputMessage>({ write: () => Promise.resolve() }) };
  let acked = 0;
  return new Promise<number>((resolve, reject) =>
    b.worker.mentionStream({ source, sink, tagger, settings, metrics, logger }).subscribe({
      next: (xs) => {
        acked += xs.length;
        onAcked(acked);
      },
      error: reject,
      complete: () => resolve(acked),
    }),
  );
}

/** The pass of `stage` and the inputs it needs (made here, untimed, by the build's upstream stages). */
async function stagePass(b: Build, stage: Exclude<Stage, 'all'>, raw: readonly RawRecord[]): Promise<() => Promise<number>> {
  const s = defaults(b);
  const { ops } = b;
  const batcher = () => ops.batchItems<Post>({ maxCount: s.batchMaxCount, maxChars: s.batchMaxChars, maxWaitMs: s.batchMaxWaitMs });
  const tagger = new IdentityTagger();
  const model = { id: tagger.modelId, version: tagger.modelVersion };
  if (stage === 'decode') return () => drain(raw, ops.decodePosts({ wire: s.inputWire }), one);
  const decoded = await collect(raw, ops.decodePosts({ wire: s.inputWire }));
  if (stage === 'batch') return () => drain(decoded, batcher(), len);
  const batches = await collect(decoded, batcher());
  if (stage === 'tag') return () => drain(batches, ops.tagBatch({ tagger }), len);
  const tagged: Item<TaggedPost>[][] = await collect(batches, ops.tagBatch({ tagger }));
  if (stage === 'toMentions') return () => drain(tagged, ops.toMentions({ model }), len);
  const records: Item<PostMentions>[][] = await collect(tagged, ops.toMentions({ model }));
  if (stage === 'encode') return () => drain(records, ops.encodeOutputs(), len);
  const outputs: OutputMessage[][] = await collect(records, ops.encodeOutputs());
  if (stage === 'coalesce') return () => drain(outputs, b.coalesce.writeCoalesced<OutputMessage>({ write: () => Promise.resolve() }), len);
  // taps: the five metric taps of mentionStream, each over what flows at its point
  const metrics = b.metrics.createPipelineMetrics({ collectDefault: false, tensorMemory: () => ({ numTensors: 0, numBytes: 0 }) });
  const measure = <T>(next: (value: T) => void) => ops.tapSafe<T>({ next, onListenerError: () => undefined });
  return async () => {
    const n = await drain(raw, measure(b.taps.countInput(metrics)), one);
    await drain(batches, measure(b.taps.observeBatch(metrics)), len);
    await drain(tagged, measure(b.taps.observeTagging(metrics)), len);
    await drain(records, measure(b.taps.countOutcomes(metrics)), len);
    await drain(outputs, measure(b.taps.countOutputs(metrics)), len);
    return n;
  };
}

interface GcEntry {
  cost: number;
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

/** With a --trace-* flag (bench/stageCost.ts --node-flags), the measured spans are marked on stdout between the trace's lines. */
const TRACING = process.execArgv.some((f) => f.startsWith('--trace'));

/** Starts measuring a span (after a full GC); `end(records)` gives its cost per record. */
function span(name: string): { end: (records: number) => PassCost } {
  gc();
  if (TRACING) process.stdout.write(`[stage cost: ${name} pass begins]\n`);
  const profiler = new v8.GCProfiler();
  const used0 = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  return {
    end: (records) => {
      const wallNs = Number(process.hrtime.bigint() - t0);
      const cpu = process.cpuUsage(cpu0);
      const used1 = v8.getHeapStatistics().used_heap_size;
      if (TRACING) process.stdout.write(`[stage cost: ${name} pass ends]\n`);
      const stats = (profiler.stop() as unknown as { statistics: GcEntry[] }).statistics;
      const freed = stats.reduce((a, g) => a + (g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize), 0);
      return {
        cpuUs: (cpu.user + cpu.system) / records,
        wallUs: wallNs / 1000 / records,
        allocBytes: (used1 - used0 + freed) / records,
        gcs: stats.length,
        gcUs: stats.reduce((a, g) => a + g.cost, 0) / records,
      };
    },
  };
}

async function timed(name: string, pass: () => Promise<number>, records: number): Promise<{ cost: PassCost; outputs: number }> {
  const s = span(name);
  const outputs = await pass();
  return { outputs, cost: s.end(records) };
}

/**
 * The whole stream, cold and warm in one stream: cold = from the start to the
 * N-th output acked, warm = from the (1 + warmupPasses) N-th to the end (the
 * outputs actually acked in each span; groups can overrun a boundary).
 */
async function wholeStreamCost(b: Build, raw: readonly RawRecord[], warmupPasses: number): Promise<StageResult> {
  const n = raw.length;
  const warmFrom = (1 + warmupPasses) * n;
  let cold: PassCost | undefined;
  let warm: { s: ReturnType<typeof span>; from: number } | undefined;
  const coldSpan = span('cold');
  const outputs = await wholeStream(b, raw, 2 + warmupPasses, (acked) => {
    if (cold === undefined && acked >= n) cold = coldSpan.end(acked);
    if (warm === undefined && acked >= warmFrom) warm = { s: span('warm'), from: acked };
  });
  const end = warm!.s.end(outputs - warm!.from);
  return { cold: cold!, warm: end, outputs };
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2]!) as StageTask;
  const build = await loadBuild(task.dist);
  const raw = rawRecords(task.records);
  if (task.stage === 'all') {
    process.send!(await wholeStreamCost(build, raw, task.warmupPasses));
    return;
  }
  const pass = await stagePass(build, task.stage, raw);
  const cold = await timed('cold', pass, task.records);
  for (let i = 0; i < task.warmupPasses; i++) await pass();
  const warm = await timed('warm', pass, task.records);
  if (cold.outputs !== warm.outputs) throw new Error(`stage ${task.stage}: ${cold.outputs} outputs cold, ${warm.outputs} warm`);
  const result: StageResult = { cold: cold.cost, warm: warm.cost, outputs: cold.outputs };
  process.send!(result);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
