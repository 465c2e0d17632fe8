/**
 * Segmentation in the library API: NeuralTagger.segment returns the words
 * the model's segmentation head predicts (a tiny joint model trained here on
 * hand-written sentences), with code-point and UTF-16 offsets, whitespace as
 * a boundary, long texts in pieces, no tensors left behind; a model without
 * a segmentation head is a ConfigError. Then the shipped model's head.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ConfigError, defaultModelDir, loadTagger, NeuralTagger, TaggerModel, type Word } from '../../index.js';
import { lengthsToBies } from '../../models/text/segTags.js';
import { ENTITY_LABELS, TagDictionary } from '../../models/text/tagScheme.js';
import { Vocabulary } from '../../models/text/vocabulary.js';
import { bucketedBatches } from '../../pipeline/train/trainNer.js';
import { train } from '../../pipeline/train/trainer.js';
import { testBackend } from '../support/backend.js';
import { tinyModel } from '../support/tiny.js';

/** Hand-written segmented sentences (not corpus excerpts). */
const SEGMENTED = ['张三 在 北京 工作', '我 爱 上海', '李四 是 老师', '这个 学校 很 大', '北京 很 大'].map((line) => line.split(' '));

async function tinyJointModel(): Promise<TaggerModel> {
  const vocab = Vocabulary.build(SEGMENTED.map((ws) => Array.from(ws.join(''))), { normalize: true });
  const tags = TagDictionary.forLabels([...ENTITY_LABELS], 'BIO');
  const model = TaggerModel.create(
    {
      vocabSize: vocab.size,
      embeddingDim: 16,
      hiddenDim: 16,
      bidirectional: true,
      dropout: 0,
      ner: { numTags: tags.size, useHidden: true, useEmbeddings: false, lexicalBuckets: 0 },
      seg: { numTags: 4, useHidden: true, useEmbeddings: false, lexicalBuckets: 0 },
    },
    vocab,
    tags,
    { modelId: 'tiny-joint', modelVersion: 'test', scheme: 'BIO', maxLength: 8 },
    1,
  );
  const encoded = SEGMENTED.map((ws) => model.encode(Array.from(ws.join('')), lengthsToBies(ws.map((w) => Array.from(w).length)), 'seg'));
  await train(model.network, [{ head: 'seg', weight: 1, learningRate: 0.05, epochBatches: bucketedBatches(encoded, 2) }], async () => ({}), { epochs: 60, seed: 1, clipNorm: 5, optimizer: 'adam' }, []);
  return model;
}

/** Offsets agree with the text and with each other; the words are the text's non-whitespace code points, in order. */
function checkWords(text: string, words: readonly Word[]): void {
  const cps = Array.from(text);
  for (const w of words) {
    assert.equal(cps.slice(w.start, w.end).join(''), w.text);
    assert.equal(text.slice(w.start_utf16, w.end_utf16), w.text);
    assert.ok(w.end > w.start && !/\s/u.test(w.text), JSON.stringify(w));
  }
  for (let i = 1; i < words.length; i++) assert.ok(words[i].start >= words[i - 1].end);
  assert.equal(words.map((w) => w.text).join(''), cps.filter((c) => !/^\s$/u.test(c)).join(''));
}

test('segment returns the words the segmentation head learned, with offsets; whitespace splits; long texts in pieces; no tensor leak', async () => {
  await testBackend();
  const model = await tinyJointModel();
  const tagger = new NeuralTagger(model);
  assert.equal(tagger.canSegment, true);
  const texts = ['张三在北京工作', '我爱上海', '', '😀 李四是老师', '北京很大这个学校很大'];
  const before = tf.memory().numTensors;
  const out = await tagger.segment(texts);
  assert.equal(tf.memory().numTensors, before, 'segment() left tensors behind');
  assert.equal(out.length, texts.length);
  out.forEach((words, i) => checkWords(texts[i], words));
  // the trained segmentation, not characters and not the text's own split
  assert.deepEqual(out[0].map((w) => w.text), SEGMENTED[0]);
  assert.deepEqual(out[1].map((w) => w.text), SEGMENTED[1]);
  assert.deepEqual(out[2], []);
  // 😀 is one code point and two UTF-16 units; the space is a boundary and not a word
  const li = out[3].find((w) => w.text === '李四');
  assert.ok(li, JSON.stringify(out[3]));
  assert.deepEqual([li.start, li.end, li.start_utf16, li.end_utf16], [2, 4, 3, 5]);
  // 10 code points with maxLength 8: two pieces; offsets continue across them
  assert.ok(out[4].every((w) => w.end <= 8 || w.start >= 8), 'a word spans two pieces');
  assert.deepEqual(out[4].slice(0, 3).map((w) => w.text), ['北京', '很', '大']);
  tagger.dispose();
});

test('segment on a model without a segmentation head is a ConfigError saying so', async () => {
  await testBackend();
  const tagger = new NeuralTagger(tinyModel());
  assert.equal(tagger.canSegment, false);
  await assert.rejects(tagger.segment(['我爱上海']), (e: unknown) => e instanceof ConfigError && /has no segmentation head \(trained for NER only\)/.test(e.message));
  tagger.dispose();
});

test('the shipped model segments through loadTagger: words cover the text, offsets agree with it', async (t) => {
  if (!existsSync(defaultModelDir())) {
    t.skip(`no shipped model at ${defaultModelDir()}`);
    return;
  }
  const tagger = await loadTagger();
  try {
    assert.equal(tagger.canSegment, true);
    const texts = ['我在北京见到了周杰伦', '今天 天气不错😀，去五道口吃饭', 'x'.repeat(450)];
    const out = await tagger.segment(texts);
    out.forEach((words, i) => checkWords(texts[i], words));
    assert.ok(out[0].length >= 3 && out[0].length < 10, JSON.stringify(out[0])); // words, not one blob and not single characters
  } finally {
    tagger.dispose();
  }
});
