/**
 * Riding through broker outages. One BrokerOutage per worker, shared by its
 * source and sink: the first transient failure of a broker round trip starts
 * the outage clock, the next success stops it. While it runs the worker is
 * not ready (/readyz 503) and keeps what it has in flight; writes are retried
 * with exponential backoff (withBrokerRetry). Once the outage has lasted
 * longer than the bound, the next failure is fatal: the worker exits non-zero
 * and its successor resumes from the committed offsets (nothing is lost).
 *
 * Which failures are transient: what isRetriableKafkaError calls retriable
 * (connection and request-timeout errors, protocol errors Kafka marks
 * retriable: leader or coordinator moving or loading, ...), the few kafkajs
 * errors an outage causes without that flag (no coordinator or metadata
 * yet), and the idempotent/transactional producer state errors a restarted
 * broker causes (unknown producer id, out-of-order sequence, invalid
 * transaction state), which a fresh producer clears. Not transient: fencing,
 * authentication and authorisation, records the broker rejects (too large,
 * invalid), and anything not from kafkajs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaEdgeError } from '../../common/errors.js';
import type { Logger } from '../ops/logger.js';
import { retryWait } from '../../common/retry.js';
import { errorChain, isFenced, isRetriableKafkaError, kafkaEdgeError, rootMessage } from './errors.js';

/**
 * kafkajs errors a broker outage causes that it does not flag retriable
 * (isRetriableKafkaError follows kafkajs's flags): no coordinator or metadata
 * yet, a lock timeout while the broker was away.
 */
const OUTAGE_CLASSES = new Set([
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSLockTimeout',
]);

/** Producer state a broker restart may invalidate; a fresh producer clears it. */
const PRODUCER_STATE = new Set(['UNKNOWN_PRODUCER_ID', 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'INVALID_PRODUCER_ID_MAPPING', 'INVALID_TXN_STATE']);

/** Whether `err` says the producer's id or sequence state is gone (a fresh producer is needed). */
export function isProducerStateError(err: unknown): boolean {
  return errorChain(err).some((e) => e.type !== undefined && PRODUCER_STATE.has(e.type));
}

/** Whether retrying the broker round trip (with a fresh producer if need be) can succeed once the broker is back. */
export function isTransient(err: unknown): boolean {
  if (isFenced(err)) return false;
  if (isRetriableKafkaError(err) || isProducerStateError(err)) return true;
  return errorChain(err).some((e) => e.name !== undefined && OUTAGE_CLASSES.has(e.name));
}

/** Delay before retry `attempt` (0-based): 200 ms doubling to 5 s, with +-25% jitter. */
export function retryDelay(attempt: number): number {
  return retryWait(attempt, { initialDelayMs: 200, maxDelayMs: 5000, jitter: 0.25 });
}

export interface BrokerOutageOptions {
  /** Longest outage ridden through (ms, >= 0). */
  boundMs: number;
  logger: Logger;
  /** Called when the broker becomes unreachable (false) or reachable again (true). */
  onChange?: (reachable: boolean) => void;
  /**
   * Called once an outage has lasted longer than the bound, at that moment,
   * even while an attempt is still under way (a single kafkajs attempt can
   * take tens of seconds): the worker ends its stream there.
   */
  onExpired?: (err: KafkaEdgeError) => void;
  /** Monotonic clock in ms; default performance.now. */
  now?: () => number;
}

export class BrokerOutage {
  private since: number | undefined;
  private lastLog = -Infinity;
  private lastError: { what: string; err: unknown } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: BrokerOutageOptions) {
    if (!Number.isInteger(opts.boundMs) || opts.boundMs < 0) {
      throw new KafkaEdgeError(`BrokerOutage: boundMs must be an integer >= 0, got ${String(opts.boundMs)}`);
    }
    this.now = opts.now ?? (() => performance.now());
  }

  private expiredError(): KafkaEdgeError {
    const elapsed = this.elapsedMs();
    const last = this.lastError;
    return new KafkaEdgeError(
      `Kafka unreachable for ${Math.round(elapsed / 1000)} s, longer than the bound of ${Math.round(this.opts.boundMs / 1000)} s (--max-broker-outage-ms)` +
        (last === undefined ? '' : `; last error: ${last.what}: ${rootMessage(last.err)}`),
      { cause: last?.err, retriable: true },
    );
  }

  /** False while an outage is under way. */
  reachable(): boolean {
    return this.since === undefined;
  }

  /** How long the current outage has lasted (0 when none). */
  elapsedMs(): number {
    return this.since === undefined ? 0 : this.now() - this.since;
  }

  /**
   * A broker round trip failed with a transient error. Starts the clock (if
   * not running) and throws a KafkaEdgeError once the outage has lasted
   * longer than the bound. Logs the first failure and then every 10 s.
   */
  failed(what: string, err: unknown): void {
    const t = this.now();
    this.lastError = { what, err };
    if (this.since === undefined) {
      this.since = t;
      this.opts.onChange?.(false);
      if (this.opts.onExpired !== undefined) {
        const onExpired = this.opts.onExpired;
        this.timer = setTimeout(() => {
          this.timer = undefined;
          if (this.since !== undefined) onExpired(this.expiredError());
        }, this.opts.boundMs + 1);
        this.timer.unref();
      }
    }
    const elapsed = t - this.since;
    if (elapsed > this.opts.boundMs) throw this.expiredError();
    if (t - this.lastLog >= 10_000) {
      this.lastLog = t;
      this.opts.logger.warn('Kafka unreachable; retrying', {
        what,
        error: rootMessage(err),
        outageSeconds: Math.round(elapsed / 100) / 10,
        boundSeconds: this.opts.boundMs / 1000,
      });
    }
  }

  /** A broker round trip succeeded: the outage (if any) is over. */
  succeeded(): void {
    if (this.since === undefined) return;
    this.opts.logger.info('Kafka reachable again', { outageSeconds: Math.round((this.now() - this.since) / 100) / 10 });
    this.since = undefined;
    this.lastLog = -Infinity;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.opts.onChange?.(true);
  }

  /** Stops the expiry timer (the worker is closing). */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export interface BrokerRetryOptions {
  outage: BrokerOutage;
  /** Called before each retry with the last error (e.g. to replace the producer); its own transient failures count as failed attempts. */
  beforeRetry?: (lastError: unknown) => Promise<void>;
  /** Stops retrying (e.g. the worker is closing): the last error is thrown. */
  stopped?: () => boolean;
}

/**
 * Runs `attempt` until it succeeds, retrying transient failures with backoff
 * for as long as the outage bound allows. A non-transient failure is thrown at
 * once, wrapped as a KafkaEdgeError saying `what` was being done.
 */
export async function withBrokerRetry<T>(what: string, attempt: () => Promise<T>, opts: BrokerRetryOptions): Promise<T> {
  let last: unknown;
  for (let n = 0; ; n++) {
    try {
      if (n > 0) await opts.beforeRetry?.(last);
      const result = await attempt();
      opts.outage.succeeded();
      return result;
    } catch (err) {
      if (!isTransient(err) || opts.stopped?.() === true) throw kafkaEdgeError(what, err);
      opts.outage.failed(what, err);
      last = err;
      await sleep(retryDelay(n));
    }
  }
}
