/**
 * Code-point handling. The tagger works on Unicode code points ("characters"),
 * not UTF-16 code units: an emoji or an astral CJK character such as '𠮷'
 * (U+20BB7) is one position. Spans inside the project use code-point offsets;
 * `utf16Offsets` converts them to UTF-16 offsets for JavaScript string slicing
 * and for consumers that count UTF-16 units.
 */

/**
 * Splits `text` into code points: one element per code point, a well-formed
 * surrogate pair is one element, and a lone surrogate is kept as its own
 * one-unit element (never throws, never replaces).
 */
export function toCodePoints(text: string): string[] {
  return Array.from(text);
}

/**
 * Cumulative UTF-16 offsets of a code-point array: result has length n+1,
 * result[i] = UTF-16 offset of chars[i] in chars.join(''), result[n] = total
 * UTF-16 length. A code-point span [s, e) is the UTF-16 span [r[s], r[e]).
 */
export function utf16Offsets(chars: readonly string[]): Int32Array {
  const offsets = new Int32Array(chars.length + 1);
  let acc = 0;
  for (let i = 0; i < chars.length; i++) {
    offsets[i] = acc;
    acc += chars[i].length;
  }
  offsets[chars.length] = acc;
  return offsets;
}

/** True when a well-formed surrogate pair (one code point in two UTF-16 units) starts at UTF-16 index `i` of `text`. */
export function isSurrogatePairAt(text: string, i: number): boolean {
  const hi = text.charCodeAt(i);
  if (hi < 0xd800 || hi > 0xdbff || i + 1 >= text.length) return false;
  const lo = text.charCodeAt(i + 1);
  return lo >= 0xdc00 && lo <= 0xdfff;
}

/** toCodePoints(text).length, without building the array. */
export function codePointLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i += isSurrogatePairAt(text, i) ? 2 : 1) n++;
  return n;
}
