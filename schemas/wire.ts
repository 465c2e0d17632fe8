/**
 * Low-level wire helpers for Avro payloads read from Kafka:
 *
 * - `scanAvro`: a bounded, allocation-free pass over Avro binary data that
 *   checks it is well formed for a (writer) schema before avsc decodes it.
 *   avsc trusts its input: a 4-byte payload that claims a 50-million-item array
 *   makes `Type.decode` spin for seconds and allocate gigabytes; invalid UTF-8
 *   is silently replaced by U+FFFD; an `int` may carry a 64-bit value. The
 *   scanner rejects all of that up front, with the field path and byte offset
 *   of the first problem, in time linear in the payload size.
 * - Confluent Schema Registry wire format: magic byte 0x00 + 4-byte big-endian
 *   schema id, followed by the Avro binary body.
 */
import { isUtf8 } from 'node:buffer';
import type { Type } from 'avsc';

/** A payload that is not valid Avro binary data for the schema it was scanned with. */
export class AvroScanError extends Error {
  constructor(
    readonly detail: string,
    /** Field path of the value being read, e.g. `mentions[2].type`; '' for the top level. */
    readonly path: string,
    /** Byte offset at which the problem was found. */
    readonly offset: number,
  ) {
    super(`${detail} at ${path === '' ? 'top level' : path} (byte ${offset})`);
    this.name = 'AvroScanError';
  }
}

/**
 * The `long` values avsc 5.7 encodes and decodes exactly. It works on doubles:
 * the zig-zag form of a negative long below -2^52 is an odd number above 2^53,
 * which a double cannot hold, so such values are silently corrupted (e.g.
 * -2^52-1 is written as 2^52; https://github.com/mtth/avsc/issues/455), and
 * it refuses anything beyond ±(2^53-2) outright.
 */
export const MIN_EXACT_LONG = -(2 ** 52);
export const MAX_EXACT_LONG = 2 ** 53 - 2;

/**
 * avsc decodes maps into plain objects with `obj[key] = value`, so a
 * "__proto__" key sets the object's prototype instead of adding an entry.
 */
const PROTO_KEY = Buffer.from('__proto__');

/** Upper bound on items in one array/map whose items can be encoded in zero bytes. */
const MAX_ZERO_SIZE_ITEMS = 1_000_000;

/** The structural view of avsc's (partially typed) Type objects that the scanner needs. */
interface AvscTypeView {
  readonly typeName: string;
  readonly fields?: ReadonlyArray<{ readonly name: string; readonly type: AvscTypeView }>;
  readonly itemsType?: AvscTypeView;
  readonly valuesType?: AvscTypeView;
  readonly types?: ReadonlyArray<AvscTypeView>;
  readonly symbols?: readonly string[];
  readonly size?: number;
  readonly underlyingType?: AvscTypeView;
}

class Cursor {
  pos: number;
  /**
   * Path segments of the value being read; only joined when reporting an
   * error, and only kept when `tracking` (see scanAvro: the first pass runs
   * without them, a failure is scanned again with them for its message).
   */
  readonly path: string[] = [];

  constructor(
    readonly buf: Buffer,
    pos: number,
    readonly tracking: boolean,
    /** Whether content is checked too (UTF-8 of strings and map keys, no "__proto__" key), not only framing. */
    readonly content = true,
  ) {
    this.pos = pos;
  }

  fail(detail: string, offset = this.pos): never {
    throw new AvroScanError(detail, this.path.join(''), offset);
  }

  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      this.fail(`truncated: ${what} needs ${n} byte(s), ${this.buf.length - this.pos} left`);
    }
  }

  /**
   * A zig-zag varint (Avro int/long), exact up to the full 64-bit range.
   * `what` + `suffix` names it in errors (joined only then: this is the hot path).
   */
  varlong(what: string, maxBytes: number, suffix = ''): number {
    const start = this.pos;
    const buf = this.buf;
    let n = 0;
    let mult = 1;
    for (let i = 0; ; i++) {
      if (i >= maxBytes) this.fail(`${what}${suffix}: varint longer than ${maxBytes} bytes`, start);
      if (this.pos >= buf.length) this.fail(`truncated: ${what}${suffix} varint runs past the end`, start);
      const b = buf[this.pos++];
      if (i === 6 && b & 0x80) {
        // More than 49 bits: redo exactly with BigInt (rare: huge longs or garbage).
        return this.bigVarlong(start, `${what}${suffix}`, maxBytes);
      }
      n += (b & 0x7f) * mult;
      mult *= 128;
      if ((b & 0x80) === 0) break;
    }
    // At most 7 bytes, so n < 2^49: the arithmetic above was exact and the value is in range.
    return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
  }

  private bigVarlong(start: number, what: string, maxBytes: number): number {
    this.pos = start;
    let n = 0n;
    let shift = 0n;
    for (let i = 0; ; i++) {
      if (i >= maxBytes) this.fail(`${what}: varint longer than ${maxBytes} bytes`, start);
      if (this.pos >= this.buf.length) this.fail(`truncated: ${what} varint runs past the end`, start);
      const b = this.buf[this.pos++];
      n |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) break;
    }
    const value = n & 1n ? -((n + 1n) >> 1n) : n >> 1n;
    if (value > BigInt(MAX_EXACT_LONG) || value < BigInt(MIN_EXACT_LONG)) {
      this.fail(`${what}: ${value} is outside the range avsc handles exactly (-2^52..2^53-2)`, start);
    }
    return Number(value);
  }

  int(what: string): number {
    const start = this.pos;
    const v = this.varlong(what, 5);
    if (v < -0x80000000 || v > 0x7fffffff) this.fail(`${what}: ${v} does not fit in a 32-bit int`, start);
    return v;
  }

  long(what: string): number {
    return this.varlong(what, 10);
  }

  /** A length prefix (string/bytes) followed by that many bytes; returns the start of the bytes. */
  lengthPrefixed(what: string): number {
    const start = this.pos;
    const len = this.varlong(what, 10, ' length');
    if (len < 0) this.fail(`${what}: negative length ${len}`, start);
    this.need(len, what);
    const body = this.pos;
    this.pos += len;
    return body;
  }
}

const minSizeCache = new WeakMap<AvscTypeView, number>();

/** Smallest possible encoding of a value of `type`, in bytes (0 only for null-like types). */
function minSize(type: AvscTypeView, visiting = new Set<AvscTypeView>()): number {
  const cached = minSizeCache.get(type);
  if (cached !== undefined) return cached;
  if (visiting.has(type)) return 0; // Recursive record: be conservative.
  visiting.add(type);
  let size: number;
  switch (type.typeName) {
    case 'null':
      size = 0;
      break;
    case 'float':
      size = 4;
      break;
    case 'double':
      size = 8;
      break;
    case 'fixed':
      size = type.size ?? 0;
      break;
    case 'record':
    case 'error':
      size = (type.fields ?? []).reduce((sum, f) => sum + minSize(f.type, visiting), 0);
      break;
    default:
      if (type.typeName.startsWith('logical:') && type.underlyingType) {
        size = minSize(type.underlyingType, visiting);
      } else {
        size = 1; // boolean, int, long, string, bytes, enum, union index, array/map terminator
      }
  }
  visiting.delete(type);
  minSizeCache.set(type, size);
  return size;
}

function scanValue(type: AvscTypeView, c: Cursor): void {
  const buf = c.buf;
  switch (type.typeName) {
    case 'null':
      return;
    case 'boolean': {
      c.need(1, 'boolean');
      const b = buf[c.pos];
      if (b !== 0 && b !== 1) c.fail(`boolean: byte 0x${b.toString(16)} is neither 0 nor 1`);
      c.pos++;
      return;
    }
    case 'int':
      c.int('int');
      return;
    case 'long':
    case 'abstract:long':
      c.long('long');
      return;
    case 'float':
      c.need(4, 'float');
      c.pos += 4;
      return;
    case 'double':
      c.need(8, 'double');
      c.pos += 8;
      return;
    case 'bytes':
      c.lengthPrefixed('bytes');
      return;
    case 'string': {
      const body = c.lengthPrefixed('string');
      if (c.content && !isAscii(buf, body, c.pos) && !isUtf8(buf.subarray(body, c.pos))) c.fail('string: invalid UTF-8', body);
      return;
    }
    case 'fixed': {
      const size = type.size ?? 0;
      c.need(size, `fixed(${size})`);
      c.pos += size;
      return;
    }
    case 'enum': {
      const start = c.pos;
      const index = c.int('enum index');
      const symbols = type.symbols ?? [];
      if (index < 0 || index >= symbols.length) {
        c.fail(`enum index ${index} out of range (${symbols.length} symbols)`, start);
      }
      return;
    }
    case 'union:unwrapped':
    case 'union:wrapped': {
      const start = c.pos;
      const branches = type.types ?? [];
      const index = c.int('union branch index');
      if (index < 0 || index >= branches.length) {
        c.fail(`union branch index ${index} out of range (${branches.length} branches)`, start);
      }
      scanValue(branches[index], c);
      return;
    }
    case 'record':
    case 'error':
      for (const field of type.fields ?? []) {
        if (!c.tracking) {
          scanValue(field.type, c);
          continue;
        }
        c.path.push(c.path.length === 0 ? field.name : `.${field.name}`);
        scanValue(field.type, c);
        c.path.pop();
      }
      return;
    case 'array':
    case 'map': {
      const isMap = type.typeName === 'map';
      const itemType = (isMap ? type.valuesType : type.itemsType) as AvscTypeView;
      const itemMin = isMap ? 1 + minSize(itemType) : minSize(itemType);
      let index = 0;
      while (true) {
        const blockStart = c.pos;
        let count = c.varlong(type.typeName, 10, ' block count');
        if (count === 0) return;
        // A negative count is followed by the block's size in bytes, which
        // readers may use to skip it: it must be exactly what the items take.
        let blockEnd = -1;
        let sized = 0;
        if (count < 0) {
          count = -count;
          sized = c.varlong(type.typeName, 10, ' block size');
          if (sized < 0) c.fail(`${type.typeName}: negative block size ${sized}`, blockStart);
          c.need(sized, `${type.typeName} block`);
          blockEnd = c.pos + sized;
        }
        const left = buf.length - c.pos;
        if (itemMin > 0 ? count * itemMin > left : index + count > MAX_ZERO_SIZE_ITEMS) {
          c.fail(
            `truncated or corrupt: ${type.typeName} block claims ${count} items but only ${left} bytes are left`,
            blockStart,
          );
        }
        for (let i = 0; i < count; i++, index++) {
          if (isMap) {
            const keyStart = c.lengthPrefixed('map key');
            const keyBytes = buf.subarray(keyStart, c.pos);
            if (c.content && !isUtf8(keyBytes)) c.fail('map key: invalid UTF-8', keyStart);
            if (c.content && keyBytes.equals(PROTO_KEY)) {
              c.fail('map key "__proto__" cannot be represented (avsc would silently drop it)', keyStart);
            }
            if (c.tracking) c.path.push(`[${JSON.stringify(keyBytes.toString('utf8'))}]`);
          } else if (c.tracking) {
            c.path.push(`[${index}]`);
          }
          scanValue(itemType, c);
          if (c.tracking) c.path.pop();
        }
        if (blockEnd >= 0 && c.pos !== blockEnd) {
          c.fail(
            `${type.typeName}: block size ${sized} does not match its ${count} item(s), which take ${c.pos - (blockEnd - sized)} bytes`,
            blockStart,
          );
        }
      }
    }
    default:
      if (type.typeName.startsWith('logical:') && type.underlyingType) {
        scanValue(type.underlyingType, c);
        return;
      }
      c.fail(`unsupported Avro type ${type.typeName}`);
  }
}

/**
 * Check that `buf[pos..]` starts with one well-formed Avro binary value of
 * `type` and return the offset just past it. Throws AvroScanError otherwise.
 * Checks: every read stays inside the buffer; varints are at most 5 (int) or
 * 10 (long) bytes, ints fit in 32 bits and longs in MIN_EXACT_LONG..MAX_EXACT_LONG;
 * lengths and block sizes are non-negative; a block's size (negative count)
 * is exactly the bytes of its items; booleans are 0 or 1; strings and
 * map keys are valid UTF-8; no map key is "__proto__"; enum and union indexes
 * are in range; array/map block counts fit in the bytes that are left.
 * With `content: false` only the framing is checked (UTF-8 and the
 * "__proto__" key are left to the decoder): how the container reader finds
 * record boundaries, so a record whose text is bad is that record's problem
 * (a dead letter), not the file's. `compiled: false` skips the compiled
 * check and runs the interpreter alone (for tests comparing the two).
 */
export function scanAvro(type: Type, buf: Buffer, pos = 0, options: { content?: boolean; compiled?: boolean } = {}): number {
  const view = type as unknown as AvscTypeView;
  const content = options.content ?? true;
  // The hot path: the type's compiled check says "well formed" (and where it ends) or "not sure";
  // only then does the interpreter below run, to reject with the field path, or to accept what the
  // compiled check leaves to it (longs over 7 bytes, unknown types).
  if (options.compiled !== false) {
    fp = pos;
    if (compiled(view)(buf, content)) return fp;
  }
  const c = new Cursor(buf, pos, false, content);
  try {
    scanValue(view, c);
  } catch (err) {
    if (!(err instanceof AvroScanError)) throw err;
    // The pass above keeps no field path (the hot path); the same scan with
    // the path fails at the same byte and names the field.
    scanValue(view, new Cursor(buf, pos, true, content));
    throw err;
  }
  return c.pos;
}

/**
 * The compiled form of scanValue for one type: a tree of closures built once
 * per type (no switch on the type name, no Cursor, no allocation per value
 * but for non-ASCII strings' UTF-8 check), reading at the module-level `fp`.
 * It returns true only for data scanValue accepts, leaving `fp` just past
 * it; false means "rejected or not sure" and scanAvro falls back to
 * scanValue (tests compare the two on mutated payloads: test/schemas/scanCompiled.test.ts).
 */
type Check = (buf: Buffer, content: boolean) => boolean;
let fp = 0;
const compiledCache = new WeakMap<AvscTypeView, Check>();

/** A zig-zag varint of at most `maxBytes` (<= 7) bytes at fp, or NaN (longer, truncated): exact below 2^49. */
function fastVarint(buf: Buffer, maxBytes: number): number {
  let n = 0;
  let mult = 1;
  for (let i = 0; i < maxBytes; i++) {
    if (fp >= buf.length) return NaN;
    const b = buf[fp++];
    n += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
    mult *= 128;
  }
  return NaN;
}

function fastInt(buf: Buffer): number {
  const v = fastVarint(buf, 5);
  return v >= -0x80000000 && v <= 0x7fffffff ? v : NaN;
}

/** Skips a length-prefixed body; returns its start, or -1. */
function fastBody(buf: Buffer): number {
  const len = fastVarint(buf, 7);
  if (!(len >= 0) || fp + len > buf.length) return -1;
  const body = fp;
  fp += len;
  return body;
}

/**
 * Whether buf[start, end) is well-formed UTF-8 (what node:buffer's isUtf8 says: no overlong
 * forms, no surrogates, nothing above U+10FFFF). Short strings are checked here, which costs
 * less than a view and a native call; long ones go to isUtf8.
 */
export function wellFormedUtf8(buf: Buffer, start: number, end: number): boolean {
  if (end - start > 256) return isAscii(buf, start, end) || isUtf8(buf.subarray(start, end));
  let i = start;
  while (i < end) {
    const b = buf[i];
    if (b < 0x80) {
      i++;
    } else if (b < 0xc2) {
      return false; // a continuation byte first, or an overlong 2-byte form
    } else if (b < 0xe0) {
      if (i + 1 >= end || (buf[i + 1] & 0xc0) !== 0x80) return false;
      i += 2;
    } else if (b < 0xf0) {
      if (i + 2 >= end) return false;
      const b1 = buf[i + 1];
      if ((b1 & 0xc0) !== 0x80 || (buf[i + 2] & 0xc0) !== 0x80) return false;
      if ((b === 0xe0 && b1 < 0xa0) || (b === 0xed && b1 >= 0xa0)) return false; // overlong, surrogate
      i += 3;
    } else if (b < 0xf5) {
      if (i + 3 >= end) return false;
      const b1 = buf[i + 1];
      if ((b1 & 0xc0) !== 0x80 || (buf[i + 2] & 0xc0) !== 0x80 || (buf[i + 3] & 0xc0) !== 0x80) return false;
      if ((b === 0xf0 && b1 < 0x90) || (b === 0xf4 && b1 >= 0x90)) return false; // overlong, above U+10FFFF
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

const OK: Check = () => true;
const UNSURE: Check = () => false;

function compiled(type: AvscTypeView): Check {
  let check = compiledCache.get(type);
  if (check !== undefined) return check;
  // A recursive type refers to itself through this indirection until it is built.
  compiledCache.set(type, (buf, content) => (compiledCache.get(type) as Check)(buf, content));
  check = compile(type);
  compiledCache.set(type, check);
  return check;
}

function compile(type: AvscTypeView): Check {
  switch (type.typeName) {
    case 'null':
      return OK;
    case 'boolean':
      return (buf) => fp < buf.length && buf[fp] <= 1 && ++fp > 0;
    case 'int':
      return (buf) => !Number.isNaN(fastInt(buf));
    case 'long':
    case 'abstract:long':
      return (buf) => !Number.isNaN(fastVarint(buf, 7));
    case 'float':
    case 'double':
    case 'fixed': {
      const size = type.typeName === 'float' ? 4 : type.typeName === 'double' ? 8 : (type.size ?? 0);
      return (buf) => fp + size <= buf.length && (fp += size) >= 0;
    }
    case 'bytes':
      return (buf) => fastBody(buf) >= 0;
    case 'string':
      return (buf, content) => {
        const body = fastBody(buf);
        return body >= 0 && (!content || wellFormedUtf8(buf, body, fp));
      };
    case 'enum': {
      const n = (type.symbols ?? []).length;
      return (buf) => {
        const i = fastInt(buf);
        return i >= 0 && i < n;
      };
    }
    case 'union:unwrapped':
    case 'union:wrapped': {
      const branches = (type.types ?? []).map((t) => compiled(t));
      return (buf, content) => {
        const i = fastInt(buf);
        return i >= 0 && i < branches.length && branches[i](buf, content);
      };
    }
    case 'record':
    case 'error': {
      const fields = (type.fields ?? []).map((f) => compiled(f.type));
      return (buf, content) => {
        for (let i = 0; i < fields.length; i++) if (!fields[i](buf, content)) return false;
        return true;
      };
    }
    case 'array':
    case 'map': {
      const isMap = type.typeName === 'map';
      const itemType = (isMap ? type.valuesType : type.itemsType) as AvscTypeView;
      const itemMin = isMap ? 1 + minSize(itemType) : minSize(itemType);
      const item = compiled(itemType);
      return (buf, content) => {
        let index = 0;
        for (;;) {
          let count = fastVarint(buf, 7);
          if (Number.isNaN(count)) return false;
          if (count === 0) return true;
          let blockEnd = -1;
          if (count < 0) {
            count = -count;
            const sized = fastVarint(buf, 7);
            if (!(sized >= 0) || fp + sized > buf.length) return false;
            blockEnd = fp + sized;
          }
          if (itemMin > 0 ? count * itemMin > buf.length - fp : index + count > MAX_ZERO_SIZE_ITEMS) return false;
          for (let i = 0; i < count; i++, index++) {
            if (isMap) {
              const key = fastBody(buf);
              if (key < 0) return false;
              if (content && (!wellFormedUtf8(buf, key, fp) || (fp - key === PROTO_KEY.length && PROTO_KEY.equals(buf.subarray(key, fp))))) return false;
            }
            if (!item(buf, content)) return false;
          }
          if (blockEnd >= 0 && fp !== blockEnd) return false;
        }
      };
    }
    default:
      if (type.typeName.startsWith('logical:') && type.underlyingType) return compiled(type.underlyingType);
      return UNSURE;
  }
}

/** True when buf[start, end) is all ASCII (then it is valid UTF-8 without a native call). */
function isAscii(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] >= 0x80) return false;
  return true;
}

/** Magic byte that starts a Confluent Schema Registry framed payload. */
export const CONFLUENT_MAGIC = 0;
/** Length of the Confluent header: magic byte + 4-byte big-endian schema id. */
export const CONFLUENT_HEADER_LENGTH = 5;

/** A payload split into its Confluent header and Avro body. */
export interface ConfluentFrame {
  schemaId: number;
  body: Buffer;
}

/**
 * Split a Confluent wire-format payload (0x00, schema id as uint32 BE, Avro
 * body). Returns null when `buf` is too short or does not start with the
 * magic byte. The body is a view on `buf`, not a copy.
 */
export function parseConfluentHeader(buf: Buffer): ConfluentFrame | null {
  if (buf.length < CONFLUENT_HEADER_LENGTH || buf[0] !== CONFLUENT_MAGIC) return null;
  return { schemaId: buf.readUInt32BE(1), body: buf.subarray(CONFLUENT_HEADER_LENGTH) };
}

/** Prefix an Avro body with the Confluent wire-format header for `schemaId`. */
export function frameConfluent(schemaId: number, body: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(CONFLUENT_HEADER_LENGTH + body.length);
  writeConfluentHeader(framed, schemaId);
  body.copy(framed, CONFLUENT_HEADER_LENGTH);
  return framed;
}

/** Writes the Confluent header (magic byte, schema id) into `buf[0..5)`; a RangeError for an id outside 0..2^32-1. */
export function writeConfluentHeader(buf: Buffer, schemaId: number): void {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0xffffffff) {
    throw new RangeError(`Confluent schema id must be an integer in 0..2^32-1, got ${schemaId}`);
  }
  buf[0] = CONFLUENT_MAGIC;
  buf.writeUInt32BE(schemaId, 1);
}
