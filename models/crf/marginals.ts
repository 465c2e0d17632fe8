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

/** Runs forward-backward over emissions [length, K] at `offset` in `data`. */
export function forwardBackward(crf: CrfScores, data: Float32Array, offset: number, length: number): ForwardBackward {
  const k = crf.numTags;
  const alpha = new Float64Array(length * k);
  const beta = new Float64Array(length * k);
  const tmp = new Float64Array(k);
  for (let j = 0; j < k; j++) alpha[j] = crf.start[j] + data[offset + j];
  for (let t = 1; t < length; t++) {
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < k; i++) tmp[i] = alpha[(t - 1) * k + i] + crf.trans[i * k + j];
      alpha[t * k + j] = logSumExp(tmp) + data[offset + t * k + j];
    }
  }
  for (let j = 0; j < k; j++) beta[(length - 1) * k + j] = crf.end[j];
  for (let t = length - 2; t >= 0; t--) {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) tmp[j] = crf.trans[i * k + j] + data[offset + (t + 1) * k + j] + beta[(t + 1) * k + j];
      beta[t * k + i] = logSumExp(tmp);
    }
  }
  for (let j = 0; j < k; j++) tmp[j] = alpha[(length - 1) * k + j] + crf.end[j];
  return { length, numTags: k, alpha, beta, logZ: length === 0 ? 0 : logSumExp(tmp) };
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
