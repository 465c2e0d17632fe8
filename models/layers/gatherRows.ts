/**
 * Row lookup table[ids] with a gradient that every backend can run. tfjs
 * differentiates gather with UnsortedSegmentSum, which the WASM backend
 * lacks and the pure-JS backend runs very slowly (the embedding gradient
 * took most of a 180 s training step there). On those backends the
 * gradient here is a scatter-add in plain TypeScript into a dense
 * [rows, cols] array; on the native backend tfjs's own kernel is used.
 */
import * as tf from '@tensorflow/tfjs';

/** table [rows, cols], ids int32 [n] -> [n, cols]. */
export function gatherRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  if (tf.getBackend() === 'tensorflow') return tf.gather(table, ids);
  const [rows, cols] = table.shape;
  const f = (t: tf.Tensor, i: tf.Tensor) => {
    const index = i.dataSync() as Int32Array;
    return {
      value: tf.gather(t as tf.Tensor2D, i as tf.Tensor1D),
      gradFunc: (dy: tf.Tensor) => {
        const g = dy.dataSync() as Float32Array;
        const out = new Float32Array(rows * cols);
        for (let n = 0; n < index.length; n++) {
          const src = n * cols;
          const dst = index[n] * cols;
          for (let c = 0; c < cols; c++) out[dst + c] += g[src + c];
        }
        return [tf.tensor2d(out, [rows, cols]), tf.zerosLike(i)];
      },
    };
  };
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0])(table, ids) as tf.Tensor2D;
}
