import { Observable } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import { ConfigError, TaggingError } from '../common/errors.js';
import type { Mention, ModelVersionRef, Tagger } from '../models/tagger.js';
import type { Post } from '../schemas/types.generated.js';
import { failItem, isOk, withValue } from './items.js';
import { checkFunction, checkObject, checkOptionsObject, checkPositiveInteger } from './options.js';
import type { SlotClaim, TaggerSlots } from './taggerSlots.js';
import type { Item, OkItem, TaggedPost } from './types.js';

export type { TaggedPost } from './types.js';

const OP = 'tagBatch';

/** Options of {@link tagBatch}. */
export interface TagBatchOptions {
  /** The tagger; `tag(texts)` is called once per batch (plus once per post after a failed batch call). */
  tagger: Tagger;
  /**
   * Most batches in flight (integer >= 1): from the start of a batch's
   * tagger call until its result is emitted. Default: `slots.capacity`, or 1.
   * Above 1 only helps a tagger that works off the main thread.
   */
  concurrency?: number;
  /**
   * Slots to report the load on, for a batchAdaptive upstream (the same
   * object): a batch takes a slot when it arrives here and frees it when its
   * result is emitted. Their capacity is the concurrency.
   */
  slots?: TaggerSlots;
  /** Monotonic clock in ms for `tagMs`; default performance.now. If it throws, the stream errors. */
  now?: () => number;
}

/** A batch whose tagger call has started; `result` is set when it is done. */
interface Run {
  active: boolean;
  result?: Item<TaggedPost>[];
}

/**
 * Tags the posts of each batch with one tagger call. Failed items pass
 * through in place; the batch keeps its order and length. If the batch call
 * throws, rejects or returns the wrong number of results, the ok posts are
 * retried one at a time, so only the posts the tagger cannot handle fail:
 * each becomes a FailedItem (stage 'tag', a TaggingError whose cause is the
 * tagger's error).
 *
 * Up to `concurrency` batches are in flight at once; batches arriving
 * beyond that wait here, in order. Results are emitted in the order the
 * batches arrived: a batch that finishes early waits for those before it
 * (and keeps its slot meanwhile, so a slow batch holds back at most
 * `concurrency - 1` finished ones). Unsubscribing drops the pending results
 * (a tagger call cannot be aborted), stops the one-by-one retries still to
 * come and starts no further tagger calls; a source error passes through at
 * once, dropping what is in flight.
 *
 * Throws a ConfigError at construction when `tagger` has no `tag` method or
 * `concurrency` is not an integer >= 1 (or differs from `slots.capacity`).
 * Errors at subscription when `slots` is claimed by another subscription.
 */
export function tagBatch(opts: TagBatchOptions): OperatorFunction<Item<Post>[], Item<TaggedPost>[]> {
  checkOptionsObject(OP, opts, false);
  checkObject(OP, 'tagger', opts.tagger, 'pass a Tagger such as NeuralTagger');
  checkFunction(OP, 'tagger.tag', opts.tagger.tag, false, 'pass a Tagger such as NeuralTagger');
  checkFunction(OP, 'now', opts.now, true, 'pass () => performance.now()');
  const slots = opts.slots;
  if (slots !== undefined) {
    checkObject(OP, 'slots', slots, 'pass taggerSlots({ concurrency })');
    if (typeof slots.claim !== 'function') throw new ConfigError(`${OP}: slots must come from taggerSlots({ concurrency })`);
  }
  if (opts.concurrency !== undefined) {
    checkPositiveInteger(OP, 'concurrency', opts.concurrency, 'e.g. 1 (one tagger call at a time), or 2 with a worker-thread tagger');
    if (slots !== undefined && opts.concurrency !== slots.capacity) {
      throw new ConfigError(
        `${OP}: concurrency ${opts.concurrency} differs from slots.capacity ${slots.capacity}; drop concurrency (the slots set it) or make the slots with the same concurrency`,
      );
    }
  }
  const concurrency = opts.concurrency ?? slots?.capacity ?? 1;
  const tagger = opts.tagger;
  const now = opts.now ?? (() => performance.now());

  return (source) =>
    new Observable<Item<TaggedPost>[]>((subscriber) => {
      let claim: SlotClaim | undefined;
      try {
        claim = slots?.claim();
      } catch (err) {
        subscriber.error(err);
        return undefined;
      }
      const waiting: Item<Post>[][] = [];
      const running: Run[] = [];
      let sourceDone = false;
      let emitting = false;

      const finishIfDone = (): void => {
        if (sourceDone && running.length === 0 && waiting.length === 0) subscriber.complete();
      };

      // Starts waiting batches while there is room. Not while emitting: the
      // results that are ready go out first (a tagger computing on the main
      // thread would otherwise hold them back).
      const start = (): void => {
        while (!emitting && !subscriber.closed && running.length < concurrency && waiting.length > 0) {
          const run: Run = { active: true };
          running.push(run);
          tagItems(tagger, now, waiting.shift() as Item<Post>[], () => run.active).then(
            (tagged) => {
              run.result = tagged;
              emitReady();
            },
            (err: unknown) => subscriber.error(err),
          );
        }
      };

      // Emits the finished results at the head of the line, in order; each
      // frees its slot after it went out (an adaptive batcher may hand over
      // its next batch right then: it waits in `waiting` until the loop ends).
      const emitReady = (): void => {
        if (emitting) return;
        emitting = true;
        try {
          while (!subscriber.closed && running.length > 0 && running[0].result !== undefined) {
            const { result } = running.shift() as Run;
            subscriber.next(result as Item<TaggedPost>[]);
            claim?.release();
          }
        } finally {
          emitting = false;
        }
        start();
        finishIfDone();
      };

      const subscription = source.subscribe({
        next: (batch) => {
          claim?.take();
          waiting.push(batch);
          start();
        },
        error: (err) => subscriber.error(err),
        complete: () => {
          sourceDone = true;
          finishIfDone();
        },
      });

      return () => {
        for (const run of running) run.active = false;
        running.length = 0;
        waiting.length = 0;
        claim?.close();
        subscription.unsubscribe();
      };
    });
}

/**
 * Tags one batch. A tagger that can change models (Tagger.lease) is leased
 * for the whole batch, retries included, so all its posts name one model and
 * a model swapped out meanwhile is disposed only after the batch is done.
 */
async function tagItems(
  tagger: Tagger,
  now: () => number,
  batch: readonly Item<Post>[],
  active: () => boolean,
): Promise<Item<TaggedPost>[]> {
  const ok = batch.filter(isOk);
  if (ok.length === 0) return batch as Item<TaggedPost>[];
  if (typeof tagger.lease !== 'function') return tagLeased(tagger, undefined, now, batch, ok, active);
  const lease = tagger.lease();
  try {
    return await tagLeased(lease.tagger, lease.model, now, batch, ok, active);
  } finally {
    lease.release();
  }
}

async function tagLeased(
  tagger: Tagger,
  model: ModelVersionRef | undefined,
  now: () => number,
  batch: readonly Item<Post>[],
  ok: OkItem<Post>[],
  active: () => boolean,
): Promise<Item<TaggedPost>[]> {
  const started = now();
  let results: Mention[][] | null;
  try {
    results = checkResults(await tagger.tag(ok.map((item) => item.value.text)), ok.length);
  } catch {
    results = null;
  }
  const tagMs = now() - started;

  if (results !== null) {
    // results[i] belongs to the i-th ok item in batch order (ok is batch filtered)
    const found = results;
    let i = 0;
    return batch.map((item) =>
      item.kind === 'ok'
        ? withValue(item, model === undefined ? { post: item.value, mentions: found[i++], tagMs } : { post: item.value, mentions: found[i++], tagMs, model })
        : item,
    );
  }
  // the batch call failed: one post per call, so only the posts that fail become dead letters
  const pinned = model === undefined ? {} : { model };
  const tagged = new Map<OkItem<Post>, Item<TaggedPost>>();
  for (const item of ok) {
    if (!active()) return [];
    const one = await tagOne(tagger, now, item);
    tagged.set(item, one.kind === 'ok' ? withValue(one, { ...one.value, ...pinned }) : one);
  }
  return batch.map((item) => (item.kind === 'ok' ? (tagged.get(item) as Item<TaggedPost>) : item));
}

/** The retry path: one post per tagger call. */
async function tagOne(tagger: Tagger, now: () => number, item: OkItem<Post>): Promise<Item<TaggedPost>> {
  const started = now();
  let mentions: Mention[];
  try {
    [mentions] = checkResults(await tagger.tag([item.value.text]), 1);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    const error = new TaggingError(`tagger failed on post ${JSON.stringify(item.value.id)}: ${detail}`, { cause: err });
    return failItem(item, 'tag', error);
  }
  return withValue(item, { post: item.value, mentions, tagMs: now() - started });
}

function checkResults(results: unknown, expected: number): Mention[][] {
  if (!Array.isArray(results) || results.length !== expected || !results.every((r) => Array.isArray(r))) {
    const got = Array.isArray(results) ? `${results.length} result(s)` : String(results);
    throw new TaggingError(`tagger returned ${got} for ${expected} text(s); expected one array of mentions per text`);
  }
  return results as Mention[][];
}
