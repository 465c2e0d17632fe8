// Train a (tiny) tagger on a CoNLL file, evaluate it, then load it and tag
// with it. The sentences are made up for this example; a real model needs
// thousands (e.g. WeiboNER: `mentionflow train-ner --help`).
// Run: node train.js [OUT_DIR]
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateNer, loadTagger, readConll, resolveTrainOptions, TaggerModel, trainNer, useBackend } from 'mentionflow';

const sentences: [string, string][] = [
  ['张三在北京工作', 'B-PER.NAM I-PER.NAM O B-GPE.NAM I-GPE.NAM O O'],
  ['李四去上海', 'B-PER.NAM I-PER.NAM O B-GPE.NAM I-GPE.NAM'],
  ['王五住在北京', 'B-PER.NAM I-PER.NAM O O B-GPE.NAM I-GPE.NAM'],
  ['我爱上海', 'O O B-GPE.NAM I-GPE.NAM'],
];
const conll = sentences
  .map(([text, tags]) => [...text].map((ch, i) => `${ch}\t${tags.split(' ')[i]}`).join('\n'))
  .join('\n\n');

const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'mentionflow-train-'));
mkdirSync(dir, { recursive: true });
const data = join(dir, 'train.conll');
writeFileSync(data, conll + '\n');

// Training computes on the active backend: pick it first (native, else WASM, else JS).
await useBackend('auto');
const options = resolveTrainOptions({ epochs: 15, batchSize: 2, embeddingDim: 16, hiddenDim: 16, lexicalBuckets: 4096, learningRate: 0.05, maxLength: 64 });
const out = join(dir, 'model');
const result = await trainNer({ trainFile: data, devFile: data, outDir: out, options, modelId: 'example-tiny', quiet: true, log: () => undefined });
console.log(JSON.stringify({ bestEpoch: result.best.epoch, trainF1: result.bestScores.overall.f1 }));
result.model.dispose();

const { model } = await TaggerModel.load(out);
const { scores } = await evaluateNer(model, await readConll(data));
console.log(JSON.stringify({ reloadedF1: scores.overall.f1 }));
model.dispose();

const tagger = await loadTagger({ model: out });
console.log(JSON.stringify({ text: '张三在上海', mentions: (await tagger.tag(['张三在上海']))[0] }));
tagger.dispose();
