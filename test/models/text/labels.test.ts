// Labels of any tag set (models/text/labels.ts) and the mention fields they give (models/mention.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MentionflowError } from '../../../common/errors.js';
import { parseConll } from '../../../models/data/conll.js';
import { labelFields } from '../../../models/mention.js';
import { detectScheme, ENTITY_LABELS, hasMentionKinds, labelParts, labelSetOf, spansToTags, tagsToSpans } from '../../../models/text/labels.js';
import { spansToBio, spansToBioes, type Span } from '../../../models/text/spans.js';
import { TagDictionary } from '../../../models/text/tagDictionary.js';

test('labelParts: TYPE.NAM / TYPE.NOM carry a kind, anything else is its own type', () => {
  assert.deepEqual(labelParts('PER.NAM'), { type: 'PER', kind: 'NAM' });
  assert.deepEqual(labelParts('GPE.NOM'), { type: 'GPE', kind: 'NOM' });
  assert.deepEqual(labelParts('PRODUCT'), { type: 'PRODUCT', kind: null });
  assert.deepEqual(labelParts('A.B'), { type: 'A.B', kind: null });
  assert.deepEqual(labelParts('.NAM'), { type: '.NAM', kind: null });
  assert.equal(hasMentionKinds(['PRODUCT', 'BRAND']), false);
  assert.equal(hasMentionKinds(['PRODUCT', 'PER.NOM']), true);
});

test('labelFields: the Avro type and kind of a label, UNKNOWN where it has none', () => {
  assert.deepEqual(labelFields('PER.NAM'), { label: 'PER.NAM', type: 'PER', kind: 'NAM' });
  assert.deepEqual(labelFields('PER'), { label: 'PER', type: 'PER', kind: 'UNKNOWN' });
  assert.deepEqual(labelFields('PRODUCT'), { label: 'PRODUCT', type: 'UNKNOWN', kind: 'UNKNOWN' });
  assert.deepEqual(labelFields('BRAND.NAM'), { label: 'BRAND.NAM', type: 'UNKNOWN', kind: 'NAM' });
});

test('detectScheme and tagsToSpans: BIOES when a tag has E- or S-, else BIO', () => {
  assert.equal(detectScheme([['B-X', 'I-X', 'O']]), 'BIO');
  assert.equal(detectScheme([['O'], ['S-X']]), 'BIOES');
  assert.deepEqual(tagsToSpans(['B-BRAND', 'E-BRAND', 'S-PER']), [
    { start: 0, end: 2, label: 'BRAND' },
    { start: 2, end: 3, label: 'PER' },
  ]);
  // The same I-after-B in BIO keeps conlleval semantics.
  assert.deepEqual(tagsToSpans(['B-PRODUCT', 'I-PRODUCT', 'I-BRAND']), [
    { start: 0, end: 2, label: 'PRODUCT' },
    { start: 2, end: 3, label: 'BRAND' },
  ]);
});

test('spansToTags writes the scheme asked for, and tagsToSpans reads it back', () => {
  const spans = [
    { start: 0, end: 2, label: 'PER.NAM' },
    { start: 3, end: 4, label: 'GPE.NOM' },
  ];
  assert.deepEqual(spansToTags(spans, 5, 'BIO'), ['B-PER.NAM', 'I-PER.NAM', 'O', 'B-GPE.NOM', 'O']);
  assert.deepEqual(spansToTags(spans, 5, 'BIOES'), ['B-PER.NAM', 'E-PER.NAM', 'O', 'S-GPE.NOM', 'O']);
  for (const scheme of ['BIO', 'BIOES'] as const) assert.deepEqual(tagsToSpans(spansToTags(spans, 5, scheme), scheme), spans);
});

test('labelSetOf: WeiboNER data keeps its 8 labels in fixed order; other data its own labels, sorted', () => {
  assert.deepEqual(labelSetOf([['B-GPE.NAM', 'O', 'B-PER.NOM']]), [...ENTITY_LABELS]);
  assert.deepEqual(labelSetOf([['B-PRODUCT', 'I-PRODUCT'], ['S-BRAND', 'B-PER', 'E-PER']]), ['BRAND', 'PER', 'PRODUCT']);
  assert.deepEqual(labelSetOf([['B-PER.NAM', 'B-PRODUCT']]), ['PER.NAM', 'PRODUCT']);
  assert.throws(() => labelSetOf([['O', 'O']]), (e: unknown) => e instanceof MentionflowError && /no entity tag/.test(e.message));
});

/** Labels of any shape a CoNLL file can hold: no whitespace, may contain dots and dashes. */
const anyLabel = fc.stringMatching(/^[A-Za-z0-9_.\-\u4e00-\u4e09]{1,8}$/);

/** Random non-overlapping spans with arbitrary labels and a length covering them. */
const spansAndLength = fc
  .tuple(fc.array(fc.record({ gap: fc.nat(3), len: fc.integer({ min: 1, max: 4 }), label: anyLabel }), { maxLength: 8 }), fc.nat(3))
  .map(([parts, tail]) => {
    const spans: Span[] = [];
    let pos = 0;
    for (const p of parts) {
      const start = pos + p.gap;
      spans.push({ start, end: start + p.len, label: p.label });
      pos = start + p.len;
    }
    return { spans, length: pos + tail };
  });

test('property: any labels round-trip through BIO and BIOES tags, the scheme read from the tags', () => {
  fc.assert(
    fc.property(spansAndLength, ({ spans, length }) => {
      const bio = spansToBio(spans, length);
      const bioes = spansToBioes(spans, length);
      assert.deepEqual(tagsToSpans(bio), spans);
      assert.deepEqual(tagsToSpans(bioes), spans);
      assert.equal(detectScheme([bio]), 'BIO');
      if (spans.length > 0) assert.equal(detectScheme([bioes]), 'BIOES');
    }),
  );
});

test('property: the tag dictionary of any label set encodes its data, and the CoNLL reader reads it back', () => {
  fc.assert(
    fc.property(spansAndLength, fc.constantFrom('BIO' as const, 'BIOES' as const), ({ spans, length }, scheme) => {
      fc.pre(spans.length > 0);
      const tags = scheme === 'BIO' ? spansToBio(spans, length) : spansToBioes(spans, length);
      const labels = labelSetOf([tags]);
      const distinct = [...new Set(spans.map((s) => s.label))];
      assert.deepEqual(labels, distinct.every((l) => ENTITY_LABELS.includes(l)) ? [...ENTITY_LABELS] : distinct.sort());
      const dict = TagDictionary.forLabels(labels, scheme);
      assert.deepEqual(dict.decode(dict.encode(tags)), tags);
      const chars = Array.from({ length }, (_, i) => String.fromCodePoint(0x4e00 + i));
      const file = chars.map((c, i) => `${c}\t${tags[i]}`).join('\n') + '\n';
      assert.deepEqual(parseConll(new TextEncoder().encode(file), 'prop.conll'), [{ chars, tags }]);
    }),
  );
});
