/** Tests for models/text/charPositions.ts and the jieba segmenter: alignment with code points, emoji, odd segmenters. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { charPositions, charPositionTokens, inputTokenIds, inputTokens, MAX_POSITION, type Segmenter } from '../../../models/text/charPositions.js';
import { toCodePoints } from '../../../models/text/codepoints.js';
import { jiebaSegmenter } from '../../../models/text/jiebaSegmenter.js';
import { POSITIONAL_CACHE_LIMIT, Vocabulary } from '../../../models/text/vocabulary.js';
import { Rng } from '../../../models/rng.js';

/** A segmenter that splits at '|' marks of a fixed segmentation of the same text. */
function fixed(segmented: string): Segmenter {
  return (text) => {
    const words = segmented.split('|');
    assert.equal(words.join(''), text, 'fixture segmentation must spell the input');
    return words;
  };
}

test('each character gets its position inside its word (the paper\'s 北京 -> 北0 京1)', () => {
  const chars = toCodePoints('北京欢迎你');
  assert.deepEqual(charPositionTokens(chars, fixed('北京|欢迎|你')), ['北0', '京1', '欢0', '迎1', '你0']);
});

test('an emoji or astral character is one character: words are re-split into code points', () => {
  const chars = toCodePoints('😀长江𠮷很美');
  assert.equal(chars.length, 6);
  const tokens = charPositionTokens(chars, fixed('😀长|江𠮷很|美'));
  assert.deepEqual(tokens, ['😀0', '长1', '江0', '𠮷1', '很2', '美0']);
  assert.equal(tokens.length, chars.length);
});

test('positions past MAX_POSITION share the capped token', () => {
  const word = 'abcdefghijkl';
  const positions = [...charPositions(toCodePoints(word), fixed(word))];
  assert.deepEqual(positions, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9]);
  assert.equal(MAX_POSITION, 9);
});

test('a segmenter that rewrites or drops characters never misaligns: the rest become one-character words', () => {
  const chars = toCodePoints('我爱北京');
  const dropping: Segmenter = () => ['我爱', '京'];
  assert.deepEqual(charPositionTokens(chars, dropping), ['我0', '爱1', '北0', '京0']);
  const short: Segmenter = () => ['我爱'];
  assert.deepEqual(charPositionTokens(chars, short), ['我0', '爱1', '北0', '京0']);
  assert.deepEqual(charPositionTokens([], () => []), []);
});

test('jieba: aligned with code points on emoji, astral characters, spaces and lone surrogates', () => {
  const jieba = jiebaSegmenter();
  const texts = ['北京欢迎你', '😀长江𠮷很美 hello  world', 'a\uD800b中国人民', '张小明在微软公司工作http://t.cn/abc123456789', '\t x'];
  for (const text of texts) {
    const chars = toCodePoints(text);
    const tokens = charPositionTokens(chars, jieba);
    assert.equal(tokens.length, chars.length, text);
    tokens.forEach((t, i) => assert.ok(t.startsWith(chars[i]) && /^\d$/.test(t.slice(chars[i].length)), `${JSON.stringify(text)}: ${t} at ${i}`));
  }
  assert.deepEqual(charPositionTokens(toCodePoints('北京欢迎你'), jieba), ['北0', '京1', '欢0', '迎1', '你0']);
  // 😀 is its own word; the lone surrogate (jieba sees U+FFFD) keeps its place.
  const emoji = charPositionTokens(toCodePoints('😀长江很美'), jieba);
  assert.deepEqual(emoji.slice(0, 3), ['😀0', '长0', '江1']);
  assert.deepEqual(charPositionTokens(toCodePoints('a\uD800b'), jieba), ['a0', '\uD800' + '0', 'b0']);
  // HMM on: an unknown person name is one word, as in Python jieba's default.
  assert.deepEqual(charPositionTokens(toCodePoints('张小明在'), jieba), ['张0', '小1', '明2', '在0']);
});

test('inputTokens: plain characters unchanged; normalised before segmenting when asked', () => {
  const chars = toCodePoints('ＮＢＡ比赛');
  assert.equal(inputTokens(chars, { charPositional: false }), chars);
  const seen: string[] = [];
  const spy: Segmenter = (text) => {
    seen.push(text);
    return [...text];
  };
  assert.deepEqual(inputTokens(chars, { charPositional: true, normalize: true }, spy), ['N0', 'B0', 'A0', '比0', '赛0']);
  assert.deepEqual(seen, ['NBA比赛']);
  assert.throws(() => inputTokens(chars, { charPositional: true }), /segmenter/);
});

test('inputTokenIds: the ids vocab.encode gives inputTokens, plain and char-positional, normalising or not, past the cache limit too', () => {
  const rng = new Rng(41);
  const alphabet = [...'北京欢迎你长江很美的了是ＡＢＮ１２！　abcAB12 😀𠮷', '\ud800', '\udfff'];
  const sentence = (n: number) => Array.from({ length: n }, () => alphabet[rng.int(alphabet.length)]);
  const sentences = Array.from({ length: 200 }, () => sentence(1 + rng.int(40)));
  const jieba = jiebaSegmenter();
  for (const normalize of [false, true]) {
    for (const charPositional of [false, true]) {
      const options = { charPositional, normalize };
      // Half the sentences build the vocabulary, so the other half has unknown tokens too.
      const vocab = Vocabulary.build(sentences.slice(0, 100).map((s) => inputTokens(s, options, jieba)), { normalize });
      for (const s of sentences) {
        const want = vocab.encode(inputTokens(s, options, jieba));
        assert.deepEqual([...inputTokenIds(s, options, vocab, jieba)], [...want], `${JSON.stringify(s.join(''))}, ${JSON.stringify(options)}`);
        assert.deepEqual([...inputTokenIds(s, options, vocab, jieba)], [...want], 'again, from the cache');
      }
      assert.ok(vocab.size > 10);
    }
  }
  // More distinct characters than the cache keeps: the rest are looked up each time, with the same ids.
  const many = Array.from({ length: POSITIONAL_CACHE_LIMIT + 500 }, (_, i) => String.fromCodePoint(0x4e00 + i));
  const vocab = Vocabulary.build([many.map((c, i) => c + (i % 3))]);
  const positions = Int32Array.from(many, (_, i) => i % 4);
  for (let pass = 0; pass < 2; pass++) {
    assert.deepEqual([...vocab.encodePositional(many, positions)], [...vocab.encode(many.map((c, i) => c + positions[i]))]);
  }
});
