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
 *   node dist/bench/calibrationSplits.js --model DIR --data DEV.conll [--splits 20] [--seed 16] [--max-pr-gap G]
 */
import { useBackend } from '../models/backend.js';
import { readConll } from '../models/data/conll.js';
import { scoreSpans } from '../models/eval/spanScorer.js';
import { Rng } from '../models/rng.js';
import { TaggerModel } from '../models/taggerModel.js';
import { detectScheme, tagsToSpans } from '../models/text/labels.js';
import type { Span } from '../models/text/spans.js';
import { calibrationOptions, chooseRow, type BiasRow } from '../pipeline/train/calibrate.js';
import { benchArgs } from './args.js';

const values = benchArgs(import.meta.url, {
  model: { type: 'string', default: 'models/default' },
  data: { type: 'string', default: '../shared/corpora/weiboNER/weiboNER_2nd_conll.dev' },
  splits: { type: 'string', default: '20' },
  seed: { type: 'string', default: '16' },
  'max-pr-gap': { type: 'string' },
});
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
const cache = new Map<string, Span[]>();
const decode = (i: number, b: number): Span[] => {
  const key = `${i}@${b}`;
  let spans = cache.get(key);
  if (!spans) cache.set(key, (spans = model.decodeNer(emissions[i], b, crf)));
  return spans;
};
const scores = (idx: number[], b: number) => scoreSpans(idx.map((i) => gold[i]), idx.map((i) => decode(i, b)));
const f1 = (idx: number[], b: number): number => scores(idx, b).overall.f1;
let outsideGap = 0;
const choose = (idx: number[]): number => {
  const rows: BiasRow[] = grid.map((bias) => ({ bias, scores: scores(idx, bias) }));
  const { row, withinGap } = chooseRow(rows, maxPrGap);
  if (!withinGap) outsideGap++;
  return row.bias;
};
const rng = new Rng(Number(values.seed));
const splits = Number(values.splits);
const gains: number[] = [];
const pooled: number[] = [];
const pooledP: number[] = [];
const pooledR: number[] = [];
const biases: number[] = [];
for (let r = 0; r < splits; r++) {
  const idx = dev.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  const a = idx.slice(0, Math.floor(idx.length / 2));
  const b = idx.slice(Math.floor(idx.length / 2));
  const [ba, bb] = [choose(a), choose(b)];
  biases.push(ba, bb);
  gains.push(f1(b, ba) - f1(b, 0), f1(a, bb) - f1(a, 0));
  const both = scoreSpans([...a, ...b].map((i) => gold[i]), [...a.map((i) => decode(i, bb)), ...b.map((i) => decode(i, ba))]).overall;
  pooled.push(both.f1 - f1([...a, ...b], 0));
  pooledP.push(both.precision);
  pooledR.push(both.recall);
}
model.dispose();
const stat = (x: number[]): string => {
  const m = x.reduce((s, v) => s + v, 0) / x.length;
  const sd = Math.sqrt(x.reduce((s, v) => s + (v - m) ** 2, 0) / Math.max(1, x.length - 1));
  const sorted = [...x].sort((p, q) => p - q);
  return `mean ${m.toFixed(2)} sd ${sd.toFixed(2)} min ${sorted[0].toFixed(2)} median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} max ${sorted[sorted.length - 1].toFixed(2)}`;
};
process.stdout.write(
  [
    `${splits} random 2-fold splits of ${dev.length} sentences of ${values.data}, model ${values.model} decoded from bias 0` +
      (maxPrGap === undefined ? '' : `; biases chosen with --max-pr-gap ${maxPrGap} (halves where none met it: ${outsideGap} of ${biases.length})`),
    `held-out half, overall F1 gain (${gains.length} halves): ${stat(gains)}; halves with gain <= 0: ${gains.filter((g) => g <= 0).length}`,
    `both halves pooled, gain per split: ${stat(pooled)}`,
    `both halves pooled, with the chosen biases: precision ${stat(pooledP)}; recall ${stat(pooledR)}; P - R ${stat(pooledP.map((p, i) => p - pooledR[i]))}; splits with |P - R| <= 5: ${pooledP.filter((p, i) => Math.abs(p - pooledR[i]) <= 5).length} of ${splits}`,
    `chosen biases: ${stat(biases)}`,
  ].join('\n') + '\n',
);
