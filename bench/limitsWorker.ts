/** Child process of bench/limits.ts: one measurement, JSON on stdout. */
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../models/backend.js';
import { lengthBuckets, makeBatch } from '../models/batch.js';
import { useBlockLstm } from '../models/layers/blockLstm.js';
import { readConll } from '../models/data/conll.js';
import { NeuralTagger } from '../models/tagger.js';
import { TaggerModel } from '../models/taggerModel.js';
import { forwardFlopsPerPosition } from './flops.js';
import { median, timeRuns } from './stats.js';

const [what, ...args] = process.argv.slice(2);
const backend = await useBackend('native');

if (what === 'matmul') {
  const [n, runs] = args.map(Number);
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  // Read the product outside tf.tidy: tidy walks a returned typed array element by element looking
  // for tensors, which costs about 1 s for a 1024x1024 result and would swamp the product itself.
  const secs = await timeRuns(
    () => {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    },
    runs,
    2,
  );
  process.stdout.write(JSON.stringify({ backend, n, gflops: (2 * n ** 3) / median(secs) / 1e9, runs: secs }) + '\n');
} else {
  // `tagger-steps`: the LSTM recurrence as tfjs kernels per time step (the
  // training path) instead of the fused BlockLSTM kernel, for comparison.
  if (what === 'tagger-steps') useBlockLstm(false);
  const [modelDir, dataFile, runsArg] = args;
  const runs = Number(runsArg);
  const texts = (await readConll(dataFile)).filter((s) => s.chars.length > 0).map((s) => s.chars.join(''));
  const lengths = texts.map((t) => [...t].length);
  const chars = lengths.reduce((x, y) => x + y, 0);
  const { model } = await TaggerModel.load(modelDir);
  const perPos = forwardFlopsPerPosition(model.network.config);
  const batches = [];
  for (const batchSize of [1, 32, 256]) {
    const tagger = new NeuralTagger(model, { batchSize });
    const secs = await timeRuns(() => tagger.tag(texts).then(() => undefined), runs, 1);
    const bucketed = lengthBuckets(lengths, batchSize);
    const arrival = Array.from({ length: Math.ceil(texts.length / batchSize) }, (_, i) => lengths.map((_, j) => j).slice(i * batchSize, (i + 1) * batchSize));
    const waste = (groups: number[][]) => {
      let padded = 0;
      for (const g of groups) {
        const batch = makeBatch(g.map((i) => ({ ids: new Int32Array(lengths[i]) })));
        padded += batch.size * batch.steps;
      }
      return { padded, waste: 1 - chars / padded };
    };
    const wb = waste(bucketed);
    const wa = waste(arrival);
    const t = median(secs);
    batches.push({ batchSize, charsPerSecond: chars / t, gflops: (perPos * wb.padded) / t / 1e9, wasteBucketed: wb.waste, wasteArrival: wa.waste, runs: secs });
  }
  model.dispose();
  process.stdout.write(JSON.stringify({ backend, flopsPerPosition: perPos, chars, batches }) + '\n');
}
