/**
 * One optimisation step on one task: weighted CRF loss of a batch, gradients
 * of the variables that loss depends on, clipping by global norm, update.
 * Everything created here is disposed before it returns.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../../models/batch.js';
import type { MarginCost } from '../../models/crf/fastNll.js';
import type { HeadName, TaggingNetwork } from '../../models/network/taggingNetwork.js';

export interface StepOptions {
  head: HeadName;
  /** Multiplies the loss (the paper's lambda for segmentation). */
  weight: number;
  optimizer: tf.Optimizer;
  /** Gradients are rescaled so that their global L2 norm is at most this; 0 disables. */
  clipNorm: number;
  dropoutSeed: number;
  /** Softmax-margin cost of this head's loss (models/crf/fastNll.ts); absent: the likelihood. */
  cost?: MarginCost;
}

/** Runs the step and returns the (unweighted) loss value. */
export function trainStep(network: TaggingNetwork, batch: Batch, opts: StepOptions): number {
  const vars = network.headParams(opts.head);
  const varList = [...vars.values()];
  let loss = NaN;
  const { value, grads } = tf.variableGrads(() => {
    const raw = network.loss(opts.head, batch, opts.dropoutSeed, opts.cost);
    loss = raw.dataSync()[0]; // the unweighted loss, read here rather than divided out of the weighted one
    return tf.mul(raw, opts.weight) as tf.Scalar;
  }, varList);
  value.dispose();
  const clipped = opts.clipNorm > 0 ? clipByGlobalNorm(grads, opts.clipNorm) : grads;
  opts.optimizer.applyGradients(clipped);
  tf.dispose(Object.values(grads));
  if (clipped !== grads) tf.dispose(Object.values(clipped));
  if (!Number.isFinite(loss)) throw new Error(`training diverged: loss is ${loss}; lower the learning rate or the clip norm`);
  return loss;
}

function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): tf.NamedTensorMap {
  const norm = tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
  if (norm <= maxNorm) return grads;
  const scale = maxNorm / norm;
  const out: tf.NamedTensorMap = {};
  for (const [k, g] of Object.entries(grads)) out[k] = tf.mul(g, scale);
  return out;
}
