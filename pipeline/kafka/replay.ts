/**
 * replayTopic: a bounded replay of one topic. For each selected partition it
 * emits the records with offsets in [start, end), in offset order, then
 * completes once every partition has reached its end. Used to read archived
 * streams as training data (pipeline/train/sources/kafkaExamples.ts) and by
 * `mentionflow archive --from-topic`.
 *
 * Bounds, resolved once per partition when the replay starts:
 *   from (inclusive)  'earliest' | 'latest' | { offset } | { timestamp }   default 'earliest'
 *   to   (exclusive)  'earliest' | 'latest' | { offset } | { timestamp }   default 'latest'
 * - { offset: n }: offset n, the same number in every partition, clamped to
 *   [earliest, latest].
 * - { timestamp: t } (epoch ms): the first offset whose record timestamp is
 *   >= t (Kafka's ListOffsets), or 'latest' when there is none. So
 *   from {timestamp: a} to {timestamp: b} is the records stamped in [a, b)
 *   when timestamps grow with offsets (LogAppendTime, or CreateTime from
 *   one clock); the range is by offset, records are not filtered one by one.
 * - 'latest' is the last stable offset when the replay starts (the high
 *   watermark when no transaction is open), so a replay never waits for
 *   records that do not exist yet, and records appended later are not read.
 * An end before the start gives an empty partition. Both bounds offsets (or
 * both timestamps) with from > to is a ConfigError.
 *
 * Reading uses a throw-away consumer group (nothing is committed) and seeks
 * each partition to its start. Records are deduplicated by offset and cut at
 * the end bound, so a rebalance or a stale fetch never shows a record twice
 * or out of its range; transaction markers and aborted records (skipped with
 * read_committed, the default) still count as reached. Partitions are
 * interleaved as fetched. Unsubscribing stops reading and disconnects the
 * consumer. Errors: ConfigError (unknown topic or partition, bad bounds),
 * KafkaEdgeError (broker failures).
 */
import type { ReadRecord } from './topicReader.js';
import { randomBytes } from 'node:crypto';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { Observable } from 'rxjs';
import { ConfigError, MentionflowError } from '../../common/errors.js';
import { createKafkaClient, type KafkaConnectionOptions } from './client.js';
import { kafkaEdgeError } from './errors.js';
import { withAdmin } from './withAdmin.js';

export type ReplayBound = 'earliest' | 'latest' | { offset: number | string | bigint } | { timestamp: number };

export interface ReplayOptions extends KafkaConnectionOptions {
  topic: string;
  /** First position to read, inclusive; default 'earliest'. */
  from?: ReplayBound;
  /** Position to stop at, exclusive; default 'latest' (when the replay starts). */
  to?: ReplayBound;
  /** Partitions to read; default all of the topic's partitions. */
  partitions?: readonly number[];
  /** Consumer group id; default a fresh "mentionflow-replay-<random>". Nothing is committed. */
  groupId?: string;
  /** Also read records of open and aborted transactions; default false (read_committed). */
  readUncommitted?: boolean;
}

/** The offsets [start, end) a replay reads from one partition. */
export interface PartitionRange {
  partition: number;
  /** First offset read (inclusive), a decimal string. */
  start: string;
  /** Offset the replay stops at (exclusive); start === end: nothing to read. */
  end: string;
}

/** A replayed record: the same shape as the topic reader's records. */
export type ReplayRecord = ReadRecord;

type CheckedBound = 'earliest' | 'latest' | { offset: bigint } | { timestamp: number };

interface CheckedOptions extends ReplayOptions {
  fromBound: CheckedBound;
  toBound: CheckedBound;
}

function checkBound(bound: ReplayBound, name: string): CheckedBound {
  if (bound === 'earliest' || bound === 'latest') return bound;
  if (bound !== null && typeof bound === 'object' && 'offset' in bound) {
    const o = bound.offset;
    const ok = typeof o === 'bigint' || (typeof o === 'number' && Number.isSafeInteger(o)) || (typeof o === 'string' && /^[0-9]+$/.test(o));
    if (ok && BigInt(o) >= 0n) return { offset: BigInt(o) };
    throw new ConfigError(`replay ${name}.offset must be an integer >= 0, got ${JSON.stringify(String(o))}`);
  }
  if (bound !== null && typeof bound === 'object' && 'timestamp' in bound) {
    const t = bound.timestamp;
    if (Number.isSafeInteger(t) && t >= 0) return { timestamp: t };
    throw new ConfigError(`replay ${name}.timestamp must be epoch milliseconds (an integer >= 0), got ${JSON.stringify(t)}`);
  }
  throw new ConfigError(`replay ${name} must be 'earliest', 'latest', { offset } or { timestamp }, got ${JSON.stringify(bound)}`);
}

function checkOptions(options: ReplayOptions): CheckedOptions {
  if (typeof options.topic !== 'string' || options.topic === '') throw new ConfigError('replay: topic is required');
  const fromBound = checkBound(options.from ?? 'earliest', 'from');
  const toBound = checkBound(options.to ?? 'latest', 'to');
  if (typeof fromBound === 'object' && typeof toBound === 'object') {
    if ('offset' in fromBound && 'offset' in toBound && fromBound.offset > toBound.offset) {
      throw new ConfigError(`replay from offset ${fromBound.offset} is after to offset ${toBound.offset} (to is exclusive)`);
    }
    if ('timestamp' in fromBound && 'timestamp' in toBound && fromBound.timestamp > toBound.timestamp) {
      throw new ConfigError(`replay from timestamp ${fromBound.timestamp} is after to timestamp ${toBound.timestamp} (to is exclusive)`);
    }
  }
  const { partitions } = options;
  if (partitions !== undefined) {
    if (partitions.length === 0) throw new ConfigError('replay partitions: give at least one partition, or leave it out for all');
    for (const p of partitions) {
      if (!Number.isInteger(p) || p < 0) throw new ConfigError(`replay partitions must be integers >= 0, got ${JSON.stringify(p)}`);
    }
  }
  return { ...options, fromBound, toBound };
}

const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** The ranges of the selected partitions, and all of the topic's partitions. */
async function rangesWith(admin: Admin, opts: CheckedOptions): Promise<{ ranges: PartitionRange[]; all: number[] }> {
  const { topic } = opts;
  if (!(await admin.listTopics()).includes(topic)) throw new ConfigError(`topic ${JSON.stringify(topic)} does not exist`);
  const watermarks = await admin.fetchTopicOffsets(topic);
  const known = new Set(watermarks.map((w) => w.partition));
  const selected = opts.partitions ?? [...known].sort((a, b) => a - b);
  const missing = selected.filter((p) => !known.has(p));
  if (missing.length > 0) {
    throw new ConfigError(`topic ${topic} has no partition ${missing.join(', ')} (it has ${known.size}: 0..${known.size - 1})`);
  }
  const byTimestamp = new Map<number, Map<number, bigint>>();
  for (const bound of [opts.fromBound, opts.toBound]) {
    if (typeof bound === 'object' && 'timestamp' in bound && !byTimestamp.has(bound.timestamp)) {
      const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, bound.timestamp);
      byTimestamp.set(bound.timestamp, new Map(offsets.map((o) => [o.partition, BigInt(o.offset)])));
    }
  }
  const ranges = selected.map((partition) => {
    const w = watermarks.find((x) => x.partition === partition) as { low: string; high: string };
    const low = BigInt(w.low);
    const high = BigInt(w.high);
    const resolve = (bound: CheckedBound): bigint => {
      if (bound === 'earliest') return low;
      if (bound === 'latest') return high;
      const at = 'offset' in bound ? bound.offset : (byTimestamp.get(bound.timestamp)?.get(partition) ?? high);
      return minBig(maxBig(at, low), high);
    };
    const start = resolve(opts.fromBound);
    const end = maxBig(resolve(opts.toBound), start);
    return { partition, start: start.toString(), end: end.toString() };
  });
  return { ranges, all: [...known] };
}

/** rangesWith in one admin round trip (retried while the failure is retriable). */
function resolveRanges(opts: CheckedOptions): Promise<{ ranges: PartitionRange[]; all: number[] }> {
  return withAdmin(opts, { what: 'cannot resolve the replay range', position: { topic: opts.topic } }, (admin) => rangesWith(admin, opts));
}

/** The [start, end) offsets a replay with these options would read now, per selected partition. */
export async function resolveReplayRanges(options: ReplayOptions): Promise<PartitionRange[]> {
  return (await resolveRanges(checkOptions(options))).ranges;
}

/** The records of `options.topic` between the bounds (see the module comment); completes at the end bounds. */
export function replayTopic(options: ReplayOptions): Observable<ReplayRecord> {
  const opts = checkOptions(options);
  const { topic, readUncommitted = false } = opts;
  return new Observable<ReplayRecord>((subscriber) => {
    const kafka: Kafka = createKafkaClient(opts);
    const groupId = opts.groupId ?? `mentionflow-replay-${randomBytes(6).toString('hex')}`;
    let closed = false;
    let consumer: Consumer | undefined;
    /** Partitions still being read: the next offset expected and the end (exclusive). */
    const pending = new Map<number, { next: bigint; end: bigint }>();

    const advance = (partition: number, next: bigint): void => {
      const state = pending.get(partition);
      if (state === undefined || closed) return;
      if (next > state.next) state.next = next;
      if (state.next < state.end) return;
      pending.delete(partition);
      consumer?.pause([{ topic, partitions: [partition] }]);
      if (pending.size === 0) subscriber.complete();
    };

    const run = async (): Promise<void> => {
      const { ranges, all } = await resolveRanges(opts);
      if (closed) return;
      for (const r of ranges) {
        if (BigInt(r.start) < BigInt(r.end)) pending.set(r.partition, { next: BigInt(r.start), end: BigInt(r.end) });
      }
      if (pending.size === 0) return subscriber.complete();

      const c = kafka.consumer({ groupId, readUncommitted, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
      consumer = c;
      c.on(c.events.CRASH, (e) => {
        if (!e.payload.restart && !closed) subscriber.error(kafkaEdgeError('replay: the consumer crashed', e.payload.error, { topic }));
      });
      // Batches of only transaction markers or aborted records never reach eachBatch; their end still counts.
      c.on(c.events.END_BATCH_PROCESS, (e) => {
        if (e.payload.topic === topic && e.payload.batchSize === 0) advance(e.payload.partition, BigInt(e.payload.lastOffset) + 1n);
      });
      await c.connect();
      if (closed) return;
      await c.subscribe({ topics: [topic], fromBeginning: true });
      if (closed) return;
      await c.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const state = pending.get(batch.partition);
          if (state === undefined || batch.topic !== topic) return;
          for (const m of batch.messages) {
            if (closed) return;
            const offset = BigInt(m.offset);
            if (offset < state.next) continue;
            if (offset >= state.end) break;
            state.next = offset + 1n;
            subscriber.next({ topic, partition: batch.partition, offset: m.offset, timestamp: m.timestamp, key: m.key ?? null, value: m.value ?? null });
          }
          advance(batch.partition, BigInt(batch.lastOffset()) + 1n);
        },
      });
      if (closed) return;
      for (const [partition, state] of pending) c.seek({ topic, partition, offset: state.next.toString() });
      // Partitions not selected, or with an empty range, are not fetched at all.
      const idle = all.filter((p) => !pending.has(p));
      if (idle.length > 0) c.pause([{ topic, partitions: idle }]);
    };

    run().catch((err: unknown) => {
      if (!closed) subscriber.error(err instanceof MentionflowError ? err : kafkaEdgeError('cannot replay', err, { topic }));
    });
    return () => {
      closed = true;
      void consumer?.disconnect().catch(() => undefined);
    };
  });
}
