/**
 * The price of SoftLexicon features in tagging speed and load time. The
 * candidate is a model artifact with SoftLexicon features; the baseline is
 * by default the same network with the SoftLexicon templates dropped (same
 * weights, so only the dictionary matching and the extra hashed templates
 * differ; its tags are not meaningful), or another artifact (`--baseline
 * DIR`, e.g. a row 11-cp model without a lexicon). Both tag the same
 * sentences through TaggerModel.predict (network, Viterbi, span
 * confidences), runs interleaved, in one process on one backend;
 * characters per second, medians of --runs, and their ratio. Then the load
 * time of each artifact (TaggerModel.load: read, verify, build, assign),
 * medians of --load-runs.
 *
 *   node dist/bench/softLexiconTagger.js --model DIR [--baseline DIR|drop] [--data CONLL] [--runs 5] [--load-runs 3] [--batch 32]
 */
import { performance } from 'node:perf_hooks';
import { useBackend } from '../models/backend.js';
import { readConll } from '../models/data/conll.js';
import { TaggerModel } from '../models/taggerModel.js';
import { benchArgs } from './args.js';

const values = benchArgs(import.meta.url, {
  model: { type: 'string' },
  baseline: { type: 'string', default: 'drop' },
  data: { type: 'string', default: '../shared/corpora/weiboNER/weiboNER_2nd_conll.dev' },
  runs: { type: 'string', default: '5' },
  'load-runs': { type: 'string', default: '3' },
  batch: { type: 'string', default: '32' },
});
if (typeof values.model !== 'string') {
  process.stderr.write('--model DIR is required (an artifact trained with softLexiconFile)\n');
  process.exit(2);
}

const backend = await useBackend('auto');
const texts = (await readConll(String(values.data))).map((s) => s.chars).filter((c) => c.length > 0);
const chars = texts.reduce((n, t) => n + t.length, 0);
const modelDir = values.model;
const { model, manifest } = await TaggerModel.load(modelDir);
const sl = manifest.tagFeatures?.softLexicon;
if (!sl) {
  process.stderr.write(`${modelDir} has no SoftLexicon features\n`);
  process.exit(2);
}
const dropped = (): TaggerModel => {
  const spec = { ...model.meta.tagFeatures, softLexicon: undefined };
  const keep = spec.segmentation || spec.dictionary;
  return new TaggerModel(model.network, model.vocab, model.nerTags, model.segTags, { ...model.meta, tagFeatures: keep ? spec : undefined });
};
const base = values.baseline === 'drop' ? dropped() : (await TaggerModel.load(String(values.baseline))).model;
const batch = Number(values.batch);
const runOnce = async (m: TaggerModel): Promise<number> => {
  const t0 = performance.now();
  await m.predict(texts, batch);
  return (chars / (performance.now() - t0)) * 1000;
};
await runOnce(model);
await runOnce(base); // warm-up
const a: number[] = [];
const b: number[] = [];
for (let r = 0; r < Number(values.runs); r++) {
  if (r % 2 === 0) {
    a.push(await runOnce(model));
    b.push(await runOnce(base));
  } else {
    b.push(await runOnce(base));
    a.push(await runOnce(model));
  }
}
const median = (x: number[]): number => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
const loadMs = async (dir: string): Promise<number[]> => {
  const out: number[] = [];
  for (let r = 0; r < Number(values['load-runs']); r++) {
    const t0 = performance.now();
    const { model: m } = await TaggerModel.load(dir);
    out.push(performance.now() - t0);
    m.dispose();
  }
  return out;
};
const la = await loadMs(modelDir);
const lb = values.baseline === 'drop' ? undefined : await loadMs(String(values.baseline));
const baseName = values.baseline === 'drop' ? `${modelDir} without its SoftLexicon templates` : values.baseline;
process.stdout.write(
  [
    `backend ${backend}, ${texts.length} sentences, ${chars} characters, batch ${batch}, ${values.runs} runs interleaved`,
    `SoftLexicon of ${modelDir}: ${sl.source}, ${sl.entries.length === 0 ? 0 : sl.entries.split('\n').length} words, ${(Buffer.byteLength(sl.entries) / 1e6).toFixed(2)} MB of the manifest`,
    `candidate ${modelDir}: median ${median(a).toFixed(0)} chars/s (runs: ${a.map((v) => v.toFixed(0)).join(', ')})`,
    `baseline ${baseName}: median ${median(b).toFixed(0)} chars/s (runs: ${b.map((v) => v.toFixed(0)).join(', ')})`,
    `ratio candidate / baseline (medians): ${(median(a) / median(b)).toFixed(3)}`,
    `load ${modelDir}: median ${median(la).toFixed(0)} ms (runs: ${la.map((v) => v.toFixed(0)).join(', ')})` +
      (lb ? `; ${values.baseline}: median ${median(lb).toFixed(0)} ms (runs: ${lb.map((v) => v.toFixed(0)).join(', ')})` : ''),
  ].join('\n') + '\n',
);
model.dispose();
if (values.baseline !== 'drop') base.dispose();
