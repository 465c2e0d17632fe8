/**
 * A model with SoftLexicon features (a toy dictionary written by the test,
 * not jieba's, not corpus text): training stores the kept entries in a
 * format-5 artifact, the features reach the NER emissions, the artifact
 * loads into a model that decodes identically, and older artifacts (no tag
 * features; name-dictionary features, format 3) still load and decode as
 * before. A reader that predates format 5 refuses the new artifact.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ModelArtifactError } from '../../common/errors.js';
import { ARTIFACT_VERSION } from '../../models/artifact/manifest.js';
import { makeBatch } from '../../models/batch.js';
import { FEATURE_TEMPLATES } from '../../models/features/lexical.js';
import { SOFT_LEXICON_TEMPLATES } from '../../models/features/softLexicon.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { resolveTrainOptions } from '../../pipeline/train/options.js';
import { trainTagger } from '../../pipeline/train/trainTagger.js';
import { testBackend } from '../support/backend.js';
import { TINY, tinyModel } from '../support/tiny.js';

const DICT = ['张三 5 nr', '李四 3 nrt', '北京 1000 ns', '上海 800 ns', '长江 40 ns', '微软 30 nt', '微软公司 9 nt', '老师 900 n', '学校 700 n', '工作 5000 vn', '很 90000 d', '北京大学 50 nt'].join('\n');

let dir: string;
let dictFile: string;

before(async () => {
  await testBackend();
  dir = await mkdtemp(join(tmpdir(), 'mf-softlexicon-'));
  dictFile = join(dir, 'toy-dict.txt');
  await writeFile(dictFile, DICT + '\n');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function trainToy(outDir: string, extra: Record<string, unknown> = {}) {
  const options = resolveTrainOptions({ epochs: 4, useHidden: true, useEmbeddings: false, embeddingDim: 8, hiddenDim: 8, lexicalBuckets: 512, batchSize: 2, earlyStopPatience: 100, seed: 3, softLexiconFile: dictFile, ...extra });
  const logs: string[] = [];
  const r = await trainTagger({ ner: { train: TINY, dev: TINY }, options, outDir, modelId: 'soft-lexicon-test', data: [], quiet: true, log: (m) => logs.push(m) });
  return { ...r, logs };
}

async function emissions(model: TaggerModel, chars: readonly string[]): Promise<number[]> {
  const em = model.network.emissions('ner', makeBatch([model.encode(chars)]));
  const out = Array.from(await em.data());
  em.dispose();
  return out;
}

test('training with a SoftLexicon dictionary: entries in a format-5 artifact that decodes identically after loading', async () => {
  const out = join(dir, 'trained');
  const { model, logs } = await trainToy(out, { softLexiconTopN: 11 });
  assert.ok(logs.some((m) => /SoftLexicon features from toy-dict\.txt .*top 11 by frequency\): 11 words/.test(m)), logs.join(' | '));
  const chars = TINY[0].chars;
  assert.equal(model.encode(chars).features!.length, chars.length * (FEATURE_TEMPLATES + SOFT_LEXICON_TEMPLATES));
  const { model: loaded, manifest } = await TaggerModel.load(out);
  assert.equal(manifest.formatVersion, 6);
  const sl = manifest.tagFeatures?.softLexicon;
  assert.equal(sl?.source, 'toy-dict.txt');
  assert.equal(sl?.topN, 11);
  assert.equal(sl?.entries.split('\n').length, 11);
  assert.ok(!sl?.entries.includes('李四'), 'the least frequent word is pruned by topN');
  assert.ok(sl?.entries.includes('张三 5 nr'));
  assert.ok(manifest.training.data.some((d) => d.role === 'soft-lexicon' && d.file === 'toy-dict.txt' && d.sentences === 11));
  // the saved best epoch decodes as the in-memory model of that epoch: save the final weights and compare
  const final = join(dir, 'final');
  await model.save(final, { training: { seed: 3, epochs: 4, bestEpoch: 4, data: [], options: {} }, scores: {} });
  const { model: back } = await TaggerModel.load(final);
  const sentences = [...TINY.map((s) => s.chars), [...'我在北京大学见到了张三和李四']];
  const a = await model.predict(sentences);
  const b = await back.predict(sentences);
  assert.deepEqual(b.map((p) => p.tags), a.map((p) => p.tags));
  b.forEach((p, i) => p.spans.forEach((s, j) => assert.ok(Math.abs(s.confidence - a[i].spans[j].confidence) < 1e-5)));
  for (const s of sentences) assert.deepEqual(await emissions(back, s), await emissions(model, s));
  back.dispose();
  loaded.dispose();
  model.dispose();
});

test('the SoftLexicon features reach the emissions: same weights, another dictionary, other emissions', async () => {
  const out = join(dir, 'reach');
  const { model } = await trainToy(out);
  model.dispose();
  const manifestFile = join(out, 'manifest.json');
  const original = await readFile(manifestFile, 'utf8');
  const { model: withDict } = await TaggerModel.load(out);
  // the same artifact with the word 北京 removed from its stored dictionary (the manifest is not covered by the weights' checksum)
  const m = JSON.parse(original) as { tagFeatures: { softLexicon: { entries: string } } };
  m.tagFeatures.softLexicon.entries = m.tagFeatures.softLexicon.entries.split('\n').filter((l) => !l.startsWith('北京 ')).join('\n');
  await writeFile(manifestFile, JSON.stringify(m));
  const { model: without } = await TaggerModel.load(out);
  const chars = TINY[0].chars; // 张三在北京工作
  const x = await emissions(withDict, chars);
  const y = await emissions(without, chars);
  const k = withDict.nerTags.size;
  const rowsDiffering = Array.from({ length: chars.length }, (_, t) => x.slice(t * k, (t + 1) * k).some((v, j) => Math.abs(v - y[t * k + j]) > 1e-6));
  // 北 and 京 (positions 3, 4) lose their B/E sets; the LSTM input is the same, so no other position's emissions move
  assert.deepEqual(rowsDiffering, [false, false, false, true, true, false, false]);
  withDict.dispose();
  without.dispose();
});

test('older artifacts load and decode as before: no tag features (format 1), name-dictionary features (format 3)', async () => {
  const plain = tinyModel({ lexicalBuckets: 256 });
  const p = join(dir, 'format1');
  await plain.save(p, { training: { seed: 1, epochs: 0, bestEpoch: 0, data: [], options: {} }, scores: {} });
  const { model: plainBack, manifest: pm } = await TaggerModel.load(p);
  assert.equal(pm.formatVersion, 1);
  assert.equal(plainBack.tagFeatures, undefined);
  const sentences = TINY.map((s) => s.chars);
  assert.deepEqual((await plainBack.predict(sentences)).map((x) => x.tags), (await plain.predict(sentences)).map((x) => x.tags));
  assert.equal(plainBack.encode(sentences[0]).features!.length, sentences[0].length * FEATURE_TEMPLATES);
  plain.dispose();
  plainBack.dispose();

  const names = join(dir, 'names.txt');
  await writeFile(names, '张三 5 nr\n北京 10 ns\n');
  const out = join(dir, 'format3');
  const options = resolveTrainOptions({ epochs: 1, useHidden: true, embeddingDim: 8, hiddenDim: 8, lexicalBuckets: 512, batchSize: 2, seed: 1, lexiconFile: names });
  const r = await trainTagger({ ner: { train: TINY, dev: TINY }, options, outDir: out, modelId: 'format3', data: [], quiet: true, log: () => undefined });
  const { model, manifest } = await TaggerModel.load(out);
  assert.equal(manifest.formatVersion, 3);
  assert.equal(manifest.tagFeatures?.softLexicon, undefined);
  assert.deepEqual((await model.predict(sentences)).map((x) => x.tags), (await r.model.predict(sentences)).map((x) => x.tags));
  model.dispose();
  r.model.dispose();
});

test('a manifest claiming a format newer than this reader\'s is refused with a message', async () => {
  const out = join(dir, 'reach');
  const file = join(out, 'manifest.json');
  const m = JSON.parse(await readFile(file, 'utf8')) as { formatVersion: number };
  m.formatVersion = ARTIFACT_VERSION + 1;
  await writeFile(file, JSON.stringify(m));
  const why = `format version ${ARTIFACT_VERSION + 1} is newer than this mentionflow supports (${ARTIFACT_VERSION})`;
  await assert.rejects(TaggerModel.load(out), (e: unknown) => e instanceof ModelArtifactError && e.message.includes(why));
});

test('options: SoftLexicon features need lexical buckets; word length and top N are checked', () => {
  assert.throws(() => resolveTrainOptions({ softLexiconFile: 'dict.txt', lexicalBuckets: 0 }), /softLexiconFile adds SoftLexicon features .* set lexicalBuckets > 0/);
  assert.throws(() => resolveTrainOptions({ softLexiconMaxWordLength: 1 }), /option "softLexiconMaxWordLength" must be an integer in \[2, 100\]/);
  assert.throws(() => resolveTrainOptions({ softLexiconTopN: -1 }), /option "softLexiconTopN"/);
  assert.throws(() => resolveTrainOptions({ softLexiconFile: '' }), /option "softLexiconFile" must be a file path/);
  assert.equal(resolveTrainOptions({}).softLexiconFile, undefined);
});
