/**
 * Fail fast before the worker starts: one admin round trip with a short retry
 * budget, so an unreachable broker, a TLS/SASL mistake or a missing topic is
 * a one-line error within seconds rather than a consumer retrying forever.
 */
import { ConfigError, KafkaEdgeError } from '../../common/errors.js';
import { silentLogger } from '../ops/logger.js';
import { createKafkaClient, type KafkaConnectionOptions } from './client.js';
import { isRetriableKafkaError, rootMessage } from './errors.js';

export interface PreflightOptions {
  /** Topics that must exist. */
  topics: readonly string[];
}

/**
 * Connects an admin client (two attempts, each bounded by
 * connectionTimeoutMs), checks the topics exist, and disconnects.
 * Throws KafkaEdgeError (cannot connect) or ConfigError (missing topics).
 */
export async function preflight(config: KafkaConnectionOptions, opts: PreflightOptions): Promise<void> {
  const kafka = createKafkaClient({ ...config, logger: silentLogger(), retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1000 } });
  const admin = kafka.admin();
  const where = config.brokers.join(',');
  try {
    let existing: string[];
    try {
      await admin.connect();
      existing = await admin.listTopics();
    } catch (err) {
      throw new KafkaEdgeError(
        `cannot reach Kafka at ${where}: ${rootMessage(err)}; check --brokers, the TLS/SASL settings, and that the broker is up`,
        { cause: err, retriable: isRetriableKafkaError(err) },
      );
    }
    const missing = opts.topics.filter((t) => !existing.includes(t));
    if (missing.length > 0) {
      throw new ConfigError(
        `topic${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found on ${where}; create ${missing.length > 1 ? 'them' : 'it'} first ` +
          `(e.g. kafka-topics.sh --create --topic ${missing[0]}) or fix --input-topic/--output-topic/--dead-letter-topic`,
      );
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
