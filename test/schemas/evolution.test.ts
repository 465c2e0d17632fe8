// Schema evolution: data written with one version reads with every other
// version of the same family, in both directions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avro from 'avsc';
import {
  SCHEMA_NAMES,
  decodeStrict,
  listVersions,
  loadSchema,
  loadSchemaJson,
  resolvingDecoder,
} from '../../schemas/registry.js';
import { listSamples, readSampleBinary, readSampleValue } from '../../schemas/fixtures.js';
import { DecodeError } from '../../common/errors.js';
import { decodeEntityMention } from '../../operators/trends/rekey.js';
import { mentionJson } from '../../schemas/mentionJson.js';
import type { PostMentions } from '../../schemas/types.generated.js';

/** A plain-object copy of an avsc record, for comparisons across record classes. */
function plain(value: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}

describe('schema evolution', () => {
  it('post v1 writer -> v2 reader: v1 fields kept, new fields get their defaults', () => {
    const decoder = resolvingDecoder('post', 1, 2);
    const v1Samples = listSamples('post').filter((s) => s.version === 1);
    assert.ok(v1Samples.length > 0);
    for (const sample of v1Samples) {
      const decoded = decoder.decode(readSampleBinary(sample));
      assert.ok(loadSchema('post', 2).isValid(decoded), 'decoded value is a valid v2 Post');
      assert.deepEqual(plain(decoded), { ...plain(readSampleValue(sample)), topic_tags: [], geo: null });
    }
  });

  it('post v2 writer -> v1 reader: fields unknown to v1 are skipped', () => {
    const decoder = resolvingDecoder('post', 2, 1);
    const v2Samples = listSamples('post').filter((s) => s.version === 2);
    assert.ok(v2Samples.some((s) => (readSampleValue(s) as { geo: unknown }).geo !== null), 'a sample uses geo');
    for (const sample of v2Samples) {
      const decoded = decoder.decode(readSampleBinary(sample));
      assert.ok(loadSchema('post', 1).isValid(decoded), 'decoded value is a valid v1 Post');
      const { topic_tags: _tags, geo: _geo, ...v1Fields } = plain(readSampleValue(sample));
      assert.deepEqual(plain(decoded), v1Fields);
    }
  });

  it('mentions v1 writer -> v2 reader: label "" (its JSON gives TYPE.KIND), every v1 field kept', () => {
    const decoder = resolvingDecoder<PostMentions>('mentions', 1, 2);
    const v1Samples = listSamples('mentions').filter((s) => s.version === 1);
    assert.ok(v1Samples.some((s) => (readSampleValue(s) as PostMentions).mentions.length > 0));
    for (const sample of v1Samples) {
      const decoded = decoder.decode(readSampleBinary(sample));
      assert.ok(loadSchema('mentions', 2).isValid(decoded), 'decoded value is a valid v2 PostMentions');
      const v1 = plain(readSampleValue(sample)) as unknown as PostMentions;
      assert.deepEqual(plain(decoded), { ...v1, mentions: v1.mentions.map((m) => ({ ...m, label: '' })) });
      assert.deepEqual(
        decoded.mentions.map((m) => mentionJson(m).label),
        v1.mentions.map((m) => `${m.type}.${m.kind}`),
      );
    }
  });

  it('mentions v2 writer -> v1 reader: WeiboNER labels keep type and kind, other labels read as UNKNOWN', () => {
    const decoder = resolvingDecoder<PostMentions>('mentions', 2, 1);
    const byLabel = new Map(listSamples('mentions').filter((s) => s.version === 2).map((s) => [s.label, s]));
    assert.deepEqual([...byLabel.keys()].sort(), ['v2-labels', 'v2-weibo']);
    for (const sample of byLabel.values()) {
      const decoded = decoder.decode(readSampleBinary(sample));
      assert.ok(loadSchema('mentions', 1).isValid(decoded), 'decoded value is a valid v1 PostMentions');
      const v2 = plain(readSampleValue(sample)) as unknown as PostMentions;
      assert.deepEqual(plain(decoded), { ...v2, mentions: v2.mentions.map(({ label: _label, ...rest }) => rest) });
    }
    const weibo = decoder.decode(readSampleBinary(byLabel.get('v2-weibo')!));
    assert.deepEqual(weibo.mentions.map((m) => `${m.type}.${m.kind}`), ['GPE.NAM', 'ORG.NAM']);
    const other = decoder.decode(readSampleBinary(byLabel.get('v2-labels')!));
    assert.deepEqual(other.mentions.map((m) => [m.text, m.type, m.kind]), [
      ['王芳', 'PER', 'UNKNOWN'],
      ['青禾', 'UNKNOWN', 'UNKNOWN'],
      ['云帆手表', 'UNKNOWN', 'UNKNOWN'],
    ]);
  });

  it('post v2 bytes are NOT readable as v1 without resolution (why resolvingDecoder exists)', () => {
    const sample = listSamples('post').find((s) => s.label === 'v2-geo');
    assert.ok(sample);
    assert.throws(() => decodeStrict(loadSchema('post', 1), readSampleBinary(sample)), /trailing byte/);
  });

  it('resolving decoders are cached and same-version decoding needs no resolver', () => {
    assert.equal(resolvingDecoder('post', 1, 2), resolvingDecoder('post', 1, 2));
    assert.equal(resolvingDecoder('post', 1), resolvingDecoder('post', 1, 2), 'reader defaults to latest');
    const same = resolvingDecoder('mentions', 1, 1);
    const sample = listSamples('mentions')[0];
    assert.deepStrictEqual(same.decode(readSampleBinary(sample)), readSampleValue(sample));
  });

  describe('every pair of versions of a family is compatible both ways', () => {
    for (const name of SCHEMA_NAMES) {
      const versions = listVersions(name);
      for (const w of versions) {
        for (const r of versions) {
          it(`${name}: v${w} writer -> v${r} reader (random values)`, () => {
            const decoder = resolvingDecoder(name, w, r);
            for (let i = 0; i < 50; i++) {
              const value: unknown = decoder.writer.random();
              const decoded = decoder.decode(decoder.writer.toBuffer(value));
              assert.ok(decoder.reader.isValid(decoded));
            }
          });
        }
      }
    }
  });

  it('consecutive versions only add fields with defaults and only drop fields that had one', () => {
    for (const name of SCHEMA_NAMES) {
      const versions = listVersions(name);
      for (let i = 1; i < versions.length; i++) {
        const before = new Map(loadSchemaJson(name, versions[i - 1]).fields.map((f) => [f.name, f]));
        const after = new Map(loadSchemaJson(name, versions[i]).fields.map((f) => [f.name, f]));
        for (const [field, def] of after) {
          if (!before.has(field)) assert.ok('default' in def, `${name} v${versions[i]} adds ${field} without default`);
        }
        for (const [field, def] of before) {
          if (!after.has(field)) assert.ok('default' in def, `${name} v${versions[i]} drops ${field} (no default)`);
        }
      }
    }
  });

  it('enum growth: a future writer symbol reads as UNKNOWN with the v1 mentions reader', () => {
    // Simulate a hypothetical mentions v2 that adds an entity type and a mention kind at the end.
    const future = structuredClone(loadSchemaJson('mentions', 1)) as unknown as Record<string, unknown>;
    const text = JSON.stringify(future)
      .replace('"symbols":["PER","ORG","LOC","GPE","UNKNOWN"]', '"symbols":["PER","ORG","LOC","GPE","UNKNOWN","PRODUCT"]')
      .replace('"symbols":["NAM","NOM","UNKNOWN"]', '"symbols":["NAM","NOM","UNKNOWN","PRO"]');
    assert.notEqual(text, JSON.stringify(future), 'symbols were found and extended');
    const writer = avro.Type.forSchema(JSON.parse(text) as never, { wrapUnions: 'never' });
    const record = {
      post_id: 'p1',
      created_at: 1700000000000,
      mentions: [
        { text: '华为Mate', type: 'PRODUCT', kind: 'NAM', start: 0, end: 6, start_utf16: 0, end_utf16: 6, confidence: 0.5 },
        { text: '他', type: 'PER', kind: 'PRO', start: 7, end: 8, start_utf16: 7, end_utf16: 8, confidence: 0.25 },
      ],
      model: { id: 'm', version: '2' },
      processed_at: 1700000000001,
    };
    const decoded = decodeStrict<PostMentions>(loadSchema('mentions', 1), writer.toBuffer(record), { writerType: writer });
    assert.deepEqual(
      decoded.mentions.map((m) => [m.type, m.kind]),
      [
        ['UNKNOWN', 'NAM'],
        ['PER', 'UNKNOWN'],
      ],
    );
  });

  it('repartition v2 reads the v1 golden records as ENTITY records, v1 reads v2 entity records, and decodeEntityMention tells them apart', () => {
    const v1Samples = listSamples('repartition').filter((s) => s.version === 1);
    const v2Samples = listSamples('repartition').filter((s) => s.version === 2);
    assert.ok(v1Samples.length >= 2 && v2Samples.some((s) => s.label.endsWith('progress')));
    for (const sample of v1Samples) {
      const forward = resolvingDecoder('repartition', 1, 2).decode(readSampleBinary(sample));
      assert.deepEqual(plain(forward), { ...plain(readSampleValue(sample)), kind: 'ENTITY' });
      assert.deepEqual(plain(decodeEntityMention(readSampleBinary(sample))), { ...plain(readSampleValue(sample)), kind: 'ENTITY' });
      assert.throws(() => decodeStrict(loadSchema('repartition', 2), readSampleBinary(sample)), DecodeError, 'a v1 payload does not decode strictly as v2');
    }
    for (const sample of v2Samples) {
      assert.deepEqual(plain(decodeEntityMention(readSampleBinary(sample))), plain(readSampleValue(sample)));
      const { kind: _kind, ...asV1 } = plain(readSampleValue(sample)) as Record<string, unknown>;
      assert.deepEqual(plain(decodeStrict(loadSchema('repartition', 1), readSampleBinary(sample), { writerType: loadSchema('repartition', 2) })), asV1);
    }
    assert.throws(() => decodeEntityMention(Buffer.from([1, 2, 3])), DecodeError);
  });

  it('repartition v1 golden records read with a hypothetical v2 that adds a field with a default, and v2 bytes read with v1', () => {
    const v1 = loadSchemaJson('repartition', 1) as unknown as { fields: unknown[] };
    const v2Json = { ...v1, fields: [...v1.fields, { name: 'source_key', type: ['null', 'string'], default: null, doc: 'hypothetical' }] };
    const v2 = avro.Type.forSchema(v2Json as never, { wrapUnions: 'never' });
    const samples = listSamples('repartition').filter((s) => s.version === 1);
    assert.ok(samples.length >= 2);
    for (const sample of samples) {
      const forward = decodeStrict<Record<string, unknown>>(v2 as never, readSampleBinary(sample), { writerType: loadSchema('repartition', 1) });
      assert.deepEqual(plain(forward), { ...plain(readSampleValue(sample)), source_key: null });
      const back = decodeStrict(loadSchema('repartition', 1), v2.toBuffer({ ...plain(readSampleValue(sample)), source_key: 'k' }), { writerType: v2 });
      assert.deepEqual(plain(back), plain(readSampleValue(sample)));
    }
  });
});
