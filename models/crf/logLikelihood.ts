/**
 * CRF training objective: log p(y | x) = score(x, y) - log Z(x), with log Z
 * from the forward algorithm in log space. Right-padded batches: positions
 * with mask 0 leave the forward variables unchanged and add no score.
 */
import * as tf from '@tensorflow/tfjs';
import type { Crf } from './crf.js';

export interface CrfBatch {
  /** Emission scores [B, T, K]. */
  emissions: tf.Tensor3D;
  /** Gold tag ids [B, T] int32 (any value at padded positions). */
  tags: tf.Tensor2D;
  /** 1 for real positions, 0 for padding [B, T] float32; every row starts with 1. */
  mask: tf.Tensor2D;
  /** The gold tag at each row's last real position [B] int32. */
  lastTags: tf.Tensor1D;
}

/** log Z(x) per sequence [B]. */
export function logPartition(crf: Crf, emissions: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const steps = emissions.shape[1];
    const trans = tf.expandDims(crf.effectiveTransitions(), 0); // [1, K, K]
    const emit = tf.unstack(tf.transpose(emissions, [1, 0, 2])) as tf.Tensor2D[]; // T x [B, K]
    const m = tf.unstack(tf.expandDims(tf.transpose(mask), 2)) as tf.Tensor2D[]; // T x [B, 1]
    let alpha: tf.Tensor2D = tf.add(crf.effectiveStart(), emit[0]); // [B, K]
    for (let t = 1; t < steps; t++) {
      const next = tf.add(tf.logSumExp(tf.add(tf.expandDims(alpha, 2), trans), 1), emit[t]) as tf.Tensor2D;
      alpha = tf.add(alpha, tf.mul(m[t], tf.sub(next, alpha)));
    }
    return tf.logSumExp(tf.add(alpha, crf.effectiveEnd()), 1) as tf.Tensor1D;
  });
}

/** Score of the gold path per sequence [B]. */
export function goldScore(crf: Crf, batch: CrfBatch): tf.Tensor1D {
  return tf.tidy(() => {
    const { emissions, tags, mask, lastTags } = batch;
    const [b, steps, k] = emissions.shape;
    const emit = tf.sum(tf.mul(tf.mul(emissions, tf.oneHot(tags, k)), tf.expandDims(mask, 2)), [1, 2]);
    const start = tf.gather(crf.effectiveStart(), tf.slice(tags, [0, 0], [b, 1]).reshape([b]));
    const end = tf.gather(crf.effectiveEnd(), lastTags);
    if (steps === 1) return tf.add(tf.add(emit, start), end) as tf.Tensor1D;
    const prev = tf.slice(tags, [0, 0], [b, steps - 1]);
    const next = tf.slice(tags, [0, 1], [b, steps - 1]);
    const pairIds = tf.add(tf.mul(prev, tf.scalar(k, 'int32')), next);
    const transFlat = tf.reshape(crf.effectiveTransitions(), [k * k]);
    const trans = tf.sum(tf.mul(tf.gather(transFlat, pairIds), tf.slice(mask, [0, 1], [b, steps - 1])), 1);
    return tf.add(tf.add(tf.add(emit, trans), start), end) as tf.Tensor1D;
  });
}

/** Mean negative log-likelihood over the batch (a scalar to minimise). */
export function crfLoss(crf: Crf, batch: CrfBatch): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sub(logPartition(crf, batch.emissions, batch.mask), goldScore(crf, batch))) as tf.Scalar);
}
