/**
 * Training with a weight average (option emaDecay): each epoch scores the raw
 * and the averaged weights on dev, the best epoch is chosen on the averaged
 * ones, the artifact holds the averaged weights (scoring it reproduces the
 * averaged dev score, not the raw one), and an interrupted run resumed from
 * its checkpoint reproduces the uninterrupted one, average included.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TaggerModel } from '../../models/taggerModel.js';
import { evaluateNer } from '../../pipeline/train/evaluate.js';
import { resolveTrainOptions } from '../../pipeline/train/options.js';
import { trainTagger } from '../../pipeline/train/trainTagger.js';
import { testBackend } from '../support/backend.js';
import { TINY } from '../support/tiny.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function run(outDir: string, epochs: number, resume: boolean, keepCheckpoint = false, emaDecay = 0.7) {
  const options = resolveTrainOptions({ epochs, embeddingDim: 8, hiddenDim: 8, lexicalBuckets: 256, batchSize: 2, dropout: 0.2, earlyStopPatience: 100, seed: 5, learningRate: 0.05, emaDecay });
  const r = await trainTagger({ ner: { train: TINY, dev: TINY }, options, outDir, modelId: 'ema-test', data: [], quiet: true, resume, keepCheckpoint, log: () => {} });
  const rawWeights = [...r.model.network.params().values()].map((v) => Array.from(v.dataSync()));
  r.model.dispose();
  return { ...r, rawWeights };
}

const flat = (m: TaggerModel) => [...m.network.params().values()].map((v) => Array.from(v.dataSync()));

test('the averaged weights are scored each epoch, chosen and saved', async () => {
  await testBackend();
  const dir = await mkdtemp(join(tmpdir(), 'mf-ema-'));
  dirs.push(dir);
  const r = await run(dir, 6, false);
  for (const h of r.history) {
    assert.equal(typeof h.dev.ner_f1, 'number');
    assert.equal(typeof h.dev.avg_ner_f1, 'number', `epoch ${h.epoch}: ${JSON.stringify(h.dev)}`);
  }
  assert.ok(r.history.some((h) => h.dev.avg_ner_f1 !== h.dev.ner_f1), `raw and averaged scores never differ: ${JSON.stringify(r.history.map((h) => h.dev))}`);
  const bestAvg = Math.max(...r.history.map((h) => h.dev.avg_ner_f1));
  assert.equal(r.best.dev.avg_ner_f1, bestAvg);
  assert.equal(r.bestScores.overall.f1, bestAvg);
  const { model, manifest } = await TaggerModel.load(dir);
  try {
    assert.equal(manifest.training?.bestEpoch, r.best.epoch);
    const scored = (await evaluateNer(model, TINY)).scores.overall.f1;
    assert.equal(scored, r.best.dev.avg_ner_f1);
    // the raw weights of the best epoch: the same run without the average (it draws no random numbers, so the raw path is the same), stopped there
    const raw = await mkdtemp(join(tmpdir(), 'mf-ema-raw-'));
    dirs.push(raw);
    const plain = await run(raw, r.best.epoch, false, false, 0);
    assert.equal(plain.history[r.best.epoch - 1].dev.ner_f1, r.history[r.best.epoch - 1].dev.ner_f1);
    assert.notDeepEqual(flat(model), plain.rawWeights, 'the artifact holds the raw weights of its epoch, not the averaged ones');
  } finally {
    model.dispose();
  }
});

test('a resumed run with a weight average reproduces the uninterrupted run', async () => {
  await testBackend();
  const a = await mkdtemp(join(tmpdir(), 'mf-ema-a-'));
  const b = await mkdtemp(join(tmpdir(), 'mf-ema-b-'));
  dirs.push(a, b);
  const straight = await run(a, 4, false);
  await run(b, 2, false, true);
  const resumed = await run(b, 4, true);
  const view = (r: Awaited<ReturnType<typeof run>>) => r.history.map((h) => ({ epoch: h.epoch, loss: h.loss, dev: h.dev }));
  assert.deepEqual(view(resumed), view(straight));
  const wa = await TaggerModel.load(a);
  const wb = await TaggerModel.load(b);
  try {
    assert.deepEqual(flat(wb.model), flat(wa.model));
  } finally {
    wa.model.dispose();
    wb.model.dispose();
  }
});
