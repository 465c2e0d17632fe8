/**
 * The output edge of the embedded mode: PostMentions records as NDJSON on one
 * stream (stdout), DeadLetter records as NDJSON on another (stderr or a
 * file). The encoded Avro outputs are decoded back for printing, so the file
 * mode runs exactly the operators the Kafka mode runs. Mention records are
 * printed in the one mention JSON shape (schemas/mentionJson.ts). In dead letters the
 * bytes fields (payload, key) are written as base64 strings.
 * A group of outputs counts as acknowledged once both streams have taken it.
 */
import type { Writable } from 'node:stream';
import type { OperatorFunction } from 'rxjs';
import type { OutputMessage } from '../../operators/types.js';
import { postMentionsJson } from '../../schemas/mentionJson.js';
import { loadSchema } from '../../schemas/registry.js';
import type { DeadLetter, PostMentions } from '../../schemas/types.generated.js';
import { writeCoalesced } from '../core/coalesce.js';
import type { OutputSink } from '../core/ports.js';

/** Options of FileSink: the streams for mention records and for dead letters. */
export interface FileSinkOptions {
  mentions: Writable;
  deadLetters: Writable;
}

/** One output as a JSON line (without the newline). */
export function outputJson(message: OutputMessage): string {
  if (message.output === 'mentions') return JSON.stringify(postMentionsJson(loadSchema('mentions').fromBuffer(message.value) as PostMentions));
  const record = loadSchema('deadletter').fromBuffer(message.value) as DeadLetter;
  return JSON.stringify({ ...record, payload: record.payload.toString('base64'), key: record.key?.toString('base64') ?? null });
}

function writeText(stream: Writable, text: string): Promise<void> {
  if (text === '') return Promise.resolve();
  return new Promise((resolve, reject) => {
    stream.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

/** An OutputSink writing mention records and dead letters as NDJSON to two streams. */
export class FileSink implements OutputSink {
  constructor(private readonly opts: FileSinkOptions) {}

  write(): OperatorFunction<OutputMessage[], OutputMessage[]> {
    return writeCoalesced<OutputMessage>({ write: (messages) => this.send(messages), maxItems: 4096 });
  }

  private async send(messages: OutputMessage[]): Promise<void> {
    let mentions = '';
    let deadLetters = '';
    for (const m of messages) {
      if (m.output === 'mentions') mentions += `${outputJson(m)}\n`;
      else deadLetters += `${outputJson(m)}\n`;
    }
    await Promise.all([writeText(this.opts.mentions, mentions), writeText(this.opts.deadLetters, deadLetters)]);
  }
}
