/**
 * The single place that loads mentionflow's Avro schemas.
 *
 * Schemas live as JSON files `schemas/<name>/v<N>.avsc` in the project tree and
 * are read at runtime (synchronously, once; parsed types are cached). The
 * compiled module sits in `dist/schemas/` while the `.avsc` files stay in
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
import { DecodeError, MentionflowError } from '../common/errors.js';
import {
  AvroScanError,
  CONFLUENT_HEADER_LENGTH,
  MIN_EXACT_LONG,
  frameConfluent,
  parseConfluentHeader,
  scanAvro,
} from './wire.js';

export {
  CONFLUENT_HEADER_LENGTH,
  MAX_EXACT_LONG,
  MIN_EXACT_LONG,
  frameConfluent,
  parseConfluentHeader,
  scanAvro,
} from './wire.js';
export type { ConfluentFrame } from './wire.js';
export type { Type } from 'avsc';

/** The schema families, one directory each under schemas/. */
export const SCHEMA_NAMES = ['post', 'mentions', 'deadletter', 'example'] as const;
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

// ---------------------------------------------------------------------------
// Strict decoding

/**
 * How payloads are framed:
 * - 'raw': the whole buffer is the Avro binary body (default).
 * - 'confluent': a Confluent Schema Registry header (0x00 + 4-byte schema id)
 *   must precede the body.
 * - 'auto': use the header when the buffer starts with 0x00 and the rest
 *   decodes; otherwise decode the whole buffer raw. Note a raw record can also
 *   start with 0x00 (e.g. a Post with an empty id), so prefer an explicit mode
 *   when the producer is known.
 */
export type WireFormat = 'raw' | 'confluent' | 'auto';

export interface WireOptions {
  /** Framing of the payload; default 'raw'. */
  wireFormat?: WireFormat;
  /**
   * When a Confluent header is present: the schema ids to accept; any other id
   * is a DecodeError. Default: accept any id.
   */
  schemaIds?: readonly number[];
}

export interface DecodeStrictOptions extends WireOptions {
  /**
   * The schema the bytes were written with, when it differs from `type` (the
   * reader schema). The value is resolved into the reader's shape using Avro
   * schema resolution.
   */
  writerType?: Type;
  /** Name used in error messages; default the reader type's name. */
  label?: string;
}

const resolverCache = new WeakMap<Type, WeakMap<Type, ReturnType<Type['createResolver']>>>();

function resolverFor(reader: Type, writer: Type): ReturnType<Type['createResolver']> {
  let byWriter = resolverCache.get(reader);
  if (byWriter === undefined) {
    byWriter = new WeakMap();
    resolverCache.set(reader, byWriter);
  }
  let resolver = byWriter.get(writer);
  if (resolver === undefined) {
    resolver = reader.createResolver(writer);
    byWriter.set(writer, resolver);
  }
  return resolver;
}

function toBuffer(data: Buffer | Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function decodeBody<T>(reader: Type, writer: Type, body: Buffer, label: string, framed: boolean): T {
  const where = framed ? ' (offsets after the 5-byte Confluent header)' : '';
  if (body.length === 0) {
    throw new DecodeError(`cannot decode ${label}: empty payload${framed ? ' after the Confluent header' : ''}`);
  }
  let end: number;
  try {
    end = scanAvro(writer, body);
  } catch (err) {
    if (err instanceof AvroScanError) {
      throw new DecodeError(`cannot decode ${label} from ${body.length} bytes${where}: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
  if (end !== body.length) {
    throw new DecodeError(
      `cannot decode ${label} from ${body.length} bytes${where}: ${body.length - end} trailing byte(s) ` +
        `after a complete record ending at byte ${end} (written with another schema?)`,
    );
  }
  try {
    const resolver = writer === reader ? undefined : resolverFor(reader, writer);
    const { value, offset } = reader.decode(body, 0, resolver);
    if (offset !== body.length) {
      throw new Error(`avsc stopped at byte ${offset} of ${body.length}`);
    }
    return value as T;
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw new DecodeError(`cannot decode ${label} from ${body.length} bytes${where}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function checkSchemaId(schemaId: number, options: WireOptions, label: string): void {
  if (options.schemaIds !== undefined && !options.schemaIds.includes(schemaId)) {
    throw new DecodeError(
      `cannot decode ${label}: Confluent schema id ${schemaId} is not one of the accepted ids ` +
        `[${options.schemaIds.join(', ')}]`,
    );
  }
}

/**
 * Decode exactly one Avro record from `data`, or throw a DecodeError saying
 * what is wrong (field path and byte offset). Unlike `type.fromBuffer`, the
 * payload is first checked to be well formed (see scanAvro: bounded array
 * counts, valid UTF-8, in-range enum/union indexes, ...) so that hostile
 * input fails fast instead of hanging, and every byte must be consumed — a
 * record written with another schema usually parses to trailing bytes or
 * fails a check. Avro is not self-describing, so a payload that is also a
 * valid encoding for `type` cannot be told apart; use Confluent framing with
 * `schemaIds` where that matters.
 */
export function decodeStrict<T = unknown>(
  type: Type,
  data: Buffer | Uint8Array,
  options: DecodeStrictOptions = {},
): T {
  return decodeWith<T>(type, options.writerType ?? type, options.label ?? type.name ?? type.typeName, data, options);
}

/** decodeStrict with the writer type and label resolved (ResolvingDecoder.decode calls it without building an options object per payload). */
function decodeWith<T>(type: Type, writer: Type, label: string, data: Buffer | Uint8Array, options: WireOptions): T {
  const buf = toBuffer(data);
  const mode = options.wireFormat ?? 'raw';
  if (mode === 'raw') return decodeBody<T>(type, writer, buf, label, false);

  const frame = parseConfluentHeader(buf);
  if (mode === 'confluent') {
    if (frame === null) {
      const head = buf.subarray(0, CONFLUENT_HEADER_LENGTH).toString('hex') || '(empty)';
      throw new DecodeError(
        `cannot decode ${label}: missing Confluent wire-format header ` +
          `(want magic byte 00 + 4-byte schema id, got ${buf.length} byte(s) starting ${head})`,
      );
    }
    checkSchemaId(frame.schemaId, options, label);
    return decodeBody<T>(type, writer, frame.body, label, true);
  }
  if (mode !== 'auto') throw new MentionflowError(`unknown wireFormat "${String(mode)}"`);
  if (frame === null) return decodeBody<T>(type, writer, buf, label, false);
  try {
    checkSchemaId(frame.schemaId, options, label);
    return decodeBody<T>(type, writer, frame.body, label, true);
  } catch (framedErr) {
    try {
      return decodeBody<T>(type, writer, buf, label, false);
    } catch {
      throw framedErr;
    }
  }
}

/** Decodes payloads written with one version of a schema into another version's shape. */
export interface ResolvingDecoder<T = unknown> {
  readonly name: SchemaName;
  readonly writerVersion: number;
  readonly readerVersion: number;
  readonly writer: Type;
  readonly reader: Type;
  /** decodeStrict with this writer/reader pair. */
  decode(data: Buffer | Uint8Array, options?: WireOptions): T;
}

const decoderCache = new Map<string, ResolvingDecoder>();

/**
 * A decoder for `name` payloads written with `writerVersion`, returning values
 * shaped like `readerVersion` (latest by default). Fields the writer lacks get
 * the reader's defaults; fields the reader lacks are skipped. Throws a
 * MentionflowError up front if the two versions are incompatible.
 */
export function resolvingDecoder<T = unknown>(
  name: SchemaName,
  writerVersion: number,
  readerVersion = latestVersion(name),
): ResolvingDecoder<T> {
  const key = `${name}@${writerVersion}->${readerVersion}`;
  let decoder = decoderCache.get(key);
  if (decoder === undefined) {
    const writer = loadSchema(name, writerVersion);
    const reader = loadSchema(name, readerVersion);
    try {
      if (writer !== reader) resolverFor(reader, writer);
    } catch (err) {
      throw new MentionflowError(
        `schema ${name} v${readerVersion} cannot read data written with v${writerVersion}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const label = `${name} v${writerVersion}${writerVersion === readerVersion ? '' : ` (read as v${readerVersion})`}`;
    decoder = {
      name,
      writerVersion,
      readerVersion,
      writer,
      reader,
      decode: (data, options = {}) => decodeWith(reader, writer, label, data, options),
    };
    decoderCache.set(key, decoder);
  }
  return decoder as ResolvingDecoder<T>;
}

// ---------------------------------------------------------------------------
// Validation and strict encoding

/** One reason a value does not match a schema. */
export interface ValidationIssue {
  /** Field path, e.g. `mentions[0].type` or `attributes["client"]`; '' for the value itself. */
  path: string;
  message: string;
}

/** A value that does not match the schema it was to be encoded with. */
export class SchemaValidationError extends MentionflowError {
  constructor(
    readonly label: string,
    readonly issues: readonly ValidationIssue[],
  ) {
    super(
      `invalid ${label}: ` +
        issues.map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`)).join('; '),
    );
  }
}

interface TypeView {
  typeName: string;
  name?: string;
  types?: TypeView[];
  fields?: Array<{ name: string; type: TypeView }>;
  itemsType?: TypeView;
  valuesType?: TypeView;
  symbols?: string[];
}

function describeType(t: TypeView): string {
  if (t.typeName.startsWith('union')) return (t.types ?? []).map(describeType).join(' | ');
  if (t.typeName === 'enum') return `${t.name ?? 'enum'} (${(t.symbols ?? []).join('|')})`;
  if (t.typeName === 'array') return `array<${describeType(t.itemsType as TypeView)}>`;
  if (t.typeName === 'map') return `map<${describeType(t.valuesType as TypeView)}>`;
  return t.name ?? t.typeName;
}

function preview(value: unknown): string {
  if (value === undefined) return 'undefined (missing)';
  if (Buffer.isBuffer(value)) return `Buffer(${value.length})`;
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Render avsc's errorHook path (field names, indexes, map keys) by walking the type. */
function formatPath(root: TypeView, parts: readonly string[]): string {
  let out = '';
  let t: TypeView | undefined = root;
  for (const part of parts) {
    // Unions add no path segment: step into the branch the next segment belongs to.
    while (t !== undefined && t.typeName.startsWith('union')) {
      t = (t.types ?? []).find((b: TypeView) =>
        b.typeName === 'record' ? (b.fields ?? []).some((f) => f.name === part) : b.typeName === 'array' || b.typeName === 'map',
      );
    }
    if (t?.typeName === 'record') {
      out += out === '' ? part : `.${part}`;
      t = t.fields?.find((f) => f.name === part)?.type;
    } else if (t?.typeName === 'array') {
      out += `[${part}]`;
      t = t.itemsType;
    } else if (t?.typeName === 'map') {
      out += `[${JSON.stringify(part)}]`;
      t = t.valuesType;
    } else {
      out += /^\d+$/.test(part) ? `[${part}]` : `.${part}`;
      t = undefined;
    }
  }
  return out;
}

/**
 * Every reason `value` does not match `type` (empty when it does). Fields that
 * are not in the schema count as errors; fields with a default may be omitted.
 * Beyond avsc's isValid, values that avsc would accept but write incorrectly
 * are errors too: strings with a lone UTF-16 surrogate (written as U+FFFD),
 * longs below -2^52 (written as a different number, see MIN_EXACT_LONG) and
 * the map key "__proto__" (dropped by avsc when decoding).
 */
export function validate(type: Type, value: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const root = type as unknown as TypeView;
  // Hot path: one check without hooks (undeclared fields included) and the
  // compiled wire-safety predicate; the passes that say what is wrong run
  // only when one of them fails.
  if (type.isValid(value, { noUndeclaredFields: true })) {
    if (!wireSafe(root)(value)) checkWireSafety(root, value, [], issues);
    return issues;
  }
  // Pass 1: wrong or missing values. avsc stops descending into a record that
  // has undeclared fields, so those are collected in a second pass.
  type.isValid(value, {
    errorHook: (parts: string[], val: unknown, t: Type) => {
      issues.push({ path: formatPath(root, parts), message: `expected ${describeType(t as never)}, got ${preview(val)}` });
    },
  });
  type.isValid(value, {
    noUndeclaredFields: true,
    errorHook: (parts: string[], val: unknown, t: Type) => {
      const view = t as unknown as TypeView;
      if (view.typeName !== 'record' || val === null || typeof val !== 'object' || Buffer.isBuffer(val)) return;
      const declared = new Set((view.fields ?? []).map((f) => f.name));
      const extra = Object.keys(val).filter((k) => !declared.has(k));
      if (extra.length > 0) {
        issues.push({
          path: formatPath(root, parts),
          message: `undeclared field(s) ${extra.join(', ')} in ${describeType(view)}`,
        });
      }
    },
  });
  if (issues.length === 0) checkWireSafety(root, value, [], issues);
  return issues;
}

/** Matches a lone surrogate (with the u flag a valid pair is one astral code point, not Cs). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Values avsc accepts but cannot round-trip faithfully: strings with a lone
 * surrogate (written as U+FFFD), longs below -2^52 (written as another number,
 * see MIN_EXACT_LONG), the map key "__proto__" (lost on decoding). Only called
 * on values that passed isValid.
 */
function checkWireSafety(type: TypeView, value: unknown, at: string[], issues: ValidationIssue[]): void {
  // `at` is one array extended and restored in place (no copy per field); it is joined only for an issue.
  const here = (): string => formatPathSegments(at);
  switch (type.typeName) {
    case 'string':
      if (typeof value === 'string' && hasLoneSurrogate(value)) {
        issues.push({ path: here(), message: 'string contains a lone UTF-16 surrogate (would be written as U+FFFD)' });
      }
      return;
    case 'long':
      if (typeof value === 'number' && value < MIN_EXACT_LONG) {
        issues.push({ path: here(), message: `long ${value} is below -2^52 and would be corrupted by avsc` });
      }
      return;
    case 'record':
      for (const field of type.fields ?? []) {
        const v = (value as Record<string, unknown>)[field.name];
        if (v === undefined) continue;
        at.push(`.${field.name}`);
        checkWireSafety(field.type, v, at, issues);
        at.pop();
      }
      return;
    case 'array': {
      const items = value as unknown[];
      for (let i = 0; i < items.length; i++) {
        at.push(`[${i}]`);
        checkWireSafety(type.itemsType as TypeView, items[i], at, issues);
        at.pop();
      }
      return;
    }
    case 'map':
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        at.push(`[${JSON.stringify(k)}]`);
        if (hasLoneSurrogate(k)) {
          issues.push({ path: formatPathSegments(at), message: 'map key contains a lone UTF-16 surrogate' });
        }
        if (k === '__proto__') {
          issues.push({ path: formatPathSegments(at), message: 'map key "__proto__" cannot be decoded by avsc' });
        }
        checkWireSafety(type.valuesType as TypeView, v, at, issues);
        at.pop();
      }
      return;
    default:
      if (type.typeName.startsWith('union')) {
        const branch = (type.types ?? []).find((b) => (b as unknown as Type).isValid(value));
        if (branch !== undefined) checkWireSafety(branch, value, at, issues);
      }
  }
}

/** Same as LONE_SURROGATE.test(s); String.prototype.isWellFormed (Node 20) where available. */
const hasLoneSurrogate: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (s) => !(s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (s) => LONE_SURROGATE.test(s);

const safeCache = new WeakMap<TypeView, (value: unknown) => boolean>();
const ALWAYS_SAFE = (): boolean => true;

/**
 * checkWireSafety as a predicate compiled once per type (no paths, no
 * allocation): true when checkWireSafety would find nothing. Only for values
 * that passed isValid; validate() runs checkWireSafety for the issues when it
 * returns false.
 */
function wireSafe(type: TypeView): (value: unknown) => boolean {
  const cached = safeCache.get(type);
  if (cached !== undefined) return cached;
  // a recursive type reaches itself while compiling: forward to the finished predicate
  const finished: { safe?: (value: unknown) => boolean } = {};
  safeCache.set(type, (value) => finished.safe!(value));
  finished.safe = compileWireSafe(type);
  safeCache.set(type, finished.safe);
  return finished.safe;
}

function compileWireSafe(type: TypeView): (value: unknown) => boolean {
  switch (type.typeName) {
    case 'string':
      return (value) => typeof value !== 'string' || !hasLoneSurrogate(value);
    case 'long':
      return (value) => typeof value !== 'number' || !(value < MIN_EXACT_LONG);
    case 'record': {
      const checks = (type.fields ?? [])
        .map((f) => ({ name: f.name, safe: wireSafe(f.type) }))
        .filter((c) => c.safe !== ALWAYS_SAFE);
      if (checks.length === 0) return ALWAYS_SAFE;
      return (value) => {
        for (const c of checks) {
          const v = (value as Record<string, unknown>)[c.name];
          if (v !== undefined && !c.safe(v)) return false;
        }
        return true;
      };
    }
    case 'array': {
      const item = wireSafe(type.itemsType as TypeView);
      if (item === ALWAYS_SAFE) return ALWAYS_SAFE;
      return (value) => (value as unknown[]).every((v) => item(v));
    }
    case 'map': {
      const safe = wireSafe(type.valuesType as TypeView);
      return (value) => {
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          if (hasLoneSurrogate(k) || k === '__proto__' || !safe(v)) return false;
        }
        return true;
      };
    }
    default: {
      if (!type.typeName.startsWith('union')) return ALWAYS_SAFE;
      const branches = (type.types ?? []).map((b) => ({ type: b as unknown as Type, safe: wireSafe(b) }));
      if (branches.every((b) => b.safe === ALWAYS_SAFE)) return ALWAYS_SAFE;
      return (value) => {
        const branch = branches.find((b) => b.type.isValid(value));
        return branch === undefined || branch.safe(value);
      };
    }
  }
}

function formatPathSegments(segments: readonly string[]): string {
  return segments.join('').replace(/^\./, '');
}

export interface EncodeStrictOptions {
  /** Prefix the Confluent wire-format header with this schema id. */
  schemaId?: number;
  /** Name used in error messages; default the type's name. */
  label?: string;
}

/**
 * Encode `value` as Avro binary after validating it with `validate` (throws
 * SchemaValidationError listing every bad field), optionally behind a
 * Confluent header. Fields with defaults may be omitted.
 */
export function encodeStrict(type: Type, value: unknown, options: EncodeStrictOptions = {}): Buffer {
  const label = options.label ?? type.name ?? type.typeName;
  const issues = validate(type, value);
  if (issues.length > 0) throw new SchemaValidationError(label, issues);
  const body = writeBody(type, value);
  return options.schemaId === undefined ? body : frameConfluent(options.schemaId, body);
}

/** Scratch space records are encoded into before being copied out (grows on demand). */
let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * type.toBuffer(value), with the result from Buffer.allocUnsafe (small ones
 * come from Node's shared pool) instead of avsc's zero-filled Buffer.alloc:
 * the same bytes, cheaper per record.
 */
function writeBody(type: Type, value: unknown): Buffer {
  let end = type.encode(value, scratch, 0);
  if (end < 0) {
    // avsc returns -(bytes missing) when the buffer is too small
    scratch = Buffer.allocUnsafe(Math.max(2 * scratch.length, scratch.length - end));
    end = type.encode(value, scratch, 0);
  }
  const out = Buffer.allocUnsafe(end);
  scratch.copy(out, 0, 0, end);
  return out;
}
