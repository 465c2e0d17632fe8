/** Tests for models/features/lexical.ts: FNV-1a, shape, range, determinism, context, batching. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError } from '../../../common/errors.js';
import {
  FEATURE_TEMPLATES,
  fnv1a32,
  lexicalFeatureIds,
} from '../../../models/features/lexical.js';

test('FNV-1a 32-bit reference values', () => {
  assert.equal(fnv1a32(''), 0x811c9dc5);
  assert.equal(fnv1a32('a'), 0xe40c292c);
  assert.equal(fnv1a32('foobar'), 0xbf9cf968);
});

test('shape [T, 10], ids in [1, numBuckets), deterministic', () => {
  assert.equal(FEATURE_TEMPLATES, 10);
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), { maxLength: 12 }), fc.integer({ min: 2, max: 5000 }), (chars, buckets) => {
      const ids = lexicalFeatureIds(chars, buckets);
      assert.equal(ids.length, chars.length * FEATURE_TEMPLATES);
      for (const id of ids) assert.ok(id >= 1 && id < buckets);
      assert.deepEqual(lexicalFeatureIds(chars, buckets), ids);
    }),
  );
});

/** The definition (lexical.ts's header): each feature string built, then hashed. */
function featureIdsByStrings(chars: readonly string[], numBuckets: number): Int32Array {
  const templates = [[-2], [-1], [0], [1], [2], [-2, -1], [-1, 0], [0, 1], [1, 2], [-1, 1]];
  const at = (j: number) => (j < 0 ? `<B${j}>` : j >= chars.length ? `<E+${j - chars.length + 1}>` : chars[j]);
  const out = new Int32Array(chars.length * FEATURE_TEMPLATES);
  for (let t = 0; t < chars.length; t++) {
    templates.forEach((offsets, f) => {
      out[t * FEATURE_TEMPLATES + f] = 1 + (fnv1a32(`${f}\u0001${offsets.map((o) => at(t + o)).join('\u0001')}`) % (numBuckets - 1));
    });
  }
  return out;
}

test('the ids are the hashes of the feature strings the header defines (any code units, surrogate pairs, multi-unit tokens; up to 2^31 - 1 buckets)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 2 })), { maxLength: 14 }),
      fc.oneof(fc.integer({ min: 2, max: 5000 }), fc.constantFrom(131072, 0x7fffffff)),
      (chars, buckets) => assert.deepEqual(lexicalFeatureIds(chars, buckets), featureIdsByStrings(chars, buckets)),
    ),
    { numRuns: 500 },
  );
});

test('features read the context window, padded at the edges', () => {
  const n = 1 << 20;
  const a = lexicalFeatureIds(['我', '爱', '北', '京'], n);
  const b = lexicalFeatureIds(['你', '爱', '北', '京'], n);
  const row = (ids: Int32Array, t: number): number[] => [...ids.subarray(t * 10, t * 10 + 10)];
  // at t = 2 ('北') only templates reading offset -2 differ: unigram -2 (0) and bigram (-2,-1) (5)
  const diff = row(a, 2).map((v, f) => (v === row(b, 2)[f] ? -1 : f)).filter((f) => f >= 0);
  assert.deepEqual(diff, [0, 5]);
  // the current-character unigram (template 2) is the same wherever the character is
  assert.equal(lexicalFeatureIds(['x', '北'], n)[10 + 2], a[2 * 10 + 2]);
  // padding on both sides differs from any real character, and by distance to the edge
  const single = row(lexicalFeatureIds(['好'], n), 0);
  assert.notEqual(single[0], single[1]); // <B-2> vs <B-1>
  assert.notEqual(single[3], single[4]); // <E+1> vs <E+2>
  assert.equal(new Set(single).size, 10);
});

test('numBuckets must be an integer >= 2', () => {
  for (const n of [0, 1, 2.5, Number.NaN]) assert.throws(() => lexicalFeatureIds(['a'], n), ConfigError);
});
