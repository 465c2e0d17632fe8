/**
 * Shared machinery of the text-corpus sources: a file's lines as an
 * Observable, read chunk by chunk (never the whole file), and the helper that
 * routes a malformed item to `onInvalid` or to the stream's error.
 */
import { createReadStream } from 'node:fs';
import { Observable } from 'rxjs';
import { ConfigError, CorpusFormatError, DecodeError } from '../../../common/errors.js';
import type { InvalidInputError, SourceOptions } from './example.js';

export interface FileLine {
  /** The line's bytes without the '\n' (a '\r' before it is kept). A view into the read chunk. */
  bytes: Buffer;
  /** 1-based line number. */
  number: number;
}

/**
 * The lines of `path`, split on '\n' byte by byte (so any encoding that keeps
 * '\n' a single byte works, CESU-8 included). A last line without '\n' is
 * emitted when it is not empty. Unsubscribing stops reading and closes the
 * file. A file that cannot be opened or read errors with a ConfigError.
 */
export function fileLines(path: string, chunkBytes = 64 * 1024): Observable<FileLine> {
  return new Observable<FileLine>((subscriber) => {
    const stream = createReadStream(path, { highWaterMark: chunkBytes });
    const read = async (): Promise<void> => {
      let number = 0;
      let pieces: Buffer[] = [];
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        let start = 0;
        let nl: number;
        while ((nl = chunk.indexOf(0x0a, start)) >= 0) {
          if (subscriber.closed) return;
          const piece = chunk.subarray(start, nl);
          const bytes = pieces.length === 0 ? piece : Buffer.concat([...pieces, piece]);
          pieces = [];
          subscriber.next({ bytes, number: ++number });
          start = nl + 1;
        }
        if (start < chunk.length) pieces.push(chunk.subarray(start));
        if (subscriber.closed) return;
      }
      const rest = Buffer.concat(pieces);
      if (rest.length > 0 && !subscriber.closed) subscriber.next({ bytes: rest, number: ++number });
      subscriber.complete();
    };
    read().catch((err: unknown) => {
      subscriber.error(new ConfigError(`cannot read ${path}: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
    });
    return () => {
      stream.destroy();
    };
  });
}

/**
 * Runs `parse`; a CorpusFormatError or DecodeError it throws goes to
 * `options.onInvalid` (and `undefined` is returned, the item skipped) or,
 * without a callback, is rethrown. Other errors are always rethrown.
 */
export function parseOrSkip<T>(options: SourceOptions, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (err) {
    if (options.onInvalid === undefined || !(err instanceof CorpusFormatError || err instanceof DecodeError)) throw err;
    options.onInvalid(err as InvalidInputError);
    return undefined;
  }
}

/** The detail of a CorpusFormatError (its message without the "file:line: " prefix). */
export function detailOf(err: CorpusFormatError): string {
  const prefix = `${err.file}:${err.line}: `;
  return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
}

/** The base name of a path (for default `source` names and ids). */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}
