/**
 * Precision / recall / F1 from counts, as percentages 0–100 like conlleval:
 * P = 100·tp/(tp+fp), R = 100·tp/(tp+fn), F1 = 2PR/(P+R); each is 0 when its
 * denominator is 0.
 */

export interface PrfScore {
  /** True positives: predicted items that exactly match a gold item. */
  tp: number;
  /** False positives: predicted items without a match. */
  fp: number;
  /** False negatives: gold items without a match. */
  fn: number;
  /** Percent, 0–100. */
  precision: number;
  /** Percent, 0–100. */
  recall: number;
  /** Percent, 0–100. */
  f1: number;
}

/** Scores from counts (see module comment). */
export function prf(tp: number, fp: number, fn: number): PrfScore {
  const precision = tp + fp === 0 ? 0 : (100 * tp) / (tp + fp);
  const recall = tp + fn === 0 ? 0 : (100 * tp) / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { tp, fp, fn, precision, recall, f1 };
}
