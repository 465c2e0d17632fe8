/**
 * The outputs of mentionStream as records, for programs that consume them
 * in-process instead of writing them to Kafka or files.
 */
import { concatMap } from 'rxjs';
import { ConfigError } from '../common/errors.js';
import type { OutputMessage } from '../operators/types.js';
import type { OutputSink } from '../pipeline/core/ports.js';
import { loadSchema } from '../schemas/registry.js';
import type { DeadLetter, PostMentions } from '../schemas/types.generated.js';

/** What {@link callbackSink} calls for each output; a handler may return a promise, which is awaited. */
export interface OutputHandlers {
  /** One PostMentions record per tagged post (schemas/mentions). */
  mentions?: (record: PostMentions, message: OutputMessage) => void | Promise<void>;
  /** One DeadLetter record per post that failed a stage (schemas/deadletter). */
  deadLetters?: (record: DeadLetter, message: OutputMessage) => void | Promise<void>;
}

/** Decodes an output message (Avro) back into its record: PostMentions or DeadLetter, by `message.output`. */
export function decodeOutput(message: OutputMessage): PostMentions | DeadLetter {
  return loadSchema(message.output === 'mentions' ? 'mentions' : 'deadletter').fromBuffer(message.value) as PostMentions | DeadLetter;
}

/**
 * An OutputSink that hands every output, decoded, to a handler, in order,
 * and acknowledges a group once its handlers have returned (or their
 * promises resolved). A handler that throws or rejects ends the stream with
 * that error.
 */
export function callbackSink(handlers: OutputHandlers): OutputSink {
  if (typeof handlers !== 'object' || handlers === null) throw new ConfigError('callbackSink: pass { mentions?: (record) => ..., deadLetters?: (record) => ... }');
  for (const name of ['mentions', 'deadLetters'] as const) {
    if (handlers[name] !== undefined && typeof handlers[name] !== 'function') throw new ConfigError(`callbackSink: ${name} must be a function (record, message) => void`);
  }
  return {
    write: () =>
      concatMap(async (messages: OutputMessage[]) => {
        for (const m of messages) {
          if (m.output === 'mentions') await handlers.mentions?.(decodeOutput(m) as PostMentions, m);
          else await handlers.deadLetters?.(decodeOutput(m) as DeadLetter, m);
        }
        return messages;
      }),
  };
}
