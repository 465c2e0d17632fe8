/**
 * Limits of this machine against what the tagger achieves, in one run:
 *  - the backend's float32 matrix-multiply rate on one large product, pinned
 *    to one core (taskset) and on all cores;
 *  - the tagger's achieved rate at batch sizes 1, 32, 64 and 256 and on the
 *    worker's batches (bench/workerBatches.ts): forward FLOPs (bench/flops.ts)
 *    per second over the positions it computes (padded) and over the real
 *    characters (useful), with the padding computed, for padded tensor
 *    batches (least-cost grouping) and packed ones (several sentences per
 *    row, models/packing.ts, the default) side by side; on one core also
 *    with the LSTM recurrence as per-step tfjs kernels (the training path)
 *    instead of the fused BlockLSTM kernel that inference uses.
 * Medians of several runs; ratios to the single-core matMul rate.
 *
 *   node dist/bench/limits.js [--model DIR] [--data FILE] [--runs N] [--size N]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { corporaDir, defaultModelDir, projectRoot } from '../cli/defaults.js';
import { DEFAULT_SLICE_CHARS } from '../models/tagger.js';
import { benchArgs } from './args.js';

const values = benchArgs(import.meta.url, {
    model: { type: 'string', default: defaultModelDir() },
    data: { type: 'string', default: join(corporaDir(), 'weiboNER', 'weiboNER_2nd_conll.dev') },
    runs: { type: 'string', default: '5' },
    size: { type: 'string', default: '1024' },
  });
const worker = fileURLToPath(new URL('./limitsWorker.js', import.meta.url));
const env = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' };
const run = (args: string[], oneCore: boolean) =>
  JSON.parse(execFileSync(oneCore ? 'taskset' : process.execPath, oneCore ? ['-c', '0', process.execPath, worker, ...args] : [worker, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] }).toString());

const loadBefore = loadavg();
const mm1 = run(['matmul', values.size!, values.runs!], true);
const mm2 = run(['matmul', values.size!, values.runs!], false);
const tag1 = run(['tagger', values.model!, values.data!, values.runs!], true);
const tag2 = run(['tagger', values.model!, values.data!, values.runs!], false);
const tagSteps = run(['tagger-steps', values.model!, values.data!, values.runs!], true);

interface Grouped {
  passes: number;
  real: number;
  cells: number;
  padding: number;
  charsPerSecond: number;
  gflops: number;
  usefulGflops: number;
}
interface TaggerRun {
  name: string;
  batchSize: number;
  calls: number;
  padded: Grouped;
  packed: Grouped;
}
const share = (gflops: number) => `${((100 * gflops) / mm1.gflops).toFixed(1)}%`;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const cell = (b: TaggerRun) => `${Math.round(b.packed.charsPerSecond)}; ${b.packed.gflops.toFixed(2)} (${share(b.packed.gflops)}); ${b.packed.usefulGflops.toFixed(2)} (${share(b.packed.usefulGflops)})`;
const side = (b: TaggerRun) =>
  `| ${b.name} (${b.calls} call${b.calls > 1 ? 's' : ''}) | ${b.padded.passes} / ${b.packed.passes} | ${pct(b.padded.padding)} / ${pct(b.packed.padding)} | ${Math.round(b.padded.charsPerSecond)} / ${Math.round(b.packed.charsPerSecond)} (${(b.packed.charsPerSecond / b.padded.charsPerSecond).toFixed(2)}x) | ${share(b.padded.gflops)} / ${share(b.packed.gflops)} | ${share(b.padded.usefulGflops)} / ${share(b.packed.usefulGflops)} |`;

const lines = [
  `# Limits (${new Date().toISOString()})`,
  '',
  `CPU ${cpus()[0]?.model} x ${cpus().length}, Node ${process.version}, backend ${mm1.backend}; model ${values.model}; medians of ${values.runs} runs; load average before ${loadBefore.map((x) => x.toFixed(2)).join(', ')}, after ${loadavg().map((x) => x.toFixed(2)).join(', ')}.`,
  '',
  `Tagger cells: chars/s; GFLOP/s over computed (padded) positions (share of 1-core matMul); GFLOP/s over real characters, the useful rate (share). The tagger's default pacing (${DEFAULT_SLICE_CHARS} cells per tensor batch) and packed tensor batches (padded where the LSTM runs as per-step kernels, which cannot pack).`,
  '',
  `| measurement | 1 core | ${cpus().length} cores | 1 core, LSTM as per-step kernels |`,
  '|---|---|---|---|',
  `| matMul ${values.size}x${values.size} float32, GFLOP/s | ${mm1.gflops.toFixed(1)} | ${mm2.gflops.toFixed(1)} | - |`,
  ...tag1.batches.map((b: TaggerRun, i: number) => `| tagger, ${b.name} | ${cell(b)} | ${cell(tag2.batches[i])} | ${cell(tagSteps.batches[i])} |`),
  '',
  `Forward FLOPs per position: ${tag1.flopsPerPosition.toLocaleString('en-US')}. Worker batches: the worker's fixed batcher with its default limits over the same texts, on virtual time (a backlog, or evenly spaced arrivals), each batch one tagger call with batchSize = batchMaxCount.`,
  '',
  'One core, padded tensor batches (least-cost grouping, inferenceBuckets) / packed ones (packRows, the default), timed alternately run by run; padding computed counts padded positions and, packed, separators and the rows\' ends:',
  '',
  '| measurement | tensor batches | padding computed | chars/s | padded rate (share of matMul) | useful rate (share of matMul) |',
  '|---|---|---|---|---|---|',
  ...tag1.batches.map(side),
];
process.stdout.write(lines.join('\n') + '\n');
const dir = join(projectRoot(), 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'limits.json'), JSON.stringify({ matmul: { oneCore: mm1, allCores: mm2 }, tagger: { oneCore: tag1, allCores: tag2, oneCoreStepKernels: tagSteps } }, null, 1));
writeFileSync(join(dir, 'limits.md'), lines.join('\n') + '\n');
