/** Tests for models/eval/segScorer.ts: SIGHAN word P/R/F1 and OOV/IV recall, hand-computed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MentionflowError } from '../../../common/errors.js';
import { parseSegmented } from '../../../models/data/segmentation.js';
import { scoreSegmentation } from '../../../models/eval/segScorer.js';
import { lengthsToBies } from '../../../models/text/segTags.js';

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

/** chars and BIES tags of a sentence written as words. */
function seg(words: string[]): { chars: string[]; tags: string[] } {
  return { chars: words.flatMap((w) => Array.from(w)), tags: lengthsToBies(words.map((w) => Array.from(w).length)) };
}

test('two sentences by hand: SIGHAN precision, recall, F1, OOV rate, OOV and IV recall', () => {
  const gold = [seg(['他', '来到', '了', '网易', '杭研', '大厦']), seg(['小明', '硕士', '毕业', '于'])];
  const pred = [seg(['他', '来到', '了', '网易杭', '研', '大厦']), seg(['小', '明', '硕士', '毕业', '于'])];
  assert.deepEqual(gold.map((g) => g.chars), pred.map((p) => p.chars));
  // the training word list, here the words of a (hand-written) segmented training text
  const train = new Set(parseSegmented('他 来到 了 大厦\n硕士 毕业 于 网易\n', 'train.txt').flatMap((s) => s.words));
  const r = scoreSegmentation(gold.map((g) => g.chars), gold.map((g) => g.tags), pred.map((p) => p.tags), train);
  // 10 gold words, 11 predicted, 7 correct (他 来到 了 大厦 硕士 毕业 于)
  assert.equal(r.words.tp, 7);
  assert.equal(r.words.fp, 4);
  assert.equal(r.words.fn, 3);
  assert.ok(Math.abs(r.words.precision - 700 / 11) < 1e-9);
  assert.equal(r.words.recall, 70);
  assert.ok(Math.abs(r.words.f1 - 200 / 3) < 1e-9); // 2 * 7 / (10 + 11)
  // OOV: 杭研 and 小明, both missed; IV: 8 words, 7 found (网易 missed)
  assert.deepEqual(r.oov, { gold: 2, correct: 0, recall: 0 });
  assert.deepEqual(r.iv, { gold: 8, correct: 7, recall: 87.5 });
  assert.equal(r.oovRate, 20);
});

test('words match by span: a word paired by diff with an identical word elsewhere is not counted', () => {
  // over "aaa", gold "aa a" and predicted "a aa" share the word strings "aa" and "a" (diff would count one) but no span
  const gold = seg(['aa', 'a']);
  const pred = seg(['a', 'aa']);
  const r = scoreSegmentation([gold.chars], [gold.tags], [pred.tags]);
  assert.equal(r.words.tp, 0);
  assert.equal(r.words.f1, 0);
});
