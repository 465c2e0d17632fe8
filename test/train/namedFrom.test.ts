/**
 * withNamedFrom (train-joint --named-from): the named mentions of another
 * annotation of the same sentences, matched by text, the training sentences'
 * own nominal ones, in the training data's scheme.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../common/errors.js';
import type { NerSentence } from '../../models/data/conll.js';
import { toCodePoints } from '../../models/text/codepoints.js';
import { withNamedFrom } from '../../pipeline/train/namedFrom.js';

function s(text: string, tags: string): NerSentence {
  const chars = toCodePoints(text);
  const t = tags.split(' ');
  assert.equal(t.length, chars.length, text);
  return { chars, tags: t };
}

test('withNamedFrom: named spans from the other annotation, nominal ones kept, unmatched sentences whole, in the training order', () => {
  const train = [
    s('张三在北京工作', 'B-PER.NAM I-PER.NAM O B-GPE.NOM I-GPE.NOM O O'), // its "北京" nominal overlaps the other's GPE.NAM: left out
    s('李四是老师', 'B-PER.NAM O O B-PER.NOM I-PER.NOM'), // a named span the other annotation marks wider
    s('这个学校很大', 'O O B-ORG.NOM I-ORG.NOM O O'), // no match: kept whole
    s('我爱上海', 'O O B-LOC.NAM I-LOC.NAM'), // the other says GPE.NAM
  ];
  const other = [
    s('我爱上海', 'O O B-GPE.NAM E-GPE.NAM'), // BIOES, another order
    s('李四是老师', 'B-PER.NAM E-PER.NAM O O S-PER.NOM'), // its nominal is not taken
    s('张三在北京工作', 'B-PER.NAM E-PER.NAM O B-GPE.NAM E-GPE.NAM O O'),
    s('别的句子', 'B-PER.NAM E-PER.NAM O O'),
  ];
  const { sentences, stats } = withNamedFrom(train, other);
  assert.deepEqual(
    sentences.map((x) => x.tags.join(' ')),
    [
      'B-PER.NAM I-PER.NAM O B-GPE.NAM I-GPE.NAM O O',
      'B-PER.NAM I-PER.NAM O B-PER.NOM I-PER.NOM',
      'O O B-ORG.NOM I-ORG.NOM O O',
      'O O B-GPE.NAM I-GPE.NAM',
    ],
  );
  assert.deepEqual(sentences.map((x) => x.chars), train.map((x) => x.chars));
  assert.deepEqual(stats, { sentences: 4, matched: 3, namedSpans: 4, replacedNamedSpans: 3, overlaps: 1 });
  assert.equal(sentences[2], train[2], 'an unmatched sentence is the same object');
});

test('withNamedFrom: sentences with the same text are matched one to one, in order; a BIOES training set stays BIOES', () => {
  const train = [s('张三来了', 'B-PER.NOM E-PER.NOM O O'), s('张三来了', 'O O O O'), s('张三来了', 'O O O O')];
  const other = [s('张三来了', 'B-PER.NAM I-PER.NAM O O'), s('张三来了', 'O O O O')];
  const { sentences, stats } = withNamedFrom(train, other);
  // first: the other's name overlaps the own nominal (left out); second: the other's second (no name); third: no match left, kept whole
  assert.deepEqual(sentences.map((x) => x.tags.join(' ')), ['B-PER.NAM E-PER.NAM O O', 'O O O O', 'O O O O']);
  assert.deepEqual(stats, { sentences: 3, matched: 2, namedSpans: 1, replacedNamedSpans: 0, overlaps: 1 });
});

test('withNamedFrom: refuses what it cannot merge, with the option in the message', () => {
  const train = [s('张三来了', 'B-PER.NAM I-PER.NAM O O')];
  assert.throws(() => withNamedFrom(train, [s('李四走了', 'B-PER.NAM I-PER.NAM O O')]), (e: unknown) => e instanceof ConfigError && /--named-from: none of its 1 sentences has the text of a training sentence/.test(e.message));
  assert.throws(() => withNamedFrom(train, [s('张三来了', 'B-PER.NOM I-PER.NOM O O')]), (e: unknown) => e instanceof ConfigError && /no named mention/.test(e.message));
  assert.throws(() => withNamedFrom([s('张三来了', 'B-PER I-PER O O')], [s('张三来了', 'B-PER.NAM I-PER.NAM O O')], '--x'), (e: unknown) => e instanceof ConfigError && /^--x: the training data's label "PER" is neither named/.test(e.message));
});
