/** Child process of bench/limits.ts: one measurement, JSON on stdout. */
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../models/backend.js';
import { useBlockLstm } from '../models/layers/blockLstm.js';
import { nativeLstmAvailable, useNativeLstm } from '../models/layers/nativeLstm.js';
import { readConll } from '../models/data/conll.js';
import { usePacking } from '../models/packing.js';
import { DEFAULT_SLICE_CHARS, NeuralTagger } from '../models/tagger.js';
import { TaggerModel } from '../models/taggerModel.js';
import { WORKER_OPTIONS } from '../pipeline/stream/config.js';
import { forwardFlopsPerPosition } from './flops.js';
import { median, timeRuns } from './stats.js';
import { pieceLengths, totalPadding, workerBatches } from './workerBatches.js';

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
  if (what === 'tagger-steps') {
    useBlockLstm(false);
    useNativeLstm(false);
  }
  const [modelDir, dataFile, runsArg] = args;
  const runs = Number(runsArg);
  const texts = (await readConll(dataFile)).filter((s) => s.chars.length > 0).map((s) => s.chars.join(''));
  const { model } = await TaggerModel.load(modelDir);
  const perPos = forwardFlopsPerPosition(model.network.config);
  const max = model.meta.maxLength;
  const chars = pieceLengths(texts, max).reduce((x, y) => x + y, 0);
  // One measurement: `calls` tagger calls in a row, timed with padded
  // tensor batches (inferenceBuckets' least-cost grouping, as before) and
  // packed ones (packRows: several sentences per row, the default where the
  // model can pack) alternately, run by run; FLOPs counted over the cells the
  // tagger computes (padded) and over the real characters (useful).
  const groupings = ['padded', 'packed'] as const;
  type Grouping = (typeof groupings)[number];
  const measure = async (name: string, batchSize: number, calls: readonly (readonly string[])[]) => {
    const tagger = new NeuralTagger(model, { batchSize });
    const pass = async () => {
      for (const c of calls) await tagger.tag(c);
    };
    const secs: Record<Grouping, number[]> = { padded: [], packed: [] };
    for (let r = 0; r <= runs; r++) {
      for (const grouping of groupings) {
        usePacking(grouping === 'packed');
        const [s] = await timeRuns(pass, 1, r === 0 ? 1 : 0);
        if (r > 0) secs[grouping].push(s);
      }
    }
    const result = (grouping: Grouping) => {
      usePacking(grouping === 'packed');
      const p = totalPadding(calls, max, batchSize, DEFAULT_SLICE_CHARS, model.packs(), !nativeLstmAvailable());
      const t = median(secs[grouping]);
      return {
        passes: p.passes,
        real: p.real,
        cells: p.cells,
        padding: 1 - p.real / p.cells,
        charsPerSecond: p.real / t,
        gflops: (perPos * p.cells) / t / 1e9,
        usefulGflops: (perPos * p.real) / t / 1e9,
        runs: secs[grouping],
      };
    };
    const out = { name, batchSize, calls: calls.length, padded: result('padded'), packed: result('packed') };
    usePacking(true);
    return out;
  };
  const batches = [];
  for (const batchSize of [1, 32, 64, 256]) batches.push(await measure(`batch ${batchSize}`, batchSize, [texts]));
  const setting = (key: string) => WORKER_OPTIONS.find((o) => o.key === key)?.default as number;
  const worker = { maxCount: setting('batchMaxCount'), maxChars: setting('batchMaxChars'), maxWaitMs: setting('batchMaxWaitMs') };
  const backlog = workerBatches(texts, { ...worker, postsPerSecond: Infinity });
  const paced = workerBatches(texts, { ...worker, postsPerSecond: 700 });
  batches.push(await measure('worker batches, backlog', worker.maxCount, backlog));
  batches.push(await measure('worker batches, 700 posts/s', worker.maxCount, paced));
  model.dispose();
  process.stdout.write(JSON.stringify({ backend, flopsPerPosition: perPos, chars, batches }) + '\n');
}
