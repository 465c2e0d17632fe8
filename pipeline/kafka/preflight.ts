/**
 * Fail fast before the worker starts: one admin round trip with a short retry
 * budget, so an unreachable broker, a TLS/SASL mistake or a missing topic is
 * a one-line error within seconds rather than a consumer retrying forever.
 */
import kafkajs from './kafkajs.js';
import { ConfigError, KafkaEdgeError } from '../../common/errors.js';
import { silentLogger } from '../ops/logger.js';
import { createKafkaClient, type KafkaConnectionOptions } from './client.js';
import { isRetriableKafkaError, rootMessage } from './errors.js';

export interface PreflightOptions {
  /** Topics that must exist. */
  topics: readonly string[];
}

/** What the preflight learnt: each topic's largest accepted record (max.message.bytes). */
export interface PreflightResult {
  maxMessageBytes: Map<string, number>;
}

/**
 * Connects an admin client (two attempts, each bounded by
 * connectionTimeoutMs), checks the topics exist, reads their
 * max.message.bytes, and disconnects.
 * Throws KafkaEdgeError (cannot connect) or ConfigError (missing topics).
 */
export async function preflight(config: KafkaConnectionOptions, opts: PreflightOptions): Promise<PreflightResult> {
  // Two attempts, each waiting at most a connection timeout for the connection and for each answer.
  const timeout = config.connectionTimeoutMs ?? 3000;
  const kafka = createKafkaClient({
    ...config,
    logger: silentLogger(),
    retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1000 },
    requestTimeoutMs: Math.max(timeout, 1000),
  });
  const admin = kafka.admin();
  const where = config.brokers.join(',');
  try {
    let existing: string[];
    try {
      await admin.connect();
      existing = await admin.listTopics();
    } catch (err) {
      // kafkajs says only "Broker not connected" when a connection was accepted but never answered.
      const reason = /^Broker not connected$/.test(rootMessage(err))
        ? `the connection was accepted but no Kafka answer came within ${Math.max(timeout, 1000)} ms (not a Kafka listener, or one that expects TLS: --ssl)`
        : rootMessage(err);
      throw new KafkaEdgeError(
        `cannot reach Kafka at ${where}: ${reason}; check --brokers, the TLS/SASL settings, and that the broker is up`,
        { cause: err, retriable: isRetriableKafkaError(err) },
      );
    }
    const missing = opts.topics.filter((t) => !existing.includes(t));
    if (missing.length > 0) {
      throw new ConfigError(
        `topic${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found on ${where}; create ${missing.length > 1 ? 'them' : 'it'} with ` +
          '`mentionflow topics create` (same options as run), or pass --create-topics, or fix --input-topic/--output-topic/--dead-letter-topic',
      );
    }
    let described;
    try {
      described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: opts.topics.map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
      });
    } catch (err) {
      throw new KafkaEdgeError(`cannot read the configuration of topics ${opts.topics.join(', ')} on ${where}: ${rootMessage(err)}`, { cause: err, retriable: isRetriableKafkaError(err) });
    }
    const maxMessageBytes = new Map<string, number>();
    for (const r of described.resources) {
      const value = Number(r.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
      if (Number.isInteger(value) && value > 0) maxMessageBytes.set(r.resourceName, value);
    }
    return { maxMessageBytes };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
