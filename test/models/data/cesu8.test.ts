/** Tests for models/data/cesu8.ts: UTF-8 decoding that keeps CESU-8 surrogate halves. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeCesu8 } from '../../../models/data/cesu8.js';

/** CESU-8 bytes of one UTF-16 code unit (3 bytes for U+0800..U+FFFF, surrogates included). */
function cesuUnit(u: number): number[] {
  return [0xe0 | (u >> 12), 0x80 | ((u >> 6) & 0x3f), 0x80 | (u & 0x3f)];
}

test('valid UTF-8 decodes like TextDecoder', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      const r = decodeCesu8(new TextEncoder().encode(s));
      assert.equal(r.text, s);
      assert.equal(r.invalidSequences, 0);
    }),
  );
});

test('CESU-8 surrogate halves decode to surrogate code units', () => {
  const bytes = Uint8Array.from([...cesuUnit(0xd83d), ...cesuUnit(0xde00)]);
  assert.deepEqual([...bytes.subarray(0, 3)], [0xed, 0xa0, 0xbd]);
  assert.equal(decodeCesu8(bytes).text, '😀');
  assert.equal(decodeCesu8(Uint8Array.from(cesuUnit(0xd83d))).text, '\uD83D');
});

test('invalid bytes become U+FFFD and are counted, never thrown', () => {
  const r = decodeCesu8(Uint8Array.from([0x61, 0xff, 0x62, 0xe4, 0xb8, 0x63, 0xc0, 0xaf]));
  assert.equal(r.text, 'a\uFFFDb\uFFFDc\uFFFD\uFFFD');
  assert.equal(r.invalidSequences, 4);
  assert.equal(decodeCesu8(Uint8Array.from([0xe4, 0xb8])).text, '\uFFFD'); // truncated at the end
});

test('a leading BOM is dropped', () => {
  assert.equal(decodeCesu8(Uint8Array.from([0xef, 0xbb, 0xbf, 0x61])).text, 'a');
});
