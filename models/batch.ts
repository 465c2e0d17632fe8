/**
 * Padded batches. Sentences arrive as id arrays of different lengths; a
 * batch right-pads them to the longest one (T) and records lengths and a
 * mask. Buffers are plain typed arrays; tensors are made by the model.
 */
import { FEATURE_TEMPLATES } from './features/lexical.js';

export interface EncodedSentence {
  /** Character ids [T]. */
  ids: Int32Array;
  /**
   * Hashed feature ids [T * F], row-major: the FEATURE_TEMPLATES lexical
   * features, then any tag features (models/features/tagFeatures.ts) of the
   * head; absent when features are off.
   */
  features?: Int32Array;
  /** Gold tag ids [T]; absent at inference. */
  tags?: Int32Array;
}

export interface Batch {
  size: number; // B
  steps: number; // T (longest length)
  lengths: Int32Array; // [B]
  ids: Int32Array; // [B * T], 0 (PAD) past each length
  features?: Int32Array; // [B * T * F], 0 past each length
  featuresPerStep?: number; // F, when features are present
  mask: Float32Array; // [B * T], 1 for real positions
  tags?: Int32Array; // [B * T], 0 past each length
  lastTags?: Int32Array; // [B], gold tag at each last real position
}

/** Pads `sentences` (each of length >= 1) into one batch. */
export function makeBatch(sentences: readonly EncodedSentence[]): Batch {
  const size = sentences.length;
  let steps = 1;
  for (const s of sentences) steps = Math.max(steps, s.ids.length);
  const withFeatures = sentences.length > 0 && sentences.every((s) => s.features !== undefined);
  const f = withFeatures ? featuresPerStep(sentences[0]) : 0;
  if (withFeatures && sentences.some((s) => featuresPerStep(s) !== f)) throw new Error('sentences of one batch have different numbers of features per position');
  const withTags = sentences.length > 0 && sentences.every((s) => s.tags !== undefined);
  const lengths = new Int32Array(size);
  const ids = new Int32Array(size * steps);
  const mask = new Float32Array(size * steps);
  const features = withFeatures ? new Int32Array(size * steps * f) : undefined;
  const tags = withTags ? new Int32Array(size * steps) : undefined;
  const lastTags = withTags ? new Int32Array(size) : undefined;
  sentences.forEach((s, b) => {
    const len = s.ids.length;
    lengths[b] = len;
    ids.set(s.ids, b * steps);
    mask.fill(1, b * steps, b * steps + len);
    if (features) features.set(s.features!, b * steps * f);
    if (tags) {
      tags.set(s.tags!, b * steps);
      lastTags![b] = s.tags![len - 1];
    }
  });
  return { size, steps, lengths, ids, features, featuresPerStep: withFeatures ? f : undefined, mask, tags, lastTags };
}

/** Features per position of an encoded sentence (FEATURE_TEMPLATES plus any tag features). */
export function featuresPerStep(s: EncodedSentence): number {
  const n = s.ids.length;
  const f = n > 0 ? s.features!.length / n : FEATURE_TEMPLATES;
  if (!Number.isInteger(f)) throw new Error(`a sentence of ${n} characters has ${s.features!.length} feature ids`);
  return f;
}

/**
 * Groups sentence indices into batches of similar length (sorted by length,
 * cut every `batchSize`), which keeps padding waste low. A batch is also cut
 * before it would exceed `maxCells` cells (sentences x longest length, the
 * size of its padded tensors); a batch always holds at least one sentence.
 * The order of the batches is left to the caller (shuffle it for training).
 */
export function lengthBuckets(lengths: readonly number[], batchSize: number, maxCells = Infinity): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const out: number[][] = [];
  let start = 0;
  for (let i = 1; i <= order.length; i++) {
    // sorted ascending: the sentence at i would be the longest of the batch
    const full = i - start === batchSize || (i < order.length && (i - start + 1) * lengths[order[i]] > maxCells);
    if (i === order.length || full) {
      out.push(order.slice(start, i));
      start = i;
    }
  }
  return out;
}

/** Fraction of a batch's cells that are padding. */
export function paddingWaste(batch: Batch): number {
  let real = 0;
  for (let b = 0; b < batch.size; b++) real += batch.lengths[b];
  return batch.size === 0 ? 0 : 1 - real / (batch.size * batch.steps);
}

/**
 * What one tensor batch costs at inference beyond its cells, in cells: a
 * forward pass has a fixed cost (tensor creation, the embedding and
 * lexical-feature gathers, kernel launches, reading the emissions back) of
 * about 9-13 ms on one core against about 20 us per cell (sentences x
 * padded length), fitted over B 1-48 x T 16-160 with the shipped model
 * (BENCHMARKS.md, Round 2: useful work).
 */
export const PASS_CELLS = 512;

let leastCost = true;
let passCost = PASS_CELLS;

/**
 * Sets the pass cost inferenceBuckets uses by default (cells, >= 0), for
 * this process; benchmarks use it to compare cost models in one run.
 * PASS_CELLS by default.
 */
export function usePassCells(cells: number): void {
  if (!Number.isFinite(cells) || cells < 0) throw new RangeError(`pass cost must be a finite number of cells >= 0, got ${cells}`);
  passCost = cells;
}

/**
 * Switches inference grouping between inferenceBuckets' least-cost cuts (on,
 * the default) and lengthBuckets' greedy cuts, for this process; benchmarks
 * use it to compare both in one run.
 */
export function useLeastCostBuckets(on: boolean): void {
  leastCost = on;
}

/**
 * Groups sentence indices into tensor batches for inference: sorted by
 * length (as lengthBuckets), then cut where the total cost is least, a batch
 * costing `passCells` plus its cells (sentences x longest length), under the
 * same limits as lengthBuckets (at most `batchSize` sentences and `maxCells`
 * cells, at least one sentence). lengthBuckets fills each batch up to a
 * limit, so a batch of short posts is padded to the longest that still fits;
 * here a batch is cut earlier when the padding it saves costs more than
 * another pass. Exact, by dynamic programming over the sorted lengths
 * (O(n x batchSize)). Batches come out shortest first. With
 * useLeastCostBuckets(false), lengthBuckets' grouping. `passCells`
 * defaults to PASS_CELLS (or what usePassCells set).
 */
export function inferenceBuckets(lengths: readonly number[], batchSize: number, maxCells = Infinity, passCells = passCost): number[][] {
  if (!leastCost) return lengthBuckets(lengths, batchSize, maxCells);
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const n = order.length;
  // best[i]: least cost of the first i sorted sentences; cut[i]: where their last batch starts.
  const best = new Float64Array(n + 1).fill(Infinity);
  const cut = new Int32Array(n + 1);
  best[0] = 0;
  for (let i = 1; i <= n; i++) {
    const steps = lengths[order[i - 1]]; // the longest of any batch ending at i
    for (let j = i - 1; j >= 0 && i - j <= batchSize; j--) {
      const count = i - j;
      if (count > 1 && count * steps > maxCells) break;
      const cost = best[j] + passCells + count * steps;
      if (cost < best[i]) {
        best[i] = cost;
        cut[i] = j;
      }
    }
  }
  const out: number[][] = [];
  for (let i = n; i > 0; i = cut[i]) out.push(order.slice(cut[i], i));
  return out.reverse();
}
