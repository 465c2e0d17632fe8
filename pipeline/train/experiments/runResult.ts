/** The outcome of one training run of the Table 1 experiment (one row, one seed, one dataset), as saved in its result.json. */
import type { NerScores } from '../../../models/eval/spanScorer.js';
import type { SegScores } from '../../../models/eval/segScorer.js';
import type { EpochReport } from '../trainer.js';
import type { DatasetVersion } from './corpora.js';

export interface RunResult {
  dataset: DatasetVersion;
  row: string;
  seed: number;
  dir: string;
  bestEpoch: number;
  epochs: number;
  seconds: number;
  secondsPerEpoch: number;
  scores: NerScores;
  /** Joint / pipeline rows: segmentation scores on the full NLPCC dev set at the best epoch. */
  seg?: SegScores;
  history: EpochReport[];
}
