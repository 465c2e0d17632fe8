/**
 * The kafkajs client behind the small topic tools (topicAdmin, topicWriter,
 * topicReader) that the `produce` and `tail` commands and the integration
 * tests use. Callers pass plain connection options and never see kafkajs.
 */
import { Kafka } from 'kafkajs';
import { ConfigError, KafkaEdgeError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../ops/logger.js';
import { kafkaLogCreator, kafkaLogLevel } from './logAdapter.js';

export interface KafkaConnectionOptions {
  /** Bootstrap brokers, host:port each. */
  brokers: readonly string[];
  /** Client id sent to the brokers; default 'mentionflow-tools'. */
  clientId?: string;
  /** Receives kafkajs's log lines at the logger's level; default silent. */
  logger?: Logger;
  /** Connection timeout in ms; default 3000. */
  connectionTimeoutMs?: number;
}

const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[^\s:,[\]]+):([0-9]{1,5})$/;

/** Splits and checks a comma-separated broker list ("host:port,host:port"). */
export function parseBrokers(list: string): string[] {
  const brokers = list
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  if (brokers.length === 0) throw new ConfigError('no Kafka brokers given; pass host:port[,host:port...]');
  for (const b of brokers) {
    const m = HOST_PORT.exec(b);
    if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new ConfigError(`bad Kafka broker address ${JSON.stringify(b)}; expected host:port, e.g. 127.0.0.1:9092`);
    }
  }
  return brokers;
}

/** Env var consulted when no broker list is given on the command line. */
export const BROKERS_ENV = 'MENTIONFLOW_BROKERS';

/** The --brokers value, else $MENTIONFLOW_BROKERS, parsed; ConfigError when neither is set. */
export function resolveBrokers(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const list = flag ?? env[BROKERS_ENV];
  if (list === undefined || list.trim() === '') {
    throw new ConfigError(`no Kafka brokers: pass --brokers host:port[,host:port...] or set ${BROKERS_ENV}`);
  }
  return parseBrokers(list);
}

export function createToolKafka(opts: KafkaConnectionOptions): Kafka {
  const { brokers, clientId = 'mentionflow-tools', logger = silentLogger(), connectionTimeoutMs = 3000 } = opts;
  if (brokers.length === 0) throw new ConfigError('no Kafka brokers given');
  return new Kafka({
    clientId,
    brokers: [...brokers],
    connectionTimeout: connectionTimeoutMs,
    logCreator: kafkaLogCreator(logger),
    logLevel: kafkaLogLevel(logger.level),
  });
}

/** Wraps a kafkajs failure as a KafkaEdgeError saying what was being done. */
export function edgeError(action: string, err: unknown): KafkaEdgeError {
  if (err instanceof KafkaEdgeError) return err;
  const e = err as { message?: string; retriable?: boolean };
  return new KafkaEdgeError(`${action}: ${e?.message ?? String(err)}`, { cause: err, retriable: e?.retriable === true });
}
