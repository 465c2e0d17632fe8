/**
 * The price of a decoding bias in tagging speed: two model artifacts (by
 * default the shipped model and the same model with its bias set to 0) tag
 * the same sentences through TaggerModel.predict (network, Viterbi, span
 * confidences), runs interleaved, in one process on one backend; characters
 * per second and CPU microseconds per character (user + system of this
 * process: a loaded machine slows the wall figure more than the CPU one),
 * medians of --runs, and their ratios. A bias adds one subtraction
 * per position, and more predicted spans mean more span confidences.
 *
 *   node dist/bench/calibratedTagger.js [--model DIR] [--baseline DIR|zero] [--data CONLL] [--runs 5] [--batch 32]
 */
import { performance } from 'node:perf_hooks';
import { useBackend } from '../models/backend.js';
import { readConll } from '../models/data/conll.js';
import { TaggerModel } from '../models/taggerModel.js';
import { benchArgs } from './args.js';

const values = benchArgs(import.meta.url, {
  model: { type: 'string', default: 'models/default' },
  baseline: { type: 'string', default: 'zero' },
  data: { type: 'string', default: '../shared/corpora/weiboNER/weiboNER_2nd_conll.dev' },
  runs: { type: 'string', default: '5' },
  batch: { type: 'string', default: '32' },
});

const backend = await useBackend('auto');
const texts = (await readConll(String(values.data))).map((s) => s.chars).filter((c) => c.length > 0);
const chars = texts.reduce((n, t) => n + t.length, 0);
const { model } = await TaggerModel.load(String(values.model));
const base = values.baseline === 'zero' ? undefined : (await TaggerModel.load(String(values.baseline))).model;
const batch = Number(values.batch);
interface RunFigures {
  cps: number;
  /** CPU microseconds (user + system) per character. */
  cpuUs: number;
  spans: number;
}
const runOnce = async (m: TaggerModel, bias?: number): Promise<RunFigures> => {
  const saved = m.meta.nonOBias;
  if (bias !== undefined) m.meta.nonOBias = bias;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const preds = await m.predict(texts, batch);
  const cpu = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  m.meta.nonOBias = saved;
  return { cps: (chars / ms) * 1000, cpuUs: (cpu.user + cpu.system) / chars, spans: preds.reduce((n, p) => n + p.spans.length, 0) };
};
const candidate = (): Promise<RunFigures> => runOnce(model);
const baseline = (): Promise<RunFigures> => (base ? runOnce(base) : runOnce(model, 0));
await candidate();
await baseline(); // warm-up
const a: number[] = [];
const b: number[] = [];
const cpuA: number[] = [];
const cpuB: number[] = [];
let spans = [0, 0];
for (let r = 0; r < Number(values.runs); r++) {
  const x = r % 2 === 0 ? [await candidate(), await baseline()] : [await baseline(), await candidate()].reverse();
  a.push(x[0].cps);
  b.push(x[1].cps);
  cpuA.push(x[0].cpuUs);
  cpuB.push(x[1].cpuUs);
  spans = [x[0].spans, x[1].spans];
}
const median = (x: number[]): number => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
process.stdout.write(
  [
    `backend ${backend}, ${texts.length} sentences, ${chars} characters, batch ${batch}, ${values.runs} runs interleaved`,
    `candidate ${values.model} (bias ${model.meta.nonOBias ?? 0}): median ${median(a).toFixed(0)} chars/s, ${median(cpuA).toFixed(1)} CPU us/char, ${spans[0]} spans (runs: ${a.map((v) => v.toFixed(0)).join(', ')})`,
    `baseline ${values.baseline === 'zero' ? `${values.model} with bias 0` : values.baseline}: median ${median(b).toFixed(0)} chars/s, ${median(cpuB).toFixed(1)} CPU us/char, ${spans[1]} spans (runs: ${b.map((v) => v.toFixed(0)).join(', ')})`,
    `ratio candidate / baseline (medians): ${(median(a) / median(b)).toFixed(3)} chars/s, ${(median(cpuA) / median(cpuB)).toFixed(3)} CPU per char`,
  ].join('\n') + '\n',
);
model.dispose();
base?.dispose();
