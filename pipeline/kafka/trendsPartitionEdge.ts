/**
 * The Kafka edge of the scaled-out trends aggregators (`mentionflow trends
 * --stage aggregate`): a consumer group on the repartition topic where each
 * member owns its assigned partitions, one state per partition.
 *
 * - State: partition P's state entry goes to partition P of the changelog
 *   (created with as many partitions as the repartition topic, as Kafka
 *   Streams' store changelogs are), under the key `STATEKEY:P`, in chunks
 *   (changelogEntry, as trendsEdge.ts writes them).
 * - exactly-once: per owned partition P a transactional producer with the id
 *   `PREFIX-TOPIC-P`, whoever owns P (the per-input-partition scheme of
 *   `mentionflow run`, transactionalSink.ts): registering it when P is
 *   assigned fences P's previous owner and settles what it left open; one
 *   transaction then holds P's outputs, P's state entry and P's input offset,
 *   so the state in changelog partition P always matches P's committed offset.
 *   A write of P that fails fenced (another member registered P's id: the
 *   group gave P to it while this one was slow or cut off) gives P up, as
 *   transactionalSink.ts does: P's state and held outputs are dropped (none of
 *   them is committed; the new owner reads P again from the committed offset
 *   on top of the committed state) and P is paused; the member carries on
 *   with its other partitions, and claims and restores P again if the next
 *   join assigns it P (or, when no join comes within a session timeout, the
 *   group still says P is its own).
 * - at-least-once: one idempotent producer; outputs and state entries are
 *   produced, then the offsets committed by the consumer.
 * - Restore: after each join, before the first batch (or idle tick), for
 *   every owned partition a restore marker is committed to its changelog
 *   partition, and the changelog is read read_committed with the partitions
 *   this member does not own paused, up to every marker: only what it owns is
 *   restored, and the read ends exactly at what is committed. A partition
 *   that left is dropped (its new owner restores it from the changelog).
 *   Then every owned partition is read from its committed offset, read after
 *   the claim (the consumer seeks there): kafkajs read the committed offsets
 *   at the join, before the claim fenced the previous owner, which may have
 *   committed more of P in between; going on from kafkajs's position would
 *   count those records again on top of a state that has them.
 * - Commit interval, as trendsEdge.ts: outputs, states and offsets are
 *   written at most every `commitIntervalMs` (and at stop); until then held
 *   in memory (a crash or a rebalance drops them, the input is read again
 *   from the committed offsets on top of the committed state).
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Producer } from 'kafkajs';
import { ConfigError, KafkaEdgeError } from '../../common/errors.js';
import type { Logger } from '../ops/logger.js';
import { createKafkaClient, type KafkaConnectionOptions } from './client.js';
import { isFenced, kafkaEdgeError } from './errors.js';
import { newProducer } from './producers.js';
import { CHANGELOG_CHUNK_BYTES, changelogEntry, headersOf, stateFromChangelog, type InputRecord, type OutRecord } from './trendsEdge.js';
import { partitionTransactionalId } from './transactionalSink.js';

export interface TrendsPartitionEdgeOptions {
  connection: KafkaConnectionOptions;
  /** The repartition topic. */
  fromTopic: string;
  /** The state changelog: as many partitions as fromTopic, compacted. */
  changelogTopic: string;
  groupId: string;
  /** Partition P's state is under `${stateKey}:P`. */
  stateKey: string;
  delivery: 'exactly-once' | 'at-least-once';
  /** exactly-once: prefix of the per-partition transactional ids (`PREFIX-TOPIC-P`). */
  transactionalIdPrefix: string;
  logger: Logger;
  sessionTimeoutMs?: number;
  /** Outputs, states and offsets are written at most this often (ms, >= 0; 0: after every batch). Default 1000. */
  commitIntervalMs?: number;
  changelogChunkBytes?: number;
  /** How many partitions the repartition topic has (known before the first join). */
  partitionsKnown?(partitions: number): void;
  /** After a join, before the first batch: one call per owned partition with its stored state (undefined: none). */
  restore(partition: number, state: Buffer | undefined, seconds: number): void;
  /** A partition this member no longer owns: forget its state. */
  drop(partition: number): void;
  /** One fetched batch of one owned partition, in offset order: the records to write for it. */
  process(records: readonly InputRecord[], partition: number): OutRecord[];
  /** Partition P's state now, as one changelog entry. */
  snapshot(partition: number): Buffer;
  /** Idle input: called every tickMs between batches per owned partition; its records are written like a batch's, with no input offset. */
  idle?: { tickMs: number; tick(partition: number): OutRecord[] };
}

export interface TrendsPartitionEdge {
  readonly done: Promise<void>;
  stop(): Promise<void>;
  /** The partitions owned now. */
  owned(): readonly number[];
}

interface Pending {
  outputs: OutRecord[];
  offset: string | undefined;
}

export async function runTrendsPartitionEdge(opts: TrendsPartitionEdgeOptions): Promise<TrendsPartitionEdge> {
  const { fromTopic, changelogTopic, groupId, delivery, logger } = opts;
  if (delivery !== 'exactly-once' && delivery !== 'at-least-once') throw new ConfigError(`delivery must be exactly-once or at-least-once, got ${JSON.stringify(delivery)}`);
  const commitIntervalMs = opts.commitIntervalMs ?? 1000;
  if (!(commitIntervalMs >= 0 && Number.isFinite(commitIntervalMs))) throw new ConfigError(`commitIntervalMs must be a number of ms >= 0, got ${commitIntervalMs}`);
  const chunkBytes = opts.changelogChunkBytes ?? CHANGELOG_CHUNK_BYTES;
  const eos = delivery === 'exactly-once';
  const log = logger.child({ component: 'trends-partition-edge', topic: fromTopic, groupId });
  const kafka = createKafkaClient(opts.connection);
  const admin = kafka.admin();
  let partitionCount: number;
  try {
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [fromTopic, changelogTopic] });
    partitionCount = meta.topics.find((t) => t.name === fromTopic)!.partitions.length;
    const changelogPartitions = meta.topics.find((t) => t.name === changelogTopic)!.partitions.length;
    if (changelogPartitions !== partitionCount) {
      throw new ConfigError(`the changelog ${changelogTopic} has ${changelogPartitions} partitions, the repartition topic ${fromTopic} ${partitionCount}: they must be equal (partition P's state goes to changelog partition P)`);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw kafkaEdgeError(`cannot read the metadata of ${fromTopic} and ${changelogTopic} (create them with \`mentionflow trends --stage aggregate --create-topics\`)`, err);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  opts.partitionsKnown?.(partitionCount);
  const keyOf = (p: number): string => `${opts.stateKey}:${p}`;

  /** exactly-once: the producer of each owned partition; at-least-once: one shared producer under -1. */
  const producers = new Map<number, Producer>();
  const openProducer = async (p: number): Promise<Producer> => {
    const producer = newProducer(kafka, eos ? { transactionalId: partitionTransactionalId(opts.transactionalIdPrefix, fromTopic, p) } : {});
    await producer.connect();
    if (eos) await (await producer.transaction()).abort(); // InitProducerId: fences P's previous owner, settles what it left open
    return producer;
  };
  if (!eos) producers.set(-1, await openProducer(-1));
  const producerOf = (p: number): Producer => producers.get(eos ? p : -1)!;

  const markersToClear = new Map<number, string>();
  const sessionTimeoutMs = opts.sessionTimeoutMs ?? 6_000;
  const consumer: Consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval: Math.floor(sessionTimeoutMs / 3),
    maxWaitTimeInMs: 500,
    allowAutoTopicCreation: false,
    retry: { retries: 0, restartOnFailure: async () => false },
  });

  /** Writes partition p's records (and its offset) as one transaction, or produces them then commits the offset. */
  const write = async (p: number, records: OutRecord[], offset: string | undefined): Promise<void> => {
    const clear = markersToClear.get(p);
    if (clear !== undefined) {
      records = [...records, { topic: changelogTopic, partition: p, key: clear, value: null as unknown as Buffer }];
      markersToClear.delete(p);
    }
    const message = (r: OutRecord) => ({ key: r.key, value: r.value, ...(r.partition === undefined ? {} : { partition: r.partition }), ...(r.headers ? { headers: r.headers } : {}) });
    const byTopic = new Map<string, Array<ReturnType<typeof message>>>();
    const changelog: OutRecord[] = [];
    for (const r of records) {
      if (r.topic === changelogTopic) changelog.push(r);
      else byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), message(r)]);
    }
    const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    const send = async (target: Pick<Producer, 'sendBatch' | 'send'>): Promise<void> => {
      if (topicMessages.length > 0) await target.sendBatch({ topicMessages, acks: -1 });
      for (const r of changelog) await target.send({ topic: changelogTopic, acks: -1, messages: [message(r)] });
    };
    const producer = producerOf(p);
    if (eos) {
      const txn = await producer.transaction();
      try {
        await send(txn);
        if (offset !== undefined) await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: fromTopic, partitions: [{ partition: p, offset }] }] });
        await txn.commit();
      } catch (err) {
        await txn.abort().catch(() => undefined);
        throw err;
      }
    } else {
      await send(producer);
      if (offset !== undefined) await consumer.commitOffsets([{ topic: fromTopic, partition: p, offset }]);
    }
  };

  let assigned: number[] = [];
  let owned: number[] = [];
  let needRestore = true;
  let failure: unknown;
  let stopping: Promise<void> | undefined;
  let pending = new Map<number, Pending>();
  let lastWrite = Date.now();
  let turn: Promise<unknown> = Promise.resolve();
  const serially = <T>(f: () => Promise<T>): Promise<T> => {
    const run = turn.then(f);
    turn = run.catch(() => undefined);
    return run;
  };
  let settle!: () => void;
  const ended = new Promise<void>((r) => (settle = r));
  /** Partitions given up after a fenced write, paused: the timer claims them again if no join comes first. */
  const givenUp = new Map<number, NodeJS.Timeout>();

  /**
   * Partition p's write was fenced: another member registered p's id, so
   * nothing of p this member holds can commit any more. p's state and held
   * outputs are dropped and p is paused until the next join says whose it is
   * (or, after a session timeout with no join, claimed again: the group still
   * says it is this member's).
   */
  const giveUp = async (p: number, err: unknown): Promise<void> => {
    log.warn('fenced: another aggregator took this partition over; its state and held outputs are dropped, the partition is restored again if the group assigns it back', {
      partition: p,
      err: kafkaEdgeError('transaction', err).message,
    });
    owned = owned.filter((x) => x !== p);
    pending.delete(p);
    markersToClear.delete(p);
    opts.drop(p);
    await producers.get(p)?.disconnect().catch(() => undefined);
    producers.delete(p);
    consumer.pause([{ topic: fromTopic, partitions: [p] }]);
    clearTimeout(givenUp.get(p));
    const timer = setTimeout(() => {
      givenUp.delete(p);
      if (stopping !== undefined || !assigned.includes(p)) return;
      needRestore = true; // no join came: still assigned here, so claimed and restored again before the next batch
      consumer.resume([{ topic: fromTopic, partitions: [p] }]);
    }, sessionTimeoutMs);
    timer.unref();
    givenUp.set(p, timer);
  };
  /** A join: the assignment says whose each partition is; the given-up ones read again (claimed by the restore if assigned here). */
  const resumeGivenUp = (): void => {
    if (givenUp.size === 0) return;
    const parts = [...givenUp.keys()];
    for (const t of givenUp.values()) clearTimeout(t);
    givenUp.clear();
    consumer.resume([{ topic: fromTopic, partitions: parts }]);
  };

  /** Reads the changelog partitions of `claimed` up to a marker committed now in each; the stored entry of each (of those not given up meanwhile). */
  const readStates = async (claimed: readonly number[]): Promise<Map<number, Buffer | undefined>> => {
    const markers = new Map<number, string>();
    for (const p of claimed) {
      const marker = `restore-marker:${randomUUID()}`;
      try {
        await write(p, [{ topic: changelogTopic, partition: p, key: marker, value: Buffer.from('marker') }], undefined);
      } catch (err) {
        if (!(eos && isFenced(err))) throw err;
        await giveUp(p, err); // claimed by another member since this one registered p's id
        continue;
      }
      markers.set(p, marker);
      markersToClear.set(p, marker);
    }
    const parts = claimed.filter((p) => markers.has(p));
    const latest = new Map<number, Map<string, Buffer>>(parts.map((p) => [p, new Map()]));
    const reader = kafka.consumer({ groupId: `${groupId}-restore-${randomUUID()}`, readUncommitted: false, maxWaitTimeInMs: 200, allowAutoTopicCreation: false });
    const waiting = new Set(parts);
    let found!: () => void;
    const seen = new Promise<void>((r) => (found = r));
    try {
      await reader.connect();
      await reader.subscribe({ topics: [changelogTopic], fromBeginning: true });
      await reader.run({
        eachBatch: async ({ batch }) => {
          const mine = latest.get(batch.partition);
          if (mine === undefined) return;
          const stateKey = keyOf(batch.partition);
          for (const m of batch.messages) {
            const key = m.key?.toString();
            if (key === undefined) continue;
            if (key === stateKey || (key.startsWith(stateKey) && key[stateKey.length] === '#')) {
              if (m.value === null || m.value === undefined) mine.delete(key);
              else mine.set(key, m.value);
            } else if (key === markers.get(batch.partition)) {
              waiting.delete(batch.partition);
              if (waiting.size === 0) found();
            }
          }
        },
      });
      // only what this member owns is read
      const others = Array.from({ length: partitionCount }, (_, i) => i).filter((i) => !latest.has(i));
      if (others.length > 0) reader.pause([{ topic: changelogTopic, partitions: others }]);
      if (waiting.size > 0) await seen;
    } finally {
      await reader.disconnect().catch(() => undefined);
    }
    return new Map(parts.map((p) => [p, stateFromChangelog(keyOf(p), latest.get(p)!)]));
  };

  /** Where each of `parts` is read from: the group's committed offset (none: the partition's start). */
  const startOffsets = async (parts: readonly number[]): Promise<Map<number, string>> => {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const [entry] = await admin.fetchOffsets({ groupId, topics: [fromTopic] });
      const committed = new Map((entry?.partitions ?? []).map((x) => [x.partition, x.offset]));
      const low = new Map((await admin.fetchTopicOffsets(fromTopic)).map((x) => [x.partition, x.low]));
      return new Map(
        parts.map((p) => {
          const c = committed.get(p);
          return [p, c !== undefined && Number(c) >= 0 ? c : (low.get(p) ?? '0')];
        }),
      );
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };

  const restoreNow = async (): Promise<void> => {
    const t0 = process.hrtime.bigint();
    pending = new Map(); // made from states about to be replaced: the input is read again from the committed offsets
    const next = [...assigned];
    for (const p of owned) {
      if (next.includes(p)) continue;
      opts.drop(p);
      if (eos) await producers.get(p)?.disconnect().catch(() => undefined);
      producers.delete(p);
      markersToClear.delete(p);
    }
    if (eos) for (const p of next) {
      // registered again on every join: fences whoever held p meanwhile
      await producers.get(p)?.disconnect().catch(() => undefined);
      producers.set(p, await openProducer(p));
    }
    owned = next;
    const states = await readStates(owned);
    // read after the claim fenced each partition's previous owner: nothing commits there any more but this member
    const from = await startOffsets(owned);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    for (const p of owned) opts.restore(p, states.get(p), seconds);
    for (const [p, offset] of from) consumer.seek({ topic: fromTopic, partition: p, offset }); // batches fetched before are stale
    log.info('trend states restored', { partitions: owned, seconds, from: Object.fromEntries(from) });
    needRestore = false;
  };

  const flush = async (): Promise<void> => {
    const parts = [...pending];
    pending = new Map();
    lastWrite = Date.now();
    for (const [p, { outputs, offset }] of parts) {
      if (outputs.length === 0 && offset === undefined) continue;
      try {
        await write(p, [...outputs, ...changelogEntry(changelogTopic, keyOf(p), opts.snapshot(p), chunkBytes).map((r) => ({ ...r, partition: p }))], offset);
      } catch (err) {
        if (eos && isFenced(err)) {
          await giveUp(p, err); // nothing of p's held work committed; the other partitions carry on
          continue;
        }
        failure = new KafkaEdgeError(`trends: writing the outputs and state of ${fromTopic}[${p}]${offset === undefined ? '' : ` (offset ${offset})`} failed; stopping so that a restart restores the committed state`, { cause: err });
        settle();
        return;
      }
    }
  };
  const pendingOf = (p: number): Pending => {
    let x = pending.get(p);
    if (x === undefined) pending.set(p, (x = { outputs: [], offset: undefined }));
    return x;
  };
  const due = (): boolean => Date.now() - lastWrite >= commitIntervalMs;

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    needRestore = true;
    resumeGivenUp();
    assigned = [...(payload.memberAssignment[fromTopic] ?? [])].sort((a, b) => a - b);
  });
  consumer.on(consumer.events.REBALANCING, () => {
    needRestore = true;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    failure ??= payload.error;
    settle();
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [fromTopic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: ({ batch, isStale, resolveOffset, heartbeat }) =>
      serially(async () => {
        if (failure !== undefined || stopping !== undefined || isStale() || batch.messages.length === 0) return;
        if (needRestore) await restoreNow(); // then the batch is stale: its partition is read again from the committed offset
        if (isStale() || !owned.includes(batch.partition)) return;
        const records = batch.messages.map((m) => ({ partition: batch.partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null, ...headersOf(m.headers) }));
        const out = pendingOf(batch.partition);
        out.outputs.push(...opts.process(records, batch.partition));
        const last = batch.messages[batch.messages.length - 1]!.offset;
        out.offset = (BigInt(last) + 1n).toString();
        resolveOffset(last);
        if (due()) await flush();
        await heartbeat();
      }),
  });
  const tickMs = Math.max(10, Math.min(opts.idle?.tickMs ?? Infinity, commitIntervalMs || 1000, 1000));
  const tick = (): Promise<void> =>
    serially(async () => {
      if (failure !== undefined || stopping !== undefined || assigned.length === 0) return;
      if (needRestore && opts.idle === undefined) return;
      if (opts.idle !== undefined) {
        try {
          if (needRestore) await restoreNow();
          for (const p of owned) pendingOf(p).outputs.push(...opts.idle.tick(p));
        } catch (err) {
          failure = new KafkaEdgeError('trends: restoring the states for the idle timeout failed', { cause: err });
          settle();
          return;
        }
      }
      if (due()) await flush();
    });
  const ticker = setInterval(() => void tick(), tickMs);
  log.info('trends partition aggregator consuming', { partitions: partitionCount, delivery, commitIntervalMs });
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(ticker);
      for (const t of givenUp.values()) clearTimeout(t);
      await serially(async () => {
        if (failure === undefined && !needRestore) await flush();
      });
      await consumer.disconnect().catch(() => undefined);
      await Promise.all([...producers.values()].map((p) => p.disconnect().catch(() => undefined)));
      settle();
    })());
  const done = ended.then(async () => {
    await stop();
    if (failure !== undefined) throw failure instanceof Error && 'exitCode' in failure ? failure : kafkaEdgeError('the trends partition aggregator stopped', failure);
  });
  return { done, stop, owned: () => owned };
}
