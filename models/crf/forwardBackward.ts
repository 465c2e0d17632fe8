/**
 * Forward-backward (float64, CPU) for one sequence: the one implementation
 * of the recursion, used by the training loss and its gradients
 * (./fastNll.ts) and by the marginals and span probabilities that give a
 * predicted mention its confidence (./marginals.ts). Also the one log-sum-exp
 * helper of the CRF code.
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

/** log(sum(exp(xs))) without overflow; -Infinity for no terms (or all -Infinity). */
export function logSumExp(xs: ArrayLike<number>): number {
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
