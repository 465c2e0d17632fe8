/**
 * Forward-backward in log space (float64, CPU) for one sequence: log Z,
 * per-position tag marginals, and the exact probability of a labelled span,
 * which is the confidence a predicted mention carries.
 */
import type { CrfScores } from './crf.js';

export interface ForwardBackward {
  length: number;
  numTags: number;
  /** alpha[t*K+j]: log-sum of scores of prefixes ending in tag j at t (emission at t included). */
  alpha: Float64Array;
  /** beta[t*K+j]: log-sum of scores of suffixes after tag j at t (end score included). */
  beta: Float64Array;
  logZ: number;
}

function logSumExp(xs: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < xs.length; i++) if (xs[i] > m) m = xs[i];
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += Math.exp(xs[i] - m);
  return m + Math.log(s);
}

/**
 * Runs forward-backward over emissions [length, K] at `offset` in `data`.
 * The recursions run in scaled probability space (exp of the transition
 * scores precomputed, each step renormalised, the log scale accumulated):
 * K^2 multiply-adds per step instead of K^2 exp/log, about ten times faster
 * than log space and exact to float64 rounding, because each step's scores
 * are shifted by their maximum before exponentiating. The results are
 * returned in log space.
 */
export function forwardBackward(crf: CrfScores, data: Float32Array, offset: number, length: number): ForwardBackward {
  const k = crf.numTags;
  const alpha = new Float64Array(length * k);
  const beta = new Float64Array(length * k);
  if (length === 0) return { length, numTags: k, alpha, beta, logZ: 0 };
  const expT = new Float64Array(k * k);
  for (let i = 0; i < k * k; i++) expT[i] = Math.exp(crf.trans[i]);
  const a = new Float64Array(k);
  const next = new Float64Array(k);
  const e = new Float64Array(k);
  // emission factors of step t, shifted by their max m: e[j] = exp(x[j] - m)
  const emit = (t: number, extra?: ArrayLike<number>): number => {
    let m = -Infinity;
    for (let j = 0; j < k; j++) {
      const x = data[offset + t * k + j] + (extra ? extra[j] : 0);
      e[j] = x;
      if (x > m) m = x;
    }
    for (let j = 0; j < k; j++) e[j] = Math.exp(e[j] - m);
    return m;
  };
  // forward
  let logScale = emit(0, crf.start);
  let sum = 0;
  for (let j = 0; j < k; j++) sum += (a[j] = e[j]);
  logScale += Math.log(sum);
  for (let j = 0; j < k; j++) {
    a[j] /= sum;
    alpha[j] = Math.log(a[j]) + logScale;
  }
  for (let t = 1; t < length; t++) {
    const m = emit(t);
    next.fill(0);
    for (let i = 0; i < k; i++) {
      const ai = a[i];
      if (ai === 0) continue;
      for (let j = 0; j < k; j++) next[j] += ai * expT[i * k + j];
    }
    sum = 0;
    for (let j = 0; j < k; j++) sum += (a[j] = next[j] * e[j]);
    logScale += m + Math.log(sum);
    for (let j = 0; j < k; j++) {
      a[j] /= sum;
      alpha[t * k + j] = Math.log(a[j]) + logScale;
    }
  }
  let z = 0;
  let mEnd = -Infinity;
  for (let j = 0; j < k; j++) mEnd = Math.max(mEnd, crf.end[j]);
  for (let j = 0; j < k; j++) z += a[j] * Math.exp(crf.end[j] - mEnd);
  const logZ = logScale + mEnd + Math.log(z);
  // backward: b holds beta_t scaled; beta_t(i) = log b[i] + bScale
  const b = new Float64Array(k);
  let bScale = mEnd;
  for (let j = 0; j < k; j++) {
    b[j] = Math.exp(crf.end[j] - mEnd);
    beta[(length - 1) * k + j] = crf.end[j];
  }
  for (let t = length - 2; t >= 0; t--) {
    const m = emit(t + 1);
    for (let j = 0; j < k; j++) next[j] = e[j] * b[j];
    sum = 0;
    for (let i = 0; i < k; i++) {
      let acc = 0;
      for (let j = 0; j < k; j++) acc += expT[i * k + j] * next[j];
      b[i] = acc;
      sum += acc;
    }
    bScale += m + Math.log(sum);
    for (let i = 0; i < k; i++) {
      b[i] /= sum;
      beta[t * k + i] = Math.log(b[i]) + bScale;
    }
  }
  return { length, numTags: k, alpha, beta, logZ };
}

/** Marginal probability of tag j at position t. */
export function tagMarginal(fb: ForwardBackward, t: number, j: number): number {
  const i = t * fb.numTags + j;
  return Math.exp(fb.alpha[i] + fb.beta[i] - fb.logZ);
}

/**
 * Probability that positions [start, start + tagIds.length) carry exactly
 * `tagIds` and that the tag after them (if any) is not in `notNext`
 * (for BIO, the span's own I- tag, so the mention really ends there).
 */
export function spanProbability(
  fb: ForwardBackward,
  crf: CrfScores,
  data: Float32Array,
  offset: number,
  start: number,
  tagIds: ArrayLike<number>,
  notNext: ReadonlySet<number>,
): number {
  const k = fb.numTags;
  const last = start + tagIds.length - 1;
  let score = fb.alpha[start * k + tagIds[0]];
  for (let n = 1; n < tagIds.length; n++) {
    score += crf.trans[tagIds[n - 1] * k + tagIds[n]] + data[offset + (start + n) * k + tagIds[n]];
  }
  const lastTag = tagIds[tagIds.length - 1];
  if (last === fb.length - 1) {
    score += crf.end[lastTag];
  } else {
    const tail: number[] = [];
    for (let j = 0; j < k; j++) {
      if (notNext.has(j)) continue;
      tail.push(crf.trans[lastTag * k + j] + data[offset + (last + 1) * k + j] + fb.beta[(last + 1) * k + j]);
    }
    score += logSumExp(tail);
  }
  return Math.min(1, Math.exp(score - fb.logZ));
}
