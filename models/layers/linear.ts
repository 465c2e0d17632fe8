/**
 * Dense affine layer y = x W + b applied to the last axis.
 */
import * as tf from '@tensorflow/tfjs';
import { glorotUniform, type ParamMap, variable } from './params.js';
import type { Rng } from '../rng.js';

export interface LinearOptions {
  inputDim: number;
  outputDim: number;
}

export class Linear {
  readonly weight: tf.Variable; // [inputDim, outputDim]
  readonly bias: tf.Variable; // [outputDim]

  constructor(readonly options: LinearOptions, rng: Rng) {
    const { inputDim, outputDim } = options;
    this.weight = variable('weight', [inputDim, outputDim], glorotUniform(rng, [inputDim, outputDim], inputDim, outputDim));
    this.bias = variable('bias', [outputDim]);
  }

  /** x [B, T, inputDim] -> [B, T, outputDim]. */
  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, t, d] = x.shape;
      const y = tf.matMul(tf.reshape(x, [b * t, d]), this.weight).add(this.bias);
      return tf.reshape(y, [b, t, this.options.outputDim]) as tf.Tensor3D;
    });
  }

  params(): ParamMap {
    return new Map([
      ['weight', this.weight],
      ['bias', this.bias],
    ]);
  }
}
