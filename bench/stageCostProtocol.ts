/** What bench/stageCost.ts and its measurement processes (bench/stageCostWorker.ts) exchange. */

/** The stages measured, in pipeline order, and the whole stream. */
export const STAGES = ['decode', 'batch', 'tag', 'toMentions', 'encode', 'taps', 'coalesce', 'all'] as const;
export type Stage = (typeof STAGES)[number];

/** One measurement: a stage of the build in `dist` over `records` posts. */
export interface StageTask {
  dist: string;
  stage: Stage;
  records: number;
  warmupPasses: number;
}

/** One timed pass, per record. */
export interface PassCost {
  cpuUs: number;
  wallUs: number;
  allocBytes: number;
  gcs: number;
  gcUs: number;
}

export interface StageResult {
  cold: PassCost;
  warm: PassCost;
  outputs: number;
}
