/**
 * The one kafkajs client factory: brokers, TLS, SASL and timeouts from one
 * options object (the worker passes its WorkerConfig, the topic tools and
 * tests the same fields), and kafkajs's log lines routed into the project's
 * logger. kafkajs is imported only under pipeline/kafka/ (the two Kafka edges).
 */
import { readFileSync } from 'node:fs';
import type { Kafka, KafkaConfig, RetryOptions, SASLOptions } from 'kafkajs';
import kafkajs from './kafkajs.js';
import { ConfigError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../ops/logger.js';
import { kafkaLogCreator, kafkaLogLevel } from './logAdapter.js';
import type { KafkaConnectionSettings } from './settings.js';

/**
 * How to reach Kafka (KafkaConnectionSettings: brokers, client id, TLS,
 * SASL, connection timeout), plus the logger kafkajs writes to (INFO
 * demoted to debug; default silent) and kafkajs's retry policy for every
 * request (default kafkajs's).
 */
export interface KafkaConnectionOptions extends KafkaConnectionSettings {
  logger?: Logger;
  retry?: RetryOptions;
  /**
   * Longest wait for a broker's answer to one request (ms); default
   * kafkajs's 30000. The preflight uses the connection timeout here, so a
   * host that accepts connections but never answers fails the start quickly.
   */
  requestTimeoutMs?: number;
}

// kafkajs warns about its v2 partitioner change on every producer unless told not to.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

/**
 * kafkajs lines that are expected in normal operation and say nothing
 * actionable: retried CONCURRENT_TRANSACTIONS right after a commit, an open
 * transaction being waited for, the rejoin notice and the heartbeat answers
 * of an ordinary rebalance, and kafkajs's warning about the sinks' bounded retries. They
 * are written at debug.
 */
const ROUTINE = [
  /concurrent operation on the same transaction/i,
  /There is an ongoing transaction/,
  /The group is rebalancing, re-joining/,
  // Every heartbeat while the group rebalances (the worker settles its records in flight meanwhile, pipeline/kafka/source.ts).
  /^Response Heartbeat\b.* The group is rebalancing, so a rejoin is needed/,
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

function tls(opts: KafkaConnectionOptions): KafkaConfig['ssl'] {
  const { sslCa, sslCert, sslKey } = opts;
  if ((sslCert === undefined) !== (sslKey === undefined)) throw new ConfigError('sslCert and sslKey go together: give both (client certificate authentication) or neither');
  if (sslCa === undefined && sslCert === undefined) return opts.ssl === true;
  return { ca: readPem(sslCa, 'TLS CA file'), cert: readPem(sslCert, 'TLS certificate'), key: readPem(sslKey, 'TLS key') };
}

function sasl(opts: KafkaConnectionOptions): SASLOptions | undefined {
  const { saslMechanism: mechanism, saslUsername: username, saslPassword: password } = opts;
  if (mechanism === undefined) return undefined;
  if (!username || password === undefined) throw new ConfigError(`SASL ${mechanism} needs a user name and a password (MENTIONFLOW_SASL_PASSWORD)`);
  return { mechanism, username, password } as SASLOptions;
}

/**
 * A kafkajs client for these connection options. Throws ConfigError for
 * options that cannot work (no brokers, a certificate without its key,
 * SASL without credentials, an unreadable PEM file) before connecting.
 */
export function createKafkaClient(opts: KafkaConnectionOptions): Kafka {
  const { brokers, clientId = 'mentionflow', connectionTimeoutMs = 3000, logger = silentLogger() } = opts;
  if (brokers.length === 0) throw new ConfigError('no Kafka brokers configured; set --brokers or MENTIONFLOW_BROKERS');
  if (!(connectionTimeoutMs > 0)) throw new ConfigError(`connectionTimeoutMs must be > 0, got ${connectionTimeoutMs}`);
  return new kafkajs.Kafka({
    clientId,
    brokers: [...brokers],
    ssl: tls(opts),
    sasl: sasl(opts),
    connectionTimeout: connectionTimeoutMs,
    authenticationTimeout: Math.max(connectionTimeoutMs, 3000),
    // kafkajs INFO lines end up at debug: ask for them only when debug is on.
    logLevel: kafkaLogLevel(logger.level === 'info' ? 'warn' : logger.level),
    logCreator: kafkaLogCreator(kafkaJsLogger(logger)),
    ...(opts.retry === undefined ? {} : { retry: opts.retry }),
    ...(opts.requestTimeoutMs === undefined ? {} : { requestTimeout: opts.requestTimeoutMs }),
  });
}
