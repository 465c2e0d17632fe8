/**
 * The latency cost of a hot swap: batch latency around a swap against steady
 * state, for inline and thread inference.
 *
 * In one process per mode: a model store holding the model (--model, default
 * the shipped one) twice, as versions a and b; a SwappableTagger serving a,
 * followed by the real follower (pipeline/stream/modelFollower.ts, polling
 * every 50 ms, loading inline or into the one inference thread as
 * `mentionflow run --model-store` does).
 * Batches of --batch sample posts arrive open loop every --period ms (default:
 * twice the mean batch time measured first, about 50% load) and are tagged one
 * at a time, as the worker's tagBatch does with concurrency 1; a batch's
 * latency counts from when it was due to when its mentions are back. During
 * the run SERVING moves --swaps times (b, a, b, ...), --gap-ms apart.
 * "Around a swap": batches due between a promotion and --after-ms (2000) after
 * the swap took effect (so the candidate's load, probe, the old model's
 * dispose and the backlog they leave all fall inside); "steady": every other
 * batch. Reported per mode: p50 and p99
 * of both, the ratio of the p99s (target < 2x), and promote-to-serving time;
 * medians over --runs runs, the per-run ratios and the load average.
 * With --baseline DIST (another compiled tree, e.g. a copy of main's dist/
 * with its schemas/ and a node_modules link beside it) the mode
 * inline-baseline loads candidates with that tree's TaggerModel.load
 * (the follower is this tree's): before and after side by side. Runs are
 * interleaved: run 1 of every mode, then run 2, ...
 *
 * Usage: node dist/bench/swapLatency.js [--runs 3] [--modes inline,thread] [--swaps 3] [--gap-ms 6000] [--after-ms 2000]
 *   [--batch 32] [--period MS] [--model DIR] [--baseline DIST]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ModelStore } from '../models/artifact/store.js';
import { preferOneComputeThread, useBackend } from '../models/backend.js';
import { SwappableTagger } from '../models/swappableTagger.js';
import { NeuralTagger, type Tagger } from '../models/tagger.js';
import { TaggerModel } from '../models/taggerModel.js';
import { ThreadTagger } from '../models/threadTagger.js';
import { defaultModelDir } from '../cli/defaults.js';
import { silentLogger } from '../pipeline/ops/logger.js';
import { createPipelineMetrics } from '../pipeline/ops/metrics.js';
import { loadServing, startModelFollower } from '../pipeline/stream/modelFollower.js';
import { benchArgs } from './args.js';
import { median, quantile } from './stats.js';
import { samplePosts } from './syntheticPosts.js';

const args = benchArgs(import.meta.url, {
  runs: { type: 'string', default: '3' },
  modes: { type: 'string' },
  swaps: { type: 'string', default: '3' },
  'gap-ms': { type: 'string', default: '6000' },
  'after-ms': { type: 'string', default: '2000' },
  batch: { type: 'string', default: '32' },
  period: { type: 'string' },
  model: { type: 'string' },
  baseline: { type: 'string' },
});
const runs = Number(args.runs);
const swaps = Number(args.swaps);
const gapMs = Number(args['gap-ms']);
const batchSize = Number(args.batch);
const afterMs = Number(args['after-ms']);
const modelDir = args.model ?? defaultModelDir();
type Mode = 'inline' | 'inline-baseline' | 'thread';
const modes = String(args.modes ?? (args.baseline !== undefined ? 'inline,inline-baseline,thread' : 'inline,thread')).split(',') as Mode[];
for (const m of modes) {
  if (m !== 'inline' && m !== 'thread' && m !== 'inline-baseline') throw new Error(`--modes: unknown mode ${m} (inline, inline-baseline, thread)`);
  if (m === 'inline-baseline' && args.baseline === undefined) throw new Error('--modes inline-baseline needs --baseline DIST');
}
const baselineModel: typeof TaggerModel | undefined =
  args.baseline === undefined ? undefined : ((await import(pathToFileURL(join(resolve(args.baseline), 'models/taggerModel.js')).href)) as { TaggerModel: typeof TaggerModel }).TaggerModel;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

interface RunResult {
  steadyP50: number;
  steadyP99: number;
  aroundP50: number;
  aroundP99: number;
  swapMs: number;
  steadyN: number;
  aroundN: number;
  period: number;
}

async function loadInline(dir: string): Promise<Tagger> {
  const { model } = await TaggerModel.load(dir);
  return new NeuralTagger(model, { batchSize: 64 });
}

/** main's (or another tree's) TaggerModel.load; the model then serves through this tree's NeuralTagger. */
async function loadInlineBaseline(dir: string): Promise<Tagger> {
  const { model } = await (baselineModel as typeof TaggerModel).load(dir);
  return new NeuralTagger(model, { batchSize: 64 });
}

async function runOnce(mode: Mode, store: ModelStore): Promise<RunResult> {
  await store.promote('a');
  // As `run --model-store` does: thread mode loads every version into the one inference thread.
  let host: ThreadTagger | undefined;
  const load =
    mode === 'thread'
      ? async (dir: string): Promise<Tagger> => {
          if (host !== undefined) return host.load(dir);
          host = await ThreadTagger.open(dir, { batchSize: 64 });
          return host.initialModel();
        }
      : mode === 'inline-baseline'
        ? loadInlineBaseline
        : loadInline;
  const served = await loadServing(store, load);
  const tagger = new SwappableTagger(served.tagger, served.model);
  const follower = startModelFollower({ store, tagger, load, intervalMs: 50, logger: silentLogger(), metrics: createPipelineMetrics({ collectDefault: false }) });
  const posts = samplePosts().map((p) => p.text);
  const texts = Array.from({ length: batchSize }, (_, i) => posts[i % posts.length]);
  try {
    for (let i = 0; i < 5; i++) await tagger.tag(texts);
    let period = Number(args.period ?? 0);
    if (!(period > 0)) {
      const t = performance.now();
      for (let i = 0; i < 10; i++) await tagger.tag(texts);
      period = Math.max(5, Math.round((2 * (performance.now() - t)) / 10));
    }
    const windows: Array<[number, number]> = [];
    const start = performance.now();
    const end = start + gapMs * (swaps + 1);
    let promoting = true;
    const promotions = (async () => {
      for (let k = 0; k < swaps; k++) {
        await sleep(start + gapMs * (k + 1) - performance.now());
        const target = k % 2 === 0 ? 'b' : 'a';
        const at = performance.now();
        await store.promote(target);
        while (tagger.modelVersion !== target) await sleep(5);
        windows.push([at, performance.now()]);
      }
      promoting = false;
    })();
    const lat: Array<[number, number]> = [];
    for (let i = 0; ; i++) {
      const due = start + i * period;
      if (due > end && !promoting) break;
      await sleep(due - performance.now());
      await tagger.tag(texts);
      lat.push([due, performance.now() - due]);
    }
    await promotions;
    const around = (due: number) => windows.some(([a, b]) => due >= a && due <= b + afterMs);
    const steady = lat.filter(([d]) => !around(d)).map(([, l]) => l);
    const near = lat.filter(([d]) => around(d)).map(([, l]) => l);
    return {
      steadyP50: quantile(steady, 0.5),
      steadyP99: quantile(steady, 0.99),
      aroundP50: quantile(near, 0.5),
      aroundP99: quantile(near, 0.99),
      swapMs: median(windows.map(([a, b]) => b - a)),
      steadyN: steady.length,
      aroundN: near.length,
      period,
    };
  } finally {
    await follower.stop();
    tagger.dispose();
    await host?.close();
  }
}

async function main(): Promise<void> {
  preferOneComputeThread();
  const backend = await useBackend('auto');
  const dir = mkdtempSync(join(tmpdir(), 'mf-swapbench-'));
  try {
    const store = await ModelStore.open(dir, { create: true });
    await store.add(modelDir, 'a');
    await store.add(modelDir, 'b');
    const load = { start: loadavg(), end: [] as number[] };
    process.stdout.write(`CPU ${cpus()[0]?.model ?? '?'} x ${cpus().length}, Node ${process.version}, backend ${backend}; model ${modelDir}; batch ${batchSize}; ${swaps} swaps ${gapMs} ms apart; medians of ${runs} runs, modes interleaved${args.baseline !== undefined ? `; inline-baseline: TaggerModel.load of ${resolve(args.baseline)}` : ''}\n\n`);
    const results = new Map<Mode, RunResult[]>(modes.map((m) => [m, []]));
    for (let r = 0; r < runs; r++) {
      for (const mode of modes) {
        const x = await runOnce(mode, store);
        (results.get(mode) as RunResult[]).push(x);
        process.stderr.write(`${mode} run ${r + 1}: steady p99 ${x.steadyP99.toFixed(1)} ms, around p99 ${x.aroundP99.toFixed(1)} ms, ratio ${(x.aroundP99 / x.steadyP99).toFixed(2)}x, swap ${x.swapMs.toFixed(0)} ms (load avg ${loadavg()[0].toFixed(1)})\n`);
      }
    }
    load.end = loadavg();
    process.stdout.write('| inference | period ms | steady p50 / p99 ms | around a swap p50 / p99 ms | p99 ratio (target < 2x) | per-run ratios | promote -> serving ms | batches steady / around (per run) |\n|---|---|---|---|---|---|---|---|\n');
    for (const mode of modes) {
      const rs = results.get(mode) as RunResult[];
      const m = (f: (x: RunResult) => number) => median(rs.map(f));
      const ratio = m((x) => x.aroundP99 / x.steadyP99);
      process.stdout.write(
        `| ${mode} | ${m((x) => x.period).toFixed(0)} | ${m((x) => x.steadyP50).toFixed(1)} / ${m((x) => x.steadyP99).toFixed(1)} | ${m((x) => x.aroundP50).toFixed(1)} / ${m((x) => x.aroundP99).toFixed(1)} | ${ratio.toFixed(2)}x | ${rs.map((x) => (x.aroundP99 / x.steadyP99).toFixed(2)).join(', ')} | ${m((x) => x.swapMs).toFixed(0)} | ${m((x) => x.steadyN).toFixed(0)} / ${m((x) => x.aroundN).toFixed(0)} |\n`,
      );
    }
    process.stdout.write(`\nLoad average ${load.start.map((x) => x.toFixed(2)).join(' ')} at start, ${load.end.map((x) => x.toFixed(2)).join(' ')} at end.\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
