/**
 * The decoding bias through the model: a model with bias 0 decodes and saves
 * as before (no `decoding` field, same format version, same predictions); a
 * bias is saved (format version 4), loaded and applied by predict, by the
 * inline tagger and by the thread tagger alike; calibration's cached-emission
 * decoding (nerEmissions + decodeNer) finds the spans predict finds.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ModelArtifactError } from '../../../common/errors.js';
import type { BackendChoice } from '../../../models/backend.js';
import { NeuralTagger } from '../../../models/tagger.js';
import { TaggerModel } from '../../../models/taggerModel.js';
import { ThreadTagger } from '../../../models/threadTagger.js';
import { testBackend } from '../../support/backend.js';
import { fitTiny, TINY, tinyModel } from '../../support/tiny.js';

const TRAINING = { seed: 1, epochs: 1, bestEpoch: 1, data: [], options: {} };
const BACKEND = (process.env.MENTIONFLOW_BACKEND ?? 'auto') as BackendChoice;
const texts = TINY.map((s) => s.chars);
const spanKeys = (spans: readonly { start: number; end: number; label: string }[]): string[] => spans.map((s) => `${s.start}-${s.end}-${s.label}`);
const mentionCount = (preds: { spans: unknown[] }[]): number => preds.reduce((n, p) => n + p.spans.length, 0);

let dir: string;
let model: TaggerModel;

before(async () => {
  await testBackend();
  dir = await mkdtemp(join(tmpdir(), 'mentionflow-bias-'));
  model = tinyModel({ lexicalBuckets: 512 });
  assert.equal(await fitTiny(model), 100);
});

after(async () => {
  model.dispose();
  await rm(dir, { recursive: true, force: true });
});

test('bias 0: the manifest has no decoding field and its old format version, and the loaded model predicts what it did', async () => {
  const before = await model.predict(texts);
  model.meta.nonOBias = 0;
  const manifest = await model.save(join(dir, 'zero'), { training: TRAINING, scores: {} });
  assert.equal(manifest.formatVersion, 1);
  assert.equal(manifest.decoding, undefined);
  const { model: loaded } = await TaggerModel.load(join(dir, 'zero'));
  assert.equal(loaded.meta.nonOBias, 0);
  assert.deepEqual(await loaded.predict(texts), before);
  loaded.dispose();
  // An artifact written before the field existed (no `decoding`) loads with bias 0.
  const raw = JSON.parse(await readFile(join(dir, 'zero', 'manifest.json'), 'utf8'));
  assert.ok(!('decoding' in raw));
  delete model.meta.nonOBias;
  assert.deepEqual(await model.predict(texts), before);
});

test('a large positive bias tags more, a large negative one nothing; the bias is saved, loaded and applied by the inline and thread taggers', async () => {
  const plain = await model.predict(texts);
  model.meta.nonOBias = -50;
  const none = await model.predict(texts);
  model.meta.nonOBias = 50;
  const all = await model.predict(texts);
  try {
    assert.equal(mentionCount(none), 0);
    assert.ok(mentionCount(plain) > 0);
    // Every character inside a mention: the spans cover each sentence whole.
    for (const [i, p] of all.entries()) assert.equal(p.tags.filter((t) => t === 'O').length, 0, `sentence ${i}: ${p.tags.join(' ')}`);
    model.meta.nonOBias = 1.5;
    const biased = await model.predict(texts);
    const manifest = await model.save(join(dir, 'biased'), { training: TRAINING, scores: {}, calibration: { note: 'test' } });
    assert.equal(manifest.formatVersion, 4);
    assert.deepEqual(manifest.decoding, { nonOBias: 1.5, calibration: { note: 'test' } });
    const { model: loaded } = await TaggerModel.load(join(dir, 'biased'));
    assert.equal(loaded.meta.nonOBias, 1.5);
    assert.deepEqual(await loaded.predict(texts), biased);
    const joined = texts.map((c) => c.join(''));
    const inline = await new NeuralTagger(loaded).tag(joined);
    assert.deepEqual(inline.map((ms) => ms.map((m) => `${m.start}-${m.end}-${m.label}`)), biased.map((p) => spanKeys(p.spans)));
    const thread = await ThreadTagger.open(join(dir, 'biased'), { backend: BACKEND });
    try {
      assert.deepEqual(await thread.tag(joined), inline);
    } finally {
      await thread.close();
    }
    loaded.dispose();
  } finally {
    model.meta.nonOBias = 0;
  }
});

test('calibration decoding (emissions once, Viterbi per bias) finds the spans predict finds at each bias, and leaks no tensor', async () => {
  const before = tf.memory().numTensors;
  const emissions = await model.nerEmissions(texts, 4);
  assert.equal(tf.memory().numTensors, before);
  for (const bias of [-3, -0.5, 0, 0.7, 2, 6]) {
    model.meta.nonOBias = bias;
    const preds = await model.predict(texts);
    emissions.forEach((e, i) => assert.deepEqual(spanKeys(model.decodeNer(e, bias)), spanKeys(preds[i].spans), `bias ${bias}, sentence ${i}`));
  }
  model.meta.nonOBias = 0;
});

test('a manifest whose decoding bias is not a finite number is refused', async () => {
  await model.save(join(dir, 'bad'), { training: TRAINING, scores: {} });
  const m = JSON.parse(await readFile(join(dir, 'bad', 'manifest.json'), 'utf8'));
  m.decoding = { nonOBias: 'high' };
  await writeFile(join(dir, 'bad', 'manifest.json'), JSON.stringify(m));
  await assert.rejects(TaggerModel.load(join(dir, 'bad')), (err: unknown) => err instanceof ModelArtifactError && /nonOBias must be a finite number/.test(err.message));
});
