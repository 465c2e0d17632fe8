/**
 * How much of `mentionflow calibrate`'s gain survives on data the bias was
 * not chosen on, beyond its single even/odd split: repeated random 2-fold
 * splits of a labelled dev set. In each split the decoding bias is chosen on
 * one half (grid -1..2 step 0.05, calibrate's rule: best overall F1, ties
 * nearest 0; with --max-pr-gap G, among the biases whose overall |P - R| is at
 * most G points on that half, else the smallest gap) and scored on the other,
 * and the reverse; the emissions are computed once and only Viterbi is
 * repeated. The model is decoded from an absolute bias 0, whatever bias it
 * carries.
 *
 * With --threshold each half also chooses a (bias, span-confidence
 * threshold) pair (calibrate --threshold's thresholds and rule) on the same
 * decodings, and the held-out gain of the pair over the bias alone is
 * reported split by split (paired: same halves, same decodings).
 *
 *   node dist/bench/calibrationSplits.js --model DIR --data DEV.conll [--splits 20] [--seed 16] [--max-pr-gap G] [--threshold]
 */
import { useBackend } from '../models/backend.js';
import { readConll } from '../models/data/conll.js';
import { scoreSpans } from '../models/eval/spanScorer.js';
import { Rng } from '../models/rng.js';
import { TaggerModel } from '../models/taggerModel.js';
import { detectScheme, tagsToSpans } from '../models/text/labels.js';
import type { Span } from '../models/text/spans.js';
import { cachedDecode, calibrationOptions, chooseRow, DEFAULT_THRESHOLDS, scoreRows, type Decode } from '../pipeline/train/calibrate.js';
import { benchArgs } from './args.js';

const values = benchArgs(import.meta.url, {
  model: { type: 'string', default: 'models/default' },
  data: { type: 'string', default: '../shared/corpora/weiboNER/weiboNER_2nd_conll.dev' },
  splits: { type: 'string', default: '20' },
  seed: { type: 'string', default: '16' },
  'max-pr-gap': { type: 'string' },
  threshold: { type: 'boolean' },
});
const withThreshold = values.threshold === true;
const gapArg = values['max-pr-gap'];
let maxPrGap: number | undefined;
try {
  maxPrGap = calibrationOptions({ maxPrGap: gapArg === undefined ? undefined : Number(gapArg === '' ? NaN : gapArg) }).maxPrGap;
} catch (err) {
  process.stderr.write(`--max-pr-gap: ${(err as Error).message}\n`);
  process.exit(2);
}

await useBackend('auto');
const { model } = await TaggerModel.load(String(values.model));
const dev = (await readConll(String(values.data))).filter((s) => s.chars.length > 0);
const scheme = detectScheme(dev.map((s) => s.tags));
const gold = dev.map((s) => tagsToSpans(s.tags, scheme));
const emissions = await model.nerEmissions(dev.map((s) => s.chars));
const crf = model.crfScores('ner');
const grid = Array.from({ length: 61 }, (_, i) => Math.round((i - 20) * 5) / 100);
const decode: Decode = cachedDecode((i, b) => (withThreshold ? model.decodeNer(emissions[i], b, crf, true) : model.decodeNer(emissions[i], b, crf)));
/** A decoding choice: a bias and a threshold (0 for the bias alone). */
type Pick = [bias: number, threshold: number];
const spansOf = (i: number, [b, t]: Pick): readonly Span[] => decode(i, b, t);
const f1 = (idx: number[], pick: Pick): number => scoreSpans(idx.map((i) => gold[i]), idx.map((i) => spansOf(i, pick))).overall.f1;
const outsideGap = { bias: 0, pair: 0 };
const choose = (idx: number[], thresholds: readonly number[]): Pick => {
  const { row, withinGap } = chooseRow(scoreRows(idx, gold, decode, grid, thresholds), maxPrGap);
  if (!withinGap) outsideGap[thresholds.length > 1 ? 'pair' : 'bias']++;
  return [row.bias, row.threshold ?? 0];
};
const ZERO: Pick = [0, 0];
const rng = new Rng(Number(values.seed));
const splits = Number(values.splits);
/** Held-out figures of one way of choosing, split by split. */
class Tally {
  readonly gains: number[] = [];
  readonly pooled: number[] = [];
  readonly pooledF1: number[] = [];
  readonly pooledP: number[] = [];
  readonly pooledR: number[] = [];
  readonly picks: Pick[] = [];
  add(a: number[], b: number[], pa: Pick, pb: Pick): void {
    this.picks.push(pa, pb);
    this.gains.push(f1(b, pa) - f1(b, ZERO), f1(a, pb) - f1(a, ZERO));
    const both = scoreSpans([...a, ...b].map((i) => gold[i]), [...a.map((i) => spansOf(i, pb)), ...b.map((i) => spansOf(i, pa))]).overall;
    this.pooled.push(both.f1 - f1([...a, ...b], ZERO));
    this.pooledF1.push(both.f1);
    this.pooledP.push(both.precision);
    this.pooledR.push(both.recall);
  }
}
const biasAlone = new Tally();
const pairs = new Tally();
for (let r = 0; r < splits; r++) {
  const idx = dev.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  const a = idx.slice(0, Math.floor(idx.length / 2));
  const b = idx.slice(Math.floor(idx.length / 2));
  biasAlone.add(a, b, choose(a, [0]), choose(b, [0]));
  if (withThreshold) pairs.add(a, b, choose(a, DEFAULT_THRESHOLDS), choose(b, DEFAULT_THRESHOLDS));
}
model.dispose();
const stat = (x: number[]): string => {
  const m = x.reduce((s, v) => s + v, 0) / x.length;
  const sd = Math.sqrt(x.reduce((s, v) => s + (v - m) ** 2, 0) / Math.max(1, x.length - 1));
  const sorted = [...x].sort((p, q) => p - q);
  return `mean ${m.toFixed(2)} sd ${sd.toFixed(2)} min ${sorted[0].toFixed(2)} median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} max ${sorted[sorted.length - 1].toFixed(2)}`;
};
const report = (t: Tally, what: string): string[] => [
  `held-out half, overall F1 gain (${t.gains.length} halves): ${stat(t.gains)}; halves with gain <= 0: ${t.gains.filter((g) => g <= 0).length}`,
  `both halves pooled, gain per split: ${stat(t.pooled)}`,
  `both halves pooled, with the chosen ${what}: precision ${stat(t.pooledP)}; recall ${stat(t.pooledR)}; P - R ${stat(t.pooledP.map((p, i) => p - t.pooledR[i]))}; splits with |P - R| <= 5: ${t.pooledP.filter((p, i) => Math.abs(p - t.pooledR[i]) <= 5).length} of ${splits}`,
];
const lines = [
  `${splits} random 2-fold splits of ${dev.length} sentences of ${values.data}, model ${values.model} decoded from bias 0` +
    (maxPrGap === undefined ? '' : `; biases chosen with --max-pr-gap ${maxPrGap} (halves where none met it: ${outsideGap.bias} of ${biasAlone.picks.length})`),
  ...report(biasAlone, 'biases'),
  `chosen biases: ${stat(biasAlone.picks.map((p) => p[0]))}`,
];
if (withThreshold) {
  const diff = (x: number[], y: number[]): number[] => x.map((v, i) => v - y[i]);
  const halves = diff(pairs.gains, biasAlone.gains);
  const pooledDiff = diff(pairs.pooledF1, biasAlone.pooledF1);
  lines.push(
    '',
    `bias + span-confidence threshold (thresholds ${DEFAULT_THRESHOLDS.join(', ')}), chosen on the same halves` +
      (maxPrGap === undefined ? '' : ` with --max-pr-gap ${maxPrGap} (halves where no pair met it: ${outsideGap.pair} of ${pairs.picks.length})`) + ':',
    ...report(pairs, 'pairs'),
    `chosen biases: ${stat(pairs.picks.map((p) => p[0]))}; chosen thresholds: ${stat(pairs.picks.map((p) => p[1]))} (0 in ${pairs.picks.filter((p) => p[1] === 0).length} of ${pairs.picks.length} halves)`,
    `pooled held-out F1, bias alone: ${stat(biasAlone.pooledF1)}; bias + threshold: ${stat(pairs.pooledF1)}`,
    `threshold's held-out gain over the bias alone (paired), per half: ${stat(halves)}; halves where it loses: ${halves.filter((g) => g < 0).length}, ties: ${halves.filter((g) => g === 0).length}`,
    `threshold's held-out gain over the bias alone (paired), per split, halves pooled: ${stat(pooledDiff)}; splits where it loses: ${pooledDiff.filter((g) => g < 0).length}, ties: ${pooledDiff.filter((g) => g === 0).length}`,
  );
}
process.stdout.write(lines.join('\n') + '\n');
