// scanAvro's compiled check against its interpreter: on the golden samples of every schema and
// on random mutations of them (bytes changed, inserted, cut), both must accept the same payloads
// with the same end offset, or reject them with the same error.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avro from 'avsc';
import fc from 'fast-check';
import { SCHEMA_NAMES, scanAvro, type Type } from '../../schemas/registry.js';
import { listSamples, readSampleBinary, sampleType } from '../../schemas/fixtures.js';

const samples = SCHEMA_NAMES.flatMap((name) => listSamples(name)).map((s) => ({ label: `${s.name} ${s.label}`, type: sampleType(s), bytes: readSampleBinary(s) }));

function outcome(type: Type, buf: Buffer, content: boolean, compiled: boolean): string {
  try {
    return `ok ${scanAvro(type, buf, 0, { content, compiled })}`;
  } catch (err) {
    return `error ${(err as Error).message}`;
  }
}

function same(type: Type, buf: Buffer): void {
  for (const content of [true, false]) {
    assert.equal(outcome(type, buf, content, true), outcome(type, buf, content, false), `content ${content}, payload ${buf.toString('hex')}`);
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), byte: fc.constant(0) }),
);

function mutate(buf: Buffer, muts: ReadonlyArray<{ kind: 'set' | 'insert' | 'cut'; at: number; byte: number }>): Buffer {
  let out = Buffer.from(buf);
  for (const m of muts) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    if (m.kind === 'set' && out.length > 0) out[at] = m.byte;
    else if (m.kind === 'insert') out = Buffer.concat([out.subarray(0, at), Buffer.from([m.byte]), out.subarray(at)]);
    else out = out.subarray(0, at);
  }
  return out;
}

describe('scanAvro: compiled check = interpreter', () => {
  it('has golden samples of several schemas to work on', () => {
    assert.ok(samples.length >= 5, `${samples.length} samples`);
    assert.ok(new Set(samples.map((s) => s.label.split(' ')[0])).size >= 3);
  });

  it('accepts every golden sample whole, with the same end offset', () => {
    for (const s of samples) {
      assert.equal(outcome(s.type, s.bytes, true, true), `ok ${s.bytes.length}`, s.label);
      same(s.type, s.bytes);
    }
  });

  it('gives the same outcome on mutated samples (bytes set, inserted, cut)', () => {
    fc.assert(
      fc.property(fc.nat({ max: samples.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (i, muts) => {
        same(samples[i].type, mutate(samples[i].bytes, muts));
      }),
      { numRuns: 3000 },
    );
  });

  it('judges UTF-8 as node:buffer isUtf8 does (strings and map keys of random bytes, mostly multi-byte)', () => {
    const str = avro.Type.forSchema('string');
    const map = avro.Type.forSchema({ type: 'map', values: 'null' });
    const withLength = (body: Buffer): Buffer => Buffer.concat([avro.Type.forSchema('long').toBuffer(body.length), body]);
    const byte = fc.oneof(fc.integer({ min: 0x80, max: 0xff }), fc.integer({ min: 0x80, max: 0xbf }), fc.integer({ min: 0, max: 0x7f }), fc.constantFrom(0xc0, 0xc1, 0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0x9f, 0xa0, 0x8f, 0x90));
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 12 }), (bytes) => {
        const body = Buffer.from(bytes);
        same(str, withLength(body));
        same(map, Buffer.concat([Buffer.from([2]), withLength(body), Buffer.from([0])]));
      }),
      { numRuns: 5000 },
    );
    // Short strings are checked in JS, long ones by isUtf8: both sides of the cut, valid and not.
    for (const n of [255, 256, 257, 300]) {
      const body = Buffer.concat([Buffer.from([0xe4, 0xb8, 0xad]), Buffer.alloc(n - 3, 0x61)]);
      same(str, withLength(body));
      same(str, withLength(Buffer.concat([body.subarray(0, n - 1), Buffer.from([0xff])])));
    }
  });

  it('gives the same outcome on the edge cases the compiled check leaves to the interpreter', () => {
    const long = samples.find((s) => s.label.startsWith('post'));
    assert.ok(long !== undefined);
    // A string length as an 8-byte varint (longer than the compiled check reads), invalid UTF-8
    // in the id, and a varint of 6 bytes.
    same(long.type, Buffer.concat([Buffer.from([0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), long.bytes.subarray(2)]));
    same(long.type, Buffer.from([0x02, 0xff, 0xfe, 0x00]));
    same(long.type, Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]));
  });
});
