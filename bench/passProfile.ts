/**
 * Where a forward pass's time goes (issue 17 item 2: the per-pass fixed
 * cost), for one build's model code or two side by side:
 *  1. ops: one worker-sized call (the first of the worker's backlog batches
 *     of the dev posts: 64 posts, 8,192 characters) tensor batch by tensor
 *     batch, each network pass under tf.profile: the tfjs kernels it runs
 *     (count and time, summed over the call's passes), and what no tfjs
 *     kernel accounts for (the BlockLSTM op, called through the backend's
 *     eager op interface, and the JavaScript between kernels);
 *  2. fit: the CPU time of one NER emissions pass (network, no decoding) over
 *     a grid of batch shapes (B x T), median of --reps per shape, fitted by
 *     least squares to fixed + perCell x (B x T): the fixed cost per pass.
 * One child process per build, 1 TensorFlow intra-op thread pinned to core
 * 0, the builds alternating round by round (--runs). CPU time (the whole
 * process) is robust to a loaded machine; wall time is not.
 *
 *   node dist/bench/passProfile.js [--model DIR] [--data FILE] [--baseline DIST] [--runs N] [--reps N]
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { corporaDir, defaultModelDir } from '../cli/defaults.js';
import { benchArgs } from './args.js';
import { warnAboutAddons } from './builds.js';
import { median } from './stats.js';

const OWN_DIST = fileURLToPath(new URL('..', import.meta.url));
const SHAPES = { sizes: [1, 4, 16, 48], steps: [16, 48, 96] };

interface ChildOut {
  /** Passes of the worker-sized call: shape and wall ms under tf.profile. */
  passes: { size: number; steps: number; ms: number }[];
  /** tfjs kernels over the call's passes: name -> count, ms. */
  kernels: Record<string, { count: number; ms: number }>;
  /** CPU ms per pass by shape (median of reps). */
  grid: { size: number; steps: number; cpuMs: number }[];
}

async function child(modelDir: string, dataFile: string, root: string, reps: number): Promise<void> {
  const from = (path: string) => pathToFileURL(join(root, path)).href;
  const tf = await import('@tensorflow/tfjs');
  const { useBackend } = (await import(from('models/backend.js'))) as typeof import('../models/backend.js');
  const { readConll } = (await import(from('models/data/conll.js'))) as typeof import('../models/data/conll.js');
  const { TaggerModel } = (await import(from('models/taggerModel.js'))) as typeof import('../models/taggerModel.js');
  const { inferenceBuckets, makeBatch } = (await import(from('models/batch.js'))) as typeof import('../models/batch.js');
  const { workerBatches } = await import('./workerBatches.js');
  await useBackend('native');
  const sentences = (await readConll(dataFile)).map((s) => s.chars).filter((c) => c.length > 0);
  const { model } = await TaggerModel.load(modelDir);
  const call = workerBatches(
    sentences.map((c) => c.join('')),
    { maxCount: 64, maxChars: 8192, maxWaitMs: 50, postsPerSecond: Infinity },
  )[0].map((t) => [...t]);
  const batches = inferenceBuckets(call.map((c) => c.length), 64, 2048).map((g) => makeBatch(g.map((i) => model.encode(call[i]))));
  const pass = (b: (typeof batches)[number]) => {
    const em = model.emissions('ner', b);
    em.dataSync();
    em.dispose();
  };
  for (let i = 0; i < 20; i++) for (const b of batches) pass(b);
  // 1. ops of the worker-sized call
  const kernels: ChildOut['kernels'] = {};
  const passes: ChildOut['passes'] = [];
  for (const b of batches) {
    const t0 = process.hrtime.bigint();
    const info = await tf.profile(() => pass(b));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    passes.push({ size: b.size, steps: b.steps, ms });
    for (const k of info.kernels) {
      const e = (kernels[k.name] ??= { count: 0, ms: 0 });
      e.count += 1;
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    }
  }
  // 2. CPU time per pass over a grid of shapes (sentences cut or repeated to T characters)
  const grid: ChildOut['grid'] = [];
  const long = sentences.filter((c) => c.length >= 16);
  for (const size of SHAPES.sizes)
    for (const steps of SHAPES.steps) {
      const batch = makeBatch(
        Array.from({ length: size }, (_, i) => {
          const c = long[i % long.length];
          return model.encode(Array.from({ length: steps }, (_, t) => c[t % c.length]));
        }),
      );
      pass(batch);
      const cpu: number[] = [];
      for (let r = 0; r < reps; r++) {
        const c0 = process.cpuUsage();
        pass(batch);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1e3);
      }
      grid.push({ size, steps, cpuMs: median(cpu) });
    }
  model.dispose();
  const out: ChildOut = { passes, kernels, grid };
  process.stdout.write(JSON.stringify(out) + '\n');
}

/** Least squares y = c[0] x[0] + c[1] x[1] + ... (normal equations, Gaussian elimination). */
function leastSquares(rows: number[][], ys: number[]): number[] {
  const k = rows[0].length;
  const a = Array.from({ length: k }, (_, i) => [...Array.from({ length: k }, (_, j) => rows.reduce((s, r) => s + r[i] * r[j], 0)), rows.reduce((s, r, n) => s + r[i] * ys[n], 0)]);
  for (let i = 0; i < k; i++) {
    const p = a.slice(i).reduce((best, r, j) => (Math.abs(r[i]) > Math.abs(a[best][i]) ? i + j : best), i);
    [a[i], a[p]] = [a[p], a[i]];
    for (let j = 0; j < k; j++) if (j !== i) {
      const f = a[j][i] / a[i][i];
      for (let m = i; m <= k; m++) a[j][m] -= f * a[i][m];
    }
  }
  return a.map((r, i) => r[k] / r[i]);
}

/** CPU ms per pass = fixed + per cell x B x T (two terms), and the same with a per time step term (T). */
function fits(grid: ChildOut['grid']): { fixed: number; perCell: number; fixed3: number; perStep3: number; perCell3: number } {
  const ys = grid.map((g) => g.cpuMs);
  const [fixed, perCell] = leastSquares(grid.map((g) => [1, g.size * g.steps]), ys);
  const [fixed3, perStep3, perCell3] = leastSquares(grid.map((g) => [1, g.steps, g.size * g.steps]), ys);
  return { fixed, perCell, fixed3, perStep3, perCell3 };
}

async function driver(): Promise<void> {
  const values = benchArgs(import.meta.url, {
    model: { type: 'string', default: defaultModelDir() },
    data: { type: 'string', default: join(corporaDir(), 'weiboNER', 'weiboNER_2nd_conll.dev') },
    baseline: { type: 'string' },
    runs: { type: 'string', default: '3' },
    reps: { type: 'string', default: '7' },
  });
  const runs = Number(values.runs);
  const reps = Number(values.reps);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(reps) || reps < 1) throw new Error('--runs and --reps must be integers >= 1');
  const builds = [{ label: 'this build', root: OWN_DIST }, ...(values.baseline ? [{ label: 'baseline', root: values.baseline }] : [])];
  const addonWarnings = warnAboutAddons(builds.slice(1));
  const self = fileURLToPath(import.meta.url);
  const env = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', TF_NUM_INTRAOP_THREADS: '1' };
  const loadBefore = loadavg();
  const outs = builds.map(() => [] as ChildOut[]);
  for (let r = 0; r < runs; r++)
    builds.forEach((b, i) => {
      const args = ['-c', '0', process.execPath, self, 'child', values.model!, values.data!, b.root, String(reps)];
      outs[i].push(JSON.parse(execFileSync('taskset', args, { env, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 }).toString()));
      process.stderr.write(`round ${r + 1}/${runs}: ${b.label} done (load ${loadavg()[0].toFixed(2)})\n`);
    });
  const loadAfter = loadavg();
  const fmt = (xs: number[], d = 2) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)})`;
  const lines = [
    `# Per-pass cost (${new Date().toISOString()}): ${runs} rounds, ${reps} reps per shape; load average before ${loadBefore.map((x) => x.toFixed(2)).join(', ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(', ')}`,
    ...addonWarnings,
    '',
  ];
  builds.forEach((b, i) => {
    const o = outs[i];
    const f = o.map((c) => fits(c.grid));
    const first = o[0];
    const wall = o.map((c) => c.passes.reduce((s, p) => s + p.ms, 0));
    const kernelMs = o.map((c) => Object.values(c.kernels).reduce((s, k) => s + k.ms, 0));
    lines.push(
      `## ${b.label} (${b.root})`,
      '',
      `Fits of CPU ms per NER emissions pass over B ${SHAPES.sizes.join('/')} x T ${SHAPES.steps.join('/')} (median (range) over rounds): fixed + per cell x B x T: fixed ${fmt(f.map((x) => x.fixed))} ms, per cell ${fmt(f.map((x) => 1000 * x.perCell))} us; fixed + per step x T + per cell x B x T: fixed ${fmt(f.map((x) => x.fixed3))} ms, per time step ${fmt(f.map((x) => 1000 * x.perStep3))} us, per cell ${fmt(f.map((x) => 1000 * x.perCell3))} us.`,
      '',
      `Worker-sized call (${first.passes.length} passes, shapes ${first.passes.map((p) => `${p.size}x${p.steps}`).join(', ')}) under tf.profile: wall ${fmt(wall, 1)} ms, of which tfjs kernels ${fmt(kernelMs, 1)} ms; the rest (BlockLSTM, JavaScript between kernels, profiling) ${fmt(wall.map((w, r) => w - kernelMs[r]), 1)} ms.`,
      '',
      '| kernel | per call (count) | per pass | ms per call, median (range) |',
      '|---|---:|---:|---|',
      ...Object.keys(first.kernels)
        .sort((x, y) => first.kernels[y].ms - first.kernels[x].ms)
        .map((k) => `| ${k} | ${first.kernels[k].count} | ${(first.kernels[k].count / first.passes.length).toFixed(1)} | ${fmt(o.map((c) => c.kernels[k]?.ms ?? 0))} |`),
      '',
      '| B x T | CPU ms per pass, median (range) over rounds |',
      '|---|---|',
      ...first.grid.map((g, j) => `| ${g.size} x ${g.steps} | ${fmt(o.map((c) => c.grid[j].cpuMs))} |`),
      '',
    );
  });
  if (builds.length === 2) {
    const ratio = outs[0].map((c, r) => {
      const [ours, base] = [c, outs[1][r]].map((x) => x.grid.reduce((s, g) => s + g.cpuMs, 0));
      return base / ours;
    });
    lines.push(`Grid total CPU, baseline / this build, per round: ${fmt(ratio)}.`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

if (process.argv[2] === 'child') await child(process.argv[3], process.argv[4], process.argv[5], Number(process.argv[6]));
else await driver();
