/**
 * /healthz and /metrics response times while the worker is under full load,
 * in inline and thread mode, for each variant: this tree with each
 * --slice-chars (NeuralTagger's sliceChars; 0 computes each tagger call in
 * one synchronous run, as before models/pace.ts), and with --baseline DIR
 * the compiled tree DIR (a `dist` of the code before the change, e.g. main
 * built into a temporary directory): worker, ops server and tagger are all
 * loaded from it, the true "before".
 *
 * Each measured run is a fresh process (this file forked with --child): the
 * embedded file mode (startWorker, an Avro container file in, NDJSON out to a
 * discarding stream) draining its whole input as fast as it can, plus the
 * ops server (pipeline/ops/server.ts) wired as `mentionflow run` wires it
 * (default metrics on; in thread mode the tensor gauge asks the thread).
 * This process is the prober: from the moment the worker starts until it has
 * drained its input (at most --max-probes per endpoint) it sends GET /healthz
 * every --every ms and GET /metrics every --every ms, half a period apart,
 * open loop (a request does not wait for the one before; its time counts
 * from when it was due). --connections keep-alive (default) sends them over
 * kept-alive connections opened before the worker starts, one for each
 * request that can be in flight (--timeout / --every + 2 per endpoint), as
 * Prometheus keeps its scrape connection; --connections new opens
 * one per request, as a kubelet probe does, but a loop iteration accepts at
 * most one connection (libuv >= 1.45), so at 100 connections/s a loop
 * iterating every 40 ms queues them: use a longer --every then. A request
 * not answered with status 200 within --timeout ms fails, counted at
 * --timeout. --every 0 sends no probes (posts/s
 * alone). The worker's own event-loop delay (monitorEventLoopDelay, 5 ms
 * resolution) is reported beside.
 *
 * Workloads: short: the sample posts (~25 characters) cycled to
 * --short-posts; long: posts of --long-lengths code points cut from the
 * sample posts repeated, then one of --huge code points (960,000: ~4,800
 * pieces of the model's 200). Every mode x variant x workload runs --runs
 * times, interleaved; medians (range) are reported, and throughput as a
 * ratio to the first variant (the baseline when given).
 *
 * Usage: node dist/bench/opsLatency.js [--runs 3] [--modes inline,thread] [--workloads short,long] [--slice-chars 0,2048]
 *   [--short-posts 15000] [--long-lengths 10000,30000,50000,70000,100000] [--huge 960000] [--every 20] [--timeout 3000]
 *   [--connections keep-alive|new] [--max-probes 2000] [--baseline DIST] [--model DIR] [--out FILE]
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defaultModelDir } from '../cli/defaults.js';
import type { Tagger } from '../models/tagger.js';
import type { Post } from '../schemas/types.generated.js';
import { benchArgs } from './args.js';
import { median, quantile } from './stats.js';
import { samplePosts, writePostsFile } from './syntheticPosts.js';

type Mode = 'inline' | 'thread';
type Workload = 'short' | 'long';
type Endpoint = '/healthz' | '/metrics';
const ENDPOINTS: readonly Endpoint[] = ['/healthz', '/metrics'];

interface Latency {
  p50: number;
  p99: number;
  max: number;
  count: number;
  failures: number;
}

/** What a run measures: this tree's code with a sliceChars, or --baseline's compiled code (sliceChars unset). */
interface Variant {
  label: string;
  /** The compiled tree (a dist directory) the worker, ops server and tagger are loaded from. */
  dist: string;
  sliceChars?: number;
}

interface RunResult {
  mode: Mode;
  workload: Workload;
  variant: string;
  posts: number;
  chars: number;
  seconds: number;
  /** The worker's event-loop delay, ms. */
  loopDelay: { p99: number; max: number };
  /** Mean posts per tagger call. */
  postsPerCall: number;
  probes?: Record<Endpoint, Latency>;
}

interface Sample {
  ms: number;
  failed: boolean;
}


/** What the child says to the prober over IPC. */
type FromChild = { type: 'listening'; port: number } | { type: 'done'; result: Omit<RunResult, 'probes'> };

const values = benchArgs(import.meta.url, {
  runs: { type: 'string', default: '3' },
  modes: { type: 'string', default: 'inline,thread' },
  workloads: { type: 'string', default: 'short,long' },
  'slice-chars': { type: 'string', default: '0,2048' },
  'short-posts': { type: 'string', default: '15000' },
  'long-lengths': { type: 'string', default: '10000,30000,50000,70000,100000' },
  huge: { type: 'string', default: '960000' },
  every: { type: 'string', default: '20' },
  timeout: { type: 'string', default: '3000' },
  connections: { type: 'string', default: 'keep-alive' },
  'max-probes': { type: 'string', default: '2000' },
  model: { type: 'string', default: defaultModelDir() },
  baseline: { type: 'string' },
  out: { type: 'string' },
  child: { type: 'string' },
});

function integers(name: keyof typeof values, min: number): number[] {
  const xs = String(values[name]).split(',').map(Number);
  if (xs.some((x) => !Number.isInteger(x) || x < min)) throw new Error(`--${name} must be integers >= ${min}, comma-separated, got ${values[name]}`);
  return xs;
}
function oneOf<T extends string>(name: keyof typeof values, allowed: readonly T[]): T[] {
  const xs = String(values[name]).split(',') as T[];
  if (xs.some((x) => !allowed.includes(x))) throw new Error(`--${name} must be among ${allowed.join(', ')}, got ${values[name]}`);
  return xs;
}
const [runs] = integers('runs', 1);
const modes = oneOf<Mode>('modes', ['inline', 'thread']);
const workloads = oneOf<Workload>('workloads', ['short', 'long']);
const slices = integers('slice-chars', 0);
const HERE = fileURLToPath(new URL('..', import.meta.url)); // this tree's dist
const variants: Variant[] = [
  ...(values.baseline !== undefined ? [{ label: 'baseline', dist: resolve(values.baseline) }] : []),
  ...slices.map((sliceChars) => ({ label: `sliceChars ${sliceChars}`, dist: HERE, sliceChars })),
];
const [shortPosts] = integers('short-posts', 1);
const longLengths = integers('long-lengths', 1);
const [huge] = integers('huge', 0);
const [every] = integers('every', 0);
const [timeoutMs] = integers('timeout', 1);
const [maxProbes] = integers('max-probes', 1);
const [connections] = oneOf<'keep-alive' | 'new'>('connections', ['keep-alive', 'new']);
/** Kept-alive connections per endpoint: as many as requests can be in flight (one per --every until --timeout), plus 2. */
const pool = () => Math.ceil(timeoutMs / Math.max(1, every)) + 2;

/** `n` code points cut from the sample posts repeated. */
function longText(n: number): string {
  const all = [...samplePosts().map((p) => p.text).join('')];
  const out: string[] = [];
  while (out.length < n) out.push(...all.slice(0, n - out.length));
  return out.join('');
}

function workloadPosts(workload: Workload): Post[] {
  const templates = samplePosts();
  if (workload === 'short') return Array.from({ length: shortPosts }, (_, i) => ({ ...templates[i % templates.length], id: `short-${i}` }));
  const lengths = huge > 0 ? [...longLengths, huge] : longLengths;
  return lengths.map((n, i) => ({ ...templates[i % templates.length], id: `long-${i}`, text: longText(n) }));
}

/** The modules a run uses, loaded from the variant's compiled tree. */
async function modules(dist: string) {
  const load = <T>(path: string) => import(pathToFileURL(join(dist, path)).href) as Promise<T>;
  return {
    backend: await load<typeof import('../models/backend.js')>('models/backend.js'),
    tagger: await load<typeof import('../models/tagger.js')>('models/tagger.js'),
    taggerModel: await load<typeof import('../models/taggerModel.js')>('models/taggerModel.js'),
    threadTagger: await load<typeof import('../models/threadTagger.js')>('models/threadTagger.js'),
    logger: await load<typeof import('../pipeline/ops/logger.js')>('pipeline/ops/logger.js'),
    metrics: await load<typeof import('../pipeline/ops/metrics.js')>('pipeline/ops/metrics.js'),
    server: await load<typeof import('../pipeline/ops/server.js')>('pipeline/ops/server.js'),
    config: await load<typeof import('../pipeline/stream/config.js')>('pipeline/stream/config.js'),
    worker: await load<typeof import('../pipeline/stream/worker.js')>('pipeline/stream/worker.js'),
  };
}
type Modules = Awaited<ReturnType<typeof modules>>;

async function openTagger(m: Modules, mode: Mode, variant: Variant, batchSize: number): Promise<Tagger> {
  m.backend.preferOneComputeThread(); // as `mentionflow run` does, in both modes
  const slice = variant.sliceChars !== undefined ? { sliceChars: variant.sliceChars } : {};
  if (mode === 'thread') return m.threadTagger.ThreadTagger.open(values.model!, { backend: 'native', batchSize, ...slice });
  await m.backend.useBackend('native');
  return new m.tagger.NeuralTagger((await m.taggerModel.TaggerModel.load(values.model!)).model, { batchSize, ...slice });
}

/** The worker with its ops server: says `listening`, drains its input on `go`, says `done`, ends on `exit`. */
async function child(spec: { mode: Mode; workload: Workload; variant: Variant; input: string; posts: number; chars: number }): Promise<void> {
  const m = await modules(spec.variant.dist);
  const flags: Record<string, string> = { input: spec.input, inference: spec.mode, logLevel: 'warn' };
  const config = m.config.resolveWorkerConfig({ flags, env: {}, paths: { model: values.model!, input: spec.input } });
  const tagger = await openTagger(m, spec.mode, spec.variant, config.batchMaxCount);
  await tagger.tag(samplePosts().map((p) => p.text)); // warm-up
  // As cli/commands/run.ts wires them.
  const thread = tagger instanceof m.threadTagger.ThreadTagger ? tagger : undefined;
  const metrics = m.metrics.createPipelineMetrics({ collectDefault: true, ...(thread ? { tensorMemory: () => thread.memory() } : {}) });
  const server = await m.server.startOpsServer({ port: 0, registry: metrics.registry, health: () => true, ready: () => true });
  const discard = new Writable({ write: (_chunk, _enc, done) => done() });
  const logger = m.logger.createLogger({ level: 'warn' });
  const go = new Promise((resolve) => process.once('message', resolve));
  process.send!({ type: 'listening', port: server.port } satisfies FromChild);
  await go;
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const started = performance.now();
  const worker = await m.worker.startWorker({ config, tagger, logger, metrics, stdout: discard, stderr: discard });
  await worker.done;
  const seconds = (performance.now() - started) / 1000;
  delay.disable();
  const out = (await metrics.recordsOut.get()).values.reduce((n, v) => n + v.value, 0);
  if (out !== spec.posts) throw new Error(`${spec.mode}: ${out} outputs for ${spec.posts} posts`);
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  const batches = (await metrics.batchSize.get()).values;
  const total = (suffix: string) => batches.find((v) => v.metricName?.endsWith(suffix))?.value ?? NaN;
  const postsPerCall = total('_sum') / total('_count');
  const result = { mode: spec.mode, workload: spec.workload, variant: spec.variant.label, posts: spec.posts, chars: spec.chars, seconds, postsPerCall, loopDelay: { p99: ms(delay.percentile(99)), max: ms(delay.max) } };
  const exit = new Promise((resolve) => process.once('message', resolve));
  process.send!({ type: 'done', result } satisfies FromChild);
  await exit;
  await server.close();
  if (thread) await thread.close();
  else tagger.dispose();
}

/** One GET: ms from now until the whole response arrived with status 200; a failure (timeout, error, other status) counts as timeoutMs. */
function probe(port: number, path: Endpoint, agent: Agent | false): Promise<Sample> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (failed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ms: failed ? timeoutMs : performance.now() - t0, failed });
    };
    const req = get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode !== 200));
    });
    req.on('error', () => done(true));
    const timer = setTimeout(() => {
      done(true);
      req.destroy();
    }, timeoutMs);
  });
}

function latency(samples: Sample[]): Latency {
  const ms = samples.map((s) => s.ms);
  const round = (x: number) => Math.round(x * 10) / 10;
  return { p50: round(quantile(ms, 0.5)), p99: round(quantile(ms, 0.99)), max: round(Math.max(...ms)), count: ms.length, failures: samples.filter((s) => s.failed).length };
}

/**
 * Probes both endpoints on schedule until `until` settles or maxProbes each
 * were sent; resolves when all are answered. With keep-alive, each endpoint
 * has a pool of pool() connections, opened before the worker starts and
 * used in turn (fifo, so none idles into the server's keep-alive timeout):
 * enough that a request never waits for a connection, since a loop
 * iteration accepts at most one new connection (libuv >= 1.45) and a
 * connection carries one request at a time.
 */
async function probeWhile(port: number, start: () => void, until: Promise<unknown>): Promise<Record<Endpoint, Latency>> {
  const agents = Object.fromEntries(ENDPOINTS.map((e) => [e, connections === 'new' ? false : new Agent({ keepAlive: true, maxSockets: pool(), scheduling: 'fifo' })])) as Record<Endpoint, Agent | false>;
  for (const path of ENDPOINTS) await Promise.all(Array.from({ length: agents[path] ? pool() : 0 }, () => probe(port, path, agents[path])));
  start();
  const sent: Record<Endpoint, Promise<Sample>[]> = { '/healthz': [], '/metrics': [] };
  const timers: NodeJS.Timeout[] = [];
  ENDPOINTS.forEach((path, i) => {
    const tick = () => {
      if (sent[path].length < maxProbes) sent[path].push(probe(port, path, agents[path]));
    };
    timers.push(
      setTimeout(() => {
        tick();
        timers.push(setInterval(tick, every));
      }, (i * every) / 2),
    );
  });
  await until;
  for (const t of timers) clearTimeout(t);
  const out = {} as Record<Endpoint, Latency>;
  for (const path of ENDPOINTS) out[path] = latency(await Promise.all(sent[path]));
  for (const agent of Object.values(agents)) if (agent) agent.destroy();
  return out;
}

async function runChild(mode: Mode, workload: Workload, variant: Variant, input: { file: string; posts: number; chars: number }): Promise<RunResult> {
  const spec = JSON.stringify({ mode, workload, variant, input: input.file, posts: input.posts, chars: input.chars });
  const proc = fork(fileURLToPath(import.meta.url), ['--child', spec, '--model', values.model!], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(proc, 'exit').then(([code]) => {
    if (code !== 0) throw new Error(`${mode} ${workload} ${variant.label}: the worker exited with code ${code}`);
  });
  const next = () => Promise.race([once(proc, 'message').then(([m]) => m as FromChild), exited.then(() => Promise.reject(new Error('the worker ended early')))]);
  const listening = await next();
  if (listening.type !== 'listening') throw new Error(`unexpected message ${listening.type}`);
  const finished = next();
  const go = () => proc.send('go');
  const probes = every > 0 ? await probeWhile(listening.port, go, finished) : (go(), undefined);
  const done = await finished;
  if (done.type !== 'done') throw new Error(`unexpected message ${done.type}`);
  proc.send('exit');
  await exited;
  return { ...done.result, ...(probes ? { probes } : {}) };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function report(results: RunResult[], load: { start: number[]; end: number[] }, inputs: Record<Workload, { posts: number; chars: number }>): string {
  const lines = [
    `# /healthz and /metrics under full load, cooperative stepping off and on (${new Date().toISOString()})`,
    '',
    `CPU ${cpus()[0]?.model ?? '?'} x ${cpus().length}, Node ${process.version}, backend native, one TensorFlow thread; model ${values.model};${values.baseline !== undefined ? ` baseline: the compiled tree ${resolve(values.baseline)};` : ''} embedded file mode with default worker settings; ${every === 0 ? 'no probes' : `probes every ${every} ms per endpoint (open loop, ${connections === 'new' ? 'a new connection each' : `${pool()} kept-alive connections per endpoint, used in turn`}, timeout ${timeoutMs} ms counted at ${timeoutMs})`}; median of ${runs} runs (range), each run a fresh process, all combinations interleaved. Load average at start ${load.start.map((x) => x.toFixed(2)).join(' ')}, at end ${load.end.map((x) => x.toFixed(2)).join(' ')}.`,
    '',
  ];
  for (const workload of workloads) {
    const { posts, chars } = inputs[workload];
    lines.push(`## ${workload} posts: ${fmt(posts)} posts, ${fmt(chars)} code points`, '');
    lines.push('| mode | variant | posts/s (range) | chars/s | vs first variant | /healthz p50 / p99 / max ms | /metrics p50 / p99 / max ms | failed probes per run (h / m) | worker loop delay p99 / max ms | posts per tagger call |');
    lines.push('|---|---|---|---:|---:|---|---|---|---|---:|');
    for (const mode of modes) {
      const base = median(results.filter((r) => r.mode === mode && r.workload === workload && r.variant === variants[0].label).map((r) => r.posts / r.seconds));
      for (const { label } of variants) {
        const rs = results.filter((r) => r.mode === mode && r.workload === workload && r.variant === label);
        if (rs.length === 0) continue;
        const rate = rs.map((r) => r.posts / r.seconds);
        const m = (pick: (r: RunResult) => number) => median(rs.map(pick));
        const probeCell = (e: Endpoint) => (rs[0].probes ? `${fmt(m((r) => r.probes![e].p50))} / ${fmt(m((r) => r.probes![e].p99))} / ${fmt(m((r) => r.probes![e].max))}` : 'n/a');
        const timeouts = rs[0].probes ? `${rs.map((r) => r.probes!['/healthz'].failures).join(',')} / ${rs.map((r) => r.probes!['/metrics'].failures).join(',')}` : 'n/a';
        lines.push(
          `| ${mode} | ${label} | ${fmt(median(rate), posts < 100 ? 2 : 0)} (${fmt(Math.min(...rate), posts < 100 ? 2 : 0)}–${fmt(Math.max(...rate), posts < 100 ? 2 : 0)}) | ${fmt(m((r) => r.chars / r.seconds))} | ${(median(rate) / base).toFixed(3)} | ${probeCell('/healthz')} | ${probeCell('/metrics')} | ${timeouts} | ${fmt(m((r) => r.loopDelay.p99))} / ${fmt(m((r) => r.loopDelay.max))} | ${fmt(m((r) => r.postsPerCall), 1)} |`,
        );
      }
    }
    lines.push('');
  }
  return lines.join('\n');
}

if (values.child !== undefined) {
  await child(JSON.parse(values.child) as Parameters<typeof child>[0]);
  process.exit(0);
} else {
  const inputs = {} as Record<Workload, { file: string; posts: number; chars: number }>;
  for (const workload of workloads) {
    const posts = workloadPosts(workload);
    const file = join(tmpdir(), `mf-bench-ops-${workload}-${process.pid}.avro`);
    await writePostsFile(file, posts);
    inputs[workload] = { file, posts: posts.length, chars: posts.reduce((n, p) => n + [...p.text].length, 0) };
  }
  const load = { start: loadavg(), end: [] as number[] };
  const results: RunResult[] = [];
  for (let i = 0; i < runs; i++) {
    for (const workload of workloads) {
      for (const mode of modes) {
        for (const variant of variants) {
          const r = await runChild(mode, workload, variant, inputs[workload]);
          process.stderr.write(`[ops bench] run ${i + 1}/${runs} ${JSON.stringify(r)}\n`);
          results.push(r);
        }
      }
    }
  }
  load.end = loadavg();
  const text = report(results, load, inputs);
  process.stdout.write(text);
  if (values.out !== undefined) writeFileSync(values.out, text);
}
