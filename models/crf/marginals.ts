/**
 * Marginals of a linear-chain CRF from its forward-backward variables
 * (./forwardBackward.ts): the probability of one tag at one position, and
 * the exact probability of a labelled span, which is the confidence a
 * predicted mention carries.
 */
import type { CrfScores } from './crf.js';
import { logSumExp, type ForwardBackward } from './forwardBackward.js';

/** Marginal probability of tag j at position t. */
export function tagMarginal(fb: ForwardBackward, t: number, j: number): number {
  return Math.exp(fb.alphaAt(t, j) + fb.betaAt(t, j) - fb.logZ);
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
  let score = fb.alphaAt(start, tagIds[0]);
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
      tail.push(crf.trans[lastTag * k + j] + data[offset + (last + 1) * k + j] + fb.betaAt(last + 1, j));
    }
    score += logSumExp(tail);
  }
  return Math.min(1, Math.exp(score - fb.logZ));
}
