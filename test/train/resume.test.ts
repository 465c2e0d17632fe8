/**
 * Checkpoints: a run interrupted after 2 epochs and resumed to 4 ends with
 * the same weights, history and best-epoch scores as an uninterrupted 4-epoch
 * run (same backend). A run interrupted after its last checkpoint (nothing
 * left to train when resumed) still returns its best epoch's dev scores.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { resolveTrainOptions } from '../../pipeline/train/options.js';
import { trainTagger } from '../../pipeline/train/trainTagger.js';
import { testBackend } from '../support/backend.js';
import { TINY } from '../support/tiny.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function run(outDir: string, epochs: number, resume: boolean, keepCheckpoint = false, logs: string[] = []) {
  const options = resolveTrainOptions({ epochs, embeddingDim: 8, hiddenDim: 8, lexicalBuckets: 256, batchSize: 2, dropout: 0.2, earlyStopPatience: 100, seed: 3 });
  const r = await trainTagger({ ner: { train: TINY, dev: TINY }, options, outDir, modelId: 'resume-test', data: [], quiet: true, resume, keepCheckpoint, log: (m) => logs.push(m) });
  const weights = [...r.model.network.params().values()].map((v) => Array.from(v.dataSync()));
  r.model.dispose();
  return { weights, history: r.history.map((h) => ({ epoch: h.epoch, loss: h.loss, dev: h.dev })), best: r.best.epoch, bestScores: r.bestScores };
}

test('a resumed run reproduces the uninterrupted run', async () => {
  await testBackend();
  const a = await mkdtemp(join(tmpdir(), 'mf-resume-a-'));
  const b = await mkdtemp(join(tmpdir(), 'mf-resume-b-'));
  dirs.push(a, b);
  const straight = await run(a, 4, false);
  await run(b, 2, false, true); // an interrupted run leaves its checkpoint behind
  const logs: string[] = [];
  const resumed = await run(b, 4, true, false, logs);
  assert.ok(logs.some((m) => m.includes('resumed from the checkpoint') && m.includes('after epoch 2')), `no resume in: ${logs.join(' | ')}`);
  assert.equal(resumed.history.length, 4);
  assert.deepEqual(resumed.history, straight.history);
  assert.deepEqual(resumed.weights, straight.weights);
  assert.equal(resumed.best, straight.best);
  assert.deepEqual(resumed.bestScores, straight.bestScores);
});

test('a run resumed from the checkpoint of its last epoch returns its best dev scores', async () => {
  await testBackend();
  const a = await mkdtemp(join(tmpdir(), 'mf-resume-c-'));
  dirs.push(a);
  const first = await run(a, 2, false, true);
  assert.ok(first.bestScores !== undefined);
  const again = await run(a, 2, true);
  assert.equal(again.history.length, 2);
  assert.equal(again.best, first.best);
  assert.deepEqual(again.bestScores, first.bestScores);
  assert.equal(again.bestScores.overall.f1, again.history[again.best - 1].dev.ner_f1);
});
