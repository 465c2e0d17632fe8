/**
 * Softmax-margin training of the NER head (training options
 * marginCostMissed / marginCostSpurious; models/crf/fastNll.ts), on tiny
 * hand-written data: zero costs train draw for draw as the likelihood; a
 * recall-oriented cost (missed > spurious) trains a model that marks more
 * characters as mentions than the same run on the likelihood; the options
 * are checked before training and recorded in the manifest.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { resolveTrainOptions } from '../../pipeline/train/options.js';
import { trainTagger } from '../../pipeline/train/trainTagger.js';
import { testBackend } from '../support/backend.js';
import { TINY } from '../support/tiny.js';

let dir: string;

before(async () => {
  await testBackend();
  dir = await mkdtemp(join(tmpdir(), 'mf-margin-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function trainTiny(outDir: string, extra: Record<string, unknown> = {}) {
  const options = resolveTrainOptions({ epochs: 2, embeddingDim: 16, hiddenDim: 16, lexicalBuckets: 512, batchSize: 2, learningRate: 0.01, earlyStopPatience: 100, dropout: 0, seed: 3, ...extra });
  const logs: string[] = [];
  const r = await trainTagger({ ner: { train: TINY, dev: TINY }, options, outDir, modelId: 'margin-test', data: [], quiet: true, log: (m) => logs.push(m) });
  return { ...r, logs };
}

/** Characters of the tiny texts that the model tags as part of a mention. */
async function mentionChars(r: Awaited<ReturnType<typeof trainTiny>>): Promise<number> {
  const out = await r.model.predict(TINY.map((x) => x.chars));
  return out.reduce((a, p) => a + p.tags.filter((t) => t !== 'O').length, 0);
}

test('zero costs are the likelihood, draw for draw', async () => {
  const plain = await trainTiny(join(dir, 'plain'));
  const zero = await trainTiny(join(dir, 'zero'), { marginCostMissed: 0, marginCostSpurious: 0 });
  assert.deepEqual(zero.history.map((h) => [h.loss, h.dev]), plain.history.map((h) => [h.loss, h.dev]));
  assert.ok(!zero.logs.some((m) => /softmax-margin/.test(m)));
  plain.model.dispose();
  zero.model.dispose();
});

test('a recall-oriented cost trains a model that marks more mention characters than the likelihood; the options are in the manifest', async () => {
  const plain = await trainTiny(join(dir, 'p'));
  const recall = await trainTiny(join(dir, 'r'), { marginCostMissed: 3, marginCostSpurious: 0 });
  assert.ok(recall.logs.some((m) => /softmax-margin NER loss: cost 3 for a wrong label at a gold mention position, 0 for a mention label at a gold O/.test(m)), recall.logs.join(' | '));
  // the cost-augmented loss is above the likelihood for the same weights; after training on it the losses differ
  assert.notEqual(recall.history[0].loss.ner, plain.history[0].loss.ner);
  const [nPlain, nRecall] = [await mentionChars(plain), await mentionChars(recall)];
  const gold = TINY.reduce((a, s) => a + s.tags.filter((t) => t !== 'O').length, 0);
  assert.ok(nRecall > nPlain, `recall-oriented: ${nRecall} mention characters, likelihood: ${nPlain} (gold ${gold})`);
  const manifest = JSON.parse(await readFile(join(dir, 'r', 'manifest.json'), 'utf8')) as { training: { options: Record<string, unknown> } };
  assert.equal(manifest.training.options.marginCostMissed, 3);
  assert.equal(manifest.training.options.marginCostSpurious, 0);
  plain.model.dispose();
  recall.model.dispose();
});

test('bad costs are ConfigErrors before training', () => {
  for (const key of ['marginCostMissed', 'marginCostSpurious']) {
    for (const bad of [-0.5, 11, '1', NaN]) assert.throws(() => resolveTrainOptions({ [key]: bad }), new RegExp(`option "${key}" must be a number in \\[0, 10\\]`));
  }
});
