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
 *
 * NAME defaults to `<modelId>@<modelVersion>` with characters outside
 * [A-Za-z0-9._@-] replaced by "_".
 */
import { randomBytes } from 'node:crypto';
import { appendFile, cp, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError, ModelArtifactError } from '../../common/errors.js';
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
}
