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
 * Commit interval (Kafka Streams' commit.interval.ms): batches are processed
 * as they come, but their outputs, the state and their offsets are written
 * at most every `commitIntervalMs` (and at stop), so the cost of writing
 * the whole state is paid once per interval, not once per fetched batch.
 * Until then they are held in memory: a crash loses them together with the
 * state that made them, and the successor reads those batches again.
 *
 * Large state: a changelog entry is split into chunks of at most
 * CHANGELOG_CHUNK_BYTES, each sent as its own record batch, under keys
 * `KEY#0`, `KEY#1`, ... and a header under `KEY` naming how many (all in the
 * same transaction), so a state of any size fits the broker's default
 * message.max.bytes (1 MiB). A header that is a gzip stream (an entry
 * written before chunking) is the state itself.
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
import { newProducer } from './producers.js';

/** A record of the mentions topic. */
export interface InputRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** The record's headers, as strings (absent when it has none). */
  headers?: Record<string, string>;
}

/** A record to write. */
export interface OutRecord {
  topic: string;
  key: string;
  value: Buffer;
  headers?: Record<string, string>;
  /** The partition to write to (default: by key). */
  partition?: number;
}

/** Largest changelog record written: a state entry is split into chunks of at most this (well under the broker's default message.max.bytes, 1 MiB). */
export const CHANGELOG_CHUNK_BYTES = 512 * 1024;

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
  /** Outputs, state and offsets are written at most this often (ms, >= 0; 0: after every batch). Default 1000. */
  commitIntervalMs?: number;
  /** Largest changelog record (state chunk) in bytes; default CHANGELOG_CHUNK_BYTES. */
  changelogChunkBytes?: number;
  /** Called before the first batch after each join with the partitions and the stored state (undefined: none yet); returns nothing. */
  restore(partitions: readonly number[], state: Buffer | undefined, seconds: number): void;
  /** One fetched batch of one partition, in offset order: the records to write for it. */
  process(records: readonly InputRecord[], partition: number): OutRecord[];
  /** The state now, as one changelog entry (called at each write). */
  snapshot(): Buffer;
  /**
   * Idle input (`--idle-timeout`): called every `tickMs` between batches (never
   * during one, never before the state is restored; restores it first when no
   * batch came since the join). The records it returns (the windows that
   * idleness closed) are written like a batch's, with no input offsets.
   */
  idle?: { tickMs: number; tick(): OutRecord[] };
}

export interface TrendsEdge {
  /** Resolves when stopped; rejects with what ended the run. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** A record's headers as strings (kafkajs gives Buffers, strings or arrays of them): `{ headers }`, or `{}` when it has none. */
export function headersOf(headers: Record<string, Buffer | string | Array<Buffer | string> | undefined> | undefined): { headers?: Record<string, string> } {
  if (headers === undefined) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const one = Array.isArray(v) ? v[v.length - 1] : v;
    if (one !== undefined) out[k] = one.toString();
  }
  return Object.keys(out).length === 0 ? {} : { headers: out };
}

/** The changelog records of one state entry: chunks `KEY#i`, then the header under KEY. */
export function changelogEntry(topic: string, key: string, state: Buffer, chunkBytes = CHANGELOG_CHUNK_BYTES): OutRecord[] {
  const out: OutRecord[] = [];
  for (let i = 0, off = 0; off < state.length || i === 0; i++, off += chunkBytes) out.push({ topic, key: `${key}#${i}`, value: state.subarray(off, off + chunkBytes) });
  out.push({ topic, key, value: Buffer.from(JSON.stringify({ chunks: out.length, bytes: state.length })) });
  return out;
}

/** The state entry from the last changelog values per key (undefined: none); a ConfigError-free KafkaEdgeError when chunks are missing. */
export function stateFromChangelog(key: string, latest: ReadonlyMap<string, Buffer>): Buffer | undefined {
  const head = latest.get(key);
  if (head === undefined) return undefined;
  if (head[0] === 0x1f && head[1] === 0x8b) return head; // one gzip entry, written before chunking
  const { chunks, bytes } = JSON.parse(head.toString('utf8')) as { chunks: number; bytes: number };
  const parts: Buffer[] = [];
  for (let i = 0; i < chunks; i++) {
    const part = latest.get(`${key}#${i}`);
    if (part === undefined) throw new KafkaEdgeError(`trends: the changelog entry ${key} names ${chunks} chunks but chunk ${i} is missing`);
    parts.push(part);
  }
  const state = Buffer.concat(parts);
  if (state.length !== bytes) throw new KafkaEdgeError(`trends: the changelog entry ${key} should be ${bytes} bytes, its chunks make ${state.length}`);
  return state;
}

export async function runTrendsEdge(opts: TrendsEdgeOptions): Promise<TrendsEdge> {
  const { fromTopic, changelogTopic, groupId, stateKey, delivery, logger } = opts;
  if (delivery !== 'exactly-once' && delivery !== 'at-least-once') throw new ConfigError(`delivery must be exactly-once or at-least-once, got ${JSON.stringify(delivery)}`);
  const commitIntervalMs = opts.commitIntervalMs ?? 1000;
  const chunkBytes = opts.changelogChunkBytes ?? CHANGELOG_CHUNK_BYTES;
  if (!(Number.isSafeInteger(chunkBytes) && chunkBytes >= 1)) throw new ConfigError(`changelogChunkBytes must be an integer >= 1, got ${chunkBytes}`);
  if (!(commitIntervalMs >= 0 && Number.isFinite(commitIntervalMs))) throw new ConfigError(`commitIntervalMs must be a number of ms >= 0, got ${commitIntervalMs}`);
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
  const producer: Producer = newProducer(kafka, eos ? { transactionalId: opts.transactionalId } : {});
  await producer.connect();
  if (eos) await (await producer.transaction()).abort(); // InitProducerId: fences a predecessor, aborts what it left open

  let markerToClear: string | undefined;
  /**
   * Writes records (and offsets) as one transaction, or idempotently then
   * commits offsets. Records of the changelog go one per request (each its
   * own record batch, so a state chunk never joins others in a batch over
   * the broker's limit); the rest in one request.
   */
  const write = async (records: OutRecord[], offsets: Array<{ partition: number; offset: string }>, consumer?: Consumer): Promise<void> => {
    if (markerToClear !== undefined) {
      records = [...records, { topic: changelogTopic, key: markerToClear, value: null as unknown as Buffer }];
      markerToClear = undefined;
    }
    const message = (r: OutRecord) => ({ key: r.key, value: r.value, ...(r.headers ? { headers: r.headers } : {}) });
    const byTopic = new Map<string, Array<ReturnType<typeof message>>>();
    const changelog: OutRecord[] = [];
    for (const r of records) {
      if (r.topic === changelogTopic) {
        changelog.push(r);
        continue;
      }
      const list = byTopic.get(r.topic) ?? [];
      list.push(message(r));
      byTopic.set(r.topic, list);
    }
    const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    const send = async (target: Pick<Producer, 'sendBatch' | 'send'>): Promise<void> => {
      if (topicMessages.length > 0) await target.sendBatch({ topicMessages, acks: -1 });
      for (const r of changelog) await target.send({ topic: changelogTopic, acks: -1, messages: [message(r)] });
    };
    if (eos) {
      const txn = await producer.transaction();
      try {
        await send(txn);
        if (offsets.length > 0) await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: fromTopic, partitions: offsets }] });
        await txn.commit();
      } catch (err) {
        await txn.abort().catch(() => undefined);
        throw err;
      }
    } else {
      await send(producer);
      if (offsets.length > 0) await consumer!.commitOffsets(offsets.map((o) => ({ topic: fromTopic, ...o })));
    }
  };

  /** Reads the changelog up to a marker committed now; returns the last state under stateKey. */
  const readState = async (): Promise<Buffer | undefined> => {
    const marker = `restore-marker:${randomUUID()}`;
    await write([{ topic: changelogTopic, key: marker, value: Buffer.from('marker') }], []);
    markerToClear = marker;
    const reader = kafka.consumer({ groupId: `${groupId}-restore-${randomUUID()}`, readUncommitted: false, maxWaitTimeInMs: 200, allowAutoTopicCreation: false });
    const latest = new Map<string, Buffer>();
    const mine = (key: string): boolean => key === stateKey || (key.startsWith(stateKey) && key[stateKey.length] === '#');
    let found!: () => void;
    const seen = new Promise<void>((r) => (found = r));
    try {
      await reader.connect();
      await reader.subscribe({ topics: [changelogTopic], fromBeginning: true });
      await reader.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const key = m.key?.toString();
            if (key === undefined) continue;
            if (mine(key)) {
              if (m.value === null || m.value === undefined) latest.delete(key);
              else latest.set(key, m.value);
            } else if (key === marker) found();
          }
        },
      });
      await seen;
    } finally {
      await reader.disconnect().catch(() => undefined);
    }
    return stateFromChangelog(stateKey, latest);
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
  let stopping: Promise<void> | undefined;
  /** Processed but not yet written: outputs and the next offset per partition. */
  let pending: { outputs: OutRecord[]; offsets: Map<number, string> } = { outputs: [], offsets: new Map() };
  let lastWrite = Date.now();
  /** Batches, idle ticks and writes run one at a time, in turn. */
  let turn: Promise<unknown> = Promise.resolve();
  const serially = <T>(f: () => Promise<T>): Promise<T> => {
    const run = turn.then(f);
    turn = run.catch(() => undefined);
    return run;
  };
  const restoreNow = async (): Promise<void> => {
    const t0 = process.hrtime.bigint();
    pending = { outputs: [], offsets: new Map() }; // made from a state about to be replaced: the input is read again from the committed offsets
    const state = await readState();
    opts.restore(partitions, state, Number(process.hrtime.bigint() - t0) / 1e9);
    needRestore = false;
  };
  /** Writes what is pending with the state now (one transaction in exactly-once mode); on failure the run ends. */
  const flush = async (): Promise<void> => {
    if (pending.outputs.length === 0 && pending.offsets.size === 0) return;
    const { outputs, offsets } = pending;
    pending = { outputs: [], offsets: new Map() };
    lastWrite = Date.now();
    try {
      await write([...outputs, ...changelogEntry(changelogTopic, stateKey, opts.snapshot(), chunkBytes)], [...offsets].map(([partition, offset]) => ({ partition, offset })), consumer);
    } catch (err) {
      // The state in memory is now ahead of what is committed: stop; the successor restores.
      const upTo = [...offsets].map(([p, o]) => `${p}:${o}`).join(', ');
      failure = new KafkaEdgeError(`trends: writing the outputs and state${upTo === '' ? '' : ` (offsets up to ${upTo})`} failed; stopping so that a restart restores the committed state`, { cause: err });
      settle();
    }
  };
  const due = (): boolean => Date.now() - lastWrite >= commitIntervalMs;
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
  consumer.on(consumer.events.REBALANCING, () => {
    needRestore = true; // from now on nothing pending is written (see tick)
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
        // stopping: left unresolved, so nothing of it counts as read
        if (failure !== undefined || stopping !== undefined || isStale() || batch.messages.length === 0) return;
        if (needRestore) await restoreNow();
        const records = batch.messages.map((m) => ({ partition: batch.partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null, ...headersOf(m.headers) }));
        pending.outputs.push(...opts.process(records, batch.partition));
        const last = batch.messages[batch.messages.length - 1]!.offset;
        pending.offsets.set(batch.partition, (BigInt(last) + 1n).toString());
        // kafkajs fetches on from the last resolved offset: without this it reads the batch again
        resolveOffset(last);
        if (due()) await flush();
        await heartbeat();
      }),
  });
  const tickMs = Math.max(10, Math.min(opts.idle?.tickMs ?? Infinity, commitIntervalMs || 1000, 1000));
  const tick = (): Promise<void> =>
    serially(async () => {
      if (failure !== undefined || stopping !== undefined || !assigned) return;
      // after a rebalance, what is pending is dropped by the restore: never written, the input is read again from the committed offsets
      if (needRestore && opts.idle === undefined) return;
      if (opts.idle !== undefined) {
        try {
          if (needRestore) await restoreNow(); // joined, but no batch since: the input may be idle from the start
          pending.outputs.push(...opts.idle.tick());
        } catch (err) {
          failure = new KafkaEdgeError('trends: restoring the state for the idle timeout failed', { cause: err });
          settle();
          return;
        }
      }
      if (due()) await flush();
    });
  const ticker = setInterval(() => void tick(), tickMs);
  log.info('trends aggregator consuming', { partitions, delivery, commitIntervalMs });
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(ticker);
      // what was processed is written before the consumer leaves (at-least-once commits through it)
      await serially(async () => {
        if (failure === undefined && !needRestore) await flush();
      });
      await consumer.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      settle();
    })());
  const done = ended.then(async () => {
    await stop();
    if (failure !== undefined) throw failure instanceof Error && 'exitCode' in failure ? failure : kafkaEdgeError('the trends aggregator stopped', failure);
  });
  return { done, stop };
}
