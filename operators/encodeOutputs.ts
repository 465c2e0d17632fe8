import { map } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import { ConfigError, MentionflowError, RecordTooLargeError } from '../common/errors.js';
import { encodeStrict, loadSchema } from '../schemas/registry.js';
import type { WireFormat } from '../schemas/registry.js';
import type { PostMentions } from '../schemas/types.generated.js';
import { deadLetterMessage } from './deadLetter.js';
import { failItem } from './items.js';
import { checkFunction, checkNumberAtLeast, checkOneOf, checkOptionsObject } from './options.js';
import type { FailedItem, Item, OkItem, OutputMessage } from './types.js';

const OP = 'encodeOutputs';

/**
 * Default largest output message, key + value bytes. A Kafka broker accepts
 * at most message.max.bytes (default 1,048,588) per record batch; this
 * leaves room for the batch and record headers. A larger record is refused
 * by the broker for good, which would end the worker on every restart.
 */
export const DEFAULT_MAX_RECORD_BYTES = 1_000_000;
/** Smallest maxRecordBytes accepted: room for a dead letter without its payload. */
export const MIN_MAX_RECORD_BYTES = 64 * 1024;

/** Options of {@link encodeOutputs}. */
export interface EncodeOutputsOptions {
  /**
   * Framing of the written values: 'raw' Avro body (default) or 'confluent'
   * (Schema Registry header, needs `schemaIds`). 'auto' is for reading only.
   */
  wire?: WireFormat;
  /** Registry schema ids for the Confluent header; required with wire 'confluent'. */
  schemaIds?: { mentions: number; deadletter: number };
  /** Wall clock in ms since the epoch for dead letters' failed_at; default Date.now. If it throws, the stream errors. */
  now?: () => number;
  /**
   * Largest output message, key + value bytes: at most what the output
   * topics accept (message.max.bytes); default DEFAULT_MAX_RECORD_BYTES,
   * at least MIN_MAX_RECORD_BYTES.
   */
  maxRecordBytes?: number;
}

/**
 * Encodes every item of a batch into exactly one output message, in order:
 * an ok item becomes a 'mentions' message (key: the post id in UTF-8, value:
 * the PostMentions record), a failed item a 'deadletter' message (see
 * deadLetterMessage). A record that fails schema validation or encoding
 * becomes a dead letter with stage 'encode' instead of a stream error, and
 * so does a mentions record larger than `maxRecordBytes` (a
 * RecordTooLargeError: a post of hundreds of thousands of characters can have
 * more mention bytes than the broker takes in one message). A dead letter
 * over that size leaves out the original payload (and, if need be, key) and
 * says where the input is (see deadLetterMessage).
 *
 * Throws a ConfigError at construction for an unknown or unsupported `wire`,
 * 'confluent' without valid `schemaIds`, or a `maxRecordBytes` below
 * MIN_MAX_RECORD_BYTES.
 */
export function encodeOutputs(opts: EncodeOutputsOptions = {}): OperatorFunction<Item<PostMentions>[], OutputMessage[]> {
  return map(outputEncoder(opts));
}

/**
 * encodeOutputs' work on one batch, without RxJS: the function encodeOutputs
 * maps every batch through (same options, same checks at construction).
 */
export function outputEncoder(opts: EncodeOutputsOptions = {}): (batch: Item<PostMentions>[]) => OutputMessage[] {
  checkOptionsObject(OP, opts, true);
  const wire = opts.wire ?? 'raw';
  checkOneOf(OP, 'wire', wire, ['raw', 'confluent', 'auto']);
  if (wire === 'auto') {
    throw new ConfigError(`${OP}: wire 'auto' is only meaningful for reading; use 'raw' or 'confluent' for output`);
  }
  let ids: { mentions?: number; deadletter?: number } = {};
  if (wire === 'confluent') {
    const given = opts.schemaIds;
    const valid = (id: unknown): boolean => typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= 0xffffffff;
    if (given === undefined || given === null || !valid(given.mentions) || !valid(given.deadletter)) {
      throw new ConfigError(
        `${OP}: wire 'confluent' needs schemaIds { mentions, deadletter } (registry ids, integers 0..2^32-1), ` +
          `got ${JSON.stringify(given)}; register schemas/mentions and schemas/deadletter and pass their ids`,
      );
    }
    ids = { mentions: given.mentions, deadletter: given.deadletter };
  }
  checkFunction(OP, 'now', opts.now, true, 'pass () => Date.now()');
  const now = opts.now ?? Date.now;
  const maxBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  checkNumberAtLeast(OP, 'maxRecordBytes', maxBytes, MIN_MAX_RECORD_BYTES, false, "at most the output topics' message.max.bytes, e.g. 1000000");
  const mentionsType = loadSchema('mentions');
  // per stream, not per record: the encoding options and the dead letters' options
  const mentionsOptions = ids.mentions === undefined ? {} : { schemaId: ids.mentions };
  const deadLetterOptions = { schemaId: ids.deadletter, maxBytes };

  const encodeOk = (item: OkItem<PostMentions>): OutputMessage | FailedItem => {
    try {
      const value = encodeStrict(mentionsType, item.value, mentionsOptions);
      const key = Buffer.from(item.value.post_id, 'utf8');
      if (value.length + key.length > maxBytes) {
        const { post_id: id, mentions } = item.value;
        throw new RecordTooLargeError(
          `PostMentions record of ${value.length + key.length} bytes is larger than the limit of ${maxBytes} bytes ` +
            `(${mentions.length} mentions of post ${JSON.stringify(id.length > 100 ? `${id.slice(0, 100)}…` : id)})`,
        );
      }
      return { output: 'mentions', key, value, ref: item.ref };
    } catch (err) {
      const error =
        err instanceof MentionflowError
          ? err
          : new MentionflowError(`cannot encode PostMentions: ${err instanceof Error ? err.message : String(err)}`, {
              cause: err,
            });
      return failItem(item, 'encode', error);
    }
  };

  return (batch) => {
    let failedAt: number | undefined;
    return batch.map((item) => {
      const encoded = item.kind === 'ok' ? encodeOk(item) : item;
      if (!('kind' in encoded)) return encoded;
      failedAt ??= now();
      return deadLetterMessage(encoded, failedAt, deadLetterOptions);
    });
  };
}
