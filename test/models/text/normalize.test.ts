/** Tests for models/text/normalize.ts: full-width -> half-width, U+3000, options. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalizeChar, normalizeChars } from '../../../models/text/normalize.js';

test('full-width ASCII maps to half-width', () => {
  assert.equal(normalizeChar('Ａ'), 'A');
  assert.equal(normalizeChar('ｚ'), 'z');
  assert.equal(normalizeChar('１'), '1');
  assert.equal(normalizeChar('！'), '!');
  assert.equal(normalizeChar('，'), ','); // U+FF0C: the full-width comma common in Weibo text
  assert.equal(normalizeChar('～'), '~'); // U+FF5E, last of the range
  assert.equal(normalizeChar('\u3000'), ' ');
});

test('case is kept by default and lowered on request', () => {
  assert.equal(normalizeChar('Ａ'), 'A');
  assert.equal(normalizeChar('Ａ', { lowercase: true }), 'a');
  assert.equal(normalizeChar('Q', { lowercase: true }), 'q');
});

test('mappings can be switched off', () => {
  assert.equal(normalizeChar('Ａ', { fullWidth: false }), 'Ａ');
  assert.equal(normalizeChar('\u3000', { ideographicSpace: false }), '\u3000');
});

test('other characters, astral ones and lone surrogates are unchanged', () => {
  for (const ch of ['中', '。', '、', '😀', '𠮷', '\uD83D', 'a', '｟']) assert.equal(normalizeChar(ch), ch);
  assert.deepEqual(normalizeChars(['Ｗ', '博', '😀']), ['W', '博', '😀']);
});

test('normalization is idempotent', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), (ch) => {
      assert.equal(normalizeChar(normalizeChar(ch)), normalizeChar(ch));
    }),
  );
});
