/** Tests for models/eval/spanScorer.ts: hand-computed exact-span P/R/F1 and conlleval output lines. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MentionflowError } from '../../../common/errors.js';
import { formatConllevalLines, scoreSpans, scoreTags } from '../../../models/eval/spanScorer.js';
import type { Span } from '../../../models/text/spans.js';

const s = (start: number, end: number, label: string): Span => ({ start, end, label });
const close = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);

test('known case: per label, named, nominal, overall', () => {
  const gold = [[s(0, 2, 'PER.NAM'), s(3, 4, 'LOC.NOM')], [s(0, 1, 'PER.NOM')]];
  const pred = [[s(0, 2, 'PER.NAM'), s(3, 5, 'LOC.NOM'), s(6, 7, 'ORG.NAM')], [s(0, 1, 'PER.NOM')]];
  const r = scoreSpans(gold, pred);
  assert.deepEqual(Object.keys(r.perLabel), ['LOC.NOM', 'ORG.NAM', 'PER.NAM', 'PER.NOM']);
  assert.deepEqual(r.perLabel['PER.NAM'], { tp: 1, fp: 0, fn: 0, precision: 100, recall: 100, f1: 100 });
  assert.deepEqual(r.perLabel['LOC.NOM'], { tp: 0, fp: 1, fn: 1, precision: 0, recall: 0, f1: 0 });
  assert.deepEqual(r.perLabel['ORG.NAM'], { tp: 0, fp: 1, fn: 0, precision: 0, recall: 0, f1: 0 });
  // named: tp 1 (PER.NAM), fp 1 (ORG.NAM), fn 0 -> P 50, R 100, F1 66.67
  assert.ok(r.named);
  assert.equal(r.named.tp, 1);
  close(r.named.precision, 50);
  close(r.named.recall, 100);
  close(r.named.f1, 200 / 3);
  // nominal: tp 1 (PER.NOM), fp 1, fn 1 -> 50 / 50 / 50
  assert.deepEqual(r.nominal, { tp: 1, fp: 1, fn: 1, precision: 50, recall: 50, f1: 50 });
  // overall: tp 2, fp 2, fn 1 -> P 50, R 66.67, F1 57.14
  close(r.overall.precision, 50);
  close(r.overall.recall, 200 / 3);
  close(r.overall.f1, 400 / 7);
});

test('any label set: labels without NAM/NOM give per-label and overall scores, no named/nominal', () => {
  const gold = [[s(0, 2, 'PRODUCT'), s(3, 5, 'BRAND')], [s(0, 2, 'PER')]];
  const pred = [[s(0, 2, 'PRODUCT'), s(3, 5, 'PRODUCT')], [s(0, 2, 'PER')]];
  const r = scoreSpans(gold, pred);
  assert.deepEqual(Object.keys(r.perLabel), ['BRAND', 'PER', 'PRODUCT']);
  assert.deepEqual(r.perLabel.PRODUCT, { tp: 1, fp: 1, fn: 0, precision: 50, recall: 100, f1: 200 / 3 });
  assert.deepEqual(r.perLabel.BRAND, { tp: 0, fp: 0, fn: 1, precision: 0, recall: 0, f1: 0 });
  assert.equal(r.named, undefined);
  assert.equal(r.nominal, undefined);
  assert.deepEqual({ tp: r.overall.tp, fp: r.overall.fp, fn: r.overall.fn }, { tp: 2, fp: 1, fn: 1 });
  // One NAM/NOM label among others brings the named/nominal rows back.
  const mixed = scoreSpans([[s(0, 2, 'PER.NAM'), s(3, 5, 'PRODUCT')]], [[s(0, 2, 'PER.NAM')]]);
  assert.deepEqual(mixed.named, { tp: 1, fp: 0, fn: 0, precision: 100, recall: 100, f1: 100 });
  assert.deepEqual(mixed.nominal, { tp: 0, fp: 0, fn: 0, precision: 0, recall: 0, f1: 0 });
});

test('scoreTags reads BIOES sequences as BIOES (S- is a one-character mention)', () => {
  const r = scoreTags([['S-PER', 'B-BRAND', 'E-BRAND', 'O']], [['S-PER', 'B-BRAND', 'I-BRAND', 'E-BRAND']]);
  assert.deepEqual({ tp: r.overall.tp, fp: r.overall.fp, fn: r.overall.fn }, { tp: 1, fp: 1, fn: 1 });
  assert.equal(r.named, undefined);
});

test('a label mismatch on the same span is both a false positive and a false negative', () => {
  const r = scoreSpans([[s(0, 2, 'PER.NAM')]], [[s(0, 2, 'PER.NOM')]]);
  assert.equal(r.overall.tp, 0);
  assert.equal(r.overall.fp, 1);
  assert.equal(r.overall.fn, 1);
});

test('no predictions and no gold give zeros, not NaN', () => {
  const r = scoreSpans([[], []], [[], []]);
  assert.deepEqual(r.overall, { tp: 0, fp: 0, fn: 0, precision: 0, recall: 0, f1: 0 });
  assert.deepEqual(r.perLabel, {});
});

test('scoreTags chunks with conlleval semantics (I after O starts a mention)', () => {
  const gold = [['B-PER.NAM', 'I-PER.NAM', 'O', 'B-GPE.NAM']];
  const pred = [['O', 'I-PER.NAM', 'O', 'I-GPE.NAM']];
  const r = scoreTags(gold, pred);
  assert.equal(r.overall.tp, 1); // GPE.NAM [3, 4)
  assert.equal(r.overall.fp, 1); // PER.NAM [1, 2)
  assert.equal(r.overall.fn, 1); // PER.NAM [0, 2)
  assert.throws(() => scoreTags([['O']], [['O', 'O']]), MentionflowError);
  assert.throws(() => scoreSpans([[]], []), MentionflowError);
});

test('formatConllevalLines: token gold pred, blank line after each sentence, whitespace chars replaced', () => {
  const lines = formatConllevalLines(
    [['张', ' ', '三'], ['\u3000']],
    [['B-PER.NAM', 'O', 'O'], ['O']],
    [['B-PER.NAM', 'O', 'B-PER.NAM'], ['O']],
  );
  assert.deepEqual(lines, ['张 B-PER.NAM B-PER.NAM', '_ O O', '三 O B-PER.NAM', '', '_ O O', '']);
  assert.throws(() => formatConllevalLines([['a']], [['O']], [['B X']]), MentionflowError);
});
