/**
 * Models with tag features (segmentation features from their own CRF
 * segmenter, name-dictionary features): training in seg mode "features"
 * keeps the segmenter frozen while NER trains, the artifact (format 3)
 * carries the dictionary words and the segmenter and loads into a model that
 * predicts the same, resuming reproduces the uninterrupted run, and older
 * artifacts still load. Hand-written fixtures, not corpus excerpts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseSegmented } from '../../models/data/segmentation.js';
import { FEATURE_TEMPLATES } from '../../models/features/lexical.js';
import { TEMPLATES_PER_CHANNEL } from '../../models/features/tagFeatures.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { TABLE1_ROWS } from '../../pipeline/train/experiments/table1Rows.js';
import { resolveTrainOptions } from '../../pipeline/train/options.js';
import { trainTagger } from '../../pipeline/train/trainTagger.js';
import { testBackend } from '../support/backend.js';
import { TINY, tinyModel } from '../support/tiny.js';

const SEG = parseSegmented(['张三 在 北京 工作', '我 爱 上海', '李四 是 老师', '微软 公司 发布 新品', '长江 很 美', '这个 学校 很 大', '我们 在 上海 工作'].join('\n'), 'fixture');
const LEXICON = ['张三 5 nr', '李四 3 nr', '北京 10 ns', '上海 8 ns', '长江 4 ns', '微软 3 nt', '老师 9 n'].join('\n');

let dir: string;
let lexiconFile: string;

before(async () => {
  await testBackend();
  dir = await mkdtemp(join(tmpdir(), 'mf-tagfeatures-'));
  lexiconFile = join(dir, 'names.txt');
  await writeFile(lexiconFile, LEXICON + '\n');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(outDir: string, epochs: number, opts: { resume?: boolean; keepCheckpoint?: boolean; logs?: string[] } = {}) {
  const options = resolveTrainOptions({ epochs, pretrainEpochs: 3, useHidden: false, useEmbeddings: true, embeddingDim: 8, lexicalBuckets: 512, batchSize: 2, earlyStopPatience: 100, segDevSample: 0, seed: 2, lexiconFile });
  const logs = opts.logs ?? [];
  const r = await trainTagger({
    ner: { train: TINY, dev: TINY },
    seg: { train: SEG, dev: SEG, mode: 'features' },
    options,
    outDir,
    modelId: 'tag-features-test',
    data: [],
    quiet: true,
    resume: opts.resume,
    keepCheckpoint: opts.keepCheckpoint,
    log: (m) => logs.push(m),
  });
  const weights = new Map([...r.model.network.params()].map(([k, v]) => [k, Array.from(v.dataSync())]));
  return { result: r, weights, history: r.history.map((h) => ({ epoch: h.epoch, loss: h.loss, dev: h.dev })) };
}

test('seg mode "features" + dictionary: frozen segmenter, NER features per position, format-3 artifact that round-trips', async () => {
  const logs: string[] = [];
  const short = await run(join(dir, 'short'), 1);
  const long = await run(join(dir, 'long'), 6, { logs });
  assert.ok(logs.some((m) => m.includes('training the CRF segmenter on 7 sentences')), logs.join(' | '));
  assert.ok(logs.some((m) => m.includes('PER 2, LOC 3, ORG 1 words')), logs.join(' | '));
  // NER training leaves the segmenter alone: its weights are those after pretraining, whatever the NER epochs
  const segNames = [...long.weights.keys()].filter((k) => k.startsWith('seg/'));
  assert.ok(segNames.length >= 2, `seg weights: ${segNames.join(', ')}`);
  for (const k of segNames) assert.deepEqual(long.weights.get(k), short.weights.get(k), k);
  assert.notDeepEqual(long.weights.get('ner/lexical/table'), short.weights.get('ner/lexical/table'));
  short.result.model.dispose();

  const model = long.result.model;
  const chars = TINY[0].chars;
  const [segTags] = (await model.predictSegmentation([chars]))!;
  assert.equal(segTags.length, chars.length);
  const enc = model.encode(chars, undefined, 'ner', segTags);
  // lexical templates, then 5 templates for each of seg, dict.LOC, dict.ORG, dict.PER
  assert.equal(enc.features!.length, chars.length * (FEATURE_TEMPLATES + 4 * TEMPLATES_PER_CHANNEL));
  assert.equal(model.encode(chars, undefined, 'seg').features!.length, chars.length * FEATURE_TEMPLATES);
  assert.throws(() => model.encode(chars, undefined, 'ner'), /predicted segmentation/);
  const otherSeg = model.encode(chars, undefined, 'ner', chars.map(() => 'S'));
  assert.notDeepEqual([...otherSeg.features!], [...enc.features!]);

  // the training run saved its best epoch; save the final one and load it back
  const artifact = join(dir, 'round-trip');
  await model.save(artifact, { training: { seed: 2, epochs: 6, bestEpoch: 6, data: [], options: {} }, scores: {} });
  const best = await TaggerModel.load(join(dir, 'long'));
  assert.ok(best.manifest.training.data.some((d) => d.role === 'lexicon' && d.file === 'names.txt' && d.sentences === 6));
  best.model.dispose();
  const { model: loaded, manifest } = await TaggerModel.load(artifact);
  assert.equal(manifest.formatVersion, 3);
  assert.equal(manifest.tagFeatures?.segmentation, true);
  assert.deepEqual(manifest.tagFeatures?.dictionary, { source: 'names.txt', minFreq: 1, minLength: 2, words: { PER: '张三 李四', LOC: '上海 北京 长江', ORG: '微软' } });
  const sentences = TINY.map((s) => s.chars);
  assert.deepEqual(await loaded.predictSegmentation(sentences), await model.predictSegmentation(sentences));
  const a = await model.predict(sentences);
  const b = await loaded.predict(sentences);
  assert.deepEqual(b.map((p) => p.tags), a.map((p) => p.tags));
  b.forEach((p, i) => p.spans.forEach((s, j) => assert.ok(Math.abs(s.confidence - a[i].spans[j].confidence) < 1e-5)));
  assert.deepEqual([...loaded.encode(chars, undefined, 'ner', segTags).features!], [...enc.features!]);
  loaded.dispose();
  model.dispose();
});

test('a resumed seg-features run reproduces the uninterrupted run (NER features are computed after the checkpoint is restored)', async () => {
  const straight = await run(join(dir, 'ra'), 3);
  straight.result.model.dispose();
  const b = join(dir, 'rb');
  (await run(b, 1, { keepCheckpoint: true })).result.model.dispose();
  assert.ok(existsSync(join(b, 'checkpoint')));
  const logs: string[] = [];
  const resumed = await run(b, 3, { resume: true, logs });
  resumed.result.model.dispose();
  assert.ok(logs.some((m) => m.includes('resumed from the checkpoint')), logs.join(' | '));
  assert.ok(!logs.some((m) => m.includes('training the CRF segmenter')), 'the segmenter is not trained again on resume');
  assert.deepEqual(resumed.history, straight.history);
  assert.deepEqual(resumed.weights, straight.weights);
});

test('artifacts without tag features (format 1) still load and have none', async () => {
  const plain = tinyModel();
  const out = join(dir, 'format1');
  await plain.save(out, { training: { seed: 1, epochs: 0, bestEpoch: 0, data: [], options: {} }, scores: {} });
  plain.dispose();
  const { model, manifest } = await TaggerModel.load(out);
  assert.equal(manifest.formatVersion, 1);
  assert.equal(manifest.tagFeatures, undefined);
  assert.equal(model.tagFeatures, undefined);
  assert.equal((await model.predictSegmentation([['我']])), undefined);
  model.dispose();
});

test('Table 1 rows 2 and 6 are built: baseline features / character embeddings plus segmentation features', () => {
  const row = (id: string) => TABLE1_ROWS.find((r) => r.id === id);
  assert.deepEqual(row('2')?.seg, 'features');
  assert.deepEqual(row('6')?.seg, 'features');
  const o2 = resolveTrainOptions({ ...row('2')!.options });
  assert.equal(o2.useHidden || o2.useEmbeddings, false);
  assert.ok(o2.lexicalBuckets > 0);
  const o6 = resolveTrainOptions({ ...row('6')!.options });
  assert.equal(o6.useHidden, false);
  assert.equal(o6.useEmbeddings, true);
  assert.ok(o6.lexicalBuckets > 0);
  assert.throws(() => resolveTrainOptions({ lexiconFile: 'x', lexicalBuckets: 0 }), /lexicalBuckets > 0/);
});

test('each control row is its joint row\'s network without the segmentation objective', () => {
  const row = (id: string) => TABLE1_ROWS.find((r) => r.id === id)!;
  for (const [joint, control] of [['11', 'control'], ['8', 'control-8'], ['11-cp', 'control-cp']]) {
    assert.equal(row(joint).seg, 'joint');
    assert.equal(row(control).seg, undefined);
    assert.equal(row(control).embeddings, row(joint).embeddings);
    assert.deepEqual(resolveTrainOptions({ ...row(control).options }), resolveTrainOptions({ ...row(joint).options }));
  }
  // the pipeline rows differ from their joint row only in how segmentation is trained
  for (const [joint, pipeline] of [['11', '7'], ['11-cp', '7-cp']]) {
    assert.equal(row(pipeline).seg, 'pipeline');
    assert.equal(row(pipeline).embeddings, row(joint).embeddings);
    assert.deepEqual(resolveTrainOptions({ ...row(pipeline).options }), resolveTrainOptions({ ...row(joint).options }));
  }
});
