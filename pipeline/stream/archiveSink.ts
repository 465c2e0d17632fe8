/**
 * The archive sink (`mentionflow archive --follow`): the post topic, as
 * consumed, into rolling Avro container files. Reads as
 *   Kafka (archiveConsumer) -> check each record is a Post -> ArchiveRoller (files)
 * with undecodable records going to the dead-letter topic instead, and
 * offsets committed only after the files holding them are renamed.
 *
 * A record already written with the latest Post schema (raw framing) is
 * stored byte for byte; one written with an older version (or Confluent
 * framing) is stored re-encoded as the latest version, so every file is a
 * container of latest-version Post records. The event hour is the post's
 * created_at (UTC); a post whose created_at is not a plausible time (before
 * 1970 or after 9999) goes by the record's timestamp.
 */
import { ConfigError, DecodeError, MentionflowError } from '../../common/errors.js';
import { deadLetterMessage } from '../../operators/deadLetter.js';
import { encodeStrict, latestVersion, listVersions, loadSchema, loadSchemaJson, resolvingDecoder, type ResolvingDecoder, type WireFormat } from '../../schemas/registry.js';
import { checkPost, checkPosts, plausibleTime, POST_BLANK_ID, POST_OK, POST_SLOW } from '../../schemas/postScan.js';
import type { Post } from '../../schemas/types.generated.js';
import type { ContainerCodec, DeflateStrategy } from '../../schemas/container.js';
import { ArchiveRoller } from '../file/archiveRoller.js';
import { startArchiveConsumer, type ArchiveConsumer, type ArchiveRecord } from '../kafka/archiveConsumer.js';
import type { KafkaConnectionOptions } from '../kafka/client.js';
import { openTopicWriter, type TopicWriter } from '../kafka/topicWriter.js';
import { createArchiveMetrics, type ArchiveMetrics } from '../ops/archiveMetrics.js';
import type { Logger } from '../ops/logger.js';
import { startOpsServer, type OpsServer } from '../ops/server.js';

export interface ArchiveSinkOptions extends KafkaConnectionOptions {
  topic: string;
  dir: string;
  groupId: string;
  /** Dead-letter topic for records that are not Posts; undefined: the sink stops on one. */
  deadLetterTopic?: string;
  wire?: WireFormat;
  maxFileBytes?: number;
  maxFileAgeMs?: number;
  /** Block compression (schemas/container.ts); default deflate. */
  codec?: ContainerCodec;
  /**
   * zlib level of deflate, 1..9; default 1. On Post records of real Weibo text level 1 costs
   * 52-64% of the CPU of zlib's default 6 for files 4% larger (BENCHMARKS.md, archive sink).
   */
  deflateLevel?: number;
  /**
   * zlib strategy of deflate; default 'default'. 'huffman' (no LZ77 matches) costs less CPU for
   * larger files (BENCHMARKS.md, archive sink round 6).
   */
  deflateStrategy?: DeflateStrategy;
  logger: Logger;
  /** Ops endpoint port (/metrics, /healthz, /readyz); undefined: none. */
  metricsPort?: number;
  metricsHost?: string;
  sessionTimeoutMs?: number;
  tickMs?: number;
}

export interface ArchiveSink {
  readonly metrics: ArchiveMetrics;
  readonly ops: OpsServer | undefined;
  readonly started: Promise<void>;
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** A fetched batch as the sink queues it (see pack in startArchiveSink), checked. */
interface QueuedBatch {
  /** Bytes of the records (what the consumer's queue counts). */
  readonly bytes: number;
  readonly batch: PostBatch;
}

/** A checked batch. */
interface PostBatch {
  /** Records packed: those before the fatal one, if any. */
  readonly count: number;
  readonly offsets: Float64Array;
  /** Event time of each record (unset for the failed ones). */
  readonly times: Float64Array;
  /** End of each record's bytes in `data` (it starts where the previous one ends; a failed record is empty). */
  readonly ends: Uint32Array;
  readonly data: Buffer;
  /** Records that are not Posts, in offset order: to the dead-letter topic. */
  readonly failed: ReadonlyArray<{ index: number; record: ArchiveRecord; error: DecodeError }>;
  /** An error at record `count` that stops the sink (a non-Post without a dead-letter topic, or worse). */
  readonly fatal: { error: unknown } | undefined;
}

const EMPTY_ID = 'invalid Post: empty id (Post.id must be the platform post id, never empty)';

/** The latest-version bytes of a record, and its event time; DecodeError when it is not a Post. */
export function postRecordReader(wire: WireFormat = 'raw'): (value: Buffer | null, timestamp: number) => { bytes: Buffer; eventTime: number } {
  const latest = latestVersion('post');
  const type = loadSchema('post');
  const decoders: ResolvingDecoder<Post>[] = [];
  for (const v of [...listVersions('post')].reverse()) {
    try {
      decoders.push(resolvingDecoder<Post>('post', v, latest));
    } catch (err) {
      if (!(err instanceof MentionflowError)) throw err;
    }
  }
  return (value, timestamp) => {
    if (value === null) throw new DecodeError('cannot archive: the record has no value (null payload, e.g. a tombstone)');
    // Fast path, the common case: a raw record of the latest version, checked whole (every byte
    // consumed, strings valid); only id and created_at are then read.
    if (wire === 'raw') {
      const { status, eventTime } = checkPost(value, timestamp);
      if (status === POST_BLANK_ID) throw new DecodeError(EMPTY_ID);
      if (status === POST_OK) return { bytes: value, eventTime };
    }
    const reasons: string[] = [];
    for (const d of decoders) {
      let post: Post;
      try {
        post = d.decode(value, { wireFormat: wire });
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        reasons.push(err.message);
        continue;
      }
      if (post.id.trim() === '') throw new DecodeError(EMPTY_ID);
      const t = post.created_at;
      const eventTime = plausibleTime(t) ? t : timestamp;
      return { bytes: d.writerVersion === latest && wire === 'raw' ? value : encodeStrict(type, post), eventTime };
    }
    throw new DecodeError(`cannot decode Post from ${value.length} bytes: ${reasons.join('; ')}`);
  };
}

export async function startArchiveSink(opts: ArchiveSinkOptions): Promise<ArchiveSink> {
  const { topic, logger } = opts;
  if (!opts.groupId) throw new ConfigError('archive: groupId is required');
  const metrics = createArchiveMetrics();
  const roller = new ArchiveRoller({
    dir: opts.dir,
    topic,
    schema: loadSchemaJson('post'),
    ...(opts.maxFileBytes !== undefined ? { maxBytes: opts.maxFileBytes } : {}),
    ...(opts.maxFileAgeMs !== undefined ? { maxAgeMs: opts.maxFileAgeMs } : {}),
    codec: opts.codec ?? 'deflate',
    deflateLevel: opts.deflateLevel ?? 1,
    ...(opts.deflateStrategy !== undefined ? { deflateStrategy: opts.deflateStrategy } : {}),
    onFile: (f) => {
      metrics.file(f.bytes);
      logger.debug('archive: file written', { ...f });
    },
  });
  const wire = opts.wire ?? 'raw';
  const read = postRecordReader(wire);
  const deadLetters: TopicWriter | undefined = opts.deadLetterTopic === undefined ? undefined : await openTopicWriter({ ...opts, topic: opts.deadLetterTopic });

  /**
   * One fetched batch, packed in eachBatch: the records' bytes end to end in one Buffer, offsets
   * and timestamps in typed arrays, so no kafkajs object per record waits in the consumer's queue
   * (surviving scavenges, they were the sink's main GC cost), and each record checked to be a
   * latest-version Post (schemas/postScan.ts). The kafkajs messages are kept only when some record
   * needs the full decode path or goes to the dead-letter topic (finish).
   */
  const pack = (_partition: number, records: readonly ArchiveRecord[]): QueuedBatch => {
    const n = records.length;
    let capacity = 0;
    for (let i = 0; i < n; i++) capacity += records[i].value?.length ?? 0;
    const data = Buffer.allocUnsafe(capacity);
    const offsets = new Float64Array(n);
    const stamps = new Float64Array(n);
    const ends = new Uint32Array(n);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const r = records[i];
      offsets[i] = Number(r.offset);
      stamps[i] = Number(r.timestamp);
      const value = r.value;
      if (value !== null) {
        // TypedArray set, not Buffer copy: node 20's copy validates its arguments in JS first (~40 vs ~60 ns a record)
        data.set(value, at);
        at += value.length;
      }
      ends[i] = at;
    }
    const status = new Uint8Array(n);
    const times = new Float64Array(n);
    // Other wire formats have no fast path (a framed record must not be taken for a raw one).
    if (wire === 'raw') checkPosts(data, ends, stamps, n, status, times);
    else status.fill(POST_SLOW);
    let batch: PostBatch;
    try {
      batch = finish(records, data, offsets, ends, status, times);
    } catch (err) {
      batch = { count: 0, offsets, times, ends, data, failed: [], fatal: { error: err } };
    }
    return { bytes: capacity, batch };
  };

  /**
   * The checked batch: records of status POST_OK as packed; the others through the full decode
   * path (an older version is re-encoded, then the records are packed again), dead letters, or
   * a fatal error that ends the batch there.
   */
  const finish = (records: readonly ArchiveRecord[], packed: Buffer, offsets: Float64Array, packedEnds: Uint32Array, status: Uint8Array, times: Float64Array): PostBatch => {
    const n = records.length;
    let i = 0;
    while (i < n && status[i] === POST_OK) i++;
    if (i === n) return { count: n, offsets, times, ends: packedEnds, data: packed, failed: [], fatal: undefined };
    // Rare: some record is not a latest-version Post. Pack again, record by record.
    let data = Buffer.allocUnsafe(packed.length);
    const ends = new Uint32Array(n);
    const failed: Array<{ index: number; record: ArchiveRecord; error: DecodeError }> = [];
    let at = 0;
    let count = 0;
    let fatal: { error: unknown } | undefined;
    for (; count < n; count++) {
      const r = records[count];
      let bytes: Buffer;
      try {
        if (status[count] === POST_OK) bytes = packed.subarray(count === 0 ? 0 : packedEnds[count - 1], packedEnds[count]);
        else if (status[count] === POST_BLANK_ID) throw new DecodeError(EMPTY_ID);
        else {
          const out = read(r.value, Number(r.timestamp));
          bytes = out.bytes;
          times[count] = out.eventTime;
        }
      } catch (err) {
        if (!(err instanceof DecodeError) || deadLetters === undefined) {
          fatal = { error: err };
          break;
        }
        failed.push({ index: count, record: r, error: err });
        ends[count] = at;
        continue;
      }
      if (at + bytes.length > data.length) {
        // a record re-encoded to the latest version can be longer than it came
        const grown = Buffer.allocUnsafe(Math.max(2 * data.length, at + bytes.length));
        data.copy(grown, 0, 0, at);
        data = grown;
      }
      bytes.copy(data, at);
      at += bytes.length;
      ends[count] = at;
    }
    return { count, offsets, times, ends, data, failed, fatal };
  };

  const take = async (partition: number, queued: QueuedBatch): Promise<void> => {
    const batch = queued.batch;
    const { count, offsets, times, ends, data, failed } = batch;
    if (count === 0 && batch.fatal === undefined) return;
    await roller.prepare(partition);
    const deadMessages = [];
    let nextFailed = failed.length > 0 ? failed[0].index : -1;
    let f = 0;
    let archived = 0;
    let skipped = 0;
    let start = 0;
    for (let i = 0; i < count; i++) {
      const end = ends[i];
      if (i === nextFailed) {
        const { record: r, error } = failed[f++];
        nextFailed = f < failed.length ? failed[f].index : -1;
        deadMessages.push(deadLetterMessage({ kind: 'failed', ref: { topic, partition, offset: r.offset, receivedAt: Date.now() }, payload: r.value, key: r.key, stage: 'decode', error }, Date.now()));
        roller.seen(partition, offsets[i]);
        continue;
      }
      const appended = roller.append(partition, offsets[i], times[i], data, start, end);
      if ((typeof appended === 'string' ? appended : await appended) === 'appended') archived++;
      else skipped++;
      start = end;
    }
    // Nothing after a record that cannot be archived is committed: the sink stops here.
    if (batch.fatal !== undefined) throw batch.fatal.error;
    // Dead letters are on the broker before the offsets that pass them can be committed.
    if (deadMessages.length > 0 && deadLetters !== undefined) await deadLetters.send(deadMessages.map((m) => ({ key: m.key, value: m.value })));
    metrics.record('archived', archived);
    metrics.record('skipped', skipped);
    metrics.record('deadletter', deadMessages.length);
    metrics.openFiles(roller.openFiles());
  };

  let healthy = true;
  const consumer: ArchiveConsumer = startArchiveConsumer({
    ...opts,
    target: {
      pack,
      take,
      due: () => roller.due(),
      known: () => roller.known(),
      flush: async (p) => {
        const offset = await roller.flush(p);
        metrics.openFiles(roller.openFiles());
        return offset;
      },
      drop: (p) => roller.drop(p),
    },
    onCommit: (p, o) => metrics.committed(p, o),
    onPending: (bytes) => metrics.pending(bytes),
  });
  consumer.done.catch(() => (healthy = false));
  let ready = false;
  const started = consumer.started.then(() => void (ready = true));
  const ops =
    opts.metricsPort === undefined
      ? undefined
      : await startOpsServer({ port: opts.metricsPort, ...(opts.metricsHost !== undefined ? { host: opts.metricsHost } : {}), registry: metrics.registry, health: () => healthy, ready: () => ready && healthy });
  return {
    metrics,
    ops,
    started,
    done: consumer.done,
    async stop() {
      ready = false;
      try {
        await consumer.stop();
      } finally {
        await deadLetters?.close();
        await ops?.close();
      }
    },
  };
}
