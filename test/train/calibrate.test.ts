/**
 * The calibration sweep (pipeline/train/calibrate.ts) on a fake model whose
 * spans depend on the bias in a known way: the chosen bias, the tie rule,
 * and the 2-fold held-out figures (a bias chosen on one half scored on the
 * other) are what the construction implies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NerSentence } from '../../models/data/conll.js';
import type { Span } from '../../models/text/spans.js';
import type { TaggerModel } from '../../models/taggerModel.js';
import { bestRow, calibrateBias } from '../../pipeline/train/calibrate.js';

// Eight one-mention sentences "甲乙丙": gold PER.NAM at 0-2. Even sentences' mention is found
// from bias 1 on, odd ones' from bias 2 on; from bias 3 on every sentence also gets a wrong
// extra mention at 2-3.
const sentences: NerSentence[] = Array.from({ length: 8 }, () => ({ chars: ['甲', '乙', '丙'], tags: ['B-PER.NAM', 'I-PER.NAM', 'O'] }));
const fake = {
  meta: { nonOBias: 0 },
  crfScores: () => undefined,
  async nerEmissions(texts: readonly (readonly string[])[]) {
    return texts.map((_, i) => Float32Array.of(i));
  },
  decodeNer(e: Float32Array, bias: number): Span[] {
    const i = e[0];
    const spans: Span[] = [];
    if (bias >= (i % 2 === 0 ? 1 : 2)) spans.push({ start: 0, end: 2, label: 'PER.NAM' });
    if (bias >= 3) spans.push({ start: 2, end: 3, label: 'PER.NAM' });
    return spans;
  },
} as unknown as TaggerModel;

test('the sweep picks the best overall F1 on all sentences; each half tunes its own bias and is scored on the other', async () => {
  const c = await calibrateBias(fake, sentences, { min: -1, max: 4, step: 0.5, refineStep: 0.1 });
  // All: F1 0 below 1, 66.67 at [1, 2) (4 of 8 found, no false positive), 100 at [2, 3), 66.67 from 3 (8 right, 8 wrong).
  assert.equal(c.chosen.bias, 2);
  assert.equal(c.chosen.scores.overall.f1, 100);
  assert.equal(c.atZero.scores.overall.f1, 0);
  const at = (b: number) => c.rows.find((r) => r.bias === b)!.scores.overall;
  assert.ok(Math.abs(at(1.5).f1 - 200 / 3) < 1e-9);
  assert.ok(Math.abs(at(3.5).f1 - 200 / 3) < 1e-9);
  // Refined within one coarse step of the coarse best: 1.5..2.5 by 0.1.
  assert.ok(c.rows.some((r) => Math.abs(r.bias - 1.9) < 1e-9));
  const [even, odd] = c.folds;
  // The even half is perfect from 1 (nearest 0 wins the tie); scored on the odd half, bias 1 finds nothing.
  assert.equal(even.tunedOn, 'even');
  assert.equal(even.bias, 1);
  assert.equal(even.heldOutAtChosen.overall.f1, 0);
  // The odd half needs 2; on the even half 2 is perfect too.
  assert.equal(odd.bias, 2);
  assert.equal(odd.heldOutAtChosen.overall.f1, 100);
  // Pooled: even sentences at 2 (all found), odd at 1 (none found): 4 of 8, precision 100.
  assert.equal(c.crossFitted.atChosen.overall.tp, 4);
  assert.equal(c.crossFitted.atChosen.overall.fp, 0);
  assert.equal(c.crossFitted.atChosen.overall.fn, 4);
  assert.equal(c.crossFitted.atZero.overall.f1, 0);
});

test('ties go to the bias nearest 0, then to the lower one', () => {
  const row = (bias: number, f1: number) => ({ bias, scores: { perLabel: {}, overall: { tp: 0, fp: 0, fn: 0, precision: 0, recall: 0, f1 } } });
  assert.equal(bestRow([row(-1, 50), row(0.5, 50), row(2, 49)]).bias, 0.5);
  assert.equal(bestRow([row(0.5, 50), row(-0.5, 50)]).bias, -0.5);
  assert.equal(bestRow([row(0, 40), row(3, 41)]).bias, 3);
});
