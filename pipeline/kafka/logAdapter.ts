/**
 * Routes kafkajs's own log lines into a mentionflow Logger: pass
 * `logCreator: kafkaLogCreator(logger)` and `logLevel: kafkaLogLevel(logger.level)`
 * to `new Kafka(...)`. Lines carry component "kafkajs", the kafkajs namespace
 * (Consumer, Producer, Connection, ...) and the entry's extra fields; the stack
 * kafkajs attaches to errors is kept only at debug level.
 */
import type { LogEntry, logCreator, logLevel } from 'kafkajs';
import type { Logger, LogLevel } from '../ops/logger.js';

/** kafkajs's logLevel numbers (its enum is not imported, so no runtime dependency here). */
const KAFKA_LEVEL = { NOTHING: 0, ERROR: 1, WARN: 2, INFO: 4, DEBUG: 5 } as const;

/** The kafkajs logLevel that lets through exactly what `level` would write. */
export function kafkaLogLevel(level: LogLevel): logLevel {
  const map: Record<LogLevel, number> = { error: KAFKA_LEVEL.ERROR, warn: KAFKA_LEVEL.WARN, info: KAFKA_LEVEL.INFO, debug: KAFKA_LEVEL.DEBUG };
  return map[level] as logLevel;
}

export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, stack, ...extra } = log;
      const fields: Record<string, unknown> = { component: 'kafkajs', namespace, ...extra };
      if (stack !== undefined && logger.level === 'debug') fields.stack = stack;
      const msg = String(message);
      if (level === KAFKA_LEVEL.ERROR) logger.error(msg, fields);
      else if (level === KAFKA_LEVEL.WARN) logger.warn(msg, fields);
      else if (level === KAFKA_LEVEL.INFO) logger.info(msg, fields);
      else if (level === KAFKA_LEVEL.DEBUG) logger.debug(msg, fields);
    };
}
