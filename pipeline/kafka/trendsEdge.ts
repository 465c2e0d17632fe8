/**
 * The Kafka edge of the trends aggregators: a consumer group on an input
 * topic, a state per `states` (one for the whole input, or one per owned
 * partition), and per commit one write of the outputs, the state's changelog
 * entry and the input offsets. `mentionflow trends` (one aggregator) and its
 * merger run on it with `states: 'one'`, the scaled-out aggregators
 * (`--stage aggregate`) with `states: 'per-partition'`: the single aggregator
 * is the one-partition case.
 *
 * - States: `'one'`: state 0 covers every partition of the input, under the
 *   key `stateKey` in the changelog, written under the transactional id
 *   `transactionalId`; its member must hold all partitions (one member per
 *   group: an assignment of only some ends the run with a ConfigError).
 *   `'per-partition'`: state P covers partition P, under `stateKey:P` in
 *   changelog partition P (the changelog has as many partitions as the input,
 *   as Kafka Streams' store changelogs), written under the transactional id
 *   `transactionalId-TOPIC-P` whoever owns P (the per-input-partition scheme
 *   of `mentionflow run`, transactionalSink.ts); any number of members share
 *   the partitions.
 * - exactly-once: each state's write is one Kafka transaction (its outputs,
 *   its changelog entry, sendOffsets of its partitions), so the state in the
 *   changelog always matches the committed input offsets: a restart (kill -9
 *   included) restores the state of the last committed batch and resumes at
 *   the offset after it, neither losing nor counting a mention twice. On each
 *   join the producer of every owned state is registered (InitProducerId),
 *   which fences the state's previous writer and aborts what it left open.
 *   A failed transaction ends the run (the process exits; its successor
 *   restores and resumes), except, per partition, a write of P that fails
 *   fenced (another member registered P's id: the group gave P to it while
 *   this one was slow or cut off): P is given up, as transactionalSink.ts
 *   does: its state and held outputs are dropped (none of them is
 *   committed; the new owner reads P again from the committed offset on top
 *   of the committed state) and P is paused; the member carries on with its
 *   other partitions, and claims and restores P again if the next join
 *   assigns it P (or, when no join comes within a session timeout, the group
 *   still says P is its own). With one state a fenced write is another
 *   aggregator under the same transactional id: the run ends.
 * - at-least-once: one idempotent producer; outputs and changelog entries are
 *   produced (acks=all), then the offsets committed by the consumer. A crash
 *   between the two reads the batch again on top of a state that already
 *   counts it: its records are counted twice and the windows it closed are
 *   written twice.
 *
 * Restore: before the first batch (or idle tick) after each join, a restore
 * marker (a record with a unique key; tombstoned in the next write) is
 * committed for every owned state, and the changelog is read from the
 * beginning, read_committed, with the partitions of states owned elsewhere
 * paused, up to every marker: only what the member owns is restored, and the
 * read ends exactly at what is committed, with no guess from offsets or idle
 * time. The last entry under a state's key is the state. A state that left is
 * dropped (its new owner restores it). Then every owned partition is read
 * from its committed offset, read after the claim (the consumer seeks there):
 * kafkajs read the committed offsets at the join, before the claim fenced
 * the previous owner, which may have committed more in between; going on
 * from kafkajs's position would count those records again on top of a state
 * that has them.
 *
 * Commit interval (Kafka Streams' commit.interval.ms): batches are processed
 * as they come, but their outputs, the states and their offsets are written
 * at most every `commitIntervalMs` (and at stop), so the cost of writing
 * the whole state is paid once per interval, not once per fetched batch.
 * Until then they are held in memory: a crash or a rebalance loses them
 * together with the state that made them, and the input is read again from
 * the committed offsets.
 *
 * Large state: a changelog entry is split into chunks of at most
 * CHANGELOG_CHUNK_BYTES, each sent as its own record batch, under keys
 * `KEY#0`, `KEY#1`, ... and a header under `KEY` naming how many (all in the
 * same transaction), so a state of any size fits the broker's default
 * message.max.bytes (1 MiB). A header that is a gzip stream (an entry
 * written before chunking) is the state itself.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Producer } from 'kafkajs';
import { ConfigError, KafkaEdgeError } from '../../common/errors.js';
import type { Logger } from '../ops/logger.js';
import { createKafkaClient, type KafkaConnectionOptions } from './client.js';
import { isFenced, kafkaEdgeError } from './errors.js';
import { newProducer } from './producers.js';
import { partitionTransactionalId } from './transactionalSink.js';

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

/** How the edge keeps state: one for the whole input, or one per owned input partition. */
export type TrendsEdgeStates = 'one' | 'per-partition';

export interface TrendsEdgeOptions {
  connection: KafkaConnectionOptions;
  fromTopic: string;
  /** 'one': any partitions (one normally); 'per-partition': as many as fromTopic, compacted. */
  changelogTopic: string;
  groupId: string;
  /**
   * 'one': state 0 for every partition of fromTopic (one member per group);
   * 'per-partition': state P for partition P, P's entry in changelog partition P.
   */
  states: TrendsEdgeStates;
  /** Key of the state in the changelog ('per-partition': state P under `${stateKey}:P`). */
  stateKey: string;
  delivery: 'exactly-once' | 'at-least-once';
  /** exactly-once, stable across restarts: 'one': the transactional id; 'per-partition': the prefix of `PREFIX-TOPIC-P`. */
  transactionalId: string;
  logger: Logger;
  sessionTimeoutMs?: number;
  /** Outputs, states and offsets are written at most this often (ms, >= 0; 0: after every batch). Default 1000. */
  commitIntervalMs?: number;
  /** Largest changelog record (state chunk) in bytes; default CHANGELOG_CHUNK_BYTES. */
  changelogChunkBytes?: number;
  /**
   * After each join, before the first batch: one call per owned state with its
   * stored entry (undefined: none yet), the seconds the restore took, and how
   * many partitions fromTopic has.
   */
  restore(r: { state: number; stored: Buffer | undefined; seconds: number; partitions: number }): void;
  /** A state this member no longer owns (its partition moved): forget it. */
  drop?(state: number): void;
  /** One fetched batch of one partition, in offset order: the records to write for it. */
  process(records: readonly InputRecord[], partition: number): OutRecord[];
  /** A state now, as one changelog entry (called at each write of it). */
  snapshot(state: number): Buffer;
  /** A state's outputs (not its changelog entry) have just been written (committed, in exactly-once mode). */
  written?(state: number, outputs: readonly OutRecord[]): void;
  /**
   * Idle input (`--idle-timeout`): called per owned state every `tickMs`
   * between batches (never during one, never before the state is restored;
   * restores first when no batch came since the join). The records it
   * returns (the windows that idleness closed) are written like a batch's,
   * with no input offsets.
   */
  idle?: { tickMs: number; tick(state: number): OutRecord[] };
}

export interface TrendsEdge {
  /** Resolves when stopped; rejects with what ended the run. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
  /** The states this member owns now ('one': [0] once joined; 'per-partition': its partitions). */
  owned(): readonly number[];
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

/** The edge's settings checked (ConfigError) and with their defaults: what runTrendsEdge, and the stages before anything connects, check. */
export function checkTrendsEdgeSettings(o: Pick<TrendsEdgeOptions, 'delivery' | 'states' | 'commitIntervalMs' | 'changelogChunkBytes'>): { commitIntervalMs: number; changelogChunkBytes: number } {
  if (o.delivery !== 'exactly-once' && o.delivery !== 'at-least-once') throw new ConfigError(`delivery must be exactly-once or at-least-once, got ${JSON.stringify(o.delivery)}`);
  if (o.states !== 'one' && o.states !== 'per-partition') throw new ConfigError(`states must be one or per-partition, got ${JSON.stringify(o.states)}`);
  const commitIntervalMs = o.commitIntervalMs ?? 1000;
  const changelogChunkBytes = o.changelogChunkBytes ?? CHANGELOG_CHUNK_BYTES;
  if (!(Number.isSafeInteger(changelogChunkBytes) && changelogChunkBytes >= 1)) throw new ConfigError(`changelogChunkBytes must be an integer >= 1, got ${changelogChunkBytes}`);
  if (!(commitIntervalMs >= 0 && Number.isFinite(commitIntervalMs))) throw new ConfigError(`commitIntervalMs must be a number of ms >= 0, got ${commitIntervalMs}`);
  return { commitIntervalMs, changelogChunkBytes };
}

/** Processed but not yet written, per state: outputs and the next offset per input partition. */
interface Pending {
  outputs: OutRecord[];
  offsets: Map<number, string>;
}

export async function runTrendsEdge(opts: TrendsEdgeOptions): Promise<TrendsEdge> {
  const { fromTopic, changelogTopic, groupId, delivery, logger } = opts;
  const { commitIntervalMs, changelogChunkBytes: chunkBytes } = checkTrendsEdgeSettings(opts);
  const one = opts.states === 'one';
  const log = logger.child({ component: 'trends-edge', topic: fromTopic, groupId, states: opts.states });
  const eos = delivery === 'exactly-once';
  const kafka = createKafkaClient(opts.connection);
  const admin = kafka.admin();
  /** Partitions of fromTopic and of the changelog. */
  let partitions: number[];
  let changelogPartitions: number;
  try {
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [fromTopic, changelogTopic] });
    partitions = meta.topics.find((t) => t.name === fromTopic)!.partitions.map((p) => p.partitionId).sort((a, b) => a - b);
    changelogPartitions = meta.topics.find((t) => t.name === changelogTopic)!.partitions.length;
  } catch (err) {
    throw kafkaEdgeError(`cannot read the metadata of ${fromTopic} and ${changelogTopic} (create them with \`mentionflow trends --create-topics\`)`, err);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  if (!one && changelogPartitions !== partitions.length) {
    throw new ConfigError(`the changelog ${changelogTopic} has ${changelogPartitions} partitions, ${fromTopic} ${partitions.length}: they must be equal (partition P's state goes to changelog partition P)`);
  }
  /** The state a partition's records go to; the partitions a state covers; its key; its changelog partition (by key for 'one'). */
  const stateOf = (partition: number): number => (one ? 0 : partition);
  const inputsOf = (state: number): number[] => (one ? partitions : [state]);
  const keyOf = (state: number): string => (one ? opts.stateKey : `${opts.stateKey}:${state}`);
  const changelogPartitionOf = (state: number): number | undefined => (one ? undefined : state);
  const statesOf = (assignment: readonly number[]): number[] => (one ? (assignment.length > 0 ? [0] : []) : [...assignment]);

  /** exactly-once: the producer of each owned state; at-least-once: one shared producer under -1. */
  const producers = new Map<number, Producer>();
  const openProducer = async (state: number): Promise<Producer> => {
    const transactionalId = one ? opts.transactionalId : partitionTransactionalId(opts.transactionalId, fromTopic, state);
    const producer = newProducer(kafka, eos ? { transactionalId } : {});
    await producer.connect();
    if (eos) await (await producer.transaction()).abort(); // InitProducerId: fences the state's previous writer, aborts what it left open
    return producer;
  };
  if (!eos) producers.set(-1, await openProducer(-1));
  const producerOf = (state: number): Producer => producers.get(eos ? state : -1)!;

  const sessionTimeoutMs = opts.sessionTimeoutMs ?? 6_000;
  const consumer: Consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval: Math.floor(sessionTimeoutMs / 3),
    maxWaitTimeInMs: 500,
    allowAutoTopicCreation: false,
    // never retried in place: process() has changed the state already (the successor restores instead)
    retry: { retries: 0, restartOnFailure: async () => false },
  });

  const markersToClear = new Map<number, string>();
  /**
   * Writes a state's records (and offsets) as one transaction, or produces
   * them then commits the offsets. Records of the changelog go one per
   * request (each its own record batch, so a state chunk never joins others
   * in a batch over the broker's limit); the rest in one request.
   */
  const write = async (state: number, records: OutRecord[], offsets: Array<{ partition: number; offset: string }>): Promise<void> => {
    const clear = markersToClear.get(state);
    if (clear !== undefined) {
      records = [...records, changelogRecord(state, clear, null as unknown as Buffer)];
      markersToClear.delete(state);
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
    const producer = producerOf(state);
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
      if (offsets.length > 0) await consumer.commitOffsets(offsets.map((o) => ({ topic: fromTopic, ...o })));
    }
  };
  const changelogRecord = (state: number, key: string, value: Buffer): OutRecord => {
    const partition = changelogPartitionOf(state);
    return { topic: changelogTopic, key, value, ...(partition === undefined ? {} : { partition }) };
  };

  /** Reads the changelog up to a marker committed now for each of `claimed`; the stored entry of each (of those not given up meanwhile). */
  const readStates = async (claimed: readonly number[]): Promise<Map<number, Buffer | undefined>> => {
    const markers = new Map<number, string>();
    for (const s of claimed) {
      const marker = `restore-marker:${randomUUID()}`;
      try {
        await write(s, [changelogRecord(s, marker, Buffer.from('marker'))], []);
      } catch (err) {
        if (!givesUp(err)) throw err;
        await giveUp(s, err); // claimed by another member since this one registered its id
        continue;
      }
      markers.set(s, marker);
      markersToClear.set(s, marker);
    }
    const states = claimed.filter((s) => markers.has(s));
    const latest = new Map<number, Map<string, Buffer>>(states.map((s) => [s, new Map()]));
    /** The owned state whose entries a changelog partition holds (undefined: one owned elsewhere). */
    const stateIn = (changelogPartition: number): number | undefined => (one ? (states.length > 0 ? 0 : undefined) : latest.has(changelogPartition) ? changelogPartition : undefined);
    const reader = kafka.consumer({ groupId: `${groupId}-restore-${randomUUID()}`, readUncommitted: false, maxWaitTimeInMs: 200, allowAutoTopicCreation: false });
    const waiting = new Set(states);
    let found!: () => void;
    const seen = new Promise<void>((r) => (found = r));
    try {
      await reader.connect();
      await reader.subscribe({ topics: [changelogTopic], fromBeginning: true });
      await reader.run({
        eachBatch: async ({ batch }) => {
          const s = stateIn(batch.partition);
          if (s === undefined) return;
          const mine = latest.get(s)!;
          const key = keyOf(s);
          for (const m of batch.messages) {
            const k = m.key?.toString();
            if (k === undefined) continue;
            if (k === key || (k.startsWith(key) && k[key.length] === '#')) {
              if (m.value === null || m.value === undefined) mine.delete(k);
              else mine.set(k, m.value);
            } else if (k === markers.get(s)) {
              waiting.delete(s);
              if (waiting.size === 0) found();
            }
          }
        },
      });
      // only what this member owns is read
      const others = Array.from({ length: changelogPartitions }, (_, i) => i).filter((i) => stateIn(i) === undefined);
      if (others.length > 0) reader.pause([{ topic: changelogTopic, partitions: others }]);
      if (waiting.size > 0) await seen;
    } finally {
      await reader.disconnect().catch(() => undefined);
    }
    return new Map(states.map((s) => [s, stateFromChangelog(keyOf(s), latest.get(s)!)]));
  };

  /** The partitions of fromTopic assigned at the last join, and the states restored for them. */
  let assigned: number[] = [];
  let owned: number[] = [];
  let needRestore = true;
  /**
   * From REBALANCING to the next GROUP_JOIN: the assignment is about to
   * change, so nothing is restored or written (a restore now would register
   * the producers of partitions that may already be their new owner's,
   * fencing it).
   */
  let rebalancing = false;
  let failure: unknown;
  let stopping: Promise<void> | undefined;
  let pending = new Map<number, Pending>();
  let lastWrite = Date.now();
  /** Batches, idle ticks and writes run one at a time, in turn. */
  let turn: Promise<unknown> = Promise.resolve();
  const serially = <T>(f: () => Promise<T>): Promise<T> => {
    const run = turn.then(f);
    turn = run.catch(() => undefined);
    return run;
  };
  let settle!: () => void;
  const ended = new Promise<void>((r) => (settle = r));

  /** Per partition, a fenced write gives the partition up; with one state it ends the run (another aggregator has the id). */
  const givesUp = (err: unknown): boolean => eos && !one && isFenced(err);
  /** States given up after a fenced write, their partitions paused: the timer claims them again if no join comes first. */
  const givenUp = new Map<number, NodeJS.Timeout>();
  /**
   * State s's write was fenced: another member registered its id, so nothing
   * of s this member holds can commit any more. Its state and held outputs are
   * dropped and its partitions paused until the next join says whose they are
   * (or, after a session timeout with no join, claimed again: the group still
   * says they are this member's).
   */
  const giveUp = async (s: number, err: unknown): Promise<void> => {
    log.warn('fenced: another aggregator took this partition over; its state and held outputs are dropped, the partition is restored again if the group assigns it back', {
      partition: s,
      err: kafkaEdgeError('transaction', err).message,
    });
    owned = owned.filter((x) => x !== s);
    pending.delete(s);
    markersToClear.delete(s);
    opts.drop?.(s);
    await producers.get(s)?.disconnect().catch(() => undefined);
    producers.delete(s);
    consumer.pause([{ topic: fromTopic, partitions: inputsOf(s) }]);
    clearTimeout(givenUp.get(s));
    const timer = setTimeout(() => {
      givenUp.delete(s);
      if (stopping !== undefined || !statesOf(assigned).includes(s)) return;
      needRestore = true; // no join came: still assigned here, so claimed and restored again before the next batch
      consumer.resume([{ topic: fromTopic, partitions: inputsOf(s) }]);
    }, sessionTimeoutMs);
    timer.unref();
    givenUp.set(s, timer);
  };
  /** A join: the assignment says whose each partition is; the given-up ones read again (claimed by the restore if assigned here). */
  const resumeGivenUp = (): void => {
    if (givenUp.size === 0) return;
    const parts = [...givenUp.keys()].flatMap(inputsOf);
    for (const t of givenUp.values()) clearTimeout(t);
    givenUp.clear();
    consumer.resume([{ topic: fromTopic, partitions: parts }]);
  };

  /** Where each of `parts` is read from: the group's committed offset (none: the partition's start). */
  const startOffsets = async (parts: readonly number[]): Promise<Map<number, string>> => {
    const offsetAdmin = kafka.admin();
    try {
      await offsetAdmin.connect();
      const [entry] = await offsetAdmin.fetchOffsets({ groupId, topics: [fromTopic] });
      const committed = new Map((entry?.partitions ?? []).map((x) => [x.partition, x.offset]));
      const low = new Map((await offsetAdmin.fetchTopicOffsets(fromTopic)).map((x) => [x.partition, x.low]));
      return new Map(
        parts.map((p) => {
          const c = committed.get(p);
          return [p, c !== undefined && Number(c) >= 0 ? c : (low.get(p) ?? '0')];
        }),
      );
    } finally {
      await offsetAdmin.disconnect().catch(() => undefined);
    }
  };

  const restoreNow = async (): Promise<void> => {
    const t0 = process.hrtime.bigint();
    pending = new Map(); // made from states about to be replaced: the input is read again from the committed offsets
    const next = statesOf(assigned);
    for (const s of owned) {
      if (next.includes(s)) continue;
      opts.drop?.(s);
      if (eos) await producers.get(s)?.disconnect().catch(() => undefined);
      if (eos) producers.delete(s);
      markersToClear.delete(s);
    }
    if (eos) for (const s of next) {
      // registered again on every join: fences whoever wrote s meanwhile
      await producers.get(s)?.disconnect().catch(() => undefined);
      producers.set(s, await openProducer(s));
    }
    owned = next;
    const stored = await readStates(owned); // gives up those claimed by another member meanwhile
    // read after the claim fenced each state's previous writer: nothing commits there any more but this member
    const from = await startOffsets(owned.flatMap(inputsOf));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    for (const s of owned) opts.restore({ state: s, stored: stored.get(s), seconds, partitions: partitions.length });
    for (const [partition, offset] of from) consumer.seek({ topic: fromTopic, partition, offset }); // batches fetched before are stale
    log.info('trend states restored', { partitions: owned.flatMap(inputsOf), seconds, from: Object.fromEntries(from) });
    needRestore = false;
  };

  /** Writes what is pending, each state with its entry now (one transaction each in exactly-once mode); on failure the run ends. */
  const flush = async (): Promise<void> => {
    const parts = [...pending];
    pending = new Map();
    lastWrite = Date.now();
    for (const [s, { outputs, offsets }] of parts) {
      if (outputs.length === 0 && offsets.size === 0) continue;
      try {
        const entry = changelogEntry(changelogTopic, keyOf(s), opts.snapshot(s), chunkBytes).map((r) => changelogRecord(s, r.key, r.value));
        await write(s, [...outputs, ...entry], [...offsets].map(([partition, offset]) => ({ partition, offset })));
      } catch (err) {
        if (givesUp(err)) {
          await giveUp(s, err); // nothing of its held work committed; the other partitions carry on
          continue;
        }
        // The state in memory is now ahead of what is committed: stop; the successor restores.
        const upTo = [...offsets].map(([p, o]) => `${p}:${o}`).join(', ');
        failure = new KafkaEdgeError(`trends: writing the outputs and state of ${one ? fromTopic : `${fromTopic}[${s}]`}${upTo === '' ? '' : ` (offsets up to ${upTo})`} failed; stopping so that a restart restores the committed state`, { cause: err });
        settle();
        return;
      }
      opts.written?.(s, outputs);
    }
  };
  const pendingOf = (state: number): Pending => {
    let x = pending.get(state);
    if (x === undefined) pending.set(state, (x = { outputs: [], offsets: new Map() }));
    return x;
  };
  const due = (): boolean => Date.now() - lastWrite >= commitIntervalMs;

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    needRestore = true;
    rebalancing = false;
    resumeGivenUp();
    assigned = [...(payload.memberAssignment[fromTopic] ?? [])].sort((a, b) => a - b);
    if (one && assigned.length > 0 && assigned.join(',') !== partitions.join(',')) {
      failure = new ConfigError(
        `trends: this aggregator was assigned partitions ${assigned.join(',')} of ${fromTopic}, not all of ${partitions.join(',')}: its state covers the whole topic, so run one aggregator per group (--group)`,
      );
      settle();
    }
  });
  consumer.on(consumer.events.REBALANCING, () => {
    needRestore = true; // from now on nothing pending is written (see tick)
    rebalancing = true;
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
        if (failure !== undefined || stopping !== undefined || rebalancing || isStale() || batch.messages.length === 0) return;
        if (needRestore) await restoreNow(); // then the batch is stale: its partition is read again from the committed offset
        const s = stateOf(batch.partition);
        if (isStale() || !owned.includes(s)) return;
        const records = batch.messages.map((m) => ({ partition: batch.partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null, ...headersOf(m.headers) }));
        const out = pendingOf(s);
        out.outputs.push(...opts.process(records, batch.partition));
        const last = batch.messages[batch.messages.length - 1]!.offset;
        out.offsets.set(batch.partition, (BigInt(last) + 1n).toString());
        // kafkajs fetches on from the last resolved offset: without this it reads the batch again
        resolveOffset(last);
        if (due()) await flush();
        await heartbeat();
      }),
  });
  const tickMs = Math.max(10, Math.min(opts.idle?.tickMs ?? Infinity, commitIntervalMs || 1000, 1000));
  const tick = (): Promise<void> =>
    serially(async () => {
      if (failure !== undefined || stopping !== undefined || rebalancing || assigned.length === 0) return;
      // after a rebalance, what is pending is dropped by the restore: never written, the input is read again from the committed offsets
      if (needRestore && opts.idle === undefined) return;
      if (opts.idle !== undefined) {
        try {
          if (needRestore) await restoreNow(); // joined, but no batch since: the input may be idle from the start
          for (const s of owned) pendingOf(s).outputs.push(...opts.idle.tick(s));
        } catch (err) {
          failure = new KafkaEdgeError('trends: restoring the state for the idle timeout failed', { cause: err });
          settle();
          return;
        }
      }
      if (due()) await flush();
    });
  const ticker = setInterval(() => void tick(), tickMs);
  log.info('trends aggregator consuming', { partitions: partitions.length, delivery, commitIntervalMs });
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(ticker);
      for (const t of givenUp.values()) clearTimeout(t);
      // what was processed is written before the consumer leaves (at-least-once commits through it)
      await serially(async () => {
        if (failure === undefined && !needRestore) await flush();
      });
      await consumer.disconnect().catch(() => undefined);
      await Promise.all([...producers.values()].map((p) => p.disconnect().catch(() => undefined)));
      settle();
    })());
  const done = ended.then(async () => {
    await stop();
    if (failure !== undefined) throw failure instanceof Error && 'exitCode' in failure ? failure : kafkaEdgeError('the trends aggregator stopped', failure);
  });
  return { done, stop, owned: () => owned };
}
