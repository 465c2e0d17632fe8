/**
 * `mentionflow trends`: windowed entity trends over mention records. The
 * embedded mode reads the NDJSON mention records `mentionflow run` prints
 * (--input FILE, or stdin), so `mentionflow run | mentionflow trends` needs
 * no Kafka; it prints one EntityTrend per closed window as NDJSON on stdout,
 * late records and lines that are not mention records as NDJSON on stderr.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { lastValueFrom, tap } from 'rxjs';
import { entityTrends } from '../../pipeline/file/mentionRecords.js';
import { ConfigError } from '../../common/errors.js';
import { TREND_DEFAULTS, TrendState } from '../../operators/trends/trendState.js';
import { trendSettings } from '../../operators/windowTrends.js';
import { startOpsServer } from '../../pipeline/ops/server.js';
import { createAggregateMetrics, createMergeMetrics, createRekeyMetrics, createTrendMetrics } from '../../pipeline/ops/trendMetrics.js';
import { createTopics, readTopicStates } from '../../pipeline/kafka/topicAdmin.js';
import { scaledTrendTopicSpecs, trendTopicSpecs, type TopicSpec } from '../../pipeline/kafka/topicSpecs.js';
import { createLogger } from '../../pipeline/ops/logger.js';
import { startTrendsWorker, type TrendsWorker } from '../../pipeline/stream/trendsWorker.js';
import { startTrendsAggregate, type TrendsAggregate } from '../../pipeline/stream/trendsAggregate.js';
import { startTrendsMerge, type TrendsMerge } from '../../pipeline/stream/trendsMerge.js';
import { trendTopicNames, type TrendTopicNames } from '../../pipeline/stream/trendsOptions.js';
import { startTrendsRekey } from '../../pipeline/stream/trendsRekey.js';
import type { TrendSettings } from '../../operators/trends/trendState.js';
import type { Registry } from 'prom-client';
import { checkPath, numberOption, type CommandSpec, type Parsed } from '../args.js';

export const spec: CommandSpec = {
  name: 'trends',
  summary: 'windowed entity trends (top, new, rising per type) over mention records: NDJSON from `mentionflow run` in, one EntityTrend per closed window out',
  usage: 'mentionflow trends [--input FILE | --brokers HOST:PORT --from-topic mentions --to-topic trends] [--window 1m] [--hop 1m] [--lateness 10s] [--top 10]',
  options: {
    input: { type: 'string', arg: 'FILE', description: 'NDJSON mention records, as `mentionflow run` prints them (default: stdin)' },
    window: { type: 'string', arg: 'DURATION', description: 'window size by the posts\' created_at: 500ms, 30s, 5m, 1h or milliseconds', default: '1m' },
    hop: { type: 'string', arg: 'DURATION', description: 'distance between window starts (<= --window; less than it: hopping windows; default: --window, tumbling)' },
    lateness: { type: 'string', arg: 'DURATION', description: 'allowed lateness: the watermark is the largest created_at seen minus this', default: '10s' },
    top: { type: 'string', arg: 'N', description: 'entities listed per type (top, new, rising)', default: String(TREND_DEFAULTS.top) },
    history: { type: 'string', arg: 'N', description: 'previous windows compared against for new and rising entities', default: String(TREND_DEFAULTS.historyWindows) },
    'min-count': { type: 'string', arg: 'N', description: 'fewest mentions in a window to be flagged new or rising', default: String(TREND_DEFAULTS.minCount) },
    'rising-ratio': { type: 'string', arg: 'X', description: 'rising: mentions at least X times the trailing average', default: String(TREND_DEFAULTS.risingRatio) },
    'max-keys': { type: 'string', arg: 'N', description: 'cap on entities tracked per window; beyond it counts are Space-Saving estimates (error <= mentions / N)', default: String(TREND_DEFAULTS.maxKeysPerWindow) },
    'metrics-port': { type: 'string', arg: 'PORT', description: 'serve the aggregator\'s metrics (windows open, late records, keys tracked, state size) on http://127.0.0.1:PORT/metrics while running' },
    brokers: { type: 'string', arg: 'HOST:PORT,...', description: 'Kafka mode: consume mention records (Avro) from --from-topic, write EntityTrend records to --to-topic' },
    'from-topic': { type: 'string', arg: 'NAME', description: 'Kafka mode: the mentions topic', default: 'mentions' },
    'to-topic': { type: 'string', arg: 'NAME', description: 'Kafka mode: the trends topic', default: 'trends' },
    'late-topic': { type: 'string', arg: 'NAME', description: 'Kafka mode: late (header reason=late) and undecodable (reason=invalid) mention records, as read (default: TO-TOPIC.late)' },
    'changelog-topic': { type: 'string', arg: 'NAME', description: 'Kafka mode: the compacted state changelog (default: TO-TOPIC.changelog)' },
    group: { type: 'string', arg: 'ID', description: 'Kafka mode: consumer group; one aggregator per group', default: 'mentionflow-trends' },
    delivery: { type: 'string', arg: 'MODE', description: 'Kafka mode: exactly-once (outputs, state and offsets in one transaction) or at-least-once', default: 'exactly-once' },
    'transactional-id': { type: 'string', arg: 'ID', description: 'Kafka mode, exactly-once: stable across restarts (default: GROUP-trends)' },
    'create-topics': { type: 'boolean', description: 'Kafka mode: create the trends, late and changelog topics (trendTopicSpecs) if missing, then run' },
    partitions: { type: 'string', arg: 'N', description: 'with --create-topics: partitions of the trends and late topics', default: '1' },
    'commit-interval': { type: 'string', arg: 'DURATION', description: 'Kafka mode: write outputs, state and input offsets at most this often (one transaction in exactly-once mode); 0: after every fetched batch', default: '1s' },
    stage: { type: 'string', arg: 'STAGE', description: 'Kafka mode, scaled out: rekey (mentions -> repartition topic keyed by entity), aggregate (one of N aggregators on the repartition topic, partial trends per window), merge (the one merger: partials -> trends); default: one aggregator for everything' },
    'repartition-topic': { type: 'string', arg: 'NAME', description: 'scaled out: the mentions keyed by entity (default: TO-TOPIC.repartition)' },
    'partials-topic': { type: 'string', arg: 'NAME', description: 'scaled out: the aggregators\' partial trends (default: TO-TOPIC.partials)' },
    'repartition-partitions': { type: 'string', arg: 'N', description: 'scaled out, with --create-topics: partitions of the repartition topic and of its changelog (the most aggregators that share the work)', default: '3' },
    'dead-letter-topic': { type: 'string', arg: 'NAME', description: 'scaled out, --stage rekey: mention records that do not decode (default: REPARTITION-TOPIC.deadletter)' },
    'idle-timeout': { type: 'string', arg: 'DURATION', description: 'with no record for this long, let the watermark move on with the clock; Kafka mode: also leave a partition silent this long out of the watermark (default: windows close on later records and at the end of the input)' },
  },
  notes: [
    'Windows are event-time, aligned to the epoch: [start, start + window), a start every --hop. A window is printed once the',
    'watermark (largest created_at seen - lateness) reaches its end, and every open one at the end of the input. A record',
    'all of whose windows had closed is printed to stderr as {"late":...}; a line that is not a mention record as {"invalid_line":N,...}.',
    'examples:',
    '  mentionflow run --input posts.ndjson | mentionflow trends --window 5m --hop 1m --top 5',
    '  mentionflow trends --input mentions.ndjson --window 1h --lateness 5m',
  ].join('\n'),
};

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration option in ms: "500ms", "30s", "5m", "1h", "1d" or a number of ms. */
export function durationOption(p: Parsed, name: string, min: number): number | undefined {
  const v = p.values[name];
  if (v === undefined) return undefined;
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(v) : null;
  const ms = m === null ? NaN : Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
  if (!Number.isSafeInteger(ms) || ms < min) {
    throw new ConfigError(`--${name} must be a duration of at least ${min} ms such as 500ms, 30s, 5m, 1h (or a number of ms), got ${JSON.stringify(v)}`);
  }
  return ms;
}

export async function run(p: Parsed): Promise<number> {
  const windowMs = durationOption(p, 'window', 1)!;
  const hopMs = durationOption(p, 'hop', 1) ?? windowMs;
  if (hopMs > windowMs) throw new ConfigError(`--hop (${hopMs} ms) must not exceed --window (${windowMs} ms)`);
  const settings = trendSettings({
    windowMs,
    hopMs,
    latenessMs: durationOption(p, 'lateness', 0),
    top: numberOption(p, 'top', { integer: true, min: 1, max: 10_000 }),
    historyWindows: numberOption(p, 'history', { integer: true, min: 1, max: 10_000 }),
    minCount: numberOption(p, 'min-count', { integer: true, min: 1 }),
    risingRatio: numberOption(p, 'rising-ratio', { min: 1.000001 }),
    maxKeysPerWindow: numberOption(p, 'max-keys', { integer: true, min: 1 }),
  });
  if (p.values.brokers !== undefined) return runKafka(p, settings);
  const state = new TrendState(settings);
  const opts = { state, idleTimeoutMs: durationOption(p, 'idle-timeout', 1) };
  const port = numberOption(p, 'metrics-port', { integer: true, min: 0, max: 65535 });
  const metrics = port === undefined ? undefined : createTrendMetrics({ state: () => state });
  const server = metrics === undefined ? undefined : await startOpsServer({ port: port!, registry: metrics.registry, health: () => true, ready: () => true });
  const file = p.values.input as string | undefined;
  if (file !== undefined && file !== '-') checkPath(file, '--input');
  const input = file === undefined || file === '-' ? process.stdin : createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let out = '';
  const flush = (): void => {
    if (out !== '') process.stdout.write(out);
    out = '';
  };
  await lastValueFrom(
    entityTrends(lines, opts).pipe(
      tap((e) => {
        if (e.kind === 'trend') {
          metrics?.closed();
          out += `${JSON.stringify(e.trend)}\n`;
          flush();
        } else if (e.kind === 'late') process.stderr.write(`${JSON.stringify({ late: e.record.post_id, created_at: e.record.created_at, watermark: e.watermark })}\n`);
        else process.stderr.write(`${JSON.stringify({ invalid_line: e.line, reason: e.reason })}\n`);
      }),
    ),
    { defaultValue: undefined },
  );
  flush();
  await server?.close();
  return 0;
}

const SCALED_STAGES = ['rekey', 'aggregate', 'merge'] as const;
type ScaledStage = (typeof SCALED_STAGES)[number];

interface ScaledCommon {
  brokers: string[];
  stage: ScaledStage;
  topics: TrendTopicNames;
  groupId: string;
  delivery: 'exactly-once' | 'at-least-once';
  idleTimeoutMs: number;
  commitIntervalMs: number;
  logger: ReturnType<typeof createLogger>;
  /** --metrics-port: serves a registry on it (logs the port bound). */
  serve(registry: Registry, ready: () => boolean): Promise<{ close(): Promise<void> } | undefined>;
}

/**
 * Kafka mode scaled out (`--stage`): one stage per process, until SIGTERM/SIGINT. A mode of
 * `trends` rather than three commands, because the stages share the window settings, the topic
 * names derived from --to-topic and their checks; each stage runs in its own consumer group
 * (GROUP-rekey, GROUP-aggregate, GROUP-merge).
 */
async function runScaled(p: Parsed, settings: TrendSettings, c: ScaledCommon): Promise<number> {
  const fromTopic = String(p.values['from-topic']);
  const { topics } = c;
  const repartitionPartitions = numberOption(p, 'repartition-partitions', { integer: true, min: 1, max: 10_000 })!;
  const connection = { brokers: c.brokers, logger: c.logger };
  if (p.values['create-topics'] === true) {
    const topicPartitions = numberOption(p, 'partitions', { integer: true, min: 1, max: 10_000 })!;
    const scaled = scaledTrendTopicSpecs({
      repartitionTopic: topics.repartition, repartitionPartitions, partitionChangelogTopic: topics.repartitionChangelog, partialsTopic: topics.partials, deadLetterTopic: topics.deadLetter,
      topicReplicationFactor: -1, topicRetentionMs: -1,
    });
    await createTopics(connection, [...trendsTopicSpecs(topics, topicPartitions), ...scaled]);
  }
  const partitionsOf = async (topic: string): Promise<number> => (await readTopicStates(connection, [topic])).get(topic)?.partitions ?? 0;
  const stage = { groupId: `${c.groupId}-${c.stage}`, transactionalId: (p.values['transactional-id'] as string | undefined) ?? `${c.groupId}-${c.stage}` };
  const common = { connection, lateTopic: topics.late, delivery: c.delivery, commitIntervalMs: c.commitIntervalMs, logger: c.logger, groupId: stage.groupId, transactionalId: stage.transactionalId };
  const running: { stop?: () => unknown } = {};
  let stopped = false;
  const onSignal = (): void => {
    stopped = true;
    void running.stop?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let server: { close(): Promise<void> } | undefined;
  try {
    let done: Promise<void>;
    if (c.stage === 'rekey') {
      const outPartitions = await partitionsOf(topics.repartition);
      if (outPartitions === 0) throw new ConfigError(`topic ${topics.repartition} (the repartition topic) does not exist; create it with --create-topics`);
      const metrics = createRekeyMetrics();
      server = await c.serve(metrics.registry, () => running.stop !== undefined);
      const rekey = await startTrendsRekey({
        logger: c.logger,
        repartitionPartitions: outPartitions,
        metrics,
        edges: {
          brokers: c.brokers,
          groupId: stage.groupId,
          inputTopic: fromTopic,
          outputTopic: topics.repartition,
          deadLetterTopic: topics.deadLetter,
          startFrom: 'earliest',
          delivery: c.delivery,
          maxInFlight: 2000,
          commitIntervalMs: c.commitIntervalMs,
          sessionTimeoutMs: 30_000,
          maxBrokerOutageMs: 300_000,
        },
      });
      running.stop = () => rekey.stop();
      done = rekey.done;
    } else if (c.stage === 'aggregate') {
      const sourcePartitions = await partitionsOf(fromTopic);
      if (sourcePartitions === 0) throw new ConfigError(`topic ${fromTopic} (--from-topic: the mentions topic the re-key stage reads) does not exist; its partitions are the watermark's sources`);
      const owner: { agg?: TrendsAggregate } = {};
      const metrics = createAggregateMetrics({ owned: () => owner.agg?.owned().length ?? 0 });
      server = await c.serve(metrics.registry, () => owner.agg !== undefined);
      const agg = (owner.agg = await startTrendsAggregate({
        ...common,
        settings,
        fromTopic: topics.repartition,
        sourcePartitions,
        partialsTopic: topics.partials,
        changelogTopic: topics.repartitionChangelog,
        idleTimeoutMs: c.idleTimeoutMs,
        metrics,
      }));
      running.stop = () => agg.stop();
      done = agg.done;
    } else {
      const partitions = await partitionsOf(topics.repartition);
      if (partitions === 0) throw new ConfigError(`topic ${topics.repartition} (--repartition-topic) does not exist; the merger waits for one partial per partition of it`);
      const owner: { merge?: TrendsMerge } = {};
      const metrics = createMergeMetrics({ waiting: () => owner.merge?.merger().openWindows ?? 0 });
      server = await c.serve(metrics.registry, () => owner.merge !== undefined);
      const merge = (owner.merge = await startTrendsMerge({
        ...common,
        partialsTopic: topics.partials,
        toTopic: topics.trends,
        changelogTopic: topics.changelog,
        partitions,
        top: settings.top,
        metrics,
      }));
      running.stop = () => merge.stop();
      done = merge.done;
    }
    if (stopped) void running.stop();
    await done;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await server?.close();
  }
  return 0;
}

/** The trends, late and changelog topics (trendTopicSpecs, plus the late topic shaped as the trends topic). */
function trendsTopicSpecs(topics: TrendTopicNames, topicPartitions: number): TopicSpec[] {
  const specs = trendTopicSpecs({ trendsTopic: topics.trends, changelogTopic: topics.changelog, topicPartitions, topicReplicationFactor: -1, topicRetentionMs: -1 });
  return [...specs, { ...specs[0]!, name: topics.late, holds: 'late and undecodable mention records' }];
}

/** Kafka mode: the aggregator on the mentions topic (pipeline/stream/trendsWorker.ts) until SIGTERM/SIGINT. */
async function runKafka(p: Parsed, settings: TrendSettings): Promise<number> {
  const brokers = String(p.values.brokers).split(',').map((b) => b.trim()).filter((b) => b !== '');
  if (brokers.length === 0) throw new ConfigError('--brokers must list at least one HOST:PORT');
  if (p.values.input !== undefined) throw new ConfigError('--input is the embedded mode: leave it out with --brokers');
  const idleTimeoutMs = durationOption(p, 'idle-timeout', 1) ?? Infinity;
  const commitIntervalMs = durationOption(p, 'commit-interval', 0)!;
  const delivery = String(p.values.delivery);
  if (delivery !== 'exactly-once' && delivery !== 'at-least-once') throw new ConfigError(`--delivery must be exactly-once or at-least-once, got ${JSON.stringify(delivery)}`);
  const topics = trendTopicNames(String(p.values['to-topic']), {
    late: p.values['late-topic'] as string | undefined,
    changelog: p.values['changelog-topic'] as string | undefined,
    repartition: p.values['repartition-topic'] as string | undefined,
    partials: p.values['partials-topic'] as string | undefined,
    deadLetter: p.values['dead-letter-topic'] as string | undefined,
  });
  const groupId = String(p.values.group);
  const stage = p.values.stage as string | undefined;
  if (stage !== undefined && !(SCALED_STAGES as readonly string[]).includes(stage)) throw new ConfigError(`--stage must be one of ${SCALED_STAGES.join(', ')}, got ${JSON.stringify(stage)}`);
  const logger = createLogger({ level: 'info', base: { command: 'trends', ...(stage === undefined ? {} : { stage }) } });
  const port = numberOption(p, 'metrics-port', { integer: true, min: 0, max: 65535 });
  const serve = async (registry: Registry, ready: () => boolean) => {
    if (port === undefined) return undefined;
    const server = await startOpsServer({ port, registry, health: () => true, ready });
    logger.info('metrics served', { url: `http://127.0.0.1:${server.port}/metrics` });
    return server;
  };
  if (stage !== undefined) return runScaled(p, settings, { brokers, stage: stage as ScaledStage, topics, groupId, delivery, idleTimeoutMs, commitIntervalMs, logger, serve });
  if (p.values['create-topics'] === true) {
    const topicPartitions = numberOption(p, 'partitions', { integer: true, min: 1, max: 10_000 })!;
    await createTopics({ brokers, logger }, trendsTopicSpecs(topics, topicPartitions));
  }
  const running: { worker?: TrendsWorker } = {};
  const metrics = port === undefined ? undefined : createTrendMetrics({ state: () => running.worker?.state() ?? new TrendState(settings) });
  const server = metrics === undefined ? undefined : await serve(metrics.registry, () => running.worker !== undefined);
  let stopped = false;
  const onSignal = (): void => {
    stopped = true;
    void running.worker?.stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const worker = (running.worker = await startTrendsWorker({
    connection: { brokers, logger },
    settings,
    fromTopic: String(p.values['from-topic']),
    toTopic: topics.trends,
    lateTopic: topics.late,
    changelogTopic: topics.changelog,
    groupId,
    delivery,
    transactionalId: (p.values['transactional-id'] as string | undefined) ?? `${groupId}-trends`,
    idleTimeoutMs,
    commitIntervalMs,
    logger,
    ...(metrics ? { metrics } : {}),
  }));
  if (stopped) void worker.stop();
  try {
    await worker.done;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await server?.close();
  }
  return 0;
}
