/**
 * The framework's own cost per record, stage by stage, in-process (no
 * broker): CPU us/record and heap bytes allocated per record of each stage
 * of the streaming pipeline over --records synthetic posts (the sample posts
 * cycled with unique ids, raw Avro, refs shaped as the Kafka source makes
 * them), with the worker's default settings and a tagger that finds nothing:
 *
 *   decode      decodePosts
 *   batch       batchItems (default limits; its wait timer per batch included)
 *   tag         tagBatch around the identity tagger (the framework's bookkeeping)
 *   toMentions  toMentions (the output records)
 *   encode      encodeOutputs (validation + Avro)
 *   taps        the five metric taps of mentionStream, each over what flows at its point
 *   coalesce    the sinks' write coalescing (writeCoalesced, writes resolving at once)
 *   all         mentionStream end to end: an in-memory source pausing at maxInFlight
 *               (resuming at half, as the Kafka source does), a sink whose writes resolve at once;
 *               ONE stream as in a worker: cold = its first --records outputs acked, warm = its
 *               last --records, after --warmup-passes x --records more
 *
 * Every measurement runs in a fresh process (bench/stageCostWorker.ts):
 * cold = the stage's first pass in that process (its code not yet compiled,
 * as in a worker's first seconds), warm = one pass after --warmup-passes
 * more. With --baseline DIR (the dist directory of another build, e.g. main
 * built elsewhere) each run measures both builds, alternating which goes
 * first, and the table gives medians over --runs, ranges, ratios and how
 * many pairs went the same way. CPU is the process's (all threads: GC
 * helpers and the background compiler included); allocation = used heap
 * after - before + what each GC during the pass freed (v8.GCProfiler).
 *
 *   node dist/bench/stageCost.js [--records N] [--runs K] [--warmup-passes P] [--stages decode,batch,...]
 *                                [--baseline DIR] [--node-flags="FLAGS"]   (with "=": e.g. --node-flags="--trace-deopt", output to stdout)
 *
 * Prints a Markdown table (and the load average at start and end).
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.js';
import { median } from './stats.js';
import { STAGES, type PassCost, type Stage, type StageResult, type StageTask } from './stageCostProtocol.js';

const values = benchArgs(import.meta.url, {
  records: { type: 'string', default: '20000' },
  runs: { type: 'string', default: '5' },
  'warmup-passes': { type: 'string', default: '4' },
  stages: { type: 'string', default: STAGES.join(',') },
  baseline: { type: 'string' },
  'node-flags': { type: 'string', default: '' },
});

function int(name: 'records' | 'runs' | 'warmup-passes', min: number): number {
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer >= ${min}, got ${String(values[name])}`);
  return v;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const OWN_DIST = resolve(HERE, '..');
const records = int('records', 1);
const runs = int('runs', 1);
const warmupPasses = int('warmup-passes', 0);
const stages = String(values.stages)
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean) as Stage[];
const unknown = stages.filter((s) => !STAGES.includes(s));
if (unknown.length > 0 || stages.length === 0) throw new Error(`--stages: unknown ${unknown.join(', ') || '(empty)'}; choose from ${STAGES.join(', ')}`);
const baseline = values.baseline === undefined ? undefined : resolve(values.baseline);
if (baseline !== undefined && !existsSync(join(baseline, 'operators', 'index.js'))) {
  throw new Error(`--baseline ${baseline}: no operators/index.js there; pass the dist directory of a build (e.g. /tmp/main/dist)`);
}
const nodeFlags = String(values['node-flags']).split(/\s+/).filter(Boolean);
const badFlag = nodeFlags.find((f) => !f.startsWith('-'));
if (badFlag !== undefined) throw new Error(`--node-flags: "${badFlag}" is not a flag, e.g. --node-flags="--trace-deopt"`);

const WORKER = join(HERE, 'stageCostWorker.js');

function measure(task: StageTask): Promise<StageResult> {
  return new Promise((resolveRun, reject) => {
    const child = fork(WORKER, [JSON.stringify(task)], { execArgv: ['--expose-gc', ...nodeFlags], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: StageResult | undefined;
    child.on('message', (m: StageResult) => (result = m));
    child.on('error', reject);
    child.on('exit', (code) => (result !== undefined ? resolveRun(result) : reject(new Error(`stage ${task.stage} (${task.dist}): exited with ${String(code)} and no result`))));
  });
}

type Build = 'this' | 'baseline';
const builds: Array<{ name: Build; dist: string }> = [{ name: 'this', dist: OWN_DIST }, ...(baseline ? [{ name: 'baseline' as const, dist: baseline }] : [])];
const results = new Map<string, StageResult[]>(); // `${stage}/${build}` -> runs

const log = (msg: string) => process.stderr.write(`[stage cost] ${msg}\n`);
const load0 = loadavg();
for (let r = 0; r < runs; r++) {
  for (const stage of stages) {
    // alternate which build goes first, run by run
    const order = r % 2 === 0 ? builds : [...builds].reverse();
    for (const b of order) {
      const res = await measure({ dist: b.dist, stage, records, warmupPasses });
      (results.get(`${stage}/${b.name}`) ?? results.set(`${stage}/${b.name}`, []).get(`${stage}/${b.name}`)!).push(res);
      log(`run ${r + 1}/${runs} ${stage} ${b.name}: cold ${res.cold.cpuUs.toFixed(2)} us ${Math.round(res.cold.allocBytes)} B, warm ${res.warm.cpuUs.toFixed(2)} us ${Math.round(res.warm.allocBytes)} B per record`);
    }
  }
}
const load1 = loadavg();

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const n0 = (x: number) => Math.round(x).toLocaleString('en-US');
function cell(rs: StageResult[], pick: (r: StageResult) => number, fmt: (x: number) => string): string {
  const xs = rs.map(pick);
  return `${fmt(median(xs))} (${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))})`;
}
/** "this / baseline" of medians, and in how many pairs this build was lower. */
function versus(a: StageResult[], b: StageResult[], pick: (r: StageResult) => number): string {
  const lower = a.filter((x, i) => pick(x) < pick(b[i])).length;
  return `${f2(median(a.map(pick)) / median(b.map(pick)))} (${lower}/${a.length})`;
}

const cold = (p: (c: PassCost) => number) => (r: StageResult) => p(r.cold);
const warm = (p: (c: PassCost) => number) => (r: StageResult) => p(r.warm);
const cpu = (c: PassCost) => c.cpuUs;
const alloc = (c: PassCost) => c.allocBytes;

const lines = [
  `# Framework cost per record, by stage (${new Date().toISOString()})`,
  '',
  `${records.toLocaleString('en-US')} records per pass, ${runs} runs (a fresh process per stage, build and run), warm = after ${warmupPasses} more passes; ` +
    `Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}; load average at start ${load0.map(f2).join(' ')}, at end ${load1.map(f2).join(' ')}` +
    `${nodeFlags.length > 0 ? `; node flags ${nodeFlags.join(' ')}` : ''}.`,
  `This build: ${OWN_DIST}${baseline ? `; baseline: ${baseline}` : ''}. Medians (range) over runs; per record.`,
  '',
  '| stage | build | CPU us cold | CPU us warm | alloc B cold | alloc B warm | GC wall us warm | GCs warm |',
  '|---|---|---|---|---|---|---|---|',
];
for (const stage of stages) {
  for (const b of builds) {
    const rs = results.get(`${stage}/${b.name}`)!;
    lines.push(
      `| ${stage} | ${b.name} | ${cell(rs, cold(cpu), f2)} | ${cell(rs, warm(cpu), f2)} | ${cell(rs, cold(alloc), n0)} | ${cell(rs, warm(alloc), n0)} | ` +
        `${cell(rs, warm((c) => c.gcUs), f2)} | ${f1(median(rs.map(warm((c) => c.gcs))))} |`,
    );
  }
}
if (baseline) {
  lines.push('', 'this / baseline, ratio of medians (pairs where this build was lower):', '', '| stage | CPU cold | CPU warm | alloc cold | alloc warm |', '|---|---|---|---|---|');
  for (const stage of stages) {
    const [a, b] = [results.get(`${stage}/this`)!, results.get(`${stage}/baseline`)!];
    lines.push(`| ${stage} | ${versus(a, b, cold(cpu))} | ${versus(a, b, warm(cpu))} | ${versus(a, b, cold(alloc))} | ${versus(a, b, warm(alloc))} |`);
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
