// The compiled strict writers (schemas/registry/writer.ts) against avsc and validate(), on every
// version of every schema: for valid values they accept and write avsc's bytes; for broken ones
// (a field replaced by anything, removed, an undeclared field, a lone surrogate, a long below
// -2^52) they either refuse, or validate() finds nothing wrong and the bytes are still avsc's.
// encodeStrict, which runs them, must give the bytes and the errors it gave before.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MIN_EXACT_LONG, encodeStrict, frameConfluent, loadSchema, validate } from '../../schemas/registry.js';
import { compiledWriter } from '../../schemas/registry/writer.js';
import { bareMentions } from '../operators/helpers.js';
import { SCHEMA_VERSIONS, arbitrary, type TypeView } from './arbitraryValues.js';

type Mutation = 'replace' | 'remove' | 'undeclared' | 'surrogate' | 'long';

/** Every object and array inside a value, with the key of each of its entries: the places a mutation can hit. */
function places(value: unknown, out: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = []): typeof out {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push({ parent: value, key: i });
      places(v, out);
    });
  } else if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const [k, v] of Object.entries(value)) {
      out.push({ parent: value as Record<string, unknown>, key: k });
      places(v, out);
    }
  }
  return out;
}

/** A deep copy of a generated value (fast-check's own values are not to be changed). */
function copy(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (Array.isArray(value)) return value.map(copy);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copy(v)]));
  return value;
}

function mutate(value: unknown, pick: number, how: Mutation, anything: unknown): void {
  const all = places(value);
  if (all.length === 0) return;
  const { parent, key } = all[pick % all.length];
  const target = parent as Record<string | number, unknown>;
  if (how === 'replace') target[key] = anything;
  else if (how === 'remove') delete target[key];
  else if (how === 'undeclared' && !Array.isArray(parent)) target[`x_${String(key)}`] = 1;
  else if (how === 'surrogate') target[key] = `ok\uD800`;
  else if (how === 'long') target[key] = MIN_EXACT_LONG - 1;
}


describe('compiled strict writers (schemas/registry/writer.ts)', () => {
  it('cover every schema version', () => {
    for (const { label, type } of SCHEMA_VERSIONS) assert.notEqual(compiledWriter(type), null, label);
  });

  for (const { label, type } of SCHEMA_VERSIONS) {
    const write = compiledWriter(type)!;

    it(`${label}: valid values are accepted and written as avsc writes them, from any position`, () => {
      const buf = Buffer.alloc(1 << 16);
      fc.assert(
        fc.property(arbitrary(type as unknown as TypeView), fc.nat(7), (value, at) => {
          const expected = type.toBuffer(value);
          const end = write(value, buf, at);
          assert.equal(end, at + expected.length);
          assert.deepEqual(buf.subarray(at, end), expected);
          assert.deepEqual(encodeStrict(type, value), expected);
          assert.deepEqual(encodeStrict(type, value, { schemaId: 7 }), frameConfluent(7, expected));
        }),
        { numRuns: 300 },
      );
    });

    it(`${label}: into a buffer too small, the length needed and nothing written past the end`, () => {
      fc.assert(
        fc.property(arbitrary(type as unknown as TypeView), fc.nat(), (value, cut) => {
          const expected = type.toBuffer(value);
          const size = cut % (expected.length + 1);
          const guarded = Buffer.alloc(size + 8, 0xee);
          const small = guarded.subarray(0, size);
          if (size < expected.length) assert.equal(write(value, small, 0), expected.length);
          assert.ok(guarded.subarray(size).every((b) => b === 0xee));
        }),
        { numRuns: 200 },
      );
    });

    it(`${label}: broken values are refused, or valid to validate() and written as avsc writes them`, () => {
      const buf = Buffer.alloc(1 << 16);
      let refused = 0;
      fc.assert(
        fc.property(
          arbitrary(type as unknown as TypeView),
          fc.nat(),
          fc.constantFrom<Mutation>('replace', 'remove', 'undeclared', 'surrogate', 'long'),
          fc.anything({ withBigInt: true, withBoxedValues: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true }),
          (generated, pick, how, anything) => {
            const value = copy(generated);
            mutate(value, pick, how, anything);
            const end = write(value, buf, 0);
            if (end < 0) {
              // encodeStrict takes its old path for this value: validate() says why, then avsc writes
              // what it accepts (avsc's isValid itself throws a TypeError on some values, e.g. a BigInt
              // where an int is expected; so it did before the writers)
              refused++;
              return;
            }
            assert.deepEqual(validate(type, value), [], 'the writer accepted a value validate() refuses');
            assert.deepEqual(buf.subarray(0, end), type.toBuffer(value));
            assert.deepEqual(encodeStrict(type, value), type.toBuffer(value));
          },
        ),
        { numRuns: 400 },
      );
      assert.ok(refused > 0, 'no broken value was refused');
    });
  }

  it('writes strings of every length 0-80 as avsc does: ASCII, with one other code point anywhere, all CJK, all emoji (the short-string path to 21 units, the length varint\'s second byte from 64 bytes)', () => {
    const mentions = loadSchema('mentions');
    const write = compiledWriter(mentions)!;
    for (let n = 0; n <= 80; n++) {
      const ascii = 'abcdefghij'.repeat(9).slice(0, n);
      const variants = [
        ascii,
        ...[0, n >> 1, n - 1].filter((i) => i >= 0).flatMap((i) => ['é', '中', '😀'].map((c) => ascii.slice(0, i) + c + ascii.slice(i + 1))),
        // every unit of 3 bytes, and surrogate pairs of 4: the most bytes a length in units can have
        '中'.repeat(n),
        '😀'.repeat(n >> 1),
      ];
      for (const id of variants) {
        const value = bareMentions(id);
        const expected = mentions.toBuffer(value);
        const buf = Buffer.alloc(expected.length + 4, 0xee);
        assert.equal(write(value, buf, 3), 3 + expected.length, JSON.stringify(id));
        assert.deepEqual(buf.subarray(3, 3 + expected.length), expected, JSON.stringify(id));
        // one byte short: the length needed, nothing written past the end
        const guarded = Buffer.alloc(expected.length + 8, 0xee);
        assert.equal(write(value, guarded.subarray(0, expected.length - 1), 0), expected.length, JSON.stringify(id));
        assert.ok(guarded.subarray(expected.length - 1).every((b) => b === 0xee), JSON.stringify(id));
      }
    }
  });

  it('refuses what validate() reports, with the same error from encodeStrict', () => {
    const mentions = loadSchema('mentions');
    const ok = bareMentions('p1');
    assert.ok(compiledWriter(mentions)!(ok, Buffer.alloc(256), 0) > 0);
    for (const [bad, message] of [
      [{ ...ok, post_id: 'a\uD800' }, /post_id: string contains a lone UTF-16 surrogate/],
      [{ ...ok, created_at: MIN_EXACT_LONG - 1 }, /created_at: long .* is below -2\^52/],
      [{ ...ok, extra: 1 }, /undeclared field\(s\) extra/],
      [{ ...ok, mentions: [{ text: 'x', type: 'NOPE', kind: 'NAM', start: 0, end: 1, start_utf16: 0, end_utf16: 1, confidence: 1 }] }, /mentions\[0\]\.type/],
      [{ ...ok, origin: { topic: 't', partition: 1.5, offset: 0 } }, /origin\.partition/],
    ] as const) {
      assert.equal(compiledWriter(mentions)!(bad, Buffer.alloc(256), 0), -1);
      assert.throws(() => encodeStrict(mentions, bad), message);
    }
  });
});
