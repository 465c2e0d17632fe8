/**
 * Word segmentation as character tags: B (word begins), I (inside), E (word
 * ends), S (single-character word). Word lengths are counted in code points.
 * Pure functions shared by the segmentation reader and scorer.
 */

export type SegTag = 'B' | 'I' | 'E' | 'S';

/** A word as a code-point span [start, end). */
export interface WordSpan {
  start: number;
  end: number;
}

/** BIES tags for words of the given code-point lengths (each >= 1). */
export function lengthsToBies(lengths: Iterable<number>): SegTag[] {
  const tags: SegTag[] = [];
  for (const n of lengths) {
    if (n === 1) {
      tags.push('S');
      continue;
    }
    tags.push('B');
    for (let i = 1; i < n - 1; i++) tags.push('I');
    tags.push('E');
  }
  return tags;
}

/**
 * Word spans of a BIES sequence. Lenient on invalid sequences: B and S start
 * a word (closing an open one), I and E continue the open word or start one,
 * E and S close it; a word still open at the end is closed there.
 */
export function biesToWordSpans(tags: readonly string[]): WordSpan[] {
  const spans: WordSpan[] = [];
  let start = -1;
  for (let i = 0; i < tags.length; i++) {
    const t = tags[i];
    if (t === 'B' || t === 'S' || start < 0) {
      if (start >= 0) spans.push({ start, end: i });
      start = i;
    }
    if (t === 'E' || t === 'S') {
      spans.push({ start, end: i + 1 });
      start = -1;
    }
  }
  if (start >= 0) spans.push({ start, end: tags.length });
  return spans;
}

/**
 * The words of a text from its BIES tags (biesToWordSpans), where whitespace
 * separates words whatever the tags say: a word is cut at each whitespace
 * code point and whitespace is never part of a word (so a text's own spaces
 * are kept as boundaries and do not come out as words).
 */
export function textWordSpans(chars: readonly string[], tags: readonly string[]): WordSpan[] {
  const out: WordSpan[] = [];
  for (const w of biesToWordSpans(tags)) {
    let start = -1;
    for (let i = w.start; i <= w.end; i++) {
      const blank = i === w.end || /^\s$/u.test(chars[i]);
      if (blank && start >= 0) {
        out.push({ start, end: i });
        start = -1;
      } else if (!blank && start < 0) {
        start = i;
      }
    }
  }
  return out;
}
