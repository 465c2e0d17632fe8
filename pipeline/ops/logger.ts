/**
 * Structured logs: one JSON object per line (or a readable line with
 * format 'pretty'), written to stderr by default so stdout stays free for
 * command output.
 *
 *   {"time":"2024-05-01T08:00:00.000Z","level":"info","msg":"batch tagged","size":64}
 *
 * Fields from `base`, `child(...)` and the call are merged (later wins); the
 * keys time, level and msg are reserved, so a field with one of those names
 * is written as _time, _level or _msg. Error values are written as
 * {name, message, cause, ...context} with the stack only when the level is
 * 'debug'. Buffers, bigints and cycles are made JSON-safe. A logger never
 * throws: a failing stream loses the line, not the process.
 */
import { ConfigError } from '../../common/errors.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
/** A log level, lowest first: debug, info, warn, error. */
export type LogLevel = (typeof LOG_LEVELS)[number];
/** The log line format: JSON lines, or pretty for a terminal. */
export type LogFormat = 'json' | 'pretty';

/** Options of createLogger. */
export interface LoggerOptions {
  /** Lowest level written; lower levels are dropped. */
  level: LogLevel;
  /** Where lines go; default process.stderr. */
  stream?: NodeJS.WritableStream;
  /** Fields added to every line (e.g. { service: 'mentionflow' }). */
  base?: Record<string, unknown>;
  /** 'json' (default): JSON lines; 'pretty': `time LEVEL msg key=value ...` for a terminal. */
  format?: LogFormat;
  /** Clock for the time field; for tests. Default `() => new Date()`. */
  now?: () => Date;
}

/** Writes one log line: a message and optional fields. */
export type LogMethod = (msg: string, fields?: object) => void;

/** A structured logger (one line per call), as the worker and the Kafka edges use it. */
export interface Logger {
  readonly level: LogLevel;
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  /** A logger writing to the same place with `fields` added to every line. */
  child(fields: Record<string, unknown>): Logger;
  /** Whether a line at `level` would be written (skip building costly fields otherwise). */
  isLevelEnabled(level: LogLevel): boolean;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const RESERVED = new Set(['time', 'level', 'msg']);
const MAX_DEPTH = 8;

/** Parses a level name (e.g. from --log-level); ConfigError otherwise. */
export function parseLogLevel(value: string): LogLevel {
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new ConfigError(`log level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(value)}`);
}

/** An Error as plain data: name, message, primitive context fields, cause; stack only when asked. */
export function serializeError(err: Error, withStack: boolean, seen = new WeakSet<object>(), depth = 0): Record<string, unknown> {
  seen.add(err);
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  for (const [key, value] of Object.entries(err)) {
    if (key === 'stack' || key === 'cause' || key in out) continue;
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) out[key] = value;
  }
  if (err.cause !== undefined) out.cause = toLoggable(err.cause, withStack, seen, depth + 1);
  if (withStack && err.stack) out.stack = err.stack;
  seen.delete(err);
  return out;
}

/** A JSON-safe copy of `value`. */
function toLoggable(value: unknown, withStack: boolean, seen: WeakSet<object>, depth: number): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function' || typeof value === 'symbol') return String(value);
  if (value === null || typeof value !== 'object') return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Object]';
  if (value instanceof Error) return serializeError(value, withStack, seen, depth);
  if (Buffer.isBuffer(value)) return `<Buffer ${value.length} bytes>`;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => toLoggable(v, withStack, seen, depth + 1));
    if (value instanceof Map) return toLoggable(Object.fromEntries(value), withStack, seen, depth);
    if (value instanceof Set) return toLoggable([...value], withStack, seen, depth);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toLoggable(v, withStack, seen, depth + 1);
    return out;
  } finally {
    seen.delete(value);
  }
}

function prettyValue(value: unknown): string {
  if (typeof value === 'string' && /^[^\s"=]+$/u.test(value)) return value;
  return JSON.stringify(value);
}

/** A logger writing JSON lines (or pretty lines) at `level` and above to a stream (default stderr). */
export function createLogger(opts: LoggerOptions): Logger {
  const { level, stream = process.stderr, base = {}, format = 'json', now = () => new Date() } = opts;
  parseLogLevel(level);
  if (format !== 'json' && format !== 'pretty') throw new ConfigError(`log format must be json or pretty, got ${JSON.stringify(format)}`);
  const threshold = RANK[level];
  const withStack = level === 'debug';

  const write = (lineLevel: LogLevel, msg: string, fields: object | undefined): void => {
    if (RANK[lineLevel] < threshold) return;
    try {
      const own = fields instanceof Error ? { err: fields } : (fields ?? {});
      const merged = toLoggable({ ...base, ...own }, withStack, new WeakSet(), 0) as Record<string, unknown>;
      const record: Record<string, unknown> = { time: now().toISOString(), level: lineLevel, msg: String(msg) };
      for (const [k, v] of Object.entries(merged)) record[RESERVED.has(k) ? `_${k}` : k] = v;
      let line: string;
      if (format === 'json') {
        line = JSON.stringify(record);
      } else {
        const rest = Object.entries(record)
          .filter(([k]) => !RESERVED.has(k))
          .map(([k, v]) => `${k}=${prettyValue(v)}`);
        line = [record.time, lineLevel.toUpperCase().padEnd(5), record.msg, ...rest].join(' ');
      }
      stream.write(`${line}\n`);
    } catch {
      // A log line must never take the pipeline down.
    }
  };

  const logger: Logger = {
    level,
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    child: (fields) => createLogger({ ...opts, base: { ...base, ...fields } }),
    isLevelEnabled: (l) => RANK[l] >= threshold,
  };
  return logger;
}

/** A logger that writes nothing. */
export function silentLogger(): Logger {
  const noop: LogMethod = () => undefined;
  const logger: Logger = {
    level: 'error',
    debug: noop,
    info: noop,
    warn: noop,
    error: noop,
    child: () => logger,
    isLevelEnabled: () => false,
  };
  return logger;
}
