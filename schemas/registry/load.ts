/**
 * Loading: the single place that reads mentionflow's Avro schemas from disk.
 *
 * Schemas live as JSON files `schemas/<name>/v<N>.avsc` in the project tree and
 * are read at runtime (synchronously, once; parsed types are cached). The
 * compiled module sits under `dist/schemas/` while the `.avsc` files stay in
 * `schemas/`, so the directory is found by walking up from this module to the
 * project root (the first directory with a package.json).
 *
 * Decoded value mapping (matches schemas/types.generated.ts):
 * - `timestamp-millis` is NOT mapped to a Date: no logical type is registered
 *   with avsc, so it decodes as its underlying `long`, a JS number of epoch
 *   milliseconds (UTC). Numbers survive JSON/NDJSON unchanged and compare with
 *   `===`; wrap with `new Date(ms)` where a Date is wanted.
 * - `long` is a JS number; values outside ±(2^53 - 1) are rejected.
 * - unions are unwrapped (`wrapUnions: 'never'`): `["null","string"]` decodes
 *   to `string | null`, never to `{string: "..."}`.
 * - `bytes` is a Buffer; records decode to instances of avsc-generated classes
 *   whose own enumerable properties are exactly the schema fields.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import type { Type } from 'avsc';
import { MentionflowError } from '../../common/errors.js';

/** The schema families, one directory each under schemas/. */
export const SCHEMA_NAMES = ['post', 'mentions', 'deadletter', 'example', 'trends', 'repartition'] as const;
/** The names of the Avro schemas under schemas/. */
export type SchemaName = (typeof SCHEMA_NAMES)[number];

/** Avro schema JSON as stored in an .avsc file (top level is always a record). */
export interface RecordSchemaJson {
  type: 'record';
  name: string;
  namespace?: string;
  doc?: string;
  fields: Array<{ name: string; type: unknown; doc?: string; default?: unknown }>;
  [attr: string]: unknown;
}

const VERSION_FILE = /^v([1-9][0-9]*)\.avsc$/;

let schemasDirCache: string | undefined;

/**
 * Absolute path of the directory holding `<name>/v<N>.avsc`. Found by walking
 * up from this module: a directory that itself contains `post/v1.avsc` (source
 * layout, or schemas copied next to the compiled module), else its
 * `schemas/` subdirectory; the walk stops at the project root (package.json).
 */
export function schemasDir(): string {
  if (schemasDirCache !== undefined) return schemasDirCache;
  const start = path.dirname(fileURLToPath(import.meta.url));
  let dir = start;
  while (true) {
    for (const candidate of [dir, path.join(dir, 'schemas')]) {
      if (existsSync(path.join(candidate, 'post', 'v1.avsc'))) {
        schemasDirCache = candidate;
        return candidate;
      }
    }
    const parent = path.dirname(dir);
    if (existsSync(path.join(dir, 'package.json')) || parent === dir) {
      throw new MentionflowError(
        `cannot find the Avro schema directory (schemas/post/v1.avsc) above ${start}; ` +
          'run from a mentionflow checkout or install that ships schemas/',
      );
    }
    dir = parent;
  }
}

function assertName(name: string): asserts name is SchemaName {
  if (!(SCHEMA_NAMES as readonly string[]).includes(name)) {
    throw new MentionflowError(`unknown schema "${name}"; known schemas: ${SCHEMA_NAMES.join(', ')}`);
  }
}

const versionsCache = new Map<SchemaName, number[]>();

/** All versions of a schema present on disk, ascending (e.g. [1, 2]). */
export function listVersions(name: SchemaName): number[] {
  assertName(name);
  let versions = versionsCache.get(name);
  if (versions === undefined) {
    const dir = path.join(schemasDir(), name);
    versions = readdirSync(dir)
      .map((file) => VERSION_FILE.exec(file))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    if (versions.length === 0) throw new MentionflowError(`no v<N>.avsc files in ${dir}`);
    versionsCache.set(name, versions);
  }
  return [...versions];
}

/** Highest schema version on disk; what producers write and readers read into by default. */
export function latestVersion(name: SchemaName): number {
  const versions = listVersions(name);
  return versions[versions.length - 1];
}

function checkVersion(name: SchemaName, version: number): void {
  if (!listVersions(name).includes(version)) {
    throw new MentionflowError(
      `schema ${name} has no version ${version}; available: ${listVersions(name).join(', ')}`,
    );
  }
}

/** Path of `<name>/v<version>.avsc` (latest version by default). */
export function schemaPath(name: SchemaName, version = latestVersion(name)): string {
  checkVersion(name, version);
  return path.join(schemasDir(), name, `v${version}.avsc`);
}

const jsonCache = new Map<string, RecordSchemaJson>();

/** The parsed .avsc JSON of a schema version (latest by default). Do not mutate the result. */
export function loadSchemaJson(name: SchemaName, version = latestVersion(name)): RecordSchemaJson {
  const file = schemaPath(name, version);
  let json = jsonCache.get(file);
  if (json === undefined) {
    try {
      json = JSON.parse(readFileSync(file, 'utf8')) as RecordSchemaJson;
    } catch (err) {
      throw new MentionflowError(`cannot read schema ${file}: ${(err as Error).message}`, { cause: err });
    }
    if (json === null || typeof json !== 'object' || json.type !== 'record') {
      throw new MentionflowError(`schema ${file}: top level must be a record`);
    }
    jsonCache.set(file, json);
  }
  return json;
}

const typeCache = new Map<string, Type>();

/**
 * The avsc Type for a schema version (latest by default), parsed once and
 * cached. See the module comment for how values are represented.
 */
export function loadSchema(name: SchemaName, version = latestVersion(name)): Type {
  const key = `${name}@${version}`;
  let type = typeCache.get(key);
  if (type === undefined) {
    const json = loadSchemaJson(name, version);
    try {
      type = avro.Type.forSchema(json as never, { wrapUnions: 'never' });
    } catch (err) {
      throw new MentionflowError(`invalid Avro schema ${schemaPath(name, version)}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    typeCache.set(key, type);
  }
  return type;
}
