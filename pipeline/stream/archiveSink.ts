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
import { encodeStrict, latestVersion, listVersions, loadSchema, loadSchemaJson, resolvingDecoder, scanAvro, type ResolvingDecoder, type WireFormat } from '../../schemas/registry.js';
import type { Post } from '../../schemas/types.generated.js';
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
  codec?: 'null' | 'deflate';
  /**
   * zlib level of deflate, 1..9; default 1. On Post records of real Weibo text level 1 costs
   * 52-64% of the CPU of zlib's default 6 for files 4% larger (BENCHMARKS.md, archive sink).
   */
  deflateLevel?: number;
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

const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A fetched batch as the sink queues it (see pack in startArchiveSink). */
interface PostBatch {
  /** Bytes in `data` (what the consumer's queue counts). */
  readonly bytes: number;
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
  const latestWriter = loadSchema('post', latest);
  return (value, timestamp) => {
    if (value === null) throw new DecodeError('cannot archive: the record has no value (null payload, e.g. a tombstone)');
    // Fast path, the common case: a raw record of the latest version. The bounded scan checks it
    // whole (every byte consumed, strings valid); only id and created_at are then read.
    if (wire === 'raw') {
      let end = -1;
      try {
        end = scanAvro(latestWriter, value);
      } catch {
        // not the latest version (or not a Post): the full path below says why
      }
      if (end === value.length) {
        const head = postHead(value);
        if (head.idEmpty) throw new DecodeError('invalid Post: empty id (Post.id must be the platform post id, never empty)');
        const t = head.createdAt;
        return { bytes: value, eventTime: Number.isSafeInteger(t) && t >= 0 && t <= MAX_TIME ? t : timestamp };
      }
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
      if (post.id.trim() === '') throw new DecodeError('invalid Post: empty id (Post.id must be the platform post id, never empty)');
      const t = post.created_at;
      const eventTime = Number.isSafeInteger(t) && t >= 0 && t <= MAX_TIME ? t : timestamp;
      return { bytes: d.writerVersion === latest && wire === 'raw' ? value : encodeStrict(type, post), eventTime };
    }
    throw new DecodeError(`cannot decode Post from ${value.length} bytes: ${reasons.join('; ')}`);
  };
}

/** Position after the zig-zag varint at pos; its value is left in `varint` (exact up to 2^53). */
let varint = 0;
function readLong(buf: Buffer, pos: number): number {
  let n = 0;
  let scale = 1;
  let b: number;
  do {
    b = buf[pos++];
    n += (b & 0x7f) * scale;
    scale *= 128;
  } while (b & 0x80);
  varint = n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  return pos;
}

/** Whether bytes [start, end) hold something besides ASCII whitespace (what String.trim removes there). */
function hasNonSpace(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b !== 0x20 && (b < 0x09 || b > 0x0d)) return true;
  }
  return false;
}

/**
 * id and created_at of a scanned Post (fields 1-4: id, text, author_id strings, created_at long;
 * same in v1 and v2). The id is decoded only when it might be all (Unicode) whitespace.
 */
function postHead(buf: Buffer): { idEmpty: boolean; createdAt: number } {
  let pos = readLong(buf, 0);
  const idStart = pos;
  const idEnd = pos + varint;
  // A byte >= 0x80 may be part of a Unicode space (U+3000, U+00A0, ...): then trim decides.
  const idEmpty = !hasNonSpace(buf, idStart, idEnd) || (!asciiOnly(buf, idStart, idEnd) && buf.toString('utf8', idStart, idEnd).trim() === '');
  pos = idEnd;
  for (let i = 0; i < 2; i++) pos = readLong(buf, pos) + varint;
  readLong(buf, pos);
  return { idEmpty, createdAt: varint };
}

function asciiOnly(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] >= 0x80) return false;
  return true;
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
    onFile: (f) => {
      metrics.file(f.bytes);
      logger.debug('archive: file written', { ...f });
    },
  });
  const read = postRecordReader(opts.wire ?? 'raw');
  const deadLetters: TopicWriter | undefined = opts.deadLetterTopic === undefined ? undefined : await openTopicWriter({ ...opts, topic: opts.deadLetterTopic });

  /**
   * One fetched batch, checked and packed in eachBatch: the records' bytes end to end in one
   * Buffer, offsets and event hours in typed arrays, so no kafkajs object per record waits in the
   * consumer's queue (surviving scavenges, they were the sink's main GC cost). Records that are not
   * Posts keep their message (dead letters); an error that must stop the sink is carried to take.
   */
  const pack = (_partition: number, records: readonly ArchiveRecord[]): PostBatch => {
    const n = records.length;
    let capacity = 0;
    for (let i = 0; i < n; i++) capacity += records[i].value?.length ?? 0;
    let data = Buffer.allocUnsafe(capacity);
    const offsets = new Float64Array(n);
    const times = new Float64Array(n);
    const ends = new Uint32Array(n);
    const failed: Array<{ index: number; record: ArchiveRecord; error: DecodeError }> = [];
    let at = 0;
    let count = 0;
    let fatal: { error: unknown } | undefined;
    for (; count < n; count++) {
      const r = records[count];
      offsets[count] = Number(r.offset);
      let out: { bytes: Buffer; eventTime: number };
      try {
        out = read(r.value, Number(r.timestamp));
      } catch (err) {
        if (!(err instanceof DecodeError) || deadLetters === undefined) {
          fatal = { error: err };
          break;
        }
        failed.push({ index: count, record: r, error: err });
        ends[count] = at;
        continue;
      }
      const length = out.bytes.length;
      if (at + length > data.length) {
        // a record re-encoded to the latest version can be longer than it came
        const grown = Buffer.allocUnsafe(Math.max(2 * data.length, at + length));
        data.copy(grown, 0, 0, at);
        data = grown;
      }
      out.bytes.copy(data, at);
      at += length;
      ends[count] = at;
      times[count] = out.eventTime;
    }
    return { bytes: at, count, offsets, times, ends, data, failed, fatal };
  };

  const take = async (partition: number, batch: PostBatch): Promise<void> => {
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
