// The one JSON shape of a mention: the Avro field names of schemas/mentions, in schema order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listSamples, readSampleBinary } from '../../schemas/fixtures.js';
import { mentionJson, postMentionsJson } from '../../schemas/mentionJson.js';
import { decodeStrict, latestVersion, loadSchema, loadSchemaJson, resolvingDecoder } from '../../schemas/registry.js';
import { MentionFields, PostMentionsFields, type Mention, type PostMentions } from '../../schemas/types.generated.js';

/** Field names of the Mention record in the latest mentions schema, read from the .avsc itself. */
function schemaMentionFields(): string[] {
  const root = loadSchemaJson('mentions', latestVersion('mentions'));
  const field = root.fields.find((f) => f.name === 'mentions') as unknown as { type: { items: { fields: { name: string }[] } } };
  return field.type.items.fields.map((f) => f.name);
}

const base: Mention = { text: '北京', label: 'GPE.NAM', type: 'GPE', kind: 'NAM', start: 2, end: 4, start_utf16: 2, end_utf16: 4, confidence: 0.5 };

describe('mention JSON', () => {
  it('the generated field list is the schema\'s, and mentionJson prints exactly those keys in that order', () => {
    assert.deepEqual([...MentionFields], schemaMentionFields());
    const shuffled = Object.fromEntries(Object.entries({ ...base, extra: 'dropped' }).reverse()) as unknown as Mention;
    const json = mentionJson(shuffled);
    assert.deepEqual(Object.keys(json), schemaMentionFields());
    assert.equal(JSON.stringify(json), '{"text":"北京","label":"GPE.NAM","type":"GPE","kind":"NAM","start":2,"end":4,"start_utf16":2,"end_utf16":4,"confidence":0.5}');
  });

  it('a record written with mentions v1 (no label) gets TYPE.KIND as its label; a v2 label is kept as is', () => {
    assert.equal(mentionJson({ ...base, label: '' }).label, 'GPE.NAM');
    assert.equal(mentionJson({ ...base, label: 'PRODUCT', type: 'UNKNOWN', kind: 'UNKNOWN' }).label, 'PRODUCT');
    const v1 = listSamples('mentions').find((s) => s.label === 'v1-basic');
    assert.ok(v1);
    const decoded = resolvingDecoder<PostMentions>('mentions', 1).decode(readSampleBinary(v1));
    assert.deepEqual(
      postMentionsJson(decoded).mentions.map((m) => m.label),
      ['GPE.NAM', 'LOC.NAM', 'PER.NAM', 'PER.NOM', 'ORG.NAM'],
    );
  });

  it('postMentionsJson of a decoded v2 record is the record, as plain JSON in schema order', () => {
    for (const sample of listSamples('mentions').filter((s) => s.version === 2)) {
      const decoded = decodeStrict<PostMentions>(loadSchema('mentions'), readSampleBinary(sample));
      const json = postMentionsJson(decoded);
      assert.deepEqual(Object.keys(json), [...PostMentionsFields]);
      assert.equal(JSON.stringify(json), JSON.stringify(decoded), sample.label);
      for (const m of json.mentions) assert.deepEqual(Object.keys(m), [...MentionFields]);
    }
  });
});
