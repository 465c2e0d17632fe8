/**
 * withRetry: calls an async function until it succeeds, waiting between
 * attempts with exponential backoff and jitter (after kafkajs's retrier).
 * It stops at once on an error whose `retriable` flag is not true (the
 * project's errors and kafkajs's carry one): retrying a wrong password or an
 * untrusted certificate would only delay the message.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { ConfigError } from './errors.js';

export interface RetryPolicy {
  /** Retries after the first attempt; default 3. */
  retries?: number;
  /** Wait before the first retry, ms; default 300. */
  initialDelayMs?: number;
  /** Longest wait, ms; default 3000. */
  maxDelayMs?: number;
  /** Growth of the wait from one retry to the next; default 2. */
  multiplier?: number;
  /** Spread of each wait, 0..1: it is drawn from wait × [1 - jitter, 1 + jitter]; default 0.2. */
  jitter?: number;
  /** Called before each wait with the error, the retry's number (1-based) and the wait in ms. */
  onRetry?: (err: unknown, retry: number, waitMs: number) => void;
  /** Aborting ends the wait and rethrows the last error. */
  signal?: AbortSignal;
  /** For tests: how to wait (default: a timer) and the random source in [0, 1) (default Math.random). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

/** Whether an error says that trying again may succeed: its `retriable` flag is true. */
export function isRetriable(err: unknown): boolean {
  return err !== null && typeof err === 'object' && (err as { retriable?: unknown }).retriable === true;
}

function check(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!(value >= min && value <= max)) throw new ConfigError(`retry policy: ${name} must be in ${min}..${max}, got ${value}`);
}

const timer = (ms: number, signal?: AbortSignal): Promise<void> => delay(ms, undefined, { signal }).catch(() => undefined);

/** The wait before retry `attempt` + 1 (attempt 0-based): min(maxDelayMs, initialDelayMs × multiplier^attempt), spread by `jitter`. */
export function retryWait(
  attempt: number,
  policy: Pick<RetryPolicy, 'initialDelayMs' | 'maxDelayMs' | 'multiplier' | 'jitter' | 'random'> = {},
): number {
  const { initialDelayMs = 300, maxDelayMs = 3000, multiplier = 2, jitter = 0.2, random = Math.random } = policy;
  const base = Math.min(maxDelayMs, initialDelayMs * multiplier ** Math.min(attempt, 64));
  return Math.round(base * (1 + jitter * (2 * random() - 1)));
}

/**
 * Runs `fn(attempt)` (attempt 0, 1, ...) until it resolves, the error is not
 * retriable, `retries` retries have failed, or `signal` aborts; then
 * rejects with the last error. The wait before retry n is
 * min(maxDelayMs, initialDelayMs × multiplier^(n-1)), spread by `jitter`.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy = {}): Promise<T> {
  const { retries = 3, initialDelayMs = 300, maxDelayMs = 3000, multiplier = 2, jitter = 0.2, onRetry, signal, sleep = timer, random = Math.random } = policy;
  check('retries', retries, 0);
  if (!Number.isInteger(retries)) throw new ConfigError(`retry policy: retries must be an integer, got ${retries}`);
  check('initialDelayMs', initialDelayMs, 0);
  check('maxDelayMs', maxDelayMs, initialDelayMs);
  check('multiplier', multiplier, 1);
  check('jitter', jitter, 0, 1);
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= retries || !isRetriable(err) || signal?.aborted) throw err;
      const waitMs = retryWait(attempt, { initialDelayMs, maxDelayMs, multiplier, jitter, random });
      onRetry?.(err, attempt + 1, waitMs);
      await sleep(waitMs, signal);
      if (signal?.aborted) throw err;
    }
  }
}
