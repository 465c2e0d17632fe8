// Labels of any tag set (models/text/labels.ts) and the mention fields they give (models/mention.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MentionflowError } from '../../../common/errors.js';
import { labelFields } from '../../../models/mention.js';
import { detectScheme, ENTITY_LABELS, hasMentionKinds, labelParts, labelSetOf, tagsToSpans } from '../../../models/text/labels.js';

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

test('labelSetOf: WeiboNER data keeps its 8 labels in fixed order; other data its own labels, sorted', () => {
  assert.deepEqual(labelSetOf([['B-GPE.NAM', 'O', 'B-PER.NOM']]), [...ENTITY_LABELS]);
  assert.deepEqual(labelSetOf([['B-PRODUCT', 'I-PRODUCT'], ['S-BRAND', 'B-PER', 'E-PER']]), ['BRAND', 'PER', 'PRODUCT']);
  assert.deepEqual(labelSetOf([['B-PER.NAM', 'B-PRODUCT']]), ['PER.NAM', 'PRODUCT']);
  assert.throws(() => labelSetOf([['O', 'O']]), (e: unknown) => e instanceof MentionflowError && /no entity tag/.test(e.message));
});
