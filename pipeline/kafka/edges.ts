/**
 * Opens the Kafka source and sink of a worker, in the order the delivery
 * protocol needs, after a fail-fast connectivity check.
 */
import type { PipelineMetrics } from '../ops/metrics.js';
import type { Logger } from '../ops/logger.js';
import type { WorkerConfig } from '../stream/config.js';
import type { Edges } from '../stream/ports.js';
import { createKafkaClient } from './client.js';
import { preflight } from './preflight.js';
import { KafkaSink } from './sink.js';
import { KafkaSource } from './source.js';
import { TransactionalKafkaSink } from './transactionalSink.js';
import { claimTransactionalId } from './transactionalId.js';

export interface KafkaEdgesDeps {
  logger: Logger;
  metrics?: PipelineMetrics;
}

export async function openKafkaEdges(config: WorkerConfig, deps: KafkaEdgesDeps): Promise<Edges> {
  const { logger, metrics } = deps;
  await preflight(config, { topics: [config.inputTopic, config.outputTopic, config.deadLetterTopic] });
  const kafka = createKafkaClient({ ...config, logger });
  const exactlyOnce = config.delivery === 'exactly-once';
  const source = new KafkaSource({
    kafka,
    groupId: config.groupId,
    topic: config.inputTopic,
    startFrom: config.startFrom,
    maxInFlight: config.maxInFlight,
    commit: exactlyOnce ? 'transaction' : 'consumer',
    commitIntervalMs: config.commitIntervalMs,
    sessionTimeoutMs: config.sessionTimeoutMs,
    logger,
    onLag: metrics === undefined ? undefined : (topic, partition, lag) => metrics.setLag(topic, partition, lag),
  });
  const topics = { mentions: config.outputTopic, deadletter: config.deadLetterTopic };
  const claim = exactlyOnce && config.transactionalId === undefined ? await claimTransactionalId({ groupId: config.groupId }) : undefined;
  const transactionalId = config.transactionalId ?? claim?.transactionalId ?? '';
  const sink = exactlyOnce
    ? new TransactionalKafkaSink({ kafka, topics, transactionalId, offsets: source.transactionOffsets(), logger })
    : new KafkaSink({ kafka, topics, logger });
  // The producer first: in exactly-once mode registering the transactional id
  // aborts what a predecessor left open before the consumer reads its offsets.
  try {
    await sink.connect();
    try {
      await source.connect();
    } catch (err) {
      await sink.close();
      throw err;
    }
  } catch (err) {
    await claim?.release();
    throw err;
  }
  logger.info('connected to Kafka', {
    brokers: config.brokers,
    delivery: config.delivery,
    input: config.inputTopic,
    groupId: config.groupId,
    ...(exactlyOnce ? { transactionalId } : {}),
  });
  return {
    source,
    sink,
    ready: () => source.ready(),
    close: async () => {
      await source.close();
      await sink.close();
      await claim?.release();
    },
  };
}
