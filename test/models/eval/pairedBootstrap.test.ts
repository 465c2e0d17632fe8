/**
 * Tests for models/eval/pairedBootstrap.ts on synthetic gold and predicted
 * spans: identical models differ by 0 with p = 1; a model missing half the
 * mentions is significantly worse; a one-sentence difference over 200 is
 * not significant; the observed scores equal scoreSpans; swapping the two
 * models negates the difference; a seed repeats a comparison. Seeds
 * comparisons (seedsBootstrap): one model a side is the paired bootstrap;
 * the sides' scores are the means (and sd) of their models' scoreSpans; the
 * interval widens with the seeds' spread; a configuration better in every
 * seed is better.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MentionflowError } from '../../../common/errors.js';
import { meanSd } from '../../../models/eval/meanSd.js';
import { pairedBootstrap, quantile, seedsBootstrap } from '../../../models/eval/pairedBootstrap.js';
import { scoreSpans } from '../../../models/eval/spanScorer.js';
import { Rng } from '../../../models/rng.js';
import type { Span } from '../../../models/text/spans.js';

const LABELS = ['PER.NAM', 'PER.NOM', 'LOC.NAM', 'ORG.NOM'];

/** `n` sentences of 1 to 3 non-overlapping gold spans with labels drawn from LABELS. */
function goldSpans(n: number, seed: number): Span[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () =>
    Array.from({ length: 1 + rng.int(3) }, (_, k) => ({ start: k * 5, end: k * 5 + 1 + rng.int(3), label: LABELS[rng.int(LABELS.length)] })),
  );
}

/** Drops each span with probability `p` (seeded). */
function dropSome(spans: Span[][], p: number, seed: number): Span[][] {
  const rng = new Rng(seed);
  return spans.map((s) => s.filter(() => rng.next() >= p));
}

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} != ${b}`);

test('identical predictions: difference 0 in every row, interval [0, 0], p = 1, no significant difference', () => {
  const gold = goldSpans(200, 1);
  const pred = dropSome(gold, 0.3, 2);
  const c = pairedBootstrap(gold, pred, pred, { samples: 500 });
  for (const row of [...Object.values(c.perLabel), c.named, c.nominal, c.overall]) {
    assert.ok(row);
    assert.equal(row.delta, 0);
    assert.deepEqual(row.ci, [0, 0]);
    assert.equal(row.pValue, 1);
    assert.deepEqual(row.baseline, row.candidate);
  }
  assert.equal(c.verdict, 'no significant difference');
  assert.ok(c.overall.baseline.f1 > 0 && c.overall.baseline.f1 < 100, 'a non-trivial model');
});

test('a model that misses half the mentions is significantly worse than a perfect one, and better the other way round', () => {
  const gold = goldSpans(200, 3);
  const worse = dropSome(gold, 0.5, 4);
  const c = pairedBootstrap(gold, gold, worse, { samples: 1000 });
  assert.equal(c.overall.baseline.f1, 100);
  assert.ok(c.overall.delta < -20, `delta ${c.overall.delta}`);
  assert.ok(c.overall.ci[0] <= c.overall.delta && c.overall.delta <= c.overall.ci[1], 'the observed difference lies inside its interval');
  assert.ok(c.overall.ci[1] < 0, `interval ${c.overall.ci} below 0`);
  assert.ok(c.overall.pValue < 0.01, `p ${c.overall.pValue}`);
  assert.equal(c.verdict, 'worse');
  const back = pairedBootstrap(gold, worse, gold, { samples: 1000 });
  assert.equal(back.verdict, 'better');
  close(back.overall.delta, -c.overall.delta, 'swapped delta');
  // same seed, same resamples: the interval is the mirror image, the p-value the same
  close(back.overall.ci[0], -c.overall.ci[1], 'swapped lower bound');
  close(back.overall.ci[1], -c.overall.ci[0], 'swapped upper bound');
  assert.equal(back.overall.pValue, c.overall.pValue);
});

test('one sentence of 200 differing is no significant difference', () => {
  const gold = goldSpans(200, 5);
  const base = dropSome(gold, 0.3, 6);
  const cand = base.map((s, i) => (i === 17 ? gold[i] : s));
  const c = pairedBootstrap(gold, base, cand, { samples: 1000 });
  assert.ok(c.overall.delta > 0, 'the candidate finds one more mention');
  assert.ok(c.overall.ci[0] <= 0 && c.overall.ci[1] >= 0, `interval ${c.overall.ci} holds 0`);
  assert.ok(c.overall.pValue > 0.2, `p ${c.overall.pValue}`);
  assert.equal(c.verdict, 'no significant difference');
});

test('the observed scores are scoreSpans of each model, in every row, for any predictions', () => {
  const span = fc.record({ start: fc.integer({ min: 0, max: 6 }), len: fc.integer({ min: 1, max: 3 }), label: fc.constantFrom(...LABELS, 'BRAND') });
  const sentence = fc.array(span, { maxLength: 4 }).map((xs) => xs.map(({ start, len, label }) => ({ start, end: start + len, label })));
  const triple = fc.integer({ min: 1, max: 12 }).chain((n) => fc.tuple(...[0, 1, 2].map(() => fc.array(sentence, { minLength: n, maxLength: n }))));
  fc.assert(
    fc.property(triple, ([gold, base, cand]) => {
      const c = pairedBootstrap(gold, base, cand, { samples: 20 });
      const b = scoreSpans(gold, base);
      const k = scoreSpans(gold, cand);
      const labels = [...new Set([...Object.keys(b.perLabel), ...Object.keys(k.perLabel)])].sort();
      assert.deepEqual(Object.keys(c.perLabel), labels);
      for (const l of labels) {
        for (const f of ['tp', 'fp', 'fn'] as const) {
          assert.equal(c.perLabel[l].baseline[f], b.perLabel[l]?.[f] ?? 0);
          assert.equal(c.perLabel[l].candidate[f], k.perLabel[l]?.[f] ?? 0);
        }
      }
      assert.deepEqual(c.overall.baseline, b.overall);
      assert.deepEqual(c.overall.candidate, k.overall);
      if (b.named) assert.deepEqual(c.named?.baseline, b.named);
      close(c.overall.delta, k.overall.f1 - b.overall.f1, 'delta');
      assert.ok(c.overall.pValue > 0 && c.overall.pValue <= 1);
      assert.ok(c.overall.ci[0] <= c.overall.ci[1]);
    }),
    { numRuns: 200 },
  );
});

test('a seed repeats a comparison; another seed resamples differently', () => {
  const gold = goldSpans(100, 7);
  const base = dropSome(gold, 0.3, 8);
  const cand = dropSome(gold, 0.25, 9);
  const a = pairedBootstrap(gold, base, cand, { samples: 300, seed: 11 });
  assert.deepEqual(pairedBootstrap(gold, base, cand, { samples: 300, seed: 11 }), a);
  assert.notDeepEqual(pairedBootstrap(gold, base, cand, { samples: 300, seed: 12 }).overall.ci, a.overall.ci);
});

test('bad settings and mismatched inputs are errors naming the problem', () => {
  const gold = goldSpans(3, 1);
  assert.throws(() => pairedBootstrap(gold, gold, gold.slice(1)), /gold has 3 sentences, baseline 3, candidate 2/);
  assert.throws(() => pairedBootstrap([], [], []), /no sentences/);
  assert.throws(() => pairedBootstrap(gold, gold, gold, { samples: 0 }), MentionflowError);
  assert.throws(() => pairedBootstrap(gold, gold, gold, { confidence: 1 }), /confidence/);
});

test('quantile interpolates between order statistics', () => {
  assert.equal(quantile([1, 2, 3, 4, 5], 0.5), 3);
  assert.equal(quantile([0, 10], 0.25), 2.5);
  assert.equal(quantile([7], 0.975), 7);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

test('seeds: one model a side is the paired bootstrap, number for number', () => {
  const gold = goldSpans(150, 21);
  const base = dropSome(gold, 0.3, 22);
  const cand = dropSome(gold, 0.2, 23);
  const p = pairedBootstrap(gold, base, cand, { samples: 400, seed: 5 });
  const s = seedsBootstrap(gold, [base], [cand], { samples: 400, seed: 5 });
  assert.deepEqual(s.models, { baseline: 1, candidate: 1 });
  for (const [a, b] of [[p.overall, s.overall], [p.named, s.named], [p.perLabel['PER.NAM'], s.perLabel['PER.NAM']]] as const) {
    assert.ok(a && b);
    assert.equal(b.delta, a.delta);
    assert.deepEqual(b.ci, a.ci);
    assert.equal(b.pValue, a.pValue);
    assert.deepEqual(b.baseline.perModel, [a.baseline]);
    assert.equal(b.candidate.f1, a.candidate.f1);
    assert.equal(b.baseline.f1Sd, 0);
  }
  assert.equal(s.verdict, p.verdict);
});

test('seeds: each side is the mean (and sd) of its models\' scoreSpans, and the difference that of the means', () => {
  const gold = goldSpans(120, 31);
  const base = [0.2, 0.35, 0.5].map((p, k) => dropSome(gold, p, 40 + k));
  const cand = [0.1, 0.3].map((p, k) => dropSome(gold, p, 50 + k));
  const s = seedsBootstrap(gold, base, cand, { samples: 200 });
  assert.deepEqual(s.models, { baseline: 3, candidate: 2 });
  const scores = (side: Span[][][]) => side.map((m) => scoreSpans(gold, m));
  for (const [row, pick] of [
    [s.overall, (x: ReturnType<typeof scoreSpans>) => x.overall],
    [s.nominal, (x: ReturnType<typeof scoreSpans>) => x.nominal],
    [s.perLabel['LOC.NAM'], (x: ReturnType<typeof scoreSpans>) => x.perLabel['LOC.NAM']],
  ] as const) {
    assert.ok(row);
    const b = scores(base).map((x) => pick(x));
    const c = scores(cand).map((x) => pick(x));
    assert.deepEqual(row.baseline.perModel, b);
    assert.deepEqual(row.candidate.perModel, c);
    const mean = (xs: (typeof b)[number][], f: 'f1' | 'precision' | 'recall'): number => xs.reduce((a, x) => a + (x?.[f] ?? 0), 0) / xs.length;
    for (const f of ['f1', 'precision', 'recall'] as const) {
      close(row.baseline[f], mean(b, f), `baseline ${f}`);
      close(row.candidate[f], mean(c, f), `candidate ${f}`);
    }
    close(row.baseline.f1Sd, meanSd(b.map((x) => x?.f1 ?? 0)).sd, 'baseline sd');
    close(row.delta, mean(c, 'f1') - mean(b, 'f1'), 'delta');
  }
});

test('seeds: the interval holds the seeds\' spread, which sentences alone do not show', () => {
  // Many sentences (the dev sample decides little) and seeds far apart: one good and one poor model a side.
  const gold = goldSpans(1500, 61);
  const base = [dropSome(gold, 0.1, 62), dropSome(gold, 0.7, 63)];
  const cand = [dropSome(gold, 0.1, 64), dropSome(gold, 0.7, 65)];
  const s = seedsBootstrap(gold, base, cand, { samples: 500 });
  assert.ok(Math.abs(s.overall.delta) < 2, `same configurations: delta ${s.overall.delta}`);
  assert.ok(s.overall.ci[1] - s.overall.ci[0] > 20, `the interval ${s.overall.ci} holds the seeds' spread (F1 about 95 and 46)`);
  // the same models compared one a side by sentences alone: a narrow interval
  const p = pairedBootstrap(gold, base[0], cand[0], { samples: 500 });
  assert.ok(p.overall.ci[1] - p.overall.ci[0] < 3, `paired interval ${p.overall.ci}`);
  assert.equal(s.verdict, 'no significant difference');
});

test('seeds: a configuration better in every seed is better; the other way round, worse; a seed repeats it', () => {
  const gold = goldSpans(200, 71);
  const base = [0.45, 0.5, 0.55].map((p, k) => dropSome(gold, p, 72 + k));
  const cand = [0.15, 0.2, 0.25].map((p, k) => dropSome(gold, p, 82 + k));
  const s = seedsBootstrap(gold, base, cand, { samples: 500, seed: 3 });
  assert.ok(s.overall.ci[0] > 0, `interval ${s.overall.ci}`);
  assert.ok(s.overall.pValue < 0.01, `p ${s.overall.pValue}`);
  assert.equal(s.verdict, 'better');
  assert.equal(seedsBootstrap(gold, cand, base, { samples: 500, seed: 3 }).verdict, 'worse');
  assert.deepEqual(seedsBootstrap(gold, base, cand, { samples: 500, seed: 3 }), s);
});

test('seeds: an empty side or a model not covering the sentences is an error naming it', () => {
  const gold = goldSpans(4, 1);
  assert.throws(() => seedsBootstrap(gold, [], [gold]), /each side needs at least one model, got 0 baseline and 1 candidate/);
  assert.throws(() => seedsBootstrap(gold, [gold], [gold, gold.slice(1)]), /gold has 4 sentences, candidate model 2 3/);
  assert.throws(() => seedsBootstrap([], [[]], [[]]), /no sentences/);
});
