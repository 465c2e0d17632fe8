/**
 * The merger of the scaled-out trends (`mentionflow trends --stage merge`),
 * as data flows:
 *
 *   partials topic (EntityTrend, headers partition/partitions) -> PartialMerger (waits for all N) -> EntityTrend -> trends topic
 *   merger state (the partials of windows not complete) -> changelog;  input offsets -> the group
 *
 * on the single aggregator's Kafka edge (pipeline/kafka/trendsEdge.ts): one
 * member per group, state entry and outputs and offsets in one transaction
 * in exactly-once mode, restored from the changelog on start. The partials
 * topic has one partition; the state is small (at most N partials per
 * window waiting).
 */
import { PartialMerger, type MergerSnapshot } from '../../operators/trends/mergePartials.js';
import { decodeStrict, encodeStrict, loadSchema } from '../../schemas/registry.js';
import type { EntityTrend } from '../../schemas/types.generated.js';
import { runTrendsEdge, type InputRecord, type OutRecord, type TrendsEdge } from '../kafka/trendsEdge.js';
import type { MergeMetrics } from '../ops/trendMetrics.js';
import { decodeState, encodeState, setAside, stageEdgeOptions, type TrendsStageOptions } from './trendsOptions.js';

export interface TrendsMergeOptions extends TrendsStageOptions {
  partialsTopic: string;
  /** The trends topic. lateTopic: partials that do not decode or name no partition (header reason=invalid), and stale ones (reason=stale). */
  toTopic: string;
  /** Partitions of the repartition topic: the partials expected per window. */
  partitions: number;
  top: number;
  metrics?: MergeMetrics;
  /** Wall clock of the wait times; default Date.now. */
  now?: () => number;
}

export interface TrendsMerge extends TrendsEdge {
  merger(): PartialMerger;
}

export async function startTrendsMerge(o: TrendsMergeOptions): Promise<TrendsMerge> {
  const edgeOptions = stageEdgeOptions(o, { fromTopic: o.partialsTopic, states: 'one', stateKey: `trends-merge:${o.groupId}` });
  let merger = new PartialMerger(o.partitions, o.top);
  const trends = loadSchema('trends');
  const now = o.now ?? Date.now;
  /** Wall clock of the first partial of each window waiting (windows restored waiting: the restore's). */
  const firstSeen = new Map<number, number>();
  const edge = await runTrendsEdge({
    ...edgeOptions,
    restore: ({ stored, seconds }) => {
      merger = stored === undefined ? new PartialMerger(o.partitions, o.top) : PartialMerger.restore(decodeState<MergerSnapshot>(stored), o.partitions, o.top);
      const at = now();
      firstSeen.clear();
      for (const [, t] of merger.snapshot().pending) firstSeen.set(t.window_start, at);
      o.metrics?.restored(seconds);
      o.logger.info('trend merger restored', { seconds, openWindows: merger.openWindows, stored: stored !== undefined });
    },
    process: (records: readonly InputRecord[]) => {
      const outputs: OutRecord[] = [];
      for (const r of records) {
        let partial: EntityTrend;
        const partition = Number(r.headers?.partition);
        const of = Number(r.headers?.partitions);
        try {
          partial = decodeStrict<EntityTrend>(trends, r.value ?? Buffer.alloc(0));
          if (!(Number.isSafeInteger(partition) && partition >= 0 && partition < o.partitions)) throw new Error(`partition header ${JSON.stringify(r.headers?.partition)} is not one of 0-${o.partitions - 1}`);
          if (of !== o.partitions) throw new Error(`written for ${of} partitions, the merger expects ${o.partitions}`);
        } catch (err) {
          outputs.push(setAside(o.lateTopic, r, 'invalid', (err as Error).message));
          continue;
        }
        const before = merger.stale;
        const at = now();
        const merged = merger.add(partial, partition);
        if (merger.stale > before) outputs.push(setAside(o.lateTopic, r, 'stale', `window ${partial.window_start} was written already`));
        else if (!firstSeen.has(partial.window_start)) firstSeen.set(partial.window_start, at);
        for (const t of merged) {
          outputs.push({ topic: o.toTopic, key: String(t.window_start), value: encodeStrict(trends, t) });
          o.metrics?.merged((at - (firstSeen.get(t.window_start) ?? at)) / 1000);
          firstSeen.delete(t.window_start);
        }
      }
      return outputs;
    },
    snapshot: () => encodeState(merger.snapshot()),
    written: (_state, outputs) => o.metrics?.emitted(outputs.filter((r) => r.topic === o.toTopic).length),
  });
  return { ...edge, merger: () => merger };
}
