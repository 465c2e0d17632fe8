/**
 * Sparse lexical features as in the paper's baseline CRF: each position
 * carries F hashed feature ids (character n-grams around it, see
 * models/features/lexical.ts); each id has a learned weight per tag, and the
 * sum over a position's features adds to that position's emission scores.
 * Equivalent to a linear CRF feature function with hashed weights.
 */
import * as tf from '@tensorflow/tfjs';
import { gatherRows } from './gatherRows.js';
import { gatherInference } from './nativeOps.js';
import { type ParamMap, variable } from './params.js';

export interface HashedFeaturesOptions {
  numBuckets: number;
  numTags: number;
}

export class HashedFeatures {
  readonly table: tf.Variable; // [numBuckets, numTags], zero-initialised (a linear model)

  constructor(readonly options: HashedFeaturesOptions) {
    this.table = variable('lexical', [options.numBuckets, options.numTags]);
  }

  /**
   * featureIds [B, T, F] int32 -> emission scores [B, T, numTags].
   * `inference` (no gradient will be taken) gathers by gatherInference.
   */
  apply(featureIds: tf.Tensor3D, inference = false): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, t, f] = featureIds.shape;
      const flat = tf.reshape(featureIds, [b * t * f]) as tf.Tensor1D;
      const w = inference ? gatherInference(this.table as tf.Tensor2D, flat) : gatherRows(this.table as tf.Tensor2D, flat); // [B*T*F, K]
      return tf.sum(tf.reshape(w, [b, t, f, this.options.numTags]), 2) as tf.Tensor3D;
    });
  }

  params(): ParamMap {
    return new Map([['table', this.table]]);
  }
}
