/**
 * A tagger over char-positional tokens that starts from pre-trained
 * embeddings: trains, saves (manifest records charPositional, format 2),
 * loads and predicts identically; embedding rows come from the file; bad
 * combinations are ConfigErrors.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ConfigError } from '../../../common/errors.js';
import { NeuralTagger } from '../../../models/tagger.js';
import { TaggerModel } from '../../../models/taggerModel.js';
import { charPositionTokens, inputTokens } from '../../../models/text/charPositions.js';
import { jiebaSegmenter } from '../../../models/text/jiebaSegmenter.js';
import { resolveTrainOptions, type TrainOptions } from '../../../pipeline/train/options.js';
import { readEmbeddings, writeEmbeddings } from '../../../pipeline/train/pretrain/embeddingsFile.js';
import { trainWord2Vec } from '../../../pipeline/train/pretrain/word2vec.js';
import { trainTagger } from '../../../pipeline/train/trainTagger.js';
import { testBackend } from '../../support/backend.js';
import { TINY } from '../../support/tiny.js';

let dir: string;
let embFile: string;
let charEmbFile: string;

/** Pre-trains tiny embeddings on the TINY sentences (their text only). */
async function tinyEmbeddings(file: string, positional: boolean, dim = 16): Promise<void> {
  const segment = positional ? jiebaSegmenter() : undefined;
  const corpus = TINY.map((s) => [...inputTokens(s.chars, { charPositional: positional, normalize: true }, segment)]);
  const r = trainWord2Vec(corpus, { dim, epochs: 3, minCount: 1, quiet: true });
  // One token the NER training data never has: it must join the vocabulary with its vector.
  const extra = positional ? '鹅0' : '鹅';
  await writeEmbeddings(file, { dim, tokens: [...r.tokens, extra], vectors: Float32Array.from([...r.vectors, ...new Array(dim).fill(0.25)]), meta: { positional, normalize: true } });
}

function options(over: Partial<TrainOptions>): TrainOptions {
  return resolveTrainOptions({ epochs: 3, batchSize: 3, learningRate: 0.05, embeddingDim: 16, hiddenDim: 8, dropout: 0, lexicalBuckets: 512, useHidden: false, useEmbeddings: true, ...over }, 'test');
}

function spec(outDir: string, o: TrainOptions) {
  return { ner: { train: TINY, dev: TINY }, options: o, outDir, modelId: 'tiny-charpos', data: [], quiet: true, log: () => {} };
}

before(async () => {
  await testBackend();
  dir = await mkdtemp(join(tmpdir(), 'mentionflow-charpos-'));
  embFile = join(dir, 'charpos.emb');
  charEmbFile = join(dir, 'char.emb');
  await tinyEmbeddings(embFile, true);
  await tinyEmbeddings(charEmbFile, false);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('charPositional + embeddingsFile: rows from the file, trains, saves, loads and predicts identically', async () => {
  const out = join(dir, 'model');
  const emb = await readEmbeddings(embFile);
  const { model } = await trainTagger(spec(out, options({ charPositional: true, embeddingsFile: embFile, epochs: 1, learningRate: 1e-6 })));
  try {
    // Vocabulary over char-positional tokens, extended with the file's tokens.
    assert.ok(model.vocab.indexOf('北0') > 1 && model.vocab.indexOf('京1') > 1);
    assert.equal(model.vocab.indexOf('北'), 1);
    const goose = model.vocab.indexOf('鹅0');
    assert.ok(goose > 1, 'a pre-trained token missing from the training data joins the vocabulary');
    // Its row never gets a gradient: still the file's vector after training.
    const table = model.network.encoder!.embedding.table.arraySync() as number[][];
    for (const v of table[goose]) assert.ok(Math.abs(v - 0.25) < 1e-6);
    // A trained row moved at most a little at lr 1e-6 from its pre-trained vector.
    const r = emb.tokens.indexOf('北0');
    table[model.vocab.indexOf('北0')].forEach((v, k) => assert.ok(Math.abs(v - emb.vectors[r * 16 + k]) < 1e-3));
    const tokens = [...model.encode(TINY[0].chars).ids].map((id) => model.vocab.token(id));
    assert.deepEqual(tokens, charPositionTokens(TINY[0].chars, jiebaSegmenter()));
    assert.deepEqual(tokens.slice(3), ['北0', '京1', '工0', '作1']);
  } finally {
    model.dispose();
  }
});

test('a char-positional model round-trips through its artifact and the Tagger', async () => {
  const out = join(dir, 'model2');
  const { model } = await trainTagger(spec(out, options({ charPositional: true, embeddingsFile: embFile })));
  // trainTagger's artifact holds the best epoch; save the final state to compare predictions.
  const best = await TaggerModel.load(out);
  assert.equal(best.manifest.charPositional, true);
  assert.equal(best.manifest.formatVersion, 2);
  assert.ok(best.manifest.training.data.some((d) => d.role === 'embeddings' && d.file === 'charpos.emb'));
  best.model.dispose();
  await model.save(join(dir, 'final'), { training: { seed: 1, epochs: 3, bestEpoch: 3, data: [], options: {} }, scores: {} });
  const { model: loaded, manifest } = await TaggerModel.load(join(dir, 'final'));
  try {
    assert.equal(manifest.charPositional, true);
    assert.equal(loaded.meta.charPositional, true);
    const texts = [...TINY.map((s) => s.chars), [...'😀北京和上海']];
    assert.deepEqual(await loaded.predict(texts), await model.predict(texts));
    const [a, b] = await Promise.all([new NeuralTagger(model).tag(['😀长江很美']), new NeuralTagger(loaded).tag(['😀长江很美'])]);
    assert.deepEqual(b, a);
  } finally {
    model.dispose();
    loaded.dispose();
  }
});

test('plain-character models keep format version 1 and no charPositional field', async () => {
  const out = join(dir, 'model3');
  const { model } = await trainTagger(spec(out, options({ embeddingsFile: charEmbFile, epochs: 1 })));
  model.dispose();
  const { model: loaded, manifest } = await TaggerModel.load(out);
  assert.equal(manifest.formatVersion, 1);
  assert.equal(manifest.charPositional, undefined);
  assert.ok(loaded.vocab.indexOf('鹅') > 1);
  loaded.dispose();
});

test('mismatched embeddings and options are ConfigErrors', async () => {
  await assert.rejects(trainTagger(spec(join(dir, 'x'), options({ charPositional: false, embeddingsFile: embFile }))), /holds char-positional tokens but charPositional is false/);
  await assert.rejects(trainTagger(spec(join(dir, 'y'), options({ charPositional: true, embeddingsFile: embFile, embeddingDim: 8 }))), /16-dimensional vectors but embeddingDim is 8/);
  assert.throws(() => options({ charPositional: true, useEmbeddings: false }), ConfigError);
  assert.throws(() => options({ embeddingsFile: '' }), /embeddingsFile/);
});
