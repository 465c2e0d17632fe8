/**
 * Character-positional tokens (Peng & Dredze 2015/2016): each character is
 * tagged with its position inside the word a segmenter puts it in, so the
 * same character gets different embeddings at the start and inside of words:
 * 北京欢迎你 segmented 北京 | 欢迎 | 你 -> 北0 京1 欢0 迎1 你0.
 *
 * Positions count code points (an emoji or an astral character such as '𠮷'
 * is one character, so the segmenter's words are re-split into code points),
 * and the result is aligned one to one with `chars`. Positions of 9 and more
 * share the token "<char>9": MAX_POSITION caps them (0.4% of WeiboNER's
 * characters sit that deep in a word, mostly inside URLs and digit runs; the
 * golden-horse reference code keeps "a12"). Pure: the segmenter is passed in
 * (models/text/jiebaSegmenter.ts gives the jieba one).
 */
import { normalizeChars } from './normalize.js';

/** Splits a text into words whose concatenation should be the text. */
export type Segmenter = (text: string) => string[];

/** Positions above this share one token per character. */
export const MAX_POSITION = 9;

/** Replaces each lone UTF-16 surrogate by U+FFFD (one code point for one), as native segmenters do. */
function wellFormed(chars: readonly string[]): string[] {
  return chars.map((c) => (c.length === 1 && c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) <= 0xdfff ? '\uFFFD' : c));
}

/**
 * The position of each character inside its word, capped at MAX_POSITION,
 * shape [chars.length]. If the segmenter's words do not spell the input
 * (a segmenter that drops or rewrites characters), the characters from the
 * first mismatch on are treated as one-character words (position 0), so the
 * result is always aligned and this never throws on odd input.
 */
export function charPositions(chars: readonly string[], segment: Segmenter): Int32Array {
  const safe = wellFormed(chars);
  const out = new Int32Array(safe.length);
  if (safe.length === 0) return out;
  let i = 0;
  words: for (const word of segment(safe.join(''))) {
    let p = 0;
    for (const cp of word) {
      if (i >= safe.length || safe[i] !== cp) break words;
      out[i++] = Math.min(p++, MAX_POSITION);
    }
  }
  return out;
}

/** Character-positional tokens "<char><position>", one per element of `chars` (see module comment). */
export function charPositionTokens(chars: readonly string[], segment: Segmenter): string[] {
  const positions = charPositions(chars, segment);
  return chars.map((c, i) => c + positions[i]);
}

export interface InputTokenOptions {
  /** Char-positional tokens instead of plain characters. */
  charPositional: boolean;
  /** Normalise characters (normalizeChar) before segmenting, as a normalising vocabulary does on lookup. */
  normalize?: boolean;
}

/**
 * The tokens a tagger's embedding table is indexed by, for one sentence:
 * the characters themselves, or their char-positional tokens. Training,
 * inference and embedding pre-training all go through this one function, so
 * they see the same tokens. Normalization happens first, so the segmenter
 * sees the text the vocabulary will see ('ＮＢＡ' is segmented as 'NBA').
 */
export function inputTokens(chars: readonly string[], options: InputTokenOptions, segment?: Segmenter): readonly string[] {
  if (!options.charPositional) return chars;
  if (!segment) throw new Error('char-positional tokens need a segmenter');
  return charPositionTokens(options.normalize ? normalizeChars(chars) : chars, segment);
}

/** What inputTokenIds needs of a vocabulary (models/text/vocabulary.ts). */
export interface TokenIds {
  encode(tokens: readonly string[]): Int32Array;
  encodePositional(chars: readonly string[], positions: Int32Array): Int32Array;
}

/**
 * The ids of inputTokens(chars, options, segment) in `vocab`: the same as
 * vocab.encode of those tokens, without building char-positional token
 * strings (the tagger's encoding at inference).
 */
export function inputTokenIds(chars: readonly string[], options: InputTokenOptions, vocab: TokenIds, segment?: Segmenter): Int32Array {
  if (!options.charPositional) return vocab.encode(chars);
  if (!segment) throw new Error('char-positional tokens need a segmenter');
  const normalized = options.normalize ? normalizeChars(chars) : chars;
  return vocab.encodePositional(normalized, charPositions(normalized, segment));
}
