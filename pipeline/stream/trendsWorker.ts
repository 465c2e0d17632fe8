/**
 * The trends aggregator on Kafka (`mentionflow trends --brokers`). Per
 * fetched batch of the mentions topic, as data flows:
 *
 *   mentions (Avro) -> decode -> TrendState.add (per-partition watermark) -> close -> encode EntityTrend -> trends topic
 *                                     \-> late records -> late topic (the record as read, header reason=late)
 *   state -> snapshot (gzip JSON) -> changelog topic;  input offsets -> the group
 *
 * written together at most every commit interval (pipeline/kafka/trendsEdge.ts:
 * one transaction in exactly-once mode). A record that does not decode goes to
 * the late topic too, with reason=invalid: nothing is dropped silently.
 *
 * The changelog entry is the whole state (TrendState.snapshot) under one key
 * per aggregator (in chunks), written with every commit: the simplest entry that is
 * correct (it is the state the committed offsets belong to, no replay of
 * deltas to get wrong) and bounded (open windows x --max-keys, plus the
 * history counts); closed windows leave the snapshot, so no tombstones are
 * needed and compaction keeps one entry. The price is writing the whole state
 * once per commit interval (gzip level 1 keeps it small and fast enough);
 * its cost grows with the state, not with the input.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { TrendState, type TrendSettings, type TrendSnapshot } from '../../operators/trends/trendState.js';
import { decodeStrict, encodeStrict, loadSchema } from '../../schemas/registry.js';
import { ConfigError } from '../../common/errors.js';
import type { EntityTrend, PostMentions } from '../../schemas/types.generated.js';
import type { KafkaConnectionOptions } from '../kafka/client.js';
import { runTrendsEdge, type InputRecord, type OutRecord, type TrendsEdge } from '../kafka/trendsEdge.js';
import type { Logger } from '../ops/logger.js';
import type { TrendMetrics } from '../ops/trendMetrics.js';

export interface TrendsWorkerOptions {
  /** How to reach Kafka. */
  connection: KafkaConnectionOptions;
  settings: TrendSettings;
  fromTopic: string;
  toTopic: string;
  lateTopic: string;
  changelogTopic: string;
  groupId: string;
  delivery: 'exactly-once' | 'at-least-once';
  transactionalId: string;
  logger: Logger;
  metrics?: TrendMetrics;
  /** Wall clock for emitted_at and the idle timeout; default Date.now. */
  now?: () => number;
  /**
   * Idle input, in ms of wall clock (default Infinity: off). A partition with
   * no record for this long is left out of the watermark until it delivers
   * again (TrendState.markIdle); when no partition has delivered for this long,
   * event time moves on with the clock (TrendState.advanceIdle), so the last
   * windows of a quiet stream close. Checked about every second (every
   * idleTimeoutMs when shorter); the windows it closes are written like a
   * batch (one transaction with the state), with no input offsets.
   */
  idleTimeoutMs?: number;
  /** Outputs, state and offsets are written at most this often (ms; 0: after every batch); default 1000 (trendsEdge.ts). */
  commitIntervalMs?: number;
  /** Largest changelog record in bytes (the state is split into chunks); default 512 KiB (trendsEdge.ts). */
  changelogChunkBytes?: number;
}

export interface TrendsWorker extends TrendsEdge {
  /** The current state (for the metrics). */
  state(): TrendState;
}

export async function startTrendsWorker(o: TrendsWorkerOptions): Promise<TrendsWorker> {
  const mentions = loadSchema('mentions');
  const trends = loadSchema('trends');
  const now = o.now ?? Date.now;
  let state = new TrendState(o.settings);
  const idleMs = o.idleTimeoutMs ?? Infinity;
  if (!(idleMs > 0)) throw new ConfigError(`trends: idleTimeoutMs must be > 0 ms (or Infinity: off), got ${idleMs}`);
  /** Wall clock of each partition's last record (or of the restore), of the last record of any, and of the last idle advance. */
  const lastSeen = new Map<number, number>();
  let lastInput = now();
  let advancedAt = lastInput;

  const restore = (partitions: readonly number[], stored: Buffer | undefined, seconds: number): void => {
    state = stored === undefined ? new TrendState(o.settings) : TrendState.restore(o.settings, JSON.parse(gunzipSync(stored).toString('utf8')) as TrendSnapshot);
    for (const p of partitions) state.addSource(String(p)); // the watermark waits for every partition
    lastInput = advancedAt = now();
    for (const p of partitions) lastSeen.set(p, lastInput);
    o.metrics?.restored(seconds);
    o.logger.info('trend state restored', { seconds, openWindows: state.openWindows, stored: stored !== undefined });
  };

  const written = (closed: readonly EntityTrend[], outputs: OutRecord[]): OutRecord[] => {
    o.metrics?.closed(closed.length);
    for (const t of closed) outputs.push({ topic: o.toTopic, key: String(t.window_start), value: encodeStrict(trends, t) });
    return outputs;
  };

  /** The idle timeout: partitions silent for idleMs leave the watermark; all silent that long, event time follows the clock. */
  const tick = (): OutRecord[] => {
    const at = now();
    for (const [p, seen] of lastSeen) if (at - seen >= idleMs) state.markIdle(String(p));
    if (at - lastInput >= idleMs) {
      state.advanceIdle(at - advancedAt);
      advancedAt = at;
    }
    return written(state.close(at), []);
  };

  const process = (records: readonly InputRecord[], partition: number): OutRecord[] => {
    lastInput = advancedAt = now();
    lastSeen.set(partition, lastInput);
    const outputs: OutRecord[] = [];
    const aside = (r: InputRecord, reason: string, detail: string): void => {
      outputs.push({ topic: o.lateTopic, key: r.key?.toString() ?? '', value: r.value ?? Buffer.alloc(0), headers: { reason, detail, partition: String(r.partition), offset: r.offset } });
    };
    for (const r of records) {
      let record: PostMentions;
      try {
        record = decodeStrict<PostMentions>(mentions, r.value ?? Buffer.alloc(0));
      } catch (err) {
        aside(r, 'invalid', (err as Error).message);
        continue;
      }
      if (state.add(record, String(partition)) === 'late') aside(r, 'late', `watermark ${state.watermark}`);
    }
    return written(state.close(now()), outputs);
  };

  const edge = await runTrendsEdge({
    connection: o.connection,
    fromTopic: o.fromTopic,
    changelogTopic: o.changelogTopic,
    groupId: o.groupId,
    stateKey: `trends:${o.groupId}`,
    delivery: o.delivery,
    transactionalId: o.transactionalId,
    logger: o.logger,
    restore,
    process,
    snapshot: () => {
      const entry = gzipSync(JSON.stringify(state.snapshot()), { level: 1 });
      o.metrics?.stateWritten(entry.length);
      return entry;
    },
    ...(o.commitIntervalMs === undefined ? {} : { commitIntervalMs: o.commitIntervalMs }),
    ...(o.changelogChunkBytes === undefined ? {} : { changelogChunkBytes: o.changelogChunkBytes }),
    ...(idleMs === Infinity ? {} : { idle: { tickMs: Math.min(idleMs, 1000), tick } }),
  });
  return { ...edge, done: edge.done, stop: edge.stop, state: () => state };
}
