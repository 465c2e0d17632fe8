/**
 * Brute-force CRF reference: enumerates all K^T tag paths of a tiny input.
 * Used to check the forward algorithm, Viterbi and marginals exactly.
 */
import type { CrfScores } from '../../models/crf/crf.js';

export function allPaths(k: number, t: number): number[][] {
  if (t === 0) return [[]];
  return allPaths(k, t - 1).flatMap((p) => Array.from({ length: k }, (_, j) => [...p, j]));
}

export function pathScore(crf: CrfScores, em: Float32Array, path: number[]): number {
  const k = crf.numTags;
  let s = crf.start[path[0]] + em[path[0]];
  for (let t = 1; t < path.length; t++) s += crf.trans[path[t - 1] * k + path[t]] + em[t * k + path[t]];
  return s + crf.end[path[path.length - 1]];
}

export function logSumExp(xs: number[]): number {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
}
