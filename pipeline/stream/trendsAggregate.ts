/**
 * One scaled-out trends aggregator (`mentionflow trends --stage aggregate`):
 * a member of a group on the repartition topic, one TrendState per owned
 * partition. Per fetched batch of partition P, as data flows:
 *
 *   repartition[P] (EntityMention) -> TrendState of P (watermark per source partition) -> close -> partial EntityTrend -> partials topic
 *                                         \-> late records -> late topic (as read, header reason=late)
 *   state of P -> changelog[P];  P's input offset -> the group
 *
 * written together (pipeline/kafka/trendsPartitionEdge.ts: one transaction
 * per partition in exactly-once mode). The watermark of P's state is the
 * smallest over the mentions topic's partitions (the sources, carried in each
 * record, announced up front) of the largest created_at seen from each,
 * minus the lateness; the re-key stage's progress markers (kind PROGRESS,
 * sent to every partition) move a source's event time too, so a partition
 * that no entity maps to still closes its windows. A partial is written per closed window, empty ones
 * too, with headers partition=P and partitions=N; the merger
 * (trendsMerge.ts) waits for all N.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { TrendState, type TrendSettings, type TrendSnapshot } from '../../operators/trends/trendState.js';
import { decodeEntityMention, trendInputOf } from '../../operators/trends/rekey.js';
import { encodeStrict, loadSchema } from '../../schemas/registry.js';
import { ConfigError } from '../../common/errors.js';
import type { EntityMention, EntityTrend } from '../../schemas/types.generated.js';
import type { KafkaConnectionOptions } from '../kafka/client.js';
import type { InputRecord, OutRecord } from '../kafka/trendsEdge.js';
import { runTrendsPartitionEdge, type TrendsPartitionEdge } from '../kafka/trendsPartitionEdge.js';
import type { Logger } from '../ops/logger.js';

export interface TrendsAggregateOptions {
  connection: KafkaConnectionOptions;
  settings: TrendSettings;
  /** The repartition topic. */
  fromTopic: string;
  /** Partitions of the mentions topic the re-key stage read: the watermark's sources. */
  sourcePartitions: number;
  partialsTopic: string;
  lateTopic: string;
  /** As many partitions as fromTopic. */
  changelogTopic: string;
  groupId: string;
  delivery: 'exactly-once' | 'at-least-once';
  transactionalIdPrefix: string;
  logger: Logger;
  now?: () => number;
  /** As TrendsWorkerOptions.idleTimeoutMs, per owned partition and source. */
  idleTimeoutMs?: number;
  commitIntervalMs?: number;
  changelogChunkBytes?: number;
}

export interface TrendsAggregate extends TrendsPartitionEdge {
  /** The states of the owned partitions. */
  states(): ReadonlyMap<number, TrendState>;
}

export async function startTrendsAggregate(o: TrendsAggregateOptions): Promise<TrendsAggregate> {
  const trends = loadSchema('trends');
  const now = o.now ?? Date.now;
  const idleMs = o.idleTimeoutMs ?? Infinity;
  if (!(idleMs > 0)) throw new ConfigError(`trends: idleTimeoutMs must be > 0 ms (or Infinity: off), got ${idleMs}`);
  if (!(Number.isSafeInteger(o.sourcePartitions) && o.sourcePartitions >= 1)) throw new ConfigError(`trends: sourcePartitions must be an integer >= 1, got ${o.sourcePartitions}`);
  let partitions = 0;
  const states = new Map<number, TrendState>();
  /** Per owned partition: wall clock of each source's last record there, of its last record, of its last idle advance. */
  const clocks = new Map<number, { seen: Map<number, number>; last: number; advanced: number }>();

  const partialsOf = (p: number, closed: readonly EntityTrend[], outputs: OutRecord[]): OutRecord[] => {
    for (const t of closed) outputs.push({ topic: o.partialsTopic, key: String(t.window_start), value: encodeStrict(trends, t), headers: { partition: String(p), partitions: String(partitions) } });
    return outputs;
  };

  const edge = await runTrendsPartitionEdge({
    connection: o.connection,
    fromTopic: o.fromTopic,
    changelogTopic: o.changelogTopic,
    groupId: o.groupId,
    stateKey: `trends:${o.groupId}`,
    delivery: o.delivery,
    transactionalIdPrefix: o.transactionalIdPrefix,
    logger: o.logger,
    partitionsKnown: (n) => (partitions = n),
    restore: (p, stored, seconds) => {
      const state = stored === undefined ? new TrendState(o.settings) : TrendState.restore(o.settings, JSON.parse(gunzipSync(stored).toString('utf8')) as TrendSnapshot);
      for (let s = 0; s < o.sourcePartitions; s++) state.addSource(String(s)); // the watermark waits for every source partition
      states.set(p, state);
      const at = now();
      clocks.set(p, { seen: new Map(Array.from({ length: o.sourcePartitions }, (_, s) => [s, at])), last: at, advanced: at });
      o.logger.info('trend state restored', { partition: p, seconds, openWindows: state.openWindows, stored: stored !== undefined });
    },
    drop: (p) => {
      states.delete(p);
      clocks.delete(p);
    },
    process: (records: readonly InputRecord[], p: number) => {
      const state = states.get(p)!;
      const clock = clocks.get(p)!;
      const at = now();
      clock.last = clock.advanced = at;
      const outputs: OutRecord[] = [];
      const aside = (r: InputRecord, reason: string, detail: string): void => {
        outputs.push({ topic: o.lateTopic, key: r.key?.toString() ?? '', value: r.value ?? Buffer.alloc(0), headers: { reason, detail, partition: String(r.partition), offset: r.offset } });
      };
      for (const r of records) {
        let e: EntityMention;
        try {
          e = decodeEntityMention(r.value ?? Buffer.alloc(0));
        } catch (err) {
          aside(r, 'invalid', (err as Error).message);
          continue;
        }
        clock.seen.set(e.source_partition, at);
        if (e.kind === 'PROGRESS') {
          state.advance(e.created_at, String(e.source_partition)); // a progress marker: event time only, never counted, never late
          continue;
        }
        if (state.add(trendInputOf(e), String(e.source_partition)) === 'late') aside(r, 'late', `watermark ${state.watermark}`);
      }
      return partialsOf(p, state.close(at), outputs);
    },
    snapshot: (p) => gzipSync(JSON.stringify(states.get(p)!.snapshot()), { level: 1 }),
    ...(o.commitIntervalMs === undefined ? {} : { commitIntervalMs: o.commitIntervalMs }),
    ...(o.changelogChunkBytes === undefined ? {} : { changelogChunkBytes: o.changelogChunkBytes }),
    ...(idleMs === Infinity
      ? {}
      : {
          idle: {
            tickMs: Math.min(idleMs, 1000),
            tick: (p: number) => {
              const state = states.get(p)!;
              const clock = clocks.get(p)!;
              const at = now();
              for (const [s, seen] of clock.seen) if (at - seen >= idleMs) state.markIdle(String(s));
              if (at - clock.last >= idleMs) {
                state.advanceIdle(at - clock.advanced);
                clock.advanced = at;
              }
              return partialsOf(p, state.close(at), []);
            },
          },
        }),
  });
  return { ...edge, states: () => states };
}
