/**
 * One backend's measurements for bench/backends.ts (run as a child process,
 * prints JSON on stdout): tagging throughput per batch size, and training
 * time (a full epoch where the backend can train at a useful speed, else a
 * few single steps).
 */
import { useBackend, type BackendName } from '../models/backend.js';
import { makeBatch, lengthBuckets, paddingWaste } from '../models/batch.js';
import { readConll } from '../models/data/conll.js';
import { NeuralTagger } from '../models/tagger.js';
import { TaggerModel } from '../models/taggerModel.js';
import { Rng } from '../models/rng.js';
import { toScheme } from '../pipeline/train/trainNer.js';
import { trainStep } from '../pipeline/train/step.js';
import * as tf from '@tensorflow/tfjs';
import { median, timeRuns } from './stats.js';

const [backendArg, modelDir, dataFile, trainFile, runsArg, sizesArg] = process.argv.slice(2);
const backend = backendArg as BackendName;
await useBackend(backend);
// Slow backends: one timed pass per batch size (a pass of the JS backend takes minutes).
const runs = backend === 'native' ? Number(runsArg) : 1;
const texts = (await readConll(dataFile)).filter((s) => s.chars.length > 0).map((s) => s.chars.join(''));
const totalChars = texts.reduce((a, t) => a + [...t].length, 0);

const throughput = [];
for (const batchSize of sizesArg.split(',').map(Number)) {
  const { model } = await TaggerModel.load(modelDir);
  const tagger = new NeuralTagger(model, { batchSize });
  // batch 1 on slow backends: a subset keeps the run bounded
  const subset = backend === 'native' || batchSize > 1 ? texts : texts.slice(0, 40);
  const chars = subset === texts ? totalChars : subset.reduce((a, t) => a + [...t].length, 0);
  const secs = await timeRuns(() => tagger.tag(subset).then(() => undefined), runs, backend === 'native' ? 1 : 0);
  const lengths = subset.map((t) => [...t].length);
  const groups = lengthBuckets(lengths, batchSize);
  const waste = groups.reduce((a, g) => a + paddingWaste(makeBatch(g.map((i) => ({ ids: new Int32Array(lengths[i]) })))) * g.length, 0) / subset.length;
  throughput.push({ batchSize, charsPerSecond: chars / median(secs), runs: secs, paddingWaste: waste });
  tagger.dispose();
  process.stderr.write(`${backend} batch ${batchSize}: ${Math.round(chars / median(secs))} chars/s\n`);
}

// training: one epoch on native; a few steps elsewhere (bounded)
const train = toScheme((await readConll(trainFile)).filter((s) => s.chars.length > 0), 'BIO');
const { model } = await TaggerModel.load(modelDir);
const opt = tf.train.adam(0.001);
const rng = new Rng(1);
const encoded = train.map((s) => model.encode(s.chars, s.tags));
const groups = rng.shuffled(lengthBuckets(train.map((s) => s.chars.length), 16));
let training: { epochSeconds?: number; stepSeconds?: number; steps: number; note: string };
const step = (g: number[]) => trainStep(model.network, makeBatch(g.map((i) => encoded[i])), { head: 'ner', weight: 1, optimizer: opt, clipNorm: 5, dropoutSeed: 1 });
try {
  if (backend === 'native') {
    const t = Date.now();
    for (const g of groups) step(g);
    training = { epochSeconds: (Date.now() - t) / 1000, steps: groups.length, note: `batch 16, ${groups.length} steps` };
  } else {
    const median16 = groups.filter((g) => g.length === 16).sort((a, b) => train[a[0]].chars.length - train[b[0]].chars.length);
    const g = median16[median16.length >> 1];
    const secs = await timeRuns(() => void step(g), 1, 0);
    training = { stepSeconds: secs[0], steps: 1, note: `one step, batch 16 of ~${train[g[0]].chars.length} chars; an epoch is ${groups.length} steps` };
  }
} catch (err) {
  training = { steps: 0, note: `cannot train: ${(err as Error).message.split('\n')[0].slice(0, 120)}` };
}
process.stdout.write(JSON.stringify({ backend, throughput, training }) + '\n');
