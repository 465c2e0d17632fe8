/**
 * Reads records from one topic until told to stop: after `max` records, after
 * `idleTimeoutMs` without a record, or when `signal` aborts. Used by
 * `mentionflow tail` and the integration tests.
 *
 * Offsets are committed only with `commit: true`, and then only for records
 * handed to `onRecord` (records fetched after the stop are not committed), so
 * a named group can resume where it stopped. Reads read_committed unless
 * `readUncommitted` is set.
 */
import { ConfigError } from '../../common/errors.js';
import { createKafkaClient, type KafkaConnectionOptions } from './client.js';
import { kafkaEdgeError } from './errors.js';
import { withAdmin } from './withAdmin.js';

export interface ReadRecord {
  topic: string;
  partition: number;
  /** Kafka offset as a decimal string. */
  offset: string;
  /** Record timestamp, ms since the epoch, as a decimal string. */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface ReadTopicOptions extends KafkaConnectionOptions {
  topic: string;
  /** Consumer group id. */
  groupId: string;
  /** Start at the earliest offset when the group has no committed offset; default false (only new records). */
  fromBeginning?: boolean;
  /** Also see records of open and aborted transactions; default false (read_committed). */
  readUncommitted?: boolean;
  /** Commit the offsets of records handed to onRecord; default false. */
  commit?: boolean;
  /** Stop after this many records. */
  max?: number;
  /** Stop after this many ms without a record (counted from the start, then from the last record). */
  idleTimeoutMs?: number;
  /** Stop when aborted. */
  signal?: AbortSignal;
  /** Called for each record, in order within a partition; a throw stops reading and rejects. */
  onRecord(record: ReadRecord): void | Promise<void>;
}

export type StopReason = 'max' | 'idle' | 'aborted';

export interface ReadResult {
  count: number;
  reason: StopReason;
}

export async function readTopic(opts: ReadTopicOptions): Promise<ReadResult> {
  const { topic, groupId, fromBeginning = false, readUncommitted = false, commit = false, max, idleTimeoutMs, signal, onRecord } = opts;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new ConfigError(`max must be an integer >= 1, got ${max}`);
  if (idleTimeoutMs !== undefined && !(idleTimeoutMs > 0)) throw new ConfigError(`idleTimeoutMs must be > 0, got ${idleTimeoutMs}`);
  if (signal?.aborted) return { count: 0, reason: 'aborted' };

  await withAdmin(opts, { what: 'cannot read the topic', position: { topic } }, async (admin) => {
    if (!(await admin.listTopics()).includes(topic)) throw new ConfigError(`topic ${JSON.stringify(topic)} does not exist`);
  });

  const kafka = createKafkaClient(opts);
  const consumer = kafka.consumer({ groupId, readUncommitted, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
  let count = 0;
  let stopped = false;
  let idleTimer: NodeJS.Timeout | undefined;
  let settle!: (r: { reason: StopReason } | { error: unknown }) => void;
  const done = new Promise<{ reason: StopReason } | { error: unknown }>((resolve) => (settle = resolve));
  const stop = (r: { reason: StopReason } | { error: unknown }) => {
    if (stopped) return;
    stopped = true;
    if (idleTimer) clearTimeout(idleTimer);
    settle(r);
  };
  const armIdle = () => {
    if (idleTimeoutMs === undefined || stopped) return;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => stop({ reason: 'idle' }), idleTimeoutMs);
  };
  const onAbort = () => stop({ reason: 'aborted' });
  signal?.addEventListener('abort', onAbort, { once: true });
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) stop({ error: kafkaEdgeError('the consumer crashed', e.payload.error, { topic }) });
  });

  try {
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning });
    } catch (err) {
      throw kafkaEdgeError('cannot subscribe', err, { topic });
    }
    armIdle();
    await consumer.run({
      autoCommit: commit,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        for (const m of batch.messages) {
          if (stopped || !isRunning() || isStale()) break;
          armIdle();
          try {
            await onRecord({ topic: batch.topic, partition: batch.partition, offset: m.offset, timestamp: m.timestamp, key: m.key ?? null, value: m.value ?? null });
          } catch (err) {
            stop({ error: err });
            break;
          }
          resolveOffset(m.offset);
          count += 1;
          if (max !== undefined && count >= max) stop({ reason: 'max' });
        }
        await heartbeat();
      },
    });
    const outcome = await done;
    if ('error' in outcome) throw outcome.error;
    return { count, reason: outcome.reason };
  } finally {
    stop({ reason: 'aborted' });
    signal?.removeEventListener('abort', onAbort);
    await consumer.disconnect().catch(() => undefined);
  }
}
