/**
 * Tagger benchmark across compute backends, side by side in one run:
 * tagging throughput (characters per second) at batch sizes 1, 32 and 256,
 * and the time of one training epoch (or of single training steps where an
 * epoch would take too long), each backend in its own child process.
 *
 *   node dist/bench/backends.js [--model DIR] [--data FILE] [--runs N] [--backends native,wasm,cpu]
 *
 * Writes a Markdown table to stdout and JSON to bench/results/backends.json.
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
    train: { type: 'string', default: join(corporaDir(), 'weiboNER', 'weiboNER_2nd_conll.train') },
    runs: { type: 'string', default: '5' },
    backends: { type: 'string', default: 'native,wasm,cpu' },
    'batch-sizes': { type: 'string', default: '1,32,256' },
  });

interface WorkerResult {
  backend: string;
  throughput: { batchSize: number; charsPerSecond: number; runs: number[]; paddingWaste: number }[];
  training: { epochSeconds?: number; stepSeconds?: number; steps: number; note: string };
}

const worker = fileURLToPath(new URL('./backendWorker.js', import.meta.url));
const results: WorkerResult[] = [];
for (const backend of values.backends!.split(',')) {
  process.stderr.write(`== ${backend}\n`);
  try {
    const out = execFileSync(process.execPath, [worker, backend, values.model!, values.data!, values.train!, values.runs!, values['batch-sizes']!], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
      maxBuffer: 1 << 24,
    });
    results.push(JSON.parse(out.toString()) as WorkerResult);
  } catch (err) {
    process.stderr.write(`${backend} failed: ${(err as Error).message.split('\n')[0]}\n`);
  }
}

const sizes = values['batch-sizes']!.split(',').map(Number);
const ref = results.find((r) => r.backend === 'native') ?? results[0];
const lines = [
  `CPU: ${cpus()[0]?.model} x ${cpus().length}, Node ${process.version}; model ${values.model}; data ${values.data}; median of ${values.runs} runs`,
  '',
  `| backend | ${sizes.map((b) => `chars/s @ batch ${b}`).join(' | ')} | training |`,
  `|---|${sizes.map(() => '---').join('|')}|---|`,
];
for (const r of results) {
  const cells = sizes.map((b) => {
    const t = r.throughput.find((x) => x.batchSize === b);
    const base = ref.throughput.find((x) => x.batchSize === b);
    return t ? `${Math.round(t.charsPerSecond).toLocaleString('en-US')} (${(t.charsPerSecond / base!.charsPerSecond).toFixed(2)}x)` : 'n/a';
  });
  const tr = r.training.epochSeconds !== undefined ? `${r.training.epochSeconds.toFixed(1)} s/epoch` : r.training.stepSeconds !== undefined ? `${r.training.stepSeconds.toFixed(2)} s/step (${r.training.note})` : r.training.note;
  lines.push(`| ${r.backend} | ${cells.join(' | ')} | ${tr} |`);
}
const padding = ref?.throughput.map((t) => `batch ${t.batchSize}: ${(t.paddingWaste * 100).toFixed(1)}%`).join(', ');
lines.push('', `Padding waste with length bucketing (${ref?.backend}): ${padding}`);
process.stdout.write(lines.join('\n') + '\n');
const dir = join(projectRoot(), 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'backends.md'), lines.join('\n') + '\n');
writeFileSync(join(dir, 'backends.json'), JSON.stringify({ date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, results }, null, 1));
