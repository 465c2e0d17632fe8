/** Tests for models/text/vocabulary.ts: specials, ordering, astral chars, normalization, JSON. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MentionflowError } from '../../../common/errors.js';
import { PAD_ID, UNK_ID, Vocabulary } from '../../../models/text/vocabulary.js';

const corpus = [
  ['我', '爱', '😀', '𠮷'],
  ['爱', '😀', '😀', 'b'],
  ['a', '爱'],
];

test('PAD is 0, UNK is 1, then descending frequency, ties by code point', () => {
  const v = Vocabulary.build(corpus);
  assert.equal(v.token(PAD_ID), '<pad>');
  assert.equal(v.token(UNK_ID), '<unk>');
  // 爱 x3, 😀 x3 (U+7231 < U+1F600), then a, b, 我 (U+6211), 𠮷 (U+20BB7) x1
  assert.deepEqual(v.toJSON().tokens, ['<pad>', '<unk>', '爱', '😀', 'a', 'b', '我', '𠮷']);
  assert.equal(v.size, 8);
});

test('astral characters are single symbols', () => {
  const v = Vocabulary.build(corpus);
  assert.deepEqual([...v.encode(['😀', '𠮷', '未'])], [3, 7, UNK_ID]);
  assert.equal(v.indexOf('\uD83D'), UNK_ID); // half of the emoji is not the emoji
});

test('minFreq and maxSize cut the vocabulary', () => {
  assert.deepEqual(Vocabulary.build(corpus, { minFreq: 2 }).toJSON().tokens, ['<pad>', '<unk>', '爱', '😀']);
  assert.deepEqual(Vocabulary.build(corpus, { maxSize: 3 }).toJSON().tokens, ['<pad>', '<unk>', '爱']);
  assert.throws(() => Vocabulary.build(corpus, { maxSize: 1 }), MentionflowError);
});

test('normalize folds full-width forms when building and on lookup', () => {
  const v = Vocabulary.build([['Ａ', 'A', 'ｂ']], { normalize: true });
  assert.deepEqual(v.toJSON().tokens, ['<pad>', '<unk>', 'A', 'b']);
  assert.equal(v.indexOf('Ａ'), v.indexOf('A'));
  assert.equal(v.indexOf('b'), 3);
  const plain = Vocabulary.build([['Ａ']]);
  assert.equal(plain.indexOf('A'), UNK_ID);
});

test('JSON round trip', () => {
  const v = Vocabulary.build(corpus, { normalize: true });
  const back = Vocabulary.fromJSON(JSON.parse(JSON.stringify(v)));
  assert.deepEqual(back.toJSON(), v.toJSON());
  assert.equal(back.normalize, true);
  assert.deepEqual([...back.encode(['😀', '爱'])], [...v.encode(['😀', '爱'])]);
});

test('fromJSON rejects malformed input with a MentionflowError', () => {
  const bad: unknown[] = [
    null,
    'tokens',
    { version: 2, normalize: false, tokens: ['<pad>', '<unk>'] },
    { version: 1, normalize: 'no', tokens: ['<pad>', '<unk>'] },
    { version: 1, normalize: false, tokens: ['<unk>', '<pad>'] },
    { version: 1, normalize: false, tokens: ['<pad>', '<unk>', 'a', 'a'] },
    { version: 1, normalize: false, tokens: ['<pad>', '<unk>', 3] },
  ];
  for (const json of bad) assert.throws(() => Vocabulary.fromJSON(json), MentionflowError, JSON.stringify(json));
});
