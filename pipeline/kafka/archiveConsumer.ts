/**
 * The Kafka side of the archive sink: a consumer group reading one topic
 * (read_committed) and handing each record, in offset order per partition,
 * to an ArchiveTarget; offsets are committed only with what the target's
 * flush returns, i.e. after the records are in complete, fsynced, renamed
 * files. autoCommit is off: a kill -9 loses nothing that was not committed,
 * and the target skips what it already archived when records come again.
 *
 * Flushes happen between batches: at the end of each fetched batch for the
 * partitions the target says are due, on a timer (age-based rolls of a
 * quiet topic), after a rebalance and on stop. All target calls are
 * serialized.
 *
 * Several sinks share a topic's partitions. A partition that moves to
 * another sink must get no file from this one once the other has listed
 * its files (it would archive the same records again): from the moment
 * kafkajs says the group is rebalancing no file is renamed, and when the
 * new assignment arrives the open files of the partitions this sink lost
 * are deleted unrenamed and their offsets not committed (their records
 * come again to the new owner), while those of the partitions it kept are
 * renamed and committed; every partition is then reloaded from disk.
 * A sink stalled past its session timeout (a long pause, SIGSTOP) learns
 * of the rebalance only at its next request to the broker: its renames are
 * fenced by the target instead (pipeline/file/archiveRoller.ts), which is
 * handed with each batch the group generation the sink last joined (the
 * generation orders the owners of a partition: a newer one fences an older
 * one; Kafka fences the stalled sink's commits by the same number).
 *
 * The flushes of several partitions run at once (separate files; their
 * fsyncs overlap).
 *
 * Pipelined: kafkajs fetches the next batches only once eachBatch has
 * returned for every batch of the last fetch, so eachBatch packs the
 * batch (target.pack: kafkajs's message objects are not kept), queues it
 * for the target and returns at once while up to maxPendingBytes (4 MiB)
 * of packed batches are queued (then it waits for the queue to drain below
 * that): the target archives one fetch while the next is on the wire.
 * Nothing is committed by returning early (autoCommit is off; offsets are
 * committed only with what flush returns). A failing take makes the
 * consumer fail-stop: the target accepts no more calls and `done` rejects,
 * so no offset past the failure is ever committed; a restart resumes from
 * the committed offsets.
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { ConfigError, MentionflowError } from '../../common/errors.js';
import type { Logger } from '../ops/logger.js';
import { createKafkaClient, type KafkaConnectionOptions } from './client.js';
import { isMembershipLost, kafkaEdgeError } from './errors.js';
import { withAdmin } from './withAdmin.js';

/**
 * One consumed record, as the target sees it: the fields of kafkajs's own
 * message objects, which are handed over as they are (no object per record
 * built here: at ~2 us per record for the whole consumer, one more object
 * per record showed in the profile).
 */
export interface ArchiveRecord {
  /** The offset, a decimal string. */
  readonly offset: string;
  /** The record's timestamp, epoch ms as a decimal string. */
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

/** A fetched batch as the target packed it for its queue; `bytes` counts toward maxPendingBytes. */
export interface PackedBatch {
  readonly bytes: number;
}

/** What the consumer drives (pipeline/stream/archiveSink.ts adapts ArchiveRoller to it). */
export interface ArchiveTarget<B extends PackedBatch = PackedBatch> {
  /**
   * Packs one fetched batch of one partition (records in offset order) for
   * the queue, synchronously inside eachBatch, so that kafkajs's per-record
   * objects die young instead of waiting in the queue (scavenges copying
   * them were the sink's main GC cost). Must not throw: a record that cannot
   * be archived is carried in the packed batch and fails its take.
   */
  pack(partition: number, records: readonly ArchiveRecord[]): B;
  /**
   * Takes a packed batch, in fetch order per partition; `generation` is the consumer group's
   * generation of the assignment the sink last joined (it orders the owners of a partition), and
   * `current` asks the group coordinator whether this sink's generation is still the current one
   * (see currentCheck).
   */
  take(partition: number, batch: B, generation: number, current: () => Promise<boolean>): Promise<void>;
  /** Partitions to flush now. */
  due(): number[];
  /** Partitions with state (to flush on a rebalance or stop). */
  known(): number[];
  /** Closes the partition's files; resolves with the offset to commit (undefined: nothing). */
  flush(partition: number): Promise<number | undefined>;
  /** Forgets a partition's state (after a rebalance). */
  drop(partition: number): Promise<void>;
}

export interface ArchiveConsumerOptions<B extends PackedBatch = PackedBatch> extends KafkaConnectionOptions {
  topic: string;
  groupId: string;
  target: ArchiveTarget<B>;
  logger: Logger;
  /** How often due() is checked without traffic (ms); default 1000. */
  tickMs?: number;
  sessionTimeoutMs?: number;
  /** Called after each commit. */
  onCommit?: (partition: number, offset: number) => void;
  /** Bytes of packed batches queued for the target before eachBatch waits; default 4 MiB (about one fetch of 3 partitions at 1 MiB each). */
  maxPendingBytes?: number;
  /** Called with the bytes queued for the target whenever that changes (a batch queued or taken). */
  onPending?: (bytes: number) => void;
}

export interface ArchiveConsumer {
  /** Resolves when the consumer has joined and is running. */
  readonly started: Promise<void>;
  /** Flushes and commits everything open, then leaves the group. */
  stop(): Promise<void>;
  /** Rejects when the consumer fails for good. */
  readonly done: Promise<void>;
}

export function startArchiveConsumer<B extends PackedBatch>(opts: ArchiveConsumerOptions<B>): ArchiveConsumer {
  const { topic, target, logger } = opts;
  const tickMs = opts.tickMs ?? 1000;
  if (!Number.isFinite(tickMs) || tickMs <= 0) throw new ConfigError(`archive: tickMs must be > 0, got ${tickMs}`);
  const maxPendingBytes = opts.maxPendingBytes ?? 4 * 1024 * 1024;
  if (!Number.isFinite(maxPendingBytes) || maxPendingBytes < 0) throw new ConfigError(`archive: maxPendingBytes must be >= 0, got ${maxPendingBytes}`);
  const sessionTimeout = opts.sessionTimeoutMs ?? 10_000;
  const consumer: Consumer = createKafkaClient(opts).consumer({
    groupId: opts.groupId,
    sessionTimeout,
    heartbeatInterval: Math.floor(sessionTimeout / 3),
    maxWaitTimeInMs: 500,
    readUncommitted: false,
    allowAutoTopicCreation: false,
  });

  // Every target call goes through this chain: batches, ticks, rebalances and stop never interleave.
  // After a failure (`broken`) nothing more runs: what follows a failed take must never be committed.
  let chain: Promise<unknown> = Promise.resolve();
  let broken: { error: unknown } | undefined;
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(() => {
      if (broken !== undefined) throw broken.error;
      return fn();
    });
    chain = run.catch((error: unknown) => {
      broken ??= { error };
    });
    return run;
  };

  // Set when kafkajs reports a rebalance, cleared once the new assignment is handled: no file is
  // renamed meanwhile (the partition may already belong to another sink).
  let rebalancing = false;
  /** Rebalances announced so far: a join handled clears the flag only if no rebalance began after it. */
  let rebalances = 0;
  /** The partitions of the last assignment handled (in the serial chain); undefined before the first. */
  let owned: Set<number> | undefined;
  /** The group generation of that assignment. */
  let generation = -1;
  /** The generation of the last join kafkajs reported (ahead of `generation` until its handler runs). */
  let joinedLast: unknown;

  const flushAndCommit = async (partitions: readonly number[]): Promise<void> => {
    if (rebalancing) return; // nothing renamed: the partitions may already belong to another sink
    const flushed = await Promise.allSettled(partitions.map((partition) => target.flush(partition)));
    const offsets: Array<{ topic: string; partition: number; offset: string }> = [];
    flushed.forEach((r, i) => {
      if (r.status === 'rejected') throw r.reason;
      if (r.value !== undefined) offsets.push({ topic, partition: partitions[i], offset: String(r.value) });
    });
    if (offsets.length === 0) return;
    try {
      await consumer.commitOffsets(offsets);
      for (const o of offsets) opts.onCommit?.(o.partition, Number(o.offset));
    } catch (err) {
      // The files are in place; the records come again after the rebalance (or, for a member the
      // coordinator removed after a stall, after kafkajs rejoins) and are skipped.
      if (!isMembershipLost(err)) throw kafkaEdgeError('cannot commit archive offsets', err, { topic });
      logger.warn('archive: commit refused (a rebalance, or this member was removed from the group); the archived records will be skipped when they come again', { partitions: offsets.map((o) => o.partition), reason: (err as Error).message });
    }
  };

  /**
   * Whether this sink's generation is still the group's current one, as the coordinator says:
   * it commits the partition's committed offset again (its low watermark when none is committed,
   * where a consumer without a committed offset starts anyway), which the coordinator accepts
   * only from a member of the current generation; no other member commits the partition
   * meanwhile if this one is current. kafkajs commits with the generation it joined last, so the
   * answer counts only if that is the sink's own (no join pending before or after the commit).
   * Any failure counts as "not current".
   */
  const currentCheck = (partition: number) => async (): Promise<boolean> => {
    if (joinedLast !== generation) return false;
    try {
      const offset = await withAdmin(opts, { what: `cannot read the committed offset of ${topic} partition ${partition}`, position: { topic, partition } }, async (admin) => {
        const [committed] = await admin.fetchOffsets({ groupId: opts.groupId, topics: [topic] });
        const found = committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
        if (found !== '-1') return found;
        return (await admin.fetchTopicOffsets(topic)).find((p) => p.partition === partition)?.low ?? '0';
      });
      await consumer.commitOffsets([{ topic, partition, offset }]);
      return joinedLast === generation;
    } catch (err) {
      logger.warn('archive: could not confirm that this sink is in the current group generation', { partition, error: err instanceof Error ? err.message : String(err) });
      return false;
    }
  };

  let failed: (err: unknown) => void = () => undefined;
  const done = new Promise<void>((_resolve, reject) => (failed = reject));
  done.catch(() => undefined);

  // Batches queued for the target and not yet taken (bytes of their values).
  let pendingBytes = 0;
  let drained: Array<() => void> = [];
  const eachBatch = async ({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    if (!isRunning() || isStale()) return;
    if (broken !== undefined) throw broken.error;
    while (pendingBytes > maxPendingBytes && broken === undefined) await new Promise<void>((resolve) => drained.push(resolve));
    const partition = batch.partition;
    const packed = target.pack(partition, batch.messages);
    const bytes = packed.bytes;
    pendingBytes += bytes;
    opts.onPending?.(pendingBytes);
    serial(async () => {
      // A batch queued before a rebalance that moved its partition away: the new owner reads it again.
      if (owned !== undefined && !owned.has(partition)) return;
      await target.take(partition, packed, generation, currentCheck(partition));
      const due = target.due();
      if (due.length > 0) await flushAndCommit(due);
    })
      .catch(failed)
      .finally(() => {
        pendingBytes -= bytes;
        opts.onPending?.(pendingBytes);
        const waiting = drained;
        drained = [];
        for (const resolve of waiting) resolve();
      })
      .catch(() => undefined);
    if (maxPendingBytes === 0) await chain;
    await heartbeat();
  };

  let timer: NodeJS.Timeout | undefined;
  const started = (async () => {
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
    } catch (err) {
      throw kafkaEdgeError(`cannot start the archive consumer of ${topic}`, err, { topic });
    }
    consumer.on(consumer.events.REBALANCING, () => {
      rebalancing = true;
      rebalances++;
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const assigned = (e.payload.memberAssignment as Record<string, number[]>)[topic] ?? [];
      // Added to the payload by consumerGroupPatch.ts (kafkajs 2.2.4 leaves it out).
      const joined = (e.payload as { generationId?: unknown }).generationId;
      logger.info('archive: joined the group', { partitions: assigned, generation: joined });
      joinedLast = joined;
      rebalancing = true; // also after a rejoin kafkajs did not announce (e.g. an unknown member id)
      const seenRebalances = rebalances;
      // Partitions lost: their open files are deleted, not renamed (another sink may have listed the
      // partition's files already) and nothing is committed; partitions kept: closed and committed.
      // Then every partition is reloaded from disk.
      void serial(async () => {
        // Fail-stop (nothing more renamed or committed) rather than write without a fence.
        if (typeof joined !== 'number') throw new MentionflowError('archive: kafkajs did not report the group generation of the join, which fences the renames of a stalled sink (pipeline/kafka/consumerGroupPatch.ts adds it to kafkajs 2.2.4 only)');
        owned = new Set(assigned);
        generation = joined;
        const known = target.known();
        const kept = known.filter((p) => assigned.includes(p));
        const lost = known.filter((p) => !assigned.includes(p));
        for (const p of lost) await target.drop(p);
        if (lost.length > 0) logger.info('archive: partitions moved away; their open files deleted, their records left to the new owner', { partitions: lost });
        // A rebalance begun since this join may move the kept ones too: then they are not renamed
        // either (dropped below, uncommitted) and the next join clears the flag.
        if (rebalances === seenRebalances) {
          rebalancing = false;
          await flushAndCommit(kept);
        }
        for (const p of kept) await target.drop(p);
      }).catch(failed);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart !== true) failed(e.payload.error);
    });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: true, eachBatch });
    timer = setInterval(() => {
      void serial(async () => {
        const due = target.due();
        if (due.length > 0) await flushAndCommit(due);
      }).catch(failed);
    }, tickMs);
  })();

  return {
    started,
    done,
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      await started.catch(() => undefined);
      await consumer.pause([{ topic }]);
      try {
        // After a failure nothing is flushed or committed (done has rejected with the cause).
        // Not during a rebalance either: then the open files are deleted below, uncommitted.
        if (broken === undefined) {
          await serial(async () => {
            await flushAndCommit(target.known());
            for (const p of target.known()) await target.drop(p);
          });
        }
      } finally {
        await consumer.disconnect();
      }
    },
  };
}
