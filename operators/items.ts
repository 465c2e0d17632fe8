/**
 * Small helpers for building items (shared by the operators, not re-exported
 * from operators/index.ts).
 */
import type { MentionflowError } from '../common/errors.js';
import type { FailedItem, Item, OkItem, StageName } from './types.js';

/** The failed version of an ok item: same ref, payload and key; the value is dropped. */
export function failItem(item: OkItem<unknown>, stage: StageName, error: MentionflowError): FailedItem {
  const { kind: _kind, value: _value, ...rest } = item;
  return { ...rest, kind: 'failed', stage, error };
}

/** An ok item with a new value (ref, payload and key carried over). */
export function withValue<T, U>(item: OkItem<T>, value: U): OkItem<U> {
  return { ...item, value };
}

/** Narrowing helper for filter(). */
export function isOk<T>(item: Item<T>): item is OkItem<T> {
  return item.kind === 'ok';
}
