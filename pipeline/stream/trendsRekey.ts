/**
 * The re-key stage of the scaled-out trends (`mentionflow trends --stage
 * rekey`), as data flows:
 *
 *   mentions topic -> rekeyMentions (one record per post and entity, keyed by the entity) -> repartition topic -> ack
 *                          \-> undecodable records -> dead-letter topic
 *                          \-> progress markers (per source partition, to every repartition partition) -> repartition topic
 *
 * on the same Kafka edges as `mentionflow run` (pipeline/kafka/edges.ts):
 * exactly-once writes each input partition's outputs and its input offset in
 * one transaction under that partition's transactional id (fencing its
 * previous writers), at-least-once produces then commits. Stateless: any
 * number of members of one group share the mentions topic's partitions.
 */
import { lastValueFrom, tap } from 'rxjs';
import { rekeyMentions } from '../../operators/rekeyMentions.js';
import type { OutputMessage } from '../../operators/types.js';
import { openKafkaEdges } from '../kafka/edges.js';
import type { KafkaEdgesSettings } from '../kafka/settings.js';
import type { Logger } from '../ops/logger.js';
import type { RekeyMetrics } from '../ops/trendMetrics.js';

export interface TrendsRekeyOptions {
  /** The Kafka settings: inputTopic the mentions topic, outputTopic the repartition topic, deadLetterTopic for undecodable records. */
  edges: KafkaEdgesSettings;
  logger: Logger;
  /**
   * Partitions of the repartition topic: the stage writes progress markers
   * to each (operators/rekeyMentions.ts), at most once per source partition
   * per commit interval (1 s when it is 0) or per 1,000 of its records.
   * Absent: no markers (a repartition partition that no entity maps to then
   * holds the merger).
   */
  repartitionPartitions?: number;
  /** Records written (entity, progress markers, dead letters) and transactions committed. */
  metrics?: RekeyMetrics;
}

export interface TrendsRekey {
  /** Resolves once stopped and closed; rejects with what ended the stream. */
  readonly done: Promise<void>;
  /** Stop reading; what is in flight is written and committed, then the edges close. */
  stop(): void;
}

export async function startTrendsRekey(o: TrendsRekeyOptions): Promise<TrendsRekey> {
  const { metrics } = o;
  const edges = await openKafkaEdges(o.edges, { logger: o.logger, ...(metrics === undefined ? {} : { onTransaction: () => metrics.transaction() }) });
  const stream = edges.source.records().pipe(
    rekeyMentions(
      o.repartitionPartitions === undefined
        ? {}
        : { partitions: o.repartitionPartitions, markerIntervalMs: o.edges.commitIntervalMs > 0 ? o.edges.commitIntervalMs : 1000, markerEveryRecords: 1000 },
    ),
    edges.sink.write(),
    tap((written) => {
      edges.source.ack(written.map((m) => m.ref));
      if (metrics !== undefined) countWritten(metrics, written);
    }),
  );
  o.logger.info('trends re-key stage consuming', { from: o.edges.inputTopic, to: o.edges.outputTopic, delivery: o.edges.delivery, progressMarkersTo: o.repartitionPartitions ?? 0 });
  const done = lastValueFrom(stream, { defaultValue: [] }).then(
    () => edges.close(),
    async (err: unknown) => {
      await edges.close();
      throw err;
    },
  );
  return { done, stop: () => edges.source.stop() };
}

/** The re-key stage's records by kind: dead letters; progress markers (the messages rekeyMentions sends to an explicit partition); entity records. */
function countWritten(metrics: RekeyMetrics, written: readonly OutputMessage[]): void {
  let entity = 0;
  let progress = 0;
  let deadletter = 0;
  for (const m of written) {
    if (m.output === 'deadletter') deadletter++;
    else if (m.partition !== undefined) progress++;
    else entity++;
  }
  metrics.written('entity', entity);
  metrics.written('progress', progress);
  metrics.written('deadletter', deadletter);
}
