/** Tests for pipeline/train/pretrain/word2vec.ts: it learns co-occurrence, is repeatable, and rejects bad options. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../common/errors.js';
import { Rng } from '../../../models/rng.js';
import { cosine, trainWord2Vec } from '../../../pipeline/train/pretrain/word2vec.js';

/** Sentences that each draw tokens from one of two disjoint groups: a0..a5 or b0..b5. */
function twoTopics(sentences: number, seed = 7): string[][] {
  const rng = new Rng(seed);
  return Array.from({ length: sentences }, (_, i) => {
    const group = i % 2 === 0 ? 'a' : 'b';
    return Array.from({ length: 10 }, () => `${group}${rng.int(6)}`);
  });
}

test('tokens that co-occur end up closer than tokens that never do', () => {
  const result = trainWord2Vec(twoTopics(600), { dim: 16, epochs: 5, minCount: 1, sample: 0, window: 3, quiet: true });
  const id = (t: string) => result.tokens.indexOf(t);
  assert.equal(result.tokens.length, 12);
  let within = 0;
  let across = 0;
  let nWithin = 0;
  let nAcross = 0;
  for (let i = 0; i < 6; i++) {
    for (let j = 0; j < 6; j++) {
      if (i !== j) {
        within += cosine(result.vectors, 16, id(`a${i}`), id(`a${j}`)) + cosine(result.vectors, 16, id(`b${i}`), id(`b${j}`));
        nWithin += 2;
      }
      across += cosine(result.vectors, 16, id(`a${i}`), id(`b${j}`));
      nAcross += 1;
    }
  }
  within /= nWithin;
  across /= nAcross;
  assert.ok(within > 0.5, `mean cosine within a topic ${within.toFixed(3)} should be high`);
  assert.ok(within - across > 0.5, `within ${within.toFixed(3)} vs across ${across.toFixed(3)}`);
  assert.equal(result.corpusTokens, 6000);
});

test('the same seed gives the same vectors; another seed does not', () => {
  const corpus = twoTopics(60);
  const a = trainWord2Vec(corpus, { dim: 8, epochs: 2, minCount: 1, quiet: true, seed: 3 });
  const b = trainWord2Vec(corpus, { dim: 8, epochs: 2, minCount: 1, quiet: true, seed: 3 });
  const c = trainWord2Vec(corpus, { dim: 8, epochs: 2, minCount: 1, quiet: true, seed: 4 });
  assert.deepEqual(a.tokens, b.tokens);
  assert.deepEqual(a.vectors, b.vectors);
  assert.notDeepEqual(a.vectors, c.vectors);
});

test('vocabulary: minCount drops rare tokens, most frequent first, undefined options take the defaults', () => {
  const r = trainWord2Vec([['x', 'y', 'x', 'z'], ['x', 'y']], { dim: 4, epochs: undefined, minCount: 2, quiet: true });
  assert.deepEqual(r.tokens, ['x', 'y']);
  assert.deepEqual(r.counts, [3, 2]);
  assert.equal(r.vectors.length, 8);
});

test('bad options and an empty vocabulary are ConfigErrors', () => {
  assert.throws(() => trainWord2Vec([['a', 'a']], { dim: 0, quiet: true }), ConfigError);
  assert.throws(() => trainWord2Vec([['a', 'a']], { dim: 4, sample: 1, quiet: true }), /sample/);
  assert.throws(() => trainWord2Vec([['a', 'b']], { dim: 4, minCount: 2, quiet: true }), /no token occurs 2 times/);
});
