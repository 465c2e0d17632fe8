/** Tests for models/text/tagScheme.ts (and transitions.ts, tagDictionary.ts): labels, validity, TagDictionary. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MentionflowError } from '../../../common/errors.js';
import {
  allowedEnd,
  allowedStart,
  allowedTransition,
  ENTITY_LABELS,
  spansToBio,
  spansToBioes,
  TagDictionary,
} from '../../../models/text/tagScheme.js';

test('ENTITY_LABELS: 8 labels, BIO over them has 17 tags, BIOES 33', () => {
  assert.deepEqual([...ENTITY_LABELS], ['PER.NAM', 'PER.NOM', 'ORG.NAM', 'ORG.NOM', 'LOC.NAM', 'LOC.NOM', 'GPE.NAM', 'GPE.NOM']);
  assert.equal(TagDictionary.forLabels(ENTITY_LABELS, 'BIO').size, 17);
  assert.equal(TagDictionary.forLabels(ENTITY_LABELS, 'BIOES').size, 33);
});

test('TagDictionary ids: O is 0, then per label in prefix order', () => {
  const d = TagDictionary.forLabels(['PER.NAM', 'LOC.NOM', 'PER.NAM'], 'BIO');
  assert.deepEqual(d.tags, ['O', 'B-PER.NAM', 'I-PER.NAM', 'B-LOC.NOM', 'I-LOC.NOM']);
  assert.equal(d.id('O'), 0);
  assert.equal(d.id('I-LOC.NOM'), 4);
  assert.equal(d.tag(3), 'B-LOC.NOM');
  assert.deepEqual(d.labels, ['PER.NAM', 'LOC.NOM']);
  assert.deepEqual(d.decode(d.encode(['O', 'B-PER.NAM'])), ['O', 'B-PER.NAM']);
  assert.equal(d.has('E-PER.NAM'), false);
  assert.throws(() => d.id('E-PER.NAM'), MentionflowError);
  assert.throws(() => d.tag(5), MentionflowError);
  assert.throws(() => d.tag(-1), MentionflowError);
});

test('TagDictionary JSON round trip and validation', () => {
  const d = TagDictionary.forLabels(ENTITY_LABELS, 'BIOES');
  const back = TagDictionary.fromJSON(JSON.parse(JSON.stringify(d)));
  assert.deepEqual(back.toJSON(), d.toJSON());
  assert.equal(back.scheme, 'BIOES');
  const seg = TagDictionary.fromTags(['B', 'I', 'E', 'S']);
  assert.deepEqual(TagDictionary.fromJSON(seg.toJSON()).tags, ['B', 'I', 'E', 'S']);
  assert.equal(seg.scheme, undefined);
  const bad: unknown[] = [
    undefined,
    { version: 2, tags: ['O'] },
    { version: 1, tags: [] },
    { version: 1, tags: ['B', 'B'] },
    { version: 1, scheme: 'BIO', tags: ['B-PER.NAM', 'O'] },
    { version: 1, scheme: 'BIO', tags: ['O', 'E-PER.NAM'] },
    { version: 1, scheme: 'IOB1', tags: ['O'] },
  ];
  for (const json of bad) assert.throws(() => TagDictionary.fromJSON(json), MentionflowError, JSON.stringify(json));
});

test('BIO transitions: I-X only after B-X or I-X', () => {
  assert.equal(allowedTransition('O', 'I-PER.NAM', 'BIO'), false);
  assert.equal(allowedTransition('B-PER.NOM', 'I-PER.NAM', 'BIO'), false);
  assert.equal(allowedTransition('B-PER.NAM', 'I-PER.NAM', 'BIO'), true);
  assert.equal(allowedTransition('I-PER.NAM', 'I-PER.NAM', 'BIO'), true);
  assert.equal(allowedTransition('I-PER.NAM', 'B-PER.NAM', 'BIO'), true);
  assert.equal(allowedTransition('O', 'O', 'BIO'), true);
  assert.equal(allowedTransition('O', 'S-PER.NAM', 'BIO'), false); // not a BIO tag
  assert.equal(allowedStart('I-PER.NAM', 'BIO'), false);
  assert.equal(allowedEnd('I-PER.NAM', 'BIO'), true);
});

test('BIOES transitions', () => {
  assert.equal(allowedTransition('B-LOC.NAM', 'E-LOC.NAM', 'BIOES'), true);
  assert.equal(allowedTransition('B-LOC.NAM', 'O', 'BIOES'), false);
  assert.equal(allowedTransition('I-LOC.NAM', 'E-GPE.NAM', 'BIOES'), false);
  assert.equal(allowedTransition('E-LOC.NAM', 'S-LOC.NAM', 'BIOES'), true);
  assert.equal(allowedTransition('S-LOC.NAM', 'I-LOC.NAM', 'BIOES'), false);
  assert.equal(allowedStart('E-LOC.NAM', 'BIOES'), false);
  assert.equal(allowedEnd('B-LOC.NAM', 'BIOES'), false);
  assert.equal(allowedEnd('S-LOC.NAM', 'BIOES'), true);
});

test('every sequence produced from spans is allowed by the constraint masks', () => {
  for (const scheme of ['BIO', 'BIOES'] as const) {
    const d = TagDictionary.forLabels(ENTITY_LABELS, scheme);
    const { transitions, start, end } = d.constraintMasks();
    const spans = [
      { start: 0, end: 1, label: 'PER.NAM' },
      { start: 1, end: 4, label: 'PER.NOM' },
      { start: 5, end: 7, label: 'GPE.NAM' },
    ];
    const ids = d.encode(scheme === 'BIO' ? spansToBio(spans, 7) : spansToBioes(spans, 7));
    assert.equal(start[ids[0]], 1);
    assert.equal(end[ids[ids.length - 1]], 1);
    for (let i = 1; i < ids.length; i++) assert.equal(transitions[ids[i - 1] * d.size + ids[i]], 1);
  }
  assert.throws(() => TagDictionary.fromTags(['B', 'I']).constraintMasks(), MentionflowError);
});
