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
import { gunzipSync, gzipSync } from 'node:zlib';
import { PartialMerger, type MergerSnapshot } from '../../operators/trends/mergePartials.js';
import { decodeStrict, encodeStrict, loadSchema } from '../../schemas/registry.js';
import type { EntityTrend } from '../../schemas/types.generated.js';
import type { KafkaConnectionOptions } from '../kafka/client.js';
import { runTrendsEdge, type InputRecord, type OutRecord, type TrendsEdge } from '../kafka/trendsEdge.js';
import type { Logger } from '../ops/logger.js';

export interface TrendsMergeOptions {
  connection: KafkaConnectionOptions;
  partialsTopic: string;
  toTopic: string;
  /** Partials that do not decode or name no partition (header reason=invalid), and stale ones (reason=stale). */
  lateTopic: string;
  changelogTopic: string;
  groupId: string;
  delivery: 'exactly-once' | 'at-least-once';
  transactionalId: string;
  /** Partitions of the repartition topic: the partials expected per window. */
  partitions: number;
  top: number;
  logger: Logger;
  commitIntervalMs?: number;
}

export interface TrendsMerge extends TrendsEdge {
  merger(): PartialMerger;
}

export async function startTrendsMerge(o: TrendsMergeOptions): Promise<TrendsMerge> {
  const trends = loadSchema('trends');
  let merger = new PartialMerger(o.partitions, o.top);
  const edge = await runTrendsEdge({
    connection: o.connection,
    fromTopic: o.partialsTopic,
    changelogTopic: o.changelogTopic,
    groupId: o.groupId,
    stateKey: `trends-merge:${o.groupId}`,
    delivery: o.delivery,
    transactionalId: o.transactionalId,
    logger: o.logger,
    restore: (_partitions, stored, seconds) => {
      merger = stored === undefined ? new PartialMerger(o.partitions, o.top) : PartialMerger.restore(JSON.parse(gunzipSync(stored).toString('utf8')) as MergerSnapshot, o.partitions, o.top);
      o.logger.info('trend merger restored', { seconds, openWindows: merger.openWindows, stored: stored !== undefined });
    },
    process: (records: readonly InputRecord[]) => {
      const outputs: OutRecord[] = [];
      const aside = (r: InputRecord, reason: string, detail: string): void => {
        outputs.push({ topic: o.lateTopic, key: r.key?.toString() ?? '', value: r.value ?? Buffer.alloc(0), headers: { reason, detail, partition: String(r.partition), offset: r.offset } });
      };
      for (const r of records) {
        let partial: EntityTrend;
        const partition = Number(r.headers?.partition);
        const of = Number(r.headers?.partitions);
        try {
          partial = decodeStrict<EntityTrend>(trends, r.value ?? Buffer.alloc(0));
          if (!(Number.isSafeInteger(partition) && partition >= 0 && partition < o.partitions)) throw new Error(`partition header ${JSON.stringify(r.headers?.partition)} is not one of 0-${o.partitions - 1}`);
          if (of !== o.partitions) throw new Error(`written for ${of} partitions, the merger expects ${o.partitions}`);
        } catch (err) {
          aside(r, 'invalid', (err as Error).message);
          continue;
        }
        const before = merger.stale;
        for (const t of merger.add(partial, partition)) outputs.push({ topic: o.toTopic, key: String(t.window_start), value: encodeStrict(trends, t) });
        if (merger.stale > before) aside(r, 'stale', `window ${partial.window_start} was written already`);
      }
      return outputs;
    },
    snapshot: () => gzipSync(JSON.stringify(merger.snapshot()), { level: 1 }),
    ...(o.commitIntervalMs === undefined ? {} : { commitIntervalMs: o.commitIntervalMs }),
  });
  return { ...edge, merger: () => merger };
}
