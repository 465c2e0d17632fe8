/**
 * The merger of the scaled-out trends as an operator: the partial trends of
 * N partitions in (each with the partition it came from), one EntityTrend
 * per window out once every partition has reported it or a later window
 * (trends/mergePartials.ts: the wait and the exact merge). Each subscription
 * has its own merger; a partial naming a partition outside 0..N-1 errors the
 * stream.
 */
import { defer, mergeMap, type OperatorFunction } from 'rxjs';
import type { EntityTrend } from '../schemas/types.generated.js';
import { PartialMerger } from './trends/mergePartials.js';

/** A partial trend and the repartition partition whose aggregator wrote it. */
export interface PartialTrend {
  partial: EntityTrend;
  partition: number;
}

export interface MergeTrendPartialsOptions {
  /** Partitions of the repartition topic: the partials expected per window. */
  partitions: number;
  /** Entities listed per type (the aggregators' --top). */
  top: number;
}

export function mergeTrendPartials(opts: MergeTrendPartialsOptions): OperatorFunction<PartialTrend, EntityTrend> {
  new PartialMerger(opts.partitions, opts.top); // checks the options at construction
  return (source) =>
    defer(() => {
      const merger = new PartialMerger(opts.partitions, opts.top);
      return source.pipe(mergeMap((p) => merger.add(p.partial, p.partition)));
    });
}
