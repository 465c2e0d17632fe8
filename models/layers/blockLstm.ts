/**
 * Inference-only LSTM recurrence in one native kernel: TensorFlow's
 * `BlockLSTM` op (tensorflow/core/kernels/rnn/lstm_ops.cc), reached through
 * the tfjs-node backend's eager op interface. The whole sequence runs inside
 * one op call, instead of about a dozen tfjs kernels per time step; the
 * per-step products and gate math stay in Eigen. It has no gradient in
 * tfjs, so training keeps the step-by-step recurrence (`recurrence` in
 * lstm.ts), and the fused path is taken only where no gradient is needed.
 *
 * Shapes: x [T, B, D] time-major; w [D + H, 4H] with gate columns in
 * BlockLSTM's order i, g (cell input), f, o; b [4H] -> h [T, B, H].
 * Available on the native backend only (`blockLstmAvailable()`).
 */
import * as tf from '@tensorflow/tfjs';
import { type NativeBackend, nativeBackend } from './nativeOps.js';

let enabled = true;

/**
 * Turns the fused kernel off (or back on) for this process; benchmarks use
 * it to compare both paths in one run. On by default.
 */
export function useBlockLstm(on: boolean): void {
  enabled = on;
}

function native(): NativeBackend | undefined {
  return enabled ? nativeBackend() : undefined;
}

/** True when the fused kernel can run (native backend, not switched off). */
export function blockLstmAvailable(): boolean {
  return native() !== undefined;
}

/**
 * Runs BlockLSTM over x from zero initial state, all B rows for all T steps
 * (right padding is computed too and must be masked by the caller).
 */
export function blockLstm(x: tf.Tensor3D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor3D {
  const be = native();
  if (be === undefined) throw new Error('blockLstm needs the native TensorFlow backend');
  const [steps, bsz] = x.shape;
  const h = b.shape[0] / 4;
  const { binding } = be;
  const attrs = [
    { name: 'forget_bias', type: binding.TF_ATTR_FLOAT, value: 0 },
    { name: 'cell_clip', type: binding.TF_ATTR_FLOAT, value: -1 }, // <= 0: no clipping
    { name: 'use_peephole', type: binding.TF_ATTR_BOOL, value: false },
    { name: 'T', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT },
  ];
  // seq_len_max is an int64 scalar, which tfjs cannot hold; the backend
  // copies the bytes of the array it is given, so a little-endian int64 is
  // written as two int32 words (low, high).
  const seqLenMax = be.write(new Int32Array([steps, 0]), [], 'int64');
  const zerosState = tf.zeros([bsz, h]);
  const zerosPeep = tf.zeros([h]);
  try {
    const outs = be.executeMultipleOutputs(
      'BlockLSTM',
      attrs,
      [{ dataId: seqLenMax, shape: [], dtype: 'int64' }, x, zerosState, zerosState, w, zerosPeep, zerosPeep, zerosPeep, b],
      7,
    );
    // Outputs i, cs, f, o, ci, co, h: keep h.
    for (let k = 0; k < 6; k++) outs[k].dispose();
    return outs[6] as tf.Tensor3D;
  } finally {
    be.disposeData(seqLenMax, true);
    zerosState.dispose();
    zerosPeep.dispose();
  }
}
