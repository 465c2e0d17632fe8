/**
 * The limits benchmark's model of the worker's batches (bench/workerBatches.ts):
 * a backlog fills batches to maxCount or maxChars, evenly spaced arrivals are
 * cut maxWaitMs after a batch's first post, and the padding is counted over
 * the tagger's pieces and tensor batches.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useLeastCostBuckets } from '../../models/batch.js';
import { callPadding, pieceLengths, workerBatches } from '../../bench/workerBatches.js';

const texts = Array.from({ length: 100 }, (_, i) => '字'.repeat(1 + (i % 10)));

test('a backlog fills batches to maxCount, or to maxChars', () => {
  assert.deepEqual(workerBatches(texts, { maxCount: 64, maxChars: 8192, maxWaitMs: 50, postsPerSecond: Infinity }).map((b) => b.length), [64, 36]);
  // 55 characters per 10 texts: 1+...+10 + 1+...+9 = 100 reaches maxChars at the 19th text
  assert.equal(workerBatches(texts, { maxCount: 64, maxChars: 100, maxWaitMs: 50, postsPerSecond: Infinity })[0].length, 19);
});

test('evenly spaced arrivals are cut maxWaitMs after the first post of a batch, in order', () => {
  const batches = workerBatches(texts, { maxCount: 64, maxChars: 8192, maxWaitMs: 50, postsPerSecond: 30 }); // a post every 33.3 ms
  assert.deepEqual(new Set(batches.map((b) => b.length)), new Set([2]));
  assert.deepEqual(batches.flat(), texts);
});

test('padding: pieces of at most maxLength, cells of each tensor batch', () => {
  assert.deepEqual(pieceLengths(['a'.repeat(450), '😀😀', ''], 200), [200, 200, 50, 2]);
  useLeastCostBuckets(false);
  try {
    // greedy, batchSize 2: [1, 3] and [10]: 2 x 3 + 1 x 10 cells
    assert.deepEqual(callPadding(['aaa', 'a'.repeat(10), 'b'], 200, 2, Infinity), { real: 14, cells: 16, passes: 2 });
  } finally {
    useLeastCostBuckets(true);
  }
});
