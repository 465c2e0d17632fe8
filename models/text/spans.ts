/**
 * Entity spans and their BIO / BIOES tag encodings, as pure functions.
 * A Span uses code-point offsets, end exclusive, label like "PER.NAM".
 * A tag is "O" or "<prefix>-<label>" (split at the first '-'), prefix B/I in
 * BIO and B/I/E/S in BIOES.
 *
 * bioToSpans follows conlleval's chunk semantics exactly (startOfChunk /
 * endOfChunk): B always starts a chunk; I continues the open chunk only when
 * the previous tag is B or I of the same type, otherwise it starts a new one
 * (so "O I-X" and "B-X I-Y" yield a chunk starting at the I); O ends a chunk.
 */
import { MentionflowError } from '../../common/errors.js';

export interface Span {
  /** First code point (inclusive). */
  start: number;
  /** One past the last code point (exclusive). */
  end: number;
  /** Entity label, e.g. "PER.NAM". */
  label: string;
}

/** Splits a tag into prefix and type like conlleval: "B-PER.NAM" -> ["B", "PER.NAM"], "O" -> ["O", ""]. */
export function splitTag(tag: string): [prefix: string, type: string] {
  const dash = tag.indexOf('-');
  return dash < 0 ? [tag, ''] : [tag.slice(0, dash), tag.slice(dash + 1)];
}

/** conlleval endOfChunk (without the '[' / ']' chunk markers). */
function endOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (prevTag === 'B' && (tag === 'B' || tag === 'O')) return true;
  if (prevTag === 'I' && (tag === 'B' || tag === 'O')) return true;
  if (prevTag === 'E' && (tag === 'E' || tag === 'I' || tag === 'O')) return true;
  return prevTag !== 'O' && prevTag !== '.' && prevType !== type;
}

/** conlleval startOfChunk (without the '[' / ']' chunk markers). */
function startOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (tag === 'B' && (prevTag === 'B' || prevTag === 'I' || prevTag === 'O')) return true;
  if (prevTag === 'O' && (tag === 'I' || tag === 'E')) return true;
  if (prevTag === 'E' && (tag === 'E' || tag === 'I')) return true;
  return tag !== 'O' && tag !== '.' && prevType !== type;
}

/** Chunks of a BIO tag sequence with conlleval semantics (see module comment). */
export function bioToSpans(tags: readonly string[]): Span[] {
  const spans: Span[] = [];
  let prevTag = 'O';
  let prevType = '';
  let open: { start: number; label: string } | null = null;
  for (let i = 0; i < tags.length; i++) {
    const [tag, type] = splitTag(tags[i]);
    const starts = startOfChunk(prevTag, tag, prevType, type);
    // conlleval counts a chunk when it starts, so a start always closes the open chunk.
    if (open !== null && (starts || endOfChunk(prevTag, tag, prevType, type))) {
      spans.push({ start: open.start, end: i, label: open.label });
      open = null;
    }
    if (starts) open = { start: i, label: type };
    prevTag = tag;
    prevType = type;
  }
  // The sentence boundary ends any open chunk.
  if (open !== null) spans.push({ start: open.start, end: tags.length, label: open.label });
  return spans;
}

/**
 * Chunks of a BIOES tag sequence. Lenient on invalid input: B starts a chunk,
 * S is a one-character chunk, I/E continue an open chunk of the same type or
 * else start one, E closes its chunk, O closes any open chunk.
 */
export function bioesToSpans(tags: readonly string[]): Span[] {
  const spans: Span[] = [];
  let open: { start: number; label: string } | null = null;
  const close = (end: number): void => {
    if (open !== null) spans.push({ start: open.start, end, label: open.label });
    open = null;
  };
  tags.forEach((t, i) => {
    const [prefix, type] = splitTag(t);
    if (prefix === 'O') return close(i);
    if (prefix === 'B' || prefix === 'S' || open === null || open.label !== type) {
      close(i);
      open = { start: i, label: type };
    }
    if (prefix === 'S' || prefix === 'E') close(i + 1);
  });
  close(tags.length);
  return spans;
}

/** Sorted copy of `spans`, checked to be non-empty, in [0, length) and non-overlapping. */
function checkedSpans(spans: readonly Span[], length: number): Span[] {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  let last = 0;
  for (const s of sorted) {
    if (!Number.isInteger(s.start) || !Number.isInteger(s.end) || s.start < last || s.end <= s.start || s.end > length) {
      throw new MentionflowError(
        `span [${s.start}, ${s.end}) ${s.label} is empty, out of [0, ${length}) or overlaps another span`,
      );
    }
    last = s.end;
  }
  return sorted;
}

/** BIO tags of length `length` for non-overlapping spans; throws MentionflowError on bad spans. */
export function spansToBio(spans: readonly Span[], length: number): string[] {
  const tags = new Array<string>(length).fill('O');
  for (const s of checkedSpans(spans, length)) {
    tags[s.start] = `B-${s.label}`;
    for (let i = s.start + 1; i < s.end; i++) tags[i] = `I-${s.label}`;
  }
  return tags;
}

/** BIOES tags of length `length` for non-overlapping spans; throws MentionflowError on bad spans. */
export function spansToBioes(spans: readonly Span[], length: number): string[] {
  const tags = new Array<string>(length).fill('O');
  for (const s of checkedSpans(spans, length)) {
    if (s.end - s.start === 1) {
      tags[s.start] = `S-${s.label}`;
      continue;
    }
    tags[s.start] = `B-${s.label}`;
    for (let i = s.start + 1; i < s.end - 1; i++) tags[i] = `I-${s.label}`;
    tags[s.end - 1] = `E-${s.label}`;
  }
  return tags;
}

/** BIO -> BIOES via spans (invalid BIO is first read with conlleval semantics). */
export function bioToBioes(tags: readonly string[]): string[] {
  return spansToBioes(bioToSpans(tags), tags.length);
}

/** BIOES -> BIO via spans. */
export function bioesToBio(tags: readonly string[]): string[] {
  return spansToBio(bioesToSpans(tags), tags.length);
}
