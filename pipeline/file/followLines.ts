/**
 * The lines of a text file, of standard input (`-`), or (`follow`) of a file
 * that is still being written, as `tail -f` reads it: at the end it waits
 * `pollMs` and reads what was appended; a file that shrank (truncated,
 * rewritten) is read again from the start. A last line without its newline
 * is held back while following (it may be half written) and given at the
 * end otherwise. Stops when `signal` aborts. Used by `mentionflow dashboard`
 * for NDJSON inputs.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FollowLinesOptions {
  /** Keep reading what is appended to the file (not for `-`); default false. */
  follow?: boolean;
  /** Milliseconds between looks at a followed file; default 200. */
  pollMs?: number;
  signal?: AbortSignal;
}

/** A line and its 1-based number (counted again from 1 after a truncation). */
export interface Line {
  line: string;
  number: number;
}

export async function* followLines(source: string, opts: FollowLinesOptions = {}): AsyncGenerator<Line> {
  const { follow = false, pollMs = 200, signal } = opts;
  if (!(pollMs > 0)) throw new RangeError(`pollMs must be > 0, got ${pollMs}`);
  if (!follow || source === '-') {
    const input = source === '-' ? process.stdin : createReadStream(source);
    // an abort ends the lines at once, also while stdin has nothing to read
    const lines = createInterface({ input, crlfDelay: Infinity });
    const onAbort = () => {
      lines.close();
      input.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let number = 0;
    try {
      for await (const line of lines) {
        if (signal?.aborted) return;
        yield { line, number: ++number };
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return;
  }
  const fd = await open(source, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    let decoder = new StringDecoder('utf8');
    let pos = 0;
    let partial = '';
    let number = 0;
    while (!signal?.aborted) {
      const { bytesRead } = await fd.read(buf, 0, buf.length, pos);
      if (bytesRead > 0) {
        pos += bytesRead;
        const parts = (partial + decoder.write(buf.subarray(0, bytesRead))).split('\n');
        partial = parts.pop() ?? '';
        for (const p of parts) yield { line: p.endsWith('\r') ? p.slice(0, -1) : p, number: ++number };
        continue;
      }
      if ((await stat(source)).size < pos) {
        pos = 0;
        partial = '';
        number = 0;
        decoder = new StringDecoder('utf8');
        continue;
      }
      try {
        await sleep(pollMs, undefined, { signal });
      } catch {
        return; // aborted
      }
    }
  } finally {
    await fd.close();
  }
}
