/**
 * The full pipeline before and after a change of worker settings, side by
 * side in one run (issue 17, item 2): bench/pipeline.js with the full variant
 * (throughput and latency legs, one run per invocation), alternately with the
 * worker's defaults and with --after's settings, --runs times each, fresh
 * topics and groups each invocation. Reports medians with the range: full
 * posts/s, full / standalone, posts per tagger call, p50 / p99 end to end at
 * each latency load, and the 50% p99 bound the pipeline bench checks.
 *
 *   node dist/bench/limitsPipeline.js --after KEY=VALUE[,KEY=VALUE...] [--runs N] [--full-posts N] [--latency-seconds S]
 *   e.g. node dist/bench/limitsPipeline.js --after batchMaxCount=256,batchMaxChars=32768 --runs 5
 *
 * Needs KAFKA_BROKERS (as bench/pipeline.js); writes bench/results/limitsPipeline.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../cli/defaults.js';
import { benchArgs } from './args.js';
import type { PipelineResults } from './pipelineReport.js';
import { median } from './stats.js';

const values = benchArgs(import.meta.url, {
  after: { type: 'string' },
  runs: { type: 'string', default: '5' },
  'full-posts': { type: 'string', default: '3000' },
  'latency-seconds': { type: 'string', default: '20' },
});
if (!values.after) {
  process.stderr.write('--after KEY=VALUE[,KEY=VALUE...] is required (the worker settings to compare with the defaults)\n');
  process.exit(2);
}
const after = values.after.split(',').filter((s) => s.length > 0);
const pipeline = fileURLToPath(new URL('./pipeline.js', import.meta.url));
const resultsFile = join(projectRoot(), 'bench', 'results', 'pipeline.json');
const common = ['--variants', 'full', '--legs', 'throughput,latency', '--runs', '1', '--full-posts', values['full-posts']!, '--latency-seconds', values['latency-seconds']!];
const sides = [
  { name: 'defaults', args: [] as string[] },
  { name: after.join(', '), args: after.flatMap((kv) => ['--worker-option', kv]) },
];
const got = sides.map(() => [] as PipelineResults[]);
const loadBefore = loadavg();
for (let r = 0; r < Number(values.runs); r++) {
  sides.forEach((s, i) => {
    execFileSync(process.execPath, [pipeline, ...common, ...s.args], { stdio: ['ignore', 'ignore', 'inherit'] });
    got[i].push(JSON.parse(readFileSync(resultsFile, 'utf8')) as PipelineResults);
    process.stderr.write(`round ${r + 1}: ${s.name} done (load ${loadavg()[0].toFixed(2)})\n`);
  });
}
const fmt = (xs: number[], d = 0) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)})`;
const loads = got[0][0].settings.latencyLoads;
const lines = [
  `# Full pipeline, defaults against ${sides[1].name} (${new Date().toISOString()})`,
  '',
  `\`bench/pipeline.js ${common.join(' ')}\` alternately without and with ${sides[1].args.join(' ')}, ${values.runs} times each; medians (range). Load average before ${loadBefore.map((x) => x.toFixed(2)).join(', ')}, after ${loadavg().map((x) => x.toFixed(2)).join(', ')}.`,
  '',
  `| worker settings | full posts/s | standalone posts/s | full / standalone | posts per tagger call | ${loads.map((l) => `p50 / p99 ms at ${100 * l}%`).join(' | ')} | p99 bound at 50% (met) |`,
  `|---|---|---|---|---|${loads.map(() => '---|').join('')}---|`,
];
sides.forEach((s, i) => {
  const rs = got[i];
  const pps = rs.map((x) => x.throughput.full!.medianPostsPerSecond);
  const sa = rs.map((x) => x.standalone?.medianPostsPerSecond ?? NaN);
  const perCall = rs.map((x) => {
    const t = x.throughput.full!.runs[0].tagging;
    return t ? t.posts / t.batches : NaN;
  });
  const lat = loads.map((_, k) => `${fmt(rs.map((x) => x.latency.full![k].e2eMs.p50))} / ${fmt(rs.map((x) => x.latency.full![k].e2eMs.p99))}`);
  const bound = rs.map((x) => x.latencyBound);
  lines.push(
    `| ${s.name} | ${fmt(pps)} | ${fmt(sa)} | ${fmt(
      pps.map((p, k) => p / sa[k]),
      3,
    )} | ${fmt(perCall, 1)} | ${lat.join(' | ')} | ${fmt(bound.map((b) => b?.boundMs ?? NaN))} ms (${bound.filter((b) => b?.met).length}/${bound.length} runs) |`,
  );
});
const ratio = median(got[1].map((x) => x.throughput.full!.medianPostsPerSecond)) / median(got[0].map((x) => x.throughput.full!.medianPostsPerSecond));
const paired = got[1].map((x, r) => x.throughput.full!.medianPostsPerSecond / got[0][r].throughput.full!.medianPostsPerSecond);
lines.push('', `Full posts/s, after / before: ${ratio.toFixed(3)} (ratio of medians); run by run: ${paired.map((x) => x.toFixed(2)).join(', ')}.`);
process.stdout.write(lines.join('\n') + '\n');
const dir = join(projectRoot(), 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'limitsPipeline.md'), lines.join('\n') + '\n');
writeFileSync(join(dir, 'limitsPipeline.json'), JSON.stringify({ sides: sides.map((s) => s.name), runs: got }, null, 1));
