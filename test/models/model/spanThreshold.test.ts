/**
 * The span-confidence threshold (models/crf/spanThreshold.ts) through the
 * model: predict drops exactly the spans below it (their tags become O) and
 * keeps the others with their confidences; 0 decodes as before; the
 * threshold is saved (format version 7), loaded and applied by the inline and
 * thread taggers and by an ensemble; calibration's decodeNer gives the
 * confidences predict gives; a manifest with a bad value is refused.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ModelArtifactError } from '../../../common/errors.js';
import type { BackendChoice } from '../../../models/backend.js';
import { applySpanThreshold, confidentSpans } from '../../../models/crf/spanThreshold.js';
import { ensembleModel } from '../../../models/ensemble.js';
import { NeuralTagger } from '../../../models/tagger.js';
import { TaggerModel, type Prediction } from '../../../models/taggerModel.js';
import { ThreadTagger } from '../../../models/threadTagger.js';
import { testBackend } from '../../support/backend.js';
import { fitTiny, TINY, tinyModel } from '../../support/tiny.js';

const TRAINING = { seed: 1, epochs: 1, bestEpoch: 1, data: [], options: {} };
const BACKEND = (process.env.MENTIONFLOW_BACKEND ?? 'auto') as BackendChoice;
// The training sentences and a few it has not seen, where the tiny model is unsure.
const texts = [...TINY.map((s) => s.chars), [...'王五去了长江边的学校'], [...'北京微软张三很大']];
const BIAS = 1.5;

let dir: string;
let model: TaggerModel;
/** predict at BIAS without a threshold. */
let plain: Prediction[];
/** A threshold between the spans' confidences: some spans fall below it, some not. */
let t: number;

before(async () => {
  await testBackend();
  dir = await mkdtemp(join(tmpdir(), 'mentionflow-minconf-'));
  model = tinyModel({ lexicalBuckets: 512 });
  assert.equal(await fitTiny(model), 100);
  model.meta.nonOBias = BIAS;
  plain = await model.predict(texts);
  const confidences = [...new Set(plain.flatMap((p) => p.spans.map((s) => s.confidence)))].sort((a, b) => a - b);
  assert.ok(confidences.length >= 4, `spans with distinct confidences at bias ${BIAS}: ${confidences.join(', ')}`);
  t = confidences[Math.floor(confidences.length / 2)];
  assert.ok(t > 0 && t < 1);
});

after(async () => {
  model.dispose();
  await rm(dir, { recursive: true, force: true });
});

const spanKeys = (preds: Prediction[]): string[][] => preds.map((p) => p.spans.map((s) => `${s.start}-${s.end}-${s.label}`));

/** What the threshold must give, written out: the spans at or above t, and O over the dropped ones. */
function expected(preds: Prediction[], threshold: number): Prediction[] {
  return preds.map((p) => {
    const tags = [...p.tags];
    for (const s of p.spans) if (!(s.confidence >= threshold)) for (let i = s.start; i < s.end; i++) tags[i] = 'O';
    return { tags, spans: p.spans.filter((s) => s.confidence >= threshold) };
  });
}

test('applySpanThreshold drops the spans below t, tags them O, and returns the input itself at t = 0', () => {
  const tags = ['B-PER.NAM', 'I-PER.NAM', 'O', 'B-GPE.NAM', 'B-LOC.NOM', 'I-LOC.NOM'];
  const spans = [
    { start: 0, end: 2, label: 'PER.NAM', confidence: 0.9 },
    { start: 3, end: 4, label: 'GPE.NAM', confidence: 0.5 },
    { start: 4, end: 6, label: 'LOC.NOM', confidence: 0.49 },
  ];
  const at0 = applySpanThreshold(tags, spans, 0);
  assert.equal(at0.tags, tags);
  assert.equal(at0.spans, spans);
  const r = applySpanThreshold(tags, spans, 0.5);
  assert.deepEqual(r.spans, spans.slice(0, 2));
  assert.deepEqual(r.tags, ['B-PER.NAM', 'I-PER.NAM', 'O', 'B-GPE.NAM', 'O', 'O']);
  assert.deepEqual(tags[4], 'B-LOC.NOM', 'the input tags are not changed');
  assert.deepEqual(confidentSpans(spans, 0.9), spans.slice(0, 1));
});

test('predict drops exactly the spans below minSpanConfidence (their tags O), keeps the others unchanged; 0 decodes as before', async () => {
  try {
    model.meta.minSpanConfidence = 0;
    assert.deepEqual(await model.predict(texts), plain);
    model.meta.minSpanConfidence = t;
    const cut = await model.predict(texts);
    assert.deepEqual(cut, expected(plain, t));
    const dropped = plain.flatMap((p) => p.spans).length - cut.flatMap((p) => p.spans).length;
    assert.ok(dropped > 0 && cut.some((p) => p.spans.length > 0), `dropped ${dropped}`);
    // The segmentation head and the bias are untouched by it.
    delete model.meta.minSpanConfidence;
    assert.deepEqual(await model.predict(texts), plain);
  } finally {
    model.meta.minSpanConfidence = 0;
  }
});

test('decodeNer with confidences gives what predict gives at each bias, and leaks no tensor', async () => {
  const before = tf.memory().numTensors;
  const emissions = await model.nerEmissions(texts);
  const crf = model.crfScores('ner');
  for (const bias of [0, 0.7, BIAS]) {
    model.meta.nonOBias = bias;
    const preds = await model.predict(texts);
    emissions.forEach((e, i) => assert.deepEqual(model.decodeNer(e, bias, crf, true), preds[i].spans, `bias ${bias}, sentence ${i}`));
  }
  model.meta.nonOBias = BIAS;
  assert.equal(tf.memory().numTensors, before);
});

test('the threshold is saved (format version 7), loaded, and applied by the inline and thread taggers and by an ensemble', async () => {
  model.meta.minSpanConfidence = 0;
  const zero = await model.save(join(dir, 'zero'), { training: TRAINING, scores: {} });
  assert.equal(zero.formatVersion, 4, 'no threshold: the version of a biased model, no field');
  assert.ok(!('minSpanConfidence' in zero.decoding!));
  model.meta.minSpanConfidence = t;
  const manifest = await model.save(join(dir, 'cut'), { training: TRAINING, scores: {} });
  model.meta.minSpanConfidence = 0;
  assert.equal(manifest.formatVersion, 7);
  assert.deepEqual(manifest.decoding, { nonOBias: BIAS, minSpanConfidence: t, calibration: undefined });
  const want = expected(plain, t);
  const { model: loaded } = await TaggerModel.load(join(dir, 'cut'));
  try {
    assert.equal(loaded.meta.minSpanConfidence, t);
    assert.deepEqual(await loaded.predict(texts), want);
    const joined = texts.map((c) => c.join(''));
    const inline = await new NeuralTagger(loaded).tag(joined);
    assert.deepEqual(inline.map((ms) => ms.map((m) => `${m.start}-${m.end}-${m.label}`)), spanKeys(want));
    const thread = await ThreadTagger.open(join(dir, 'cut'), { backend: BACKEND });
    try {
      assert.deepEqual(await thread.tag(joined), inline);
    } finally {
      await thread.close();
    }
  } finally {
    loaded.dispose();
  }
  // An ensemble of the model twice averages to the same potentials: it starts without the member's
  // threshold, and applies its own through the same decoding.
  const members = await Promise.all([0, 1].map(async () => ({ ...(await TaggerModel.load(join(dir, 'cut'))), dir: join(dir, 'cut') })));
  const ens = ensembleModel(members, { nonOBias: BIAS });
  try {
    assert.equal(ens.meta.minSpanConfidence, 0);
    assert.deepEqual(spanKeys(await ens.predict(texts)), spanKeys(plain));
    ens.meta.minSpanConfidence = t;
    assert.deepEqual(spanKeys(await ens.predict(texts)), spanKeys(want));
  } finally {
    ens.dispose();
  }
});

test('a manifest whose minSpanConfidence is not in [0, 1) is refused with a one-line error naming the file', async () => {
  model.meta.minSpanConfidence = 0;
  await model.save(join(dir, 'bad'), { training: TRAINING, scores: {} });
  const m = JSON.parse(await readFile(join(dir, 'bad', 'manifest.json'), 'utf8'));
  for (const bad of [1, 1.5, -0.1, 'high', null]) {
    m.decoding = { nonOBias: 0, minSpanConfidence: bad };
    await writeFile(join(dir, 'bad', 'manifest.json'), JSON.stringify(m));
    await assert.rejects(TaggerModel.load(join(dir, 'bad')), (err: unknown) => {
      assert.ok(err instanceof ModelArtifactError);
      assert.match(err.message, /^model artifact .*bad: manifest\.json: decoding\.minSpanConfidence must be a number with 0 <= t < 1/);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  }
  m.decoding = { nonOBias: 0, minSpanConfidence: 0.5 };
  await writeFile(join(dir, 'bad', 'manifest.json'), JSON.stringify(m));
  const { model: ok } = await TaggerModel.load(join(dir, 'bad'));
  assert.equal(ok.meta.minSpanConfidence, 0.5);
  ok.dispose();
});
