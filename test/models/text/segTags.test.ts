/** Tests for models/text/segTags.ts: word lengths -> BIES and BIES -> word spans. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { biesToWordSpans, lengthsToBies, textWordSpans } from '../../../models/text/segTags.js';

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

test('textWordSpans: whitespace cuts words and is never part of one', () => {
  const chars = Array.from('我 爱北京  了');
  // the tags glue "我 爱" into one word and "京  了" into another; the spaces must split them and vanish
  assert.deepEqual(textWordSpans(chars, ['B', 'I', 'E', 'B', 'I', 'I', 'I', 'E']), [
    { start: 0, end: 1 },
    { start: 2, end: 3 },
    { start: 3, end: 5 },
    { start: 7, end: 8 },
  ]);
  assert.deepEqual(textWordSpans(Array.from(' \u3000 '), ['S', 'S', 'S']), []);
  assert.deepEqual(textWordSpans([], []), []);
});

test('property: textWordSpans covers exactly the non-whitespace code points, in order, with no overlap', () => {
  const tag = fc.constantFrom('B', 'I', 'E', 'S');
  const ch = fc.constantFrom('a', '中', ' ', '\t', '\u3000', '😀');
  fc.assert(
    fc.property(fc.array(fc.tuple(ch, tag), { maxLength: 30 }), (pairs) => {
      const chars = pairs.map((p) => p[0]);
      const spans = textWordSpans(chars, pairs.map((p) => p[1]));
      const covered: number[] = spans.flatMap((s) => Array.from({ length: s.end - s.start }, (_, i) => s.start + i));
      const expected = chars.flatMap((c, i) => (/^\s$/u.test(c) ? [] : [i]));
      assert.deepEqual(covered, expected);
      for (const s of spans) assert.ok(s.end > s.start);
    }),
  );
});
