/**
 * Single-task NER training (`mentionflow train-ner`): read the CoNLL train
 * and dev files, build the vocabulary and tag dictionary, train the
 * character BiLSTM-CRF with per-epoch dev evaluation, and keep the best
 * epoch as the model artifact in the output directory, next to the epoch
 * history (history.jsonl) and a training-curve plot (training-curve.svg).
 */
import { join } from 'node:path';
import { readConll, type NerSentence } from '../../models/data/conll.js';
import { lengthBuckets, makeBatch, type Batch } from '../../models/batch.js';
import type { NerScores } from '../../models/eval/spanScorer.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { ENTITY_LABELS, TagDictionary } from '../../models/text/tagScheme.js';
import { bioToSpans, spansToBio, spansToBioes } from '../../models/text/spans.js';
import { Vocabulary } from '../../models/text/vocabulary.js';
import type { Rng } from '../../models/rng.js';
import { evaluateNer } from './evaluate.js';
import { fingerprint } from './fingerprint.js';
import type { TrainOptions } from './options.js';
import { writeTrainingCurve } from './plot.js';
import { bestEpoch, historyLog, lrAnnealing, progressBar } from './plugins.js';
import { train, type EpochReport } from './trainer.js';

export interface TrainNerInput {
  trainFile: string;
  devFile: string;
  outDir: string;
  options: TrainOptions;
  modelId?: string;
  quiet?: boolean;
  log?: (msg: string) => void;
}

export interface TrainNerResult {
  model: TaggerModel;
  best: EpochReport;
  bestScores: NerScores;
  history: EpochReport[];
}

/** Re-tags gold data in the chosen scheme (also repairs I- tags that start a chunk). */
export function toScheme(sentences: readonly NerSentence[], scheme: 'BIO' | 'BIOES'): NerSentence[] {
  return sentences.map((s) => {
    const spans = bioToSpans(s.tags);
    return { chars: s.chars, tags: scheme === 'BIO' ? spansToBio(spans, s.chars.length) : spansToBioes(spans, s.chars.length) };
  });
}

/** Epoch batches of one labelled task: length-bucketed, bucket order shuffled each epoch. */
export function bucketedBatches(model: TaggerModel, data: readonly NerSentence[], batchSize: number, head: 'ner' | 'seg' = 'ner') {
  const encoded = data.map((s) => model.encode(s.chars, s.tags, head));
  return (_epoch: number, rng: Rng): Batch[] => {
    const order = rng.shuffled(data.map((_, i) => i));
    const lengths = order.map((i) => data[i].chars.length);
    return rng.shuffled(lengthBuckets(lengths, batchSize)).map((g) => makeBatch(g.map((j) => encoded[order[j]])));
  };
}

export async function trainNer(input: TrainNerInput): Promise<TrainNerResult> {
  const { options: o, outDir } = input;
  const log = input.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const [rawTrain, rawDev] = await Promise.all([readConll(input.trainFile), readConll(input.devFile)]);
  const trainData = toScheme(rawTrain, o.scheme).filter((s) => s.chars.length > 0);
  const devData = rawDev.filter((s) => s.chars.length > 0);
  log(`train: ${trainData.length} sentences from ${input.trainFile}; dev: ${devData.length} from ${input.devFile}`);
  const vocab = Vocabulary.build(
    trainData.map((s) => s.chars),
    { minFreq: o.minFreq, normalize: o.normalize },
  );
  const tags = TagDictionary.forLabels([...ENTITY_LABELS], o.scheme);
  const model = TaggerModel.create(
    {
      vocabSize: vocab.size,
      embeddingDim: o.embeddingDim,
      hiddenDim: o.hiddenDim,
      bidirectional: o.bidirectional,
      dropout: o.dropout,
      ner: { numTags: tags.size, useHidden: o.useHidden, useEmbeddings: o.useEmbeddings, lexicalBuckets: o.lexicalBuckets },
    },
    vocab,
    tags,
    { modelId: input.modelId ?? 'weibo-ner-bilstm-crf', modelVersion: `${new Date().toISOString().slice(0, 10)}-seed${o.seed}`, scheme: o.scheme, maxLength: o.maxLength },
    o.seed,
  );
  log(`model: vocabulary ${vocab.size}, ${tags.size} tags, ${[...model.network.params().values()].reduce((a, v) => a + v.size, 0)} parameters`);
  const data = [
    await fingerprint('ner-train', input.trainFile, trainData.length),
    await fingerprint('ner-dev', input.devFile, devData.length),
  ];
  let lastScores: NerScores | undefined;
  let bestScores: NerScores | undefined;
  const keeper = bestEpoch(
    'ner_f1',
    o.earlyStopPatience,
    async (report) => {
      bestScores = lastScores;
      await model.save(outDir, {
        training: { seed: o.seed, epochs: report.epoch, bestEpoch: report.epoch, data, options: { ...o } },
        scores: { dev: lastScores },
      });
    },
    log,
  );
  const history = await train(
    model.network,
    [{ head: 'ner', weight: 1, learningRate: o.learningRate, epochBatches: bucketedBatches(model, trainData, o.batchSize) }],
    async () => {
      lastScores = (await evaluateNer(model, devData)).scores;
      return { ner_f1: lastScores.overall.f1, ner_named_f1: lastScores.named.f1, ner_nominal_f1: lastScores.nominal.f1 };
    },
    { epochs: o.epochs, seed: o.seed, clipNorm: o.clipNorm, optimizer: o.optimizer },
    [progressBar(input.quiet ?? false), lrAnnealing(o.lrPatience, () => 'ner_f1', log), keeper, historyLog(outDir)],
  );
  await writeTrainingCurve(join(outDir, 'training-curve.svg'), history, ['ner_f1', 'ner_named_f1', 'ner_nominal_f1']);
  const best = keeper.best()!;
  log(`best epoch ${best.epoch}: dev F1 ${best.dev.ner_f1.toFixed(2)} (named ${best.dev.ner_named_f1.toFixed(2)}, nominal ${best.dev.ner_nominal_f1.toFixed(2)}); artifact in ${outDir}`);
  return { model, best, bestScores: bestScores!, history };
}
