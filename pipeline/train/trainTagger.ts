/**
 * Training of every configuration the project supports, from one spec:
 *   - NER only (`train-ner`, Table 1 rows 1, 5 and the control row);
 *   - joint: the paper's alternating optimisation of lambda * L_seg + L_ner,
 *     with a fresh subsample of the segmentation corpus, the size of the NER
 *     training set, at every epoch (rows 8-11);
 *   - pipeline: segmentation-only pretraining of the shared encoder, then NER
 *     fine-tuning of everything (row 7);
 *   - features: a CRF segmenter (a segmentation head on hashed lexical
 *     features only, sharing nothing with NER) is trained first on the whole
 *     segmentation corpus, then frozen; its predicted BIES tags of each NER
 *     sentence give the NER head segmentation features (rows 2 and 6; the
 *     artifact carries the segmenter, so serving computes the same).
 * With `lexiconFile`, the NER head also reads name-dictionary features
 * (models/features/tagFeatures.ts); the filtered words go in the artifact.
 * With `softLexiconFile`, SoftLexicon B/M/E/S word-set features
 * (models/features/softLexicon.ts); the kept entries go in the artifact.
 * With `charPositional`, the vocabulary and the embedding table are over
 * char-positional tokens (jieba); with `embeddingsFile`, the table starts
 * from pre-trained vectors (pipeline/train/pretrain/initEmbeddings.ts).
 * Per-epoch dev evaluation, learning rates halved after `lrPatience` epochs
 * without dev gain (each task on its own metric), early stopping, and the
 * best epoch by NER dev F1 saved as the model artifact in `outDir`, next to
 * history.jsonl and training-curve.svg. With `emaDecay` > 0, a moving
 * average of the weights (pipeline/train/weightAverage.ts) is scored on dev
 * too (`avg_ner_f1`, ...); early stopping and the saved best epoch follow
 * the averaged weights, and the artifact holds them.
 * With `silver` sentences (a teacher's labels of unlabelled text, `mentionflow
 * distil`: sequence-level knowledge distillation), every epoch's NER batches
 * mix a fresh subsample of silverRatio x the gold set's size of them into the
 * gold batches; dev scores, early stopping and the kept epoch stay on gold dev.
 */
import { readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ConfigError } from '../../common/errors.js';
import type { DataFingerprint } from '../../models/artifact/manifest.js';
import { lengthBuckets, makeBatch, type Batch, type EncodedSentence } from '../../models/batch.js';
import type { NerSentence } from '../../models/data/conll.js';
import type { SegSentence } from '../../models/data/segmentation.js';
import type { NerScores } from '../../models/eval/spanScorer.js';
import { parseSoftLexicon, serializeEntries } from '../../models/features/softLexicon.js';
import { dictionarySpec, parseNameLexicon, type TagFeaturesSpec } from '../../models/features/tagFeatures.js';
import type { HeadName } from '../../models/network/taggingNetwork.js';
import type { Rng } from '../../models/rng.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { detectScheme, hasMentionKinds, labelSetOf, spansToTags, tagsToSpans, TagDictionary, type TagScheme } from '../../models/text/tagScheme.js';
import { inputTokens } from '../../models/text/charPositions.js';
import { jiebaSegmenter } from '../../models/text/jiebaSegmenter.js';
import { Vocabulary } from '../../models/text/vocabulary.js';
import { hasCheckpoint } from './checkpoint.js';
import { evaluateNer, evaluateSeg } from './evaluate.js';
import { fingerprint } from './fingerprint.js';
import type { TrainOptions } from './options.js';
import { writeTrainingCurve } from './plot.js';
import { readEmbeddings, type Embeddings } from './pretrain/embeddingsFile.js';
import { initEmbeddingRows, withPretrainedTokens } from './pretrain/initEmbeddings.js';
import { bestEpoch, historyLog, lrAnnealing, progressBar } from './plugins.js';
import { train, type EpochReport, type TrainerPlugin, type TrainTask } from './trainer.js';
import { WeightAverage } from './weightAverage.js';

export type SegMode = 'joint' | 'pipeline' | 'features';

export interface TrainSpec {
  ner: { train: readonly NerSentence[]; dev: readonly NerSentence[] };
  /** Segmentation corpus for joint or pipeline training. */
  seg?: { train: readonly SegSentence[]; dev: readonly SegSentence[]; mode: SegMode };
  /** Silver NER sentences (a teacher's Viterbi tags, pipeline/train/distil.ts), mixed into each epoch by `options.silverRatio`; labels must be the gold set's. */
  silver?: readonly NerSentence[];
  options: TrainOptions;
  outDir: string;
  modelId: string;
  data: DataFingerprint[];
  quiet?: boolean;
  /** Continue from `<outDir>/checkpoint` if an earlier run was interrupted. */
  resume?: boolean;
  /** Keep `<outDir>/checkpoint` after a finished run (it is deleted by default). */
  keepCheckpoint?: boolean;
  log?: (msg: string) => void;
}

/** What a training run returns: the best model (also saved), its epoch and dev scores, and the per-epoch history. */
export interface TrainResult {
  model: TaggerModel;
  best: EpochReport;
  bestScores: NerScores;
  history: EpochReport[];
}

/**
 * Re-tags gold data in the chosen scheme (also repairs I- tags that start a
 * chunk). The data's own scheme (BIO or BIOES) is read from its tags.
 */
export function toScheme(sentences: readonly NerSentence[], scheme: TagScheme): NerSentence[] {
  const source = detectScheme(sentences.map((s) => s.tags));
  return sentences.map((s) => {
    const spans = tagsToSpans(s.tags, source);
    return { chars: s.chars, tags: spansToTags(spans, s.chars.length, scheme) };
  });
}

/** Length-bucketed batches of a fixed sentence list, bucket order shuffled each epoch. */
export function bucketedBatches(encoded: readonly EncodedSentence[], batchSize: number) {
  return (_epoch: number, rng: Rng): Batch[] => {
    const order = rng.shuffled(encoded.map((_, i) => i));
    return rng.shuffled(lengthBuckets(order.map((i) => encoded[i].ids.length), batchSize)).map((g) => makeBatch(g.map((j) => encoded[order[j]])));
  };
}

/** Batches of a fresh random subsample of `size` sentences at every epoch. */
export function subsampledBatches(encoded: readonly EncodedSentence[], size: number, batchSize: number) {
  return (_epoch: number, rng: Rng): Batch[] => {
    const pick = rng.sample(
      encoded.map((_, i) => i),
      size,
    );
    return rng.shuffled(lengthBuckets(pick.map((i) => encoded[i].ids.length), batchSize)).map((g) => makeBatch(g.map((j) => encoded[pick[j]])));
  };
}

/** The NER head's tag features of a training spec (dictionary words read from `lexiconFile`); undefined for none. */
export async function tagFeaturesOf(spec: Pick<TrainSpec, 'options' | 'seg'>): Promise<TagFeaturesSpec | undefined> {
  const o = spec.options;
  const out: TagFeaturesSpec = {};
  if (spec.seg?.mode === 'features') out.segmentation = true;
  if (o.lexiconFile !== undefined) {
    let text: string;
    try {
      text = await readFile(o.lexiconFile, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read lexiconFile ${o.lexiconFile}: ${(err as Error).message}`, { cause: err });
    }
    const filter = { minFreq: o.lexiconMinFreq, minLength: o.lexiconMinLength };
    out.dictionary = dictionarySpec(basename(o.lexiconFile), parseNameLexicon(text, filter), filter);
  }
  if (o.softLexiconFile !== undefined) {
    let text: string;
    try {
      text = await readFile(o.softLexiconFile, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read softLexiconFile ${o.softLexiconFile}: ${(err as Error).message}`, { cause: err });
    }
    const kept = { maxWordLength: o.softLexiconMaxWordLength, topN: o.softLexiconTopN };
    const entries = parseSoftLexicon(text, kept, o.softLexiconFile);
    out.softLexicon = { source: basename(o.softLexiconFile), ...kept, entries: serializeEntries(entries) };
  }
  return out.segmentation || out.dictionary || out.softLexicon ? out : undefined;
}

/** Silver sentences in the model's scheme, empty ones dropped; a ConfigError when none is left or one has a label the gold training set lacks. */
function checkedSilver(silver: readonly NerSentence[], gold: readonly NerSentence[], scheme: TagScheme): NerSentence[] {
  const kept = toScheme(silver.filter((s) => s.chars.length > 0), scheme);
  if (kept.length === 0) throw new ConfigError('silver data has no sentences');
  const labels = new Set(labelSetOf(gold.map((s) => s.tags)));
  const extra = labelSetOf(kept.map((s) => s.tags)).filter((l) => !labels.has(l));
  if (extra.length > 0) throw new ConfigError(`silver data has labels the gold training set does not: ${extra.join(', ')} (was it labelled by a teacher trained on other data?)`);
  return kept;
}

function softLexiconWords(entries: string): number {
  return entries.length === 0 ? 0 : entries.split('\n').length;
}

/** The model's tag scheme: the option, or with "auto" the training data's own. */
export function modelScheme(spec: Pick<TrainSpec, 'options' | 'ner'>): TagScheme {
  const o = spec.options.scheme;
  return o === 'auto' ? detectScheme(spec.ner.train.map((s) => s.tags)) : o;
}

function buildModel(spec: TrainSpec, tagFeatures: TagFeaturesSpec | undefined, embeddings?: Embeddings): TaggerModel {
  const o = spec.options;
  const scheme = modelScheme(spec);
  const chars = [...spec.ner.train.map((s) => s.chars), ...(spec.seg ? spec.seg.train.map((s) => s.chars) : []), ...(spec.silver ?? []).map((s) => s.chars)];
  const segment = o.charPositional ? jiebaSegmenter() : undefined;
  const tokens = chars.map((c) => inputTokens(c, { charPositional: o.charPositional, normalize: o.normalize }, segment));
  const trained = Vocabulary.build(tokens, { minFreq: o.minFreq, normalize: o.normalize });
  const vocab = embeddings ? withPretrainedTokens(trained, embeddings) : trained;
  // The label set comes from the training data (WeiboNER's 8 labels in their fixed order when it is WeiboNER data).
  const tags = TagDictionary.forLabels(labelSetOf(spec.ner.train.map((s) => s.tags)), scheme);
  return TaggerModel.create(
    {
      vocabSize: vocab.size,
      embeddingDim: o.embeddingDim,
      hiddenDim: o.hiddenDim,
      bidirectional: o.bidirectional,
      dropout: o.dropout,
      ner: { numTags: tags.size, useHidden: o.useHidden, useEmbeddings: o.useEmbeddings, lexicalBuckets: o.lexicalBuckets },
      seg: !spec.seg
        ? undefined
        : spec.seg.mode === 'features'
          ? { numTags: 4, useHidden: false, useEmbeddings: false, lexicalBuckets: o.lexicalBuckets > 0 ? o.lexicalBuckets : DEFAULT_SEGMENTER_BUCKETS }
          : { numTags: 4, useHidden: true, useEmbeddings: false, lexicalBuckets: 0 },
    },
    vocab,
    tags,
    { modelId: spec.modelId, modelVersion: `${new Date().toISOString().slice(0, 10)}-seed${o.seed}`, scheme, maxLength: o.maxLength, charPositional: o.charPositional, tagFeatures },
    o.seed,
  );
}

/** Hash buckets of the features-mode segmenter when the NER head has none of its own (it then cannot read tag features anyway). */
const DEFAULT_SEGMENTER_BUCKETS = 131072;

export async function trainTagger(spec: TrainSpec): Promise<TrainResult> {
  const o = spec.options;
  const log = spec.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const scheme = modelScheme(spec);
  const nerTrain = toScheme(spec.ner.train, scheme).filter((s) => s.chars.length > 0);
  const nerDev = spec.ner.dev.filter((s) => s.chars.length > 0);
  const silver = spec.silver ? checkedSilver(spec.silver, spec.ner.train, scheme) : undefined;
  const embeddings = o.embeddingsFile !== undefined ? await readEmbeddings(o.embeddingsFile) : undefined;
  if (embeddings?.meta.positional !== undefined && embeddings.meta.positional !== o.charPositional) {
    throw new ConfigError(`embeddings file ${o.embeddingsFile} holds ${embeddings.meta.positional ? 'char-positional' : 'plain character'} tokens but charPositional is ${o.charPositional}; pre-train ${o.charPositional ? 'with' : 'without'} --positional`);
  }
  if (spec.seg?.mode === 'features' && o.lexicalBuckets === 0) throw new ConfigError('segmentation features (seg mode "features") are hashed into the lexical buckets; set lexicalBuckets > 0');
  const tagFeatures = await tagFeaturesOf(spec);
  const model = buildModel(spec, tagFeatures, embeddings);
  const labels = model.nerTags.labels;
  const kinds = hasMentionKinds(labels);
  const unseen = [...new Set(nerDev.flatMap((s) => tagsToSpans(s.tags).map((x) => x.label)))].filter((l) => !labels.includes(l)).sort();
  if (unseen.length > 0) log(`warning: dev labels not in the training data, never predicted: ${unseen.join(', ')}`);
  const data = [
    ...spec.data,
    ...(embeddings ? [await fingerprint('embeddings', o.embeddingsFile!, embeddings.tokens.length)] : []),
    ...(tagFeatures?.dictionary ? [await fingerprint('lexicon', o.lexiconFile!, Object.values(tagFeatures.dictionary.words).reduce((a, w) => a + w.split(' ').length, 0))] : []),
    ...(tagFeatures?.softLexicon ? [await fingerprint('soft-lexicon', o.softLexiconFile!, softLexiconWords(tagFeatures.softLexicon.entries))] : []),
  ];
  const params = [...model.network.params().values()].reduce((a, v) => a + v.size, 0);
  log(`model ${spec.modelId}: vocabulary ${model.vocab.size}${o.charPositional ? ' char-positional tokens' : ''}, ${model.nerTags.size} NER tags (${scheme}${o.scheme === 'auto' ? ", the data's scheme," : ''} over ${labels.join(' ')}), ${params.toLocaleString('en-US')} parameters${spec.seg ? `, segmentation head (${spec.seg.mode})` : ''}`);
  if (embeddings) {
    const init = initEmbeddingRows(model, embeddings, o.embeddingsFile!);
    log(`embeddings: ${init.initialised} of ${init.rows} rows from ${o.embeddingsFile} (${embeddings.tokens.length} pre-trained tokens; the others random)`);
  }
  if (tagFeatures?.dictionary) {
    const counts = Object.entries(tagFeatures.dictionary.words).map(([t, w]) => `${t} ${w.split(' ').length}`);
    log(`dictionary features from ${tagFeatures.dictionary.source} (freq >= ${o.lexiconMinFreq}, length >= ${o.lexiconMinLength}): ${counts.join(', ')} words`);
  }
  if (tagFeatures?.softLexicon) {
    const sl = tagFeatures.softLexicon;
    log(`SoftLexicon features from ${sl.source} (words of <= ${sl.maxWordLength} characters${sl.topN > 0 ? `, top ${sl.topN} by frequency` : ''}): ${softLexiconWords(sl.entries)} words, ${(Buffer.byteLength(sl.entries) / 1e6).toFixed(2)} MB in the manifest`);
  }
  const silverPerEpoch = silver ? Math.min(silver.length, Math.max(1, Math.round(o.silverRatio * nerTrain.length))) : 0;
  if (silver) log(`silver: ${silver.length} sentences; each epoch mixes a fresh subsample of ${silverPerEpoch} (silverRatio ${o.silverRatio} x ${nerTrain.length} gold) into the NER batches`);
  // Encoded lazily, at the first epoch: with segmentation features they depend on the segmenter's weights, which are final (trained, or restored from a checkpoint) only then.
  const encoded = new Map<readonly NerSentence[], EncodedSentence[]>();
  const encodeNer = async (sentences: readonly NerSentence[]): Promise<EncodedSentence[]> => {
    if (!encoded.has(sentences)) {
      const segTags = await model.predictSegmentation(sentences.map((s) => s.chars));
      encoded.set(sentences, sentences.map((s, i) => model.encode(s.chars, s.tags, 'ner', segTags?.[i])));
    }
    return encoded.get(sentences)!;
  };
  const nerBatches = async (epoch: number, rng: Rng): Promise<Batch[]> => {
    const gold = bucketedBatches(await encodeNer(nerTrain), o.batchSize)(epoch, rng);
    // without silver no extra random draws, so such runs are the runs they were before the option
    return silver ? rng.shuffled([...gold, ...subsampledBatches(await encodeNer(silver), silverPerEpoch, o.batchSize)(epoch, rng)]) : gold;
  };
  const cost = o.marginCostMissed > 0 || o.marginCostSpurious > 0 ? { oId: model.nerTags.id('O'), missed: o.marginCostMissed, spurious: o.marginCostSpurious } : undefined;
  if (cost) log(`softmax-margin NER loss: cost ${cost.missed} for a wrong label at a gold mention position, ${cost.spurious} for a mention label at a gold O`);
  const nerTask: TrainTask = { head: 'ner', weight: 1, learningRate: o.learningRate, epochBatches: nerBatches, cost };
  const seg = spec.seg;
  const segEncoded = seg ? seg.train.filter((s) => s.chars.length > 0).map((s) => model.encode(s.chars, s.tags, 'seg')) : [];
  const segDev = seg ? (o.segDevSample > 0 ? seg.dev.slice(0, o.segDevSample) : seg.dev) : [];
  const segTask: TrainTask | undefined = seg
    ? {
        head: 'seg',
        weight: o.lambda,
        learningRate: o.segLearningRate,
        // the features-mode segmenter sees the whole corpus every epoch; joint and pipeline training subsample it to the NER set's size
        epochBatches: seg.mode === 'features' ? bucketedBatches(segEncoded, o.batchSize) : subsampledBatches(segEncoded, nerTrain.length, o.batchSize),
      }
    : undefined;
  const trainerOptions = { seed: o.seed, clipNorm: o.clipNorm, optimizer: o.optimizer, log };
  const metricOf = (h: HeadName) => (h === 'ner' ? 'ner_f1' : 'seg_f1');

  if ((seg?.mode === 'pipeline' || seg?.mode === 'features') && !(spec.resume && hasCheckpoint(join(spec.outDir, 'checkpoint')))) {
    log(seg.mode === 'pipeline' ? `pipeline: pretraining the shared encoder on segmentation for ${o.pretrainEpochs} epochs` : `features: training the CRF segmenter on ${segEncoded.length} sentences for ${o.pretrainEpochs} epochs`);
    const segHistory = await train(model.network, [segTask!], async () => ({ seg_f1: (await evaluateSeg(model, segDev)).words.f1 }), { ...trainerOptions, epochs: o.pretrainEpochs }, [progressBar(spec.quiet ?? false)]);
    log(`segmentation dev word F1 after pretraining: ${segHistory[segHistory.length - 1].dev.seg_f1.toFixed(2)}`);
  }

  // With weight averaging, the averaged weights are what is scored for keeping, stopping and saving; the raw ones still drive the learning rates.
  const average = o.emaDecay > 0 ? new WeightAverage(model.network.params(), o.emaDecay) : undefined;
  const keptMetric = average ? 'avg_ner_f1' : 'ner_f1';
  const withKept = <T>(fn: () => Promise<T>): Promise<T> => (average ? average.withAveraged(fn) : fn());
  let lastScores: NerScores | undefined;
  let bestScores: NerScores | undefined;
  const keeper = bestEpoch(
    keptMetric,
    o.earlyStopPatience,
    async (report) => {
      bestScores = lastScores;
      await withKept(() =>
        model.save(spec.outDir, {
          training: { seed: o.seed, epochs: report.epoch, bestEpoch: report.epoch, data, options: { ...o, segMode: seg?.mode ?? 'none' } },
          scores: { dev: lastScores, devSeg: average ? report.dev.avg_seg_f1 : report.dev.seg_f1 },
        }),
      );
    },
    log,
  );
  // The best epoch's scores travel in the checkpoint: a run resumed after its best epoch that finds no better one returns them too.
  const bestScoresState: TrainerPlugin = {
    saveState: () => bestScores,
    restoreState: (state) => {
      bestScores = state as NerScores | undefined;
    },
  };
  const tasks = seg?.mode === 'joint' ? [nerTask, segTask!] : [nerTask];
  const devMetrics = async (prefix: string): Promise<Record<string, number>> => {
    lastScores = (await evaluateNer(model, nerDev)).scores;
    const dev: Record<string, number> = { [`${prefix}ner_f1`]: lastScores.overall.f1 };
    if (kinds) Object.assign(dev, { [`${prefix}ner_named_f1`]: lastScores.named?.f1 ?? 0, [`${prefix}ner_nominal_f1`]: lastScores.nominal?.f1 ?? 0 });
    if (seg?.mode === 'joint') dev[`${prefix}seg_f1`] = (await evaluateSeg(model, segDev)).words.f1;
    return dev;
  };
  let history: EpochReport[];
  try {
    history = await train(
      model.network,
      tasks,
      // the averaged weights are scored last, so lastScores are theirs when averaging
      async () => ({ ...(await devMetrics('')), ...(average ? await average.withAveraged(() => devMetrics('avg_')) : {}) }),
      { ...trainerOptions, epochs: o.epochs, checkpointDir: join(spec.outDir, 'checkpoint'), resume: spec.resume ?? false, average },
      [progressBar(spec.quiet ?? false), lrAnnealing(o.lrPatience, metricOf, log), keeper, historyLog(spec.outDir), bestScoresState],
    );
  } finally {
    average?.dispose();
  }
  if (!spec.keepCheckpoint) await rm(join(spec.outDir, 'checkpoint'), { recursive: true, force: true }); // the artifact holds the best epoch
  const curves = ['ner_f1', ...(kinds ? ['ner_named_f1', 'ner_nominal_f1'] : []), ...(seg?.mode === 'joint' ? ['seg_f1'] : [])];
  await writeTrainingCurve(join(spec.outDir, 'training-curve.svg'), history, average ? [...curves, ...curves.map((c) => `avg_${c}`)] : curves);
  const best = keeper.best()!;
  const p = average ? 'avg_' : '';
  const byKind = kinds ? ` (named ${best.dev[`${p}ner_named_f1`].toFixed(2)}, nominal ${best.dev[`${p}ner_nominal_f1`].toFixed(2)})` : '';
  log(`best epoch ${best.epoch}: dev F1 ${best.dev[`${p}ner_f1`].toFixed(2)}${average ? ` with the averaged weights (raw ${best.dev.ner_f1.toFixed(2)})` : ''}${byKind}; artifact in ${spec.outDir}`);
  return { model, best, bestScores: bestScores!, history };
}
