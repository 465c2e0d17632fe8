/**
 * The re-key stage of the scaled-out trends (`mentionflow trends --stage
 * rekey`): each mention record in (Avro, mentions schema), its entity
 * records out (repartition schema, keyed by the entity key; see
 * trends/rekey.ts), as the output messages of one input record. A record
 * that does not decode becomes a dead letter (stage 'decode'); nothing is
 * dropped. Stateless, so any number of members of one group can run it.
 *
 * Delivery: the sink commits an input offset once the message carrying the
 * record's ref is written. A record's messages can be split across two
 * writes (the sink groups messages by size), so only the LAST message of a
 * record carries its ref; the others carry `continuationRef(ref)`, which
 * names the same partition (the sink keeps them in that partition's
 * transaction) but an offset no input record has, so writing them marks
 * nothing done: the input offset commits with the record's last entity,
 * never before it.
 *
 * Progress markers (with `partitions`): a repartition partition that no
 * entity key maps to would never see event time, so its aggregator would
 * never close a window and the merger would wait for it forever. As Flink
 * broadcasts watermarks and Kafka Streams keeps stream time per task, the
 * stage also writes, per source (mentions) partition s, a PROGRESS record
 * (repartition v2) to EVERY repartition partition, with an explicit
 * partition: the highest created_at seen from s. A marker is due for s when
 * s has new event time since its last marker AND either `markerEveryRecords`
 * records of s have passed or `markerIntervalMs` has elapsed since its last
 * marker. Due on a record, the markers go out with that record's messages
 * (the last marker carries its ref: same transaction as its input offset);
 * new event time left unmarked is marked by a timer every
 * `markerIntervalMs` (continuation refs of the source's last record) and at
 * the end of the input. So at most one marker per source, repartition
 * partition and interval (or per N records), none while a source is quiet,
 * and no event time stays unmarked longer than one interval.
 */
import { asyncScheduler, Observable, type OperatorFunction, type SchedulerAction, type SchedulerLike } from 'rxjs';
import { ConfigError, DecodeError, MentionflowError } from '../common/errors.js';
import { decodeStrict, encodeStrict, loadSchema } from '../schemas/registry.js';
import type { PostMentions } from '../schemas/types.generated.js';
import { deadLetterMessage } from './deadLetter.js';
import { entityMentions, progressMarker } from './trends/rekey.js';
import type { OutputMessage, RawRecord, RecordRef } from './types.js';

/** The largest Kafka offset (int64): no input record has it. */
const NO_RECORD_OFFSET = '9223372036854775807';

/** A ref on the record's partition that marks no input record done (see the module comment). */
export function continuationRef(ref: RecordRef): RecordRef {
  return { ...ref, offset: NO_RECORD_OFFSET };
}

export interface RekeyMentionsOptions {
  /** Wall clock for the dead letters' failed_at (default Date.now). */
  now?: () => number;
  /** Partitions of the repartition topic: progress markers go to each (see the module comment). Absent: no markers. */
  partitions?: number;
  /** A marker for a source is due once this many ms passed since its last one (default 1000; the timer's period too). */
  markerIntervalMs?: number;
  /** ... or once this many records of the source passed since its last one (default 1000). */
  markerEveryRecords?: number;
  /** Clock and timer of the markers (default asyncScheduler; a TestScheduler in tests). */
  scheduler?: SchedulerLike;
}

interface SourceProgress {
  /** Highest created_at seen. */
  max: number;
  /** Highest created_at marked. */
  marked: number;
  /** Records since the last marker. */
  since: number;
  /** scheduler.now() of the last marker (or of the first record). */
  markedAt: number;
  /** The source's last record. */
  ref: RecordRef;
}

/** Mention records in, per record its repartition messages (output 'mentions') or one dead letter (output 'deadletter'); with `partitions`, progress markers too. */
export function rekeyMentions(opts: RekeyMentionsOptions = {}): OperatorFunction<RawRecord, OutputMessage[]> {
  const now = opts.now ?? Date.now;
  const scheduler = opts.scheduler ?? asyncScheduler;
  const partitions = opts.partitions;
  const intervalMs = opts.markerIntervalMs ?? 1000;
  const everyRecords = opts.markerEveryRecords ?? 1000;
  if (partitions !== undefined && !(Number.isSafeInteger(partitions) && partitions >= 1)) throw new ConfigError(`rekeyMentions: partitions must be an integer >= 1, got ${partitions}`);
  if (!(Number.isFinite(intervalMs) && intervalMs > 0)) throw new ConfigError(`rekeyMentions: markerIntervalMs must be a number of ms > 0, got ${intervalMs}`);
  if (!(Number.isSafeInteger(everyRecords) && everyRecords >= 1)) throw new ConfigError(`rekeyMentions: markerEveryRecords must be an integer >= 1, got ${everyRecords}`);
  const mentions = loadSchema('mentions');
  const repartition = loadSchema('repartition');

  const markersOf = (p: SourceProgress, ref: RecordRef): OutputMessage[] => {
    p.marked = p.max;
    p.since = 0;
    p.markedAt = scheduler.now();
    const value = encodeStrict(repartition, progressMarker(p.max, { topic: p.ref.topic, partition: p.ref.partition, offset: Number(p.ref.offset) }));
    return Array.from({ length: partitions! }, (_, i) => ({ output: 'mentions' as const, key: null, value, ref, partition: i }));
  };

  return (source) =>
    new Observable<OutputMessage[]>((sub) => {
      const progress = new Map<number, SourceProgress>();
      /** Markers for every source with unmarked event time (`force`: whatever the interval), each with a continuation ref of the source's last record. */
      const pendingMarkers = (force: boolean): OutputMessage[] => {
        const out: OutputMessage[] = [];
        for (const p of progress.values()) if (p.max > p.marked && (force || scheduler.now() - p.markedAt >= intervalMs)) out.push(...markersOf(p, continuationRef(p.ref)));
        return out;
      };
      const timer =
        partitions === undefined
          ? undefined
          : scheduler.schedule(function (this: SchedulerAction<undefined>) {
              const out = pendingMarkers(false);
              if (out.length > 0) sub.next(out);
              this.schedule(undefined, intervalMs);
            }, intervalMs);
      const inner = source.subscribe({
        next: (r) => {
          let record: PostMentions;
          try {
            if (r.value === null) throw new DecodeError('cannot decode mention record: the record has no value (null payload, e.g. a tombstone)');
            record = decodeStrict<PostMentions>(mentions, r.value);
          } catch (err) {
            const error = err instanceof MentionflowError ? err : new DecodeError(`cannot decode mention record: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
            sub.next([deadLetterMessage({ kind: 'failed', ref: r.ref, payload: r.value, key: r.key, stage: 'decode', error }, now())]);
            return;
          }
          const entities = entityMentions(record, { topic: r.ref.topic, partition: r.ref.partition, offset: Number(r.ref.offset) });
          const out: OutputMessage[] = entities.map((e) => ({ output: 'mentions' as const, key: Buffer.from(e.key, 'utf8'), value: encodeStrict(repartition, e.value), ref: continuationRef(r.ref) }));
          if (partitions !== undefined) {
            let p = progress.get(r.ref.partition);
            if (p === undefined) progress.set(r.ref.partition, (p = { max: -Infinity, marked: -Infinity, since: 0, markedAt: scheduler.now(), ref: r.ref }));
            p.ref = r.ref;
            p.since++;
            if (record.created_at > p.max) p.max = record.created_at;
            if (p.max > p.marked && (p.since >= everyRecords || scheduler.now() - p.markedAt >= intervalMs)) out.push(...markersOf(p, continuationRef(r.ref)));
          }
          out[out.length - 1] = { ...out[out.length - 1]!, ref: r.ref }; // the last message carries the record's ref (see the module comment)
          sub.next(out);
        },
        error: (err: unknown) => sub.error(err),
        complete: () => {
          if (partitions !== undefined) {
            const out = pendingMarkers(true);
            if (out.length > 0) sub.next(out);
          }
          sub.complete();
        },
      });
      return () => {
        timer?.unsubscribe();
        inner.unsubscribe();
      };
    });
}
