/**
 * SoftLexicon features (Ma et al. 2020, "Simplify the usage of lexicon in
 * Chinese NER") as sparse templates of the CRF emissions. For each
 * character c[t] of a sentence, the dictionary words matching the sentence
 * are sorted into four sets:
 *   B(t): words of >= 2 characters that start at t,
 *   M(t): words of >= 3 characters with t strictly inside,
 *   E(t): words of >= 2 characters that end at t,
 *   S(t): c[t] itself, when it is a dictionary word.
 * The paper summarises each set by a frequency-weighted mean of word
 * embeddings; this project's NER head is a CRF over LSTM emissions plus
 * hashed sparse features, so each set is summarised by a few discrete
 * values instead (see `softLexiconFeatureIds`): the frequency class of its
 * most frequent word, the part-of-speech classes of its words (person /
 * place / organisation / other proper name / common noun / other), and the
 * length of its longest word. The values are hashed into the lexical
 * buckets like the other templates.
 *
 * The dictionary is jieba's format, `word freq pos` a line (jieba's dict.txt
 * holds ~350k words). Pure functions of their arguments.
 */
import { ConfigError } from '../../common/errors.js';
import { fnv1a32, fnv1aFeed } from './lexical.js';

/** Part-of-speech classes kept apart (jieba tags mapped by `posClass`). */
export const POS_CLASSES = ['nr', 'ns', 'nt', 'nz', 'n', 'x'] as const;
export type PosClass = (typeof POS_CLASSES)[number];

/** jieba tag -> class: nr/nrt/nrfg person, ns place, nt organisation, nz other proper noun, n common noun, everything else x. */
export function posClass(tag: string): PosClass {
  if (tag === 'nr' || tag === 'nrt' || tag === 'nrfg') return 'nr';
  if (tag === 'ns' || tag === 'nt' || tag === 'nz' || tag === 'n') return tag;
  return 'x';
}

/** One dictionary entry. */
export interface LexiconEntry {
  word: string;
  freq: number;
  pos: PosClass;
}

export interface SoftLexiconOptions {
  /** Longest word kept and matched, in code points. */
  maxWordLength: number;
  /** Keep only the N most frequent words (ties by word order); 0 keeps all. */
  topN: number;
}

/**
 * Parses jieba-style lines (`word freq pos`; freq and pos optional: 1 and
 * x) into entries, longest word `maxWordLength`, duplicates merged (the
 * higher frequency wins), the `topN` most frequent kept, sorted by word.
 * A word holding whitespace cannot be written by this format, so none
 * occurs; a line with a frequency that is not a non-negative number is an error.
 */
export function parseSoftLexicon(text: string, opts: SoftLexiconOptions, source = 'dictionary'): LexiconEntry[] {
  const byWord = new Map<string, LexiconEntry>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const parts = raw.trim().split(/\s+/);
    if (parts[0] === '') return;
    const [word, freqText, tag] = parts;
    const freq = freqText === undefined ? 1 : Number(freqText);
    if (!Number.isFinite(freq) || freq < 0) throw new ConfigError(`${source} line ${i + 1}: frequency ${JSON.stringify(freqText)} is not a non-negative number (expected "word freq pos")`);
    if ([...word].length > opts.maxWordLength) return;
    const e: LexiconEntry = { word, freq, pos: posClass(tag ?? 'x') };
    const old = byWord.get(word);
    if (!old || old.freq < freq) byWord.set(word, e);
  });
  let entries = [...byWord.values()];
  if (opts.topN > 0 && entries.length > opts.topN) {
    entries = entries.sort((a, b) => b.freq - a.freq || (a.word < b.word ? -1 : 1)).slice(0, opts.topN);
  }
  return entries.sort((a, b) => (a.word < b.word ? -1 : a.word > b.word ? 1 : 0));
}

/** Entries as stored in the artifact: `word freq pos` lines joined by "\n". */
export function serializeEntries(entries: readonly LexiconEntry[]): string {
  return entries.map((e) => `${e.word} ${e.freq} ${e.pos}`).join('\n');
}

/** Keeps the first of equal words in a list sorted by word (the most frequent, as sorted by the constructor). */
function dedupeSorted(entries: LexiconEntry[]): LexiconEntry[] {
  return entries.filter((e, i) => i === 0 || entries[i - 1].word !== e.word);
}

/** The four sets, in this order. */
export const SETS = ['B', 'M', 'E', 'S'] as const;

/**
 * A dictionary for SoftLexicon matching: the entries sorted by word (UTF-16
 * code unit order) and a trie over their code units in typed arrays. Nodes
 * are numbered breadth first, so the children of a node are consecutive
 * numbers whose edge units ascend: a step down is a binary search over a few
 * adjacent 16-bit units, and a scan from a position walks down one step per
 * code unit, stopping where no word continues. The trie is built in one pass
 * over the sorted words (each node's words are a contiguous range of them);
 * a 350k-word dictionary gives about 0.5M nodes, 7 MB.
 */
export class SoftLexicon {
  private readonly entries: readonly LexiconEntry[];
  /** Per node: the code unit on the edge into it, its first child and child count, the entry it ends (-1: none). */
  private readonly unit: Uint16Array;
  private readonly firstChild: Int32Array;
  private readonly childCount: Int32Array;
  private readonly entryAt: Int32Array;
  /** The root's child on each code unit (-1: none): every match starts at the root, which has thousands of children. */
  private readonly rootChild: Int32Array;
  /** Per entry: freqClass(freq) and 1 << its POS class. */
  private readonly freqClasses: Int32Array;
  private readonly posBits: Int32Array;
  readonly maxWordLength: number;

  constructor(entries: readonly LexiconEntry[]) {
    const kept = entries.filter((e) => e.word.length > 0);
    const sorted = kept.every((e, i) => i === 0 || kept[i - 1].word < e.word);
    this.entries = sorted ? kept : dedupeSorted([...kept].sort((x, y) => (x.word < y.word ? -1 : x.word > y.word ? 1 : y.freq - x.freq)));
    const words = this.entries.map((e) => e.word);
    this.freqClasses = Int32Array.from(this.entries, (e) => freqClass(e.freq));
    this.posBits = Int32Array.from(this.entries, (e) => 1 << POS_CLASSES.indexOf(e.pos));
    let maxLen = 0;
    let units = 0;
    for (const w of words) {
      units += w.length;
      let points = 0;
      for (let i = 0; i < w.length; i++) {
        const c = w.charCodeAt(i);
        if (c < 0xdc00 || c > 0xdfff) points += 1;
      }
      maxLen = Math.max(maxLen, points);
    }
    this.maxWordLength = maxLen;
    // At most one node per code unit of the words, plus the root (trimmed to the nodes made, below).
    const cap = units + 1;
    const unit = new Uint16Array(cap);
    const firstChild = new Int32Array(cap);
    const childCount = new Int32Array(cap);
    const entryAt = new Int32Array(cap).fill(-1);
    // Node n's words are words[lo[n], hi[n]), all sharing its prefix of depth[n] code units.
    const lo = new Int32Array(cap);
    const hi = new Int32Array(cap);
    const depth = new Int32Array(cap);
    hi[0] = words.length;
    let nodes = 1;
    for (let n = 0; n < nodes; n++) {
      let a = lo[n];
      const b = hi[n];
      const d = depth[n];
      if (a < b && words[a].length === d) entryAt[n] = a++; // the prefix itself is a word: it sorts first
      firstChild[n] = nodes;
      while (a < b) {
        const u = words[a].charCodeAt(d);
        let e = a + 1;
        while (e < b && words[e].charCodeAt(d) === u) e++;
        unit[nodes] = u;
        lo[nodes] = a;
        hi[nodes] = e;
        depth[nodes] = d + 1;
        nodes++;
        a = e;
      }
      childCount[n] = nodes - firstChild[n];
    }
    this.unit = unit.slice(0, nodes);
    this.firstChild = firstChild.slice(0, nodes);
    this.childCount = childCount.slice(0, nodes);
    this.entryAt = entryAt.slice(0, nodes);
    this.rootChild = new Int32Array(0x10000).fill(-1);
    for (let c = firstChild[0]; c < firstChild[0] + childCount[0]; c++) this.rootChild[unit[c]] = c;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Reads the stored form (serializeEntries output: `word freq pos` lines). */
  static fromSerialized(text: string): SoftLexicon {
    const entries: LexiconEntry[] = [];
    if (text.length > 0) {
      for (const line of text.split('\n')) {
        const a = line.indexOf(' ');
        const b = line.indexOf(' ', a + 1);
        if (a <= 0 || b < 0) throw new ConfigError(`stored SoftLexicon entry ${JSON.stringify(line)} is not "word freq pos"`);
        entries.push({ word: line.slice(0, a), freq: Number(line.slice(a + 1, b)), pos: posClass(line.slice(b + 1)) });
      }
    }
    return new SoftLexicon(entries);
  }

  /** The child of `node` on code unit `u`, or -1. */
  private child(node: number, u: number): number {
    if (node === 0) return this.rootChild[u];
    let a = this.firstChild[node];
    let b = a + this.childCount[node];
    while (a < b) {
      const mid = (a + b) >>> 1;
      const m = this.unit[mid];
      if (m < u) a = mid + 1;
      else if (m > u) b = mid;
      else return mid;
    }
    return -1;
  }

  /** The node `s` leads to from `node`, or -1. */
  private walk(node: number, s: string): number {
    for (let k = 0; k < s.length && node >= 0; k++) node = this.child(node, s.charCodeAt(k));
    return node;
  }

  lookup(word: string): LexiconEntry | undefined {
    if (word.length === 0) return undefined;
    const node = this.walk(0, word);
    return node >= 0 && this.entryAt[node] >= 0 ? this.entries[this.entryAt[node]] : undefined;
  }

  /**
   * Calls visit(start, end, entry index) for every dictionary word occurrence
   * in `chars`: [start, end) in code points, end - start >= 1, by start, then
   * by end.
   */
  private forEachMatch(chars: readonly string[], visit: (start: number, end: number, entry: number) => void): void {
    for (let i = 0; i < chars.length; i++) {
      if (chars[i].length === 0) continue;
      let node = 0;
      for (let j = i; j < chars.length && j - i < this.maxWordLength; j++) {
        node = this.walk(node, chars[j]);
        if (node < 0) break; // no word continues this string
        if (this.entryAt[node] >= 0) visit(i, j + 1, this.entryAt[node]);
      }
    }
  }

  /** Every dictionary word occurrence in `chars`: [start, end) in code points, end - start >= 1. */
  matches(chars: readonly string[]): { start: number; end: number; entry: LexiconEntry }[] {
    const out: { start: number; end: number; entry: LexiconEntry }[] = [];
    this.forEachMatch(chars, (start, end, e) => out.push({ start, end, entry: this.entries[e] }));
    return out;
  }

  /**
   * The B/M/E/S sets of every position, summarised as softLexiconFeatureIds
   * reads them, in typed arrays [T * 4]
   * (position t, set k in SETS order at t * 4 + k): the highest frequency
   * class in the set (-1: empty; the class of the highest frequency, as
   * freqClass is monotone), the OR of its POS bits, its longest word length.
   */
  setTables(chars: readonly string[]): { freqClass: Int32Array; posMask: Int32Array; maxLength: Int32Array } {
    const n = chars.length;
    const fc = new Int32Array(n * 4).fill(-1);
    const posMask = new Int32Array(n * 4);
    const maxLength = new Int32Array(n * 4);
    const put = (slot: number, e: number, len: number) => {
      const c = this.freqClasses[e];
      if (c > fc[slot]) fc[slot] = c;
      posMask[slot] |= this.posBits[e];
      if (len > maxLength[slot]) maxLength[slot] = len;
    };
    this.forEachMatch(chars, (start, end, e) => {
      const len = end - start;
      if (len === 1) {
        put(start * 4 + 3, e, 1);
        return;
      }
      put(start * 4, e, len);
      for (let t = start + 1; t < end - 1; t++) put(t * 4 + 1, e, len);
      put((end - 1) * 4 + 2, e, len);
    });
    return { freqClass: fc, posMask, maxLength };
  }
}

/** Frequency class of a word: floor(log4(freq + 1)), so 0 for frequencies 0-2, 1 for 3-14, 2 for 15-62, ..., 9 for 262,143-1,048,574. */
export function freqClass(freq: number): number {
  return Math.floor(Math.log(freq + 1) / Math.log(4));
}

function posText(mask: number): string {
  return POS_CLASSES.filter((_, i) => mask & (1 << i)).join('+');
}

/**
 * Templates per position: for each set (B, M, E, S) its frequency class,
 * its POS classes and its longest word length (a value "-" for an empty
 * set, so every slot always holds a feature); then the pattern of non-empty
 * sets ("BE", "S", ...) and that pattern with the character.
 */
export const SOFT_LEXICON_TEMPLATES = SETS.length * 3 + 2;

const VALUES = 64;

function patternText(mask: number): string {
  return SETS.filter((_, i) => mask & (1 << i)).join('');
}

/**
 * The ids of the value-only templates, computed once per bucket count:
 * [slot * VALUES + value] for the 12 set slots (value 0 = empty set; else
 * frequency class + 1, the POS mask, or the length capped at 6) and the
 * pattern slot 12 (value = mask of non-empty sets). The keys hashed are
 * those written out in softLexiconFeatureIds' doc.
 */
const slotTables = new Map<number, Int32Array>();
function slotIds(numBuckets: number): Int32Array {
  let table = slotTables.get(numBuckets);
  if (!table) {
    const hash = (key: string) => 1 + (fnv1a32(key) % (numBuckets - 1));
    table = new Int32Array(13 * VALUES);
    SETS.forEach((name, k) => {
      for (let v = 0; v < VALUES; v++) {
        table![(k * 3) * VALUES + v] = hash(`sl.${name}#f\u0001${v === 0 ? '-' : v - 1}`);
        table![(k * 3 + 1) * VALUES + v] = hash(`sl.${name}#p\u0001${v === 0 ? '-' : posText(v)}`);
        table![(k * 3 + 2) * VALUES + v] = hash(`sl.${name}#l\u0001${v === 0 ? '-' : v}`);
      }
    });
    for (let v = 0; v < 16; v++) table[12 * VALUES + v] = hash(`sl.pat\u0001${patternText(v)}`);
    slotTables.set(numBuckets, table);
  }
  return table;
}

/**
 * Feature ids of one sentence, shape [T, SOFT_LEXICON_TEMPLATES] row-major,
 * each in [1, numBuckets): the hashes (FNV-1a, as lexical.ts) of the keys
 * "sl.<set>#f\u0001<frequency class>", "sl.<set>#p\u0001<POS classes joined
 * by +>", "sl.<set>#l\u0001<longest length, at most 6>" per set ("-" for an
 * empty set), "sl.pat\u0001<non-empty sets>" and
 * "sl.patc\u0001<non-empty sets>\u0001<char>".
 */
export function softLexiconFeatureIds(chars: readonly string[], lexicon: SoftLexicon, numBuckets: number): Int32Array {
  if (!Number.isInteger(numBuckets) || numBuckets < 2) throw new ConfigError(`numBuckets must be an integer >= 2, got ${numBuckets}`);
  const per = SOFT_LEXICON_TEMPLATES;
  const out = new Int32Array(chars.length * per);
  const table = slotIds(numBuckets);
  const { freqClass: fc, posMask, maxLength } = lexicon.setTables(chars);
  const m = numBuckets - 1;
  for (let t = 0; t < chars.length; t++) {
    let pattern = 0;
    const row = t * per;
    for (let k = 0; k < 4; k++) {
      const slot = t * 4 + k;
      const empty = fc[slot] < 0;
      if (!empty) pattern |= 1 << k;
      out[row + k * 3] = table[(k * 3) * VALUES + (empty ? 0 : Math.min(fc[slot], VALUES - 2) + 1)];
      out[row + k * 3 + 1] = table[(k * 3 + 1) * VALUES + posMask[slot]];
      out[row + k * 3 + 2] = table[(k * 3 + 2) * VALUES + Math.min(maxLength[slot], 6)];
    }
    out[row + 12] = table[12 * VALUES + pattern];
    out[row + 13] = 1 + ((fnv1aFeed(PATC_STATES[pattern], chars[t]) >>> 0) % m);
  }
  return out;
}

/** FNV-1a state after "sl.patc\u0001<non-empty sets>\u0001" for each pattern of non-empty sets. */
const PATC_STATES = Array.from({ length: 16 }, (_, p) => fnv1aFeed(0x811c9dc5, `sl.patc\u0001${patternText(p)}\u0001`));
