/**
 * How steady a run's dev curve is, and what the run would have kept without
 * weight averaging, from its per-epoch history (the report of runs trained
 * with `emaDecay`, whose history holds both the raw `ner_f1` and the averaged
 * `avg_ner_f1`). Pure functions over EpochReport lists.
 */
import type { EpochReport } from '../trainer.js';

/**
 * Mean absolute change of dev metric `key` between consecutive epochs, over
 * the pairs (e - 1, e) with e - 1 >= `fromEpoch` (the first epochs climb
 * steeply in every run and would swamp the noise). NaN with no such pair.
 */
export function meanAbsChange(history: readonly EpochReport[], key: string, fromEpoch = 3): number {
  const diffs: number[] = [];
  for (let i = 1; i < history.length; i++) {
    const [a, b] = [history[i - 1], history[i]];
    if (a.epoch < fromEpoch || a.dev[key] === undefined || b.dev[key] === undefined) continue;
    diffs.push(Math.abs(b.dev[key] - a.dev[key]));
  }
  return diffs.length === 0 ? NaN : diffs.reduce((x, y) => x + y, 0) / diffs.length;
}

/** The epoch early stopping on `key` would keep, and whether the history is long enough to know. */
export interface ReplayedBest {
  epoch: number;
  value: number;
  /** False when the history ends before that rule would have stopped (and before `maxEpochs`): a later epoch might have beaten it. */
  known: boolean;
}

/**
 * Replays early stopping with `patience` on metric `key` of a history: the
 * best epoch so far (strictly greater wins, as in plugins.ts bestEpoch), and
 * a stop after `patience` epochs without gain. Since averaging draws no
 * random numbers and the learning rates follow the raw metric, replaying on
 * `ner_f1` gives what the same run without averaging would have kept.
 */
export function replayEarlyStop(history: readonly EpochReport[], key: string, patience: number, maxEpochs: number): ReplayedBest | undefined {
  let best: EpochReport | undefined;
  let waited = 0;
  for (const r of history) {
    const v = r.dev[key];
    if (v === undefined) return undefined;
    if (best === undefined || v > best.dev[key]) {
      best = r;
      waited = 0;
    } else if (++waited >= patience) {
      return { epoch: best.epoch, value: best.dev[key], known: true };
    }
  }
  if (!best) return undefined;
  return { epoch: best.epoch, value: best.dev[key], known: history[history.length - 1].epoch >= maxEpochs };
}
