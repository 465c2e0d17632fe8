/**
 * Dead-letter records (schemas/deadletter, DeadLetter) for failed items.
 * Shared machinery of encodeOutputs; exported for the pipeline's own
 * failures (e.g. stage 'produce'), not an operator.
 */
import { encodeStrict, loadSchema } from '../schemas/registry.js';
import type { DeadLetter } from '../schemas/types.generated.js';
import type { FailedItem, OutputMessage } from './types.js';

/** Longest error_message kept, in UTF-16 units; longer ones are cut with an ellipsis. */
export const MAX_ERROR_MESSAGE_LENGTH = 4096;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A string Avro can carry faithfully: lone surrogates become U+FFFD. */
function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD');
}

/** Single line, well-formed, at most MAX_ERROR_MESSAGE_LENGTH long. */
function oneLine(message: string): string {
  const line = wellFormed(message.replace(/\s*[\r\n]+\s*/g, ' ').trim());
  if (line.length <= MAX_ERROR_MESSAGE_LENGTH) return line;
  return `${line.slice(0, MAX_ERROR_MESSAGE_LENGTH - 1).replace(/[\uD800-\uDBFF]$/, '')}…`;
}

/**
 * The DeadLetter record of a failed item: the original payload (empty when
 * the record had none) and key, where it came from, which stage failed, the
 * error's class name and message (one line, no stack), when, and attempts 1.
 * An offset that is not a safe non-negative integer is written as -1 with a
 * note in error_message.
 */
export function deadLetterRecord(item: FailedItem, failedAt: number): DeadLetter {
  const { ref, error } = item;
  const offset = /^\d+$/.test(ref.offset) ? Number(ref.offset) : NaN;
  const offsetOk = Number.isSafeInteger(offset);
  const note = offsetOk ? '' : ` [source offset ${JSON.stringify(ref.offset)} is not representable as a long]`;
  return {
    payload: item.payload ?? Buffer.alloc(0),
    key: item.key ?? null,
    source_topic: wellFormed(ref.topic),
    source_partition: ref.partition,
    source_offset: offsetOk ? offset : -1,
    stage: item.stage,
    error_class: wellFormed(error.name || error.constructor.name || 'Error'),
    error_message: oneLine(`${error.message}${note}`),
    failed_at: failedAt,
    attempts: 1,
  };
}

/**
 * Bytes a record takes in a Kafka record batch besides its key and value
 * (batch header, record header and length varints), rounded up: what a
 * topic's max.message.bytes has to hold beyond them.
 */
export const RECORD_OVERHEAD_BYTES = 128;

/** Whether a record with this key and value fits a topic's max.message.bytes. */
export function recordFits(key: Buffer | null, value: Buffer, maxBytes: number | undefined): boolean {
  return maxBytes === undefined || (key?.length ?? 0) + value.length + RECORD_OVERHEAD_BYTES <= maxBytes;
}

/**
 * The dead-letter output message of a failed item: the encoded DeadLetter
 * record (Confluent-framed when `schemaId` is given), keyed by the original
 * record key so a replay lands on the same partition. When the record would
 * not fit the dead-letter topic (`maxBytes`, its max.message.bytes), the
 * payload is left out and error_message says so: source topic, partition and
 * offset still lead to the original. Throws only if the ref itself is
 * invalid (e.g. a non-integer partition).
 */
export function deadLetterMessage(item: FailedItem, failedAt: number, schemaId?: number, maxBytes?: number): OutputMessage {
  const type = loadSchema('deadletter');
  const framing = schemaId === undefined ? {} : { schemaId };
  const key = item.key ?? null;
  const record = deadLetterRecord(item, failedAt);
  let value = encodeStrict(type, record, framing);
  if (!recordFits(key, value, maxBytes)) {
    const note = ` [payload of ${record.payload.length} bytes omitted: the dead letter would exceed the dead-letter topic's max.message.bytes (${maxBytes}); the original is at ${record.source_topic} partition ${record.source_partition} offset ${record.source_offset}]`;
    value = encodeStrict(type, { ...record, payload: Buffer.alloc(0), error_message: `${record.error_message.slice(0, MAX_ERROR_MESSAGE_LENGTH - note.length)}${note}` }, framing);
  }
  return { output: 'deadletter', key, value, ref: item.ref };
}
