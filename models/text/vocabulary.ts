/**
 * Character vocabulary: code point <-> integer id. Id 0 is PAD ("<pad>", used
 * for padding positions of a batch), id 1 is UNK ("<unk>", any character not
 * in the vocabulary), then the kept characters by descending training
 * frequency, ties broken by code point order, so `build` is deterministic.
 * With `normalize`, characters are mapped by `normalizeChar` both when
 * counting and on lookup. Serialized as {version: 1, normalize, tokens}.
 */
import { MentionflowError } from '../../common/errors.js';
import { MAX_POSITION } from './charPositions.js';
import { normalizeChar } from './normalize.js';

export const PAD_TOKEN = '<pad>';
export const UNK_TOKEN = '<unk>';
export const PAD_ID = 0;
export const UNK_ID = 1;

export interface VocabularyBuildOptions {
  /** Keep characters seen at least this many times. Default 1. */
  minFreq?: number;
  /** Upper bound on the vocabulary size, PAD and UNK included. Default unbounded. */
  maxSize?: number;
  /** Normalize characters with `normalizeChar` (full-width -> half-width). Default false. */
  normalize?: boolean;
}

export interface VocabularyJSON {
  version: 1;
  normalize: boolean;
  tokens: string[];
}

/** Compares two strings code point by code point (not UTF-16 unit by unit). */
function compareCodePoints(a: string, b: string): number {
  const ca = Array.from(a);
  const cb = Array.from(b);
  const n = Math.min(ca.length, cb.length);
  for (let i = 0; i < n; i++) {
    const d = (ca[i].codePointAt(0) ?? 0) - (cb[i].codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}

/** Positions encodePositional keeps ids for per character: 0..MAX_POSITION, where charPositions caps them. */
const POSITIONS = MAX_POSITION + 1;
/** Characters encodePositional keeps ids for: at most 65,536 x 10 ids and their keys, a few MB. */
export const POSITIONAL_CACHE_LIMIT = 65_536;

export class Vocabulary {
  private readonly index: Map<string, number>;
  private positional?: Map<string, Int32Array>;

  private constructor(
    private readonly tokens: readonly string[],
    readonly normalize: boolean,
  ) {
    this.index = new Map(tokens.map((t, i) => [t, i]));
  }

  /** Counts characters over `sentences` and keeps the frequent ones (see module comment). */
  static build(sentences: Iterable<readonly string[]>, opts: VocabularyBuildOptions = {}): Vocabulary {
    const minFreq = opts.minFreq ?? 1;
    const maxSize = opts.maxSize ?? Number.POSITIVE_INFINITY;
    const normalize = opts.normalize ?? false;
    if (maxSize < 2) throw new MentionflowError(`vocabulary maxSize must be >= 2 (PAD and UNK), got ${maxSize}`);
    const counts = new Map<string, number>();
    for (const sentence of sentences) {
      for (const raw of sentence) {
        const ch = normalize ? normalizeChar(raw) : raw;
        counts.set(ch, (counts.get(ch) ?? 0) + 1);
      }
    }
    counts.delete(PAD_TOKEN);
    counts.delete(UNK_TOKEN);
    const kept = [...counts.entries()]
      .filter(([, n]) => n >= minFreq)
      .sort((a, b) => b[1] - a[1] || compareCodePoints(a[0], b[0]))
      .slice(0, maxSize - 2)
      .map(([ch]) => ch);
    return new Vocabulary([PAD_TOKEN, UNK_TOKEN, ...kept], normalize);
  }

  /** Restores a vocabulary from `toJSON` output; throws MentionflowError if it is malformed. */
  static fromJSON(json: unknown): Vocabulary {
    const bad = (why: string): never => {
      throw new MentionflowError(`invalid vocabulary JSON: ${why}`);
    };
    if (typeof json !== 'object' || json === null) return bad('not an object');
    const o = json as Record<string, unknown>;
    if (o.version !== 1) bad(`unsupported version ${JSON.stringify(o.version)} (expected 1)`);
    if (typeof o.normalize !== 'boolean') bad('"normalize" must be a boolean');
    if (!Array.isArray(o.tokens) || !o.tokens.every((t) => typeof t === 'string' && t.length > 0)) {
      bad('"tokens" must be an array of non-empty strings');
    }
    const tokens = o.tokens as string[];
    if (tokens[PAD_ID] !== PAD_TOKEN || tokens[UNK_ID] !== UNK_TOKEN) {
      bad(`tokens must start with "${PAD_TOKEN}", "${UNK_TOKEN}"`);
    }
    if (new Set(tokens).size !== tokens.length) bad('duplicate tokens');
    return new Vocabulary([...tokens], o.normalize as boolean);
  }

  /** Number of ids, PAD and UNK included. */
  get size(): number {
    return this.tokens.length;
  }

  /** Id of a character (normalized first if the vocabulary was built with normalize); UNK_ID if unknown. */
  indexOf(ch: string): number {
    return this.index.get(this.normalize ? normalizeChar(ch) : ch) ?? UNK_ID;
  }

  /** The token string of an id; throws on an out-of-range id. */
  token(id: number): string {
    const t = this.tokens[id];
    if (t === undefined) throw new MentionflowError(`vocabulary id ${id} out of range [0, ${this.size})`);
    return t;
  }

  /** Ids of a character sequence, shape [chars.length]. */
  encode(chars: readonly string[]): Int32Array {
    const ids = new Int32Array(chars.length);
    for (let i = 0; i < chars.length; i++) ids[i] = this.indexOf(chars[i]);
    return ids;
  }

  /**
   * Ids of the tokens `${chars[i]}${positions[i]}` (char-positional tokens,
   * models/text/charPositions.ts), the same as encode() of those strings,
   * without building them: each character's ids at positions 0..9 are looked
   * up on its first occurrence and kept, for up to POSITIONAL_CACHE_LIMIT
   * characters (beyond that, looked up each time).
   */
  encodePositional(chars: readonly string[], positions: Int32Array): Int32Array {
    const cache = (this.positional ??= new Map());
    const ids = new Int32Array(chars.length);
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i];
      const p = positions[i];
      let row = cache.get(c);
      if (row === undefined) {
        row = new Int32Array(POSITIONS);
        for (let q = 0; q < POSITIONS; q++) row[q] = this.indexOf(c + q);
        if (cache.size < POSITIONAL_CACHE_LIMIT) cache.set(c, row);
      }
      ids[i] = p >= 0 && p < POSITIONS ? row[p] : this.indexOf(c + p);
    }
    return ids;
  }

  toJSON(): VocabularyJSON {
    return { version: 1, normalize: this.normalize, tokens: [...this.tokens] };
  }
}
