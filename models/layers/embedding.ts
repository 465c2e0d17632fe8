/**
 * Character embedding: a [vocabSize, dim] table looked up by id.
 * Row 0 is the padding id; its vector is trained like any other but padded
 * positions are masked downstream.
 */
import * as tf from '@tensorflow/tfjs';
import { gatherRows } from './gatherRows.js';
import { gatherInference } from './nativeOps.js';
import { type ParamMap, uniformValues, variable } from './params.js';
import type { Rng } from '../rng.js';

export interface EmbeddingOptions {
  vocabSize: number;
  dim: number;
}

export class Embedding {
  readonly table: tf.Variable; // [vocabSize, dim]

  constructor(readonly options: EmbeddingOptions, rng: Rng) {
    const { vocabSize, dim } = options;
    this.table = variable('embedding', [vocabSize, dim], uniformValues(rng, [vocabSize, dim], Math.sqrt(3 / dim)));
  }

  /** ids [B, T] int32 -> [B, T, dim]. */
  apply(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, t] = ids.shape;
      const rows = gatherRows(this.table as tf.Tensor2D, tf.reshape(ids, [b * t]));
      return tf.reshape(rows, [b, t, this.options.dim]) as tf.Tensor3D;
    });
  }

  /** Inference (no gradient): ids [N] int32 -> [N, dim], by gatherInference (models/layers/nativeOps.ts). */
  lookup(ids: tf.Tensor1D): tf.Tensor2D {
    return gatherInference(this.table as tf.Tensor2D, ids);
  }

  params(): ParamMap {
    return new Map([['table', this.table]]);
  }
}
