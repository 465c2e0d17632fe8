/**
 * The pipeline's Prometheus metrics, in one registry (a fresh one unless the
 * caller passes one), plus the few helpers the streaming worker calls. Every
 * pipeline metric gets the prefix (default `mentionflow_`); the process
 * metrics keep their standard names, so stock Node.js dashboards find them:
 *
 *   records_in_total{topic,partition}        counter    input records read
 *   records_out_total{output}                counter    outputs acked (mentions | deadletter)
 *   dead_letters_total{stage,error_class}    counter    records sent to the dead-letter topic
 *   mentions_total{type,kind,label}          counter    mentions found (PER/ORG/LOC/GPE x NAM/NOM, and the model's own label)
 *   batch_size                               histogram  posts per tagger batch (1..512)
 *   batch_chars                              histogram  code points per tagger batch
 *   batch_latency_seconds                    histogram  first item of a batch -> batch emitted
 *   tagging_seconds                          histogram  tagger time per batch
 *   end_to_end_latency_seconds               histogram  record received -> its output acked
 *   consumer_lag{topic,partition}            gauge      high watermark - committed offset, for the
 *                                                       partitions this worker holds (dropped on losing one)
 *   in_flight_records                        gauge      records read but not yet acked
 *   kafka_reachable{side}                    gauge      1, or 0 during a broker outage (side: read | write)
 *   kafka_outages_total{side}                counter    broker outages begun (each one ridden through or fatal)
 *   tfjs_tensors, tfjs_bytes                 gauges     tf.memory() at scrape time (of the
 *                                                       tagger's thread with --inference thread)
 *   model_info{id,version}                   gauge      1 for the model in service (the one the next batch uses)
 *   model_swaps_total{result}                counter    candidates from the model store: swapped | refused
 *   process_*, nodejs_*                      prom-client default process metrics, unprefixed
 *                                                       (process_resident_memory_bytes, nodejs_heap_size_used_bytes, ...)
 */
import * as tf from '@tensorflow/tfjs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';
import { ConfigError } from '../../common/errors.js';
import { BucketHistogram } from './bucketHistogram.js';

/** Options of createPipelineMetrics. */
export interface PipelineMetricsOptions {
  /** Registry to register in; default a new Registry (not prom-client's global one). */
  registry?: Registry;
  /** Prefix of every metric name; default 'mentionflow_'. */
  prefix?: string;
  /** Also register prom-client's default process metrics, under their standard names (`process_*`, `nodejs_*`, no prefix); default true. */
  collectDefault?: boolean;
  /**
   * Where tfjs_tensors and tfjs_bytes come from; default this thread's
   * tf.memory(). A tagger in a worker thread (ThreadTagger.memory) passes its
   * own. If it fails, the gauges keep their last values.
   */
  tensorMemory?: () => TensorMemory | Promise<TensorMemory>;
}

/** Tensors and bytes held by tfjs (tf.memory()). */
export interface TensorMemory {
  numTensors: number;
  numBytes: number;
}

/** The two outputs of the pipeline. */
export type OutputName = 'mentions' | 'deadletter';

/** The Prometheus metrics of the streaming pipeline (records, dead letters, batches, latency, lag, ...) on one registry. */
export interface PipelineMetrics {
  readonly registry: Registry;
  readonly recordsIn: Counter<'topic' | 'partition'>;
  readonly recordsOut: Counter<'output'>;
  readonly deadLetters: Counter<'stage' | 'error_class'>;
  readonly mentions: Counter<'type' | 'kind'>;
  readonly batchSize: Histogram;
  readonly batchChars: Histogram;
  readonly batchLatency: Histogram;
  readonly tagging: Histogram;
  /** Observed once per record: a BucketHistogram (no allocation per observation), exposed as a prom-client Histogram. */
  readonly endToEndLatency: BucketHistogram;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly inFlight: Gauge;
  readonly tfjsTensors: Gauge;
  readonly tfjsBytes: Gauge;
  readonly kafkaReachable: Gauge<'side'>;
  readonly kafkaOutages: Counter<'side'>;
  readonly modelInfo: Gauge<'id' | 'version'>;
  readonly modelSwaps: Counter<'result'>;

  /** One input record read; also counts it in flight. */
  recordIn(topic: string, partition: number): void;
  /** A batch left the batcher: its size (posts), total code points, and seconds since its first item arrived. */
  observeBatch(size: number, chars: number, seconds: number): void;
  /** The tagger took `seconds` for one batch. */
  observeTagging(seconds: number): void;
  /** The output caused by one input record was acked: counts it, ends its in-flight time, observes end-to-end latency. */
  recordOut(output: OutputName, receivedAt: number, now?: number): void;
  /** A record went to the dead-letter topic (call recordOut('deadletter', ...) when it is acked). */
  deadLetter(stage: string, errorClass: string): void;
  /** Counts the mentions of one tagged post. */
  countMentions(mentions: ReadonlyArray<{ type: string; kind: string; label?: string }>): void;
  /** Consumer lag of one partition, in records. */
  setLag(topic: string, partition: number, lag: number): void;
  /** This worker now holds `partitions` of `topic`: the lag series of its other partitions are removed (their new holder reports them). */
  retainLag(topic: string, partitions: readonly number[]): void;
  /** The broker became unreachable (false; an outage begins) or reachable again (true) for one side of the worker. */
  setBrokerReachable(side: 'read' | 'write', reachable: boolean): void;
  /** The model in service is now `id`/`version` (model_info shows it alone). */
  setModel(id: string, version: string): void;
  /** A candidate model was put in service (swapped) or refused. */
  modelSwap(result: 'swapped' | 'refused'): void;
}

const METRIC_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Posts per batch: 1, 2, 4, ..., 512. */
export const BATCH_SIZE_BUCKETS = exponentialBuckets(1, 2, 10);
/** Code points per batch: 64 .. 131072. */
export const BATCH_CHARS_BUCKETS = exponentialBuckets(64, 2, 12);
/** Waiting in the batcher: 1 ms .. 5 s. */
export const BATCH_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Tagger time per batch: 5 ms .. 10 s. */
export const TAGGING_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Record received -> output acked: 10 ms .. 60 s. */
export const END_TO_END_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** tf.memory(), or zeros while no tfjs backend is initialised (reading it would initialise one). */
function tfMemory(): TensorMemory {
  if (!tf.engine().backendName) return { numTensors: 0, numBytes: 0 };
  return tf.memory();
}

/** Creates the pipeline's metrics on a registry (by default a new one, not prom-client's global registry). ConfigError for a bad prefix. */
export function createPipelineMetrics(opts: PipelineMetricsOptions = {}): PipelineMetrics {
  const { registry = new Registry(), prefix = 'mentionflow_', collectDefault = true, tensorMemory = tfMemory } = opts;
  if (prefix !== '' && !METRIC_PREFIX.test(prefix)) {
    throw new ConfigError(`metrics prefix ${JSON.stringify(prefix)} is not a valid Prometheus name start; use letters, digits, _ and :`);
  }
  if (typeof tensorMemory !== 'function') throw new ConfigError('metrics tensorMemory must be a function returning { numTensors, numBytes }');
  const readMemory = async (): Promise<TensorMemory | undefined> => {
    try {
      return await tensorMemory();
    } catch {
      return undefined;
    }
  };
  const registers = [registry];
  const name = (n: string) => `${prefix}${n}`;

  // recordIn and recordOut run once per record: they count in plain numbers,
  // handed to prom-client when it collects (every scrape, every get()), since
  // prom-client hashes the label set on each inc().
  const pendingIn = new Map<string, Map<number, number>>();
  const pendingOut = new Map<OutputName, number>();
  let inFlightNow = 0;
  /** The partitions each topic has a consumer_lag series for. */
  const lagSeries = new Map<string, Set<number>>();
  const recordsIn = new Counter({
    name: name('records_in_total'),
    help: 'Input records read from Kafka, by topic and partition.',
    labelNames: ['topic', 'partition'] as const,
    registers,
    collect() {
      for (const [topic, byPartition] of pendingIn) {
        for (const [partition, n] of byPartition) if (n > 0) this.inc({ topic, partition: String(partition) }, n);
        byPartition.clear();
      }
    },
  });
  const recordsOut = new Counter({
    name: name('records_out_total'),
    help: 'Input records whose output was acknowledged by Kafka, by output (mentions or deadletter).',
    labelNames: ['output'] as const,
    registers,
    collect() {
      for (const [output, n] of pendingOut) if (n > 0) this.inc({ output }, n);
      pendingOut.clear();
    },
  });
  const deadLetters = new Counter({
    name: name('dead_letters_total'),
    help: 'Records routed to the dead-letter topic, by failing stage and error class.',
    labelNames: ['stage', 'error_class'] as const,
    registers,
  });
  const mentions = new Counter({
    name: name('mentions_total'),
    help: "Entity mentions found, by entity type (PER, ORG, LOC, GPE; UNKNOWN for other label sets), kind (NAM name, NOM nominal) and the model's label (e.g. PER.NAM, PRODUCT).",
    labelNames: ['type', 'kind', 'label'] as const,
    registers,
  });
  const batchSize = new Histogram({
    name: name('batch_size'),
    help: 'Posts per batch handed to the tagger.',
    buckets: BATCH_SIZE_BUCKETS,
    registers,
  });
  const batchChars = new Histogram({
    name: name('batch_chars'),
    help: 'Text length of a tagger batch, in Unicode code points summed over its posts.',
    buckets: BATCH_CHARS_BUCKETS,
    registers,
  });
  const batchLatency = new Histogram({
    name: name('batch_latency_seconds'),
    help: 'Time from the first item entering a batch to the batch being emitted to the tagger.',
    buckets: BATCH_LATENCY_BUCKETS,
    registers,
  });
  const tagging = new Histogram({
    name: name('tagging_seconds'),
    help: 'Time the tagger took for one batch.',
    buckets: TAGGING_BUCKETS,
    registers,
  });
  const endToEndLatency = new BucketHistogram({
    name: name('end_to_end_latency_seconds'),
    help: 'Time from an input record entering the pipeline to its output (mentions or dead letter) being acknowledged by Kafka.',
    buckets: END_TO_END_BUCKETS,
    registers,
  });
  const consumerLag = new Gauge({
    name: name('consumer_lag'),
    help: 'Records behind the partition high watermark (high watermark - next offset to commit), as last seen by the pipeline.',
    labelNames: ['topic', 'partition'] as const,
    registers,
  });
  const inFlight = new Gauge({
    name: name('in_flight_records'),
    help: 'Input records read but whose output is not yet acknowledged.',
    registers,
    collect() {
      this.set(inFlightNow);
    },
  });
  const tfjsTensors = new Gauge({
    name: name('tfjs_tensors'),
    help: 'Live TensorFlow.js tensors (tf.memory().numTensors) at scrape time; a steady rise means a tensor leak.',
    registers,
    async collect() {
      const memory = await readMemory();
      if (memory !== undefined) this.set(memory.numTensors);
    },
  });
  const tfjsBytes = new Gauge({
    name: name('tfjs_bytes'),
    help: 'Bytes held by live TensorFlow.js tensors (tf.memory().numBytes) at scrape time.',
    registers,
    async collect() {
      const memory = await readMemory();
      if (memory !== undefined) this.set(memory.numBytes);
    },
  });
  const kafkaReachable = new Gauge({
    name: name('kafka_reachable'),
    help: '1 while the Kafka brokers answer, 0 during an outage (being ridden through), for the reading and the writing side.',
    labelNames: ['side'] as const,
    registers,
  });
  const kafkaOutages = new Counter({
    name: name('kafka_outages_total'),
    help: 'Kafka outages begun (transient failures of broker round trips), for the reading and the writing side.',
    labelNames: ['side'] as const,
    registers,
  });
  const modelInfo = new Gauge({
    name: name('model_info'),
    help: 'Always 1, labelled with the id and version of the model in service (the one the next batch is tagged with).',
    labelNames: ['id', 'version'] as const,
    registers,
  });
  const modelSwaps = new Counter({
    name: name('model_swaps_total'),
    help: 'Candidate models from the model store: swapped (in service from the next batch) or refused (failed to load; the old model keeps serving).',
    labelNames: ['result'] as const,
    registers,
  });
  for (const result of ['swapped', 'refused'] as const) modelSwaps.inc({ result }, 0);
  for (const side of ['read', 'write'] as const) {
    kafkaReachable.set({ side }, 1);
    kafkaOutages.inc({ side }, 0);
  }
  // Unprefixed on purpose: process_* and nodejs_* are what stock Node.js
  // dashboards and alerts query.
  if (collectDefault) collectDefaultMetrics({ register: registry });

  return {
    registry,
    recordsIn,
    recordsOut,
    deadLetters,
    mentions,
    batchSize,
    batchChars,
    batchLatency,
    tagging,
    endToEndLatency,
    consumerLag,
    inFlight,
    tfjsTensors,
    tfjsBytes,
    kafkaReachable,
    kafkaOutages,
    modelInfo,
    modelSwaps,
    recordIn(topic, partition) {
      let byPartition = pendingIn.get(topic);
      if (byPartition === undefined) pendingIn.set(topic, (byPartition = new Map()));
      byPartition.set(partition, (byPartition.get(partition) ?? 0) + 1);
      inFlightNow++;
    },
    observeBatch(size, chars, seconds) {
      batchSize.observe(size);
      batchChars.observe(chars);
      batchLatency.observe(seconds);
    },
    observeTagging(seconds) {
      tagging.observe(seconds);
    },
    recordOut(output, receivedAt, now = Date.now()) {
      pendingOut.set(output, (pendingOut.get(output) ?? 0) + 1);
      inFlightNow--;
      endToEndLatency.observe(Math.max(0, now - receivedAt) / 1000);
    },
    deadLetter(stage, errorClass) {
      deadLetters.inc({ stage, error_class: errorClass });
    },
    countMentions(list) {
      for (const m of list) mentions.inc({ type: m.type, kind: m.kind, label: m.label === undefined || m.label === '' ? `${m.type}.${m.kind}` : m.label });
    },
    setLag(topic, partition, lag) {
      consumerLag.set({ topic, partition: String(partition) }, lag);
      let partitions = lagSeries.get(topic);
      if (partitions === undefined) lagSeries.set(topic, (partitions = new Set()));
      partitions.add(partition);
    },
    retainLag(topic, partitions) {
      const series = lagSeries.get(topic);
      if (series === undefined) return;
      for (const partition of [...series]) {
        if (partitions.includes(partition)) continue;
        consumerLag.remove({ topic, partition: String(partition) });
        series.delete(partition);
      }
    },
    setBrokerReachable(side, reachable) {
      kafkaReachable.set({ side }, reachable ? 1 : 0);
      if (!reachable) kafkaOutages.inc({ side });
    },
    setModel(id, version) {
      modelInfo.reset();
      modelInfo.set({ id, version }, 1);
    },
    modelSwap(result) {
      modelSwaps.inc({ result });
    },
  };
}
