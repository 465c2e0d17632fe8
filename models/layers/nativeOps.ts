/**
 * TensorFlow ops called directly through the tfjs-node backend's eager op
 * interface, for inference on the native backend: BlockLSTM (blockLstm.ts),
 * which tfjs has no kernel for, and GatherV2 without tfjs-node's per-index
 * check. tfjs-node's gather kernel reads every index back into JavaScript and
 * asserts its range one by one (a closure and two property lookups per
 * index) before it runs the op; at inference that loop took about a seventh
 * of a tagger call's time (BENCHMARKS.md, Limits round 5). TensorFlow's own
 * CPU kernel checks the range too and fails the op with InvalidArgument, so
 * an index out of range is still an error, not a read out of bounds.
 */
import * as tf from '@tensorflow/tfjs';

/** The slice of tfjs-node's NodeJSKernelBackend used here. */
export interface NativeBackend {
  binding: { TF_ATTR_FLOAT: number; TF_ATTR_BOOL: number; TF_ATTR_TYPE: number; TF_ATTR_INT: number; TF_FLOAT: number; TF_INT32: number };
  write(values: Int32Array, shape: number[], dtype: string): object;
  disposeData(dataId: object, force?: boolean): boolean;
  executeSingleOutput(name: string, attrs: unknown[], inputs: unknown[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: unknown[], inputs: unknown[], numOutputs: number): tf.Tensor[];
}

/** The native backend when it is the active one, else undefined. */
export function nativeBackend(): NativeBackend | undefined {
  if (tf.getBackend() !== 'tensorflow') return undefined;
  const be = tf.backend() as unknown as Partial<NativeBackend>;
  return typeof be.executeMultipleOutputs === 'function' && typeof be.executeSingleOutput === 'function' && be.binding !== undefined ? (be as NativeBackend) : undefined;
}

/**
 * Rows table[ids] for inference (no gradient): table [rows, cols] float32,
 * ids int32 [n] -> [n, cols]. TensorFlow's GatherV2 called directly on the
 * native backend (an index out of [0, rows) fails the op); tf.gather
 * elsewhere.
 */
export function gatherInference(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const be = nativeBackend();
  if (be === undefined || table.dtype !== 'float32' || ids.dtype !== 'int32') return tf.gather(table, ids);
  const { binding } = be;
  const attrs = [
    { name: 'batch_dims', type: binding.TF_ATTR_INT, value: 0 },
    { name: 'Tparams', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT },
    { name: 'Tindices', type: binding.TF_ATTR_TYPE, value: binding.TF_INT32 },
    { name: 'Taxis', type: binding.TF_ATTR_TYPE, value: binding.TF_INT32 },
  ];
  const axis = tf.scalar(0, 'int32');
  try {
    return be.executeSingleOutput('GatherV2', attrs, [table, ids, axis]) as tf.Tensor2D;
  } finally {
    axis.dispose();
  }
}
