/**
 * Viterbi decoding on the CPU (K is small, so a dense O(T K^2) loop over
 * Float32Arrays beats per-step tensor ops): in C where mentionflow's addon
 * loads (./native.ts), else in TypeScript, with the same paths and scores.
 */
import type { CrfScores } from './crf.js';
import { nativeCrf } from './native.js';

export interface ViterbiResult {
  /** Best tag id per position [T]. */
  path: Int32Array;
  /** Score of the best path (same units as the emissions). */
  score: number;
}

/**
 * emissions: row-major [length, K] scores of one sequence, starting at
 * `offset` in `data` (so a padded [B, T, K] buffer can be decoded in place).
 */
export function viterbi(crf: CrfScores, data: Float32Array, offset: number, length: number): ViterbiResult {
  const path = new Int32Array(length);
  if (length === 0) return { path, score: 0 };
  const native = nativeCrf();
  if (native) return { path, score: native.crfViterbi(crf.trans, crf.start, crf.end, data, offset, length, path) };
  return { path, score: viterbiInto(crf, data, offset, length, path) };
}

/** The loop in TypeScript: the best path into `path`, its score returned (schemas/native/crf.c follows it). */
function viterbiInto(crf: CrfScores, data: Float32Array, offset: number, length: number, path: Int32Array): number {
  const k = crf.numTags;
  const back = new Int32Array(length * k);
  let prev = new Float64Array(k);
  let cur = new Float64Array(k);
  for (let j = 0; j < k; j++) prev[j] = crf.start[j] + data[offset + j];
  for (let t = 1; t < length; t++) {
    const row = offset + t * k;
    for (let j = 0; j < k; j++) {
      let best = -Infinity;
      let arg = 0;
      for (let i = 0; i < k; i++) {
        const s = prev[i] + crf.trans[i * k + j];
        if (s > best) {
          best = s;
          arg = i;
        }
      }
      cur[j] = best + data[row + j];
      back[t * k + j] = arg;
    }
    const tmp = prev;
    prev = cur;
    cur = tmp;
  }
  let best = -Infinity;
  let arg = 0;
  for (let j = 0; j < k; j++) {
    const s = prev[j] + crf.end[j];
    if (s > best) {
      best = s;
      arg = j;
    }
  }
  path[length - 1] = arg;
  for (let t = length - 1; t > 0; t--) path[t - 1] = back[t * k + path[t]];
  return best;
}
