/**
 * The re-key stage of the scaled-out trends (`mentionflow trends --stage
 * rekey`), as data flows:
 *
 *   mentions topic -> rekeyMentions (one record per post and entity, keyed by the entity) -> repartition topic -> ack
 *                          \-> undecodable records -> dead-letter topic
 *
 * on the same Kafka edges as `mentionflow run` (pipeline/kafka/edges.ts):
 * exactly-once writes each input partition's outputs and its input offset in
 * one transaction under that partition's transactional id (fencing its
 * previous writers), at-least-once produces then commits. Stateless: any
 * number of members of one group share the mentions topic's partitions.
 */
import { lastValueFrom, tap } from 'rxjs';
import { rekeyMentions } from '../../operators/rekeyMentions.js';
import { openKafkaEdges } from '../kafka/edges.js';
import type { KafkaEdgesSettings } from '../kafka/settings.js';
import type { Logger } from '../ops/logger.js';

export interface TrendsRekeyOptions {
  /** The Kafka settings: inputTopic the mentions topic, outputTopic the repartition topic, deadLetterTopic for undecodable records. */
  edges: KafkaEdgesSettings;
  logger: Logger;
}

export interface TrendsRekey {
  /** Resolves once stopped and closed; rejects with what ended the stream. */
  readonly done: Promise<void>;
  /** Stop reading; what is in flight is written and committed, then the edges close. */
  stop(): void;
}

export async function startTrendsRekey(o: TrendsRekeyOptions): Promise<TrendsRekey> {
  const edges = await openKafkaEdges(o.edges, { logger: o.logger });
  const stream = edges.source.records().pipe(
    rekeyMentions(),
    edges.sink.write(),
    tap((written) => edges.source.ack(written.map((m) => m.ref))),
  );
  o.logger.info('trends re-key stage consuming', { from: o.edges.inputTopic, to: o.edges.outputTopic, delivery: o.edges.delivery });
  const done = lastValueFrom(stream, { defaultValue: [] }).then(
    () => edges.close(),
    async (err: unknown) => {
      await edges.close();
      throw err;
    },
  );
  return { done, stop: () => edges.source.stop() };
}
