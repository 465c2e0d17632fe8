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
 */
import { map, type OperatorFunction } from 'rxjs';
import { DecodeError, MentionflowError } from '../common/errors.js';
import { decodeStrict, encodeStrict, loadSchema } from '../schemas/registry.js';
import type { PostMentions } from '../schemas/types.generated.js';
import { deadLetterMessage } from './deadLetter.js';
import { entityMentions } from './trends/rekey.js';
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
}

/** Mention records in, per record its repartition messages (output 'mentions') or one dead letter (output 'deadletter'). */
export function rekeyMentions(opts: RekeyMentionsOptions = {}): OperatorFunction<RawRecord, OutputMessage[]> {
  const now = opts.now ?? Date.now;
  const mentions = loadSchema('mentions');
  const repartition = loadSchema('repartition');
  return map((r: RawRecord): OutputMessage[] => {
    let record: PostMentions;
    try {
      if (r.value === null) throw new DecodeError('cannot decode mention record: the record has no value (null payload, e.g. a tombstone)');
      record = decodeStrict<PostMentions>(mentions, r.value);
    } catch (err) {
      const error = err instanceof MentionflowError ? err : new DecodeError(`cannot decode mention record: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      return [deadLetterMessage({ kind: 'failed', ref: r.ref, payload: r.value, key: r.key, stage: 'decode', error }, now())];
    }
    const entities = entityMentions(record, { topic: r.ref.topic, partition: r.ref.partition, offset: Number(r.ref.offset) });
    return entities.map((e, i) => ({
      output: 'mentions' as const,
      key: Buffer.from(e.key, 'utf8'),
      value: encodeStrict(repartition, e.value),
      ref: i === entities.length - 1 ? r.ref : continuationRef(r.ref),
    }));
  });
}
