import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../common/errors.js';
import { fnv1a32 } from '../../../models/features/lexical.js';
import {
  concatFeatureRows,
  dictionarySpec,
  forwardMaxMatch,
  normalizeBies,
  parseNameLexicon,
  TagFeatureExtractor,
  tagFeatureIds,
  TEMPLATES_PER_CHANNEL,
  wordSet,
} from '../../../models/features/tagFeatures.js';

const chars = (s: string) => [...s];

test('forward maximum matching takes the longest word from the left and tags it BIES, O elsewhere', () => {
  const dict = wordSet(['北京', '北京大学', '大学生', '张三']);
  assert.deepEqual(forwardMaxMatch(chars('我在北京大学生活'), dict), ['O', 'O', 'B', 'I', 'I', 'E', 'O', 'O']);
  // greedy: 北京大学 wins over 北京 + 大学生
  assert.deepEqual(forwardMaxMatch(chars('张三北京'), dict), ['B', 'E', 'B', 'E']);
  assert.deepEqual(forwardMaxMatch(chars('大学生'), dict), ['B', 'I', 'E']);
  assert.deepEqual(forwardMaxMatch(chars('无'), dict), ['O']);
  assert.deepEqual(forwardMaxMatch([], dict), []);
  // single-character words give S; a minimum length skips them
  const single = wordSet(['京']);
  assert.deepEqual(forwardMaxMatch(chars('北京'), single), ['O', 'S']);
  assert.deepEqual(forwardMaxMatch(chars('北京'), single, 2), ['O', 'O']);
  // code points, not UTF-16 units: the emoji is one character
  assert.deepEqual(forwardMaxMatch(chars('😀张三'), dict), ['O', 'B', 'E']);
  assert.equal(wordSet(['😀😀', 'ab']).maxLength, 2);
});

test('jieba dictionary lines are filtered by part of speech, frequency and length', () => {
  const text = ['张三 5 nr', '约翰 2 nrt', '北京 100 ns', '微软 3 nt', '苹果 9 n', '李 50 nr', '王五 1 nr', 'bad', '', '上海\t7\tns\r'].join('\n');
  const words = parseNameLexicon(text, { minFreq: 2, minLength: 2 });
  assert.deepEqual(words, { PER: ['张三', '约翰'], LOC: ['上海', '北京'], ORG: ['微软'] });
  assert.deepEqual(parseNameLexicon(text, { minFreq: 0, minLength: 1 }).PER, ['张三', '李', '王五', '约翰']);
  const spec = dictionarySpec('names.txt', words, { minFreq: 2, minLength: 2 });
  assert.equal(spec.words.LOC, '上海 北京');
  assert.throws(() => dictionarySpec('x', { PER: ['a b'] }, { minFreq: 1, minLength: 1 }), ConfigError);
});

test('predicted BIES tags are read leniently into well-formed BIES', () => {
  assert.deepEqual(normalizeBies(['B', 'E', 'S', 'B', 'I', 'E']), ['B', 'E', 'S', 'B', 'I', 'E']);
  assert.deepEqual(normalizeBies(['I', 'E', 'B']), ['B', 'E', 'S']);
  assert.deepEqual(normalizeBies(['B', 'B', 'I']), ['S', 'B', 'E']);
  assert.deepEqual(normalizeBies([]), []);
});

test('tag feature templates: (tag), (tag, char), neighbouring tags; hashed into [1, buckets) with channel-named keys', () => {
  const n = 1 << 20;
  const cs = chars('张三在');
  const ids = tagFeatureIds(cs, [{ name: 'seg', tags: ['B', 'E', 'S'] }], n);
  assert.equal(ids.length, 3 * TEMPLATES_PER_CHANNEL);
  const h = (key: string) => 1 + (fnv1a32(key) % (n - 1));
  const row = (t: number) => [...ids.subarray(t * TEMPLATES_PER_CHANNEL, (t + 1) * TEMPLATES_PER_CHANNEL)];
  assert.deepEqual(row(1), [h('seg#0\u0001E'), h('seg#1\u0001E\u0001三'), h('seg#2\u0001B\u0001E'), h('seg#3\u0001E\u0001S'), h('seg#4\u0001B\u0001E\u0001S')]);
  // outside the sentence: the lexical features' padding symbols
  assert.equal(row(0)[2], h('seg#2\u0001<B-1>\u0001B'));
  assert.equal(row(2)[3], h('seg#3\u0001S\u0001<E+1>'));
  // the same tag in another channel is another feature; the (tag) feature does not depend on the character
  const other = tagFeatureIds(cs, [{ name: 'dict.PER', tags: ['B', 'E', 'S'] }], n);
  assert.notEqual(other[0], ids[0]);
  const elsewhere = tagFeatureIds(chars('李四在'), [{ name: 'seg', tags: ['B', 'E', 'S'] }], n);
  assert.equal(elsewhere[0], ids[0]);
  assert.notEqual(elsewhere[1], ids[1]);
  for (const id of tagFeatureIds(cs, [{ name: 'seg', tags: ['B', 'E', 'S'] }], 3)) assert.ok(id >= 1 && id < 3);
  assert.throws(() => tagFeatureIds(cs, [{ name: 'seg', tags: ['S'] }], n), /1 tags for 3 characters/);
  assert.throws(() => tagFeatureIds(cs, [], 1), ConfigError);
});

test('feature rows are interleaved per position', () => {
  const a = Int32Array.from([1, 2, 3, 4]); // T=2, 2 per step
  const b = Int32Array.from([9, 8]); // T=2, 1 per step
  assert.deepEqual([...concatFeatureRows(a, 2, b, 1, 2)], [1, 2, 9, 3, 4, 8]);
  assert.throws(() => concatFeatureRows(a, 2, b, 2, 2));
});

test('the extractor computes the seg channel first, then the dictionary types sorted; it needs the segmentation when configured', () => {
  const spec = { segmentation: true, dictionary: { source: 'x', minFreq: 1, minLength: 2, words: { PER: '张三', LOC: '北京 上海' } } };
  const x = new TagFeatureExtractor(spec);
  assert.equal(x.channelCount, 3);
  assert.equal(x.featuresPerStep, 3 * TEMPLATES_PER_CHANNEL);
  const ch = x.channels(chars('张三去北京'), ['B', 'E', 'S', 'B', 'E']);
  assert.deepEqual(ch.map((c) => c.name), ['seg', 'dict.LOC', 'dict.PER']);
  assert.deepEqual(ch[1].tags, ['O', 'O', 'O', 'B', 'E']);
  assert.deepEqual(ch[2].tags, ['B', 'E', 'O', 'O', 'O']);
  assert.throws(() => x.channels(chars('张三')), /predicted segmentation/);
  const dictOnly = new TagFeatureExtractor({ dictionary: spec.dictionary });
  assert.equal(dictOnly.featureIds(chars('张三'), 64).length, 2 * 2 * TEMPLATES_PER_CHANNEL);
});
