/**
 * The kafkajs client of the worker: brokers, TLS, SASL and timeouts from the
 * WorkerConfig, and kafkajs's log lines routed into the project's logger.
 * kafkajs is imported only under pipeline/kafka/ (the two Kafka edges).
 */
import { readFileSync } from 'node:fs';
import { Kafka } from 'kafkajs';
import type { KafkaConfig, RetryOptions, SASLOptions } from 'kafkajs';
import { ConfigError } from '../../common/errors.js';
import type { Logger } from '../ops/logger.js';
import type { WorkerConfig } from '../stream/config.js';
import { kafkaLogCreator, kafkaLogLevel } from './logAdapter.js';

export type KafkaClientConfig = Pick<
  WorkerConfig,
  'brokers' | 'clientId' | 'ssl' | 'sslCa' | 'sslCert' | 'sslKey' | 'saslMechanism' | 'saslUsername' | 'saslPassword' | 'connectionTimeoutMs'
>;

export interface KafkaClientOptions {
  logger: Logger;
  /** Retry policy of every request of this client (kafkajs defaults otherwise). */
  retry?: RetryOptions;
}

// kafkajs warns about its v2 partitioner change on every producer unless told not to.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

/**
 * kafkajs lines that are expected in normal operation and say nothing
 * actionable: retried CONCURRENT_TRANSACTIONS right after a commit, an open
 * transaction being waited for, the rejoin notice of an ordinary
 * rebalance, and kafkajs's warning about the sinks' bounded retries. They
 * are written at debug.
 */
const ROUTINE = [
  /concurrent operation on the same transaction/i,
  /There is an ongoing transaction/,
  /The group is rebalancing, re-joining/,
  // The sinks bound kafkajs's retries on purpose: they retry on a fresh producer themselves (pipeline/kafka/outage.ts).
  /Limiting retries for the idempotent producer/,
];

/**
 * The logger kafkajs writes to: its INFO lines (joins, pauses, fetches) are
 * demoted to debug, and so are the routine lines above.
 */
export function kafkaJsLogger(logger: Logger): Logger {
  const routine = (msg: string, fields?: object): boolean => {
    const error = (fields as { error?: unknown } | undefined)?.error;
    const text = `${msg} ${typeof error === 'string' ? error : ''}`;
    return ROUTINE.some((re) => re.test(text));
  };
  return {
    ...logger,
    info: (msg, fields) => logger.debug(msg, fields),
    warn: (msg, fields) => (routine(msg, fields) ? logger.debug : logger.warn)(msg, fields),
    error: (msg, fields) => (routine(msg, fields) ? logger.debug : logger.error)(msg, fields),
    child: (fields) => kafkaJsLogger(logger.child(fields)),
  };
}

function readPem(file: string | undefined, what: string): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function sasl(config: KafkaClientConfig): SASLOptions | undefined {
  const { saslMechanism: mechanism, saslUsername: username = '', saslPassword: password = '' } = config;
  if (mechanism === undefined) return undefined;
  return { mechanism, username, password } as SASLOptions;
}

/** A kafkajs client for the worker's settings. */
export function createKafkaClient(config: KafkaClientConfig, opts: KafkaClientOptions): Kafka {
  if (config.brokers.length === 0) throw new ConfigError('no Kafka brokers configured; set --brokers or MENTIONFLOW_BROKERS');
  const tls =
    config.sslCa !== undefined || config.sslCert !== undefined
      ? { ca: readPem(config.sslCa, 'TLS CA file'), cert: readPem(config.sslCert, 'TLS certificate'), key: readPem(config.sslKey, 'TLS key') }
      : config.ssl;
  const settings: KafkaConfig = {
    clientId: config.clientId,
    brokers: config.brokers,
    ssl: tls,
    sasl: sasl(config),
    connectionTimeout: config.connectionTimeoutMs,
    authenticationTimeout: Math.max(config.connectionTimeoutMs, 3000),
    // kafkajs INFO lines end up at debug: ask for them only when debug is on.
    logLevel: kafkaLogLevel(opts.logger.level === 'info' ? 'warn' : opts.logger.level),
    logCreator: kafkaLogCreator(kafkaJsLogger(opts.logger)),
    ...(opts.retry === undefined ? {} : { retry: opts.retry }),
  };
  return new Kafka(settings);
}
