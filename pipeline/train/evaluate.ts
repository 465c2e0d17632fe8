/**
 * Dev/test evaluation of the NER head: predict, then exact-span scores
 * (per label, overall, and named / nominal for NAM/NOM labels) as in the
 * paper's Table 1. The gold tags may be BIO or BIOES, any labels.
 */
import type { TaggerModel } from '../../models/taggerModel.js';
import { scoreSpans, type NerScores } from '../../models/eval/spanScorer.js';
import { detectScheme, tagsToSpans } from '../../models/text/labels.js';
import type { NerSentence } from '../../models/data/conll.js';
import type { SegSentence } from '../../models/data/segmentation.js';
import { scoreSegmentation, type SegScores } from '../../models/eval/segScorer.js';
import { bioesToBio, bioToBioes } from '../../models/text/spans.js';

/** Scores of a model on gold data, and its predicted tags (BIO) per sentence. */
export interface NerEvaluation {
  scores: NerScores;
  /** Predicted tags per sentence, in the gold data's scheme (so conlleval reads both columns alike). */
  predictedTags: string[][];
}

/** Tags the sentences of `data` with `model` and scores the predicted spans against the gold ones (exact match; P/R/F1 in percent). */
export async function evaluateNer(model: TaggerModel, data: readonly NerSentence[], batchSize = 64): Promise<NerEvaluation> {
  const preds = await model.predict(
    data.map((s) => s.chars),
    batchSize,
  );
  const scheme = detectScheme(data.map((s) => s.tags));
  const gold = data.map((s) => tagsToSpans(s.tags, scheme));
  const scores = scoreSpans(
    gold,
    preds.map((p) => p.spans),
  );
  const convert = model.meta.scheme === scheme ? (t: string[]) => t : scheme === 'BIO' ? bioesToBio : bioToBioes;
  return { scores, predictedTags: preds.map((p) => convert(p.tags)) };
}

/** Word segmentation scores of a model's segmentation head on gold data, and its predicted BIES tags per scored sentence. */
export interface SegEvaluation {
  scores: SegScores;
  /** The sentences scored: those of the data with at least one character, in order. */
  sentences: SegSentence[];
  /** Predicted BIES tags of each scored sentence. */
  predictedTags: string[][];
}

/**
 * Segments the sentences of `data` with the model's segmentation head and
 * scores the predicted words against the gold ones (models/eval/segScorer.ts:
 * word P/R/F1 in percent, and OOV / IV recall against `trainWords`, the
 * training word list, when given). Empty sentences are skipped.
 */
export async function evaluateSegmentation(model: TaggerModel, data: readonly SegSentence[], trainWords?: ReadonlySet<string>, batchSize = 64): Promise<SegEvaluation> {
  const sentences = data.filter((s) => s.chars.length > 0);
  const preds = await model.predict(
    sentences.map((s) => s.chars),
    batchSize,
    'seg',
  );
  const predictedTags = preds.map((p) => p.tags);
  const scores = scoreSegmentation(
    sentences.map((s) => s.chars),
    sentences.map((s) => s.tags),
    predictedTags,
    trainWords,
  );
  return { scores, sentences, predictedTags };
}

/** Word segmentation scores of the segmentation head on BIES-tagged sentences (evaluateSegmentation's scores). */
export async function evaluateSeg(model: TaggerModel, data: readonly SegSentence[], trainWords?: ReadonlySet<string>, batchSize = 64): Promise<SegScores> {
  return (await evaluateSegmentation(model, data, trainWords, batchSize)).scores;
}
