/**
 * Dev/test evaluation of the NER head: predict, then exact-span scores
 * (per label, named, nominal, overall) as in the paper's Table 1.
 */
import type { TaggerModel } from '../../models/taggerModel.js';
import { scoreSpans, type NerScores } from '../../models/eval/spanScorer.js';
import { bioToSpans } from '../../models/text/spans.js';
import type { NerSentence } from '../../models/data/conll.js';
import type { SegSentence } from '../../models/data/segmentation.js';
import { scoreSegmentation, type SegScores } from '../../models/eval/segScorer.js';
import { bioesToBio } from '../../models/text/spans.js';

/** Scores of a model on gold data, and its predicted tags (BIO) per sentence. */
export interface NerEvaluation {
  scores: NerScores;
  predictedTags: string[][];
}

/** Tags the sentences of `data` with `model` and scores the predicted spans against the gold ones (exact match; P/R/F1 in percent). */
export async function evaluateNer(model: TaggerModel, data: readonly NerSentence[], batchSize = 64): Promise<NerEvaluation> {
  const preds = await model.predict(
    data.map((s) => s.chars),
    batchSize,
  );
  const gold = data.map((s) => bioToSpans(s.tags));
  const scores = scoreSpans(
    gold,
    preds.map((p) => p.spans),
  );
  return { scores, predictedTags: preds.map((p) => (model.meta.scheme === 'BIOES' ? bioesToBio(p.tags) : p.tags)) };
}

/** Word segmentation scores of the segmentation head on BIES-tagged sentences. */
export async function evaluateSeg(model: TaggerModel, data: readonly SegSentence[], trainWords?: ReadonlySet<string>, batchSize = 64): Promise<SegScores> {
  const sents = data.filter((s) => s.chars.length > 0);
  const preds = await model.predict(
    sents.map((s) => s.chars),
    batchSize,
    'seg',
  );
  return scoreSegmentation(
    sents.map((s) => s.chars),
    sents.map((s) => s.tags),
    preds.map((p) => p.tags),
    trainWords,
  );
}
