import { Observable, asyncScheduler } from 'rxjs';
import type { OperatorFunction, SchedulerLike, Subscription } from 'rxjs';
import { ConfigError } from '../common/errors.js';
import { checkBatchLimits, weigh, type BatchLimits } from './itemWeight.js';
import { checkNumberAtLeast, checkOptionsObject } from './options.js';
import type { Post } from '../schemas/types.generated.js';
import { checkTaggerSlots, type TaggerSlots } from './taggerSlots.js';
import type { Item } from './types.js';

const OP = 'batchItems';

/**
 * Default BatchItemsOptions.quietMs. Under steady input the Kafka source hands
 * records over every millisecond or two, each fetch ending caught up; a
 * batch leaving at every such mark would be small and cost the tagger its
 * per-call overhead many times over (at 90% load it tipped the worker into
 * a backlog: BENCHMARKS.md, Streaming round 10). Five quiet milliseconds
 * mean the input has really stopped (the end of a backlog, a lull).
 */
export const DEFAULT_QUIET_MS = 5;

/** Options of {@link batchItems}. */
export interface BatchItemsOptions<T> extends BatchLimits<T> {
  /**
   * Longest time (ms, >= 0) an item waits: a batch is emitted this long after
   * its FIRST item arrived, full or not. Infinity disables the timer.
   * (A batch is also emitted as soon as it holds maxCount items or its
   * weight reaches maxChars; an item heavier than maxChars goes alone, at once.)
   */
  maxWaitMs: number;
  /** Scheduler for the maxWaitMs (and quietMs) timers; default asyncScheduler. */
  scheduler?: SchedulerLike;
  /**
   * The slots of the tagBatch this batcher feeds (the same TaggerSlots
   * object). With them, a batch whose last record its source marked caught
   * up (RecordRef.caughtUp: nothing more to read for now) and after which
   * no record came for `quietMs` does not wait out maxWaitMs for records
   * that are not there: it leaves then if a slot is free, else as soon as
   * one frees. A record that comes meanwhile cancels this (the batch fills
   * on as usual), so under steady input batches fill as without slots.
   * Default: none (the limits and the timer alone).
   */
  slots?: TaggerSlots;
  /**
   * With `slots`: how long (ms, >= 0) the input must stay quiet after a
   * caught-up record before its batch leaves early. Default 5
   * (DEFAULT_QUIET_MS), or maxWaitMs if that is shorter.
   */
  quietMs?: number;
}

/**
 * Groups items into batches for the tagger, in order, each item exactly
 * once, never an empty batch. A batch is emitted when it holds `maxCount`
 * items, when its weight reaches `maxChars`, or `maxWaitMs` after its first
 * item arrived (one timer per batch, on `scheduler`), whichever comes first;
 * with `slots`, also when its last item is marked caught up, no item came
 * for `quietMs` since, and a slot is (or becomes) free: the source has
 * nothing more for now and the tagger can take the batch.
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
  const quietMs = opts.quietMs ?? Math.min(DEFAULT_QUIET_MS, maxWaitMs);
  checkNumberAtLeast(OP, 'quietMs', quietMs, 0, false, `e.g. ${DEFAULT_QUIET_MS} (ms)`);
  if (slots !== undefined) checkTaggerSlots(OP, slots, 'pass taggerSlots({ concurrency }), the same object given to tagBatch, or leave it out');

  return (source) =>
    new Observable<Item<T>[]>((subscriber) => {
      let batch: Item<T>[] = [];
      let batchWeight = 0;
      // The maxWaitMs timer is lazy: a batch that fills before it runs out leaves
      // it running, and the next batch takes it over; when it runs out it flushes
      // the batch that has waited maxWaitMs or waits on for the rest of the
      // current batch's time. Under steady input that is one timer per maxWaitMs
      // instead of one set and one cleared per batch (BENCHMARKS.md, Streaming round 14).
      // A timer set (or set again) for the batch now open flushes it whatever the
      // clock says, so a wall clock stepped back delays a batch by at most one
      // more maxWaitMs.
      let timer: Subscription | null = null;
      let batchStart = 0;
      /** Batches opened so far, and the one the running timer was set for. */
      let opened = 0;
      let timerFor = 0;
      // With slots: the quiet timer after a caught-up last item, and whether it has run out
      // (then the batch leaves at the first free slot).
      let quietTimer: Subscription | null = null;
      let quiet = false;

      const cancelTimer = (): void => {
        timer?.unsubscribe();
        timer = null;
      };
      const cancelQuiet = (): void => {
        quietTimer?.unsubscribe();
        quietTimer = null;
        quiet = false;
      };
      // State is reset before emitting, so a re-entrant source sees a fresh batch.
      // The wait timer stays (see above); teardown, errors and completion cancel it.
      const flush = (): void => {
        cancelQuiet();
        if (batch.length === 0) return;
        const out = batch;
        batch = [];
        batchWeight = 0;
        subscriber.next(out);
      };

      const waitRanOut = (): void => {
        timer = null;
        if (batch.length === 0 || subscriber.closed) return;
        const left = Math.min(maxWaitMs, batchStart + maxWaitMs - scheduler.now());
        if (timerFor === opened || left <= 0) {
          flush();
          return;
        }
        timerFor = opened;
        timer = scheduler.schedule(waitRanOut, left);
      };

      const quietRanOut = (): void => {
        quietTimer = null;
        quiet = true;
        if (slots !== undefined && slots.free > 0 && !subscriber.closed) flush();
      };
      // Called synchronously when tagBatch frees a slot (as batchAdaptive's is).
      const stopListening = slots?.onFree(() => {
        if (quiet && !subscriber.closed) flush();
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
          if (batch.length >= maxCount || batchWeight >= maxChars) {
            flush();
            return;
          }
          if (batch.length === 1 && maxWaitMs !== Infinity) {
            batchStart = scheduler.now();
            opened++;
            if (timer === null) {
              timerFor = opened;
              timer = scheduler.schedule(waitRanOut, maxWaitMs);
            }
          }
          if (slots !== undefined) {
            // Any record ends the quiet; a caught-up one starts it again.
            cancelQuiet();
            if (item.ref.caughtUp === true) quietTimer = scheduler.schedule(quietRanOut, quietMs);
          }
        },
        error: (err) => {
          cancelTimer();
          cancelQuiet();
          batch = [];
          subscriber.error(err);
        },
        complete: () => {
          if (subscriber.closed) return;
          cancelTimer();
          flush();
          subscriber.complete();
        },
      });

      return () => {
        cancelTimer();
        cancelQuiet();
        stopListening?.();
        batch = [];
        subscription.unsubscribe();
      };
    });
}
