/**
 * Which tags and tag bigrams are well formed in a scheme, to constrain the
 * CRF. BIO: I-X must follow B-X or I-X (so "O I-X", "B-X I-Y" and a leading
 * I-X are invalid). BIOES: after B-X or I-X only I-X or E-X; after O, E-*,
 * S-* (or at the start) only O, B-* or S-*; a sequence ends with O, E-* or S-*.
 */
import { splitTag } from './spans.js';

export type TagScheme = 'BIO' | 'BIOES';

/** Tag prefixes of a scheme, in id order within a label. */
export function schemePrefixes(scheme: TagScheme): string[] {
  return scheme === 'BIO' ? ['B', 'I'] : ['B', 'I', 'E', 'S'];
}

/** Whether `tag` is a well-formed tag of `scheme` ("O" or "<prefix>-<label>" with a non-empty label). */
export function isValidTag(tag: string, scheme: TagScheme): boolean {
  if (tag === 'O') return true;
  const [prefix, type] = splitTag(tag);
  return type.length > 0 && schemePrefixes(scheme).includes(prefix);
}

/** Whether the bigram `from` -> `to` can occur in a well-formed sequence of `scheme`; false for invalid tags. */
export function allowedTransition(from: string, to: string, scheme: TagScheme): boolean {
  if (!isValidTag(from, scheme) || !isValidTag(to, scheme)) return false;
  const [fp, ft] = splitTag(from);
  const [tp, tt] = splitTag(to);
  if (scheme === 'BIO') return tp !== 'I' || ((fp === 'B' || fp === 'I') && ft === tt);
  const open = fp === 'B' || fp === 'I'; // `from` leaves a chunk open
  const inside = tp === 'I' || tp === 'E'; // `to` continues a chunk
  return open ? inside && ft === tt : !inside;
}

/** Whether a sequence of `scheme` may start with `tag` (same as allowedTransition('O', tag, scheme)). */
export function allowedStart(tag: string, scheme: TagScheme): boolean {
  return allowedTransition('O', tag, scheme);
}

/** Whether a sequence of `scheme` may end with `tag` (same as allowedTransition(tag, 'O', scheme)). */
export function allowedEnd(tag: string, scheme: TagScheme): boolean {
  return allowedTransition(tag, 'O', scheme);
}
