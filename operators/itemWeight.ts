/**
 * The weight of an item for the batchers' maxChars limit (shared by
 * batchItems and batchAdaptive, not re-exported from operators/index.ts).
 */
import { MentionflowError } from '../common/errors.js';
import type { Item } from './types.js';

/** Default weight: code points of the text of an ok item; failed items weigh nothing. */
export function textWeight(op: string): (item: Item<unknown>) => number {
  return (item) => {
    if (item.kind !== 'ok') return 0;
    const text: unknown = (item.value as { text?: unknown } | undefined)?.text;
    if (typeof text !== 'string') {
      throw new MentionflowError(`${op}: the default weight needs items whose value has a text string; pass opts.weight`);
    }
    let n = 0;
    for (const _ of text) n++;
    return n;
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
