/**
 * Word segmentation scoring, SIGHAN bakeoff convention: each word is a
 * code-point span (start, end); a predicted word is correct iff the same span
 * is a gold word. P = correct/predicted, R = correct/gold (percent 0–100).
 * With a training word list, OOV recall is the recall over gold words whose
 * string is not in the list, IV recall over those that are, and the OOV rate
 * the share of gold words that are OOV: the figures the bakeoff's `score`
 * script prints (TOTAL TEST WORDS PRECISION, TOTAL TRUE WORDS RECALL,
 * F MEASURE, OOV Rate, OOV Recall Rate, IV Recall Rate), here in percent.
 * That script aligns each line's words with diff (a longest common
 * subsequence of word strings); on the same characters this counts the same
 * matches as spans do, except where diff pairs a word with an identical word
 * at another position ("aa a" against "a aa" over "aaa": one match for
 * diff, none by span), which this scorer does not count.
 */
import { MentionflowError } from '../../common/errors.js';
import { biesToWordSpans } from '../text/segTags.js';
import { prf, type PrfScore } from './prf.js';

/** Recall over one group of gold words (OOV or IV). */
export interface RecallScore {
  /** Gold words in this group. */
  gold: number;
  /** Of those, words also predicted exactly. */
  correct: number;
  /** Percent 0–100; 0 when gold is 0. */
  recall: number;
}

/** Word segmentation scores (scoreSegmentation): word P/R/F1, and OOV / IV recall with a training word list. */
export interface SegScores {
  /** tp = correct words, fp = predicted words not in gold, fn = gold words missed. */
  words: PrfScore;
  /** Present when a training word list is given. */
  oov?: RecallScore;
  /** Percent of gold words not in the training word list (SIGHAN's OOV rate); present when a list is given. */
  oovRate?: number;
  /** Present when a training word list is given. */
  iv?: RecallScore;
}

function recallScore(gold: number, correct: number): RecallScore {
  return { gold, correct, recall: gold === 0 ? 0 : (100 * correct) / gold };
}

/**
 * Scores predicted BIES tags against gold BIES tags, one array per sentence
 * (chars[i], gold[i] and pred[i] have equal lengths). Invalid BIES sequences
 * are read leniently (biesToWordSpans).
 */
export function scoreSegmentation(
  chars: readonly (readonly string[])[],
  gold: readonly (readonly string[])[],
  pred: readonly (readonly string[])[],
  trainWords?: ReadonlySet<string>,
): SegScores {
  if (chars.length !== gold.length || chars.length !== pred.length) {
    throw new MentionflowError(`scoreSegmentation: ${chars.length} sentences, ${gold.length} gold, ${pred.length} predicted`);
  }
  let goldWords = 0;
  let predWords = 0;
  let correct = 0;
  const oov = { gold: 0, correct: 0 };
  const iv = { gold: 0, correct: 0 };
  chars.forEach((c, i) => {
    if (gold[i].length !== c.length || pred[i].length !== c.length) {
      throw new MentionflowError(`scoreSegmentation sentence ${i}: ${c.length} chars, ${gold[i].length} gold tags, ${pred[i].length} predicted`);
    }
    const predicted = new Set(biesToWordSpans(pred[i]).map((w) => `${w.start}:${w.end}`));
    predWords += predicted.size;
    for (const w of biesToWordSpans(gold[i])) {
      goldWords++;
      const hit = predicted.has(`${w.start}:${w.end}`);
      if (hit) correct++;
      if (trainWords !== undefined) {
        const group = trainWords.has(c.slice(w.start, w.end).join('')) ? iv : oov;
        group.gold++;
        if (hit) group.correct++;
      }
    }
  });
  const words = prf(correct, predWords - correct, goldWords - correct);
  if (trainWords === undefined) return { words };
  return { words, oov: recallScore(oov.gold, oov.correct), iv: recallScore(iv.gold, iv.correct), oovRate: goldWords === 0 ? 0 : (100 * oov.gold) / goldWords };
}
