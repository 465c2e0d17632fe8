/**
 * One scaled-out trends aggregator (`mentionflow trends --stage aggregate`):
 * a member of a group on the repartition topic, one TrendState per owned
 * partition. Per fetched batch of partition P, as data flows:
 *
 *   repartition[P] (EntityMention) -> TrendState of P (watermark per source partition) -> close -> partial EntityTrend -> partials topic
 *                                         \-> late records -> late topic (as read, header reason=late)
 *   state of P -> changelog[P];  P's input offset -> the group
 *
 * written together (pipeline/kafka/trendsEdge.ts with one state per partition:
 * one transaction per partition in exactly-once mode). The watermark of P's state is the
 * smallest over the mentions topic's partitions (the sources, carried in each
 * record, announced up front) of the largest created_at seen from each,
 * minus the lateness; the re-key stage's progress markers (kind PROGRESS,
 * sent to every partition) move a source's event time too, so a partition
 * that no entity maps to still closes its windows. A partial is written per closed window, empty ones
 * too, with headers partition=P and partitions=N; the merger
 * (trendsMerge.ts) waits for all N.
 */
import { TrendState, type TrendSettings, type TrendSnapshot } from '../../operators/trends/trendState.js';
import { decodeEntityMention, trendInputOf } from '../../operators/trends/rekey.js';
import { encodeStrict, loadSchema } from '../../schemas/registry.js';
import { ConfigError } from '../../common/errors.js';
import type { EntityMention, EntityTrend } from '../../schemas/types.generated.js';
import { runTrendsEdge, type InputRecord, type OutRecord, type TrendsEdge } from '../kafka/trendsEdge.js';
import type { ScaledTrendMetrics } from '../ops/trendMetrics.js';
import { IdleClock, StateEncoder, decodeState, idleTicks, idleTimeoutOf, setAside, stageEdgeOptions, type TrendsStageOptions, type TrendsWindowOptions } from './trendsOptions.js';

export interface TrendsAggregateOptions extends TrendsStageOptions, TrendsWindowOptions {
  settings: TrendSettings;
  /** The repartition topic. */
  fromTopic: string;
  /** Partitions of the mentions topic the re-key stage read: the watermark's sources. */
  sourcePartitions: number;
  partialsTopic: string;
  /** changelogTopic: as many partitions as fromTopic. idleTimeoutMs: per owned partition and source. */
  metrics?: ScaledTrendMetrics;
}

export interface TrendsAggregate extends TrendsEdge {
  /** The states of the owned partitions. */
  states(): ReadonlyMap<number, TrendState>;
}

export async function startTrendsAggregate(o: TrendsAggregateOptions): Promise<TrendsAggregate> {
  const edgeOptions = stageEdgeOptions(o, { fromTopic: o.fromTopic, states: 'per-partition', stateKey: `trends:${o.groupId}` });
  const idleMs = idleTimeoutOf(o);
  if (!(Number.isSafeInteger(o.sourcePartitions) && o.sourcePartitions >= 1)) throw new ConfigError(`trends: sourcePartitions must be an integer >= 1, got ${o.sourcePartitions}`);
  const trends = loadSchema('trends');
  const now = o.now ?? Date.now;
  let partitions = 0;
  const states = new Map<number, TrendState>();
  /** Per owned partition: the idle timeout over its sources. */
  const clocks = new Map<number, IdleClock>();
  /** Per owned partition: its changelog entries re-encode only the windows counted in since the last (StateEncoder). */
  const encoders = new Map<number, StateEncoder>();
  const sources = Array.from({ length: o.sourcePartitions }, (_, s) => String(s));

  const partialsOf = (p: number, closed: readonly EntityTrend[], outputs: OutRecord[]): OutRecord[] => {
    for (const t of closed) outputs.push({ topic: o.partialsTopic, key: String(t.window_start), value: encodeStrict(trends, t), headers: { partition: String(p), partitions: String(partitions) } });
    return outputs;
  };

  const edge = await runTrendsEdge({
    ...edgeOptions,
    restore: ({ state: p, stored, seconds, partitions: n }) => {
      partitions = n;
      const state = stored === undefined ? new TrendState(o.settings) : TrendState.restore(o.settings, decodeState<TrendSnapshot>(stored));
      for (const s of sources) state.addSource(s); // the watermark waits for every source partition
      states.set(p, state);
      encoders.set(p, new StateEncoder());
      clocks.set(p, new IdleClock(sources, now(), idleMs));
      o.metrics?.restored(p, seconds);
      o.logger.info('trend state restored', { partition: p, seconds, openWindows: state.openWindows, stored: stored !== undefined });
    },
    drop: (p) => {
      states.delete(p);
      clocks.delete(p);
      encoders.delete(p);
      o.metrics?.dropped(p);
    },
    process: (records: readonly InputRecord[], p: number) => {
      const state = states.get(p)!;
      const clock = clocks.get(p)!;
      const at = now();
      clock.input(at);
      const outputs: OutRecord[] = [];
      for (const r of records) {
        let e: EntityMention;
        try {
          e = decodeEntityMention(r.value ?? Buffer.alloc(0));
        } catch (err) {
          outputs.push(setAside(o.lateTopic, r, 'invalid', (err as Error).message));
          continue;
        }
        clock.saw(String(e.source_partition), at);
        if (e.kind === 'PROGRESS') {
          state.advance(e.created_at, String(e.source_partition)); // a progress marker: event time only, never counted, never late
          continue;
        }
        if (state.add(trendInputOf(e), String(e.source_partition)) === 'late') outputs.push(setAside(o.lateTopic, r, 'late', `watermark ${state.watermark}`));
      }
      return partialsOf(p, state.close(at), outputs);
    },
    snapshot: (p) => encoders.get(p)!.encode(states.get(p)!.snapshot()),
    written: (p, outputs) => o.metrics?.partialsWritten(p, outputs.filter((r) => r.topic === o.partialsTopic).length),
    ...idleTicks(idleMs, (p) => {
      const state = states.get(p)!;
      const at = now();
      clocks.get(p)!.tick(state, at);
      return partialsOf(p, state.close(at), []);
    }),
  });
  return { ...edge, states: () => states };
}
