/**
 * The CRF negative log-likelihood as one custom op: the forward value and
 * the exact gradients (tag marginals minus gold indicators, pairwise
 * marginals minus gold transition counts) come from forward-backward run in
 * plain TypeScript on the CPU. With K = 17 tags this costs a few
 * milliseconds per batch, where the same recursion as per-time-step tensor
 * ops (./logLikelihood.ts, kept as the reference) costs ~40 ops per step in
 * tfjs and dominates training time. Works on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { Crf } from './crf.js';

export interface NllTargets {
  /** Gold tag ids, row-major [B * T] (any value past each length). */
  tags: Int32Array;
  /** True length of each row [B] (each >= 1). */
  lengths: Int32Array;
}

function logSumExpRow(xs: Float64Array, n: number): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (xs[i] > m) m = xs[i];
  if (m === -Infinity) return m;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(xs[i] - m);
  return m + Math.log(s);
}

interface NllResult {
  loss: number; // mean over the batch
  gEm: Float32Array; // [B*T*K]
  gTrans: Float32Array; // [K*K]
  gStart: Float32Array; // [K]
  gEnd: Float32Array; // [K]
}

/** Mean NLL and its gradients for effective scores (plain arrays). */
export function nllAndGradients(
  em: Float32Array,
  dims: { batch: number; steps: number; numTags: number },
  trans: Float32Array,
  start: Float32Array,
  end: Float32Array,
  targets: NllTargets,
): NllResult {
  const { batch: bsz, steps, numTags: k } = dims;
  const gEm = new Float32Array(bsz * steps * k);
  const gTrans = new Float64Array(k * k);
  const gStart = new Float64Array(k);
  const gEnd = new Float64Array(k);
  const alpha = new Float64Array(steps * k);
  const beta = new Float64Array(steps * k);
  const tmp = new Float64Array(k);
  const inv = 1 / bsz;
  let total = 0;
  for (let b = 0; b < bsz; b++) {
    const len = targets.lengths[b];
    const e0 = b * steps * k;
    const y = (t: number) => targets.tags[b * steps + t];
    for (let j = 0; j < k; j++) alpha[j] = start[j] + em[e0 + j];
    for (let t = 1; t < len; t++) {
      for (let j = 0; j < k; j++) {
        for (let i = 0; i < k; i++) tmp[i] = alpha[(t - 1) * k + i] + trans[i * k + j];
        alpha[t * k + j] = logSumExpRow(tmp, k) + em[e0 + t * k + j];
      }
    }
    for (let j = 0; j < k; j++) beta[(len - 1) * k + j] = end[j];
    for (let t = len - 2; t >= 0; t--) {
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) tmp[j] = trans[i * k + j] + em[e0 + (t + 1) * k + j] + beta[(t + 1) * k + j];
        beta[t * k + i] = logSumExpRow(tmp, k);
      }
    }
    for (let j = 0; j < k; j++) tmp[j] = alpha[(len - 1) * k + j] + end[j];
    const logZ = logSumExpRow(tmp, k);
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
    // pairwise marginals
    for (let t = 1; t < len; t++) {
      for (let i = 0; i < k; i++) {
        const a = alpha[(t - 1) * k + i] - logZ;
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
    const r = nllAndGradients(
      em.dataSync() as Float32Array,
      { batch: bsz, steps, numTags: k },
      trans.dataSync() as Float32Array,
      start.dataSync() as Float32Array,
      end.dataSync() as Float32Array,
      targets,
    );
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
