import { Observable } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import { ConfigError } from '../common/errors.js';
import { checkBatchLimits, weigh, type BatchLimits } from './itemWeight.js';
import { checkOptionsObject } from './options.js';
import type { Post } from '../schemas/types.generated.js';
import { checkTaggerSlots, type TaggerSlots } from './taggerSlots.js';
import type { Item } from './types.js';

const OP = 'batchAdaptive';

/** Options of {@link batchAdaptive}. */
export interface BatchAdaptiveOptions<T> extends BatchLimits<T> {
  /** The slots of the tagBatch downstream (the same object passed to `tagBatch({ slots })`). */
  slots: TaggerSlots;
}

/**
 * Batches that follow the tagger's load. While tagBatch has a free slot an
 * arriving item goes out at once, with whatever had accumulated (when idle:
 * a batch of one, no waiting). While every slot is taken, items accumulate;
 * the moment a slot frees, the next batch takes as many of them, oldest
 * first, as `maxCount` and `maxChars` allow (the rest wait for the next free
 * slot). So batches are small when the pipeline is idle and grow with the
 * load, up to the limits.
 *
 * There is no timer, so no `maxWaitMs`: an item waits only while the tagger
 * is busy, and handing it on earlier would only queue it in tagBatch and
 * make the batches smaller. Its wait is bounded by the tagger calls ahead of
 * it (at most about (accumulated / maxCount) + 1 calls; the source's
 * in-flight limit bounds what accumulates).
 *
 * In order, each item exactly once, never an empty batch. On completion
 * everything accumulated is emitted at once (in batches within the limits;
 * tagBatch queues them); on error the accumulated items are dropped (they
 * were never acknowledged, so they are read again) and the error passes
 * through; a throwing or bad `weight` is a stream error.
 *
 * Throws a ConfigError at construction for bad options; errors at
 * subscription when no tagBatch holds the slots (put `tagBatch({ slots })`
 * after it in the same pipe: without it every item would go out alone).
 */
export function batchAdaptive<T extends { readonly text: string } = Post>(
  opts: BatchAdaptiveOptions<T>,
): OperatorFunction<Item<T>, Item<T>[]>;
export function batchAdaptive<T>(
  opts: BatchAdaptiveOptions<T> & { weight: (item: Item<T>) => number },
): OperatorFunction<Item<T>, Item<T>[]>;
export function batchAdaptive<T>(opts: BatchAdaptiveOptions<T>): OperatorFunction<Item<T>, Item<T>[]> {
  checkOptionsObject(OP, opts, false);
  const { maxCount, maxChars, weight } = checkBatchLimits(OP, opts, { maxCount: 64, maxChars: 8192 });
  const { slots } = opts;
  checkTaggerSlots(OP, slots, 'pass taggerSlots({ concurrency }), the same object given to tagBatch');
  if ('maxWaitMs' in opts) {
    throw new ConfigError(`${OP}: maxWaitMs is not used: a batch leaves when the tagger has a free slot; drop it (or use batchItems for time-bounded batches)`);
  }

  return (source) =>
    new Observable<Item<T>[]>((subscriber) => {
      if (!slots.claimed) {
        subscriber.error(
          new ConfigError(`${OP}: no tagBatch holds these slots; put tagBatch({ tagger, slots }) with the same slots after ${OP} in the same pipe`),
        );
        return undefined;
      }
      // Accumulated items and their weights, oldest first.
      let held: Item<T>[] = [];
      let weights: number[] = [];
      let pumping = false;
      let again = false;

      /** Takes the next batch off the front of `held`, within maxCount and maxChars. */
      const takeBatch = (): Item<T>[] => {
        let n = 0;
        let sum = 0;
        while (n < held.length && n < maxCount) {
          if (n > 0 && sum + weights[n] > maxChars) break;
          sum += weights[n++];
          if (sum >= maxChars) break;
        }
        weights.splice(0, n);
        return held.splice(0, n);
      };

      // One batch per free slot. Emitting makes tagBatch take a slot at
      // once; `budget` also caps the batches when something asynchronous sits
      // between the two. A call made while emitting (a slot freed, an item
      // arrived) is not lost: the loop runs again.
      const pump = (): void => {
        if (pumping) {
          again = true;
          return;
        }
        pumping = true;
        try {
          do {
            again = false;
            for (let budget = slots.free; budget > 0 && held.length > 0 && !subscriber.closed; budget--) {
              subscriber.next(takeBatch());
            }
          } while (again && !subscriber.closed);
        } finally {
          pumping = false;
        }
      };

      const stopListening = slots.onFree(pump);
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
          held.push(item);
          weights.push(w);
          pump();
        },
        error: (err) => {
          held = [];
          weights = [];
          subscriber.error(err);
        },
        complete: () => {
          while (held.length > 0 && !subscriber.closed) subscriber.next(takeBatch());
          subscriber.complete();
        },
      });

      return () => {
        stopListening();
        held = [];
        weights = [];
        subscription.unsubscribe();
      };
    });
}
