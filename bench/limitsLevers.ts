/**
 * The levers on the tagger's useful FLOP rate at the worker's settings, side
 * by side in one run (issue 17, item 2):
 *  1. cells per tensor batch (NeuralTagger's sliceChars: 2048, 4096, 8192,
 *     0 = unlimited) against the useful rate and the event loop's lag while
 *     tagging inline (perf_hooks monitorEventLoopDelay, 1 ms resolution);
 *  2. thread inference (ThreadTagger: the tagger in a worker thread) at
 *     sliceChars 2048 and 0, with the calling thread's lag;
 *  3. the batcher's limits (posts / characters per batch, 50 ms wait) on a
 *     backlog: 64/8192 (the default before issue 17), 128/16384, 256/32768
 *     (also 256/32768 at 700 posts/s, and on a backlog in thread mode);
 *  4. TensorFlow's intra-op threads: 1 (process pinned to core 0) against 2
 *     (not pinned, both cores).
 * Also batch 1, 32, 64 and 256 over the whole text list, one call each.
 * Useful rate: forward FLOPs over the real characters per second (bench/flops.ts),
 * as a share of the 1-core matMul rate measured in the same round (a pinned
 * child, bench/limitsWorker.js matmul), so a slow round slows both sides.
 * Each round: the matMul child, then one child per thread setting, in turn;
 * each child warms up, then times every variant once, in a fixed interleaved
 * order. Medians over rounds, with the range. Also checks that every variant
 * finds the same mentions as sliceChars 2048 (posts whose mentions differ).
 *
 *   node dist/bench/limitsLevers.js [--model DIR] [--data FILE] [--runs N] [--quick] [--pass-cells 512,1024,...]
 *     [--batches] [--baseline DIST] [--threads 1|1,2] [--reps N] [--precision P] [--baseline-precision P]
 *     [--engine E] [--baseline-engine E]
 *
 * --quick: only the worker's backlog batches (default limits) at each
 * sliceChars, inline and thread, for a fast look. --pass-cells: instead, the
 * least-cost grouping's pass cost (models/batch.ts PASS_CELLS) at each value,
 * on the worker's backlog batches of 64/8192 and 256/32768. --batches:
 * instead, batch 1, 32, 64 and 256 (one call over all texts, slice 2048) and
 * the worker's backlog batches at the default limits (inline, slice 2048).
 * --baseline DIST: also run every child with the model code of another
 * build (e.g. /work/main/dist: its models/ modules are imported by the same
 * bench code), the two builds alternating child by child in each round, and
 * report the ratio of the useful rate per CPU-second (this build / baseline)
 * per round. --threads: the TF thread settings to run (default 1,2).
 * --reps N: time each variant N times per child (interleaved) and keep the
 * median CPU and wall time (default 1). --precision / --baseline-precision P:
 * the LSTM's precision at inference in this build's / the baseline's children
 * (float32, the default, bfloat16 or int8: models/layers/nativeLstm.ts); with
 * --baseline set to this build's own dist, the two precisions side by side,
 * e.g. --baseline dist --precision bfloat16. --engine / --baseline-engine E:
 * where the LSTM runs in this build's / the baseline's children: auto (the
 * default: the C kernel's fastest engine where it runs), avx512 or avx2 (that
 * engine of the C kernel, models/layers/nativeLstm.ts useNativeEngine), or
 * tensorflow (the C kernel off: BlockLSTM), set in the child's own thread, so
 * with --batches (the other sets' thread rows are refused). E.g. with oneDNN held
 * to AVX2, an estimate of a CPU without AVX-512: ONEDNN_MAX_CPU_ISA=AVX2 node
 * dist/bench/limitsLevers.js --batches --baseline dist --engine avx2
 * --baseline-engine tensorflow.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { corporaDir, defaultModelDir, projectRoot } from '../cli/defaults.js';
import { INFERENCE_PRECISIONS, type InferencePrecision } from '../models/layers/precision.js';
import { benchArgs } from './args.js';
import { warnAboutAddons } from './builds.js';
import { median } from './stats.js';

/** One configuration timed in a child: which texts in which calls, through which tagger. */
interface Variant {
  name: string;
  /** 'worker': the worker's batches for `limits` on a backlog (or at `postsPerSecond`); 'batch': all texts in one call. */
  calls: 'worker' | 'batch';
  limits?: { maxCount: number; maxChars: number; maxWaitMs: number; postsPerSecond: number };
  batchSize: number;
  sliceChars: number;
  mode: 'inline' | 'thread';
  /** The least-cost grouping's pass cost in cells (models/batch.ts usePassCells); default PASS_CELLS. */
  passCells?: number;
}

interface VariantResult {
  name: string;
  seconds: number;
  /** CPU seconds of the process (every thread: TensorFlow's pool, the inference thread) over the same span. */
  cpuSeconds: number;
  real: number;
  cells: number;
  passes: number;
  lagMaxMs: number;
  lagP99Ms: number;
  callMaxMs: number;
  differingPosts: number;
}

const SLICES = [2048, 4096, 8192, 0];
const WAIT = 50;

type VariantSet = 'full' | 'quick' | 'batches';

function variants(set: VariantSet, passCells: number[]): Variant[] {
  const worker = (maxCount: number, maxChars: number, postsPerSecond: number, sliceChars: number, mode: 'inline' | 'thread'): Variant => ({
    name: `worker ${maxCount}/${maxChars}${Number.isFinite(postsPerSecond) ? ` at ${postsPerSecond} posts/s` : ', backlog'}, ${mode}, slice ${sliceChars || 'unlimited'}`,
    calls: 'worker',
    limits: { maxCount, maxChars, maxWaitMs: WAIT, postsPerSecond },
    batchSize: maxCount,
    sliceChars,
    mode,
  });
  const out: Variant[] = [];
  if (set === 'batches') {
    out.push(worker(64, 8192, Infinity, 2048, 'inline'));
    out.push({ name: 'batch 1, inline', calls: 'batch', batchSize: 1, sliceChars: 2048, mode: 'inline' });
    for (const b of [32, 64, 256]) out.push({ name: `batch ${b}, inline, slice 2048`, calls: 'batch', batchSize: b, sliceChars: 2048, mode: 'inline' });
    return out;
  }
  if (passCells.length > 0) {
    for (const [n, c] of [
      [64, 8192],
      [256, 32768],
    ])
      for (const p of passCells) out.push({ ...worker(n, c, Infinity, 2048, 'inline'), name: `worker ${n}/${c}, backlog, inline, slice 2048, pass cost ${p} cells`, passCells: p });
    return out;
  }
  for (const s of SLICES) out.push(worker(64, 8192, Infinity, s, 'inline'));
  for (const s of [2048, 0]) out.push(worker(64, 8192, Infinity, s, 'thread'));
  if (set === 'quick') return out;
  for (const s of SLICES) out.push(worker(64, 8192, 700, s, 'inline'));
  for (const [n, c] of [
    [128, 16384],
    [256, 32768],
  ])
    for (const s of [2048, 0]) out.push(worker(n, c, Infinity, s, 'inline'));
  out.push(worker(256, 32768, 700, 2048, 'inline'));
  out.push(worker(256, 32768, Infinity, 2048, 'thread'));
  out.push({ name: 'batch 1, inline', calls: 'batch', batchSize: 1, sliceChars: 2048, mode: 'inline' });
  for (const b of [32, 64, 256]) for (const s of [2048, 0]) out.push({ name: `batch ${b}, inline, slice ${s || 'unlimited'}`, calls: 'batch', batchSize: b, sliceChars: s, mode: 'inline' });
  return out;
}

/** The dist directory of this build (its models/ modules are the default model code of a child). */
const OWN_DIST = fileURLToPath(new URL('..', import.meta.url));

/** `modelsRoot`: the dist directory whose models/ modules run the tagger (this build's, or a baseline's). */
async function child(modelDir: string, dataFile: string, set: VariantSet, passCells: number[], modelsRoot: string, reps: number, precision: string, engine: string): Promise<void> {
  const from = (path: string) => pathToFileURL(join(modelsRoot, path)).href;
  const { useBackend } = (await import(from('models/backend.js'))) as typeof import('../models/backend.js');
  const { readConll } = (await import(from('models/data/conll.js'))) as typeof import('../models/data/conll.js');
  const { NeuralTagger } = (await import(from('models/tagger.js'))) as typeof import('../models/tagger.js');
  const { ThreadTagger } = (await import(from('models/threadTagger.js'))) as typeof import('../models/threadTagger.js');
  const { TaggerModel } = (await import(from('models/taggerModel.js'))) as typeof import('../models/taggerModel.js');
  const { PASS_CELLS, usePassCells } = (await import(from('models/batch.js'))) as typeof import('../models/batch.js');
  const { totalPadding, workerBatches } = await import('./workerBatches.js');
  // Where the build's C kernel runs, its passes compute the real characters only (no padding, no separators).
  const nativeLstmModule = (await import(from('models/layers/nativeLstm.js')).catch(() => ({}))) as Partial<typeof import('../models/layers/nativeLstm.js')>;
  const { forwardFlopsPerPosition } = await import('./flops.js');
  await useBackend('native');
  // The LSTM's precision at inference (float32 is every build's own; a build without the option cannot run another).
  if (precision !== 'float32') {
    const nativeLstm = (await import(from('models/layers/nativeLstm.js')).catch(() => ({}))) as Partial<typeof import('../models/layers/nativeLstm.js')>;
    if (nativeLstm.useInferencePrecision === undefined) throw new Error(`${modelsRoot} has no precision option (models/layers/nativeLstm.js useInferencePrecision); run it at float32`);
    nativeLstm.useInferencePrecision(precision as InferencePrecision);
  }
  // Where the LSTM runs (auto: as the build chooses), set before anything asks whether the C kernel runs.
  if (engine !== 'auto') {
    if (nativeLstmModule.useNativeLstm === undefined) throw new Error(`${modelsRoot} has no C kernel (models/layers/nativeLstm.js): run it with engine auto`);
    if (engine === 'tensorflow') nativeLstmModule.useNativeLstm(false);
    else if (nativeLstmModule.useNativeEngine === undefined) throw new Error(`${modelsRoot} has one engine only (no useNativeEngine): run it with engine auto or tensorflow`);
    else nativeLstmModule.useNativeEngine(engine as import('../models/layers/nativeLstm.js').NativeEngine);
  }
  const texts = (await readConll(dataFile)).filter((s) => s.chars.length > 0).map((s) => s.chars.join(''));
  const computesRealOnly = nativeLstmModule.nativeLstmAvailable?.() === true;
  const { model } = await TaggerModel.load(modelDir);
  const max = model.meta.maxLength;
  const vs = variants(set, passCells);
  type T = { tag(texts: readonly string[]): Promise<{ start: number; end: number; label: string }[][]> };
  const taggers = new Map<string, T>();
  const threads: { close(): Promise<unknown> }[] = [];
  for (const v of vs) {
    const key = `${v.mode} ${v.batchSize} ${v.sliceChars}`;
    if (taggers.has(key)) continue;
    if (v.mode === 'inline') taggers.set(key, new NeuralTagger(model, { batchSize: v.batchSize, sliceChars: v.sliceChars }));
    else if (engine !== 'auto') throw new Error(`engine ${engine} is set in the calling thread only, not in the inference threads of ${v.name}: use --batches`);
    else {
      const t = await ThreadTagger.open(modelDir, { backend: 'native', batchSize: v.batchSize, sliceChars: v.sliceChars, ...(precision !== 'float32' ? { precision: precision as InferencePrecision } : {}) });
      threads.push(t);
      taggers.set(key, t);
    }
  }
  const callsOf = (v: Variant) => (v.calls === 'worker' ? workerBatches(texts, v.limits!) : [texts]);
  const key = (ms: { start: number; end: number; label: string }[]) => ms.map((m) => `${m.start}-${m.end}-${m.label}`).join(',');
  let reference: string[] | undefined;
  // The first timed variant's mentions, written out for the comparison between builds.
  let firstFound: string[] | undefined;
  const run = async (v: Variant) => {
    const tagger = taggers.get(`${v.mode} ${v.batchSize} ${v.sliceChars}`)!;
    usePassCells(v.passCells ?? PASS_CELLS); // also for the padding counted below
    const calls = callsOf(v);
    const found: string[] = [];
    const h = monitorEventLoopDelay({ resolution: 1 });
    let callMax = 0;
    await immediate();
    h.enable();
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    for (const c of calls) {
      const c0 = process.hrtime.bigint();
      const out = await tagger.tag(c);
      callMax = Math.max(callMax, Number(process.hrtime.bigint() - c0) / 1e6);
      for (const ms of out) found.push(key(ms));
      // The worker's next batch comes through the event loop (Kafka I/O, the batcher's timer).
      await immediate();
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    // Let the histogram's timer fire once more, so a call that never yielded (sliceChars 0) is recorded too.
    await sleep(2);
    h.disable();
    reference ??= found;
    firstFound ??= found;
    // Packed where this build's model packs (a baseline without models/packing has no packs()).
    const p = totalPadding(calls, max, v.batchSize, v.sliceChars || Infinity, (model as { packs?: () => boolean }).packs?.() === true, !computesRealOnly);
    const r: VariantResult = {
      name: v.name,
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      real: p.real,
      cells: p.cells,
      passes: p.passes,
      lagMaxMs: h.max / 1e6,
      lagP99Ms: h.percentile(99) / 1e6,
      callMaxMs: callMax,
      differingPosts: found.filter((f, i) => f !== reference![i]).length,
    };
    return r;
  };
  // Warm-up: the worker's backlog batches through every tagger (V8 tiers up the feature and CRF code over ~30 calls).
  for (const v of vs) if (v.calls === 'worker' && !Number.isFinite(v.limits!.postsPerSecond) && v.limits!.maxCount === 64) await run(v);
  await run(vs[0]);
  reference = undefined;
  firstFound = undefined;
  // The reference (first variant, the default) defines the mentions; a variant over other texts (batch: all texts) has the same post order.
  const timed = vs.map(() => [] as VariantResult[]);
  for (let k = 0; k < reps; k++) for (const [i, v] of vs.entries()) timed[i].push(await run(v));
  const results = timed.map((rs) => ({
    ...rs[0],
    seconds: median(rs.map((r) => r.seconds)),
    cpuSeconds: median(rs.map((r) => r.cpuSeconds)),
    differingPosts: Math.max(...rs.map((r) => r.differingPosts)),
  }));
  for (const t of threads) await t.close();
  model.dispose();
  process.stdout.write(JSON.stringify({ flopsPerPosition: forwardFlopsPerPosition(model.network.config), matmulCpuGflops: await matmulPerCpuSecond(), results, reference: firstFound }) + '\n');
}

/** GFLOP per CPU-second of a 1024x1024 float32 matMul in this process (its TensorFlow pool, after 2 warm-up products). */
async function matmulPerCpuSecond(): Promise<number> {
  const tf = await import('@tensorflow/tfjs');
  const n = 1024;
  const [a, b] = [tf.randomNormal([n, n]), tf.randomNormal([n, n])];
  const product = () => {
    const c = tf.matMul(a, b);
    c.dataSync(); // outside tf.tidy (see bench/limitsWorker.ts)
    c.dispose();
  };
  product();
  product();
  const cpus: number[] = [];
  for (let i = 0; i < 5; i++) {
    const c0 = process.cpuUsage();
    product();
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1e6);
  }
  a.dispose();
  b.dispose();
  return (2 * n ** 3) / median(cpus) / 1e9;
}

async function driver(): Promise<void> {
  const values = benchArgs(import.meta.url, {
    model: { type: 'string', default: defaultModelDir() },
    data: { type: 'string', default: join(corporaDir(), 'weiboNER', 'weiboNER_2nd_conll.dev') },
    runs: { type: 'string', default: '5' },
    quick: { type: 'boolean', default: false },
    'pass-cells': { type: 'string' },
    batches: { type: 'boolean', default: false },
    baseline: { type: 'string' },
    threads: { type: 'string', default: '1,2' },
    reps: { type: 'string', default: '1' },
    precision: { type: 'string', default: 'float32' },
    'baseline-precision': { type: 'string', default: 'float32' },
    engine: { type: 'string', default: 'auto' },
    'baseline-engine': { type: 'string', default: 'auto' },
  });
  const runs = Number(values.runs);
  const self = fileURLToPath(import.meta.url);
  const limitsWorker = fileURLToPath(new URL('./limitsWorker.js', import.meta.url));
  const base = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' };
  const exec = (cmd: string, args: string[], env: NodeJS.ProcessEnv) => JSON.parse(execFileSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 }).toString());
  const threadSettings = [
    { name: '1 TF thread, 1 core', threads: '1', env: { ...base, TF_NUM_INTRAOP_THREADS: '1' }, pinned: true },
    { name: '2 TF threads, 2 cores', threads: '2', env: { ...base, TF_NUM_INTRAOP_THREADS: '2' }, pinned: false },
  ].filter((t) => values.threads!.split(',').includes(t.threads));
  if (threadSettings.length === 0) throw new Error(`--threads must list 1 and/or 2, got ${values.threads}`);
  const reps = Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be an integer >= 1, got ${values.reps}`);
  for (const flag of ['precision', 'baseline-precision'] as const) {
    if (!(INFERENCE_PRECISIONS as readonly string[]).includes(values[flag]!)) throw new Error(`--${flag} must be one of ${INFERENCE_PRECISIONS.join(', ')}, got ${values[flag]}`);
  }
  for (const flag of ['engine', 'baseline-engine'] as const) {
    if (!['auto', 'avx512', 'avx2', 'tensorflow'].includes(values[flag]!)) throw new Error(`--${flag} must be auto, avx512, avx2 or tensorflow, got ${values[flag]}`);
  }
  const tagged = (label: string, precision: string, engine: string) => [label, ...(precision === 'float32' ? [] : [precision]), ...(engine === 'auto' ? [] : [engine])].join(', ');
  const builds = [
    { label: tagged('this build', values.precision!, values.engine!), root: OWN_DIST, precision: values.precision!, engine: values.engine! },
    ...(values.baseline
      ? [{ label: tagged('baseline', values['baseline-precision']!, values['baseline-engine']!), root: values.baseline, precision: values['baseline-precision']!, engine: values['baseline-engine']! }]
      : []),
  ];
  const addonWarnings = warnAboutAddons(builds.slice(1));
  const settings = threadSettings.flatMap((t) =>
    builds.map((b) => ({ ...t, name: values.baseline || b.precision !== 'float32' || b.engine !== 'auto' ? `${t.name}, ${b.label}` : t.name, root: b.root, precision: b.precision, engine: b.engine })),
  );
  const set: VariantSet = values.batches ? 'batches' : values.quick ? 'quick' : 'full';
  const childArgs = (root: string, precision: string, engine: string) => ['child', values.model!, values.data!, set, values['pass-cells'] ?? '', root, String(reps), precision, engine];
  const loadBefore = loadavg();
  const mm: number[] = [];
  const per = settings.map(() => [] as { flopsPerPosition: number; matmulCpuGflops: number; results: VariantResult[]; reference: string[] }[]);
  for (let r = 0; r < runs; r++) {
    mm.push(exec('taskset', ['-c', '0', process.execPath, limitsWorker, 'matmul', '1024', '5'], base).gflops);
    settings.forEach((s, i) => {
      const args = [self, ...childArgs(s.root, s.precision, s.engine)];
      per[i].push(s.pinned ? exec('taskset', ['-c', '0', process.execPath, ...args], s.env) : exec(process.execPath, args, s.env));
      process.stderr.write(`round ${r + 1}/${runs}: ${s.name} done (load ${loadavg()[0].toFixed(2)})\n`);
    });
  }
  const loadAfter = loadavg();
  const perPos = per[0][0].flopsPerPosition;
  const fmt = (xs: number[], d = 1) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)})`;
  const lines = [
    `# Limits: the levers on the useful rate (${new Date().toISOString()})`,
    '',
    `CPU ${cpus()[0]?.model} x ${cpus().length}, Node ${process.version}; model ${values.model}; texts ${values.data}; ${runs} rounds${reps > 1 ? `, each variant timed ${reps} times per child (median)` : ''}${values.baseline ? `; model code: this build (${OWN_DIST}) and baseline (${values.baseline}), alternating child by child` : ''}; load average before ${loadBefore.map((x) => x.toFixed(2)).join(', ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(', ')}.`,
    `1-core matMul 1024x1024 float32 (pinned child, one per round): ${fmt(mm)} GFLOP/s. Forward FLOPs per position: ${perPos.toLocaleString('en-US')}.`,
    ...addonWarnings,
    '',
    'Useful rate: FLOPs over real characters per second as a share of the same round\'s 1-core matMul; padded: over the cells computed. Per CPU-second: useful FLOPs over the CPU time of the whole process (all threads) against the matMul\'s FLOPs per CPU-second in the same process (robust to a loaded machine, where wall time is not; the tagger\'s idle waits do not count). Lag: the tagging thread\'s event loop (inline: the main thread; thread: the calling thread), monitorEventLoopDelay max and p99 per pass over all calls (a call that never yields shows as the longest call instead). Median (range) over rounds.',
    '',
    `matMul per CPU-second in the children: ${settings.map((s, i) => `${s.name} ${fmt(per[i].map((c) => c.matmulCpuGflops))}`).join('; ')} GFLOP.`,
    '',
    '| variant | TF threads | tensor batches | padding | chars/s | useful share of matMul | padded share | useful per CPU-second, share of matMul\'s | loop lag max ms | lag p99 ms | longest call ms | posts with other mentions |',
    '|---|---|---:|---:|---|---|---|---|---|---|---|---:|',
  ];
  const names = per[0][0].results.map((x) => x.name);
  for (const name of names) {
    settings.forEach((s, i) => {
      const rs = per[i].map((c) => c.results.find((x) => x.name === name)!);
      const useful = rs.map((x, r) => (100 * perPos * x.real) / x.seconds / 1e9 / mm[r]);
      const padded = rs.map((x, r) => (100 * perPos * x.cells) / x.seconds / 1e9 / mm[r]);
      const perCpu = rs.map((x, r) => (100 * perPos * x.real) / x.cpuSeconds / 1e9 / per[i][r].matmulCpuGflops);
      const x0 = rs[0];
      lines.push(
        `| ${name} | ${s.name} | ${x0.passes} | ${((100 * (x0.cells - x0.real)) / x0.cells).toFixed(1)}% | ${fmt(
          rs.map((x) => x.real / x.seconds),
          0,
        )} | ${fmt(useful)}% | ${fmt(padded)}% | ${fmt(perCpu)}% | ${fmt(rs.map((x) => x.lagMaxMs), 0)} | ${fmt(rs.map((x) => x.lagP99Ms), 0)} | ${fmt(rs.map((x) => x.callMaxMs), 0)} | ${Math.max(...rs.map((x) => x.differingPosts))} |`,
      );
    });
  }
  if (values.baseline) {
    lines.push(
      '',
      `This build against the baseline, per round (same round, same thread setting, the children one after the other): ratio of the useful rate per CPU-second (each against its own child's matMul per CPU-second), median (range) over ${runs} rounds; and the posts whose mentions differ between the builds (first variant, every round).`,
      '',
      '| variant | TF threads | useful per CPU-second, this build / baseline | chars per CPU-second, this build / baseline | posts with other mentions than the baseline |',
      '|---|---|---|---|---:|',
    );
    const differing = Math.max(
      ...threadSettings.flatMap((_, t) => per[2 * t].map((c, r) => c.reference.filter((f, i) => f !== per[2 * t + 1][r].reference[i]).length)),
    );
    for (const name of names) {
      threadSettings.forEach((t, k) => {
        const [ours, base] = [per[2 * k], per[2 * k + 1]].map((cs) => cs.map((c) => ({ x: c.results.find((x) => x.name === name)!, mm: c.matmulCpuGflops })));
        const share = ours.map((o, r) => (o.x.real / o.x.cpuSeconds / o.mm) / (base[r].x.real / base[r].x.cpuSeconds / base[r].mm));
        const chars = ours.map((o, r) => base[r].x.cpuSeconds / o.x.cpuSeconds);
        lines.push(`| ${name} | ${t.name} | ${fmt(share, 2)} | ${fmt(chars, 2)} | ${differing} |`);
      });
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
  const dir = join(projectRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'limitsLevers.json'), JSON.stringify({ matmul: mm, settings: settings.map((s) => s.name), per }, null, 1));
  writeFileSync(join(dir, 'limitsLevers.md'), lines.join('\n') + '\n');
}

if (process.argv[2] === 'child') {
  const passCells = (process.argv[6] ?? '').split(',').filter((x) => x !== '').map(Number);
  await child(process.argv[3], process.argv[4], process.argv[5] as VariantSet, passCells, process.argv[7] ?? OWN_DIST, Number(process.argv[8] ?? 1), process.argv[9] ?? 'float32', process.argv[10] ?? 'auto');
} else await driver();
