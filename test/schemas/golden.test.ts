// Golden samples: each JSON sample matches its schema, and its committed binary
// encoding (.avro.b64) decodes to it and is re-encoded byte for byte.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { decodeStrict, encodeStrict, loadSchema, SCHEMA_NAMES, validate } from '../../schemas/registry.js';
import {
  listAllSamples,
  listSamples,
  readSampleBinary,
  readSampleValue,
  sampleType,
} from '../../schemas/fixtures.js';
import type { LabeledExample, Post, PostMentions } from '../../schemas/types.generated.js';

const samples = listAllSamples();

describe('golden samples', () => {
  it('every schema family has samples, and every version of it has at least one', () => {
    for (const name of SCHEMA_NAMES) {
      const versions = new Set(listSamples(name).map((s) => s.version));
      assert.ok(versions.size > 0, `${name} has no samples`);
    }
    assert.deepEqual([...new Set(listSamples('post').map((s) => s.version))], [1, 2]);
  });

  for (const sample of samples) {
    describe(`${sample.name}/${sample.label}`, () => {
      it('JSON validates against its schema (with field paths on failure)', () => {
        const value = readSampleValue(sample); // throws SchemaValidationError with paths
        assert.deepEqual(validate(sampleType(sample), value), []);
      });

      it('JSON is the complete Avro JSON rendering (every field, schema order)', () => {
        const type = sampleType(sample);
        const file = JSON.parse(readFileSync(sample.jsonPath, 'utf8')) as Record<string, unknown>;
        // Rendering the parsed value back through the schema fills in any omitted default.
        assert.deepEqual(file, JSON.parse(type.toString(readSampleValue(sample))));
        const fields = (type as unknown as { fields: Array<{ name: string }> }).fields.map((f) => f.name);
        assert.deepEqual(Object.keys(file), fields);
      });

      it('.avro.b64 exists and decodes (strictly) to the JSON sample', () => {
        assert.ok(existsSync(sample.b64Path), `missing ${sample.b64Path}; run node dist/schemas/fixtures.js`);
        const type = sampleType(sample);
        const decoded = decodeStrict(type, readSampleBinary(sample));
        assert.deepStrictEqual(decoded, readSampleValue(sample));
      });

      it('re-encoding the JSON sample gives the golden bytes exactly', () => {
        const type = sampleType(sample);
        const golden = readSampleBinary(sample);
        assert.equal(encodeStrict(type, readSampleValue(sample)).toString('hex'), golden.toString('hex'));
        assert.equal(type.toBuffer(decodeStrict(type, golden)).toString('hex'), golden.toString('hex'));
      });
    });
  }

  it('the fixtures script agrees nothing is missing or stale (--check)', () => {
    const script = fileURLToPath(new URL('../../schemas/fixtures.js', import.meta.url));
    const run = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
  });

  it('golden bytes match an independent hand encoding of the Avro spec (Post v1)', () => {
    // zig-zag varint per the Avro spec, computed with BigInt independently of avsc.
    const varint = (n: bigint): number[] => {
      let z = n >= 0n ? n << 1n : ((-n) << 1n) - 1n;
      const out: number[] = [];
      do {
        let b = Number(z & 0x7fn);
        z >>= 7n;
        if (z > 0n) b |= 0x80;
        out.push(b);
      } while (z > 0n);
      return out;
    };
    const str = (s: string): number[] => {
      const bytes = [...Buffer.from(s, 'utf8')];
      return [...varint(BigInt(bytes.length)), ...bytes];
    };
    const expected = Buffer.from([
      ...str('9'), // id
      ...str('测试'), // text
      ...str('1'), // author_id
      ...varint(1700000000000n), // created_at
      ...str('weibo'), // source
      0, // lang: union branch 0 (null)
      0, // reply_to: union branch 0 (null)
      0, // attributes: empty map (block count 0)
    ]);
    const post = { id: '9', text: '测试', author_id: '1', created_at: 1700000000000, source: 'weibo' };
    assert.equal(encodeStrict(loadSchema('post', 1), post).toString('hex'), expected.toString('hex'));
    // The dead-letter "tag" sample carries exactly this payload.
    const deadLetter = listSamples('deadletter').find((s) => s.label === 'v1-tag');
    assert.ok(deadLetter);
    const payload = (readSampleValue(deadLetter) as { payload: Buffer }).payload;
    assert.equal(payload.toString('hex'), expected.toString('hex'));
  });

  it('mention samples: offsets in both units select the surface text of the post sample', () => {
    const posts = new Map<string, Post>();
    for (const s of listSamples('post')) {
      const p = readSampleValue(s) as Post;
      posts.set(p.id, p);
    }
    let astralChecked = false;
    for (const s of listSamples('mentions')) {
      const record = readSampleValue(s) as PostMentions;
      const post = posts.get(record.post_id);
      if (post === undefined) {
        assert.equal(record.mentions.length, 0, `${s.label}: mentions for a post without a sample`);
        continue;
      }
      assert.equal(record.created_at, post.created_at);
      const codePoints = [...post.text];
      let previousEnd = 0;
      for (const m of record.mentions) {
        assert.equal(codePoints.slice(m.start, m.end).join(''), m.text, `${s.label}: code points ${m.start}..${m.end}`);
        assert.equal(post.text.slice(m.start_utf16, m.end_utf16), m.text, `${s.label}: UTF-16 ${m.start_utf16}..`);
        assert.ok(m.start >= previousEnd, 'sorted, non-overlapping');
        assert.ok(m.confidence >= 0 && m.confidence <= 1);
        assert.equal(Math.fround(m.confidence), m.confidence, 'sample confidences are exact in float32');
        previousEnd = m.end;
        if (m.start !== m.start_utf16) astralChecked = true;
      }
    }
    assert.ok(astralChecked, 'at least one sample has a mention after a non-BMP character');
  });

  it('example samples: spans and segmentation are consistent code-point offsets', () => {
    for (const s of listSamples('example')) {
      const ex = readSampleValue(s) as LabeledExample;
      const length = [...ex.text].length;
      let previousEnd = 0;
      for (const span of ex.spans) {
        assert.ok(span.start >= previousEnd && span.start < span.end && span.end <= length, `${s.label}`);
        assert.match(span.label, /^(PER|ORG|LOC|GPE)\.(NAM|NOM)$/);
        previousEnd = span.end;
      }
      if (ex.segmentation !== null) {
        assert.equal(ex.segmentation[ex.segmentation.length - 1], length);
        ex.segmentation.forEach((end, i) => assert.ok(end > (i === 0 ? 0 : ex.segmentation![i - 1])));
        // Gold spans fall on word boundaries.
        const bounds = new Set([0, ...ex.segmentation]);
        for (const span of ex.spans) assert.ok(bounds.has(span.start) && bounds.has(span.end), span.label);
      }
    }
  });
});
