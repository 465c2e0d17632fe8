/**
 * The items that flow through the streaming stages. Data flows one way:
 *
 *   Kafka -> decode -> batch -> tag -> to mentions -> encode -> Kafka
 *                 \________ failures (dead letters) ________/
 *
 * Every item carries a `ref` to the input record it came from, so the
 * pipeline can commit an input offset only after the output it caused has
 * been acknowledged. A stage never throws for one bad record: it turns the
 * item into a FailedItem (which later stages pass through untouched) and the
 * failure ends up on the dead-letter topic. Operators know nothing of Kafka.
 */
import type { MentionflowError } from '../common/errors.js';
import type { Mention, ModelVersionRef } from '../models/tagger.js';
import type { Post } from '../schemas/types.generated.js';

/** Topic prefix of the refs of records read from a file in the embedded mode (not from Kafka). */
export const FILE_TOPIC_PREFIX = 'file:';

/** Where an item came from (a Kafka record, or a line of a file in the embedded mode). */
export interface RecordRef {
  topic: string;
  partition: number;
  /** Kafka offset as a decimal string (int64). */
  offset: string;
  /** When the record entered the pipeline (ms since epoch), for end-to-end latency. */
  receivedAt: number;
  /**
   * The source's epoch of the record's partition when it was read (the Kafka
   * source starts a new one each time it loses the partition): outputs of an
   * older epoch belong to an earlier assignment. Absent for file input.
   */
  epoch?: number;
  /**
   * True on the last record a source handed over before it ran out of input
   * for now (the Kafka source: the last record of a fetched batch that reached
   * its partition's high watermark). A batcher given the tagger's slots emits
   * the batch this record ends once no other record followed for a few ms
   * and a slot is free, instead of waiting for records that are not there
   * (see batchItems). Absent or false otherwise.
   */
  caughtUp?: boolean;
}

/** An input record as read from the source, before decoding. */
export interface RawRecord {
  ref: RecordRef;
  key: Buffer | null;
  value: Buffer | null;
  /**
   * Set by a source that already knows the value is not a Post and why
   * (e.g. a file line that is not JSON, or JSON that is not a valid Post):
   * decodePosts dead-letters the record with this as the reason.
   */
  problem?: string;
}

/** A stage succeeded for this record so far. */
export interface OkItem<T> {
  kind: 'ok';
  ref: RecordRef;
  /** The original payload, kept for the dead-letter record if a later stage fails. */
  payload: Buffer | null;
  /**
   * The original record key, kept for the dead-letter record (replaying it
   * keeps partitioning intact). Optional: absent means no key.
   */
  key?: Buffer | null;
  value: T;
}

/** Names of the stages that can fail a record (the dead-letter record's `stage`). */
export type StageName = 'decode' | 'tag' | 'encode';

/** A stage failed for this record; it flows on to the dead-letter output. */
export interface FailedItem {
  kind: 'failed';
  ref: RecordRef;
  payload: Buffer | null;
  /** The original record key, when known (see OkItem.key). */
  key?: Buffer | null;
  stage: StageName;
  error: MentionflowError;
}

/** What flows between the stages: a record that has passed every stage so far (OkItem) or one that failed (FailedItem). */
export type Item<T> = OkItem<T> | FailedItem;

/** An encoded message for one of the two outputs. */
export interface OutputMessage {
  /** 'mentions' for results, 'deadletter' for failures. */
  output: 'mentions' | 'deadletter';
  key: Buffer | null;
  value: Buffer;
  ref: RecordRef;
  /** The output partition; absent (the usual case): chosen from the key by the producer's partitioner. */
  partition?: number;
}

/** A post after tagging: what tagBatch emits and toMentions consumes. */
export interface TaggedPost {
  post: Post;
  /** Mentions as the tagger returned them (code-point and UTF-16 offsets). */
  mentions: Mention[];
  /**
   * Wall time of the tagger call that produced `mentions`, in milliseconds:
   * the whole batch call, or the single-post retry after a failed batch call.
   */
  tagMs: number;
  /**
   * The model that tagged the post, when the tagger can change models
   * (Tagger.lease: every post of a batch has the same one); toMentions writes
   * it to the record instead of its configured model.
   */
  model?: ModelVersionRef;
}
