/**
 * The CRF negative log-likelihood as one custom op: the forward value and
 * the exact gradients (tag marginals minus gold indicators, pairwise
 * marginals minus gold transition counts) come from forward-backward
 * (./forwardBackward.ts, the same recursion the mention confidences use) run
 * in plain TypeScript on the CPU. With K = 17 tags this costs a few
 * milliseconds per batch, where the same recursion as per-time-step tensor
 * ops (./logLikelihood.ts, kept as the reference) costs ~40 ops per step in
 * tfjs and dominates training time. Works on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { Crf, CrfScores } from './crf.js';
import { forwardBackward } from './forwardBackward.js';

export interface NllTargets {
  /** Gold tag ids, row-major [B * T] (any value past each length). */
  tags: Int32Array;
  /** True length of each row [B] (each >= 1). */
  lengths: Int32Array;
  /** Softmax-margin cost (see MarginCost); absent or all zero: the plain likelihood. */
  cost?: MarginCost;
}

/**
 * The cost of a tagging in softmax-margin training (Gimpel & Smith 2010):
 * the partition function sums exp(score(y') + cost(y, y')) instead of
 * exp(score(y')), so the loss asks for a margin over each wrong tagging in
 * proportion to its cost. Per position, Hamming-style: a label other than
 * the gold one at a gold mention position (gold tag not O) costs `missed`,
 * a mention label where gold is O costs `spurious`. A recall-oriented cost
 * (Mohit et al. 2012) has missed > spurious: the model learns to give up
 * precision before it misses a mention. Both 0: the CRF likelihood exactly.
 */
export interface MarginCost {
  /** The id of the O tag. */
  oId: number;
  /** Cost of a wrong label at a gold mention position (>= 0). */
  missed: number;
  /** Cost of a mention label at a gold O position (>= 0). */
  spurious: number;
}

/**
 * Emissions with the cost added: em[t, j] + cost(gold_t, j) for each row's
 * positions (a copy; `em` itself is not changed). The gold label's cost is
 * 0, so the gold path's score is the same under both.
 */
export function costAugmented(em: Float32Array, dims: { batch: number; steps: number; numTags: number }, targets: NllTargets, cost: MarginCost): Float32Array {
  const { batch: bsz, steps, numTags: k } = dims;
  const out = Float32Array.from(em);
  for (let b = 0; b < bsz; b++) {
    const len = targets.lengths[b];
    for (let t = 0; t < len; t++) {
      const g = targets.tags[b * steps + t];
      const row = (b * steps + t) * k;
      const c = g === cost.oId ? cost.spurious : cost.missed;
      if (c === 0) continue;
      for (let j = 0; j < k; j++) if (j !== g) out[row + j] += c;
    }
  }
  return out;
}

/** The mean NLL of a batch and its gradients with respect to the effective scores. */
export interface NllResult {
  /** Mean over the batch. */
  loss: number;
  /** d loss / d emissions [B*T*K] (0 at padded positions). */
  gEm: Float32Array;
  /** d loss / d transitions [K*K], row-major from -> to. */
  gTrans: Float32Array;
  /** d loss / d start scores [K]. */
  gStart: Float32Array;
  /** d loss / d end scores [K]. */
  gEnd: Float32Array;
}

/**
 * Mean NLL and its gradients for effective scores (plain arrays): emissions
 * [B, T, K] row-major, each row b read for its first lengths[b] steps. With
 * `targets.cost`, the softmax-margin loss (MarginCost): >= the NLL.
 */
export function nllAndGradients(emissions: Float32Array, dims: { batch: number; steps: number; numTags: number }, scores: CrfScores, targets: NllTargets): NllResult {
  const { batch: bsz, steps, numTags: k } = dims;
  // softmax-margin: the same recursion over cost-augmented emissions (the gradient of an added constant is the identity)
  const c = targets.cost;
  const em = c && (c.missed !== 0 || c.spurious !== 0) ? costAugmented(emissions, dims, targets, c) : emissions;
  const { trans, start, end } = scores;
  const gEm = new Float32Array(bsz * steps * k);
  const gTrans = new Float64Array(k * k);
  const gStart = new Float64Array(k);
  const gEnd = new Float64Array(k);
  const inv = 1 / bsz;
  let total = 0;
  for (let b = 0; b < bsz; b++) {
    const len = targets.lengths[b];
    const e0 = b * steps * k;
    const y = (t: number) => targets.tags[b * steps + t];
    const { alpha, beta, logZ } = forwardBackward(scores, em, e0, len);
    let gold = start[y(0)] + end[y(len - 1)];
    for (let t = 0; t < len; t++) gold += em[e0 + t * k + y(t)] + (t > 0 ? trans[y(t - 1) * k + y(t)] : 0);
    total += logZ - gold;
    // unary marginals
    for (let t = 0; t < len; t++) {
      for (let j = 0; j < k; j++) gEm[e0 + t * k + j] = Math.exp(alpha[t * k + j] + beta[t * k + j] - logZ) * inv;
      gEm[e0 + t * k + y(t)] -= inv;
    }
    // d/dstart = p(y_0 = j) - [gold y_0 = j], which is row 0 of gEm; likewise end with the last row
    for (let j = 0; j < k; j++) {
      gStart[j] += gEm[e0 + j];
      gEnd[j] += gEm[e0 + (len - 1) * k + j];
    }
    // pairwise marginals: each term is the log-probability of a set of paths, so <= 0 and exp cannot overflow
    for (let t = 1; t < len; t++) {
      for (let i = 0; i < k; i++) {
        const a = alpha[(t - 1) * k + i] - logZ;
        if (a === -Infinity) continue;
        for (let j = 0; j < k; j++) gTrans[i * k + j] += Math.exp(a + trans[i * k + j] + em[e0 + t * k + j] + beta[t * k + j]) * inv;
      }
      gTrans[y(t - 1) * k + y(t)] -= inv;
    }
  }
  return { loss: total * inv, gEm, gTrans: Float32Array.from(gTrans), gStart: Float32Array.from(gStart), gEnd: Float32Array.from(gEnd) };
}

/** Mean CRF NLL over a padded batch of emissions [B, T, K], differentiable. */
export function crfNll(crf: Crf, emissions: tf.Tensor3D, targets: NllTargets): tf.Scalar {
  const [bsz, steps, k] = emissions.shape;
  const f = (em: tf.Tensor, trans: tf.Tensor, start: tf.Tensor, end: tf.Tensor) => {
    const scores: CrfScores = {
      numTags: k,
      trans: trans.dataSync() as Float32Array,
      start: start.dataSync() as Float32Array,
      end: end.dataSync() as Float32Array,
    };
    const r = nllAndGradients(em.dataSync() as Float32Array, { batch: bsz, steps, numTags: k }, scores, targets);
    return {
      value: tf.scalar(r.loss),
      gradFunc: (dy: tf.Tensor) => [
        tf.mul(dy, tf.tensor3d(r.gEm, [bsz, steps, k])),
        tf.mul(dy, tf.tensor2d(r.gTrans, [k, k])),
        tf.mul(dy, tf.tensor1d(r.gStart)),
        tf.mul(dy, tf.tensor1d(r.gEnd)),
      ],
    };
  };
  const op = tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]);
  return tf.tidy(() => op(emissions, crf.effectiveTransitions(), crf.effectiveStart(), crf.effectiveEnd()) as tf.Scalar);
}
