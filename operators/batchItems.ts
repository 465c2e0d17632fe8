import { Observable, asyncScheduler } from 'rxjs';
import type { OperatorFunction, SchedulerLike, Subscription } from 'rxjs';
import { ConfigError } from '../common/errors.js';
import { checkBatchLimits, weigh, type BatchLimits } from './itemWeight.js';
import { checkNumberAtLeast, checkObject, checkOptionsObject } from './options.js';
import type { Post } from '../schemas/types.generated.js';
import type { TaggerSlots } from './taggerSlots.js';
import type { Item } from './types.js';

const OP = 'batchItems';

/** Options of {@link batchItems}. */
export interface BatchItemsOptions<T> extends BatchLimits<T> {
  /**
   * Longest time (ms, >= 0) an item waits: a batch is emitted this long after
   * its FIRST item arrived, full or not. Infinity disables the timer.
   * (A batch is also emitted as soon as it holds maxCount items or its
   * weight reaches maxChars; an item heavier than maxChars goes alone, at once.)
   */
  maxWaitMs: number;
  /** Scheduler for the maxWaitMs timer; default asyncScheduler. */
  scheduler?: SchedulerLike;
  /**
   * The slots of the tagBatch this batcher feeds (the same TaggerSlots
   * object). With them, a batch whose last record its source marked caught
   * up (RecordRef.caughtUp: nothing more to read for now) does not wait out
   * maxWaitMs for records that are not there: it leaves at once if a slot
   * is free, else as soon as one frees, unless more records came meanwhile
   * (then it fills on as usual). Default: none (the limits and the timer
   * alone).
   */
  slots?: TaggerSlots;
}

/**
 * Groups items into batches for the tagger, in order, each item exactly
 * once, never an empty batch. A batch is emitted when it holds `maxCount`
 * items, when its weight reaches `maxChars`, or `maxWaitMs` after its first
 * item arrived (one timer per batch, on `scheduler`), whichever comes first;
 * with `slots`, also when its last item is marked caught up and a slot is
 * (or becomes) free: the source has nothing more for now and the tagger can
 * take the batch.
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
  const { maxCount, maxChars, weight } = checkBatchLimits(OP, opts, { maxCount: 32, maxChars: 4096 });
  const { maxWaitMs } = opts;
  checkNumberAtLeast(OP, 'maxWaitMs', maxWaitMs, 0, false, 'e.g. 50 (ms), or Infinity for no time limit');
  const scheduler = opts.scheduler ?? asyncScheduler;
  if (typeof scheduler?.schedule !== 'function') {
    throw new ConfigError(`${OP}: scheduler must be an RxJS SchedulerLike (e.g. asyncScheduler)`);
  }
  const { slots } = opts;
  if (slots !== undefined) {
    checkObject(OP, 'slots', slots, 'pass taggerSlots({ concurrency }), the same object given to tagBatch, or leave it out');
    if (typeof slots.onFree !== 'function' || typeof slots.claim !== 'function') {
      throw new ConfigError(`${OP}: slots must come from taggerSlots({ concurrency }), the same object given to tagBatch`);
    }
  }

  return (source) =>
    new Observable<Item<T>[]>((subscriber) => {
      let batch: Item<T>[] = [];
      let batchWeight = 0;
      let timer: Subscription | null = null;
      // With slots: the batch's last item was marked caught up; it leaves at the first free slot.
      let caughtUp = false;

      const cancelTimer = (): void => {
        timer?.unsubscribe();
        timer = null;
      };
      // State is reset before emitting, so a re-entrant source sees a fresh batch.
      const flush = (): void => {
        cancelTimer();
        caughtUp = false;
        if (batch.length === 0) return;
        const out = batch;
        batch = [];
        batchWeight = 0;
        subscriber.next(out);
      };

      // Called synchronously when tagBatch frees a slot (as batchAdaptive's is).
      const stopListening = slots?.onFree(() => {
        if (caughtUp && !subscriber.closed) flush();
      });

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
          if (slots !== undefined) caughtUp = item.ref.caughtUp === true;
          if (batch.length >= maxCount || batchWeight >= maxChars || (caughtUp && slots !== undefined && slots.free > 0)) {
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
        stopListening?.();
        batch = [];
        subscription.unsubscribe();
      };
    });
}
