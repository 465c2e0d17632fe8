/**
 * Sparse features from character-level taggings of a sentence ("channels"):
 * each channel is one tag per character (a BIES position in a predicted word,
 * a BIES position in a dictionary match of some name type, O outside), and
 * a fixed set of templates combines a channel's tags with the characters.
 * The feature strings are hashed with the same FNV-1a into the same buckets
 * as the lexical features (models/features/lexical.ts), so they share that
 * table; the keys start with the channel name, so they never equal a lexical
 * key. Used by the NER head for
 *   - segmentation features (Table 1 rows 2 and 6): the BIES tags the
 *     model's own segmentation head predicts (channel "seg");
 *   - name-dictionary features: per name type (PER, LOC, ORG), the BIES
 *     position of each character in a forward-maximum-matching of the
 *     sentence against that type's words (channels "dict.PER", ...).
 * Everything here is a pure function of its arguments.
 */
import { ConfigError } from '../../common/errors.js';
import { biesToWordSpans, lengthsToBies } from '../text/segTags.js';
import { fnv1a32 } from './lexical.js';
import { SOFT_LEXICON_TEMPLATES, SoftLexicon, softLexiconFeatureIds } from './softLexicon.js';

/** One character-level tagging of a sentence. */
export interface TagChannel {
  name: string;
  /** One tag per character. */
  tags: readonly string[];
}

type Part = readonly ['tag' | 'char', number];

/**
 * Templates per channel, in template order: (tag), (tag, char),
 * (previous tag, tag), (tag, next tag), (previous, current, next tag).
 */
const CHANNEL_TEMPLATES: readonly (readonly Part[])[] = [
  [['tag', 0]],
  [['tag', 0], ['char', 0]],
  [['tag', -1], ['tag', 0]],
  [['tag', 0], ['tag', 1]],
  [['tag', -1], ['tag', 0], ['tag', 1]],
];

/** Feature templates added per channel. */
export const TEMPLATES_PER_CHANNEL = CHANNEL_TEMPLATES.length;

function at(xs: readonly string[], j: number): string {
  if (j < 0) return `<B${j}>`;
  if (j >= xs.length) return `<E+${j - xs.length + 1}>`;
  return xs[j];
}

/**
 * Feature ids of one sentence from its channels, shape
 * [T, channels.length * TEMPLATES_PER_CHANNEL] row-major (channel-major
 * within a position), each in [1, numBuckets).
 */
export function tagFeatureIds(chars: readonly string[], channels: readonly TagChannel[], numBuckets: number): Int32Array {
  if (!Number.isInteger(numBuckets) || numBuckets < 2) throw new ConfigError(`numBuckets must be an integer >= 2, got ${numBuckets}`);
  const per = channels.length * TEMPLATES_PER_CHANNEL;
  const out = new Int32Array(chars.length * per);
  channels.forEach((ch, c) => {
    if (ch.tags.length !== chars.length) throw new Error(`channel ${ch.name} has ${ch.tags.length} tags for ${chars.length} characters`);
    for (let t = 0; t < chars.length; t++) {
      CHANNEL_TEMPLATES.forEach((parts, k) => {
        const values = parts.map(([kind, o]) => at(kind === 'tag' ? ch.tags : chars, t + o));
        const key = `${ch.name}#${k}\u0001${values.join('\u0001')}`;
        out[t * per + c * TEMPLATES_PER_CHANNEL + k] = 1 + (fnv1a32(key) % (numBuckets - 1));
      });
    }
  });
  return out;
}

/** Interleaves per-position feature rows: [T, a] and [T, b] -> [T, a + b]. */
export function concatFeatureRows(a: Int32Array, aPer: number, b: Int32Array, bPer: number, steps: number): Int32Array {
  if (a.length !== steps * aPer || b.length !== steps * bPer) throw new Error('feature rows do not match the sentence length');
  const per = aPer + bPer;
  const out = new Int32Array(steps * per);
  // Element by element: two subarray views per position cost more than the copy (a few ids each).
  for (let t = 0, o = 0; t < steps; t++) {
    for (let i = t * aPer, e = i + aPer; i < e; i++) out[o++] = a[i];
    for (let i = t * bPer, e = i + bPer; i < e; i++) out[o++] = b[i];
  }
  return out;
}

/**
 * Well-formed BIES tags from a predicted tag sequence: a prediction is
 * already well-formed under the segmentation head's CRF constraints; other
 * input is read leniently, as biesToWordSpans does.
 */
export function normalizeBies(tags: readonly string[]): string[] {
  return lengthsToBies(biesToWordSpans(tags).map((w) => w.end - w.start));
}

/** A set of words of one name type, for forward maximum matching. */
export interface WordSet {
  words: ReadonlySet<string>;
  /** Longest word, in code points. */
  maxLength: number;
}

export function wordSet(words: Iterable<string>): WordSet {
  const set = new Set<string>();
  let maxLength = 0;
  for (const w of words) {
    if (w.length === 0) continue;
    set.add(w);
    maxLength = Math.max(maxLength, [...w].length);
  }
  return { words: set, maxLength };
}

/**
 * Forward maximum matching of `chars` against `dict`: from the left, the
 * longest word (>= minLength code points) starting at the current position
 * is taken and tagged B I.. E (S for one character), and matching resumes
 * after it; a character no word starts at is tagged O.
 */
export function forwardMaxMatch(chars: readonly string[], dict: WordSet, minLength = 1): string[] {
  const out: string[] = new Array(chars.length).fill('O');
  let i = 0;
  while (i < chars.length) {
    let matched = 0;
    for (let n = Math.min(dict.maxLength, chars.length - i); n >= minLength && n >= 1; n--) {
      if (dict.words.has(chars.slice(i, i + n).join(''))) {
        matched = n;
        break;
      }
    }
    if (matched === 0) {
      i += 1;
      continue;
    }
    const tags = lengthsToBies([matched]);
    for (let k = 0; k < matched; k++) out[i + k] = tags[k];
    i += matched;
  }
  return out;
}

/** Name types of the dictionary features and the jieba part-of-speech tags mapped to them. */
export const NAME_POS: Readonly<Record<string, readonly string[]>> = {
  PER: ['nr', 'nrt', 'nrfg'],
  LOC: ['ns'],
  ORG: ['nt'],
};

export interface NameLexiconOptions {
  /** Words seen fewer times than this in the dictionary are dropped. */
  minFreq: number;
  /** Words shorter than this (code points) are dropped. */
  minLength: number;
}

/**
 * Parses a jieba-style dictionary (`word freq pos` per line, freq and pos
 * optional) into the words of each name type (NAME_POS), sorted, filtered
 * by frequency and length. Lines of other parts of speech are skipped.
 */
export function parseNameLexicon(text: string, opts: NameLexiconOptions): Record<string, string[]> {
  const byPos = new Map<string, string>();
  for (const [type, tags] of Object.entries(NAME_POS)) for (const t of tags) byPos.set(t, type);
  const out: Record<string, Set<string>> = Object.fromEntries(Object.keys(NAME_POS).map((t) => [t, new Set<string>()]));
  for (const raw of text.split(/\r?\n/)) {
    const parts = raw.trim().split(/\s+/);
    if (parts.length < 3) continue;
    const [word, freqText, pos] = parts;
    const type = byPos.get(pos);
    if (!type) continue;
    const freq = Number(freqText);
    if (!Number.isFinite(freq) || freq < opts.minFreq) continue;
    if ([...word].length < opts.minLength) continue;
    out[type].add(word);
  }
  return Object.fromEntries(Object.entries(out).map(([t, s]) => [t, [...s].sort()]));
}

/** The channel name of a dictionary name type. */
export function dictChannelName(type: string): string {
  return `dict.${type}`;
}

/** Dictionary channels of a sentence: one forward-maximum-matching per name type, in `types` order. */
export function dictionaryChannels(chars: readonly string[], sets: readonly (readonly [string, WordSet])[]): TagChannel[] {
  return sets.map(([type, set]) => ({ name: dictChannelName(type), tags: forwardMaxMatch(chars, set) }));
}

/** The tag features of a model's NER head, as recorded in the artifact manifest (`tagFeatures`). */
export interface TagFeaturesSpec {
  /** Channel "seg": the BIES tags the model's own segmentation head predicts for the sentence. */
  segmentation?: boolean;
  /** Channels "dict.<type>": forward maximum matching against each type's words. */
  dictionary?: {
    /** Base name of the dictionary file the words came from. */
    source: string;
    minFreq: number;
    minLength: number;
    /** Per name type, its words joined by single spaces (jieba words contain no spaces). */
    words: Record<string, string>;
  };
  /**
   * SoftLexicon B/M/E/S word-set features from a general dictionary
   * (models/features/softLexicon.ts), added after the channels' templates.
   * Format version 5.
   */
  softLexicon?: {
    /** Base name of the dictionary file the entries came from. */
    source: string;
    maxWordLength: number;
    topN: number;
    /** The kept entries, `word freq pos` lines joined by "\n" (pos is the class: nr ns nt nz n x). */
    entries: string;
  };
}

/** The dictionary part of a spec from parsed words. */
export function dictionarySpec(source: string, words: Record<string, readonly string[]>, opts: NameLexiconOptions): NonNullable<TagFeaturesSpec['dictionary']> {
  for (const [type, ws] of Object.entries(words)) {
    const bad = ws.find((w) => w.length === 0 || /\s/.test(w));
    if (bad !== undefined) throw new ConfigError(`dictionary word ${JSON.stringify(bad)} (${type}) is empty or holds whitespace`);
  }
  return { source, minFreq: opts.minFreq, minLength: opts.minLength, words: Object.fromEntries(Object.entries(words).map(([t, ws]) => [t, ws.join(' ')])) };
}

/**
 * Computes a spec's channels for sentences; builds the dictionary's word
 * sets once. Channel order: "seg" first, then the dictionary types sorted.
 */
export class TagFeatureExtractor {
  private readonly sets: (readonly [string, WordSet])[];
  private readonly lexicon?: SoftLexicon;

  constructor(readonly spec: TagFeaturesSpec) {
    if (spec.softLexicon) this.lexicon = SoftLexicon.fromSerialized(spec.softLexicon.entries);
    const words = spec.dictionary?.words ?? {};
    this.sets = Object.keys(words)
      .sort()
      .map((type) => [type, wordSet(words[type].split(' ').filter((w) => w.length > 0))] as const);
  }

  /** Channels per sentence. */
  get channelCount(): number {
    return (this.spec.segmentation ? 1 : 0) + this.sets.length;
  }

  /** Features per position this extractor adds. */
  get featuresPerStep(): number {
    return this.channelCount * TEMPLATES_PER_CHANNEL + (this.lexicon ? SOFT_LEXICON_TEMPLATES : 0);
  }

  channels(chars: readonly string[], segTags?: readonly string[]): TagChannel[] {
    const out: TagChannel[] = [];
    if (this.spec.segmentation) {
      if (!segTags) throw new Error('segmentation features need the predicted segmentation of the sentence');
      out.push({ name: 'seg', tags: normalizeBies(segTags) });
    }
    out.push(...dictionaryChannels(chars, this.sets));
    return out;
  }

  /** Feature ids [T, featuresPerStep] of one sentence. */
  featureIds(chars: readonly string[], numBuckets: number, segTags?: readonly string[]): Int32Array {
    const channels = this.channels(chars, segTags);
    const ids = tagFeatureIds(chars, channels, numBuckets);
    if (!this.lexicon) return ids;
    return concatFeatureRows(ids, channels.length * TEMPLATES_PER_CHANNEL, softLexiconFeatureIds(chars, this.lexicon, numBuckets), SOFT_LEXICON_TEMPLATES, chars.length);
  }
}
