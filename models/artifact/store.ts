/**
 * A model store: a directory of versioned model artifacts and a pointer to
 * the one in service. Training writes artifacts anywhere; `add` copies one in
 * (after checking it reads), `promote` moves the pointer, and workers follow
 * the pointer to hot-swap. Plain files, so any tool (rsync, a shared volume,
 * an object-store sync) can carry a store between machines.
 *
 *   STORE/
 *     versions/NAME/          one artifact each (manifest.json, weights.bin, ...), never changed once added
 *     SERVING                 JSON ServingPointer: the version in service; replaced atomically (write, fsync, rename)
 *     history.jsonl           one ServingPointer per promotion, oldest first
 *     LOCK                    while a promotion writes: {"pid","host","since","what"} (see `withLock`)
 *
 * NAME defaults to `<modelId>@<modelVersion>` with characters outside
 * [A-Za-z0-9._@-] replaced by "_".
 */
import { randomBytes } from 'node:crypto';
import { appendFile, cp, link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, MentionflowError, ModelArtifactError } from '../../common/errors.js';
import { readArtifact } from './load.js';

/** What SERVING holds: the version in service and how it got there. */
export interface ServingPointer {
  /** Name of a directory under versions/. */
  version: string;
  /** ISO time of the promotion. */
  promotedAt: string;
  /** The version served before, if any. */
  previous?: string;
  /** Why, e.g. the comparison's verdict, or "forced". */
  reason?: string;
}

export const SERVING_FILE = 'SERVING';
export const VERSIONS_DIR = 'versions';
export const HISTORY_FILE = 'history.jsonl';
export const LOCK_FILE = 'LOCK';

const NAME_RE = /^[A-Za-z0-9._@-]+$/;

/** A version name from a model's id and version. */
export function versionName(modelId: string, modelVersion: string): string {
  return `${modelId}@${modelVersion}`.replace(/[^A-Za-z0-9._@-]/g, '_');
}

function checkName(name: string): void {
  if (!NAME_RE.test(name) || name === '.' || name === '..') {
    throw new ConfigError(`model store: version name ${JSON.stringify(name)} may hold only letters, digits and . _ @ -`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes `text` to `path` atomically: a temporary file beside it, fsynced, renamed over it. */
async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** What LOCK holds: who holds the store and since when. */
export interface StoreLock {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
  /** What the holder is doing, e.g. "promote". */
  what: string;
}

/** The store is locked by another process (exit 1: retry, or remove LOCK if its holder is gone). */
export class StoreLockedError extends MentionflowError {
  constructor(
    readonly store: string,
    readonly holder: StoreLock | undefined,
  ) {
    const who = holder === undefined ? 'another process (LOCK unreadable)' : `pid ${holder.pid}${holder.host === hostname() ? '' : ` on ${holder.host}`} since ${holder.since} (${holder.what})`;
    super(`model store ${store} is locked by ${who}; retry, or remove ${join(store, LOCK_FILE)} if that process is gone`, { retriable: true });
  }
}

/** A lock whose holder is known to be gone: a process of this host that no longer runs, or an unreadable LOCK older than a minute. */
function isStale(lock: StoreLock | undefined, mtimeMs: number): boolean {
  if (lock === undefined) return Date.now() - mtimeMs > 60_000; // a holder that died between create and write
  if (lock.host !== hostname()) return false; // another machine's process: cannot tell
  try {
    process.kill(lock.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function parseLock(text: string): StoreLock | undefined {
  try {
    const v = JSON.parse(text) as StoreLock;
    return typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.since === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

export class ModelStore {
  /** Absolute path of the store. */
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /**
   * Opens the store at `dir`. With `create`, makes it (and versions/) when
   * missing; without, a missing store is a ConfigError naming the directory.
   */
  static async open(dir: string, opts: { create?: boolean } = {}): Promise<ModelStore> {
    const store = new ModelStore(dir);
    if (opts.create === true) await mkdir(join(store.dir, VERSIONS_DIR), { recursive: true });
    else if (!(await exists(join(store.dir, VERSIONS_DIR)))) {
      throw new ConfigError(`model store ${store.dir}: not a model store (no ${VERSIONS_DIR}/); create one with \`mentionflow promote --store ${dir} --candidate MODEL_DIR\``);
    }
    return store;
  }

  /** Directory of a version's artifact. */
  versionDir(name: string): string {
    checkName(name);
    return join(this.dir, VERSIONS_DIR, name);
  }

  /** The versions in the store, sorted by name. */
  async versions(): Promise<string[]> {
    const entries = await readdir(join(this.dir, VERSIONS_DIR), { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory() && NAME_RE.test(e.name) && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  }

  /**
   * Copies the artifact at `source` into the store (after reading and
   * verifying it: a corrupt artifact raises ModelArtifactError and adds
   * nothing) and returns its version name. Adding the same name twice is an
   * error unless `source` already is that version's directory.
   */
  async add(source: string, name?: string): Promise<string> {
    const { manifest } = await readArtifact(source);
    const version = name ?? versionName(manifest.modelId, manifest.modelVersion);
    const target = this.versionDir(version);
    if (resolve(source) === target) return version;
    if (await exists(target)) throw new ConfigError(`model store ${this.dir}: version ${version} exists already; give another name`);
    const tmp = join(this.dir, VERSIONS_DIR, `.${version}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await cp(source, tmp, { recursive: true });
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    return version;
  }

  /** The pointer to the version in service, or undefined when nothing was promoted yet. */
  async serving(): Promise<ServingPointer | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.dir, SERVING_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let pointer: ServingPointer;
    try {
      pointer = JSON.parse(text) as ServingPointer;
    } catch (err) {
      throw new ModelArtifactError(join(this.dir, SERVING_FILE), `not valid JSON (${(err as Error).message})`, { cause: err });
    }
    if (typeof pointer.version !== 'string') throw new ModelArtifactError(join(this.dir, SERVING_FILE), 'has no "version"');
    checkName(pointer.version);
    return pointer;
  }

  /** Directory of the version in service, or undefined. */
  async servingDir(): Promise<string | undefined> {
    const p = await this.serving();
    return p === undefined ? undefined : this.versionDir(p.version);
  }

  /**
   * Points SERVING at `version` (which must be in the store), atomically,
   * and appends the pointer to history.jsonl. Checking the candidate
   * (loads, scores) is the caller's business (`mentionflow promote`).
   */
  async promote(version: string, reason?: string): Promise<ServingPointer> {
    const dir = this.versionDir(version);
    if (!(await exists(dir))) throw new ConfigError(`model store ${this.dir}: no version ${version} (versions: ${(await this.versions()).join(', ') || 'none'})`);
    const before = await this.serving().catch(() => undefined);
    const pointer: ServingPointer = {
      version,
      promotedAt: new Date().toISOString(),
      ...(before === undefined ? {} : { previous: before.version }),
      ...(reason === undefined ? {} : { reason }),
    };
    await writeAtomic(join(this.dir, SERVING_FILE), `${JSON.stringify(pointer)}\n`);
    await appendFile(join(this.dir, HISTORY_FILE), `${JSON.stringify(pointer)}\n`);
    return pointer;
  }

  /**
   * Runs `fn` holding the store's exclusive lock: STORE/LOCK created with
   * O_EXCL, holding this process's pid, host and the time. Another holder
   * makes it wait up to `waitMs` (polling), then a StoreLockedError naming
   * the holder. A stale lock (its pid no longer runs on this host) is taken
   * over: moved aside under a unique name, checked to be the very lock
   * judged stale (else put back), removed. The lock is removed after `fn`,
   * only while it is still this holder's.
   */
  async withLock<T>(what: string, fn: () => Promise<T>, opts: { waitMs?: number; pollMs?: number } = {}): Promise<T> {
    const { waitMs = 0, pollMs = 100 } = opts;
    const path = join(this.dir, LOCK_FILE);
    const mine: StoreLock = { pid: process.pid, host: hostname(), since: new Date().toISOString(), what };
    const text = `${JSON.stringify(mine)}\n`;
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        const fh = await open(path, 'wx');
        try {
          await fh.writeFile(text);
          await fh.sync();
        } finally {
          await fh.close();
        }
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const [held, st] = await Promise.all([readFile(path, 'utf8').catch(() => undefined), stat(path).catch(() => undefined)]);
      if (held === undefined || st === undefined) continue; // released meanwhile: try again
      const holder = parseLock(held);
      if (isStale(holder, st.mtimeMs)) {
        await this.breakStale(path, held);
        continue;
      }
      if (Date.now() >= deadline) throw new StoreLockedError(this.dir, holder);
      await new Promise((r) => setTimeout(r, pollMs));
    }
    try {
      return await fn();
    } finally {
      // remove it only while it is ours (someone may have judged it stale and taken it)
      if ((await readFile(path, 'utf8').catch(() => undefined)) === text) await unlink(path).catch(() => undefined);
    }
  }

  /** Removes the lock at `path` if it still holds `stale`; one that changed meanwhile is put back. */
  private async breakStale(path: string, stale: string): Promise<void> {
    const aside = `${path}.${randomBytes(4).toString('hex')}.stale`;
    try {
      await rename(path, aside);
    } catch {
      return; // gone meanwhile
    }
    const moved = await readFile(aside, 'utf8').catch(() => undefined);
    if (moved !== stale) await link(aside, path).catch(() => undefined); // a live lock: back, unless a new one is there already
    await unlink(aside).catch(() => undefined);
  }
}
