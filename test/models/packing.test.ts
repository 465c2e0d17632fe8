/**
 * Packed inference batches (models/packing.ts): every sentence placed once,
 * in a row it fits with its separator, under the row and cell limits; the
 * flat character axis in row order; and the LSTM's gather indices for a
 * packed batch (models/layers/lstm.ts packedTimeMajorIndex), checked by an
 * identity recurrence.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { blockLstmAvailable } from '../../models/layers/blockLstm.js';
import { packedTimeMajorIndex } from '../../models/layers/lstm.js';
import { makePackedBatch, packRows, type PackedLayout, usePacking } from '../../models/packing.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { ENTITY_LABELS } from '../../models/text/labels.js';
import { TagDictionary } from '../../models/text/tagDictionary.js';
import { Vocabulary } from '../../models/text/vocabulary.js';
import { testBackend } from '../support/backend.js';

/** Checks a layout's invariants. */
function checkLayout(layout: PackedLayout): void {
  let flat = 0;
  const cursor = new Int32Array(layout.rows);
  for (let j = 0; j < layout.lengths.length; j++) {
    const r = layout.row[j];
    assert.ok(r >= 0 && r < layout.rows);
    assert.equal(layout.starts[j], flat, 'the flat axis follows the listing order');
    flat += layout.lengths[j];
    // sentences of a row are listed left to right, one separator between two
    assert.equal(layout.at[j], cursor[r] === 0 ? 0 : cursor[r] + 1);
    cursor[r] = layout.at[j] + layout.lengths[j];
    assert.ok(cursor[r] <= layout.steps, 'a sentence fits its row');
    if (j > 0) assert.ok(layout.row[j - 1] <= r, 'listed row by row');
  }
  assert.equal(layout.chars, flat);
  assert.deepEqual([...layout.used], [...cursor]);
  for (const u of layout.used) assert.ok(u >= 1, 'no empty rows');
}

test('packRows: every sentence once, rows within the longest length, the row and cell limits kept, longest first', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 120 }),
      fc.integer({ min: 1, max: 64 }),
      fc.constantFrom(Infinity, 2048, 300, 50),
      (lengths, maxRows, maxCells) => {
        const groups = packRows(lengths, maxRows, maxCells);
        const seen = groups.flatMap((g) => g.sentences).sort((a, b) => a - b);
        assert.deepEqual(seen, lengths.map((_, i) => i));
        let previousSteps = Infinity;
        for (const { sentences, layout } of groups) {
          checkLayout(layout);
          assert.deepEqual([...layout.lengths], sentences.map((i) => lengths[i]));
          assert.equal(layout.steps, Math.max(...layout.lengths), 'a row is as long as the longest sentence');
          assert.ok(layout.steps <= previousSteps, 'batches come longest first');
          previousSteps = layout.steps;
          assert.ok(layout.rows <= maxRows);
          if (layout.rows > 1) assert.ok(layout.rows * layout.steps <= maxCells);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('packRows: short sentences fill the gaps of long rows; one sentence per row when none fits beside another', () => {
  const [g, rest] = packRows([20, 10, 5, 3, 9], 2);
  assert.equal(g.layout.rows, 2);
  assert.equal(g.layout.steps, 20);
  // first fit in decreasing length (20, 10, 9, 5, 3): row 0 = 20; row 1 = 10, then 9 (10 + 1 + 9 = 20); 5 and 3 wait
  assert.deepEqual(g.sentences, [0, 1, 4]);
  assert.deepEqual([...g.layout.at], [0, 0, 11]);
  assert.deepEqual([...g.layout.used], [20, 20]);
  // the next batch: rows of 5; 3 does not fit beside 5 (5 + 1 + 3 > 5)
  assert.deepEqual(rest.sentences, [2, 3]);
  assert.equal(rest.layout.steps, 5);
  assert.equal(rest.layout.rows, 2);
  // one row at most: nothing fits beside 6, so 3 and 2 wait
  const [alone] = packRows([6, 3, 2], 1);
  assert.deepEqual(alone.sentences, [0]);
  // two rows: 3 opens the second, and 2 fits beside it (3 + 1 + 2 = 6)
  const [two] = packRows([3, 2, 6], 2);
  assert.deepEqual(two.sentences, [2, 0, 1]);
  assert.deepEqual([...two.layout.row], [0, 1, 1]);
  // equal lengths: nothing fits beside another (a separator is needed), one per row
  const same = packRows([4, 4, 4], 8);
  assert.equal(same.length, 1);
  assert.equal(same[0].layout.rows, 3);
  assert.throws(() => packRows([1], 0), /maxRows/);
});

test('packRows places empty sentences too (no characters, rows of at least one step)', () => {
  const groups = packRows([0, 3, 0], 2);
  assert.deepEqual(groups.flatMap((g) => g.sentences).sort(), [0, 1, 2]);
  for (const { layout } of groups) {
    assert.ok(layout.steps >= 1);
    const ix = packedTimeMajorIndex(layout, true);
    assert.equal(ix.output.length, 2 * layout.chars);
  }
  const [only] = packRows([0, 0], 4);
  assert.equal(only.layout.steps, 1);
  assert.equal(only.layout.chars, 0);
});

test('a model without lexical features tags empty sentences beside others the same packed and padded', async (t) => {
  await testBackend();
  if (!blockLstmAvailable()) {
    t.skip('packing runs on the fused kernel, native backend only');
    return;
  }
  const vocab = Vocabulary.build([[...'北京欢迎你我']], { normalize: true });
  const tags = TagDictionary.forLabels([...ENTITY_LABELS], 'BIO');
  const head = { numTags: tags.size, useHidden: true, useEmbeddings: true, lexicalBuckets: 0 };
  const model = TaggerModel.create({ vocabSize: vocab.size, embeddingDim: 8, hiddenDim: 8, bidirectional: true, dropout: 0, ner: head }, vocab, tags, { modelId: 't', modelVersion: 't', scheme: 'BIO', maxLength: 64 }, 1);
  try {
    for (const input of [[[], [...'北京欢迎你'], [], [...'我']], [[], []]]) {
      const packed = await model.predict(input, 64);
      usePacking(false);
      const padded = await model.predict(input, 64).finally(() => usePacking(true));
      assert.deepEqual(packed.map((p) => p.tags), padded.map((p) => p.tags));
      assert.deepEqual(packed.map((p) => p.tags.length), input.map((s) => s.length));
    }
  } finally {
    model.dispose();
  }
});

test('makePackedBatch lays ids and features out on the flat axis in the group\'s order', () => {
  const [g] = packRows([3, 1], 4);
  const sentences = g.sentences.map((i) => ({
    ids: Int32Array.from({ length: [3, 1][i] }, (_, p) => 10 * i + p + 1),
    features: Int32Array.from({ length: [3, 1][i] * 2 }, (_, p) => 100 * i + p),
  }));
  const batch = makePackedBatch(sentences, g.layout);
  assert.deepEqual([...batch.ids], [1, 2, 3, 11]);
  assert.equal(batch.featuresPerStep, 2);
  assert.deepEqual([...batch.features!], [0, 1, 2, 3, 4, 5, 100, 101]);
  assert.throws(() => makePackedBatch(sentences.slice(0, 1), g.layout), /layout of 2 sentences/);
});

test('packedTimeMajorIndex: the inputs of each row in [T, R] order with separators and padding, the output gather gives each character its own row in both directions', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 5 }), (lengths, maxRows) => {
      for (const { layout } of packRows(lengths, maxRows)) {
        const { rows, steps, chars } = layout;
        const pad = chars;
        const sep = chars + 1;
        const ix = packedTimeMajorIndex(layout, true);
        // Expected rows: each row's content left to right, padding after its used length.
        const grid: number[][] = Array.from({ length: rows }, () => new Array(steps).fill(pad));
        for (let j = 0; j < layout.lengths.length; j++) {
          if (layout.at[j] > 0) grid[layout.row[j]][layout.at[j] - 1] = sep;
          for (let p = 0; p < layout.lengths[j]; p++) grid[layout.row[j]][layout.at[j] + p] = layout.starts[j] + p;
        }
        for (let r = 0; r < rows; r++) {
          const used = layout.used[r];
          const reversed = [...grid[r].slice(0, used).reverse(), ...grid[r].slice(used)];
          for (let t = 0; t < steps; t++) {
            assert.equal(ix.forward[t * rows + r], grid[r][t]);
            assert.equal(ix.backward![t * rows + r], reversed[t]);
          }
        }
        // Identity recurrences: the states are the inputs; gathering back gives every character itself, twice.
        const stacked = [...ix.forward, ...ix.backward!];
        assert.deepEqual([...ix.output].map((i) => stacked[i]), Array.from({ length: 2 * chars }, (_, i) => i >> 1));
        const uni = packedTimeMajorIndex(layout, false);
        assert.equal(uni.backward, undefined);
        assert.deepEqual([...uni.output].map((i) => uni.forward[i]), Array.from({ length: chars }, (_, i) => i));
      }
    }),
    { numRuns: 200 },
  );
});
