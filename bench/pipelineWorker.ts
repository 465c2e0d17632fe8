/**
 * One measured run of bench/pipeline.ts, in its own process (forked with an
 * IPC channel; the task is JSON in argv[2], see pipelineProtocol.ts):
 *
 *  - bare: a kafkajs consumer group (eachBatch, the task's partitions
 *    consumed concurrently) that produces every batch's bytes unchanged to
 *    the output topic with an idempotent producer (acks=all, requests of at
 *    most 512 KiB like the worker's sink), then resolves and commits
 *    (autoCommit every 1000 ms, like the worker's commitIntervalMs);
 *  - codec: the bare loop, but each fetched chunk goes through the
 *    worker's own per-record functions before it is produced: the Post
 *    decoder (decodePosts), an identity tagging step (no mentions, as
 *    tagBatch builds its items), the PostMentions builder (toMentions) and
 *    the output encoder (encodeOutputs); the encoded key and value are
 *    produced to the output topic. What an Avro-in, Avro-out worker must do
 *    at least, without the framework around it (RxJS, batcher, metric taps,
 *    offset tracking, the sink's coalescing): bare / codec is the Avro
 *    stages' share, codec / identity the framework's;
 *  - identity: startWorker with Kafka edges (at-least-once, default
 *    settings) and a Tagger that finds no mentions;
 *  - full: the same with the shipped model (native backend);
 *  - full with task.standalone: the same tagger, loaded and warmed up the
 *    same way, tagging the same texts in batches of the same size, alone
 *    (no Kafka, Avro or RxJS): the reference for the pipeline's overhead.
 *
 * Counting: an output is counted when its produce request is acknowledged
 * by the broker: in the pipeline, through the worker's own metrics
 * (recordIn when a record enters the pipeline, recordOut for each output
 * the sink has had acknowledged, right before its input is acked to the
 * source); in the bare loop, when producer.send resolves. The clock runs
 * from the first input record the consumer delivers to the moment the
 * target-th output is acknowledged, or with task.warmupPosts W to the
 * (target - W)-th (the cold span); the warm span then runs from the W-th
 * output acknowledged to the target-th, with the same CPU and event-loop views.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectRoot } from '../cli/defaults.js';
import type { Tagger } from '../models/tagger.js';
import type { Logger } from '../pipeline/ops/logger.js';
import { createKafkaClient } from '../pipeline/kafka/client.js';
import { newProducer } from '../pipeline/kafka/producers.js';
import { createLogger } from '../pipeline/ops/logger.js';
import { createPipelineMetrics, type PipelineMetrics } from '../pipeline/ops/metrics.js';
import { resolveWorkerConfig, threadTaggerOptions, type WorkerConfig } from '../pipeline/stream/config.js';
import { startWorker } from '../pipeline/stream/worker.js';
import type { BatchSettings, MemorySnapshot, TaggingStats, TensorCounts, ToChild, ToParent, WarmSpan, WorkerTask } from './pipelineProtocol.js';
import { quantile } from './stats.js';
import { samplePosts } from './syntheticPosts.js';
import { IdentityTagger } from './identityTagger.js';
import { postDecoder } from '../operators/decodePosts.js';
import { outputEncoder } from '../operators/encodeOutputs.js';
import { mentionsBuilder } from '../operators/toMentions.js';
import { withValue } from '../operators/items.js';
import type { Item, TaggedPost } from '../operators/types.js';
import type { KafkaMessage } from 'kafkajs';

const task = JSON.parse(process.argv[2]) as WorkerTask;
const logger = createLogger({ level: 'warn', base: { bench: 'pipeline', variant: task.variant } });
const MAX_REQUEST_BYTES = 512 * 1024;

const send = (m: ToParent): Promise<void> => new Promise((resolve) => (process.send ? process.send(m, () => resolve()) : resolve()));

async function fail(message: string): Promise<never> {
  await send({ type: 'failed', message });
  process.exit(1);
}

// ---- counting: first record in, outputs acked, checkpoints, target

let target = task.target;
let acked = 0;
let firstAt: number | undefined;
let endAt: number | undefined;
/** Process CPU time at the first record and at the end; when half the target was acked. */
let cpuAtFirst: NodeJS.CpuUsage | undefined;
let cpuSpan: NodeJS.CpuUsage | undefined;
/** The main thread's event loop utilization at the first record, and over the span. */
let eluAtFirst: EventLoopUtilization | undefined;
let eluSpan: EventLoopUtilization | undefined;
let halfAt: number | undefined;
/** With task.warmupPosts: the end of the cold span (the (target - warmupPosts)-th output), and the warm span's two ends. */
const warmupPosts = task.warmupPosts ?? 0;
let coldAt: number | undefined;
let coldAcked: number | undefined;
interface Mark {
  t: number;
  cpu: NodeJS.CpuUsage;
  elu: EventLoopUtilization;
  acked: number;
}
const mark = (): Mark => ({ t: performance.now(), cpu: process.cpuUsage(), elu: performance.eventLoopUtilization(), acked });
let warmFrom: Mark | undefined;
let warmTo: Mark | undefined;
let lastAckAt: number | undefined;
/** Input records handed on (pipeline: entering it; bare: given to the producer), and when the cold span's last one was. */
let consumed = 0;
let lastInAt: number | undefined;
const consumedByPartition: Record<string, number> = {};
const epoch = (t: number | undefined) => (t === undefined ? undefined : performance.timeOrigin + t);
let nextProgress = task.progressEvery;
const checkpoints = [...task.checkpoints].sort((a, b) => a - b);
let reached!: () => void;
const targetReached = new Promise<void>((resolve) => (reached = resolve));

function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident bytes by mapping kind: the brk heap (glibc's main arena), other anonymous mappings (V8's heap pages, other malloc arenas, large mallocs), file-backed (code). */
function rssByKind(): MemorySnapshot['rssByKind'] {
  let text: string;
  try {
    text = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return undefined;
  }
  const out = { brk: 0, anon: 0, file: 0 };
  let kind: keyof typeof out = 'anon';
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const path = head[1].trim();
      kind = path === '[heap]' ? 'brk' : path === '' || path.startsWith('[') ? 'anon' : 'file';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[kind] += Number(rss[1]) * 1024;
  }
  return out;
}

function memory(): MemorySnapshot {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { acked, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, peakRss: peakRss(), rssByKind: rssByKind() };
}

function checkTarget(): void {
  if (target === undefined) return;
  const cold = target - warmupPosts;
  if (halfAt === undefined && acked >= cold / 2) halfAt = performance.now();
  if (coldAt === undefined && acked >= cold) {
    coldAt = performance.now();
    coldAcked = acked;
    if (cpuAtFirst !== undefined) cpuSpan = process.cpuUsage(cpuAtFirst);
    if (eluAtFirst !== undefined) eluSpan = performance.eventLoopUtilization(eluAtFirst);
  }
  if (warmupPosts > 0 && warmFrom === undefined && acked >= warmupPosts) warmFrom = mark();
  if (endAt === undefined && acked >= target) {
    endAt = performance.now();
    if (warmupPosts > 0) warmTo = mark();
    reached();
  }
}

function warmSpan(): WarmSpan | undefined {
  if (warmFrom === undefined || warmTo === undefined || warmTo.t <= warmFrom.t) return undefined;
  const [a, b] = [warmFrom.cpu, warmTo.cpu];
  return {
    posts: warmTo.acked - warmFrom.acked,
    seconds: (warmTo.t - warmFrom.t) / 1000,
    cpuSeconds: (b.user + b.system - a.user - a.system) / 1e6,
    mainThreadBusy: performance.eventLoopUtilization(warmTo.elu, warmFrom.elu).utilization,
  };
}

function firstRecord(): void {
  if (firstAt !== undefined) return;
  firstAt = performance.now();
  cpuAtFirst = process.cpuUsage();
  eluAtFirst = performance.eventLoopUtilization();
}

function onConsumed(n: number): void {
  consumed += n;
  if (lastInAt === undefined && target !== undefined && consumed >= target - warmupPosts) lastInAt = performance.now();
}

function onAcked(n: number): void {
  acked += n;
  lastAckAt = performance.now();
  while (checkpoints.length > 0 && acked >= checkpoints[0]) {
    checkpoints.shift();
    void send({ type: 'memory', snapshot: memory() });
  }
  if (acked >= nextProgress) {
    nextProgress = (Math.floor(acked / task.progressEvery) + 1) * task.progressEvery;
    void send({ type: 'progress', acked });
  }
  checkTarget();
}

process.on('message', (m: ToChild) => {
  if (m.type === 'target') {
    target = m.n;
    checkTarget();
  } else if (m.type === 'stop') {
    endAt ??= performance.now();
    reached();
  }
});
// a group member also reports progress on a timer, so the parent sees the group's sum reach its total
let reportedAcked = 0;
const progressTimer =
  task.progressIntervalMs !== undefined
    ? setInterval(() => {
        if (acked !== reportedAcked) {
          reportedAcked = acked;
          void send({ type: 'progress', acked });
        }
      }, task.progressIntervalMs)
    : undefined;

function allowedCpus(): string | undefined {
  try {
    return /Cpus_allowed_list:\s+(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** The worker's logger, also telling the parent each assignment the Kafka source logs ('partitions assigned'). */
function assignmentTap(inner: Logger): Logger {
  return {
    level: inner.level,
    debug: (msg, fields) => inner.debug(msg, fields),
    info: (msg, fields) => {
      const partitions = (fields as { partitions?: unknown } | undefined)?.partitions;
      if (msg === 'partitions assigned' && Array.isArray(partitions)) void send({ type: 'assigned', partitions: partitions as number[] });
      inner.info(msg, fields);
    },
    warn: (msg, fields) => inner.warn(msg, fields),
    error: (msg, fields) => inner.error(msg, fields),
    child: (fields) => assignmentTap(inner.child(fields)),
    isLevelEnabled: (level) => inner.isLevelEnabled(level),
  };
}

// the parent went away: nothing to report to
process.on('disconnect', () => process.exit(3));

const deadline = setTimeout(() => {
  void fail(`${task.variant}: deadline of ${task.deadlineMs} ms passed with ${acked} of ${target ?? '?'} outputs acked`);
}, task.deadlineMs);

async function waitUntil(cond: () => boolean, what: string): Promise<void> {
  while (!cond()) {
    await sleep(50);
    if (performance.now() > task.deadlineMs) await fail(`${task.variant}: timed out waiting for ${what}`);
  }
}

// ---- the bare kafkajs loop

/**
 * The codec variant's work on one fetched chunk: the worker's per-record
 * functions in the order its stages run them (see the header). A record the
 * worker would dead-letter fails the run: the bench's posts are all valid.
 */
function codecStep(): (messages: readonly KafkaMessage[], topic: string, partition: number) => { key: Buffer; value: Buffer }[] {
  const decode = postDecoder({});
  const build = mentionsBuilder({ model: { id: 'identity', version: '0' } });
  const encode = outputEncoder({});
  return (messages, topic, partition) => {
    const receivedAt = Date.now();
    const tagged: Item<TaggedPost>[] = messages.map((m) => {
      const item = decode({ ref: { topic, partition, offset: m.offset, receivedAt }, key: m.key ?? null, value: m.value ?? null });
      return item.kind === 'ok' ? withValue(item, { post: item.value, mentions: [], tagMs: 0 }) : item;
    });
    return encode(build(tagged)).map((out) => {
      if (out.output !== 'mentions') void fail(`codec: a bench post became a dead letter: ${out.value.toString('utf8', 0, 200)}`);
      return { key: out.key as Buffer, value: out.value };
    });
  };
}

async function runBare(): Promise<void> {
  const codec = task.variant === 'codec' ? codecStep() : undefined;
  const kafka = createKafkaClient({ brokers: task.brokers, clientId: `bench-${task.variant}`, logger });
  // The worker's producer settings and key partitioner (pipeline/kafka/producers.ts): the ceiling
  // gets every transport fix the worker gets, so identity / bare measures the framework alone.
  const producer = newProducer(kafka);
  const consumer = kafka.consumer({ groupId: task.groupId, maxWaitTimeInMs: 500, allowAutoTopicCreation: false });
  consumer.on(consumer.events.GROUP_JOIN, () => void send({ type: 'ready' }));
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) void fail(`${task.variant} consumer crashed: ${payload.error.message}`);
  });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [task.inputTopic], fromBeginning: true });
  await consumer.run({
    autoCommit: true,
    autoCommitInterval: 1000,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: task.partitions,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
      if (batch.messages.length > 0) firstRecord();
      let i = 0;
      while (i < batch.messages.length && isRunning() && !isStale()) {
        let bytes = 0;
        const chunk = [];
        for (; i < batch.messages.length && (chunk.length === 0 || bytes < MAX_REQUEST_BYTES); i++) {
          const m = batch.messages[i];
          bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
          chunk.push(m);
        }
        onConsumed(chunk.length);
        const messages = codec === undefined ? chunk.map((m) => ({ key: m.key, value: m.value })) : codec(chunk, batch.topic, batch.partition);
        await producer.send({ topic: task.outputTopic, acks: -1, messages });
        resolveOffset(chunk[chunk.length - 1].offset);
        onAcked(chunk.length);
        await commitOffsetsIfNecessary();
        await heartbeat();
      }
    },
  });
  await targetReached;
  await consumer.disconnect().catch(() => undefined);
  await producer.disconnect().catch(() => undefined);
}

// ---- the pipeline, with the identity tagger or the model

/** The worker's settings for this task (the benchmark's own plus --worker-option ones, defaults for the rest). */
function workerConfig(): WorkerConfig {
  return resolveWorkerConfig({
    flags: {
      ...task.workerOptions,
      brokers: task.brokers.join(','),
      clientId: `bench-${task.variant}`,
      groupId: task.groupId,
      inputTopic: task.inputTopic,
      outputTopic: task.outputTopic,
      deadLetterTopic: task.deadLetterTopic,
      startFrom: 'earliest',
      delivery: 'at-least-once',
      model: task.model,
      backend: 'native',
      logLevel: 'warn',
    },
    env: {},
    paths: { model: task.model, input: join(projectRoot(), 'schemas', 'post', 'samples', 'posts.ndjson') },
  });
}

function batchSettings(config: WorkerConfig): BatchSettings {
  return { batchMode: config.batchMode, batchMaxCount: config.batchMaxCount, batchMaxWaitMs: config.batchMaxWaitMs, batchMaxChars: config.batchMaxChars };
}

interface OpenedTagger {
  tagger: Tagger;
  backend?: string;
  tensors: Partial<TensorCounts>;
  numTensors: () => Promise<number>;
  /** Disposes of the tagger; returns the tensor count after. */
  close: () => Promise<number>;
}

/** The tagger of the task: the shipped model as the worker runs it (inline or in a thread, warmed up), or the identity tagger. */
async function openTagger(config: WorkerConfig): Promise<OpenedTagger> {
  const tensors: Partial<TensorCounts> = {};
  // as `mentionflow run` does: one TensorFlow thread unless TF_NUM_INTRAOP_THREADS is set
  if (task.variant === 'full') (await import('../models/backend.js')).preferOneComputeThread();
  if (task.variant === 'full' && config.inference === 'thread') {
    // --worker-option inference=thread: the tagger in a worker thread (its tensors are counted there)
    const { ThreadTagger } = await import('../models/threadTagger.js');
    const thread = await ThreadTagger.open(config.model, { ...threadTaggerOptions(config), backend: 'native' }); // as run opens it, on the bench's native backend
    const numTensors = async () => (await thread.memory()).numTensors;
    tensors.afterLoad = await numTensors();
    await thread.tag(samplePosts().map((p) => p.text)); // warm-up: a long-running worker is warm
    tensors.beforeStream = await numTensors();
    return { tagger: thread, backend: thread.backend, tensors, numTensors, close: async () => (await thread.close())?.numTensors ?? -1 };
  }
  if (task.variant === 'full') {
    // loaded only here, so the other variants' memory holds what the pipeline itself loads
    const [tf, { useBackend }, { NeuralTagger }, { TaggerModel }] = await Promise.all([
      import('@tensorflow/tfjs'),
      import('../models/backend.js'),
      import('../models/tagger.js'),
      import('../models/taggerModel.js'),
    ]);
    const numTensors = async () => tf.memory().numTensors;
    const backend = await useBackend('native');
    (await import('../models/layers/nativeLstm.js')).useInferencePrecision(config.precision); // as run does (--precision)
    const { model } = await TaggerModel.load(config.model);
    tensors.afterLoad = await numTensors();
    const tagger = new NeuralTagger(model, { batchSize: config.batchMaxCount });
    await tagger.tag(samplePosts().map((p) => p.text)); // warm-up: a long-running worker is warm
    tensors.beforeStream = await numTensors();
    return {
      tagger,
      backend,
      tensors,
      numTensors,
      close: async () => {
        tagger.dispose();
        return numTensors();
      },
    };
  }
  return { tagger: new IdentityTagger(), tensors, numTensors: async () => 0, close: async () => 0 };
}

/** Wall times of tagger calls (ms) and the posts they carried. */
class TaggingLog {
  private readonly ms: number[] = [];
  posts = 0;

  add(ms: number): void {
    this.ms.push(ms);
  }

  stats(): TaggingStats | undefined {
    if (this.ms.length === 0) return undefined;
    const sum = this.ms.reduce((a, b) => a + b, 0);
    return { batches: this.ms.length, posts: this.posts, meanMs: sum / this.ms.length, p50Ms: quantile(this.ms, 0.5), p99Ms: quantile(this.ms, 0.99), maxMs: quantile(this.ms, 1) };
  }
}
const taggingLog = new TaggingLog();
let settings: BatchSettings | undefined;

async function runPipeline(): Promise<TensorCounts | undefined> {
  const config = workerConfig();
  settings = batchSettings(config);
  const { tagger, backend, tensors, numTensors, close } = await openTagger(config);
  // The worker's own metric taps tell when a record came in, when an output was acked, and what the tagger did.
  const base = createPipelineMetrics({ collectDefault: false });
  const metrics: PipelineMetrics = {
    ...base,
    recordIn: (topic, partition) => {
      firstRecord();
      onConsumed(1);
      consumedByPartition[partition] = (consumedByPartition[partition] ?? 0) + 1;
      base.recordIn(topic, partition);
    },
    recordOut: (output, receivedAt, now) => {
      base.recordOut(output, receivedAt, now);
      onAcked(1);
    },
    observeBatch: (size, chars, seconds) => {
      taggingLog.posts += size;
      base.observeBatch(size, chars, seconds);
    },
    observeTagging: (seconds) => {
      taggingLog.add(seconds * 1000);
      base.observeTagging(seconds);
    },
  };
  const worker = await startWorker({ config, tagger, logger: assignmentTap(logger), metrics });
  worker.done.catch((err: unknown) => fail(`${task.variant}: the worker failed: ${(err as Error).message}`));
  await waitUntil(() => worker.ready(), 'the group assignment');
  const cpus = allowedCpus();
  await send({ type: 'ready', ...(backend ? { backend } : {}), ...(cpus ? { cpus } : {}) });
  await targetReached;
  worker.stop();
  const stopped = await Promise.race([worker.done.then(() => true), sleep(30_000).then(() => false)]);
  if (!stopped) logger.warn('the worker did not stop within 30 s');
  if (task.variant !== 'full') return undefined;
  tensors.afterStream = await numTensors();
  tensors.afterDispose = await close();
  return tensors as TensorCounts;
}

/** The tagger alone (task.standalone): the full variant's texts in batches of batchMaxCount, one call at a time. */
async function runStandalone(posts: number): Promise<void> {
  const config = workerConfig();
  settings = batchSettings(config);
  const { tagger, backend, close } = await openTagger(config);
  const templates = samplePosts();
  const texts = Array.from({ length: posts }, (_, i) => templates[i % templates.length].text); // as postFactory cycles them
  await send({ type: 'ready', ...(backend ? { backend } : {}) });
  for (let i = 0; i < texts.length; i += config.batchMaxCount) {
    const batch = texts.slice(i, i + config.batchMaxCount);
    const t0 = performance.now();
    firstRecord();
    const results = await tagger.tag(batch);
    if (results.length !== batch.length) await fail(`standalone: the tagger returned ${results.length} results for ${batch.length} texts`);
    taggingLog.add(performance.now() - t0);
    taggingLog.posts += batch.length;
    onAcked(batch.length);
  }
  endAt ??= performance.now();
  await close();
}

try {
  let tensors: TensorCounts | undefined;
  if (task.standalone !== undefined) await runStandalone(task.standalone.posts);
  else if (task.variant === 'bare' || task.variant === 'codec') await runBare();
  else tensors = await runPipeline();
  clearTimeout(deadline);
  clearInterval(progressTimer);
  if (endAt === undefined || (firstAt === undefined && !task.groupMember)) await fail(`${task.variant}: stopped before any record was consumed`);
  await send({
    type: 'done',
    acked,
    seconds: firstAt === undefined ? 0 : ((coldAt ?? endAt)! - firstAt) / 1000,
    ...(cpuSpan ? { cpuSeconds: (cpuSpan.user + cpuSpan.system) / 1e6 } : {}),
    ...(eluSpan ? { mainThreadBusy: eluSpan.utilization } : {}),
    ...(halfAt !== undefined && firstAt !== undefined ? { halfSeconds: (halfAt - firstAt) / 1000 } : {}),
    ...(lastInAt !== undefined && (coldAt ?? endAt) !== undefined ? { tailSeconds: Math.max(0, (coldAt ?? endAt)! - lastInAt) / 1000 } : {}),
    ...(warmupPosts > 0 && coldAcked !== undefined ? { coldAcked } : {}),
    ...(warmSpan() ? { warm: warmSpan() } : {}),
    ...(tensors ? { tensors } : {}),
    ...(firstAt !== undefined ? { firstAtEpochMs: epoch(firstAt) } : {}),
    ...(lastAckAt !== undefined ? { lastAckAtEpochMs: epoch(lastAckAt) } : {}),
    consumedByPartition,
    ...(settings ? { settings } : {}),
    ...(taggingLog.stats() ? { tagging: taggingLog.stats() } : {}),
  });
  process.exit(0);
} catch (err) {
  await fail(`${task.variant}: ${(err as Error).stack ?? String(err)}`);
}
