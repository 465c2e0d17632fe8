/**
 * Packed inference batches. In a padded batch (batch.ts) every sentence has a
 * row of its own, right-padded to the longest of the batch, and the padding is
 * computed like real characters. Here several sentences share a row, one after
 * another with one separator step between two neighbours, so a tensor batch of
 * mixed lengths computes few cells that are not characters. The recurrence is
 * reset at each separator (the LSTM's separator input zeroes its state, see
 * LstmEncoder.applyPacked) and the CRF decodes each sentence's own emissions,
 * so a packed sentence gets the scores it gets alone.
 *
 * Layout of one tensor batch: R rows of T steps; sentence j lies in row
 * `row[j]` from position `at[j]` for `lengths[j]` steps; position `at[j] - 1`
 * (when at[j] > 0) is the separator before it; positions from `used[r]` on are
 * padding. On the flat character axis (N characters, the order the sentences
 * are listed in) sentence j starts at `starts[j]`. Buffers are plain typed
 * arrays; tensors are made by the model.
 */
import { type EncodedSentence, featuresPerStep } from './batch.js';

export interface PackedLayout {
  /** Characters per sentence [S] (S sentences). */
  lengths: Int32Array;
  /** First position of each sentence on the flat character axis [S]. */
  starts: Int32Array;
  /** Characters in all (N, the sum of lengths). */
  chars: number;
  /** Rows R. */
  rows: number;
  /** Steps per row T (the longest sentence of the batch). */
  steps: number;
  /** The row of each sentence [S]. */
  row: Int32Array;
  /** Each sentence's first position in its row [S]. */
  at: Int32Array;
  /** Positions of each row that hold characters or separators [R]. */
  used: Int32Array;
}

/** One packed tensor batch: the indices of its sentences (in flat order) and their layout. */
export interface PackedGroup {
  sentences: number[];
  layout: PackedLayout;
}

/** A packed batch's inputs on the flat character axis. */
export interface PackedBatch {
  layout: PackedLayout;
  /** Character ids [N]. */
  ids: Int32Array;
  /** Hashed feature ids [N * F], when the head has features. */
  features?: Int32Array;
  /** F, when features are present. */
  featuresPerStep?: number;
}

let packing = true;

/**
 * Switches inference between packed batches (on, the default, where the
 * network can pack: see TaggingNetwork.canPack) and padded ones, for this
 * process; benchmarks use it to compare both in one run.
 */
export function usePacking(on: boolean): void {
  packing = on;
}

/** True unless usePacking(false) turned packing off. */
export function packingEnabled(): boolean {
  return packing;
}

/**
 * Groups sentence indices into packed tensor batches, longest
 * first. A batch's row length is its longest sentence; it holds at most
 * `maxRows` rows and, beyond one row, at most `maxCells` cells (rows x row
 * length), the same limits a padded batch has on sentences and cells. Each
 * batch is filled first-fit in decreasing length: a sentence goes into the
 * first row where it and its separator fit, or opens a row while the batch
 * may grow; the rest wait for the next batch. Deterministic.
 */
export function packRows(lengths: readonly number[], maxRows: number, maxCells = Infinity): PackedGroup[] {
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`maxRows must be an integer >= 1, got ${maxRows}`);
  let waiting = lengths.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
  const out: PackedGroup[] = [];
  while (waiting.length > 0) {
    const steps = Math.max(1, lengths[waiting[0]]); // a batch of empty sentences still has one step
    const cap = Math.max(1, Math.min(maxRows, Math.floor(maxCells / steps)));
    const used: number[] = [];
    const members: number[][] = [];
    const left: number[] = [];
    for (const i of waiting) {
      const len = lengths[i];
      let r = used.findIndex((u) => u + 1 + len <= steps);
      if (r < 0 && used.length < cap) {
        r = used.length;
        used.push(-1); // no separator before a row's first sentence
        members.push([]);
      }
      if (r < 0) left.push(i);
      else {
        used[r] += 1 + len;
        members[r].push(i);
      }
    }
    out.push(layoutOf(members, lengths, steps));
    waiting = left;
  }
  return out;
}

function layoutOf(members: number[][], lengths: readonly number[], steps: number): PackedGroup {
  const sentences = members.flat();
  const size = sentences.length;
  const layout: PackedLayout = {
    lengths: new Int32Array(size),
    starts: new Int32Array(size),
    chars: 0,
    rows: members.length,
    steps,
    row: new Int32Array(size),
    at: new Int32Array(size),
    used: new Int32Array(members.length),
  };
  let j = 0;
  members.forEach((ids, r) => {
    let pos = 0;
    for (const i of ids) {
      if (pos > 0) pos += 1; // the separator
      layout.lengths[j] = lengths[i];
      layout.starts[j] = layout.chars;
      layout.row[j] = r;
      layout.at[j] = pos;
      layout.chars += lengths[i];
      pos += lengths[i];
      j++;
    }
    layout.used[r] = pos;
  });
  return { sentences, layout };
}

/** Concatenates the encoded sentences of a group (in the group's order) on the flat character axis. */
export function makePackedBatch(sentences: readonly EncodedSentence[], layout: PackedLayout): PackedBatch {
  if (sentences.length !== layout.lengths.length) throw new Error(`a layout of ${layout.lengths.length} sentences was given ${sentences.length}`);
  const ids = new Int32Array(layout.chars);
  const withFeatures = sentences.length > 0 && sentences.every((s) => s.features !== undefined);
  const f = withFeatures ? featuresPerStep(sentences[0]) : 0;
  const features = withFeatures ? new Int32Array(layout.chars * f) : undefined;
  sentences.forEach((s, j) => {
    if (s.ids.length !== layout.lengths[j]) throw new Error(`sentence ${j} has ${s.ids.length} ids, its layout ${layout.lengths[j]}`);
    ids.set(s.ids, layout.starts[j]);
    if (features) {
      if (featuresPerStep(s) !== f) throw new Error('sentences of one batch have different numbers of features per position');
      features.set(s.features!, layout.starts[j] * f);
    }
  });
  return { layout, ids, features, featuresPerStep: withFeatures ? f : undefined };
}
