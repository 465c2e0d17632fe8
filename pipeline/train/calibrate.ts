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
 *
 * With `maxPrGap` (issue 16's target: recall within 5 points of precision)
 * only the biases whose overall |precision - recall| is at most that many
 * points qualify, and the best F1 among them is chosen; when none qualifies,
 * the smallest gap is (and the result says so). Each half of the 2-fold
 * check chooses under the same constraint.
 *
 * With `thresholds` (issue 16's span-confidence threshold,
 * models/crf/spanThreshold.ts) each bias is paired with each threshold:
 * Viterbi and the span confidences run once per bias, and each threshold only
 * filters those spans. The pair (b, t) of the best F1 is chosen (ties: the
 * bias nearest 0, then the lower threshold), with the same 2-fold check; the
 * result also carries the bias-alone calibration (threshold 0) on the same
 * decodings, so the two can be compared on the same halves.
 */
import { ConfigError } from '../../common/errors.js';
import { confidentSpans, thresholdProblem, type Confident } from '../../models/crf/spanThreshold.js';
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

/** The span-confidence thresholds `calibrate --threshold` tries with each bias: 0 (none), then 0.3..0.9 by 0.05. */
export const DEFAULT_THRESHOLDS: readonly number[] = [0, ...Array.from({ length: 13 }, (_, i) => Math.round((0.3 + i * 0.05) * 100) / 100)];

export interface CalibrationOptions {
  /** The biases to try (default DEFAULT_GRID). */
  grid?: CalibrationGrid;
  /**
   * Largest overall |precision - recall|, in points, that a chosen bias may
   * have: the best F1 among the biases within it is chosen, or the smallest
   * gap when none is. Finite, >= 0. Default: no constraint (best F1).
   */
  maxPrGap?: number;
  /** Sentences per network batch (default 64). */
  batchSize?: number;
  /**
   * Span-confidence thresholds to try with each bias (each 0 <= t < 1; 0 is
   * always tried). Default [0]: the bias alone, as before thresholds existed.
   */
  thresholds?: readonly number[];
}

/** Checks `opts` and fills in the defaults; a bad value is a ConfigError naming it. */
export function calibrationOptions(opts: CalibrationOptions = {}): { grid: CalibrationGrid; maxPrGap: number | undefined; batchSize: number; thresholds: number[] } {
  const grid = opts.grid ?? DEFAULT_GRID;
  for (const k of ['min', 'max', 'step', 'refineStep'] as const) {
    if (!Number.isFinite(grid[k])) throw new ConfigError(`calibration grid ${k} must be a finite number, got ${grid[k]}`);
  }
  if (!(grid.step > 0) || !(grid.refineStep > 0)) throw new ConfigError(`calibration grid step and refineStep must be > 0, got ${grid.step} and ${grid.refineStep}`);
  if (grid.max < grid.min) throw new ConfigError(`calibration grid max ${grid.max} is below min ${grid.min}`);
  const { maxPrGap, batchSize = 64 } = opts;
  if (maxPrGap !== undefined && !(Number.isFinite(maxPrGap) && maxPrGap >= 0)) {
    throw new ConfigError(`maxPrGap must be a finite number >= 0 (points of |precision - recall|), got ${maxPrGap}`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`batchSize must be an integer >= 1, got ${batchSize}`);
  const given = opts.thresholds ?? [0];
  if (!Array.isArray(given) || given.length === 0) throw new ConfigError(`thresholds must be a non-empty list, got ${JSON.stringify(given)}`);
  for (const t of given) {
    const why = thresholdProblem(t);
    if (why) throw new ConfigError(`calibration threshold ${why}`);
  }
  const thresholds = [...new Set([0, ...given.map(round)])].sort((a, b) => a - b);
  return { grid, maxPrGap, batchSize, thresholds };
}

/** The scores of one bias value (and span-confidence threshold, when thresholds are searched). */
export interface BiasRow {
  bias: number;
  /** The span-confidence threshold; absent when only biases are searched (0). */
  threshold?: number;
  scores: NerScores;
}

export interface FoldResult {
  /** Which half the bias was chosen on ("even" or "odd" sentence indices). */
  tunedOn: 'even' | 'odd';
  /** The bias chosen on that half. */
  bias: number;
  /** The threshold chosen with it (absent when only biases are searched). */
  threshold?: number;
  /** Whether that bias met `maxPrGap` on that half (always true without the constraint). */
  withinGap: boolean;
  /** Scores on the other half: with bias 0 and with the chosen bias. */
  heldOutAtZero: NerScores;
  heldOutAtChosen: NerScores;
}

export interface Calibration {
  /** The model's own bias when loaded (the sweep's values are absolute, not added to it). */
  loadedBias: number;
  /** Every bias tried on all the data, sorted by bias. */
  rows: BiasRow[];
  /** The bias with the best overall F1 on all the data (ties: the one nearest 0), among those within `maxPrGap` when set. */
  chosen: BiasRow;
  /** The constraint the choices were made under (undefined: none). */
  maxPrGap: number | undefined;
  /** Whether `chosen` meets `maxPrGap`; false when no bias did and the smallest gap was taken. */
  chosenWithinGap: boolean;
  /** Scores on all the data at bias 0. */
  atZero: BiasRow;
  folds: [FoldResult, FoldResult];
  /** Both held-out halves pooled: each sentence decoded with the bias chosen on the other half, and at bias 0. */
  crossFitted: { atZero: NerScores; atChosen: NerScores };
  sentences: number;
  /** The thresholds tried with each bias; absent when only biases are searched. */
  thresholds?: number[];
  /** The model's own threshold when loaded (absolute too: the sweep starts from none). */
  loadedMinSpanConfidence: number;
  /** With thresholds: the bias-alone calibration (threshold 0) on the same decodings, for comparison. */
  biasOnly?: Calibration;
}

const round = (x: number): number => Math.round(x * 1e6) / 1e6;
const thr = (r: BiasRow): number => r.threshold ?? 0;

function gridValues(min: number, max: number, step: number): number[] {
  const out: number[] = [];
  for (let i = 0; min + i * step <= max + 1e-9; i++) out.push(round(min + i * step));
  return out;
}

/** Picks the row of the best overall F1; ties go to the bias nearest 0, then to the lower bias, then to the lower threshold. */
export function bestRow(rows: readonly BiasRow[]): BiasRow {
  let best = rows[0];
  for (const r of rows.slice(1)) {
    const d = r.scores.overall.f1 - best.scores.overall.f1;
    const tie = Math.abs(d) <= 1e-9;
    const sameBias = r.bias === best.bias;
    if (d > 1e-9 || (tie && (Math.abs(r.bias) < Math.abs(best.bias) || (Math.abs(r.bias) === Math.abs(best.bias) && r.bias < best.bias) || (sameBias && thr(r) < thr(best))))) best = r;
  }
  return best;
}

/** Overall |precision - recall| of a row, in points. */
export const prGap = (row: BiasRow): number => Math.abs(row.scores.overall.precision - row.scores.overall.recall);

/**
 * The row to choose under `maxPrGap` (see CalibrationOptions): bestRow among
 * the rows within the gap; when none is, bestRow among those with the
 * smallest gap. A row without a single correct mention (P = R = 0, e.g. a
 * bias so low that nothing is predicted) meets any gap vacuously, so it
 * counts only when every row is such. Without a constraint, bestRow.
 */
export function chooseRow(rows: readonly BiasRow[], maxPrGap: number | undefined): { row: BiasRow; withinGap: boolean } {
  if (maxPrGap === undefined) return { row: bestRow(rows), withinGap: true };
  const found = rows.filter((r) => r.scores.overall.tp > 0);
  const pool = found.length > 0 ? found : rows;
  const within = pool.filter((r) => prGap(r) <= maxPrGap + 1e-9);
  if (within.length > 0) return { row: bestRow(within), withinGap: true };
  const smallest = Math.min(...pool.map(prGap));
  return { row: bestRow(pool.filter((r) => prGap(r) <= smallest + 1e-9)), withinGap: false };
}

/** Sentence i's spans decoded at `bias` with the spans below `threshold` dropped. */
export type Decode = (i: number, bias: number, threshold: number) => readonly Span[];

/**
 * A Decode over cached decodings: `decode(i, bias)` runs once per sentence and
 * bias (with confidences when thresholds other than 0 are asked for) and each
 * threshold filters its spans.
 */
export function cachedDecode(decode: (i: number, bias: number) => Span[] | Confident[]): Decode {
  const cache = new Map<string, Span[] | Confident[]>();
  return (i, bias, threshold) => {
    const key = `${i}@${bias}`;
    let spans = cache.get(key);
    if (!spans) cache.set(key, (spans = decode(i, bias)));
    if (threshold === 0) return spans;
    if (spans.length > 0 && typeof (spans[0] as Partial<Confident>).confidence !== 'number') throw new Error('a span-confidence threshold needs spans decoded with their confidences (decodeNer(..., true))');
    return confidentSpans(spans as Confident[], threshold);
  };
}

/**
 * The rows of `biases` x `thresholds` on the sentences `subset`: one per pair,
 * sorted by bias then threshold. With `thresholds` [0] (only biases) the rows
 * carry no threshold.
 */
export function scoreRows(subset: readonly number[], gold: readonly Span[][], decode: Decode, biases: readonly number[], thresholds: readonly number[]): BiasRow[] {
  const searched = thresholds.length > 1 || thresholds[0] !== 0;
  const golds = subset.map((i) => gold[i]);
  const rows: BiasRow[] = [];
  for (const bias of biases) {
    for (const t of thresholds) rows.push({ bias, ...(searched ? { threshold: t } : {}), scores: scoreSpans(golds, subset.map((i) => decode(i, bias, t))) });
  }
  return rows.sort((a, b) => a.bias - b.bias || thr(a) - thr(b));
}

/** Sweeps the grid (then refines) over the sentences `subset` (indices), each bias with each threshold. */
function sweep(subset: readonly number[], gold: readonly Span[][], decode: Decode, grid: CalibrationGrid, maxPrGap: number | undefined, thresholds: readonly number[]): { rows: BiasRow[]; best: BiasRow; withinGap: boolean } {
  const biases = new Set<number>([...gridValues(grid.min, grid.max, grid.step), 0]);
  const coarseRows = scoreRows(subset, gold, decode, [...biases], thresholds);
  const coarse = chooseRow(coarseRows, maxPrGap).row;
  // The refinement scores only the biases the coarse grid did not have.
  const finer = gridValues(coarse.bias - grid.step, coarse.bias + grid.step, grid.refineStep).filter((b) => !biases.has(b));
  const rows = [...coarseRows, ...scoreRows(subset, gold, decode, finer, thresholds)].sort((a, b) => a.bias - b.bias || thr(a) - thr(b));
  const { row, withinGap } = chooseRow(rows, maxPrGap);
  return { rows, best: row, withinGap };
}

/** Calibrates `model`'s non-O bias (and with `thresholds`, its span-confidence threshold) on `data` (see the module comment). Does not change the model. */
export async function calibrateBias(model: TaggerModel, data: readonly NerSentence[], options: CalibrationOptions = {}): Promise<Calibration> {
  const { grid, maxPrGap, batchSize, thresholds } = calibrationOptions(options);
  const sentences = data.filter((s) => s.chars.length > 0);
  if (sentences.length < 2) throw new Error(`calibration needs at least 2 non-empty sentences, got ${sentences.length}`);
  const scheme = detectScheme(sentences.map((s) => s.tags));
  const gold = sentences.map((s) => tagsToSpans(s.tags, scheme));
  const emissions = await model.nerEmissions(
    sentences.map((s) => s.chars),
    batchSize,
  );
  const crf = model.crfScores('ner');
  const searched = thresholds.length > 1;
  const decode = cachedDecode((i, bias) => (searched ? model.decodeNer(emissions[i], bias, crf, true) : model.decodeNer(emissions[i], bias, crf)));
  const loaded = { loadedBias: model.meta.nonOBias ?? 0, loadedMinSpanConfidence: model.meta.minSpanConfidence ?? 0 };
  const withThresholds = calibrateOn(gold, decode, grid, maxPrGap, thresholds);
  if (!searched) return { ...loaded, ...withThresholds };
  return { ...loaded, ...withThresholds, thresholds, biasOnly: { ...loaded, ...calibrateOn(gold, decode, grid, maxPrGap, [0]) } };
}

/** The calibration over cached decodings: the sweep on all sentences, and the 2-fold check on the parity halves. */
function calibrateOn(gold: readonly Span[][], decode: Decode, grid: CalibrationGrid, maxPrGap: number | undefined, thresholds: readonly number[]): Omit<Calibration, 'loadedBias' | 'loadedMinSpanConfidence'> {
  const all = gold.map((_, i) => i);
  const even = all.filter((i) => i % 2 === 0);
  const odd = all.filter((i) => i % 2 === 1);
  const full = sweep(all, gold, decode, grid, maxPrGap, thresholds);
  const scoreAt = (subset: readonly number[], pick: (i: number) => BiasRow | undefined): NerScores =>
    scoreSpans(subset.map((i) => gold[i]), subset.map((i) => {
      const r = pick(i);
      return r ? decode(i, r.bias, thr(r)) : decode(i, 0, 0);
    }));
  const fold = (tune: number[], test: number[], tunedOn: 'even' | 'odd'): { result: FoldResult; row: BiasRow } => {
    const { best, withinGap } = sweep(tune, gold, decode, grid, maxPrGap, thresholds);
    const result: FoldResult = { tunedOn, bias: best.bias, ...(best.threshold === undefined ? {} : { threshold: best.threshold }), withinGap, heldOutAtZero: scoreAt(test, () => undefined), heldOutAtChosen: scoreAt(test, () => best) };
    return { result, row: best };
  };
  const [e, o] = [fold(even, odd, 'even'), fold(odd, even, 'odd')];
  return {
    rows: full.rows,
    chosen: full.best,
    maxPrGap,
    chosenWithinGap: full.withinGap,
    atZero: full.rows.find((r) => r.bias === 0 && thr(r) === 0)!,
    folds: [e.result, o.result],
    crossFitted: { atZero: scoreAt(all, () => undefined), atChosen: scoreAt(all, (i) => (i % 2 === 0 ? o.row : e.row)) },
    sentences: gold.length,
  };
}
