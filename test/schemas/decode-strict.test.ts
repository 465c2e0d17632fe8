// decodeStrict / encodeStrict / validate: bad payloads fail fast with a DecodeError that says why.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avro from 'avsc';
import { DecodeError, MentionflowError } from '../../common/errors.js';
import {
  SCHEMA_NAMES,
  SchemaValidationError,
  decodeStrict,
  encodeStrict,
  frameConfluent,
  MIN_EXACT_LONG,
  loadSchema,
  parseConfluentHeader,
  validate,
} from '../../schemas/registry.js';
import { listSamples, readSampleBinary, readSampleValue } from '../../schemas/fixtures.js';
import type { Sample } from '../../schemas/fixtures.js';

function sample(name: (typeof SCHEMA_NAMES)[number], label: string): Sample {
  const found = listSamples(name).find((s) => s.label === label);
  assert.ok(found, `${name}/${label}`);
  return found;
}

/** assert.throws that the error is a DecodeError whose message matches `pattern`. */
function assertDecodeError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DecodeError, `expected DecodeError, got ${String(err)}`);
    assert.match(err.message, pattern);
    assert.equal(err.retriable, false);
    return true;
  });
}

const post = loadSchema('post', 1);
const postGolden = readSampleBinary(sample('post', 'v1-original'));
const mentions = loadSchema('mentions');

describe('decodeStrict', () => {
  it('decodes a valid payload (Buffer or Uint8Array)', () => {
    const expected = readSampleValue(sample('post', 'v1-original'));
    assert.deepStrictEqual(decodeStrict(post, postGolden), expected);
    assert.deepStrictEqual(decodeStrict(post, new Uint8Array(postGolden)), expected);
  });

  it('rejects an empty payload', () => {
    assertDecodeError(() => decodeStrict(post, Buffer.alloc(0)), /cannot decode io\.mentionflow\.Post: empty payload/);
  });

  it('rejects garbage bytes', () => {
    assertDecodeError(() => decodeStrict(post, Buffer.alloc(16, 0xff)), /io\.mentionflow\.Post from 16 bytes/);
    assertDecodeError(() => decodeStrict(post, Buffer.from('not avro at all, just text')), /cannot decode/);
    assertDecodeError(() => decodeStrict(post, Buffer.from('{"id":"1","text":"你好"}')), /negative length -62 at id/);
  });

  it('rejects every strict prefix of a valid payload (truncation) and says where', () => {
    for (const s of SCHEMA_NAMES.flatMap((n) => listSamples(n))) {
      const type = loadSchema(s.name, s.version);
      const golden = readSampleBinary(s);
      for (let len = 0; len < golden.length; len++) {
        assertDecodeError(() => decodeStrict(type, golden.subarray(0, len)), /empty payload|truncated/);
      }
    }
    assertDecodeError(
      () => decodeStrict(post, postGolden.subarray(0, 20)),
      /truncated: string needs \d+ byte\(s\), \d+ left at text \(byte \d+\)/,
    );
  });

  it('rejects trailing bytes after a complete record', () => {
    assertDecodeError(
      () => decodeStrict(post, Buffer.concat([postGolden, Buffer.from([0])])),
      /1 trailing byte\(s\) after a complete record ending at byte \d+/,
    );
  });

  it('rejects records written with another schema', () => {
    const all = SCHEMA_NAMES.flatMap((n) => listSamples(n));
    let pairs = 0;
    for (const writer of all) {
      for (const readerName of SCHEMA_NAMES) {
        if (readerName === writer.name) continue;
        assertDecodeError(() => decodeStrict(loadSchema(readerName), readSampleBinary(writer)), /cannot decode/);
        pairs++;
      }
    }
    assert.ok(pairs >= 30);
  });

  it('rejects invalid UTF-8, bad enum and union indexes, non-0/1 booleans and oversized ints', () => {
    // Post v1 whose id is the 2 bytes ff fe.
    const badUtf8 = Buffer.concat([Buffer.from([4, 0xff, 0xfe]), postGolden.subarray(17)]);
    assertDecodeError(() => decodeStrict(post, badUtf8), /string: invalid UTF-8 at id \(byte 1\)/);

    const weibo = readSampleValue(sample('mentions', 'v2-weibo')) as { mentions: Array<{ type: string }> };
    const bytes = encodeStrict(mentions, weibo);
    // Find the first mention's enum byte: it follows its label "GPE.NAM" (len 7 -> 0x0e + 7 bytes).
    const at = bytes.indexOf(Buffer.from('GPE.NAM')) + Buffer.byteLength('GPE.NAM');
    assert.equal(bytes[at], 3 * 2, 'GPE is symbol 3, zig-zag 6');
    const badEnum = Buffer.from(bytes);
    badEnum[at] = 9 * 2;
    assertDecodeError(() => decodeStrict(mentions, badEnum), /enum index 9 out of range \(5 symbols\) at mentions\[0\]\.type/);

    const minimal = encodeStrict(post, { id: 'a', text: 'b', author_id: 'c', created_at: 0, source: 'd' });
    // minimal = 02 61 02 62 02 63 00 02 64 | 00 (lang) 00 (reply_to) 00 (attributes)
    const badLang = Buffer.from(minimal);
    badLang[minimal.length - 3] = 4;
    assertDecodeError(() => decodeStrict(post, badLang), /union branch index 2 out of range \(2 branches\) at lang/);

    const example = loadSchema('example');
    // No schema of ours has a boolean yet: use an ad-hoc record.
    const flag = avro.Type.forSchema({ type: 'record', name: 'Flag', fields: [{ name: 'on', type: 'boolean' }] });
    assertDecodeError(() => decodeStrict(flag, Buffer.from([2])), /boolean: byte 0x2 is neither 0 nor 1 at on \(byte 0\)/);
    assert.equal(decodeStrict<{ on: boolean }>(flag, Buffer.from([1])).on, true);
    // An int field with a 6-byte varint: v1 LabeledSpan.start.
    const hugeInt = Buffer.from([
      ...[2, 0x61], // id "a"
      ...[2, 0x62], // text "b"
      ...[2], // spans: block of 1
      ...[0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // start: 6-byte varint
    ]);
    assertDecodeError(() => decodeStrict(example, hugeInt), /int: varint longer than 5 bytes at spans\[0\]\.start/);
  });

  it('fails fast on a tiny payload that claims a huge array (no hang, no huge allocation)', () => {
    const example = loadSchema('example');
    // id "a", text "b", then spans: a block claiming 50,000,000 items (zig-zag varint 80 c2 d7 2f).
    const evil = Buffer.from([2, 0x61, 2, 0x62, 0x80, 0xc2, 0xd7, 0x2f]);
    const started = process.hrtime.bigint();
    assertDecodeError(() => decodeStrict(example, evil), /truncated or corrupt: array block claims 50000000 items but only 0 bytes are left at spans/);
    assert.ok(process.hrtime.bigint() - started < 1_000_000_000n, 'took over a second');
  });

  // Fuzz finding (test/pipeline/fuzzInProcess.test.ts, kind 'bad-blocks'): a
  // negative block count is followed by the block's size in bytes, and a
  // size that disagreed with the items was accepted. Readers that skip a
  // field by that size (a v1 reader of v2 data skips topic_tags) would then
  // land in the middle of the next field.
  it('a sized block (negative count) must be exactly as long as its items', () => {
    const post2 = loadSchema('post', 2);
    // id "a", text "b", author_id "c", created_at 0, source "d", lang null, reply_to null
    const head = [2, 0x61, 2, 0x62, 2, 0x63, 0, 2, 0x64, 0, 0];
    // attributes {}, then topic_tags (byte 12): one block of count -2 (zig-zag 03) and size `size`, "x", "y", end; geo null.
    const tags = (size: number) => Buffer.from([...head, 0, 3, size * 2, 2, 0x78, 2, 0x79, 0, 0]);
    assert.deepEqual(decodeStrict<{ topic_tags: string[] }>(post2, tags(4)).topic_tags, ['x', 'y']);
    assertDecodeError(() => decodeStrict(post2, tags(5)), /array: block size 5 does not match its 2 item\(s\), which take 4 bytes at topic_tags \(byte 12\)/);
    assertDecodeError(() => decodeStrict(post2, tags(3)), /block size 3 does not match/);
    // The same for a map: attributes {"k": "v"} as a block of count -1 and size 3 (the entry takes 4).
    const map = Buffer.from([...head, 1, 6, 2, 0x6b, 2, 0x76, 0, 0, 0]);
    assertDecodeError(() => decodeStrict(post2, map), /map: block size 3 does not match its 1 item\(s\), which take 4 bytes at attributes/);
  });

  describe('Confluent wire format (magic 0x00 + 4-byte schema id)', () => {
    const framed = frameConfluent(42, postGolden);
    const expected = readSampleValue(sample('post', 'v1-original'));

    it('frames and parses the header', () => {
      assert.equal(framed.subarray(0, 5).toString('hex'), '000000002a');
      const frame = parseConfluentHeader(framed);
      assert.ok(frame);
      assert.equal(frame.schemaId, 42);
      assert.ok(frame.body.equals(postGolden));
      assert.equal(parseConfluentHeader(Buffer.from([1, 0, 0, 0, 1, 2])), null, 'wrong magic');
      assert.equal(parseConfluentHeader(Buffer.from([0, 0, 0])), null, 'too short');
      assert.throws(() => frameConfluent(-1, postGolden), RangeError);
    });

    it("'confluent' strips the header and 'raw' (the default) refuses it", () => {
      assert.deepStrictEqual(decodeStrict(post, framed, { wireFormat: 'confluent' }), expected);
      assertDecodeError(() => decodeStrict(post, framed), /cannot decode/);
      assertDecodeError(
        () => decodeStrict(post, postGolden, { wireFormat: 'confluent' }),
        /missing Confluent wire-format header \(want magic byte 00 \+ 4-byte schema id, got \d+ byte\(s\) starting 20/,
      );
    });

    it("'auto' accepts both framed and raw payloads", () => {
      assert.deepStrictEqual(decodeStrict(post, framed, { wireFormat: 'auto' }), expected);
      assert.deepStrictEqual(decodeStrict(post, postGolden, { wireFormat: 'auto' }), expected);
      // A raw record that starts with 0x00 (empty id) is still decoded raw.
      const emptyId = { id: '', text: '空', author_id: 'a', created_at: 1, source: 'weibo' };
      const raw = encodeStrict(post, emptyId);
      assert.equal(raw[0], 0);
      assert.equal((decodeStrict(post, raw, { wireFormat: 'auto' }) as { text: string }).text, '空');
      assertDecodeError(() => decodeStrict(post, Buffer.from([0, 0, 0, 0, 7, 0xff]), { wireFormat: 'auto' }), /cannot decode/);
    });

    it('schemaIds restricts the accepted schema ids', () => {
      assert.deepStrictEqual(decodeStrict(post, framed, { wireFormat: 'confluent', schemaIds: [41, 42] }), expected);
      assertDecodeError(
        () => decodeStrict(post, framed, { wireFormat: 'confluent', schemaIds: [7] }),
        /Confluent schema id 42 is not one of the accepted ids \[7\]/,
      );
      assertDecodeError(() => decodeStrict(post, framed, { wireFormat: 'auto', schemaIds: [7] }), /schema id 42/);
    });

    it('offsets in messages are relative to the body', () => {
      assertDecodeError(
        () => decodeStrict(post, frameConfluent(1, postGolden.subarray(0, 3)), { wireFormat: 'confluent' }),
        /offsets after the 5-byte Confluent header/,
      );
      assertDecodeError(() => decodeStrict(post, frameConfluent(1, Buffer.alloc(0)), { wireFormat: 'confluent' }), /empty payload after the Confluent header/);
    });

    it('encodeStrict can add the header', () => {
      assert.ok(encodeStrict(post, expected, { schemaId: 42 }).equals(framed));
    });
  });

  it('the label option names the payload in messages', () => {
    assertDecodeError(() => decodeStrict(post, Buffer.alloc(0), { label: 'post v1 from weibo.posts' }), /^cannot decode post v1 from weibo\.posts: empty payload$/);
  });
});

describe('validate / encodeStrict', () => {
  it('reports every bad field with its path', () => {
    const issues = validate(mentions, {
      post_id: 7,
      created_at: 1.5,
      origin: { topic: 't', partition: 0, offset: -1 },
      mentions: [
        { text: '北京', type: 'CITY', kind: 'NAM', start: 0, end: 2, start_utf16: 0, end_utf16: 2, confidence: 1 },
        { text: '上海', type: 'GPE', kind: 'NAM', start: 3, start_utf16: 3, end_utf16: 5, confidence: '1' },
      ],
      model: { id: 'm', version: 'v', extra: true },
      processed_at: 0,
    });
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    assert.deepEqual(Object.keys(byPath).sort(), [
      'created_at',
      'mentions[0].type',
      'mentions[1].confidence',
      'mentions[1].end',
      'model',
      'post_id',
    ]);
    assert.match(byPath['mentions[0].type'], /expected io\.mentionflow\.EntityType \(PER\|ORG\|LOC\|GPE\|UNKNOWN\), got "CITY"/);
    assert.match(byPath['mentions[1].end'], /got undefined \(missing\)/);
    assert.match(byPath.model, /undeclared field\(s\) extra/);
  });

  it('formats map keys and union members in paths', () => {
    const issues = validate(loadSchema('post', 2), {
      id: '1',
      text: 't',
      author_id: 'a',
      created_at: 0,
      source: 's',
      attributes: { 'client name': 5 },
      geo: { lat: 'north', lon: 0 },
    });
    assert.deepEqual(
      issues.map((i) => i.path),
      ['attributes["client name"]', 'geo.lat'],
    );
  });

  it('encodeStrict throws SchemaValidationError listing the problems; fields with defaults may be omitted', () => {
    assert.throws(
      () => encodeStrict(post, { id: '1', text: 't', author_id: 'a', created_at: 'yesterday', source: 's' }),
      (err: unknown) => {
        assert.ok(err instanceof SchemaValidationError);
        assert.ok(err instanceof MentionflowError);
        assert.equal(err.message, 'invalid io.mentionflow.Post: created_at: expected long, got "yesterday"');
        assert.deepEqual(err.issues.map((i) => i.path), ['created_at']);
        return true;
      },
    );
    const ok = encodeStrict(post, { id: '1', text: 't', author_id: 'a', created_at: 0, source: 's' });
    assert.deepEqual(
      JSON.parse(JSON.stringify(decodeStrict(post, ok))),
      { id: '1', text: 't', author_id: 'a', created_at: 0, source: 's', lang: null, reply_to: null, attributes: {} },
    );
  });

  it('longs: values avsc would silently corrupt are rejected both ways', () => {
    assert.equal(MIN_EXACT_LONG, -(2 ** 52));
    const base = { id: '1', text: 't', author_id: 'a', source: 's' };
    // avsc alone writes -2^52-1 as +2^52 (mtth/avsc#455); encodeStrict refuses.
    assert.equal(post.fromBuffer(post.toBuffer({ ...base, created_at: -(2 ** 52) - 1 })).created_at, 2 ** 52);
    assert.throws(
      () => encodeStrict(post, { ...base, created_at: -(2 ** 52) - 1 }),
      /created_at: long -4503599627370497 is below -2\^52 and would be corrupted by avsc/,
    );
    for (const ok of [MIN_EXACT_LONG, 2 ** 53 - 2, -1, 0, 1700000000000]) {
      const bytes = encodeStrict(post, { ...base, created_at: ok });
      assert.equal((decodeStrict(post, bytes) as { created_at: number }).created_at, ok);
    }
    // Correct zig-zag bytes for -2^52-1 (from another writer) decode to a DecodeError, not a wrong number.
    const zigzag = (2n ** 53n) + 1n; // zig-zag(-2^52-1)
    const varint: number[] = [];
    for (let z = zigzag; ; ) {
      const b = Number(z & 0x7fn);
      z >>= 7n;
      varint.push(z > 0n ? b | 0x80 : b);
      if (z === 0n) break;
    }
    const foreign = Buffer.from([2, 0x31, 2, 0x74, 2, 0x61, ...varint, 2, 0x73, 0, 0, 0]);
    assertDecodeError(() => decodeStrict(post, foreign), /long: -4503599627370497 is outside the range avsc handles exactly \(-2\^52\.\.2\^53-2\) at created_at \(byte 6\)/);
  });

  it('map key "__proto__": rejected on encode, and a DecodeError on decode (avsc would drop it)', () => {
    const base = { id: '1', text: 't', author_id: 'a', created_at: 0, source: 's' };
    const attributes = JSON.parse('{"client": "web", "__proto__": "x"}') as Record<string, string>;
    assert.deepEqual(Object.keys(attributes), ['client', '__proto__']);
    assert.throws(() => encodeStrict(post, { ...base, attributes }), /attributes\["__proto__"\]: map key "__proto__"/);
    const bytes = post.toBuffer({ ...base, attributes }); // avsc itself writes it...
    const lossy = post.fromBuffer(bytes) as { attributes: Record<string, string> };
    assert.deepEqual(Object.keys(lossy.attributes), ['client'], '...but reads it back without the key');
    assertDecodeError(() => decodeStrict(post, bytes), /map key "__proto__" cannot be represented .* at attributes/);
  });

  it('encodeStrict rejects lone surrogates instead of letting them turn into U+FFFD', () => {
    assert.throws(
      () => encodeStrict(post, { id: '1', text: '坏\ud83d', author_id: 'a', created_at: 0, source: 's' }),
      /text: string contains a lone UTF-16 surrogate \(would be written as U\+FFFD\)/,
    );
    // A proper pair is fine.
    encodeStrict(post, { id: '1', text: '好😀', author_id: 'a', created_at: 0, source: 's' });
  });

  it("encodeStrict writes avsc's bytes, also for records larger than its scratch buffer, each into its own buffer", () => {
    const base = { id: '1', author_id: 'a', created_at: 0, source: 's' };
    for (const text of ['短', '长'.repeat(40_000), '短短', '长'.repeat(100_000), '']) {
      const value = { ...base, text };
      const bytes = encodeStrict(post, value);
      assert.ok(bytes.equals(post.toBuffer(value)), `text of ${text.length} chars`);
      assert.deepEqual({ ...decodeStrict<object>(post, bytes) }, { ...value, lang: null, reply_to: null, attributes: {} });
    }
    const a = encodeStrict(post, { ...base, text: 'a' });
    const b = encodeStrict(post, { ...base, text: 'b' });
    a.fill(0);
    assert.deepEqual({ ...decodeStrict<object>(post, b) }, { ...base, text: 'b', lang: null, reply_to: null, attributes: {} });
  });

  it('names the field of a problem deep inside a record, on decode and on encode', () => {
    // decode: the scan that finds the problem keeps no path; the error still names the item
    const post2 = loadSchema('post', 2);
    const value = { id: '1', text: '好', author_id: 'a', created_at: 0, source: 's', lang: null, reply_to: null, attributes: {}, topic_tags: ['ok', 'xx'], geo: null };
    const bytes = post2.toBuffer(value);
    const at = bytes.indexOf(Buffer.from('xx'));
    bytes[at + 1] = 0xff; // invalid UTF-8 in topic_tags[1]
    assertDecodeError(() => decodeStrict(post2, bytes), /string: invalid UTF-8 at topic_tags\[1\] \(byte \d+\)/);
    assertDecodeError(() => decodeStrict(post2, bytes.subarray(0, at + 1)), /truncated: string needs 2 byte\(s\), 1 left at topic_tags\[1\]/);
    // encode: the path of the second mention's text, and no path leaking from the first
    const record = {
      post_id: 'p',
      created_at: 0,
      origin: null,
      mentions: [
        { text: '北京', type: 'GPE', kind: 'NAM', start: 0, end: 2, start_utf16: 0, end_utf16: 2, confidence: 1 },
        { text: '坏\ud83d', type: 'PER', kind: 'NAM', start: 2, end: 4, start_utf16: 2, end_utf16: 4, confidence: 1 },
      ],
      model: { id: 'm', version: '1' },
      processed_at: 0,
      latency_ms: null,
    };
    assert.deepEqual(
      validate(mentions, record).map((i) => i.path),
      ['mentions[1].text'],
    );
  });
});
