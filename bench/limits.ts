/**
 * Limits of this machine against what the tagger achieves, in one run:
 *  - the backend's float32 matrix-multiply rate on one large product, pinned
 *    to one core (taskset) and on all cores;
 *  - the tagger's achieved rate: forward FLOPs (bench/flops.ts) per second at
 *    batch sizes 1, 32 and 256, with the padding waste of length-bucketed
 *    batches next to batches in arrival order; on one core also with the
 *    LSTM recurrence as per-step tfjs kernels (the training path) instead
 *    of the fused BlockLSTM kernel that inference uses.
 * Medians of several runs; ratios to the single-core matMul rate.
 *
 *   node dist/bench/limits.js [--model DIR] [--data FILE] [--runs N] [--size N]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { corporaDir, defaultModelDir, projectRoot } from '../cli/defaults.js';
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

const mm1 = run(['matmul', values.size!, values.runs!], true);
const mm2 = run(['matmul', values.size!, values.runs!], false);
const tag1 = run(['tagger', values.model!, values.data!, values.runs!], true);
const tag2 = run(['tagger', values.model!, values.data!, values.runs!], false);
const tagSteps = run(['tagger-steps', values.model!, values.data!, values.runs!], true);

interface TaggerRun {
  batchSize: number;
  gflops: number;
  charsPerSecond: number;
}
const cell = (b: TaggerRun) => `${Math.round(b.charsPerSecond)}; ${b.gflops.toFixed(2)} (${((100 * b.gflops) / mm1.gflops).toFixed(1)}%)`;

const lines = [
  `# Limits (${new Date().toISOString()})`,
  '',
  `CPU ${cpus()[0]?.model} x ${cpus().length}, Node ${process.version}, backend ${mm1.backend}; model ${values.model}; medians of ${values.runs} runs.`,
  '',
  `| measurement | 1 core | ${cpus().length} cores | 1 core, LSTM as per-step kernels |`,
  '|---|---|---|---|',
  `| matMul ${values.size}x${values.size} float32, GFLOP/s | ${mm1.gflops.toFixed(1)} | ${mm2.gflops.toFixed(1)} | - |`,
  ...tag1.batches.map((b: TaggerRun, i: number) => `| tagger batch ${b.batchSize}: chars/s; GFLOP/s (share of 1-core matMul) | ${cell(b)} | ${cell(tag2.batches[i])} | ${cell(tagSteps.batches[i])} |`),
  '',
  `Forward FLOPs per position: ${tag1.flopsPerPosition.toLocaleString('en-US')}. Padding waste (share of padded positions): ${tag1.batches
    .map((b: { batchSize: number; wasteBucketed: number; wasteArrival: number }) => `batch ${b.batchSize}: ${(100 * b.wasteBucketed).toFixed(1)}% bucketed vs ${(100 * b.wasteArrival).toFixed(1)}% in arrival order`)
    .join('; ')}.`,
];
process.stdout.write(lines.join('\n') + '\n');
const dir = join(projectRoot(), 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'limits.json'), JSON.stringify({ matmul: { oneCore: mm1, allCores: mm2 }, tagger: { oneCore: tag1, allCores: tag2, oneCoreStepKernels: tagSteps } }, null, 1));
writeFileSync(join(dir, 'limits.md'), lines.join('\n') + '\n');
