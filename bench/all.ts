/**
 * Every benchmark in one run, side by side, into one report
 * (bench/results/report.md and report.json) with the machine's description:
 * limits (matMul vs the tagger's achieved rate), backends, the streaming
 * pipeline through the real broker (needs KAFKA_BROKERS), /healthz and
 * /metrics under load with cooperative inference off and on (ops), and joint
 * training seconds per epoch (row 11). Each part runs in its own process.
 *
 *   node dist/bench/all.js [--parts limits,backends,pipeline,ops,joint] [--quick]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../cli/defaults.js';
import type { PipelineResults } from './pipelineReport.js';
import { benchArgs } from './args.js';

const values = benchArgs(import.meta.url, { parts: { type: 'string', default: 'limits,backends,pipeline,ops,joint' }, quick: { type: 'boolean', default: false } });
const q = values.quick;
const ARGS: Record<string, string[]> = {
  limits: ['--runs', q ? '2' : '5'],
  backends: ['--runs', q ? '2' : '5', ...(q ? ['--backends', 'native'] : [])],
  pipeline: q ? ['--posts', '2000', '--full-posts', '300', '--runs', '1', '--rss-posts', '20000', '--latency-seconds', '6', '--latency-warmup-seconds', '1'] : ['--runs', '3'],
  ops: ['--out', join(projectRoot(), 'bench', 'results', 'ops.md'), ...(q ? ['--runs', '1', '--short-posts', '2000', '--long-lengths', '10000', '--huge', '40000'] : ['--runs', '3'])],
  joint: ['--epochs', q ? '1' : '2'],
};
const SCRIPT: Record<string, string> = { limits: 'limits.js', backends: 'backends.js', pipeline: 'pipeline.js', ops: 'opsLatency.js', joint: 'jointEpoch.js' };
const dir = join(projectRoot(), 'bench', 'results');
mkdirSync(dir, { recursive: true });
const sections: string[] = [];
const json: Record<string, unknown> = {};
for (const part of values.parts!.split(',')) {
  if (!SCRIPT[part]) throw new Error(`unknown part "${part}"; parts: ${Object.keys(SCRIPT).join(', ')}`);
  process.stderr.write(`== ${part}\n`);
  const started = Date.now();
  const stdout = execFileSync(process.execPath, [fileURLToPath(new URL(`./${SCRIPT[part]}`, import.meta.url)), ...ARGS[part]], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', KAFKAJS_NO_PARTITIONER_WARNING: '1' },
    maxBuffer: 1 << 26,
  }).toString();
  const seconds = (Date.now() - started) / 1000;
  if (part === 'joint') {
    const j = JSON.parse(stdout) as { secondsPerEpoch: number[]; thirtyEpochMinutes: number };
    json.joint = j;
    sections.push(`## Joint training (row 11, WeiboNER v2 + NLPCC subsample)\n\nSeconds per epoch: ${j.secondsPerEpoch.map((s) => s.toFixed(1)).join(', ')}; 30 epochs would take ${j.thirtyEpochMinutes.toFixed(1)} minutes.`);
  } else {
    const md = join(dir, `${part}.md`);
    sections.push(`## ${part}\n\n${existsSync(md) ? readFileSync(md, 'utf8') : stdout}`);
    const js = join(dir, `${part}.json`);
    if (existsSync(js)) json[part] = JSON.parse(readFileSync(js, 'utf8'));
  }
  sections.push(`(${part}: ${seconds.toFixed(0)} s)`);
}
const targets = json.pipeline ? pipelineTargets(json.pipeline as PipelineResults) : undefined;
if (targets) sections.unshift(targets);
const header = `# mentionflow benchmark report (${new Date().toISOString()})\n\nMachine: ${cpus()[0]?.model} x ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}${q ? '; QUICK mode (small sizes, not for figures)' : ''}.`;
writeFileSync(join(dir, 'report.md'), [header, ...sections].join('\n\n') + '\n');
writeFileSync(join(dir, 'report.json'), JSON.stringify({ machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, quick: q, ...json }, null, 1) + '\n');
process.stdout.write([header, ...sections].join('\n\n') + '\n');

/** The performance issue's pipeline targets, read off the pipeline part of this run (details in its section). */
function pipelineTargets(p: PipelineResults): string {
  const verdict = (ok: boolean) => (ok ? 'met' : 'not met');
  const rows: string[] = [];
  const { identityOverBare, fullOverStandalone } = p.ratios;
  if (identityOverBare !== undefined) rows.push(`| identity pipeline / bare kafkajs loop, posts/s | >= 0.70 | ${identityOverBare.toFixed(3)} | ${verdict(identityOverBare >= 0.7)} |`);
  if (fullOverStandalone !== undefined) {
    rows.push(`| full pipeline / tagger standalone (same model, batch size, texts), posts/s | >= 0.85 | ${fullOverStandalone.toFixed(3)} | ${verdict(fullOverStandalone >= 0.85)} |`);
  }
  const b = p.latencyBound;
  if (b) rows.push(`| full pipeline p99 end-to-end at 50% load, ms | < 2 x ${b.waitMs} + ${b.batchTaggingMs.toFixed(1)} = ${b.boundMs.toFixed(1)} | ${b.p99Ms.toFixed(1)} | ${verdict(b.met)} |`);
  for (const l of p.latency.full ?? []) {
    if (l.load === 0.5) continue;
    rows.push(`| full pipeline end-to-end at ${Math.round(100 * l.load)}% load, p50 / p99 ms (drain after the last post) | (reported) | ${l.e2eMs.p50.toFixed(1)} / ${l.e2eMs.p99.toFixed(1)} (${Math.round(l.drainMs)}) | - |`);
  }
  const snaps = p.memory?.snapshots ?? [];
  if (snaps.length > 1) {
    const [a, z] = [snaps[0], snaps[snaps.length - 1]];
    const ratio = z.rss / a.rss;
    rows.push(`| worker RSS after ${z.acked.toLocaleString('en-US')} posts / after ${a.acked.toLocaleString('en-US')} (${p.memory?.variant ?? 'identity'} pipeline) | <= 1.10 | ${ratio.toFixed(3)} | ${verdict(ratio <= 1.1)} |`);
  }
  if (rows.length === 0) return '';
  return ['## Performance issue: pipeline targets (from the pipeline part below)', '', '| target | wanted | measured | |', '|---|---|---|---|', ...rows].join('\n');
}
