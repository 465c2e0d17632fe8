/**
 * Opens the Kafka source and sink of a worker, in the order the delivery
 * protocol needs, after a fail-fast connectivity check.
 */
import { ConfigError } from '../../common/errors.js';
import type { PipelineMetrics } from '../ops/metrics.js';
import type { Logger } from '../ops/logger.js';
import type { Edges } from '../core/ports.js';
import { createKafkaClient } from './client.js';
import { preflight } from './preflight.js';
import { DEFAULT_MAX_RECORD_BYTES, MIN_MAX_RECORD_BYTES } from '../../operators/encodeOutputs.js';
import { DEFAULT_MAX_REQUEST_BYTES, KafkaSink, RECORD_OVERHEAD_BYTES } from './sink.js';
import { KafkaSource } from './source.js';
import { TransactionalKafkaSink } from './transactionalSink.js';
import { BrokerOutage } from './outage.js';
import { GroupOffsetReader } from './groupOffsets.js';
import type { KafkaEdgesSettings } from './settings.js';

/** What openKafkaEdges needs besides the configuration: a logger, and metrics to update. */
export interface KafkaEdgesDeps {
  logger: Logger;
  metrics?: PipelineMetrics;
  /** Exactly-once: called once per committed transaction (for a metric); must not throw. */
  onTransaction?: () => void;
}

/** Kafka's default max.message.bytes (message.max.bytes), used when a topic's cannot be read. */
const KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/**
 * The largest output record (key + value bytes) both output topics accept,
 * from their max.message.bytes; ConfigError when that leaves no room for a
 * dead letter without its payload.
 */
function maxRecordBytesFor(config: KafkaEdgesSettings, maxMessageBytes: ReadonlyMap<string, number>): number {
  const limits = [config.outputTopic, config.deadLetterTopic].map((t) => ({ topic: t, bytes: maxMessageBytes.get(t) ?? KAFKA_DEFAULT_MAX_MESSAGE_BYTES }));
  const tightest = limits.reduce((a, b) => (b.bytes < a.bytes ? b : a));
  const bytes = tightest.bytes - RECORD_OVERHEAD_BYTES;
  if (bytes < MIN_MAX_RECORD_BYTES) {
    throw new ConfigError(
      `topic ${tightest.topic} accepts records of at most ${tightest.bytes} bytes (max.message.bytes); the worker needs at least ${MIN_MAX_RECORD_BYTES + RECORD_OVERHEAD_BYTES} ` +
        `(room for a dead letter without its payload); raise it, e.g. kafka-configs.sh --alter --entity-type topics --entity-name ${tightest.topic} --add-config max.message.bytes=1048588`,
    );
  }
  return Math.min(bytes, DEFAULT_MAX_RECORD_BYTES);
}

/** Opens the Kafka source and sink for the worker's settings (after checking the brokers and topics): the Edges to run mentionStream between. ConfigError or KafkaEdgeError when the brokers or topics are not usable. */
export async function openKafkaEdges(config: KafkaEdgesSettings, deps: KafkaEdgesDeps): Promise<Edges> {
  const { logger, metrics } = deps;
  const { maxMessageBytes } = await preflight(config, { topics: [config.inputTopic, config.outputTopic, config.deadLetterTopic] });
  const maxRecordBytes = maxRecordBytesFor(config, maxMessageBytes);
  // A produce request holds at most one record batch per partition, each within its topic's limit.
  const maxRequestBytes = Math.min(DEFAULT_MAX_REQUEST_BYTES, maxRecordBytes);
  const kafka = createKafkaClient({ ...config, logger });
  const exactlyOnce = config.delivery === 'exactly-once';
  // One clock per side, so that reads going well cannot hide writes failing (or the reverse).
  const outage = (side: 'read' | 'write'): BrokerOutage =>
    new BrokerOutage({
      boundMs: config.maxBrokerOutageMs,
      logger: logger.child({ component: `kafka-${side}` }),
      onChange: (up) => metrics?.setBrokerReachable(side, up),
      onExpired: (err) => source.fail(err),
    });
  const readOutage = outage('read');
  const writeOutage = outage('write');
  const source = new KafkaSource({
    kafka,
    groupId: config.groupId,
    topic: config.inputTopic,
    startFrom: config.startFrom,
    maxInFlight: config.maxInFlight,
    commit: exactlyOnce ? 'transaction' : 'consumer',
    commitIntervalMs: config.commitIntervalMs,
    sessionTimeoutMs: config.sessionTimeoutMs,
    // A third of the shutdown deadline, which also covers the drain and the disconnect.
    closeRejoinMs: Math.min(10_000, Math.floor((config.shutdownTimeoutMs ?? 30_000) / 3)),
    logger,
    outage: readOutage,
    onLag: metrics === undefined ? undefined : (topic, partition, lag) => metrics.setLag(topic, partition, lag),
    onAssigned: metrics === undefined ? undefined : (topic, partitions) => metrics.retainLag(topic, partitions),
  });
  const topics = { mentions: config.outputTopic, deadletter: config.deadLetterTopic };
  const transactionalIdPrefix = config.transactionalIdPrefix ?? config.groupId;
  // One admin connection for every claim's committed-offset read (exactly-once only).
  const groupOffsets = exactlyOnce ? new GroupOffsetReader(kafka, config.groupId) : undefined;
  const sink = groupOffsets !== undefined
    ? new TransactionalKafkaSink({
        kafka,
        topics,
        transactionalIdPrefix,
        offsets: source.transactionOffsets(),
        committedOffsets: (partitions) => groupOffsets.read(partitions),
        // Shorter than the session: a worker paused or cut off long enough
        // for its partitions to move has its open transaction aborted (and is
        // fenced) even before their new owner claims them.
        transactionTimeoutMs: Math.floor((config.sessionTimeoutMs * 2) / 3),
        outage: writeOutage,
        logger,
        maxRequestBytes,
        ...(deps.onTransaction === undefined ? {} : { onCommitted: deps.onTransaction }),
      })
    : new KafkaSink({ kafka, topics, outage: writeOutage, logger, maxRequestBytes });
  // Exactly-once: the sink registers each input partition's transactional id
  // when the source claims the partition, before reading it (TransactionalKafkaSink.claim).
  await sink.connect();
  try {
    await source.connect();
  } catch (err) {
    await sink.close();
    await groupOffsets?.close();
    throw err;
  }
  logger.info('connected to Kafka', {
    brokers: config.brokers,
    delivery: config.delivery,
    input: config.inputTopic,
    groupId: config.groupId,
    ...(exactlyOnce ? { transactionalIdPrefix } : {}),
  });
  return {
    source,
    sink,
    maxRecordBytes,
    ready: () => source.ready() && readOutage.reachable() && writeOutage.reachable(),
    close: async () => {
      readOutage.dispose();
      writeOutage.dispose();
      await source.close();
      await sink.close();
      await groupOffsets?.close();
    },
  };
}
