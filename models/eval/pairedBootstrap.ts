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
 * Pure: no tensors, no I/O; a seeded Rng makes a comparison repeatable.
 */
import { MentionflowError } from '../../common/errors.js';
import { Rng } from '../rng.js';
import { hasMentionKinds, labelParts } from '../text/labels.js';
import type { Span } from '../text/spans.js';
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

  // Per-sentence counts of each model, by label, with the sentence-level scorer itself.
  const perSentence = (pred: readonly (readonly Span[])[]) => gold.map((g, i) => scoreSpans([g], [pred[i]]).perLabel);
  const base = perSentence(baseline);
  const cand = perSentence(candidate);
  const labels = [...new Set([...base, ...cand].flatMap((s) => Object.keys(s)))].sort();
  const kinds = hasMentionKinds(labels);
  // Rows: labels, then named and nominal (when kinds), then overall; each row is the set of labels it sums.
  const rows: { name: string; keep: (label: string) => boolean }[] = [
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
  // counts[(i * R + r) * 6 + k]: k = 0..2 baseline tp, fp, fn; 3..5 candidate tp, fp, fn.
  const counts = new Float64Array(n * R * 6);
  for (let i = 0; i < n; i++) {
    for (const [m, bySentence] of [base[i], cand[i]].entries()) {
      for (const [label, c] of Object.entries(bySentence)) {
        rows.forEach((row, r) => {
          if (!row.keep(label)) return;
          const at = (i * R + r) * 6 + m * 3;
          counts[at] += c.tp;
          counts[at + 1] += c.fp;
          counts[at + 2] += c.fn;
        });
      }
    }
  }
  const f1Delta = (sum: Float64Array, r: number): number => {
    const a = sum.subarray(r * 6, r * 6 + 6);
    return prf(a[3], a[4], a[5]).f1 - prf(a[0], a[1], a[2]).f1;
  };

  // The observed scores: all sentences once.
  const total = new Float64Array(R * 6);
  for (let i = 0; i < n; i++) for (let j = 0; j < R * 6; j++) total[j] += counts[i * R * 6 + j];
  const observed = rows.map((_, r) => f1Delta(total, r));

  // Each sentence's non-zero counts (CSR): most sentences touch a few rows, so resampling adds only those.
  const start = new Int32Array(n + 1);
  const at: number[] = [];
  const value: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < R * 6; j++) {
      const v = counts[i * R * 6 + j];
      if (v !== 0) {
        at.push(j);
        value.push(v);
      }
    }
    start[i + 1] = at.length;
  }
  const atOf = Int32Array.from(at);
  const valueOf = Float64Array.from(value);

  // Resamples: n sentence indices with replacement, the same for both models.
  const rng = new Rng(seed);
  const deltas = rows.map(() => new Float64Array(samples));
  const sum = new Float64Array(R * 6);
  for (let b = 0; b < samples; b++) {
    sum.fill(0);
    for (let k = 0; k < n; k++) {
      const i = rng.int(n);
      for (let e = start[i]; e < start[i + 1]; e++) sum[atOf[e]] += valueOf[e];
    }
    for (let r = 0; r < R; r++) deltas[r][b] = f1Delta(sum, r);
  }

  const alpha = 1 - confidence;
  const result = rows.map((row, r): RowComparison => {
    const d = observed[r];
    const sorted = deltas[r].slice().sort();
    let far = 0;
    // a tolerance so that float noise in equal differences does not count as "farther"
    for (const x of deltas[r]) if (Math.abs(x - d) >= Math.abs(d) - 1e-9) far++;
    const a = total.subarray(r * 6, r * 6 + 6);
    return {
      baseline: prf(a[0], a[1], a[2]),
      candidate: prf(a[3], a[4], a[5]),
      delta: d,
      ci: [quantile(sorted, alpha / 2), quantile(sorted, 1 - alpha / 2)],
      pValue: (1 + far) / (1 + samples),
    };
  });
  const byName = new Map(rows.map((row, r) => [row.name, result[r]]));
  const overall = byName.get('overall') as RowComparison;
  const perLabel: Record<string, RowComparison> = {};
  for (const l of labels) perLabel[l] = byName.get(l) as RowComparison;
  const verdict: Verdict = overall.ci[0] > 0 ? 'better' : overall.ci[1] < 0 ? 'worse' : 'no significant difference';
  return {
    sentences: n,
    samples,
    confidence,
    seed,
    perLabel,
    ...(kinds ? { named: byName.get('named'), nominal: byName.get('nominal') } : {}),
    overall,
    verdict,
  };
}
