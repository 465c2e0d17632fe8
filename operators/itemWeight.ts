/**
 * The size limits of a tagger batch and the weight of an item for the
 * maxChars limit, shared by batchItems and batchAdaptive (BatchLimits is
 * exported from operators/index.ts, the helpers are not).
 */
import { MentionflowError } from '../common/errors.js';
import { codePointLength } from '../models/text/codepoints.js';
import { checkFunction, checkNumberAtLeast, checkPositiveInteger } from './options.js';
import type { Item } from './types.js';

/** The limits every batcher takes. */
export interface BatchLimits<T> {
  /** Most items in one batch (integer >= 1). */
  maxCount: number;
  /**
   * Most summed weight in one batch (> 0; Infinity disables the limit). An
   * item that would push a batch past it starts the next batch; an item
   * heavier than maxChars on its own goes alone, so one huge post never
   * stalls a batch.
   */
  maxChars: number;
  /**
   * Weight of one item (a finite number >= 0). Default: the number of
   * Unicode code points of `value.text` for ok items, 0 for failed items;
   * required when T has no `text` string. If it throws or returns a bad
   * number, the stream errors.
   */
  weight?: (item: Item<T>) => number;
}

/** Validates the limits (ConfigError naming `op` and the option) and resolves the default weight. */
export function checkBatchLimits<T>(op: string, opts: BatchLimits<T>, example: { maxCount: number; maxChars: number }): Required<BatchLimits<T>> {
  const { maxCount, maxChars } = opts;
  checkPositiveInteger(op, 'maxCount', maxCount, `e.g. ${example.maxCount} posts per tagger call`);
  checkNumberAtLeast(op, 'maxChars', maxChars, 0, true, `e.g. ${example.maxChars} (code points), or Infinity for no weight limit`);
  checkFunction(op, 'weight', opts.weight, true, 'pass (item) => number');
  return { maxCount, maxChars, weight: opts.weight ?? textWeight(op) };
}

/** Default weight: code points of the text of an ok item; failed items weigh nothing. */
export function textWeight(op: string): (item: Item<unknown>) => number {
  return (item) => {
    if (item.kind !== 'ok') return 0;
    const text: unknown = (item.value as { text?: unknown } | undefined)?.text;
    if (typeof text !== 'string') {
      throw new MentionflowError(`${op}: the default weight needs items whose value has a text string; pass opts.weight`);
    }
    return codePointLength(text);
  };
}

/** Calls `weight` and checks what it returns: a finite number >= 0, else a MentionflowError (a throw passes through). */
export function weigh<T>(op: string, weight: (item: Item<T>) => number, item: Item<T>): number {
  const w = weight(item);
  if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
    throw new MentionflowError(`${op}: weight(item) returned ${String(w)}; it must return a finite number >= 0`);
  }
  return w;
}
