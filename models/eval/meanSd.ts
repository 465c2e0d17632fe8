/**
 * Mean ± sd over seeds: of numbers (meanSd), and of several models' NER
 * scores row by row (meanScores).
 */
import { MentionflowError } from '../../common/errors.js';
import { prf, type PrfScore } from './prf.js';
import type { NerScores } from './spanScorer.js';

/** Mean and sample standard deviation over seeds. */
export interface MeanSd {
  mean: number;
  sd: number;
  n: number;
}

export function meanSd(xs: readonly number[]): MeanSd {
  const n = xs.length;
  const mean = n === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / n;
  const sd = n < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  return { mean, sd, n };
}

export function fmt(m: MeanSd): string {
  return Number.isNaN(m.mean) ? 'n/a' : m.n > 1 ? `${m.mean.toFixed(2)} ± ${m.sd.toFixed(2)}` : m.mean.toFixed(2);
}

/** One row (a label, named, nominal or overall) of several models' scores: mean ± sd of each figure. */
export interface MeanPrf {
  precision: MeanSd;
  recall: MeanSd;
  f1: MeanSd;
  /** Gold mentions of the row (the same data for every model). */
  gold: number;
}

/** Mean ± sd over models of one row's precision, recall and F1. */
export function meanPrf(rows: readonly PrfScore[]): Pick<MeanPrf, 'precision' | 'recall' | 'f1'> {
  return { precision: meanSd(rows.map((r) => r.precision)), recall: meanSd(rows.map((r) => r.recall)), f1: meanSd(rows.map((r) => r.f1)) };
}

/** Several models' scores on the same data (e.g. the seeds of a configuration), row by row. */
export interface MeanNerScores {
  models: number;
  /** Per label, keys sorted; every label in any model's scores (a model without it counts 0). */
  perLabel: Record<string, MeanPrf>;
  /** Present when any model's scores have it. */
  named?: MeanPrf;
  nominal?: MeanPrf;
  overall: MeanPrf;
}

/**
 * Mean and sample sd over models of each row's P, R and F1 (percent), as
 * the README's "mean ± sd over seeds". Throws MentionflowError for no
 * scores, or scores whose gold counts differ (not the same data).
 */
export function meanScores(list: readonly NerScores[]): MeanNerScores {
  if (list.length === 0) throw new MentionflowError('mean scores: no models');
  const gold = (s: PrfScore | undefined): number => (s ? s.tp + s.fn : 0);
  const row = (pick: (s: NerScores) => PrfScore | undefined, name: string): MeanPrf => {
    const rows = list.map((s) => pick(s) ?? prf(0, 0, gold(pick(list[0]))));
    const g = gold(rows[0]);
    rows.forEach((r, k) => {
      if (gold(r) !== g) throw new MentionflowError(`mean scores: model ${k + 1} has ${gold(r)} gold ${name} mentions, model 1 ${g}: not scored on the same data`);
    });
    return { ...meanPrf(rows), gold: g };
  };
  const labels = [...new Set(list.flatMap((s) => Object.keys(s.perLabel)))].sort();
  const perLabel: Record<string, MeanPrf> = {};
  for (const l of labels) perLabel[l] = row((s) => s.perLabel[l], l);
  const kinds = list.some((s) => s.named);
  return {
    models: list.length,
    perLabel,
    ...(kinds ? { named: row((s) => s.named, 'named'), nominal: row((s) => s.nominal, 'nominal') } : {}),
    overall: row((s) => s.overall, 'overall'),
  };
}
