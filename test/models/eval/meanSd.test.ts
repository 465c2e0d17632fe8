/**
 * Tests for models/eval/meanSd.ts: the mean and sample sd of numbers, and
 * several models' NER scores row by row (meanScores) against scoreSpans of
 * each model; a label only one model predicts counts 0 for the others;
 * scores of different data are refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MentionflowError } from '../../../common/errors.js';
import { meanScores, meanSd } from '../../../models/eval/meanSd.js';
import { scoreSpans } from '../../../models/eval/spanScorer.js';
import { Rng } from '../../../models/rng.js';
import type { Span } from '../../../models/text/spans.js';

const LABELS = ['PER.NAM', 'PER.NOM', 'GPE.NAM'];

function goldSpans(n: number, seed: number): Span[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: 1 + rng.int(3) }, (_, k) => ({ start: k * 5, end: k * 5 + 1 + rng.int(3), label: LABELS[rng.int(LABELS.length)] })));
}

function dropSome(spans: Span[][], p: number, seed: number): Span[][] {
  const rng = new Rng(seed);
  return spans.map((s) => s.filter(() => rng.next() >= p));
}

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} != ${b}`);

test('meanSd: mean and sample sd; one value has sd 0; none is NaN', () => {
  assert.deepEqual(meanSd([1, 2, 3]), { mean: 2, sd: 1, n: 3 });
  assert.deepEqual(meanSd([5]), { mean: 5, sd: 0, n: 1 });
  assert.ok(Number.isNaN(meanSd([]).mean));
});

test('meanScores: each row is the mean ± sd of the models\' scoreSpans; gold counts carried; a label one model alone predicts counts 0 for the others', () => {
  const gold = goldSpans(80, 1);
  const preds = [0.2, 0.4, 0.6].map((p, k) => dropSome(gold, p, 10 + k));
  preds[1][0] = [...preds[1][0], { start: 40, end: 42, label: 'ORG.NAM' }]; // a label only model 2 predicts (no gold)
  const scores = preds.map((p) => scoreSpans(gold, p));
  const m = meanScores(scores);
  assert.equal(m.models, 3);
  assert.deepEqual(Object.keys(m.perLabel), ['GPE.NAM', 'ORG.NAM', 'PER.NAM', 'PER.NOM']);
  for (const f of ['precision', 'recall', 'f1'] as const) {
    const want = meanSd(scores.map((s) => s.overall[f]));
    close(m.overall[f].mean, want.mean, `overall ${f} mean`);
    close(m.overall[f].sd, want.sd, `overall ${f} sd`);
    close(m.named?.[f].mean ?? NaN, meanSd(scores.map((s) => s.named?.[f] ?? NaN)).mean, `named ${f}`);
  }
  assert.equal(m.overall.gold, scores[0].overall.tp + scores[0].overall.fn);
  assert.equal(m.perLabel['ORG.NAM'].gold, 0);
  assert.deepEqual(m.perLabel['ORG.NAM'].precision, { mean: 0, sd: 0, n: 3 });
});

test('meanScores: no models, or scores of different data, are errors', () => {
  assert.throws(() => meanScores([]), MentionflowError);
  const a = scoreSpans(goldSpans(20, 2), goldSpans(20, 2));
  const b = scoreSpans(goldSpans(30, 3), goldSpans(30, 3));
  assert.throws(() => meanScores([a, b]), /model 2 has \d+ gold .* mentions, model 1 \d+: not scored on the same data/);
});
