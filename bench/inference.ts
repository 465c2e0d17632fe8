/**
 * Inference inline vs in a worker thread (--inference inline|thread), without
 * Kafka: what the thread costs per call and what it frees on the main thread.
 * Each measured run is a fresh process (this file forked with --child), the
 * two modes interleaved, --runs times; medians are reported side by side.
 *
 *  - tagger: the posts' texts tagged in batches of --batch, one call at a
 *    time (and, for the thread, with two calls in flight), posts/s;
 *  - pipeline: the embedded file mode (startWorker, Avro container file in,
 *    NDJSON out to a discarding stream) over --posts posts: posts/s, and the
 *    main thread's event-loop delay (perf_hooks.monitorEventLoopDelay, 5 ms
 *    resolution) p50 / p99 / max while the stream runs: how long timers,
 *    sockets and /metrics scrapes wait behind tagging.
 *
 * --thread-concurrency N sets the thread mode's taggerConcurrency (batches
 * being tagged at once) in the pipeline; the inline mode always has 1.
 * --thread-threads N gives the thread mode N inference threads (ThreadTagger
 * threads, the worker's taggerThreads), so that calls in flight together are
 * tagged in parallel. --texts FILE: the posts carry the sentences of a CoNLL
 * file (e.g. WeiboNER's dev split) instead of the sample posts' texts.
 *
 * Usage: node dist/bench/inference.js [--posts 3000] [--runs 3] [--batch 64] [--thread-concurrency 1] [--thread-threads 1] [--texts FILE] [--model DIR] [--out FILE]
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { defaultModelDir } from '../cli/defaults.js';
import { preferOneComputeThread, useBackend } from '../models/backend.js';
import { NeuralTagger, type Tagger } from '../models/tagger.js';
import { TaggerModel } from '../models/taggerModel.js';
import { ThreadTagger } from '../models/threadTagger.js';
import { createLogger } from '../pipeline/ops/logger.js';
import { createPipelineMetrics } from '../pipeline/ops/metrics.js';
import { resolveWorkerConfig } from '../pipeline/stream/config.js';
import { startWorker } from '../pipeline/stream/worker.js';
import { median } from './stats.js';
import { samplePosts, useBenchTexts, writePostsFile } from './syntheticPosts.js';
import { benchArgs } from './args.js';

type Mode = 'inline' | 'thread';
const MODES: readonly Mode[] = ['inline', 'thread'];

interface RunResult {
  mode: Mode;
  taggerPostsPerSec: number;
  /** Thread only: two calls in flight. */
  taggerPostsPerSec2?: number;
  pipelinePostsPerSec: number;
  loopDelayMs: { p50: number; p99: number; max: number };
}

const values = benchArgs(import.meta.url, {
    posts: { type: 'string', default: '3000' },
    runs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '64' },
    'thread-concurrency': { type: 'string', default: '1' },
    'thread-threads': { type: 'string', default: '1' },
    texts: { type: 'string' },
    model: { type: 'string', default: defaultModelDir() },
    out: { type: 'string' },
    child: { type: 'string' },
    input: { type: 'string' },
  });

function positive(name: 'posts' | 'runs' | 'batch' | 'thread-concurrency' | 'thread-threads'): number {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be an integer >= 1, got ${values[name]}`);
  return n;
}
const posts = positive('posts');
const runs = positive('runs');
const batch = positive('batch');
const threadConcurrency = positive('thread-concurrency');
const threadThreads = positive('thread-threads');
useBenchTexts(values.texts);

/** The sample posts cycled to `n` posts with unique ids, as an Avro object container file. */
async function writeInput(n: number): Promise<string> {
  const file = join(tmpdir(), `mf-bench-inference-${process.pid}.avro`);
  const templates = samplePosts();
  await writePostsFile(file, Array.from({ length: n }, (_, i) => ({ ...templates[i % templates.length], id: `bench-${i}` })));
  return file;
}

async function openTagger(mode: Mode): Promise<Tagger> {
  preferOneComputeThread(); // as `mentionflow run` does, in both modes
  if (mode === 'thread') return ThreadTagger.open(values.model!, { backend: 'native', batchSize: batch, threads: threadThreads });
  await useBackend('native');
  return new NeuralTagger((await TaggerModel.load(values.model!)).model, { batchSize: batch });
}

async function tagAll(tagger: Tagger, texts: readonly string[], inFlight: number): Promise<number> {
  const batches: string[][] = [];
  for (let i = 0; i < texts.length; i += batch) batches.push(texts.slice(i, i + batch));
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < batches.length) await tagger.tag(batches[next++]);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return texts.length / ((performance.now() - started) / 1000);
}

async function child(mode: Mode, input: string): Promise<RunResult> {
  const templates = samplePosts().map((p) => p.text);
  const texts = Array.from({ length: posts }, (_, i) => templates[i % templates.length]);
  const tagger = await openTagger(mode);
  await tagger.tag(templates); // warm-up
  const taggerPostsPerSec = await tagAll(tagger, texts, 1);
  const taggerPostsPerSec2 = mode === 'thread' ? await tagAll(tagger, texts, 2) : undefined;

  const flags: Record<string, string> = { input, inference: mode, logLevel: 'warn' };
  if (mode === 'thread' && threadConcurrency > 1) flags.taggerConcurrency = String(threadConcurrency);
  if (mode === 'thread' && threadThreads > 1) flags.taggerThreads = String(threadThreads);
  const config = resolveWorkerConfig({ flags, env: {}, paths: { model: values.model!, input } });
  const discard = new Writable({ write: (_chunk, _enc, done) => done() });
  const metrics = createPipelineMetrics({ collectDefault: false });
  const logger = createLogger({ level: 'warn' });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  const started = performance.now();
  delay.enable();
  const worker = await startWorker({ config, tagger, logger, metrics, stdout: discard, stderr: discard });
  await worker.done;
  delay.disable();
  const seconds = (performance.now() - started) / 1000;
  const out = (await metrics.recordsOut.get()).values.reduce((n, v) => n + v.value, 0);
  if (out !== posts) throw new Error(`${mode}: ${out} outputs for ${posts} posts`);
  if (tagger instanceof ThreadTagger) await tagger.close();
  else tagger.dispose();
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  return {
    mode,
    taggerPostsPerSec,
    ...(taggerPostsPerSec2 !== undefined ? { taggerPostsPerSec2 } : {}),
    pipelinePostsPerSec: posts / seconds,
    loopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
  };
}

function runChild(mode: Mode, input: string): Promise<RunResult> {
  const argv = ['--child', mode, '--input', input, '--posts', String(posts), '--batch', String(batch), '--thread-concurrency', String(threadConcurrency), '--thread-threads', String(threadThreads), '--model', values.model!];
  const proc = fork(fileURLToPath(import.meta.url), argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let result: RunResult | undefined;
    proc.on('message', (m: RunResult) => (result = m));
    proc.on('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`${mode} run exited with code ${code}`))));
  });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const range = (xs: number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;

function report(results: RunResult[], load: { start: number[]; end: number[] }): string {
  const of = (mode: Mode) => results.filter((r) => r.mode === mode);
  const col = (mode: Mode, pick: (r: RunResult) => number) => of(mode).map(pick);
  const row = (what: string, pick: (r: RunResult) => number | undefined, ratio: boolean) => {
    const [a, b] = MODES.map((m) => col(m, pick as (r: RunResult) => number).filter((x) => x !== undefined));
    const cell = (xs: number[]) => (xs.length === 0 ? 'n/a' : `${fmt(median(xs))} (${range(xs)})`);
    const r = ratio && a.length > 0 && b.length > 0 ? (median(b) / median(a)).toFixed(2) : '';
    return `| ${what} | ${cell(a)} | ${cell(b)} | ${r} |`;
  };
  const delay = (mode: Mode) => of(mode).map((r) => r.loopDelayMs);
  const delayCell = (mode: Mode) => {
    const d = delay(mode);
    return `${median(d.map((x) => x.p50))} / ${median(d.map((x) => x.p99))} / ${median(d.map((x) => x.max))}`;
  };
  return [
    `# Inference inline vs worker thread (${new Date().toISOString()})`,
    '',
    `CPU ${cpus()[0]?.model ?? '?'} x ${cpus().length}, Node ${process.version}, backend native; model ${values.model}; ${posts} posts (${values.texts !== undefined ? `the sentences of ${values.texts}` : 'the sample posts'} cycled), tagger batch ${batch}; thread mode with ${threadThreads} inference thread(s); pipeline: default worker settings, thread mode with taggerConcurrency ${threadConcurrency}; median of ${runs} runs (range), each run a fresh process, modes interleaved. Load average at start ${load.start.map((x) => x.toFixed(2)).join(' ')}, at end ${load.end.map((x) => x.toFixed(2)).join(' ')}.`,
    '',
    '| measurement | inline | thread | thread / inline |',
    '|---|---:|---:|---:|',
    row('tagger alone, one call at a time: posts/s', (r) => r.taggerPostsPerSec, true),
    row('tagger alone, two calls in flight: posts/s', (r) => r.taggerPostsPerSec2, false),
    row('file-mode pipeline: posts/s', (r) => r.pipelinePostsPerSec, true),
    `| file-mode pipeline: main-thread event-loop delay p50 / p99 / max ms | ${delayCell('inline')} | ${delayCell('thread')} | |`,
    '',
  ].join('\n');
}

if (values.child !== undefined) {
  const result = await child(values.child as Mode, values.input!);
  process.send!(result, () => process.exit(0));
} else {
  const input = await writeInput(posts);
  const load = { start: loadavg(), end: [] as number[] };
  const results: RunResult[] = [];
  for (let i = 0; i < runs; i++) {
    for (const mode of MODES) {
      const r = await runChild(mode, input);
      process.stderr.write(`[inference bench] run ${i + 1}/${runs} ${mode}: ${JSON.stringify(r)}\n`);
      results.push(r);
    }
  }
  load.end = loadavg();
  const text = report(results, load);
  process.stdout.write(text);
  if (values.out !== undefined) writeFileSync(values.out, text);
}
