/**
 * gatherInference (models/layers/nativeOps.ts): TensorFlow's GatherV2 called
 * directly on the native backend gives tf.gather's rows, leaves only its
 * output behind, and an index out of range fails the op (TensorFlow's own
 * check) instead of reading outside the table.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { gatherInference, nativeBackend } from '../../../models/layers/nativeOps.js';
import { Rng } from '../../../models/rng.js';
import { testBackend } from '../../support/backend.js';

test('gatherInference gives tf.gather\'s rows, adds one tensor (its output), and rejects an index out of range', async () => {
  const backend = await testBackend();
  assert.equal(nativeBackend() !== undefined, backend === 'native');
  const rng = new Rng(9);
  const table = tf.tensor2d(Float32Array.from({ length: 50 * 17 }, () => rng.normal()), [50, 17]);
  const ids = tf.tensor1d(Int32Array.from({ length: 300 }, () => rng.int(50)), 'int32');
  const before = tf.memory().numTensors;
  const got = gatherInference(table, ids);
  assert.equal(tf.memory().numTensors, before + 1);
  assert.deepEqual(got.shape, [300, 17]);
  const want = tf.gather(table, ids);
  assert.deepEqual(got.arraySync(), want.arraySync());
  for (const bad of [50, -1, 1 << 30]) {
    const index = tf.tensor1d([0, bad, 3], 'int32');
    const count = tf.memory().numTensors;
    assert.throws(() => gatherInference(table, index), /not in|index|out of/i, `index ${bad}`);
    assert.equal(tf.memory().numTensors, count, `nothing left behind by the failed gather of ${bad}`);
    index.dispose();
  }
  tf.dispose([table, ids, got, want]);
});
