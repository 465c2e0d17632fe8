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
import { checkPost, checkRecords, plausibleTime, postCheckEngine, POST_BLANK_ID, POST_OK, POST_SLOW } from '../../schemas/postScan.js';
import type { Post } from '../../schemas/types.generated.js';
import type { ContainerCodec, DeflateStrategy } from '../../schemas/container.js';
import type { DeflateEngine, DeflateEngineChoice } from '../../schemas/deflate.js';
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
  /**
   * The library that deflates (schemas/deflate.ts); default 'auto': ISA-L where the addon is built
   * and libisal.so.2 is installed (about 0.25x of zlib level 1's CPU on Post records, BENCHMARKS.md
   * archive round 10), else libdeflate where the addon is built (about 0.55x), else zlib.
   */
  deflateEngine?: DeflateEngineChoice;
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
  /** The library that deflates the files (codec deflate), else undefined. */
  readonly deflateEngine: DeflateEngine | undefined;
  readonly started: Promise<void>;
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** A fetched batch as the sink queues it (see pack in startArchiveSink), checked. */
interface QueuedBatch {
  /** Bytes of the records kept, as packed (what the consumer's queue counts). */
  readonly bytes: number;
  readonly batch: PostBatch;
}

/** A checked batch, its records grouped by event hour (ArchiveRoller.appendBatch). */
interface PostBatch {
  /** Records looked at: those before the fatal one, if any (archived, skipped or dead letters). */
  readonly count: number;
  /** Highest offset of those records (-1 when none). */
  readonly last: number;
  /** The records to archive, grouped by event hour, in offset order within a group. */
  readonly offsets: Float64Array;
  /** End of each record's bytes in `data` (it starts where the previous one ends). */
  readonly ends: Uint32Array;
  readonly data: Buffer;
  /** Group g is records [groupStarts[g], groupStarts[g + 1]), of event time groupTimes[g]. */
  readonly groupStarts: Uint32Array;
  readonly groupTimes: Float64Array;
  readonly groups: number;
  /** Records that are not Posts, in offset order: to the dead-letter topic. */
  readonly failed: ReadonlyArray<{ record: ArchiveRecord; error: DecodeError }>;
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
    ...(opts.deflateEngine !== undefined ? { deflateEngine: opts.deflateEngine } : {}),
    onFile: (f) => {
      metrics.file(f.bytes);
      logger.debug('archive: file written', { ...f });
    },
    onForeign: (f) => {
      logger.warn('archive: staging folders of a newer group generation fenced: this sink is in the current generation, so they are from an earlier life of the group (deleted and created again)', { ...f, generation: f.epoch });
    },
    onFenced: (f) => {
      metrics.fenced(f.files);
      logger.warn(
        f.when === 'prepare'
          ? 'archive: partition fenced: a sink of a newer group generation holds it (this sink is stale until the group assigns it again); nothing of it is written or committed here'
          : 'archive: partition fenced: a sink of a newer group generation took it over while this one was stalled; its open files dropped unrenamed, their offsets not committed (the new owner archives those records)',
        { partition: f.partition, generation: f.epoch, files: f.files, records: f.records, at: f.when, ...(f.newer !== undefined ? { newer: f.newer } : {}) },
      );
    },
  });
  const wire = opts.wire ?? 'raw';
  const read = postRecordReader(wire);
  const postCheck = wire !== 'raw' ? 'full-decode' : postCheckEngine();
  metrics.info({ codec: opts.codec ?? 'deflate', deflate_engine: roller.deflateEngine ?? 'none', post_check: postCheck });
  const deadLetters: TopicWriter | undefined = opts.deadLetterTopic === undefined ? undefined : await openTopicWriter({ ...opts, topic: opts.deadLetterTopic });

  /**
   * One fetched batch, packed in eachBatch: each record checked to be a latest-version Post
   * (schemas/postScan.ts) on kafkajs's own value buffers, then the records' bytes copied once,
   * grouped by event hour (the file they go to), into one Buffer, offsets in a typed array, so no
   * kafkajs object per record waits in the consumer's queue (surviving scavenges, they were the
   * sink's main GC cost) and the roller copies each hour's run in one piece instead of record by
   * record. Records that are not latest-version Posts take the full decode path here (an older
   * version is re-encoded); kafkajs messages are kept only for dead letters.
   */
  const pack = (_partition: number, records: readonly ArchiveRecord[]): QueuedBatch => {
    let batch: PostBatch;
    try {
      batch = group(records);
    } catch (err) {
      batch = { count: 0, last: -1, offsets: new Float64Array(0), ends: new Uint32Array(0), data: Buffer.alloc(0), groupStarts: new Uint32Array(1), groupTimes: new Float64Array(0), groups: 0, failed: [], fatal: { error: err } };
    }
    // What the queue holds of the batch: its packed records (the dead letters' few kafkajs messages aside).
    return { bytes: batch.data.length, batch };
  };

  const group = (records: readonly ArchiveRecord[]): PostBatch => {
    const n = records.length;
    const status = new Uint8Array(n);
    const times = new Float64Array(n);
    // Other wire formats have no fast path (a framed record must not be taken for a raw one).
    if (wire === 'raw') checkRecords(records, status, times);
    else status.fill(POST_SLOW);
    // Rare: records that are not latest-version Posts, through the full decode path, in offset order.
    let count = n;
    let fatal: { error: unknown } | undefined;
    const failed: Array<{ record: ArchiveRecord; error: DecodeError }> = [];
    let decoded: Array<Buffer | undefined> | undefined;
    for (let i = 0; i < n; i++) {
      if (status[i] === POST_OK) continue;
      const r = records[i];
      try {
        if (status[i] === POST_BLANK_ID) throw new DecodeError(EMPTY_ID);
        const out = read(r.value, Number(r.timestamp));
        (decoded ??= new Array<Buffer | undefined>(n))[i] = out.bytes;
        times[i] = out.eventTime;
        status[i] = POST_OK;
      } catch (err) {
        if (!(err instanceof DecodeError) || deadLetters === undefined) {
          fatal = { error: err };
          count = i;
          break;
        }
        failed.push({ record: r, error: err });
      }
    }
    // Group the records to archive by event hour (in offset order within each hour).
    const hours: number[] = [];
    const groupOf = new Uint32Array(count);
    let lastHour = NaN;
    let lastGroup = 0;
    let kept = 0;
    for (let i = 0; i < count; i++) {
      if (status[i] !== POST_OK) continue;
      const h = Math.floor(times[i] / 3_600_000);
      if (h !== lastHour) {
        lastHour = h;
        lastGroup = hours.indexOf(h);
        if (lastGroup < 0) lastGroup = hours.push(h) - 1;
      }
      groupOf[i] = lastGroup;
      kept++;
    }
    const groups = hours.length;
    const groupStarts = new Uint32Array(groups + 1);
    const groupBytes = new Float64Array(groups + 1);
    const groupTimes = new Float64Array(groups);
    for (let i = count - 1; i >= 0; i--) {
      if (status[i] !== POST_OK) continue;
      const g = groupOf[i];
      groupStarts[g + 1]++;
      groupBytes[g + 1] += (decoded?.[i] ?? (records[i].value as Buffer)).length;
      groupTimes[g] = times[i];
    }
    for (let g = 0; g < groups; g++) {
      groupStarts[g + 1] += groupStarts[g];
      groupBytes[g + 1] += groupBytes[g];
    }
    const data = Buffer.allocUnsafe(groupBytes[groups]);
    const offsets = new Float64Array(kept);
    const ends = new Uint32Array(kept);
    // Offsets are strictly increasing in a fetched batch, so when the first and the last are n - 1
    // apart they are first + i, each; else (gaps: compaction, transaction markers) each is parsed.
    const first = count > 0 ? Number(records[0].offset) : 0;
    const last = count > 0 ? Number(records[count - 1].offset) : -1;
    const contiguous = last - first === count - 1;
    // Where the next record of each group goes (record index, byte).
    const nextIndex = groupStarts.slice(0, groups);
    const nextByte = groupBytes.slice(0, groups);
    for (let i = 0; i < count; i++) {
      if (status[i] !== POST_OK) continue;
      const g = groupOf[i];
      // TypedArray set, not Buffer copy: node 20's copy validates its arguments in JS first (~40 vs ~60 ns a record)
      const value = decoded?.[i] ?? (records[i].value as Buffer);
      data.set(value, nextByte[g]);
      nextByte[g] += value.length;
      const k = nextIndex[g]++;
      offsets[k] = contiguous ? first + i : Number(records[i].offset);
      ends[k] = nextByte[g];
    }
    return { count, last, offsets, ends, data, groupStarts, groupTimes, groups, failed, fatal };
  };

  const take = async (partition: number, queued: QueuedBatch, generation: number, current: () => Promise<boolean>): Promise<void> => {
    const batch = queued.batch;
    const { count, failed } = batch;
    if (count === 0 && batch.fatal === undefined) return;
    // A fenced partition (another sink owns it now) takes nothing until the next assignment.
    if ((await roller.prepare(partition, generation, current)) === 'fenced') return;
    const archived = await roller.appendBatch(partition, batch);
    if (roller.fenced(partition)) return;
    const skipped = batch.groupStarts[batch.groups] - archived;
    // Dead letters count as passed for the commit offset, like the records archived or skipped.
    if (batch.last >= 0) roller.seen(partition, batch.last);
    // Nothing after a record that cannot be archived is committed: the sink stops here.
    if (batch.fatal !== undefined) throw batch.fatal.error;
    const deadMessages = failed.map(({ record: r, error }) => deadLetterMessage({ kind: 'failed', ref: { topic, partition, offset: r.offset, receivedAt: Date.now() }, payload: r.value, key: r.key, stage: 'decode', error }, Date.now()));
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
    deflateEngine: roller.deflateEngine,
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
