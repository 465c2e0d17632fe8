/**
 * Paired bootstrap comparison of two taggers on the same gold sentences
 * (Koehn 2004; Berg-Kirkpatrick et al. 2012): both models' exact-span scores
 * (per label, named, nominal, overall, as scoreSpans), the F1 difference
 * candidate − baseline per row, a percentile confidence interval of that
 * difference over `samples` resamplings of the sentences (with replacement,
 * the same resample for both models: paired), and a two-sided p-value.
 *
 * p-value: the bootstrap distribution of the difference, shifted to mean
 * zero, stands for the null hypothesis "no difference"; p is the share of
 * resamples whose difference lies at least as far from the observed one as
 * the observed one lies from zero, |d* − d| >= |d|, with the +1 correction
 * (1 + count) / (1 + samples), so it is never 0. Identical predictions give
 * d = 0 and p = 1.
 *
 * Configurations (seedsBootstrap): each side is the models of several
 * seeds, the difference is that of the sides' mean F1, and each resample
 * draws each side's models with replacement as well as the sentences, so
 * the interval holds the seed's part of the spread too.
 *
 * Pure: no tensors, no I/O; a seeded Rng makes a comparison repeatable.
 */
import { MentionflowError } from '../../common/errors.js';
import { Rng } from '../rng.js';
import { hasMentionKinds, labelParts } from '../text/labels.js';
import type { Span } from '../text/spans.js';
import { meanPrf, meanSd } from './meanSd.js';
import { prf, type PrfScore } from './prf.js';
import { scoreSpans } from './spanScorer.js';

/** Settings of a comparison. */
export interface BootstrapOptions {
  /** Resamples of the sentences. Default 1000. */
  samples?: number;
  /** Confidence level of the interval, in (0, 1). Default 0.95. */
  confidence?: number;
  /** Seed of the resampling. Default 1. */
  seed?: number;
}

/** One row (a label, named, nominal or overall) of a comparison. */
export interface RowComparison {
  baseline: PrfScore;
  candidate: PrfScore;
  /** candidate F1 − baseline F1, in F1 points (percent). */
  delta: number;
  /** Percentile bootstrap interval of `delta` at the comparison's confidence. */
  ci: [number, number];
  /** Two-sided p-value of "no difference in F1" (see module comment). */
  pValue: number;
}

/** What the overall row says: significantly better, significantly worse, or neither at the confidence level. */
export type Verdict = 'better' | 'worse' | 'no significant difference';

/** The comparison: every row, and the verdict on the overall F1. */
export interface NerComparison {
  sentences: number;
  samples: number;
  confidence: number;
  seed: number;
  /** Per label, keys sorted; every label seen in gold or either model's predictions. */
  perLabel: Record<string, RowComparison>;
  /** Present when a label has a NAM/NOM kind. */
  named?: RowComparison;
  nominal?: RowComparison;
  overall: RowComparison;
  /** From the overall row: `better` when the interval lies above 0, `worse` below 0, else no significant difference. */
  verdict: Verdict;
}

/** Option values checked (a MentionflowError naming the field otherwise), defaults filled in. */
export function bootstrapSettings(options: BootstrapOptions = {}): Required<BootstrapOptions> {
  const { samples = 1000, confidence = 0.95, seed = 1 } = options;
  if (!Number.isInteger(samples) || samples < 1) throw new MentionflowError(`paired bootstrap: samples must be an integer >= 1, got ${samples}`);
  if (!(confidence > 0 && confidence < 1)) throw new MentionflowError(`paired bootstrap: confidence must lie strictly between 0 and 1, got ${confidence}`);
  if (!Number.isInteger(seed)) throw new MentionflowError(`paired bootstrap: seed must be an integer, got ${seed}`);
  return { samples, confidence, seed };
}

/** The q-quantile (0..1) of sorted values, linear interpolation between order statistics. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** A row of the comparison: a label, named, nominal or overall, and which labels it sums. */
interface Row {
  name: string;
  keep: (label: string) => boolean;
}

/**
 * What the bootstrap engine computes for two sides of one or more models
 * each (the seeds of a configuration; one model a side is the paired
 * comparison): per row, each model's observed score, the observed
 * difference of the sides' mean F1, and that difference over the resamples.
 */
interface Bootstrapped {
  labels: string[];
  kinds: boolean;
  rows: Row[];
  /** observed[side][model][row]: the model's score over all sentences. */
  observed: PrfScore[][][];
  /** Per row: mean F1 of the candidate's models − mean F1 of the baseline's. */
  delta: number[];
  /** Per row: `delta` over the resamples. */
  deltas: Float64Array[];
}

/**
 * The engine of both comparisons. Each resample draws the sentences with
 * replacement (the same draw for every model: paired), and, on a side of
 * more than one model, that many of its models with replacement (a second
 * stream of the seed, so a side of one model consumes nothing and the
 * sentence draws are those of a one-model comparison); a side's statistic is
 * the mean F1 of its drawn models on the drawn sentences.
 */
function bootstrapSides(gold: readonly (readonly Span[])[], sides: readonly (readonly (readonly (readonly Span[])[])[])[], samples: number, seed: number): Bootstrapped {
  const n = gold.length;
  const models = sides.flat();
  const M = models.length;
  // Per-sentence counts of each model, by label, with the sentence-level scorer itself.
  const perSentence = models.map((pred) => gold.map((g, i) => scoreSpans([g], [pred[i]]).perLabel));
  const labels = [...new Set(perSentence.flatMap((m) => m.flatMap((s) => Object.keys(s))))].sort();
  const kinds = hasMentionKinds(labels);
  const rows: Row[] = [
    ...labels.map((l) => ({ name: l, keep: (x: string) => x === l })),
    ...(kinds
      ? [
          { name: 'named', keep: (x: string) => labelParts(x).kind === 'NAM' },
          { name: 'nominal', keep: (x: string) => labelParts(x).kind === 'NOM' },
        ]
      : []),
    { name: 'overall', keep: () => true },
  ];
  const R = rows.length;
  const W = M * R * 3;
  // counts[i * W + (m * R + r) * 3 + k]: sentence i, model m, row r; k = 0..2 tp, fp, fn.
  const counts = new Float64Array(n * W);
  for (let i = 0; i < n; i++) {
    for (let m = 0; m < M; m++) {
      for (const [label, c] of Object.entries(perSentence[m][i])) {
        rows.forEach((row, r) => {
          if (!row.keep(label)) return;
          const at = i * W + (m * R + r) * 3;
          counts[at] += c.tp;
          counts[at + 1] += c.fp;
          counts[at + 2] += c.fn;
        });
      }
    }
  }
  const first = sides.map((_, s) => sides.slice(0, s).reduce((a, x) => a + x.length, 0));
  const f1Of = (sum: Float64Array, m: number, r: number): number => {
    const at = (m * R + r) * 3;
    return prf(sum[at], sum[at + 1], sum[at + 2]).f1;
  };

  // The observed scores: all sentences once, every model once.
  const total = new Float64Array(W);
  for (let i = 0; i < n; i++) for (let j = 0; j < W; j++) total[j] += counts[i * W + j];
  const observed = sides.map((side, s) =>
    side.map((_, k) =>
      rows.map((_r, r) => {
        const at = ((first[s] + k) * R + r) * 3;
        return prf(total[at], total[at + 1], total[at + 2]);
      }),
    ),
  );
  const meanF1 = (s: number, r: number): number => meanSd(observed[s].map((m) => m[r].f1)).mean;
  const delta = rows.map((_, r) => meanF1(1, r) - meanF1(0, r));

  // Each sentence's non-zero counts (CSR): most sentences touch a few rows, so resampling adds only those.
  const start = new Int32Array(n + 1);
  const at: number[] = [];
  const value: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < W; j++) {
      const v = counts[i * W + j];
      if (v !== 0) {
        at.push(j);
        value.push(v);
      }
    }
    start[i + 1] = at.length;
  }
  const atOf = Int32Array.from(at);
  const valueOf = Float64Array.from(value);

  const rng = new Rng(seed);
  const seedRng = new Rng(seed + 0x5eed);
  const deltas = rows.map(() => new Float64Array(samples));
  const sum = new Float64Array(W);
  const drawn = sides.map((side) => new Int32Array(side.length));
  for (let b = 0; b < samples; b++) {
    sum.fill(0);
    for (let k = 0; k < n; k++) {
      const i = rng.int(n);
      for (let e = start[i]; e < start[i + 1]; e++) sum[atOf[e]] += valueOf[e];
    }
    sides.forEach((side, s) => {
      for (let k = 0; k < side.length; k++) drawn[s][k] = first[s] + (side.length > 1 ? seedRng.int(side.length) : 0);
    });
    for (let r = 0; r < R; r++) {
      const mean = (s: number): number => {
        let x = 0;
        for (const m of drawn[s]) x += f1Of(sum, m, r);
        return x / drawn[s].length;
      };
      deltas[r][b] = mean(1) - mean(0);
    }
  }
  return { labels, kinds, rows, observed, delta, deltas };
}

/** The interval and p-value of an observed difference `d` from its bootstrap distribution (see module comment). */
function interval(d: number, deltas: Float64Array, confidence: number): { ci: [number, number]; pValue: number } {
  const alpha = 1 - confidence;
  const sorted = deltas.slice().sort();
  let far = 0;
  // a tolerance so that float noise in equal differences does not count as "farther"
  for (const x of deltas) if (Math.abs(x - d) >= Math.abs(d) - 1e-9) far++;
  return { ci: [quantile(sorted, alpha / 2), quantile(sorted, 1 - alpha / 2)], pValue: (1 + far) / (1 + deltas.length) };
}

const verdictOf = (ci: [number, number]): Verdict => (ci[0] > 0 ? 'better' : ci[1] < 0 ? 'worse' : 'no significant difference');

/** Rows by name into the result's shape: perLabel (keys sorted), named / nominal when kinds, overall. */
function shape<T>(b: Bootstrapped, rowOf: (r: number) => T): { perLabel: Record<string, T>; named?: T; nominal?: T; overall: T } {
  const byName = new Map(b.rows.map((row, r) => [row.name, rowOf(r)]));
  const perLabel: Record<string, T> = {};
  for (const l of b.labels) perLabel[l] = byName.get(l) as T;
  return {
    perLabel,
    ...(b.kinds ? { named: byName.get('named'), nominal: byName.get('nominal') } : {}),
    overall: byName.get('overall') as T,
  };
}

/**
 * Compares `candidate` with `baseline` predictions (one span array per
 * sentence each) against `gold`. Throws MentionflowError when the three do
 * not have the same number of sentences or there is none.
 */
export function pairedBootstrap(
  gold: readonly (readonly Span[])[],
  baseline: readonly (readonly Span[])[],
  candidate: readonly (readonly Span[])[],
  options: BootstrapOptions = {},
): NerComparison {
  const { samples, confidence, seed } = bootstrapSettings(options);
  const n = gold.length;
  if (baseline.length !== n || candidate.length !== n) {
    throw new MentionflowError(`paired bootstrap: gold has ${n} sentences, baseline ${baseline.length}, candidate ${candidate.length}`);
  }
  if (n === 0) throw new MentionflowError('paired bootstrap: no sentences to compare on');
  const b = bootstrapSides(gold, [[baseline], [candidate]], samples, seed);
  const rows = shape(b, (r): RowComparison => ({
    baseline: b.observed[0][0][r],
    candidate: b.observed[1][0][r],
    delta: b.delta[r],
    ...interval(b.delta[r], b.deltas[r], confidence),
  }));
  return { sentences: n, samples, confidence, seed, ...rows, verdict: verdictOf(rows.overall.ci) };
}

/** One side of a row of a seeds comparison: its models' scores, and their mean ± sd. */
export interface SeedsScore {
  /** Mean over the side's models of precision, recall and F1 (percent). */
  precision: number;
  recall: number;
  f1: number;
  /** Sample standard deviation of F1 over the side's models (0 for one model). */
  f1Sd: number;
  /** Each model's score, in the order given. */
  perModel: PrfScore[];
}

/** One row of a seeds comparison. */
export interface SeedsRowComparison {
  baseline: SeedsScore;
  candidate: SeedsScore;
  /** Candidate mean F1 − baseline mean F1, in F1 points. */
  delta: number;
  /** Percentile interval of `delta` over resamples of both the sentences and each side's models. */
  ci: [number, number];
  pValue: number;
}

/** A comparison of two configurations, each given by the models of several seeds. */
export interface SeedsComparison {
  sentences: number;
  samples: number;
  confidence: number;
  seed: number;
  /** Models a side. */
  models: { baseline: number; candidate: number };
  perLabel: Record<string, SeedsRowComparison>;
  named?: SeedsRowComparison;
  nominal?: SeedsRowComparison;
  overall: SeedsRowComparison;
  verdict: Verdict;
}

/**
 * Compares two configurations by their seeds: `baseline[k]` and
 * `candidate[k]` are the predictions of the k-th model of each (one span
 * array per sentence). The difference is that of the sides' mean F1, and its
 * interval comes from a two-level bootstrap: each resample draws the
 * sentences (paired across all models) and, on each side, as many of its
 * models as it has, with replacement. So the interval holds both what the
 * dev sample and what the seed decide, which a comparison of one model a
 * side cannot show. With one model a side it is the paired bootstrap
 * (the same resamples, the same numbers). Few models a side make the
 * seed part of the interval rough (five seeds: a guide, not a test).
 * Throws MentionflowError when a side is empty or a model's predictions
 * do not cover the gold sentences.
 */
export function seedsBootstrap(
  gold: readonly (readonly Span[])[],
  baseline: readonly (readonly (readonly Span[])[])[],
  candidate: readonly (readonly (readonly Span[])[])[],
  options: BootstrapOptions = {},
): SeedsComparison {
  const { samples, confidence, seed } = bootstrapSettings(options);
  const n = gold.length;
  if (baseline.length === 0 || candidate.length === 0) {
    throw new MentionflowError(`seeds bootstrap: each side needs at least one model, got ${baseline.length} baseline and ${candidate.length} candidate`);
  }
  for (const [who, side] of [['baseline', baseline], ['candidate', candidate]] as const) {
    side.forEach((m, k) => {
      if (m.length !== n) throw new MentionflowError(`seeds bootstrap: gold has ${n} sentences, ${who} model ${k + 1} ${m.length}`);
    });
  }
  if (n === 0) throw new MentionflowError('seeds bootstrap: no sentences to compare on');
  const b = bootstrapSides(gold, [baseline, candidate], samples, seed);
  const side = (s: number, r: number): SeedsScore => {
    const perModel = b.observed[s].map((m) => m[r]);
    const { precision, recall, f1 } = meanPrf(perModel);
    return { precision: precision.mean, recall: recall.mean, f1: f1.mean, f1Sd: f1.sd, perModel };
  };
  const rows = shape(b, (r): SeedsRowComparison => ({ baseline: side(0, r), candidate: side(1, r), delta: b.delta[r], ...interval(b.delta[r], b.deltas[r], confidence) }));
  return { sentences: n, samples, confidence, seed, models: { baseline: baseline.length, candidate: candidate.length }, ...rows, verdict: verdictOf(rows.overall.ci) };
}
