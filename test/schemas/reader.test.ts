// The trusted readers (schemas/registry/reader.ts) against avsc on every version of every schema:
// for the bytes avsc writes of random valid values (and, for Posts, of the bytes written in blocks
// with negative counts, as other Avro writers may), they read what avsc reads, field by field and
// in the same order, from any position, and end where the value ends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { loadSchema } from '../../schemas/registry.js';
import { trustedReader } from '../../schemas/registry/reader.js';
import { SCHEMA_VERSIONS, arbitrary, type TypeView } from './arbitraryValues.js';

/** A value as plain data: own enumerable keys in order and their values (records: avsc's class instances or plain objects alike); NaN and -0 kept (deepStrictEqual compares with Object.is). */
function plain(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value)) return { buffer: [...value] };
  if (Array.isArray(value)) return value.map(plain);
  return { keys: Object.keys(value), values: Object.values(value).map(plain) };
}


describe('trusted readers (schemas/registry/reader.ts)', () => {
  it('cover every schema version', () => {
    for (const { label, type } of SCHEMA_VERSIONS) assert.notEqual(trustedReader(type), null, label);
  });

  for (const { label, type } of SCHEMA_VERSIONS) {
    const read = trustedReader(type)!;
    it(`${label}: reads what avsc reads, from any position, and ends where the value ends`, () => {
      fc.assert(
        fc.property(arbitrary(type as unknown as TypeView), fc.nat(9), (value, at) => {
          const bytes = type.toBuffer(value);
          const buf = Buffer.concat([Buffer.alloc(at, 0xaa), bytes, Buffer.alloc(3, 0xbb)]);
          const position = { pos: at };
          const got = read(buf, position);
          assert.equal(position.pos, at + bytes.length);
          assert.deepStrictEqual(plain(got), plain(type.fromBuffer(bytes)));
        }),
        { numRuns: 300 },
      );
    });
  }

  it('reads arrays and maps written in blocks with negative counts (a count, then the block byte size)', () => {
    const type = loadSchema('post');
    const read = trustedReader(type)!;
    const head = type.toBuffer({ id: 'p', text: 't', author_id: 'a', created_at: 5, source: 's', lang: null, reply_to: null, attributes: {}, topic_tags: [], geo: null });
    // the same Post up to and without attributes, topic_tags and geo: 3 trailing bytes (0, 0, 0)
    const prefix = head.subarray(0, head.length - 3);
    const zig = (n: number): number => (n >= 0 ? n << 1 : (~n << 1) | 1);
    const str = (s: string): Buffer => Buffer.concat([Buffer.from([zig(Buffer.byteLength(s))]), Buffer.from(s)]);
    const attributes = Buffer.concat([Buffer.from([zig(-1), zig(4)]), str('k'), str('v'), Buffer.from([zig(1)]), str('x'), str('y'), Buffer.from([0])]);
    const tags = Buffer.concat([Buffer.from([zig(-2), zig(6)]), str('ab'), str('c'), Buffer.from([zig(1)]), str('d'), Buffer.from([0])]);
    const bytes = Buffer.concat([prefix, attributes, tags, Buffer.from([0])]);
    const expected = type.fromBuffer(bytes) as { attributes: Record<string, string>; topic_tags: string[] };
    assert.deepEqual(expected.attributes, { k: 'v', x: 'y' });
    assert.deepEqual(expected.topic_tags, ['ab', 'c', 'd']);
    const position = { pos: 0 };
    assert.deepStrictEqual(plain(read(bytes, position)), plain(expected));
    assert.equal(position.pos, bytes.length);
  });
});
