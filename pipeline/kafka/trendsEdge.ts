/**
 * The Kafka edge of the trends aggregator (`mentionflow trends --brokers`):
 * a consumer group on the mentions topic, and per fetched batch one write of
 * the batch's outputs (trend records, late records), the aggregator's state
 * (one changelog entry) and the batch's input offsets.
 *
 * - exactly-once: the write is one Kafka transaction (outputs, changelog
 *   entry, sendOffsets), so the state in the changelog always matches the
 *   committed input offsets: a restart (kill -9 included) restores the state
 *   of the last committed batch and resumes at the offset after it, neither
 *   losing nor counting a mention twice. A failed transaction ends the run
 *   (the process exits; its successor restores and resumes).
 * - at-least-once: the outputs and the changelog entry are produced
 *   (idempotent, acks=all), then the offsets committed by the consumer. A
 *   crash between the two reads the batch again on top of a state that
 *   already counts it: its records are counted twice and the windows it
 *   closed are written twice.
 *
 * Restore: before the first batch after each join, the changelog (one
 * partition, compacted) is read from the beginning, read_committed, up to a
 * restore marker this instance has just committed (a record with a unique
 * key; tombstoned in the next write), so the read ends exactly at the end of
 * what is committed, with no guess from offsets or idle time. The last entry
 * under the aggregator's key is the state. Registering the transactional
 * producer first aborts whatever a killed predecessor left open.
 *
 * The state covers every partition of the mentions topic (the watermark is
 * per partition), so one aggregator runs per consumer group: an assignment
 * of only some partitions (a second member) ends the run with a ConfigError.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Producer } from 'kafkajs';
import { ConfigError, KafkaEdgeError } from '../../common/errors.js';
import type { Logger } from '../ops/logger.js';
import { createKafkaClient, type KafkaConnectionOptions } from './client.js';
import { kafkaEdgeError } from './errors.js';

/** A record of the mentions topic. */
export interface InputRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

/** A record to write. */
export interface OutRecord {
  topic: string;
  key: string;
  value: Buffer;
  headers?: Record<string, string>;
}

/** What the aggregator hands back for a batch: records to write, and its state after the batch. */
export interface BatchResult {
  outputs: OutRecord[];
  state: Buffer;
}

export interface TrendsEdgeOptions {
  connection: KafkaConnectionOptions;
  fromTopic: string;
  changelogTopic: string;
  groupId: string;
  /** Key of the aggregator's state in the changelog. */
  stateKey: string;
  delivery: 'exactly-once' | 'at-least-once';
  /** exactly-once: unique per aggregator, stable across restarts. */
  transactionalId: string;
  logger: Logger;
  sessionTimeoutMs?: number;
  /** Called before the first batch after each join with the partitions and the stored state (undefined: none yet); returns nothing. */
  restore(partitions: readonly number[], state: Buffer | undefined, seconds: number): void;
  /** One fetched batch of one partition, in offset order. */
  process(records: readonly InputRecord[], partition: number): BatchResult;
  /**
   * Idle input (`--idle-timeout`): called every `tickMs` between batches (never
   * during one, never before the state is restored; restores it first when no
   * batch came since the join). What it returns, if anything, is written like
   * a batch but with no input offsets: the windows that idleness closed, and
   * the state they leave.
   */
  idle?: { tickMs: number; tick(): BatchResult | undefined };
}

export interface TrendsEdge {
  /** Resolves when stopped; rejects with what ended the run. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export async function runTrendsEdge(opts: TrendsEdgeOptions): Promise<TrendsEdge> {
  const { fromTopic, changelogTopic, groupId, stateKey, delivery, logger } = opts;
  if (delivery !== 'exactly-once' && delivery !== 'at-least-once') throw new ConfigError(`delivery must be exactly-once or at-least-once, got ${JSON.stringify(delivery)}`);
  const log = logger.child({ component: 'trends-edge', topic: fromTopic, groupId });
  const eos = delivery === 'exactly-once';
  const kafka = createKafkaClient(opts.connection);
  const admin = kafka.admin();
  let partitions: number[];
  try {
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [fromTopic, changelogTopic] });
    partitions = meta.topics.find((t) => t.name === fromTopic)!.partitions.map((p) => p.partitionId).sort((a, b) => a - b);
  } catch (err) {
    throw kafkaEdgeError(`cannot read the metadata of ${fromTopic} and ${changelogTopic} (create them with \`mentionflow trends --create-topics\`)`, err);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  const producer: Producer = kafka.producer(
    eos
      ? { transactionalId: opts.transactionalId, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, transactionTimeout: 60_000 }
      : { idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false },
  );
  await producer.connect();
  if (eos) await (await producer.transaction()).abort(); // InitProducerId: fences a predecessor, aborts what it left open

  let markerToClear: string | undefined;
  /** Writes records (and offsets) as one transaction, or idempotently then commits offsets. */
  const write = async (records: OutRecord[], offsets: Array<{ partition: number; offset: string }>, consumer?: Consumer): Promise<void> => {
    if (markerToClear !== undefined) {
      records = [...records, { topic: changelogTopic, key: markerToClear, value: null as unknown as Buffer }];
      markerToClear = undefined;
    }
    const byTopic = new Map<string, Array<{ key: string; value: Buffer | null; headers?: Record<string, string> }>>();
    for (const r of records) {
      const list = byTopic.get(r.topic) ?? [];
      list.push({ key: r.key, value: r.value, ...(r.headers ? { headers: r.headers } : {}) });
      byTopic.set(r.topic, list);
    }
    const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    if (eos) {
      const txn = await producer.transaction();
      try {
        if (topicMessages.length > 0) await txn.sendBatch({ topicMessages, acks: -1 });
        if (offsets.length > 0) await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: fromTopic, partitions: offsets }] });
        await txn.commit();
      } catch (err) {
        await txn.abort().catch(() => undefined);
        throw err;
      }
    } else {
      if (topicMessages.length > 0) await producer.sendBatch({ topicMessages, acks: -1 });
      if (offsets.length > 0) await consumer!.commitOffsets(offsets.map((o) => ({ topic: fromTopic, ...o })));
    }
  };

  /** Reads the changelog up to a marker committed now; returns the last state under stateKey. */
  const readState = async (): Promise<Buffer | undefined> => {
    const marker = `restore-marker:${randomUUID()}`;
    await write([{ topic: changelogTopic, key: marker, value: Buffer.from('marker') }], []);
    markerToClear = marker;
    const reader = kafka.consumer({ groupId: `${groupId}-restore-${randomUUID()}`, readUncommitted: false, maxWaitTimeInMs: 200, allowAutoTopicCreation: false });
    let state: Buffer | undefined;
    let found!: () => void;
    const seen = new Promise<void>((r) => (found = r));
    try {
      await reader.connect();
      await reader.subscribe({ topics: [changelogTopic], fromBeginning: true });
      await reader.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const key = m.key?.toString();
            if (key === stateKey) state = m.value ?? undefined;
            else if (key === marker) found();
          }
        },
      });
      await seen;
    } finally {
      await reader.disconnect().catch(() => undefined);
    }
    return state;
  };

  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    sessionTimeout: opts.sessionTimeoutMs ?? 6_000,
    heartbeatInterval: Math.floor((opts.sessionTimeoutMs ?? 6_000) / 3),
    maxWaitTimeInMs: 500,
    allowAutoTopicCreation: false,
    // never retried in place: process() has changed the state already (the successor restores instead)
    retry: { retries: 0, restartOnFailure: async () => false },
  });
  let needRestore = true;
  /** This member holds the topic's partitions (set on each join). */
  let assigned = false;
  let failure: unknown;
  /** Batches and idle ticks run one at a time, in turn. */
  let turn: Promise<unknown> = Promise.resolve();
  const serially = <T>(f: () => Promise<T>): Promise<T> => {
    const run = turn.then(f);
    turn = run.catch(() => undefined);
    return run;
  };
  const restoreNow = async (): Promise<void> => {
    const t0 = process.hrtime.bigint();
    const state = await readState();
    opts.restore(partitions, state, Number(process.hrtime.bigint() - t0) / 1e9);
    needRestore = false;
  };
  let settle!: () => void;
  const ended = new Promise<void>((r) => (settle = r));
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    needRestore = true;
    const mine = [...(payload.memberAssignment[fromTopic] ?? [])].sort((a, b) => a - b);
    assigned = mine.length > 0;
    if (mine.length > 0 && mine.join(',') !== partitions.join(',')) {
      failure = new ConfigError(
        `trends: this aggregator was assigned partitions ${mine.join(',')} of ${fromTopic}, not all of ${partitions.join(',')}: its state covers the whole topic, so run one aggregator per group (--group)`,
      );
      settle();
    }
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
        if (failure !== undefined || isStale() || batch.messages.length === 0) return;
        if (needRestore) await restoreNow();
        const records = batch.messages.map((m) => ({ partition: batch.partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null }));
        const result = opts.process(records, batch.partition);
        const next = (BigInt(batch.messages[batch.messages.length - 1]!.offset) + 1n).toString();
        try {
          await write([...result.outputs, { topic: changelogTopic, key: stateKey, value: result.state }], [{ partition: batch.partition, offset: next }], consumer);
          // kafkajs fetches on from the last resolved offset: without this it reads the batch again
          resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
          await heartbeat();
        } catch (err) {
          // The state in memory is now ahead of what is committed: stop; the successor restores.
          failure = new KafkaEdgeError(`trends: writing the batch of partition ${batch.partition} (offsets up to ${next}) failed; stopping so that a restart restores the committed state`, { cause: err });
          settle();
        }
      }),
  });
  let ticker: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  if (opts.idle !== undefined) {
    const idle = opts.idle;
    const tick = (): Promise<void> =>
      serially(async () => {
        if (failure !== undefined || stopping !== undefined || !assigned) return;
        try {
          if (needRestore) await restoreNow(); // joined, but no batch since: the input may be idle from the start
          const result = idle.tick();
          if (result !== undefined) await write([...result.outputs, { topic: changelogTopic, key: stateKey, value: result.state }], []);
        } catch (err) {
          failure = new KafkaEdgeError('trends: writing the windows closed by the idle timeout failed; stopping so that a restart restores the committed state', { cause: err });
          settle();
        }
      });
    ticker = setInterval(() => void tick(), idle.tickMs);
  }
  log.info('trends aggregator consuming', { partitions, delivery });
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(ticker);
      await consumer.disconnect().catch(() => undefined);
      await turn; // a tick under way finishes its write
      await producer.disconnect().catch(() => undefined);
      settle();
    })());
  const done = ended.then(async () => {
    await stop();
    if (failure !== undefined) throw failure instanceof Error && 'exitCode' in failure ? failure : kafkaEdgeError('the trends aggregator stopped', failure);
  });
  return { done, stop };
}
