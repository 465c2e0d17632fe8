/**
 * The paper's baseline CRF lexical features, hashed. For each position t of a
 * sentence c: unigrams c[t-2] .. c[t+2] (templates 0–4), bigrams
 * c[t-2]c[t-1], c[t-1]c[t], c[t]c[t+1], c[t+1]c[t+2] (templates 5–8) and the
 * skip bigram c[t-1]c[t+1] (template 9). Positions outside the sentence read
 * padding symbols "<B-1>", "<B-2>" (before) and "<E+1>", "<E+2>" (after).
 * Each feature string "<template>\u0001<chars joined by \u0001>" is hashed
 * with 32-bit FNV-1a over its UTF-16 code units into buckets
 * 1..numBuckets-1; bucket 0 is reserved for padding positions of a batch.
 * Deterministic across runs and platforms. Characters are used as given
 * (normalize them first if the vocabulary does).
 */
import { ConfigError } from '../../common/errors.js';

/** Feature templates per position (F). */
export const FEATURE_TEMPLATES = 10;

/** Offsets read by each template, in template-id order. */
const TEMPLATES: readonly (readonly number[])[] = [
  [-2], [-1], [0], [1], [2],
  [-2, -1], [-1, 0], [0, 1], [1, 2],
  [-1, 1],
];

/** 32-bit FNV-1a over the UTF-16 code units of `s`, as an unsigned integer. */
export function fnv1a32(s: string): number {
  return fnv1aFeed(0x811c9dc5, s) >>> 0;
}

function checkBuckets(numBuckets: number): void {
  if (!Number.isInteger(numBuckets) || numBuckets < 2 || numBuckets > 0x7fffffff) {
    throw new ConfigError(`numBuckets must be an integer in [2, 2^31-1] (bucket 0 is padding), got ${numBuckets}`);
  }
}

/**
 * FNV-1a state `h` continued over the UTF-16 code units of `s` (as an int32;
 * `>>> 0` gives the hash): fnv1a32(a + b) === fnv1aFeed(fnv1aFeed(0x811c9dc5, a), b) >>> 0.
 */
export function fnv1aFeed(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

const SEP = 0x0001;
/** FNV-1a state after each template's prefix "<template>\u0001". */
const PREFIX_STATES = TEMPLATES.map((_, f) => Math.imul(fnv1aFeed(0x811c9dc5, String(f)) ^ SEP, 0x01000193));

/**
 * Feature ids of one sentence, shape [T, FEATURE_TEMPLATES] row-major, each in
 * [1, numBuckets). The hash of each feature string is computed by feeding its
 * parts to FNV-1a in order, without building the string.
 */
export function lexicalFeatureIds(chars: readonly string[], numBuckets: number): Int32Array {
  checkBuckets(numBuckets);
  const n = chars.length;
  const out = new Int32Array(n * FEATURE_TEMPLATES);
  // The characters with two padding symbols on each side: padded[t + 2] is the character at t.
  const padded = ['<B-2>', '<B-1>', ...chars, '<E+1>', '<E+2>'];
  const m = numBuckets - 1;
  for (let t = 0; t < n; t++) {
    const row = t * FEATURE_TEMPLATES;
    const c = t + 2;
    for (let f = 0; f < FEATURE_TEMPLATES; f++) {
      const offsets = TEMPLATES[f];
      let h = fnv1aFeed(PREFIX_STATES[f], padded[c + offsets[0]]);
      for (let k = 1; k < offsets.length; k++) h = fnv1aFeed(Math.imul(h ^ SEP, 0x01000193), padded[c + offsets[k]]);
      out[row + f] = 1 + ((h >>> 0) % m);
    }
  }
  return out;
}
