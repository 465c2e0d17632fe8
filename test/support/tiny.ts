/**
 * Hand-written tiny NER data (written for this project, not corpus
 * excerpts) and a small model factory for conformance tests.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NerSentence } from '../../models/data/conll.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { toCodePoints } from '../../models/text/codepoints.js';
import { ENTITY_LABELS, TagDictionary } from '../../models/text/tagScheme.js';
import { Vocabulary } from '../../models/text/vocabulary.js';
import { bucketedBatches } from '../../pipeline/train/trainNer.js';
import { train } from '../../pipeline/train/trainer.js';
import { evaluateNer } from '../../pipeline/train/evaluate.js';

function s(text: string, tags: string): NerSentence {
  const chars = toCodePoints(text);
  const t = tags.split(' ');
  if (t.length !== chars.length) throw new Error(`fixture "${text}": ${chars.length} chars, ${t.length} tags`);
  return { chars, tags: t };
}

export const TINY: NerSentence[] = [
  s('张三在北京工作', 'B-PER.NAM I-PER.NAM O B-GPE.NAM I-GPE.NAM O O'),
  s('我爱上海', 'O O B-GPE.NAM I-GPE.NAM'),
  s('李四是老师', 'B-PER.NAM I-PER.NAM O B-PER.NOM I-PER.NOM'),
  s('微软公司发布新品', 'B-ORG.NAM I-ORG.NAM I-ORG.NOM I-ORG.NOM O O O O'.replace('I-ORG.NOM I-ORG.NOM', 'I-ORG.NAM I-ORG.NAM')),
  s('😀长江很美', 'O B-LOC.NAM I-LOC.NAM O O'),
  s('这个学校很大', 'O O B-ORG.NOM I-ORG.NOM O O'),
];

export interface TinyModelOptions {
  seed?: number;
  lexicalBuckets?: number;
  scheme?: 'BIO' | 'BIOES';
  /** Entity labels of its tag dictionary (default: the 8 WeiboNER labels). */
  labels?: readonly string[];
}

export function tinyModel(opts: TinyModelOptions = {}): TaggerModel {
  const vocab = Vocabulary.build(TINY.map((x) => x.chars), { normalize: true });
  const scheme = opts.scheme ?? 'BIO';
  const tags = TagDictionary.forLabels([...(opts.labels ?? ENTITY_LABELS)], scheme);
  return TaggerModel.create(
    {
      vocabSize: vocab.size,
      embeddingDim: 16,
      hiddenDim: 16,
      bidirectional: true,
      dropout: 0,
      ner: { numTags: tags.size, useHidden: true, useEmbeddings: false, lexicalBuckets: opts.lexicalBuckets ?? 0 },
    },
    vocab,
    tags,
    { modelId: 'tiny', modelVersion: 'test', scheme, maxLength: 64 },
    opts.seed ?? 1,
  );
}

/** Trains a tiny model on `data` (default TINY) until it fits; returns its F1 on TINY. */
export async function fitTiny(model: TaggerModel, epochs = 40, data: readonly NerSentence[] = TINY): Promise<number> {
  await train(
    model.network,
    [{ head: 'ner', weight: 1, learningRate: 0.05, epochBatches: bucketedBatches(data.map((x) => model.encode(x.chars, x.tags)), 3) }],
    async () => ({}),
    { epochs, seed: 1, clipNorm: 5, optimizer: 'adam' },
    [],
  );
  return (await evaluateNer(model, TINY)).scores.overall.f1;
}

/**
 * Flips one byte of a model artifact's weights.bin in place (its checksum
 * no longer matches): a disk fault or a damaged copy, for the tests of
 * refusing a corrupt model.
 */
export function corruptWeights(modelDir: string): void {
  const weights = join(modelDir, 'weights.bin');
  const bytes = readFileSync(weights);
  bytes[10] ^= 0xff;
  writeFileSync(weights, bytes);
}
