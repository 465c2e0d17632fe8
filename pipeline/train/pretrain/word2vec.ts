/**
 * word2vec skip-gram with negative sampling (Mikolov et al. 2013), in plain
 * TypeScript over Float32Arrays, following the reference word2vec.c:
 *   - vocabulary: tokens seen >= minCount times, by descending count (ties
 *     by UTF-16 order, so deterministic);
 *   - frequent tokens are dropped at random with word2vec's `sample` rule,
 *     a fresh draw per epoch;
 *   - for each kept token, a window shrunk at random to b in [1, window]
 *     on each side, never crossing a sentence;
 *   - each (centre, context) pair updates the context's input vector and the
 *     output vectors of the centre and of `negative` tokens drawn from the
 *     unigram distribution raised to 3/4;
 *   - the learning rate falls linearly from `learningRate` to 1e-4 of it
 *     over all epochs.
 * Input vectors start uniform in [-0.5/dim, 0.5/dim], output vectors at 0;
 * the result is the input vectors. Single-threaded and seeded (models/rng.ts),
 * so a run is repeatable exactly.
 */
import { ConfigError } from '../../../common/errors.js';
import { Rng } from '../../../models/rng.js';
import { Progress } from '../progress.js';

export interface Word2VecOptions {
  /** Vector size. */
  dim: number;
  /** Largest distance between a token and its context. Default 5. */
  window?: number;
  /** Negative samples per (token, context) pair. Default 5. */
  negative?: number;
  /** Passes over the corpus. Default 5. */
  epochs?: number;
  /** Ignore tokens seen fewer times. Default 2. */
  minCount?: number;
  /** Subsampling threshold of frequent tokens (0: off). Default 1e-4. */
  sample?: number;
  /** Starting learning rate. Default 0.025. */
  learningRate?: number;
  /** Seed of initialisation, subsampling, windows and negative draws. Default 1. */
  seed?: number;
  /** Label of the progress line (stderr). */
  label?: string;
  /** No progress output. */
  quiet?: boolean;
}

export interface Word2VecResult {
  dim: number;
  /** The vocabulary, most frequent first. */
  tokens: string[];
  /** Corpus count of each token. */
  counts: number[];
  /** Input vectors, [tokens.length, dim] row-major. */
  vectors: Float32Array;
  /** Token occurrences in the corpus (all tokens, before minCount and subsampling). */
  corpusTokens: number;
  /** Training pairs processed over all epochs. */
  pairs: number;
  seconds: number;
}

/** Defaults of the optional hyperparameters (undefined options take these). */
export const WORD2VEC_DEFAULTS = { window: 5, negative: 5, epochs: 5, minCount: 2, sample: 1e-4, learningRate: 0.025, seed: 1 } as const;

const MAX_EXP = 6;
const TABLE_SIZE = 1e6;

function check(o: Required<Omit<Word2VecOptions, 'label' | 'quiet'>>): void {
  const bad = (name: string, want: string, v: number) => {
    throw new ConfigError(`word2vec option "${name}" must be ${want}, got ${v}`);
  };
  const int = (name: keyof typeof o, min: number) => {
    const v = o[name];
    if (!Number.isInteger(v) || v < min) bad(name, `an integer >= ${min}`, v);
  };
  int('dim', 1);
  int('window', 1);
  int('negative', 1);
  int('epochs', 1);
  int('minCount', 1);
  int('seed', 0);
  if (!(o.sample >= 0 && o.sample < 1)) bad('sample', 'a number in [0, 1)', o.sample);
  if (!(o.learningRate > 0 && o.learningRate <= 1)) bad('learningRate', 'a number in (0, 1]', o.learningRate);
}

/** Vocabulary of tokens seen >= minCount times: tokens by descending count, and their counts. */
function buildVocab(corpus: readonly (readonly string[])[], minCount: number): { tokens: string[]; counts: number[]; total: number } {
  const counts = new Map<string, number>();
  let total = 0;
  for (const sentence of corpus) {
    for (const t of sentence) counts.set(t, (counts.get(t) ?? 0) + 1);
    total += sentence.length;
  }
  const kept = [...counts.entries()].filter(([, n]) => n >= minCount).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { tokens: kept.map(([t]) => t), counts: kept.map(([, n]) => n), total };
}

/** word2vec's negative-sampling table: token ids in proportion to count^0.75. */
function unigramTable(counts: readonly number[]): Int32Array {
  const size = Math.max(TABLE_SIZE, counts.length);
  const table = new Int32Array(size);
  const power = counts.map((c) => Math.pow(c, 0.75));
  const sum = power.reduce((a, b) => a + b, 0);
  let id = 0;
  let acc = power[0] / sum;
  for (let a = 0; a < size; a++) {
    table[a] = id;
    if (a / size > acc && id < counts.length - 1) acc += power[++id] / sum;
  }
  return table;
}

/** Trains skip-gram vectors on `corpus` (sentences of tokens); see the module comment. */
export function trainWord2Vec(corpus: readonly (readonly string[])[], options: Word2VecOptions): Word2VecResult {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Word2VecOptions;
  const o = { ...WORD2VEC_DEFAULTS, ...given };
  check(o);
  const started = Date.now();
  const { dim, window, negative, epochs, sample } = o;
  const { tokens, counts, total } = buildVocab(corpus, o.minCount);
  if (tokens.length === 0) throw new ConfigError(`word2vec: no token occurs ${o.minCount} times or more in a corpus of ${total} tokens`);
  const index = new Map(tokens.map((t, i) => [t, i]));
  const sentences = corpus.map((s) => Int32Array.from(s.map((t) => index.get(t) ?? -1).filter((id) => id >= 0)));
  const trainTokens = sentences.reduce((a, s) => a + s.length, 0);
  const rng = new Rng(o.seed);
  const vocabSize = tokens.length;
  const syn0 = new Float32Array(vocabSize * dim);
  for (let i = 0; i < syn0.length; i++) syn0[i] = (rng.next() - 0.5) / dim;
  const syn1 = new Float32Array(vocabSize * dim);
  const neu1e = new Float32Array(dim);
  const table = unigramTable(counts);
  // word2vec keeps a token with probability (sqrt(c / (s N)) + 1) * s N / c.
  const threshold = sample * trainTokens;
  const keep = Float64Array.from(counts, (c) => (sample > 0 ? Math.min(1, (Math.sqrt(c / threshold) + 1) * (threshold / c)) : 1));
  const progress = new Progress({ total: epochs * trainTokens, label: o.label ?? 'word2vec', quiet: o.quiet ?? false });
  const totalWork = epochs * trainTokens + 1;
  let processed = 0;
  let pairs = 0;
  let sinceTick = 0;
  const kept = new Int32Array(sentences.reduce((m, s) => Math.max(m, s.length), 1));

  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const sentence of sentences) {
      let n = 0;
      for (let i = 0; i < sentence.length; i++) if (keep[sentence[i]] >= 1 || rng.next() < keep[sentence[i]]) kept[n++] = sentence[i];
      const alpha = o.learningRate * Math.max(1e-4, 1 - processed / totalWork);
      for (let pos = 0; pos < n; pos++) {
        const centre = kept[pos];
        const reach = 1 + rng.int(window);
        const from = Math.max(0, pos - reach);
        const to = Math.min(n - 1, pos + reach);
        for (let c = from; c <= to; c++) {
          if (c === pos) continue;
          const l1 = kept[c] * dim;
          neu1e.fill(0);
          for (let d = 0; d <= negative; d++) {
            let target: number;
            let label: number;
            if (d === 0) {
              target = centre;
              label = 1;
            } else {
              target = table[rng.int(table.length)];
              if (target === centre) continue;
              label = 0;
            }
            const l2 = target * dim;
            let f = 0;
            for (let k = 0; k < dim; k++) f += syn0[l1 + k] * syn1[l2 + k];
            const g = (f > MAX_EXP ? label - 1 : f < -MAX_EXP ? label : label - 1 / (1 + Math.exp(-f))) * alpha;
            for (let k = 0; k < dim; k++) {
              neu1e[k] += g * syn1[l2 + k];
              syn1[l2 + k] += g * syn0[l1 + k];
            }
          }
          for (let k = 0; k < dim; k++) syn0[l1 + k] += neu1e[k];
          pairs++;
        }
      }
      processed += sentence.length;
      sinceTick += sentence.length;
      if (sinceTick >= 20000) {
        progress.tick(sinceTick, `epoch ${epoch + 1}/${epochs}, lr ${alpha.toFixed(4)}`);
        sinceTick = 0;
      }
    }
  }
  progress.tick(sinceTick);
  const seconds = (Date.now() - started) / 1000;
  progress.finish(`${tokens.length.toLocaleString('en-US')} tokens x ${dim} dims, ${epochs} epochs over ${trainTokens.toLocaleString('en-US')} tokens in ${seconds.toFixed(1)}s`);
  return { dim, tokens, counts, vectors: syn0, corpusTokens: total, pairs, seconds };
}

/** Cosine similarity of rows `a` and `b` of a [*, dim] row-major matrix. */
export function cosine(vectors: Float32Array, dim: number, a: number, b: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let k = 0; k < dim; k++) {
    const x = vectors[a * dim + k];
    const y = vectors[b * dim + k];
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
