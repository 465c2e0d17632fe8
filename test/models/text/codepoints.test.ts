/** Tests for models/text/codepoints.ts: code-point splitting, counting and UTF-16 offsets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { codePointLength, isSurrogatePairAt, toCodePoints, utf16Offsets } from '../../../models/text/codepoints.js';

test('astral characters are one element', () => {
  assert.deepEqual(toCodePoints('吉𠮷野😀家'), ['吉', '𠮷', '野', '😀', '家']);
  assert.deepEqual(toCodePoints(''), []);
});

test('lone surrogates are kept, one element each', () => {
  assert.deepEqual(toCodePoints('a\uD83Db\uDE00'), ['a', '\uD83D', 'b', '\uDE00']);
  assert.deepEqual(toCodePoints('\uDE00\uD83D'), ['\uDE00', '\uD83D']); // reversed halves are not a pair
});

test('codePointLength counts a surrogate pair once and a lone surrogate once', () => {
  assert.equal(codePointLength(''), 0);
  assert.equal(codePointLength('abc'), 3);
  assert.equal(codePointLength('吉𠮷野😀家'), 5); // 7 UTF-16 units
  assert.equal(codePointLength('😀'), 1);
  assert.equal(codePointLength('😀😀'), 2);
  assert.equal(codePointLength('a\uD83D'), 2); // high surrogate at the end, no low after it
  assert.equal(codePointLength('\uDE00\uD83D'), 2); // reversed halves are not a pair
  assert.equal(codePointLength('\uD83D\uD83D\uDE00'), 2); // lone high, then a pair
});

test('utf16Offsets are cumulative code-unit lengths', () => {
  assert.deepEqual([...utf16Offsets(['a', '😀', '中'])], [0, 1, 3, 4]);
  assert.deepEqual([...utf16Offsets([])], [0]);
});

/** Any code point, or a lone surrogate code unit. */
const anyUnit = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
);

test('code-point spans slice the same text as UTF-16 spans', () => {
  fc.assert(
    fc.property(fc.string({ unit: anyUnit }), fc.nat(), fc.nat(), (text, a, b) => {
      const chars = toCodePoints(text);
      assert.equal(chars.join(''), text);
      const off = utf16Offsets(chars);
      assert.equal(off.length, chars.length + 1);
      assert.equal(off[chars.length], text.length);
      const s = Math.min(a, b) % (chars.length + 1);
      const e = Math.max(s, Math.max(a, b) % (chars.length + 1));
      assert.equal(text.slice(off[s], off[e]), chars.slice(s, e).join(''));
    }),
  );
});

test('codePointLength and isSurrogatePairAt walk a text as toCodePoints splits it', () => {
  fc.assert(
    fc.property(fc.string({ unit: anyUnit }), (text) => {
      const chars = toCodePoints(text);
      assert.equal(codePointLength(text), chars.length);
      const walked: number[] = [];
      for (let i = 0; i < text.length; i += isSurrogatePairAt(text, i) ? 2 : 1) walked.push(i);
      assert.deepEqual(walked, [...utf16Offsets(chars)].slice(0, -1));
    }),
  );
});
