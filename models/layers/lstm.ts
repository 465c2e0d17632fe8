/**
 * (Bi)LSTM encoder written for a low op count per time step:
 *  - the input projection x W + b for all time steps and both directions is
 *    one batched matrix product before the loop;
 *  - both directions advance together in one batched product h U per step
 *    (weights stacked on a leading direction axis);
 *  - the gates are fused: one sigmoid over [i, f, o] and one tanh over g.
 * The backward direction reads each sequence reversed within its own length
 * (a gather), so right padding never leaks into real positions for either
 * direction; outputs at padded positions are unspecified and must be masked.
 * At inference on the native backend the recurrence instead runs in
 * TensorFlow's fused BlockLSTM kernel (blockLstm.ts), one op per direction
 * for the whole sequence, with the same weights and the same results.
 * (Measured: moving the gate math to plain TypeScript with one backend
 * matMul per step was slower at batch 32-64, e.g. 135 vs 50 ms forward at
 * B32 T60: the TypeScript exp/tanh loops cost more than the kernels they
 * replace. See BENCHMARKS.md.)
 */
import * as tf from '@tensorflow/tfjs';
import { blockLstm, blockLstmAvailable } from './blockLstm.js';
import { gatherRows } from './gatherRows.js';
import { glorotUniform, type ParamMap, variable } from './params.js';
import type { Rng } from '../rng.js';

export interface LstmOptions {
  inputDim: number;
  hiddenDim: number;
  /** true: forward and backward directions, output 2 * hiddenDim. */
  bidirectional: boolean;
}

export class LstmEncoder {
  readonly w: tf.Variable; // [dirs, inputDim, 4H], gate order i, f, o, g
  readonly u: tf.Variable; // [dirs, H, 4H]
  readonly b: tf.Variable; // [dirs, 1, 4H], forget-gate bias starts at 1
  readonly dirs: number;

  constructor(readonly options: LstmOptions, rng: Rng) {
    const { inputDim: d, hiddenDim: h } = options;
    const dirs = (this.dirs = options.bidirectional ? 2 : 1);
    this.w = variable('w', [dirs, d, 4 * h], glorotUniform(rng, [dirs, d, 4 * h], d, 4 * h));
    this.u = variable('u', [dirs, h, 4 * h], glorotUniform(rng, [dirs, h, 4 * h], h, 4 * h));
    const bias = new Float32Array(dirs * 4 * h);
    for (let k = 0; k < dirs; k++) bias.fill(1, k * 4 * h + h, k * 4 * h + 2 * h);
    this.b = variable('b', [dirs, 1, 4 * h], bias);
  }

  /** Output width: hiddenDim times the number of directions. */
  get outputDim(): number {
    return this.options.hiddenDim * this.dirs;
  }

  /**
   * x [B, T, inputDim], lengths (B true lengths, each <= T) -> [B, T, outputDim]
   * (forward states, then backward states, on the last axis).
   * `inference` (no gradient will be taken) lets the native backend run the
   * fused kernel; training must leave it unset.
   */
  apply(x: tf.Tensor3D, lengths: ArrayLike<number>, inference = false): tf.Tensor3D {
    return tf.tidy(() => {
      const [bsz, steps, d] = x.shape;
      const h = this.options.hiddenDim;
      const dirs = this.dirs;
      const flat = tf.reshape(x, [bsz * steps, d]);
      const rev = dirs === 2 ? reverseIndex(bsz, steps, lengths) : undefined;
      const inputs = rev ? tf.stack([flat, gatherRows(flat as tf.Tensor2D, rev)]) : tf.expandDims(flat, 0); // [dirs, B*T, D]
      const states =
        inference && blockLstmAvailable()
          ? this.fused(tf.reshape(inputs, [dirs, bsz, steps, d]) as tf.Tensor4D)
          : recurrence(tf.reshape(tf.add(tf.matMul(inputs, this.w), this.b), [dirs, bsz, steps, 4 * h]), this.u); // [dirs, B, T, H]
      if (dirs === 1) return tf.reshape(states, [bsz, steps, h]) as tf.Tensor3D;
      const [fwd, bwdRev] = tf.unstack(states);
      const bwd = tf.reshape(gatherRows(tf.reshape(bwdRev, [bsz * steps, h]) as tf.Tensor2D, rev!), [bsz, steps, h]);
      return tf.concat([fwd, bwd], 2) as tf.Tensor3D;
    });
  }

  /** inputs [dirs, B, T, D] -> states [dirs, B, T, H], one BlockLSTM call per direction. */
  private fused(inputs: tf.Tensor4D): tf.Tensor4D {
    const h = this.options.hiddenDim;
    // Our gate columns are i, f, o, g; BlockLSTM's are i, g, f, o.
    const order = tf.tensor1d([...range(0, h), ...range(3 * h, 4 * h), ...range(h, 3 * h)], 'int32');
    const [ws, us, bs] = [tf.unstack(this.w), tf.unstack(this.u), tf.unstack(this.b)]; // per direction
    const out = tf.unstack(inputs).map((input, k) => {
      const w = tf.gather(tf.concat([ws[k], us[k]], 0), order, 1) as tf.Tensor2D; // [D+H, 4H]
      const b = tf.gather(tf.reshape(bs[k], [4 * h]), order) as tf.Tensor1D; // [4H]
      const x = tf.transpose(input, [1, 0, 2]) as tf.Tensor3D; // [T, B, D]
      return tf.transpose(blockLstm(x, w, b), [1, 0, 2]); // [B, T, H]
    });
    return tf.stack(out) as tf.Tensor4D;
  }

  params(): ParamMap {
    return new Map([
      ['w', this.w],
      ['u', this.u],
      ['b', this.b],
    ]);
  }
}

/**
 * The recurrence over precomputed input projections, differentiated by tfjs
 * autodiff: proj [D, B, T, 4H], u [D, H, 4H] -> hidden states [D, B, T, H].
 */
export function recurrence(proj: tf.Tensor4D, u: tf.Variable | tf.Tensor3D): tf.Tensor4D {
  return tf.tidy(() => {
    const [dirs, bsz, steps, g4] = proj.shape;
    const h = g4 / 4;
    const perStep = tf.unstack(tf.transpose(proj, [2, 0, 1, 3])) as tf.Tensor3D[]; // T x [dirs, B, 4H]
    let hPrev: tf.Tensor3D | undefined;
    let cPrev: tf.Tensor3D | undefined;
    const outs: tf.Tensor3D[] = [];
    for (let t = 0; t < steps; t++) {
      const z = hPrev === undefined ? perStep[t] : tf.add(perStep[t], tf.matMul(hPrev, u));
      const sig = tf.sigmoid(tf.slice(z, [0, 0, 0], [dirs, bsz, 3 * h]));
      const g = tf.tanh(tf.slice(z, [0, 0, 3 * h], [dirs, bsz, h]));
      const [i, f, o] = tf.split(sig, 3, 2) as tf.Tensor3D[];
      const c: tf.Tensor3D = cPrev === undefined ? tf.mul(i, g) : tf.add(tf.mul(f, cPrev), tf.mul(i, g));
      const hNew: tf.Tensor3D = tf.mul(o, tf.tanh(c));
      outs.push(hNew);
      hPrev = hNew;
      cPrev = c;
    }
    return tf.transpose(tf.stack(outs), [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/**
 * Flat indices [B*T] that reverse each row of a [B, T] grid within its
 * length and leave padding in place. The map is its own inverse.
 */
export function reverseIndex(bsz: number, steps: number, lengths: ArrayLike<number>): tf.Tensor1D {
  const idx = new Int32Array(bsz * steps);
  for (let b = 0; b < bsz; b++) {
    const len = lengths[b];
    for (let t = 0; t < steps; t++) idx[b * steps + t] = b * steps + (t < len ? len - 1 - t : t);
  }
  return tf.tensor1d(idx, 'int32');
}
