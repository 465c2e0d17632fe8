/** Tests for models/eval/segScorer.ts: SIGHAN word P/R/F1 and OOV/IV recall, hand-computed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MentionflowError } from '../../../common/errors.js';
import { scoreSegmentation } from '../../../models/eval/segScorer.js';

// 我 / 爱 / 北京 / 天安门 (gold) vs 我爱 / 北京 / 天安 / 门 (predicted)
const chars = [['我', '爱', '北', '京', '天', '安', '门']];
const gold = [['S', 'S', 'B', 'E', 'B', 'I', 'E']];
const pred = [['B', 'E', 'B', 'E', 'B', 'E', 'S']];

test('word precision, recall and F1', () => {
  const r = scoreSegmentation(chars, gold, pred);
  assert.deepEqual(r.words, { tp: 1, fp: 3, fn: 3, precision: 25, recall: 25, f1: 25 });
  assert.equal(r.oov, undefined);
});

test('OOV and IV recall against a training word list', () => {
  const r = scoreSegmentation(chars, gold, pred, new Set(['我', '北京']));
  assert.deepEqual(r.oov, { gold: 2, correct: 0, recall: 0 }); // 爱, 天安门
  assert.deepEqual(r.iv, { gold: 2, correct: 1, recall: 50 }); // 我, 北京 (correct)
});

test('perfect prediction, empty input and length mismatches', () => {
  const r = scoreSegmentation(chars, gold, gold, new Set());
  assert.equal(r.words.f1, 100);
  assert.deepEqual(r.oov, { gold: 4, correct: 4, recall: 100 });
  assert.deepEqual(scoreSegmentation([], [], []).words.f1, 0);
  assert.throws(() => scoreSegmentation(chars, gold, [['S']]), MentionflowError);
  assert.throws(() => scoreSegmentation(chars, [], []), MentionflowError);
});
