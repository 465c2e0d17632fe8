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

/** Single line, well-formed, at most `max` UTF-16 units long. */
function oneLine(message: string, max = MAX_ERROR_MESSAGE_LENGTH): string {
  const line = wellFormed(message.replace(/\s*[\r\n]+\s*/g, ' ').trim());
  if (line.length <= max) return line;
  return `${line.slice(0, max - 1).replace(/[\uD800-\uDBFF]$/, '')}…`;
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

/** Options of {@link deadLetterMessage}. */
export interface DeadLetterMessageOptions {
  /** Prefix the Confluent header with this registry schema id. */
  schemaId?: number;
  /**
   * Largest message, key + value bytes (default unlimited). A dead letter
   * over it leaves out the original payload, then (if still over) the
   * original key, and says so in error_message with the input's position.
   */
  maxBytes?: number;
}

/**
 * The dead-letter output message of a failed item: the encoded DeadLetter
 * record (Confluent-framed when `schemaId` is given), keyed by the original
 * record key so a replay lands on the same partition. Within `maxBytes`
 * when the topic name and key allow (see DeadLetterMessageOptions). Throws
 * only if the ref itself is invalid (e.g. a non-integer partition).
 */
export function deadLetterMessage(item: FailedItem, failedAt: number, opts: DeadLetterMessageOptions = {}): OutputMessage {
  const { schemaId, maxBytes = Infinity } = opts;
  const encode = (r: DeadLetter): Buffer => encodeStrict(loadSchema('deadletter'), r, schemaId === undefined ? {} : { schemaId });
  const record = deadLetterRecord(item, failedAt);
  let key = item.key ?? null;
  let value = encode(record);
  const size = (): number => value.length + (key?.length ?? 0);
  if (size() <= maxBytes) return { output: 'deadletter', key, value, ref: item.ref };

  // Too large for the output: keep what says where the input is and why it failed.
  const full = size();
  const { topic, partition, offset } = item.ref;
  const at = `read it from ${topic}/${partition}@${offset}`;
  const slim = (left: string): DeadLetter => {
    const note = ` [${left} left out: the dead letter would be ${full} bytes, over the output limit of ${maxBytes}; ${at}]`;
    const message = `${oneLine(record.error_message, Math.max(1, MAX_ERROR_MESSAGE_LENGTH - note.length))}${note}`;
    return { ...record, payload: Buffer.alloc(0), error_message: oneLine(message) };
  };
  value = encode(slim(`payload of ${record.payload.length} bytes`));
  if (size() > maxBytes && key !== null) {
    const keyBytes = key.length;
    key = null;
    value = encode({ ...slim(`payload of ${record.payload.length} bytes and key of ${keyBytes} bytes`), key: null });
  }
  return { output: 'deadletter', key, value, ref: item.ref };
}
