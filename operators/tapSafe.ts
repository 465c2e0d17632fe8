import { tap } from 'rxjs';
import type { MonoTypeOperatorFunction } from 'rxjs';
import { checkFunction, checkOptionsObject } from './options.js';

const OP = 'tapSafe';

/** Options of {@link tapSafe}. */
export interface TapSafeOptions<T> {
  /** Called with every value (metrics, logging). Whatever it throws stays out of the stream. */
  next: (value: T) => void;
  /**
   * Called with whatever `next` threw. Default: process.emitWarning, so the
   * failure is visible without stopping the pipeline. If this throws too,
   * that error is reported with process.emitWarning.
   */
  onListenerError?: (err: unknown) => void;
}

function warn(err: unknown): void {
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  process.emitWarning(`${OP} listener failed: ${detail}`, { type: 'MentionflowListenerWarning' });
}

/**
 * Observes values without being able to break the stream: like tap(next),
 * but an error thrown by the listener goes to `onListenerError` and the
 * value flows on unchanged. Errors, completion and unsubscription of the
 * source pass straight through. This is where metrics hook into the
 * pipeline (operators never import prom-client).
 *
 * Throws a ConfigError at construction when `next` is not a function.
 */
export function tapSafe<T>(opts: TapSafeOptions<T>): MonoTypeOperatorFunction<T> {
  checkOptionsObject(OP, opts, false);
  checkFunction(OP, 'next', opts.next, false, 'pass (value) => void');
  checkFunction(OP, 'onListenerError', opts.onListenerError, true, 'pass (err) => void, or omit it');
  const { next, onListenerError = warn } = opts;
  return tap((value: T) => {
    try {
      next(value);
    } catch (err) {
      try {
        onListenerError(err);
      } catch (reportErr) {
        warn(reportErr);
      }
    }
  });
}
