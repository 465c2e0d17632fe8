/**
 * The calibration sweep (pipeline/train/calibrate.ts) on a fake model whose
 * spans depend on the bias in a known way: the chosen bias, the tie rule,
 * and the 2-fold held-out figures (a bias chosen on one half scored on the
 * other) are what the construction implies; under maxPrGap the choice moves
 * to a balanced bias, or to the smallest gap when none qualifies, and says so.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NerSentence } from '../../models/data/conll.js';
import type { Span } from '../../models/text/spans.js';
import type { TaggerModel } from '../../models/taggerModel.js';
import { formatCalibration } from '../../cli/commands/calibrate.js';
import { ConfigError } from '../../common/errors.js';
import { prf } from '../../models/eval/prf.js';
import { bestRow, calibrateBias, chooseRow } from '../../pipeline/train/calibrate.js';

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
  const c = await calibrateBias(fake, sentences, { grid: { min: -1, max: 4, step: 0.5, refineStep: 0.1 } });
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

test('maxPrGap: the best F1 among rows within the gap; none within: the smallest gap, flagged', () => {
  // A conservative model's sweep: F1 peaks at 0.5 with recall 10 points below precision.
  const row = (bias: number, tp: number, fp: number, fn: number) => ({ bias, scores: { perLabel: {}, overall: prf(tp, fp, fn) } });
  const rows = [
    row(0, 50, 10, 50), //   P 83.33 R 50 F1 62.50, gap 33.3
    row(0.5, 60, 20, 40), // P 75    R 60 F1 66.67, gap 15
    row(1, 64, 36, 36), //   P 64    R 64 F1 64.00, gap 0
    row(1.5, 66, 50, 34), // P 56.90 R 66 F1 61.11, gap 9.1
  ];
  assert.deepEqual(chooseRow(rows, undefined), { row: rows[1], withinGap: true });
  assert.equal(bestRow(rows).bias, 0.5);
  assert.deepEqual(chooseRow(rows, 5), { row: rows[2], withinGap: true });
  // Within 10: 1 (F1 64) and 1.5 (61.11): the better F1.
  assert.deepEqual(chooseRow(rows, 10), { row: rows[2], withinGap: true });
  assert.deepEqual(chooseRow(rows, 15), { row: rows[1], withinGap: true });
  // Without the balanced row nothing is within 5: the smallest gap (1.5, 9.1) rather than the best F1.
  assert.deepEqual(chooseRow([rows[0], rows[1], rows[3]], 5), { row: rows[3], withinGap: false });
  // A bias that finds nothing right (P = R = 0) is not "within" any gap.
  const nothing = row(-2, 0, 0, 100);
  assert.deepEqual(chooseRow([nothing, rows[0], rows[1], rows[3]], 5), { row: rows[3], withinGap: false });
  const wrong = row(-1.5, 0, 3, 100);
  // ... unless no row finds anything: then the usual rule (F1 0 for both, the bias nearest 0).
  assert.deepEqual(chooseRow([nothing, wrong], 5), { row: wrong, withinGap: true });
});

// Every sentence "甲乙丙丁戊己庚辛" holds four gold mentions; the fake always finds the first,
// the second and third from bias 1 on, and from bias 2 on also a wrong one:
// bias < 1: P 100 R 25 (F1 40, gap 75); [1, 2): P 100 R 75 (F1 85.71, gap 25); >= 2: P 75 R 75 (F1 75, gap 0).
const four: NerSentence[] = Array.from({ length: 8 }, () => ({
  chars: [...'甲乙丙丁戊己庚辛'],
  tags: ['B-PER.NAM', 'I-PER.NAM', 'B-LOC.NAM', 'I-LOC.NAM', 'B-ORG.NOM', 'I-ORG.NOM', 'B-GPE.NAM', 'I-GPE.NAM'],
}));
const balanced = {
  meta: { nonOBias: 0 },
  crfScores: () => undefined,
  async nerEmissions(texts: readonly (readonly string[])[]) {
    return texts.map(() => new Float32Array(1));
  },
  decodeNer(_e: Float32Array, bias: number): Span[] {
    const spans: Span[] = [{ start: 0, end: 2, label: 'PER.NAM' }];
    if (bias >= 1) spans.push({ start: 2, end: 4, label: 'LOC.NAM' }, { start: 4, end: 6, label: 'ORG.NOM' });
    if (bias >= 2) spans.push({ start: 6, end: 7, label: 'GPE.NAM' });
    return spans;
  },
} as unknown as TaggerModel;
const grid = { min: -1, max: 4, step: 0.5, refineStep: 0.1 };

test('calibrateBias under maxPrGap chooses the balanced bias on all sentences and in each half', async () => {
  const free = await calibrateBias(balanced, four, { grid });
  assert.equal(free.chosen.bias, 1);
  assert.equal(free.maxPrGap, undefined);
  assert.equal(free.chosenWithinGap, true);
  const c = await calibrateBias(balanced, four, { grid, maxPrGap: 5 });
  assert.equal(c.chosen.bias, 2);
  assert.equal(c.chosenWithinGap, true);
  assert.equal(c.chosen.scores.overall.precision, 75);
  assert.equal(c.chosen.scores.overall.recall, 75);
  assert.deepEqual(c.folds.map((fo) => [fo.bias, fo.withinGap]), [[2, true], [2, true]]);
  assert.equal(c.crossFitted.atChosen.overall.precision, 75);
  assert.equal(c.crossFitted.atChosen.overall.recall, 75);
  assert.match(formatCalibration(c), /best bias 2\.00 \(\|P - R\| <= 5\)/);
  assert.match(formatCalibration(c), /^ {2}2\.00 \|.*\| {2}0\.00 <- chosen$/m);
});

test('calibrateBias under maxPrGap with no bias within it takes the smallest gap and says so', async () => {
  const c = await calibrateBias(balanced, four, { grid: { min: -1, max: 1.5, step: 0.5, refineStep: 0.1 }, maxPrGap: 5 });
  // Gaps 75 below 1 and 25 from 1 on: the smallest gap's best F1, nearest 0.
  assert.equal(c.chosen.bias, 1);
  assert.equal(c.chosenWithinGap, false);
  assert.ok(c.folds.every((fo) => !fo.withinGap && fo.bias === 1));
  assert.match(formatCalibration(c), /best bias 1\.00 \(no bias has \|P - R\| <= 5: the smallest gap\)/);
});

test('a maxPrGap that is negative or not finite is a ConfigError', async () => {
  for (const maxPrGap of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    await assert.rejects(calibrateBias(balanced, four, { maxPrGap }), (err: Error) => err instanceof ConfigError && /^maxPrGap must be a finite number >= 0/.test(err.message));
  }
  await assert.rejects(calibrateBias(balanced, four, { grid: { ...grid, step: 0 } }), ConfigError);
});

// Span-confidence thresholds. Every sentence "甲乙丙丁戊" holds two gold mentions, A (0-2) and B (2-4).
// From bias 1 on the fake finds A (confidence 0.9); from bias 2 on also B (0.8) and a wrong W (4-5),
// whose confidence is 0.4 in even sentences and 0.6 in odd ones. So bias alone is best at 2
// (P 66.67 R 100 F1 80), and bias 2 with a threshold above W's confidence (and at most 0.8) is perfect.
const two: NerSentence[] = Array.from({ length: 8 }, () => ({ chars: [...'甲乙丙丁戊'], tags: ['B-PER.NAM', 'I-PER.NAM', 'B-LOC.NAM', 'I-LOC.NAM', 'O'] }));
const scored = {
  meta: { nonOBias: 0, minSpanConfidence: 0.7 },
  crfScores: () => undefined,
  async nerEmissions(texts: readonly (readonly string[])[]) {
    return texts.map((_, i) => Float32Array.of(i));
  },
  decodeNer(e: Float32Array, bias: number, _crf: unknown, withConfidence?: boolean): Span[] {
    const spans: (Span & { confidence: number })[] = [];
    if (bias >= 1) spans.push({ start: 0, end: 2, label: 'PER.NAM', confidence: 0.9 });
    if (bias >= 2) spans.push({ start: 2, end: 4, label: 'LOC.NAM', confidence: 0.8 }, { start: 4, end: 5, label: 'PER.NAM', confidence: e[0] % 2 === 0 ? 0.4 : 0.6 });
    return withConfidence ? spans : spans.map(({ start, end, label }) => ({ start, end, label }));
  },
} as unknown as TaggerModel;

test('selection over (bias, threshold) rows: the best F1; ties go to the bias nearest 0, then to the lower threshold; maxPrGap applies to pairs', () => {
  const row = (bias: number, threshold: number, tp: number, fp: number, fn: number) => ({ bias, threshold, scores: { perLabel: {}, overall: prf(tp, fp, fn) } });
  const table = [
    row(0, 0, 50, 10, 50), //    F1 62.50
    row(0.5, 0, 60, 30, 40), //  F1 63.16, gap 6.67
    row(0.5, 0.4, 58, 22, 42), // P 72.5 R 58 F1 64.44, gap 14.5
    row(1, 0, 66, 50, 34), //    F1 61.11
    row(1, 0.5, 64, 26, 36), //  P 71.11 R 64 F1 67.37, gap 7.11
    row(1.5, 0.7, 63, 23, 37), // P 73.26 R 63 F1 67.74, gap 10.26: the best F1, but further from 0 than
    row(1, 0.75, 63, 23, 37), // the same F1 at bias 1, with a higher threshold than
    row(1, 0.6, 63, 23, 37), //  the same F1 and bias: chosen
  ];
  assert.deepEqual(chooseRow(table, undefined), { row: table[7], withinGap: true });
  assert.deepEqual(chooseRow(table.slice(0, 7), undefined), { row: table[6], withinGap: true });
  assert.deepEqual(chooseRow(table, 7), { row: table[1], withinGap: true });
  assert.deepEqual(chooseRow(table, 8), { row: table[4], withinGap: true });
});

test('calibrateBias with thresholds chooses (bias, threshold) on all sentences and per half, one decoding per bias, and reports the bias alone beside it', async () => {
  let calls = 0;
  const counting = { ...scored, decodeNer: (...a: Parameters<TaggerModel['decodeNer']>) => (calls++, scored.decodeNer(...a)) } as unknown as TaggerModel;
  const thresholds = [0, 0.3, 0.45, 0.5, 0.65, 0.85, 0.95];
  const c = await calibrateBias(counting, two, { grid, thresholds });
  const biases = new Set(c.rows.map((r) => r.bias)).size;
  assert.equal(calls, two.length * biases, 'one decoding per sentence and bias, whatever the thresholds');
  assert.equal(c.rows.length, biases * thresholds.length);
  assert.deepEqual(c.thresholds, thresholds);
  assert.equal(c.loadedMinSpanConfidence, 0.7);
  // All: W (0.4 or 0.6) is dropped from 0.65 on, B (0.8) from 0.85 on.
  assert.deepEqual([c.chosen.bias, c.chosen.threshold, c.chosen.scores.overall.f1], [2, 0.65, 100]);
  const at = (b: number, t: number) => c.rows.find((r) => r.bias === b && r.threshold === t)!.scores.overall;
  assert.deepEqual([at(2, 0).tp, at(2, 0).fp, at(2, 0.5).fp, at(2, 0.85).tp, at(2, 0.95).tp], [16, 8, 4, 8, 0]);
  // The even half only needs 0.45; the odd half 0.65. Scored on the other half: the odd half keeps its
  // W (0.6) at 0.45, the even half drops its W (0.4) at 0.65.
  assert.deepEqual(c.folds.map((fo) => [fo.tunedOn, fo.bias, fo.threshold]), [['even', 2, 0.45], ['odd', 2, 0.65]]);
  assert.equal(c.folds[0].heldOutAtChosen.overall.fp, 4);
  assert.equal(c.folds[1].heldOutAtChosen.overall.f1, 100);
  const pooled = c.crossFitted.atChosen.overall;
  assert.deepEqual([pooled.tp, pooled.fp, pooled.fn], [16, 4, 0]);
  // The bias alone, on the same decodings: 2 everywhere, W always kept.
  const b = c.biasOnly!;
  assert.deepEqual([b.chosen.bias, b.chosen.threshold, b.folds.map((fo) => fo.bias)], [2, undefined, [2, 2]]);
  assert.equal(b.crossFitted.atChosen.overall.fp, 8);
  const text = formatCalibration(c);
  assert.match(text, /^ {2}2\.00 \| {3}0\.65 \|.*100\.00 <- best$/m);
  assert.match(text, /tuned on the even half -> bias 2\.00, threshold 0\.45; /);
  assert.match(text, /the threshold adds \+8\.89 overall F1 held out \(\+20\.00 tuned on all\)/);
  // Without thresholds: the bias-alone calibration, rows without a threshold field.
  const plain = await calibrateBias(scored, two, { grid });
  assert.deepEqual([plain.chosen.bias, plain.thresholds, plain.biasOnly], [2, undefined, undefined]);
  assert.ok(plain.rows.every((r) => !('threshold' in r)));
  assert.deepEqual(plain.crossFitted, b.crossFitted);
  assert.doesNotMatch(formatCalibration(plain), /thresh|threshold/);
});

test('calibrateBias with thresholds under maxPrGap: the pair within the gap where the bias alone has none', async () => {
  const c = await calibrateBias(scored, two, { grid, thresholds: [0, 0.45, 0.65], maxPrGap: 5 });
  assert.deepEqual([c.chosen.bias, c.chosen.threshold, c.chosenWithinGap], [2, 0.65, true]);
  // The bias alone: P 100 R 50 (gap 50) below 2, P 66.67 R 100 (gap 33.3) from 2: none within, the smallest gap.
  assert.deepEqual([c.biasOnly!.chosen.bias, c.biasOnly!.chosenWithinGap], [2, false]);
  assert.match(formatCalibration(c), /best bias 2\.00, threshold 0\.65 \(\|P - R\| <= 5\)/);
});

test('a threshold outside [0, 1) is a ConfigError', async () => {
  for (const t of [1, -0.1, Number.NaN]) {
    await assert.rejects(calibrateBias(scored, two, { thresholds: [0, t] }), (err: Error) => err instanceof ConfigError && /^calibration threshold must be a number with 0 <= t < 1/.test(err.message));
  }
});
