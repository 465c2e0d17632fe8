/**
 * Every benchmark in one run, side by side, into one report
 * (bench/results/report.md and report.json) with the machine's description,
 * headed by the table of the issues' performance targets (bench/targets.ts):
 * each target, what was measured, met / not met / not measured, and the
 * command for the full figure. Parts: limits (matMul vs the tagger's achieved
 * and useful rate), backends, precision (dev F1 at each precision of the
 * LSTM's products against float32's), the streaming pipeline through the real broker
 * (needs KAFKA_BROKERS), ops (/healthz and /metrics under load), archive
 * (archive sink vs a bare kafkajs loop, needs KAFKA_BROKERS), trends (the
 * aggregator vs a bare loop and its capped memory), swap (batch latency
 * around a hot swap) and joint (training seconds per epoch, row 11). Each part
 * runs in its own process, bounded by its own sizes; --quick runs every part
 * small (a CI-like check that each runs and the table fills: verdicts are
 * indicative only; the consume-loop parts keep 100,000 records, since with
 * fewer the bare loop gets everything in one fetch and its rate means
 * nothing), the normal mode at the sizes of the targets' commands
 * where that takes minutes, smaller where it would take much longer (the
 * table's last column gives the full command).
 *
 * The archive target is on real text: --text FILE (e.g. the nlpcc2016 Weibo
 * word-seg train split, read at run time) is passed to the archive part;
 * without it that part runs on the bench's synthetic posts (which deflate far
 * better) and its target is left "not measured".
 *
 *   node dist/bench/all.js [--parts limits,backends,precision,pipeline,ops,archive,trends,swap,joint] [--quick] [--text FILE]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../cli/defaults.js';
import type { PipelineResults } from './pipelineReport.js';
import { benchArgs } from './args.js';
import { fromArchive, fromJoint, fromLimits, fromPipeline, fromPrecision, fromSwap, fromTrends, pipelineReported, renderTargets, targetRows, trendsReported, type Measurement, type Reported } from './targets.js';

const PARTS = ['limits', 'backends', 'precision', 'pipeline', 'ops', 'archive', 'trends', 'swap', 'joint'];
const values = benchArgs(import.meta.url, { parts: { type: 'string', default: PARTS.join(',') }, quick: { type: 'boolean', default: false }, text: { type: 'string' } });
const q = values.quick;
const ARGS: Record<string, string[]> = {
  limits: ['--runs', q ? '2' : '5'],
  backends: ['--runs', q ? '2' : '5', ...(q ? ['--backends', 'native'] : [])],
  pipeline: [
    ...(q ? ['--posts', '2000', '--full-posts', '300', '--runs', '1', '--rss-posts', '12000', '--latency-seconds', '6', '--latency-warmup-seconds', '1'] : ['--posts', '20000', '--runs', '5']),
    '--variants',
    'bare,codec,identity,full',
  ],
  ops: ['--out', join(projectRoot(), 'bench', 'results', 'ops.md'), ...(q ? ['--runs', '1', '--short-posts', '2000', '--long-lengths', '10000', '--huge', '40000'] : ['--runs', '3'])],
  archive: [...(q ? ['--posts', '100000', '--runs', '1'] : ['--runs', '5']), ...(values.text !== undefined ? ['--text', values.text] : [])],
  trends: q ? ['--records', '100000', '--runs', '1', '--memory-keys', '200000'] : ['--records', '100000', '--runs', '5'],
  swap: q ? ['--runs', '1', '--swaps', '1', '--gap-ms', '3000'] : ['--runs', '5'],
  joint: ['--epochs', q ? '1' : '2'],
  precision: [],
};
const SCRIPT: Record<string, string> = {
  limits: 'limits.js',
  backends: 'backends.js',
  pipeline: 'pipeline.js',
  ops: 'opsLatency.js',
  archive: 'archive.js',
  trends: 'trends.js',
  swap: 'swapLatency.js',
  joint: 'jointEpoch.js',
  precision: 'precisionF1.js',
};
/** Node flags a part needs (trends samples the heap after a forced GC). */
const NODE_ARGS: Record<string, string[]> = { trends: ['--expose-gc'] };
const dir = join(projectRoot(), 'bench', 'results');
mkdirSync(dir, { recursive: true });
const sections: string[] = [];
const json: Record<string, unknown> = {};
const measured: Record<string, Measurement | undefined> = {};
const reported: Reported[] = [];
const parts = values.parts!.split(',');
for (const part of parts) if (!SCRIPT[part]) throw new Error(`unknown part "${part}"; parts: ${PARTS.join(', ')}`);
for (const part of parts) {
  process.stderr.write(`== ${part}\n`);
  const started = Date.now();
  const stdout = execFileSync(process.execPath, [...(NODE_ARGS[part] ?? []), fileURLToPath(new URL(`./${SCRIPT[part]}`, import.meta.url)), ...ARGS[part]], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', KAFKAJS_NO_PARTITIONER_WARNING: '1' },
    maxBuffer: 1 << 26,
  }).toString();
  const seconds = (Date.now() - started) / 1000;
  if (part === 'precision') {
    const j = JSON.parse(stdout) as { data: string; precisions: Record<string, { overall?: number; named?: number; nominal?: number; refused?: string }> };
    json.precision = j;
    Object.assign(measured, fromPrecision(j));
    const f1 = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(2));
    const lines = Object.entries(j.precisions).map(([p, s]) => (s.refused !== undefined ? `| ${p} | refused: ${s.refused} | | |` : `| ${p} | ${f1(s.overall)} | ${f1(s.named)} | ${f1(s.nominal)} |`));
    sections.push(`## Dev F1 by precision (${j.data})\n\n| precision | overall | named | nominal |\n|---|---|---|---|\n${lines.join('\n')}`);
  } else if (part === 'joint') {
    const j = JSON.parse(stdout) as { secondsPerEpoch: number[]; thirtyEpochMinutes: number };
    json.joint = j;
    Object.assign(measured, fromJoint(j));
    sections.push(`## Joint training (row 11, WeiboNER v2 + NLPCC subsample)\n\nSeconds per epoch: ${j.secondsPerEpoch.map((s) => s.toFixed(1)).join(', ')}; 30 epochs would take ${j.thirtyEpochMinutes.toFixed(1)} minutes.`);
  } else if (part === 'archive' || part === 'trends' || part === 'swap') {
    json[part] = { stdout };
    Object.assign(measured, part === 'archive' ? fromArchive(stdout) : part === 'trends' ? fromTrends(stdout) : fromSwap(stdout));
    const t = part === 'trends' ? trendsReported(stdout) : undefined;
    if (t) reported.push(t);
    sections.push(`## ${part}\n\n\`\`\`\n${stdout.trim()}\n\`\`\``);
  } else {
    const md = join(dir, `${part}.md`);
    sections.push(`## ${part}\n\n${existsSync(md) ? readFileSync(md, 'utf8') : stdout}`);
    const js = join(dir, `${part}.json`);
    if (existsSync(js)) json[part] = JSON.parse(readFileSync(js, 'utf8'));
    if (part === 'pipeline' && json.pipeline) {
      Object.assign(measured, fromPipeline(json.pipeline as PipelineResults));
      const r = pipelineReported(json.pipeline as PipelineResults);
      if (r) reported.push(r);
    }
    if (part === 'limits' && json.limits) Object.assign(measured, fromLimits(json.limits));
  }
  sections.push(`(${part}: ${seconds.toFixed(0)} s)`);
}
const rows = targetRows(measured);
json.targets = rows.map((r) => ({ id: r.target.id, wanted: `${r.target.comparison} ${r.target.threshold}`, measured: r.measured ?? null, verdict: r.verdict }));
sections.unshift(renderTargets(rows, reported, q));
const header = `# mentionflow benchmark report (${new Date().toISOString()})\n\nMachine: ${cpus()[0]?.model} x ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}${q ? '; QUICK mode (small sizes, not for figures)' : ''}.`;
writeFileSync(join(dir, 'report.md'), [header, ...sections].join('\n\n') + '\n');
writeFileSync(join(dir, 'report.json'), JSON.stringify({ machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, quick: q, ...json }, null, 1) + '\n');
process.stdout.write([header, ...sections].join('\n\n') + '\n');
