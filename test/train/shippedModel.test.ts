/**
 * The shipped default model (models/default) is what its model card says:
 * the joint model with char-positional input and SoftLexicon features,
 * distilled from an ensemble (silver data in its training record) with a
 * recall-oriented softmax-margin loss, uncalibrated; its WeiboNER v2 dev
 * score, recomputed here, is the one training recorded and meets the issue's
 * targets (at least 63 overall F1, recall within 5 points of precision); its
 * segmentation head's NLPCC dev scores are the ones its card reports.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { corporaDir, projectRoot } from '../../cli/defaults.js';
import { readConll } from '../../models/data/conll.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { readSegmented } from '../../models/data/segmentation.js';
import { evaluateNer, evaluateSegmentation } from '../../pipeline/train/evaluate.js';
import { testBackend } from '../support/backend.js';

const MODEL = join(projectRoot(), 'models', 'default');
const DEV = join(corporaDir(), 'weiboNER', 'weiboNER_2nd_conll.dev');

test('the shipped model is the joint char-positional SoftLexicon model of its card, distilled with a recall-oriented cost, with a segmentation head', async () => {
  await testBackend();
  const { model, manifest } = await TaggerModel.load(MODEL);
  try {
    assert.equal(manifest.modelId, 'weibo-ner-joint');
    assert.equal(manifest.charPositional, true);
    assert.equal(manifest.formatVersion, 6, 'char-positional input and SoftLexicon features');
    assert.ok((manifest.tagFeatures?.softLexicon?.entries.length ?? 0) > 1_000_000, 'the dictionary words carried in the manifest');
    assert.equal(manifest.decoding, undefined, 'uncalibrated (the card: calibration costs F1 held out for this recipe)');
    assert.equal(model.meta.nonOBias ?? 0, 0);
    const data = (manifest.training as { data: Array<{ role: string }> }).data.map((d) => d.role);
    for (const role of ['ner-train', 'ner-dev', 'seg-train', 'silver', 'soft-lexicon', 'embeddings']) assert.ok(data.includes(role), `training.data has ${role}: ${data.join(', ')}`);
    const options = (manifest.training as { options: Record<string, unknown> }).options;
    assert.deepEqual([options.marginCostMissed, options.marginCostSpurious, options.silverRatio], [2, 0, 3], 'softmax-margin cost 2 for a missed mention, silver ratio 3');
    assert.ok(model.network.config.seg !== undefined, 'segmentation head carried');
    const card = readFileSync(join(MODEL, 'MODEL_CARD.md'), 'utf8');
    assert.ok(card.includes(`${manifest.modelId} ${manifest.modelVersion}`), 'the card names this model and version');
  } finally {
    model.dispose();
  }
});

test('WeiboNER v2 dev: the shipped model scores what its training recorded and its card reports, at least 63 overall F1 with recall within 5 points of precision', { timeout: 300_000, skip: existsSync(DEV) ? false : `corpus not found at ${DEV} (set MENTIONFLOW_CORPORA)` }, async () => {
  await testBackend();
  const { model, manifest } = await TaggerModel.load(MODEL);
  try {
    const dev = await readConll(DEV);
    const { scores } = await evaluateNer(model, dev);
    const recorded = (manifest.scores as { dev: { overall: { f1: number; precision: number; recall: number } } }).dev.overall;
    for (const k of ['f1', 'precision', 'recall'] as const) {
      assert.ok(Math.abs(scores.overall[k] - recorded[k]) < 0.01, `dev ${k} ${scores.overall[k]} vs ${recorded[k]} recorded at training`);
    }
    assert.ok(scores.overall.f1 >= 63, `dev F1 ${scores.overall.f1}`);
    assert.ok(Math.abs(scores.overall.precision - scores.overall.recall) <= 5, `dev P ${scores.overall.precision} and R ${scores.overall.recall} within 5 points`);
    const card = readFileSync(join(MODEL, 'MODEL_CARD.md'), 'utf8');
    const row = /\| overall \| ([\d.]+) \| ([\d.]+) \| \*\*([\d.]+)\*\* \|/.exec(card);
    assert.ok(row, 'the card reports "| overall | P | R | **F1** |"');
    assert.deepEqual(row.slice(1, 4), [scores.overall.precision, scores.overall.recall, scores.overall.f1].map((x) => x.toFixed(2)));
  } finally {
    model.dispose();
  }
});

const SEG_DEV = join(corporaDir(), 'nlpcc2016-weibo-cws', 'nlpcc2016-wordseg-dev.dat');
const SEG_TRAIN = join(corporaDir(), 'nlpcc2016-weibo-cws', 'nlpcc2016-word-seg-train.dat');

test('NLPCC dev: the shipped segmentation head scores the word F1 and OOV recall its card reports', { timeout: 300_000, skip: existsSync(SEG_DEV) && existsSync(SEG_TRAIN) ? false : `corpus not found at ${SEG_DEV} (set MENTIONFLOW_CORPORA)` }, async () => {
  await testBackend();
  const card = readFileSync(join(MODEL, 'MODEL_CARD.md'), 'utf8');
  const f1 = /\*\*([\d.]+) word F1\*\*, OOV recall ([\d.]+)/.exec(card);
  assert.ok(f1, 'the card reports "**F1 word F1**, OOV recall R"');
  const { model } = await TaggerModel.load(MODEL);
  try {
    const trainWords = new Set((await readSegmented(SEG_TRAIN)).flatMap((s) => s.words));
    const { scores } = await evaluateSegmentation(model, await readSegmented(SEG_DEV), trainWords);
    assert.equal(scores.words.f1.toFixed(2), f1[1], `word F1 ${scores.words.f1}`);
    assert.equal(scores.oov?.recall.toFixed(2), f1[2], `OOV recall ${scores.oov?.recall}`);
  } finally {
    model.dispose();
  }
});
