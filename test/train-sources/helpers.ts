/** Shared helpers of the train-sources tests: temp files, bounded collection, open-file checks. */
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { firstValueFrom, timeout, toArray, type Observable } from 'rxjs';

/** A fresh temp directory and a function that writes a file into it. */
export function tempDir(prefix: string): { dir: string; write(name: string, content: string | Uint8Array): string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), `mentionflow-${prefix}-`));
  return {
    dir,
    write(name, content) {
      const file = path.join(dir, name);
      writeFileSync(file, content);
      return file;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** All values of a stream, failing if it does not complete within `ms`. */
export function collect<T>(source: Observable<T>, ms = 10_000): Promise<T[]> {
  return firstValueFrom(source.pipe(toArray(), timeout({ first: ms })));
}

/** The error a stream ends with (fails if it completes instead, or takes longer than `ms`). */
export async function errorOf(source: Observable<unknown>, ms = 10_000): Promise<Error> {
  try {
    await collect(source, ms);
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the stream to error, but it completed');
}

/** Whether this process holds an open file descriptor on `file` (Linux /proc; undefined elsewhere). */
export function holdsOpen(file: string): boolean | undefined {
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return undefined;
  }
  return fds.some((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  });
}

/** Polls `check` every 20 ms until it returns true or `ms` pass; returns its last result. */
export async function eventually(check: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
