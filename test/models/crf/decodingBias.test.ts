/**
 * The decoding bias (models/crf/decodingBias.ts) on hand-made scores: a bias
 * flips a decode from O to a mention and back, bias 0 leaves the emissions
 * untouched, and subtracting from O equals adding to every non-O tag.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CrfScores } from '../../../models/crf/crf.js';
import { applyNonOBias } from '../../../models/crf/decodingBias.js';
import { viterbi } from '../../../models/crf/viterbi.js';

// Tags: 0 = O, 1 = B-X, 2 = I-X; O -> I-X and start -> I-X forbidden.
const K = 3;
const NEG = -1e4;
const crf: CrfScores = {
  numTags: K,
  trans: Float32Array.from([0, 0, NEG, 0, 0, 0, 0, 0, 0]),
  start: Float32Array.from([0, 0, NEG]),
  end: Float32Array.from([0, 0, 0]),
};
// Three positions; at each, O leads B-X / I-X by a margin: the model prefers O everywhere.
const emissions = (): Float32Array => Float32Array.from([1.0, 0.4, -2, 1.0, -1, 0.9, 1.0, -1.5, -1]);

test('bias 0 leaves the emissions bit for bit and decodes as before', () => {
  const e = emissions();
  applyNonOBias(e, K, 0, 0);
  assert.deepEqual(e, emissions());
  assert.deepEqual([...viterbi(crf, e, 0, 3).path], [0, 0, 0]);
});

test('a positive bias flips O to a mention (B-X I-X); a negative one keeps O; the flip point is where the margins cross', () => {
  const decode = (bias: number): number[] => {
    const e = emissions();
    applyNonOBias(e, K, 0, bias);
    return [...viterbi(crf, e, 0, 3).path];
  };
  // Path O O O scores 3.0; B-X I-X O scores 0.4 + 0.9 + 1.0 + 2b: it wins when b > 0.35
  // (B-X O O, 2.4 + b, is behind it for b > 0.1); B-X I-X I-X, 0.3 + 3b, wins from b > 2.
  assert.deepEqual(decode(0.3), [0, 0, 0]);
  assert.deepEqual(decode(0.4), [1, 2, 0]);
  assert.deepEqual(decode(1.9), [1, 2, 0]);
  assert.deepEqual(decode(2.1), [1, 2, 2]);
  assert.deepEqual(decode(-1), [0, 0, 0]);
});

test('subtracting the bias from O decodes the same as adding it to every non-O tag', () => {
  for (const bias of [-1.3, -0.2, 0.5, 0.66, 1.7, 4]) {
    const a = emissions();
    applyNonOBias(a, K, 0, bias);
    const b = emissions();
    for (let t = 0; t < 3; t++) for (let j = 1; j < K; j++) b[t * K + j] += bias;
    assert.deepEqual([...viterbi(crf, a, 0, 3).path], [...viterbi(crf, b, 0, 3).path], `bias ${bias}`);
    assert.ok(Math.abs(viterbi(crf, a, 0, 3).score + 3 * bias - viterbi(crf, b, 0, 3).score) < 1e-4, `scores differ by the constant 3b at bias ${bias}`);
  }
});

test('a non-finite bias or an O id outside the tags is refused', () => {
  assert.throws(() => applyNonOBias(emissions(), K, 0, Number.NaN), /finite/);
  assert.throws(() => applyNonOBias(emissions(), K, 3, 1), /not a tag/);
});
