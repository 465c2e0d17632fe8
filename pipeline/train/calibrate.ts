/**
 * Decoding calibration of the NER head (issue 16): sweep the non-O emission
 * bias (models/crf/decodingBias.ts) over a grid on labelled dev data, pick
 * the bias of the best overall exact-span F1, then refine around it. The
 * network runs once per sentence; each bias only re-runs Viterbi on the
 * cached emissions.
 *
 * Tuning and reporting on the same data overstates the gain, so the sweep
 * also runs as a 2-fold check: the dev sentences are split by index parity
 * (even / odd), the bias is chosen on one half and scored on the other, and
 * the reverse; pooling the two held-out halves gives a dev score in which no
 * sentence was scored with a bias chosen on itself.
 */
import type { NerSentence } from '../../models/data/conll.js';
import { scoreSpans, type NerScores } from '../../models/eval/spanScorer.js';
import { detectScheme, tagsToSpans } from '../../models/text/labels.js';
import type { Span } from '../../models/text/spans.js';
import type { TaggerModel } from '../../models/taggerModel.js';

export interface CalibrationGrid {
  /** Lowest bias of the coarse grid. */
  min: number;
  /** Highest bias of the coarse grid. */
  max: number;
  /** Step of the coarse grid. */
  step: number;
  /** Step of the refinement, within one coarse step either side of the coarse best. */
  refineStep: number;
}

export const DEFAULT_GRID: CalibrationGrid = { min: -2, max: 4, step: 0.25, refineStep: 0.05 };

/** The scores of one bias value. */
export interface BiasRow {
  bias: number;
  scores: NerScores;
}

export interface FoldResult {
  /** Which half the bias was chosen on ("even" or "odd" sentence indices). */
  tunedOn: 'even' | 'odd';
  /** The bias chosen on that half. */
  bias: number;
  /** Scores on the other half: with bias 0 and with the chosen bias. */
  heldOutAtZero: NerScores;
  heldOutAtChosen: NerScores;
}

export interface Calibration {
  /** The model's own bias when loaded (the sweep's values are absolute, not added to it). */
  loadedBias: number;
  /** Every bias tried on all the data, sorted by bias. */
  rows: BiasRow[];
  /** The bias with the best overall F1 on all the data (ties: the one nearest 0). */
  chosen: BiasRow;
  /** Scores on all the data at bias 0. */
  atZero: BiasRow;
  folds: [FoldResult, FoldResult];
  /** Both held-out halves pooled: each sentence decoded with the bias chosen on the other half, and at bias 0. */
  crossFitted: { atZero: NerScores; atChosen: NerScores };
  sentences: number;
}

const round = (x: number): number => Math.round(x * 1e6) / 1e6;

function gridValues(min: number, max: number, step: number): number[] {
  if (!(step > 0) || !(max >= min)) throw new Error(`calibration grid ${min}..${max} step ${step} is empty`);
  const out: number[] = [];
  for (let i = 0; min + i * step <= max + 1e-9; i++) out.push(round(min + i * step));
  return out;
}

/** Picks the row of the best overall F1; ties go to the bias nearest 0, then to the lower bias. */
export function bestRow(rows: readonly BiasRow[]): BiasRow {
  let best = rows[0];
  for (const r of rows.slice(1)) {
    const d = r.scores.overall.f1 - best.scores.overall.f1;
    if (d > 1e-9 || (Math.abs(d) <= 1e-9 && (Math.abs(r.bias) < Math.abs(best.bias) || (Math.abs(r.bias) === Math.abs(best.bias) && r.bias < best.bias)))) best = r;
  }
  return best;
}

/** Sweeps the grid (then refines) over the sentences `subset` (indices); `decode(i, bias)` gives sentence i's spans. */
function sweep(subset: readonly number[], gold: readonly Span[][], decode: (i: number, bias: number) => Span[], grid: CalibrationGrid): { rows: BiasRow[]; best: BiasRow } {
  const seen = new Map<number, BiasRow>();
  const score = (bias: number): BiasRow => {
    const b = round(bias);
    let row = seen.get(b);
    if (!row) {
      row = { bias: b, scores: scoreSpans(subset.map((i) => gold[i]), subset.map((i) => decode(i, b))) };
      seen.set(b, row);
    }
    return row;
  };
  for (const b of gridValues(grid.min, grid.max, grid.step)) score(b);
  score(0);
  const coarse = bestRow([...seen.values()]);
  for (const b of gridValues(coarse.bias - grid.step, coarse.bias + grid.step, grid.refineStep)) score(b);
  const rows = [...seen.values()].sort((a, b) => a.bias - b.bias);
  return { rows, best: bestRow(rows) };
}

/** Calibrates `model`'s non-O bias on `data` (see the module comment). Does not change the model. */
export async function calibrateBias(model: TaggerModel, data: readonly NerSentence[], grid: CalibrationGrid = DEFAULT_GRID, batchSize = 64): Promise<Calibration> {
  const sentences = data.filter((s) => s.chars.length > 0);
  if (sentences.length < 2) throw new Error(`calibration needs at least 2 non-empty sentences, got ${sentences.length}`);
  const scheme = detectScheme(sentences.map((s) => s.tags));
  const gold = sentences.map((s) => tagsToSpans(s.tags, scheme));
  const emissions = await model.nerEmissions(
    sentences.map((s) => s.chars),
    batchSize,
  );
  const crf = model.crfScores('ner');
  const cache = new Map<string, Span[]>();
  const decode = (i: number, bias: number): Span[] => {
    const key = `${i}@${bias}`;
    let spans = cache.get(key);
    if (!spans) {
      spans = model.decodeNer(emissions[i], bias, crf);
      cache.set(key, spans);
    }
    return spans;
  };
  const all = sentences.map((_, i) => i);
  const even = all.filter((i) => i % 2 === 0);
  const odd = all.filter((i) => i % 2 === 1);
  const full = sweep(all, gold, decode, grid);
  const scoreAt = (subset: readonly number[], bias: (i: number) => number): NerScores =>
    scoreSpans(subset.map((i) => gold[i]), subset.map((i) => decode(i, bias(i))));
  const fold = (tune: number[], test: number[], tunedOn: 'even' | 'odd'): FoldResult => {
    const { best } = sweep(tune, gold, decode, grid);
    return { tunedOn, bias: best.bias, heldOutAtZero: scoreAt(test, () => 0), heldOutAtChosen: scoreAt(test, () => best.bias) };
  };
  const folds: [FoldResult, FoldResult] = [fold(even, odd, 'even'), fold(odd, even, 'odd')];
  const biasFor = (i: number): number => (i % 2 === 0 ? folds[1].bias : folds[0].bias);
  return {
    loadedBias: model.meta.nonOBias ?? 0,
    rows: full.rows,
    chosen: full.best,
    atZero: full.rows.find((r) => r.bias === 0)!,
    folds,
    crossFitted: { atZero: scoreAt(all, () => 0), atChosen: scoreAt(all, biasFor) },
    sentences: sentences.length,
  };
}
