/**
 * The full pipeline before and after a change, side by side in one run
 * (issue 17, item 2): bench/pipeline.js with the full variant (throughput and
 * latency legs, one run per invocation), the two sides alternately, --runs
 * times each, fresh topics and groups each invocation. A change is either of
 * worker settings (--after: the worker's defaults, or --before's settings,
 * against these settings) or
 * of code (--baseline ROOT: another checkout of mentionflow, built, whose
 * dist/bench/pipeline.js runs the "before" side with its own model and sample
 * posts; --candidate ROOT likewise for the "after" side, this checkout by
 * default). Reports medians with the range: full posts/s, full / standalone,
 * posts per tagger call, p50 / p99 end to end at each latency load, and the
 * 50% p99 bound the pipeline bench checks. --latency-rates R1,R2: the latency
 * legs run at these input rates (posts/s) on both sides, instead of at shares of
 * each side's own drain rate. --texts FILE: the posts carry the
 * sentences of a CoNLL file (bench/pipeline.js --texts) on both sides.
 * --settings KEY=VALUE[,...]: worker settings both sides get (e.g. a code
 * change measured with inference=thread,batchMode=adaptive).
 *
 *   node dist/bench/limitsPipeline.js [--settings KEY=VALUE[,...]] [--before KEY=VALUE[,...]] --after KEY=VALUE[,KEY=VALUE...] [--runs N] [--full-posts N] [--latency-seconds S] [--latency-loads 0.5,0.9 | --latency-rates R1,R2] [--legs L] [--texts FILE]
 *   node dist/bench/limitsPipeline.js --baseline ROOT [--candidate ROOT] [--settings KEY=VALUE[,...]] [--after KEY=VALUE[,...]] [--runs N] ...
 *   e.g. node dist/bench/limitsPipeline.js --after batchMaxCount=256,batchMaxChars=32768 --runs 5
 *        git worktree add .cache/base 17184fc && (cd .cache/base && npx tsc -p tsconfig.json) && cp -r schemas/native/build .cache/base/schemas/native/ && node dist/bench/limitsPipeline.js --baseline .cache/base --legs throughput
 * (a worktree under this checkout finds its node_modules; without the addon's build copied in, its
 * Post check and CRF decoding would run in TypeScript, and the script warns)
 *
 * Needs KAFKA_BROKERS (as bench/pipeline.js); writes bench/results/limitsPipeline.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { projectRoot } from '../cli/defaults.js';
import { benchArgs } from './args.js';
import type { PipelineResults } from './pipelineReport.js';
import { warnAboutAddons } from './builds.js';
import { median } from './stats.js';

const values = benchArgs(import.meta.url, {
  after: { type: 'string' },
  before: { type: 'string' },
  settings: { type: 'string' },
  texts: { type: 'string' },
  baseline: { type: 'string' },
  candidate: { type: 'string' },
  runs: { type: 'string', default: '5' },
  'full-posts': { type: 'string', default: '3000' },
  'latency-seconds': { type: 'string', default: '20' },
  'latency-loads': { type: 'string', default: '0.5,0.9' },
  'latency-rates': { type: 'string' },
  legs: { type: 'string', default: 'throughput,latency' },
});
if (!values.after && !values.baseline) {
  process.stderr.write('--after KEY=VALUE[,KEY=VALUE...] (worker settings to compare with the defaults) or --baseline ROOT (a built checkout to compare with) is required\n');
  process.exit(2);
}
for (const root of [values.baseline, values.candidate]) {
  if (root !== undefined && !existsSync(join(resolve(root), 'dist', 'bench', 'pipeline.js'))) {
    process.stderr.write(`${root}: no dist/bench/pipeline.js there; pass the root of a built checkout (npm ci && npm run build)\n`);
    process.exit(2);
  }
}
if (values.before !== undefined && values.baseline !== undefined) {
  process.stderr.write('--before KEY=VALUE,... sets the "before" side of a settings comparison (--after); with --baseline the before side is that checkout with its defaults (and --settings, which both sides get)\n');
  process.exit(2);
}
const after = (values.after ?? '').split(',').filter((s) => s.length > 0);
const before = (values.before ?? '').split(',').filter((s) => s.length > 0);
// --settings: worker settings both sides get (e.g. inference=thread for a code change measured in thread mode)
const shared = (values.settings ?? '').split(',').filter((s) => s.length > 0);
const optionArgs = (kvs: string[]) => [...shared, ...kvs].flatMap((kv) => ['--worker-option', kv]);
const label = (kvs: string[], none: string) => ([...shared, ...kvs].length > 0 ? [...shared, ...kvs].join(', ') : none);
const textsArgs = values.texts === undefined ? [] : ['--texts', resolve(values.texts)];
for (const root of [values.baseline, values.candidate ?? projectRoot()]) {
  // an older checkout's bench would ignore the texts and drain the sample posts: refuse rather than compare unlike posts
  if (root !== undefined && values.texts !== undefined && !readFileSync(join(resolve(root), 'dist', 'bench', 'syntheticPosts.js'), 'utf8').includes('MENTIONFLOW_BENCH_TEXTS')) {
    process.stderr.write(`--texts: the bench of ${root} cannot read posts from a CoNLL file (older than --texts); compare on the sample posts, without --texts\n`);
    process.exit(2);
  }
}
const addonWarnings = warnAboutAddons([
  ...(values.baseline ? [{ root: values.baseline, label: 'baseline' }] : []),
  ...(values.candidate ? [{ root: values.candidate, label: 'candidate' }] : []),
]);
const legs = values.legs!.split(',');
if (!legs.includes('throughput')) {
  process.stderr.write('--legs: the comparison always drains a topic (throughput) and reports its rates; give --legs throughput or throughput,latency\n');
  process.exit(2);
}
const common = ['--variants', 'full', '--legs', legs.join(','), '--runs', '1', '--full-posts', values['full-posts']!, '--latency-seconds', values['latency-seconds']!, ...(values['latency-rates'] === undefined ? ['--latency-loads', values['latency-loads']!] : ['--latency-rates', values['latency-rates']]), ...textsArgs];
/** A side: the checkout whose pipeline bench runs, and the worker settings it gets. */
const side = (name: string, root: string, args: string[]) => ({ name, root, args });
const own = projectRoot();
const candidate = values.candidate ? resolve(values.candidate) : own;
const sides = values.baseline
  ? [
      side(`baseline ${resolve(values.baseline)}${shared.length > 0 ? `, ${shared.join(', ')}` : ''}`, resolve(values.baseline), optionArgs([])),
      side(`${candidate === own ? 'this checkout' : 'candidate'} ${candidate}${shared.length + after.length > 0 ? `, ${label(after, '')}` : ''}`, candidate, optionArgs(after)),
    ]
  : [side(label(before, 'defaults'), own, optionArgs(before)), side(label(after, 'defaults'), own, optionArgs(after))];
const got = sides.map(() => [] as PipelineResults[]);
const loadBefore = loadavg();
for (let r = 0; r < Number(values.runs); r++) {
  sides.forEach((s, i) => {
    execFileSync(process.execPath, [join(s.root, 'dist', 'bench', 'pipeline.js'), ...common, ...s.args], { stdio: ['ignore', 'ignore', 'inherit'], cwd: s.root });
    got[i].push(JSON.parse(readFileSync(join(s.root, 'bench', 'results', 'pipeline.json'), 'utf8')) as PipelineResults);
    process.stderr.write(`round ${r + 1}: ${s.name} done (load ${loadavg()[0].toFixed(2)})\n`);
  });
}
const fmt = (xs: number[], d = 0) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)})`;
// the latency legs' paces: shares of each side's own drain rate, or fixed rates the same for both sides
const rates = got[0][0].settings.latencyRates;
const paces = legs.includes('latency') ? (rates ?? got[0][0].settings.latencyLoads) : [];
const paceLabel = (x: number) => (rates ? `${x} posts/s` : `${100 * x}%`);
// the pipeline bench checks its p99 bound on the 50% leg only: no column without one
const boundColumn = !rates && paces.includes(0.5);
const lines = [
  `# Full pipeline, ${sides[0].name} against ${sides[1].name} (${new Date().toISOString()})`,
  '',
  `\`bench/pipeline.js ${common.join(' ')}\` of each side alternately, ${values.runs} times each; medians (range). Load average before ${loadBefore.map((x) => x.toFixed(2)).join(', ')}, after ${loadavg().map((x) => x.toFixed(2)).join(', ')}.`,
  ...addonWarnings,
  '',
  `| side | full posts/s | standalone posts/s | full / standalone | posts per tagger call | ${paces.map((l) => `p50 / p99 ms at ${paceLabel(l)} | `).join('')}${boundColumn ? 'p99 bound at 50% (met) |' : ''}`,
  `|---|---|---|---|---|${paces.map(() => '---|').join('')}${boundColumn ? '---|' : ''}`,
];
sides.forEach((s, i) => {
  const rs = got[i];
  const pps = rs.map((x) => x.throughput.full!.medianPostsPerSecond);
  const sa = rs.map((x) => x.standalone?.medianPostsPerSecond ?? NaN);
  const perCall = rs.map((x) => {
    const t = x.throughput.full!.runs[0].tagging;
    return t ? t.posts / t.batches : NaN;
  });
  const lat = paces.map((_, k) => `${fmt(rs.map((x) => x.latency.full![k].e2eMs.p50))} / ${fmt(rs.map((x) => x.latency.full![k].e2eMs.p99))}`);
  const bound = rs.map((x) => x.latencyBound);
  lines.push(
    `| ${s.name} | ${fmt(pps)} | ${fmt(sa)} | ${fmt(
      pps.map((p, k) => p / sa[k]),
      3,
    )} | ${fmt(perCall, 1)} | ${lat.map((l) => `${l} | `).join('')}${boundColumn ? `${fmt(bound.map((b) => b?.boundMs ?? NaN))} ms (${bound.filter((b) => b?.met).length}/${bound.length} runs) |` : ''}`,
  );
});
const ratio = median(got[1].map((x) => x.throughput.full!.medianPostsPerSecond)) / median(got[0].map((x) => x.throughput.full!.medianPostsPerSecond));
const paired = got[1].map((x, r) => x.throughput.full!.medianPostsPerSecond / got[0][r].throughput.full!.medianPostsPerSecond);
lines.push('', `Full posts/s, after / before: ${ratio.toFixed(3)} (ratio of medians); run by run: ${paired.map((x) => x.toFixed(2)).join(', ')}.`);
// a drain pays the process's start-up (JIT warm-up, first requests) once: a fixed cost that weighs
// more the faster the tagger is, so the second half (past it) is the steady-state comparison
const halves = got.map((rs) => rs.map((x) => x.throughput.full!.runs[0].secondHalfPostsPerSecond ?? NaN));
const standalones = got.map((rs) => rs.map((x) => x.standalone?.medianPostsPerSecond ?? NaN));
const afterOverBefore = (xs: number[][]) => median(xs[1]) / median(xs[0]);
lines.push(
  `Second halves of the drains (past start-up), after / before: ${afterOverBefore(halves).toFixed(3)} (${fmt(halves[0])} -> ${fmt(halves[1])} posts/s); run by run: ${halves[1].map((x, r) => (x / halves[0][r]).toFixed(2)).join(', ')}.`,
  `Standalone tagger, after / before: ${afterOverBefore(standalones).toFixed(3)}; run by run: ${standalones[1].map((x, r) => (x / standalones[0][r]).toFixed(2)).join(', ')}.`,
);
// latency at high load can be bimodal (a run that tips into a backlog): every run's p50 / p99 and posts per tagger call
paces.forEach((l, k) => {
  lines.push('', `At ${paceLabel(l)}${rates ? '' : ' load'}, run by run (p50 / p99 ms, posts per tagger call):`);
  sides.forEach((s, i) => {
    const runs = got[i].map((x) => {
      const leg = x.latency.full![k];
      const t = leg.tagging;
      return `${leg.e2eMs.p50} / ${leg.e2eMs.p99}${t ? ` (${(t.posts / t.batches).toFixed(1)})` : ''}`;
    });
    lines.push(`- ${s.name}: ${runs.join('; ')}`);
  });
});
const report = lines.map((l) => l.trimEnd());
process.stdout.write(report.join('\n') + '\n');
const dir = join(projectRoot(), 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'limitsPipeline.md'), report.join('\n') + '\n');
writeFileSync(join(dir, 'limitsPipeline.json'), JSON.stringify({ sides: sides.map((s) => s.name), runs: got }, null, 1));
