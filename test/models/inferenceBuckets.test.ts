/**
 * Least-cost grouping for inference (models/batch.ts inferenceBuckets): each
 * sentence once, in length order, within batchSize and maxCells; its cost is
 * the brute-force optimum over every way of cutting the sorted order, and
 * never above lengthBuckets' greedy cuts. The shipped model finds the same
 * mentions (confidences within 1e-5) with either grouping, at different
 * paddings, and the tensor count stays flat.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { projectRoot } from '../../cli/defaults.js';
import { inferenceBuckets, lengthBuckets, PASS_CELLS, useLeastCostBuckets, usePassCells } from '../../models/batch.js';
import { NeuralTagger, type Mention } from '../../models/tagger.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { testBackend } from '../support/backend.js';

const cost = (lengths: readonly number[], buckets: readonly number[][], passCells: number) =>
  buckets.reduce((sum, b) => sum + passCells + b.length * Math.max(...b.map((i) => lengths[i])), 0);

/** The least cost over every contiguous cut of the sorted order within the limits (2^(n-1) cuts). */
function bruteForceCost(lengths: readonly number[], batchSize: number, maxCells: number, passCells: number): number {
  const sorted = [...lengths].sort((a, b) => a - b);
  const n = sorted.length;
  let best = Infinity;
  for (let mask = 0; mask < 2 ** Math.max(0, n - 1); mask++) {
    let total = 0;
    let start = 0;
    let ok = true;
    for (let i = 1; i <= n && ok; i++) {
      if (i === n || mask & (1 << (i - 1))) {
        const count = i - start;
        const cells = count * sorted[i - 1];
        if (count > batchSize || (count > 1 && cells > maxCells)) ok = false;
        total += passCells + cells;
        start = i;
      }
    }
    if (ok) best = Math.min(best, total);
  }
  return n === 0 ? 0 : best;
}

test('inferenceBuckets: every sentence once, in length order, within the limits, at the least cost (brute force) and never above the greedy cuts', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 11 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 60, max: 300 }),
      fc.integer({ min: 0, max: 200 }),
      (lengths, batchSize, maxCells, passCells) => {
        const buckets = inferenceBuckets(lengths, batchSize, maxCells, passCells);
        assert.deepEqual(buckets.flat(), lengthBuckets(lengths, Infinity).flat(), 'each sentence once, in length order');
        for (const b of buckets) {
          assert.ok(b.length >= 1 && b.length <= batchSize);
          assert.ok(b.length === 1 || b.length * Math.max(...b.map((i) => lengths[i])) <= maxCells);
        }
        const c = cost(lengths, buckets, passCells);
        assert.equal(c, bruteForceCost(lengths, batchSize, maxCells, passCells));
        assert.ok(c <= cost(lengths, lengthBuckets(lengths, batchSize, maxCells), passCells));
      },
    ),
  );
});

test('inferenceBuckets with useLeastCostBuckets(false) is lengthBuckets', () => {
  const lengths = [5, 40, 3, 3, 17, 60, 2, 33, 8];
  try {
    useLeastCostBuckets(false);
    assert.deepEqual(inferenceBuckets(lengths, 4, 100), lengthBuckets(lengths, 4, 100));
  } finally {
    useLeastCostBuckets(true);
  }
  assert.notDeepEqual(inferenceBuckets(lengths, 4, 100, PASS_CELLS), lengthBuckets(lengths, 4, 100));
});

test('usePassCells sets the pass cost inferenceBuckets uses by default, and rejects a negative one', () => {
  const lengths = [5, 40, 3, 3, 17, 60, 2, 33, 8];
  const cheap = inferenceBuckets(lengths, 4, 100, 0);
  const dear = inferenceBuckets(lengths, 4, 100, 10_000);
  assert.notDeepEqual(cheap, dear); // a free pass cuts more batches than a costly one
  try {
    usePassCells(0);
    assert.deepEqual(inferenceBuckets(lengths, 4, 100), cheap);
    usePassCells(10_000);
    assert.deepEqual(inferenceBuckets(lengths, 4, 100), dear);
    assert.throws(() => usePassCells(-1), RangeError);
  } finally {
    usePassCells(PASS_CELLS);
  }
  assert.deepEqual(inferenceBuckets(lengths, 4, 100), inferenceBuckets(lengths, 4, 100, PASS_CELLS));
});

let model: TaggerModel;
before(async () => {
  await testBackend();
  model = (await TaggerModel.load(join(projectRoot(), 'models', 'default'))).model;
});
after(() => model.dispose());

/** The sample posts, and pieces of them of every length from 1 to 120, so that the two groupings cut differently. */
function texts(): string[] {
  const posts = readFileSync(join(projectRoot(), 'schemas', 'post', 'samples', 'posts.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { text: string }).text);
  const all = posts.join('');
  return [...posts, ...Array.from({ length: 120 }, (_, i) => all.slice((i * 37) % 500, ((i * 37) % 500) + 1 + ((i * 53) % 120)))];
}

test('the same mentions with either grouping, and the tensor count stays flat', { timeout: 120_000 }, async () => {
  // tagger calls of 40 texts, as a worker's batch: few texts per call, so the groupings differ
  const calls: string[][] = [];
  const input = texts();
  for (let i = 0; i < input.length; i += 40) calls.push(input.slice(i, i + 40));
  const tagger = new NeuralTagger(model, { batchSize: 64 });
  const run = async (leastCost: boolean): Promise<Mention[][]> => {
    useLeastCostBuckets(leastCost);
    try {
      const out: Mention[][] = [];
      for (const c of calls) out.push(...(await tagger.tag(c)));
      return out;
    } finally {
      useLeastCostBuckets(true);
    }
  };
  const greedy = await run(false);
  const base = tf.memory().numTensors;
  const leastCost = await run(true);
  for (let i = 0; i < 3; i++) await run(i % 2 === 0);
  assert.equal(tf.memory().numTensors, base);
  const pieces = (t: string) => Array.from({ length: Math.ceil([...t].length / 200) }, (_, k) => Math.min(200, [...t].length - 200 * k));
  const differ = calls.filter((c) => {
    const lengths = c.flatMap(pieces);
    return JSON.stringify(inferenceBuckets(lengths, 64, 2048)) !== JSON.stringify(lengthBuckets(lengths, 64, 2048));
  });
  assert.ok(differ.length >= 2, `the groupings differ in ${differ.length} of ${calls.length} calls`);
  assert.ok(greedy.flat().length > 20, `${greedy.flat().length} mentions`);
  const strip = (ms: Mention[][]) => ms.map((m) => m.map(({ confidence: _c, ...rest }) => rest));
  assert.deepEqual(strip(leastCost), strip(greedy));
  greedy.forEach((ms, i) => ms.forEach((m, j) => assert.ok(Math.abs(m.confidence - leastCost[i][j].confidence) < 1e-5, `text ${i} mention ${j}`)));
});
