/**
 * The network alone at inference, engine against engine, in one process
 * (issue 17, items 2 and 3): the shipped model's NER emissions of the v2 dev
 * texts in the groups the tagger makes (packRows, 64 rows, 2,048 cells), by
 * TensorFlow's BlockLSTM and tfjs ops (packed rows with separators), by the C
 * kernel in float32 (models/network/nativeHead.ts: each sentence alone, no
 * padding) on each of its engines this CPU runs (avx512, avx2: the same bits,
 * so an AVX-512 machine measures what a CPU without AVX-512F would run) and by
 * the C kernel with bfloat16 products (avx512, where the CPU has
 * AVX512_BF16), and a 1024x1024 float32 tf.matMul; the engines alternate,
 * rep after rep. No encoding or decoding: the ids and features are made once.
 * Reports CPU ms per pass over the dev texts (median and range over --reps),
 * the useful rate (forward FLOPs over the real characters, bench/flops.ts)
 * per CPU-second as a share of the matMul's, the ratios to BlockLSTM and to
 * the C kernel's float32 on its fastest engine, and the largest emission
 * difference to BlockLSTM. Run it pinned to one core with
 * one TensorFlow thread:
 *
 *   TF_NUM_INTRAOP_THREADS=1 taskset -c 0 node dist/bench/nativeNetwork.js [--model DIR] [--data FILE] [--reps N]
 */
import * as tf from '@tensorflow/tfjs';
import { corporaDir, defaultModelDir } from '../cli/defaults.js';
import { join } from 'node:path';
import { useBackend } from '../models/backend.js';
import { readConll } from '../models/data/conll.js';
import { inferencePrecision, nativeEngines, nativeLstmAvailable, useInferencePrecision, useNativeEngine, useNativeLstm } from '../models/layers/nativeLstm.js';
import { nativeAddon } from '../schemas/nativeAddon.js';
import { makePackedBatch, packRows } from '../models/packing.js';
import { TaggerModel } from '../models/taggerModel.js';
import { benchArgs } from './args.js';
import { forwardFlopsPerPosition } from './flops.js';
import { median } from './stats.js';

const values = benchArgs(import.meta.url, {
  model: { type: 'string', default: defaultModelDir() },
  data: { type: 'string', default: join(corporaDir(), 'weiboNER', 'weiboNER_2nd_conll.dev') },
  reps: { type: 'string', default: '15' },
});
const reps = Number(values.reps);
if (!Number.isInteger(reps) || reps < 3) throw new Error(`--reps must be an integer >= 3, got ${values.reps}`);
await useBackend('native');
const { model } = await TaggerModel.load(values.model!);
const sentences = (await readConll(values.data!)).map((s) => s.chars).filter((c) => c.length > 0 && c.length <= model.meta.maxLength);
const lengths = sentences.map((s) => s.length);
const chars = lengths.reduce((a, b) => a + b, 0);
const batches = packRows(lengths, 64, 2048).map(({ sentences: group, layout }) => makePackedBatch(group.map((i) => model.encode(sentences[i])), layout));

type Engine = { name: string; set: () => void };
const engines: Engine[] = [{ name: 'BlockLSTM + tfjs ops (packed rows)', set: () => useNativeLstm(false) }];
useNativeLstm(true);
if (!nativeLstmAvailable()) throw new Error("the C kernel does not run here (mentionflow's addon, AVX-512F or AVX2 and FMA, and the native backend are needed)");
for (const native of nativeEngines()) engines.push({ name: `C kernel, float32, ${native}`, set: () => (useNativeLstm(true), useNativeEngine(native)) });
if (nativeAddon()?.lstmBf16() === true) engines.push({ name: 'C kernel, bfloat16 products, avx512', set: () => (useNativeLstm(true), useNativeEngine('avx512'), useInferencePrecision('bfloat16')) });
/** Back to the defaults after an engine's pass (float32 first: the avx2 engine refuses bfloat16). */
const reset = () => (useInferencePrecision('float32'), useNativeEngine('auto'));

/** One pass over every batch: its emissions, read back as the tagger reads them. */
function pass(): Float32Array[] {
  return batches.map((b) => {
    const em = model.packedEmissions('ner', b);
    const data = em.dataSync() as Float32Array;
    em.dispose();
    return data;
  });
}

function cpuSeconds(f: () => void): number {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

const n = 1024;
const [a, b] = [tf.randomNormal([n, n]), tf.randomNormal([n, n])];
const matmul = () => {
  const c = tf.matMul(a, b);
  c.dataSync();
  c.dispose();
};
const outputs = new Map<string, Float32Array[]>();
for (const e of engines) {
  e.set();
  outputs.set(e.name, pass());
  pass();
  reset();
}
matmul();
const times = new Map<string, number[]>(engines.map((e) => [e.name, []]));
const mm: number[] = [];
for (let r = 0; r < reps; r++) {
  mm.push((2 * n ** 3) / cpuSeconds(matmul) / 1e9);
  for (const e of engines) {
    e.set();
    times.get(e.name)!.push(cpuSeconds(pass));
    reset();
  }
}
tf.dispose([a, b]);
const flops = forwardFlopsPerPosition(model.network.config) * chars;
const mmRate = median(mm);
const base = median(times.get(engines[0].name)!);
const cBase = median(times.get(engines[1].name)!);
const reference = outputs.get(engines[0].name)!;
const fmt = (xs: number[], d = 1) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)})`;
const lines = [
  `# The network alone, engine against engine (${new Date().toISOString()})`,
  '',
  `${sentences.length} texts, ${chars.toLocaleString('en-US')} characters, ${batches.length} packed batches; ${reps} reps, engines alternating; 1024x1024 float32 tf.matMul in the same process: ${fmt(mm)} GFLOP per CPU-second; precision now ${inferencePrecision()}.`,
  '',
  `| engine | CPU ms per pass | useful GFLOP per CPU-second | share of matMul | BlockLSTM / this (speed-up) | ${engines[1].name} / this | largest emission difference to BlockLSTM |`,
  '|---|---|---:|---:|---:|---:|---:|',
  ...engines.map((e) => {
    const t = times.get(e.name)!;
    const out = outputs.get(e.name)!;
    let worst = 0;
    out.forEach((o, i) => o.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - reference[i][j])))));
    const rate = flops / median(t) / 1e9;
    return `| ${e.name} | ${fmt(t.map((s) => s * 1e3))} | ${rate.toFixed(1)} | ${((100 * rate) / mmRate).toFixed(1)}% | ${(base / median(t)).toFixed(2)} | ${(cBase / median(t)).toFixed(2)} | ${worst.toExponential(2)} |`;
  }),
];
process.stdout.write(lines.join('\n') + '\n');
model.dispose();
