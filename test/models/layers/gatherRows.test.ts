import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { gatherRows } from '../../../models/layers/gatherRows.js';

test('gatherRows has the gradient of gather (scatter-add, repeated ids accumulate) on the JS backend', async () => {
  await tf.setBackend('cpu'); // this file's own process: the JS backend, where the custom gradient applies
  {
    const table = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
    const ids = tf.tensor1d([2, 0, 2], 'int32');
    const upstream = tf.tensor2d([1, 10, 100, 1000, 7, 70], [3, 2]);
    const loss = (t: tf.Tensor) => tf.sum(tf.mul(gatherRows(t as tf.Tensor2D, ids), upstream));
    assert.deepEqual(Array.from(gatherRows(table, ids).dataSync()), [5, 6, 1, 2, 5, 6]);
    const g = tf.grad(loss)(table).arraySync();
    assert.deepEqual(g, [[100, 1000], [0, 0], [8, 80], [0, 0]]);
  }
});
