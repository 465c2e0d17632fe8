/**
 * The worker's batches of a list of posts, and the padding the tagger
 * computes over them, as deterministic counts (no timing): the fixed batcher
 * (operators/batchItems.ts) with the worker's default limits, on virtual
 * time, then each batch cut into tensor batches exactly as
 * TaggerModel.predict cuts it (pieces of at most maxLength, then
 * inferenceBuckets' padded batches or packRows' packed ones, with the
 * tagger's batchSize and its pace's cell limit).
 */
import { from, VirtualTimeScheduler, timer, map, mergeMap } from 'rxjs';
import { inferenceBuckets } from '../models/batch.js';
import { packRows } from '../models/packing.js';
import { codePointLength } from '../models/text/codepoints.js';
import { batchItems } from '../operators/batchItems.js';
import type { Item } from '../operators/types.js';

export interface BatcherSettings {
  maxCount: number;
  maxChars: number;
  maxWaitMs: number;
  /** Posts arriving per second, evenly spaced; Infinity: a backlog (all at once, as when draining a topic). */
  postsPerSecond: number;
}

/** The texts grouped as the worker's fixed batcher groups them for `arrival`, in order. */
export function workerBatches(texts: readonly string[], s: BatcherSettings): string[][] {
  const scheduler = new VirtualTimeScheduler();
  const item = (text: string, i: number): Item<{ text: string }> => ({ kind: 'ok', ref: { topic: 't', partition: 0, offset: String(i), receivedAt: 0 }, payload: null, value: { text } });
  const source = Number.isFinite(s.postsPerSecond)
    ? from(texts.map((t, i) => [t, i] as const)).pipe(mergeMap(([t, i]) => timer((1000 * i) / s.postsPerSecond, scheduler).pipe(map(() => item(t, i)))))
    : from(texts.map(item));
  const out: string[][] = [];
  source.pipe(batchItems<{ text: string }>({ maxCount: s.maxCount, maxChars: s.maxChars, maxWaitMs: s.maxWaitMs, scheduler })).subscribe((b) => out.push(b.map((x) => (x.kind === 'ok' ? x.value.text : ''))));
  scheduler.flush();
  return out;
}

/** Lengths of the pieces (at most `maxLength` code points) the tagger cuts `texts` into, in order. */
export function pieceLengths(texts: readonly string[], maxLength: number): number[] {
  const out: number[] = [];
  for (const t of texts) for (let n = codePointLength(t); n > 0; n -= maxLength) out.push(Math.min(n, maxLength));
  return out;
}

export interface Padding {
  /** Real character positions. */
  real: number;
  /** Computed positions: sentences x padded length, summed over tensor batches. */
  cells: number;
  /** Tensor batches (forward passes). */
  passes: number;
}

/**
 * Cells the tagger computes for one call on `texts` (TaggerModel.predict's
 * grouping): padded batches by inferenceBuckets, or, with `packed` (what the
 * model does where TaggerModel.packs() is true), packed batches by packRows,
 * whose cells are rows x row length (separators and the rows' ends count as
 * padding).
 */
export function callPadding(texts: readonly string[], maxLength: number, batchSize: number, maxCells: number, packed = false): Padding {
  const lengths = pieceLengths(texts, maxLength);
  let real = 0;
  for (const n of lengths) real += n;
  if (packed) {
    const groups = packRows(lengths, batchSize, maxCells);
    let cells = 0;
    for (const { layout } of groups) cells += layout.rows * layout.steps;
    return { real, cells, passes: groups.length };
  }
  let cells = 0;
  const groups = inferenceBuckets(lengths, batchSize, maxCells);
  for (const g of groups) {
    let steps = 1;
    for (const i of g) steps = Math.max(steps, lengths[i]);
    cells += g.length * steps;
  }
  return { real, cells, passes: groups.length };
}

/**
 * Sum of callPadding over calls. `computesPadding` false: the network
 * computes the real characters only, whatever the grouping (the C kernel,
 * models/network/nativeHead.ts), so cells = real.
 */
export function totalPadding(calls: readonly (readonly string[])[], maxLength: number, batchSize: number, maxCells: number, packed = false, computesPadding = true): Padding {
  const sum: Padding = { real: 0, cells: 0, passes: 0 };
  for (const c of calls) {
    const p = callPadding(c, maxLength, batchSize, maxCells, packed);
    sum.real += p.real;
    sum.cells += p.cells;
    sum.passes += p.passes;
  }
  if (!computesPadding) sum.cells = sum.real;
  return sum;
}
