import { map } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import { ConfigError, MentionflowError, OutputTooLargeError } from '../common/errors.js';
import { encodeStrict, loadSchema } from '../schemas/registry.js';
import type { WireFormat } from '../schemas/registry.js';
import type { PostMentions } from '../schemas/types.generated.js';
import { deadLetterMessage, recordFits } from './deadLetter.js';
import { failItem } from './items.js';
import { checkFunction, checkNumberAtLeast, checkObject, checkOneOf, checkOptionsObject } from './options.js';
import type { FailedItem, Item, OkItem, OutputMessage } from './types.js';

const OP = 'encodeOutputs';

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
   * Largest record each output topic accepts (its max.message.bytes, integers
   * >= 4096); default unlimited. A PostMentions record that would not fit
   * becomes a dead letter (stage 'encode', OutputTooLargeError); a dead
   * letter that would not fit is written without its payload.
   */
  maxBytes?: { mentions?: number; deadletter?: number };
}

/**
 * Encodes every item of a batch into exactly one output message, in order:
 * an ok item becomes a 'mentions' message (key: the post id in UTF-8, value:
 * the PostMentions record), a failed item a 'deadletter' message (see
 * deadLetterMessage). A record that fails schema validation or encoding
 * becomes a dead letter with stage 'encode' instead of a stream error.
 *
 * Throws a ConfigError at construction for an unknown or unsupported `wire`,
 * or 'confluent' without valid `schemaIds`.
 */
export function encodeOutputs(opts: EncodeOutputsOptions = {}): OperatorFunction<Item<PostMentions>[], OutputMessage[]> {
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
  const maxBytes = opts.maxBytes ?? {};
  if (opts.maxBytes !== undefined) {
    checkObject(OP, 'maxBytes', opts.maxBytes, "pass { mentions, deadletter }, each topic's max.message.bytes");
    for (const output of ['mentions', 'deadletter'] as const) {
      if (maxBytes[output] !== undefined) checkNumberAtLeast(OP, `maxBytes.${output}`, maxBytes[output], 4096, false, "a topic's max.message.bytes (Kafka's default is 1048588)");
    }
  }
  const mentionsType = loadSchema('mentions');

  const encodeOk = (item: OkItem<PostMentions>): OutputMessage | FailedItem => {
    try {
      const value = encodeStrict(mentionsType, item.value, ids.mentions === undefined ? {} : { schemaId: ids.mentions });
      const key = Buffer.from(item.value.post_id, 'utf8');
      if (!recordFits(key, value, maxBytes.mentions)) {
        const error = new OutputTooLargeError(
          `the PostMentions record of post ${JSON.stringify(item.value.post_id)} is ${value.length} bytes (${item.value.mentions.length} mentions), ` +
            `more than the mentions topic accepts (max.message.bytes ${maxBytes.mentions})`,
        );
        return failItem(item, 'encode', error);
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

  return map((batch) => {
    let failedAt: number | undefined;
    return batch.map((item) => {
      const encoded = item.kind === 'ok' ? encodeOk(item) : item;
      if (!('kind' in encoded)) return encoded;
      failedAt ??= now();
      return deadLetterMessage(encoded, failedAt, ids.deadletter, maxBytes.deadletter);
    });
  });
}
