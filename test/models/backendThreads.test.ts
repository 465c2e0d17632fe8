/**
 * preferOneComputeThread: a streaming worker's TensorFlow pool is one thread
 * unless the operator set TF_NUM_INTRAOP_THREADS, whose value is kept.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { preferOneComputeThread } from '../../models/backend.js';

test('one TensorFlow compute thread unless TF_NUM_INTRAOP_THREADS is set', () => {
  const saved = process.env.TF_NUM_INTRAOP_THREADS;
  try {
    delete process.env.TF_NUM_INTRAOP_THREADS;
    preferOneComputeThread();
    assert.equal(process.env.TF_NUM_INTRAOP_THREADS, '1');
    process.env.TF_NUM_INTRAOP_THREADS = '4';
    preferOneComputeThread();
    assert.equal(process.env.TF_NUM_INTRAOP_THREADS, '4');
  } finally {
    if (saved === undefined) delete process.env.TF_NUM_INTRAOP_THREADS;
    else process.env.TF_NUM_INTRAOP_THREADS = saved;
  }
});
