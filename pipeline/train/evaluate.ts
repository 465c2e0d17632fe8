/**
 * Dev/test evaluation of the NER head: predict, then exact-span scores
 * (per label, named, nominal, overall) as in the paper's Table 1.
 */
import type { TaggerModel } from '../../models/taggerModel.js';
import { scoreSpans, type NerScores } from '../../models/eval/spanScorer.js';
import { bioToSpans } from '../../models/text/spans.js';
import type { NerSentence } from '../../models/data/conll.js';

export interface NerEvaluation {
  scores: NerScores;
  predictedTags: string[][];
}

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
  return { scores, predictedTags: preds.map((p) => p.tags) };
}
