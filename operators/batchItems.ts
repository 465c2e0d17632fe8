import { Observable, asyncScheduler } from 'rxjs';
import type { OperatorFunction, SchedulerLike, Subscription } from 'rxjs';
import { ConfigError } from '../common/errors.js';
import { textWeight, weigh } from './itemWeight.js';
import { checkFunction, checkNumberAtLeast, checkOptionsObject, checkPositiveInteger } from './options.js';
import type { Post } from '../schemas/types.generated.js';
import type { Item } from './types.js';

const OP = 'batchItems';

/** Options of {@link batchItems}. */
export interface BatchItemsOptions<T> {
  /** Most items in one batch (integer >= 1). A batch is emitted as soon as it holds this many. */
  maxCount: number;
  /**
   * Longest time (ms, >= 0) an item waits: a batch is emitted this long after
   * its FIRST item arrived, full or not. Infinity disables the timer.
   */
  maxWaitMs: number;
  /**
   * Most summed weight in one batch (> 0; Infinity disables the limit). A
   * batch is emitted when its weight reaches this; an item that would push a
   * batch past it starts the next batch; an item heavier than maxChars on
   * its own is emitted alone, at once, so one huge post never stalls a batch.
   */
  maxChars: number;
  /**
   * Weight of one item (a finite number >= 0). Default: the number of
   * Unicode code points of `value.text` for ok items, 0 for failed items;
   * required when T has no `text` string. If it throws or returns a bad
   * number, the stream errors.
   */
  weight?: (item: Item<T>) => number;
  /** Scheduler for the maxWaitMs timer; default asyncScheduler. */
  scheduler?: SchedulerLike;
}

/**
 * Groups items into batches for the tagger, in order, each item exactly
 * once, never an empty batch. A batch is emitted when it holds `maxCount`
 * items, when its weight reaches `maxChars`, or `maxWaitMs` after its first
 * item arrived (one timer per batch, on `scheduler`), whichever comes first.
 * On completion the partial batch is flushed; on error it is dropped (its
 * items were never acknowledged, so they are read again) and the error
 * passes through; unsubscribing cancels the timer.
 *
 * Throws a ConfigError at construction for bad options.
 *
 * For batches that follow the tagger's load instead of a timer, see
 * batchAdaptive.
 *
 * Typing: without `weight`, T defaults to Post (any T with a `text` string
 * works, e.g. `batchItems<MyDoc>(...)`); for other item types pass `weight`.
 */
export function batchItems<T extends { readonly text: string } = Post>(
  opts: BatchItemsOptions<T>,
): OperatorFunction<Item<T>, Item<T>[]>;
export function batchItems<T>(
  opts: BatchItemsOptions<T> & { weight: (item: Item<T>) => number },
): OperatorFunction<Item<T>, Item<T>[]>;
export function batchItems<T>(opts: BatchItemsOptions<T>): OperatorFunction<Item<T>, Item<T>[]> {
  checkOptionsObject(OP, opts, false);
  const { maxCount, maxWaitMs, maxChars } = opts;
  checkPositiveInteger(OP, 'maxCount', maxCount, 'e.g. 32 posts per tagger call');
  checkNumberAtLeast(OP, 'maxWaitMs', maxWaitMs, 0, false, 'e.g. 50 (ms), or Infinity for no time limit');
  checkNumberAtLeast(OP, 'maxChars', maxChars, 0, true, 'e.g. 4096 (code points), or Infinity for no weight limit');
  checkFunction(OP, 'weight', opts.weight, true, 'pass (item) => number');
  const scheduler = opts.scheduler ?? asyncScheduler;
  if (typeof scheduler?.schedule !== 'function') {
    throw new ConfigError(`${OP}: scheduler must be an RxJS SchedulerLike (e.g. asyncScheduler)`);
  }
  const weight = opts.weight ?? textWeight(OP);

  return (source) =>
    new Observable<Item<T>[]>((subscriber) => {
      let batch: Item<T>[] = [];
      let batchWeight = 0;
      let timer: Subscription | null = null;

      const cancelTimer = (): void => {
        timer?.unsubscribe();
        timer = null;
      };
      // State is reset before emitting, so a re-entrant source sees a fresh batch.
      const flush = (): void => {
        cancelTimer();
        if (batch.length === 0) return;
        const out = batch;
        batch = [];
        batchWeight = 0;
        subscriber.next(out);
      };

      const subscription = source.subscribe({
        next: (item) => {
          if (subscriber.closed) return;
          let w: number;
          try {
            w = weigh(OP, weight, item);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          if (batch.length > 0 && batchWeight + w > maxChars) {
            flush();
            if (subscriber.closed) return;
          }
          batch.push(item);
          batchWeight += w;
          if (batch.length >= maxCount || batchWeight >= maxChars) {
            flush();
          } else if (batch.length === 1 && maxWaitMs !== Infinity) {
            timer = scheduler.schedule(flush, maxWaitMs);
          }
        },
        error: (err) => {
          cancelTimer();
          batch = [];
          subscriber.error(err);
        },
        complete: () => {
          if (subscriber.closed) return;
          flush();
          subscriber.complete();
        },
      });

      return () => {
        cancelTimer();
        batch = [];
        subscription.unsubscribe();
      };
    });
}
