import { Observable, concatMap } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import { TaggingError } from '../common/errors.js';
import type { Mention, Tagger } from '../models/tagger.js';
import type { Post } from '../schemas/types.generated.js';
import { failItem, isOk, withValue } from './items.js';
import { checkFunction, checkObject, checkOptionsObject } from './options.js';
import type { Item, OkItem, TaggedPost } from './types.js';

export type { TaggedPost } from './types.js';

const OP = 'tagBatch';

/** Options of {@link tagBatch}. */
export interface TagBatchOptions {
  /** The tagger; `tag(texts)` is called once per batch (plus once per post after a failed batch call). */
  tagger: Tagger;
  /** Monotonic clock in ms for `tagMs`; default performance.now. If it throws, the stream errors. */
  now?: () => number;
}

/**
 * Tags the posts of each batch with one tagger call. Failed items pass
 * through in place; the batch keeps its order and length. If the batch call
 * throws, rejects or returns the wrong number of results, the ok posts are
 * retried one at a time, so only the posts the tagger cannot handle fail:
 * each becomes a FailedItem (stage 'tag', a TaggingError whose cause is the
 * tagger's error). Batches are processed one at a time, in order
 * (concatMap). Unsubscribing drops the pending result (a tagger call cannot
 * be aborted) and starts no further tagger calls.
 *
 * Throws a ConfigError at construction when `tagger` has no `tag` method.
 */
export function tagBatch(opts: TagBatchOptions): OperatorFunction<Item<Post>[], Item<TaggedPost>[]> {
  checkOptionsObject(OP, opts, false);
  checkObject(OP, 'tagger', opts.tagger, 'pass a Tagger such as NeuralTagger');
  checkFunction(OP, 'tagger.tag', opts.tagger.tag, false, 'pass a Tagger such as NeuralTagger');
  checkFunction(OP, 'now', opts.now, true, 'pass () => performance.now()');
  const tagger = opts.tagger;
  const now = opts.now ?? (() => performance.now());
  // A hand-written inner Observable rather than defer(promise): unsubscribing
  // must also stop the one-by-one retries that are still to come.
  return concatMap(
    (batch) =>
      new Observable<Item<TaggedPost>[]>((subscriber) => {
        let active = true;
        tagItems(tagger, now, batch, () => active).then(
          (tagged) => {
            subscriber.next(tagged);
            subscriber.complete();
          },
          (err: unknown) => subscriber.error(err),
        );
        return () => {
          active = false;
        };
      }),
  );
}

async function tagItems(
  tagger: Tagger,
  now: () => number,
  batch: readonly Item<Post>[],
  active: () => boolean,
): Promise<Item<TaggedPost>[]> {
  const ok = batch.filter(isOk);
  if (ok.length === 0) return batch as Item<TaggedPost>[];

  const started = now();
  let results: Mention[][] | null;
  try {
    results = checkResults(await tagger.tag(ok.map((item) => item.value.text)), ok.length);
  } catch {
    results = null;
  }
  const tagMs = now() - started;

  const tagged = new Map<OkItem<Post>, Item<TaggedPost>>();
  if (results !== null) {
    ok.forEach((item, i) => tagged.set(item, withValue(item, { post: item.value, mentions: results[i], tagMs })));
  } else {
    for (const item of ok) {
      if (!active()) return [];
      tagged.set(item, await tagOne(tagger, now, item));
    }
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
