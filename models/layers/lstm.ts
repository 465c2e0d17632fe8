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
 * At inference on the native backend the recurrence instead runs in C
 * (nativeLstm.ts: mentionflow's addon on a CPU with AVX-512F or AVX2 and FMA), each sentence alone
 * and no padding computed, or else in
 * TensorFlow's fused BlockLSTM kernel (blockLstm.ts), one op per direction
 * for the whole sequence, with the same weights and the same results; a
 * pass there is a gather per direction into the kernel's time-major input,
 * the kernels, and one gather back, with the weights in the kernel's layout
 * cached per weights version (BENCHMARKS.md, Limits round 4).
 * (Measured: moving the gate math to plain TypeScript with one backend
 * matMul per step was slower at batch 32-64, e.g. 135 vs 50 ms forward at
 * B32 T60: the TypeScript exp/tanh loops cost more than the kernels they
 * replace. See BENCHMARKS.md.)
 */
import * as tf from '@tensorflow/tfjs';
import { blockLstm, blockLstmAvailable } from './blockLstm.js';
import { gatherRows } from './gatherRows.js';
import { nativeLstmAvailable, nativeLstmPacked, nativeLstmPrepare, type NativeLstmWeights } from './nativeLstm.js';
import { gatherInference } from './nativeOps.js';
import { disposeParams, glorotUniform, type ParamMap, variable } from './params.js';
import type { Rng } from '../rng.js';
import type { PackedLayout } from '../packing.js';

/**
 * The weight on the separator input of a packed batch (applyPacked) for the
 * input and forget gates: their pre-activations there are below -RESET_SCORE
 * plus the other inputs' few units, so both gates are 0 in float32 (sigmoid of
 * -9,990 underflows) and the cell state and output are exactly 0.
 */
export const RESET_SCORE = 1e4;

/** One direction's weights in BlockLSTM's layout: w [D + H, 4H], wReset [D + 1 + H, 4H] (with the separator input's row), b [4H]. */
interface BlockWeights {
  w: tf.Tensor2D;
  wReset: tf.Tensor2D;
  b: tf.Tensor1D;
}

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
  private blockCache?: { key: object[]; weights: BlockWeights[] };
  private nativeCache?: { key: object[]; weights: NativeLstmWeights };

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
    if (inference && nativeLstmAvailable()) return this.native(x, lengths);
    if (inference && blockLstmAvailable()) return this.fused(x, lengths);
    return tf.tidy(() => {
      const [bsz, steps, d] = x.shape;
      const h = this.options.hiddenDim;
      const dirs = this.dirs;
      const flat = tf.reshape(x, [bsz * steps, d]);
      const rev = dirs === 2 ? reverseIndex(bsz, steps, lengths) : undefined;
      const inputs = rev ? tf.stack([flat, gatherRows(flat as tf.Tensor2D, rev)]) : tf.expandDims(flat, 0); // [dirs, B*T, D]
      const states = recurrence(tf.reshape(tf.add(tf.matMul(inputs, this.w), this.b), [dirs, bsz, steps, 4 * h]), this.u); // [dirs, B, T, H]
      if (dirs === 1) return tf.reshape(states, [bsz, steps, h]) as tf.Tensor3D;
      const [fwd, bwdRev] = tf.unstack(states);
      const bwd = tf.reshape(gatherRows(tf.reshape(bwdRev, [bsz * steps, h]) as tf.Tensor2D, rev!), [bsz, steps, h]);
      return tf.concat([fwd, bwd], 2) as tf.Tensor3D;
    });
  }

  /**
   * The inference path on the C kernel (nativeLstm.ts), x [B, T, D] -> [B, T,
   * outputDim]: row b's sentence is its first lengths[b] positions, and only
   * those are computed (the padding's outputs are 0).
   */
  private native(x: tf.Tensor3D, lengths: ArrayLike<number>): tf.Tensor3D {
    const [bsz, steps] = x.shape;
    const starts = Int32Array.from({ length: bsz }, (_, b) => b * steps);
    const out = nativeLstmPacked(this.nativeWeights(), x.dataSync() as Float32Array, starts, Int32Array.from(lengths));
    return tf.tensor3d(out, [bsz, steps, this.outputDim]);
  }

  /**
   * The inference path on the fused kernel, x [B, T, D] -> [B, T, outputDim].
   * A pass is one gather per direction into BlockLSTM's time-major input
   * (the backward one also reversing each row within its length), one
   * BlockLSTM per direction, and one gather that takes both directions'
   * [T, B, H] states back to batch-major, un-reverses the backward one and
   * lays the directions side by side. The weights in BlockLSTM's layout come
   * from a cache (blockWeights).
   */
  private fused(x: tf.Tensor3D, lengths: ArrayLike<number>): tf.Tensor3D {
    const weights = this.blockWeights();
    return tf.tidy(() => {
      const [bsz, steps, d] = x.shape;
      const h = this.options.hiddenDim;
      const dirs = this.dirs;
      const flat = tf.reshape(x, [bsz * steps, d]) as tf.Tensor2D;
      const ix = timeMajorIndex(bsz, steps, lengths, dirs === 2);
      const states = weights.map(({ w, b }, k) => {
        const rows = gatherInference(flat, tf.tensor1d(k === 0 ? ix.forward : ix.backward!, 'int32'));
        return blockLstm(tf.reshape(rows, [steps, bsz, d]) as tf.Tensor3D, w, b); // [T, B, H]
      });
      const all = tf.reshape(dirs === 2 ? tf.concat(states, 0) : states[0], [dirs * steps * bsz, h]) as tf.Tensor2D;
      return tf.reshape(gatherInference(all, tf.tensor1d(ix.output, 'int32')), [bsz, steps, dirs * h]) as tf.Tensor3D;
    });
  }

  /**
   * Inference over a packed batch (models/packing.ts) on the fused kernel:
   * x [N, D] (the batch's characters on the flat axis) -> [N, outputDim]. The
   * kernel's input gains one column, 1 at the separator steps and 0 elsewhere,
   * whose weights drive the input and forget gates to 0 (RESET_SCORE): at a
   * separator the cell state becomes 0 and so does the output, which is the
   * zero state a sentence starts from alone. The backward direction reverses
   * each row within its used length, so it too meets each sentence from a
   * separator or the row's end. Only where the fused kernel runs
   * (`canPack`); outputs are computed for the N characters only.
   * Where the C kernel runs (nativeLstm.ts: the addon, AVX-512 or AVX2) it takes the
   * pass instead: each sentence alone, no rows, padding or separators.
   */
  applyPacked(x: tf.Tensor2D, layout: PackedLayout): tf.Tensor2D {
    if (nativeLstmAvailable()) {
      const out = nativeLstmPacked(this.nativeWeights(), x.dataSync() as Float32Array, layout.starts, layout.lengths);
      return tf.tensor2d(out, [layout.chars, this.outputDim]);
    }
    const weights = this.blockWeights();
    return tf.tidy(() => {
      const d = x.shape[1];
      const h = this.options.hiddenDim;
      const dirs = this.dirs;
      const { rows, steps } = layout;
      // Rows of the kernel's input: the N characters, then padding (zeros), then the separator.
      const inputs = tf.concat([tf.pad(x, [[0, 1], [0, 1]]), tf.oneHot(tf.tensor1d([d], 'int32'), d + 1, 1, 0, 'float32')], 0) as tf.Tensor2D;
      const ix = packedTimeMajorIndex(layout, dirs === 2);
      const states = weights.map(({ wReset, b }, k) => {
        const rowsIn = gatherInference(inputs, tf.tensor1d(k === 0 ? ix.forward : ix.backward!, 'int32'));
        return blockLstm(tf.reshape(rowsIn, [steps, rows, d + 1]) as tf.Tensor3D, wReset, b); // [T, R, H]
      });
      const all = tf.reshape(dirs === 2 ? tf.concat(states, 0) : states[0], [dirs * steps * rows, h]) as tf.Tensor2D;
      return tf.reshape(gatherInference(all, tf.tensor1d(ix.output, 'int32')), [layout.chars, dirs * h]) as tf.Tensor2D;
    });
  }

  /** True where applyPacked can run: the fused kernel is available. */
  canPack(): boolean {
    return blockLstmAvailable();
  }

  /**
   * Per direction: the weights [D + H, 4H] and bias [4H] with the gate
   * columns in BlockLSTM's order (i, g, f, o; ours are i, f, o, g). Built
   * once per weights version and kept: a variable's dataId changes on every
   * assign (optimizer steps, loading, weight averaging, checkpoints), so the
   * cache is keyed on the three variables' dataIds and rebuilt, the old
   * tensors disposed, when any of them changed: stale weights are never used.
   */
  private blockWeights(): BlockWeights[] {
    const key = this.weightsKey();
    const cached = this.blockCache;
    if (cached && sameKey(cached.key, key)) return cached.weights;
    this.disposeBlockWeights();
    const h = this.options.hiddenDim;
    const weights = tf.tidy(() => {
      const order = tf.tensor1d([...range(0, h), ...range(3 * h, 4 * h), ...range(h, 3 * h)], 'int32');
      const [ws, us, bs] = [tf.unstack(this.w), tf.unstack(this.u), tf.unstack(this.b)]; // per direction
      // The separator input's row: -RESET_SCORE on the input and forget gates (ours: i, f), 0 elsewhere.
      const reset = tf.concat([tf.fill([1, 2 * h], -RESET_SCORE), tf.zeros([1, 2 * h])], 1);
      return ws.map((wk, k) => ({
        w: tf.keep(tf.gather(tf.concat([wk, us[k]], 0), order, 1) as tf.Tensor2D),
        wReset: tf.keep(tf.gather(tf.concat([wk, reset, us[k]], 0), order, 1) as tf.Tensor2D),
        b: tf.keep(tf.gather(tf.reshape(bs[k], [4 * h]), order) as tf.Tensor1D),
      }));
    });
    this.blockCache = { key, weights };
    return weights;
  }

  /**
   * The weights in the C kernel's layout (nativeLstm.ts), made once per
   * weights version and kept, keyed as blockWeights' (a host array: nothing
   * to dispose).
   */
  nativeWeights(): NativeLstmWeights {
    const key = this.weightsKey();
    const cached = this.nativeCache;
    if (cached && sameKey(cached.key, key)) return cached.weights;
    const read = (v: tf.Variable) => v.dataSync() as Float32Array;
    const weights = nativeLstmPrepare(read(this.w), read(this.u), read(this.b), this.options.inputDim, this.options.hiddenDim);
    this.nativeCache = { key, weights };
    return weights;
  }

  /** The three variables' dataIds: every assign replaces its variable's, so they name one weights version. */
  private weightsKey(): object[] {
    return [this.w.dataId, this.u.dataId, this.b.dataId];
  }

  /** Builds what inference keeps per weights version now (TaggerModel.load), instead of in the first call: the fused kernel's weights, and the C kernel's. */
  prepareInference(): void {
    if (blockLstmAvailable()) this.blockWeights();
    if (nativeLstmAvailable()) this.nativeWeights();
  }

  /** Frees the cached BlockLSTM-ordered weights (rebuilt by the next fused call). */
  disposeBlockWeights(): void {
    for (const { w, wReset, b } of this.blockCache?.weights ?? []) tf.dispose([w, wReset, b]);
    this.blockCache = undefined;
  }

  /** Disposes the variables and the cached fused-kernel weights. */
  dispose(): void {
    disposeParams(this.params());
    this.disposeBlockWeights();
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

function sameKey(a: readonly object[], b: readonly object[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
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

/**
 * Gather indices between a batch-major [B, T] grid (position b * T + t) and
 * BlockLSTM's time-major one (row t * B + b):
 *  - forward [T * B]: the batch-major position of each time-major row;
 *  - backward [T * B] (bidirectional): the same with each row reversed
 *    within its length (padding left in place);
 *  - output [B * T * dirs]: for each batch-major position and direction, its
 *    row in the time-major states stacked forward then backward
 *    ([dirs * T * B]), the backward one un-reversed.
 */
export function timeMajorIndex(
  bsz: number,
  steps: number,
  lengths: ArrayLike<number>,
  bidirectional: boolean,
): { forward: Int32Array; backward?: Int32Array; output: Int32Array } {
  const dirs = bidirectional ? 2 : 1;
  const forward = new Int32Array(bsz * steps);
  const backward = bidirectional ? new Int32Array(bsz * steps) : undefined;
  const output = new Int32Array(bsz * steps * dirs);
  for (let b = 0; b < bsz; b++) {
    const len = lengths[b];
    for (let t = 0; t < steps; t++) {
      const rev = t < len ? len - 1 - t : t;
      forward[t * bsz + b] = b * steps + t;
      output[(b * steps + t) * dirs] = t * bsz + b;
      if (backward) {
        backward[t * bsz + b] = b * steps + rev;
        output[(b * steps + t) * dirs + 1] = (steps + rev) * bsz + b;
      }
    }
  }
  return { forward, backward, output };
}

/**
 * Gather indices for a packed batch (models/packing.ts) between its rows of
 * inputs and BlockLSTM's time-major grid [T, R] (row t * R + r). Input rows
 * are the N characters on the flat axis, then padding (N), then the
 * separator (N + 1):
 *  - forward [T * R]: the input row at each step of each row;
 *  - backward [T * R] (bidirectional): the same with each row reversed
 *    within its used length (padding stays at the end);
 *  - output [N * dirs]: for each character and direction, its row in the
 *    time-major states stacked forward then backward ([dirs * T * R]), the
 *    backward one un-reversed.
 */
export function packedTimeMajorIndex(
  layout: PackedLayout,
  bidirectional: boolean,
): { forward: Int32Array; backward?: Int32Array; output: Int32Array } {
  const { rows, steps, chars } = layout;
  const dirs = bidirectional ? 2 : 1;
  const pad = chars;
  const sep = chars + 1;
  const forward = new Int32Array(rows * steps).fill(pad);
  const backward = bidirectional ? new Int32Array(rows * steps).fill(pad) : undefined;
  const output = new Int32Array(chars * dirs);
  for (let j = 0; j < layout.lengths.length; j++) {
    const r = layout.row[j];
    const at = layout.at[j];
    const last = layout.used[r] - 1;
    const start = layout.starts[j];
    if (at > 0) {
      forward[(at - 1) * rows + r] = sep;
      if (backward) backward[(last - (at - 1)) * rows + r] = sep;
    }
    for (let p = 0; p < layout.lengths[j]; p++) {
      const t = at + p;
      const c = start + p;
      forward[t * rows + r] = c;
      output[c * dirs] = t * rows + r;
      if (backward) {
        const tr = last - t;
        backward[tr * rows + r] = c;
        output[c * dirs + 1] = (steps + tr) * rows + r;
      }
    }
  }
  return { forward, backward, output };
}
