/** Tests for models/text/segTags.ts: word lengths -> BIES and BIES -> word spans. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { biesToWordSpans, lengthsToBies } from '../../../models/text/segTags.js';

test('lengthsToBies', () => {
  assert.deepEqual(lengthsToBies([1, 2, 3]), ['S', 'B', 'E', 'B', 'I', 'E']);
  assert.deepEqual(lengthsToBies([]), []);
});

test('biesToWordSpans is lenient on invalid sequences', () => {
  assert.deepEqual(biesToWordSpans(['I', 'E', 'B', 'B', 'I']), [
    { start: 0, end: 2 },
    { start: 2, end: 3 },
    { start: 3, end: 5 },
  ]);
});

test('property: word lengths round trip through BIES', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 15 }), (lengths) => {
      const spans = biesToWordSpans(lengthsToBies(lengths));
      assert.deepEqual(spans.map((s) => s.end - s.start), lengths);
    }),
  );
});
