/**
 * Compiled strict writers: validation and Avro encoding of a value in one
 * pass, generated once per avsc Type. encode.ts's hot path.
 *
 * encodeStrict used to walk a value three times (avsc's isValid with
 * noUndeclaredFields, validate.ts's wire-rule check, avsc's writer) before
 * copying the bytes out. A compiled writer checks each field as it writes
 * it and gives up at the first value it does not accept; the caller then
 * takes the old path (validate.ts says what is wrong, avsc writes what it
 * accepts), so a writer only has to be *sound*:
 *
 * - what it accepts is accepted by `validate` (avsc's isValid with
 *   noUndeclaredFields, and no WIRE_RULE broken), and
 * - for what it accepts it writes exactly the bytes avsc's `encode` writes.
 *
 * It may refuse more than `validate` does (an enum "symbol" such as
 * "constructor" that avsc's lookup object happens to hold, an array where a
 * record is expected); those values take the old path. test/schemas/writer.test.ts
 * checks both properties against avsc on every schema version, valid and broken values.
 *
 * Supported: null, boolean, int, long, float, double, bytes, string, enum,
 * array, map, record, and avsc's unwrapped unions of those (the registry's
 * `wrapUnions: 'never'`). For any other type (fixed, wrapped unions, logical
 * types) there is no compiled writer: `compiledWriter` returns null.
 */
import type { Type } from 'avsc';
import { GeneratedModule, Unsupported, perType, type TypeView } from './generated.js';
import { wireBroken } from './validate.js';

/**
 * Writes `value` into `buf` from `pos` and returns the position just past
 * it; -1 when it does not accept the value. A result above `buf.length`
 * means the buffer was too small: nothing past its end was written, and the
 * result is the length needed from the start of the buffer; write again into a larger one.
 */
export type CompiledWriter = (value: unknown, buf: Buffer, pos: number) => number;

/** The compiled writer of `type` (built on first use, then cached), or null for a type it does not cover. */
export const compiledWriter: (type: Type) => CompiledWriter | null = perType(compile);

/** Largest string length (UTF-16 units) whose UTF-8 form (<= 3 bytes a unit) has a one-byte length varint. */
const SHORT_STRING = 21;

const utf8Write: (buf: Buffer, s: string, pos: number) => number =
  typeof (Buffer.prototype as { utf8Write?: unknown }).utf8Write === 'function'
    ? (buf, s, pos) => (buf as unknown as { utf8Write(s: string, pos: number): number }).utf8Write(s, pos)
    : (buf, s, pos) => buf.write(s, pos, 'utf8');

/** Avro's zig-zag varint of a long, avsc's Tap.writeLong byte for byte (bytes past the end are dropped by the typed array). */
function writeLong(buf: Buffer, pos: number, n: number): number {
  if (n >= -1073741824 && n < 1073741824) {
    let m = n >= 0 ? n << 1 : (~n << 1) | 1;
    while (m > 0x7f) {
      buf[pos++] = (m & 0x7f) | 0x80;
      m >>= 7;
    }
    buf[pos++] = m;
    return pos;
  }
  let f = n >= 0 ? n * 2 : -n * 2 - 1;
  while (f >= 128) {
    buf[pos++] = (f & 0x7f) | 0x80;
    f /= 128;
  }
  buf[pos++] = f & 0x7f;
  return pos;
}

/** A string's length varint and UTF-8 bytes (for strings without lone surrogates, the bytes avsc writes). */
function writeString(buf: Buffer, pos: number, s: string): number {
  if (s.length <= SHORT_STRING && pos + 1 + 3 * s.length <= buf.length) {
    const n = utf8Write(buf, s, pos + 1);
    buf[pos] = n << 1;
    return pos + 1 + n;
  }
  const len = Buffer.byteLength(s, 'utf8');
  pos = writeLong(buf, pos, len);
  if (pos + len <= buf.length) utf8Write(buf, s, pos);
  return pos + len;
}

function writeBytes(buf: Buffer, pos: number, b: Buffer): number {
  pos = writeLong(buf, pos, b.length);
  if (pos + b.length <= buf.length) b.copy(buf, pos);
  return pos + b.length;
}

function writeFloat(buf: Buffer, pos: number, x: number): number {
  if (pos + 4 <= buf.length) buf.writeFloatLE(x, pos);
  return pos + 4;
}

function writeDouble(buf: Buffer, pos: number, x: number): number {
  if (pos + 8 <= buf.length) buf.writeDoubleLE(x, pos);
  return pos + 8;
}

/** Bytes written as they are (a field's default, encoded once by avsc). */
function writeRaw(buf: Buffer, pos: number, raw: Buffer): number {
  if (pos + raw.length <= buf.length) raw.copy(buf, pos);
  return pos + raw.length;
}

const isBuffer = (x: unknown): x is Buffer => Buffer.isBuffer(x);

/** avsc's long range (isSafeLong) narrowed by the wire rule's bound, as constants in the generated code. */
const MAX_LONG = 9007199254740990;

/**
 * Generates one function per record type reachable from `root` (records may
 * refer to themselves), primitives inlined, and returns the root's writer.
 */
function compile(root: TypeView): CompiledWriter {
  const gen = new GeneratedModule('w');

  /** Statements that check `x` (an expression without side effects) against `t` and write it, or `return -1`. */
  const emit = (t: TypeView, x: string): string => {
    switch (t.typeName) {
      case 'null':
        return `if (${x} !== null) return -1;\n`;
      case 'boolean':
        return `if (typeof ${x} !== 'boolean') return -1;\nb[p++] = ${x} ? 1 : 0;\n`;
      case 'int':
        // avsc: x === (x | 0); the typeof first so that no object is converted to a number here
        return `if (typeof ${x} !== 'number' || ${x} !== (${x} | 0)) return -1;\np = wLong(b, p, ${x});\n`;
      case 'long':
        // avsc: a number, integral, within +-(2^53 - 2); the wire rule: not below MIN_EXACT_LONG
        return `if (typeof ${x} !== 'number' || ${x} % 1 !== 0 || !(${x} <= ${MAX_LONG}) || !(${x} >= -${MAX_LONG}) || longBroken(${x})) return -1;\np = wLong(b, p, ${x});\n`;
      case 'float':
        return `if (typeof ${x} !== 'number') return -1;\np = wFloat(b, p, ${x});\n`;
      case 'double':
        return `if (typeof ${x} !== 'number') return -1;\np = wDouble(b, p, ${x});\n`;
      case 'string':
        return `if (typeof ${x} !== 'string' || stringBroken(${x})) return -1;\np = wString(b, p, ${x});\n`;
      case 'bytes':
        return `if (!isBuffer(${x})) return -1;\np = wBytes(b, p, ${x});\n`;
      case 'enum': {
        const indices = gen.constant(new Map((t.symbols ?? []).map((s, i) => [s, i])));
        const i = gen.local('i');
        return `if (typeof ${x} !== 'string') return -1;\nconst ${i} = ${indices}.get(${x});\nif (${i} === undefined) return -1;\np = wLong(b, p, ${i});\n`;
      }
      case 'array': {
        const [a, n, k] = [gen.local('a'), gen.local('n'), gen.local('k')];
        const item = gen.local('e');
        return (
          `if (!Array.isArray(${x})) return -1;\nconst ${a} = ${x};\nconst ${n} = ${a}.length;\n` +
          `if (${n} > 0) {\np = wLong(b, p, ${n});\nfor (let ${k} = 0; ${k} < ${n}; ${k}++) {\nconst ${item} = ${a}[${k}];\n${emit(t.itemsType!, item)}}\n}\nb[p++] = 0;\n`
        );
      }
      case 'map': {
        const [m, keys, n, k, key, value] = [gen.local('m'), gen.local('ks'), gen.local('n'), gen.local('k'), gen.local('key'), gen.local('v')];
        return (
          `if (!${x} || typeof ${x} !== 'object' || Array.isArray(${x})) return -1;\nconst ${m} = ${x};\nconst ${keys} = Object.keys(${m});\nconst ${n} = ${keys}.length;\n` +
          `if (${n} > 0) {\np = wLong(b, p, ${n});\nfor (let ${k} = 0; ${k} < ${n}; ${k}++) {\nconst ${key} = ${keys}[${k}];\nif (keyBroken(${key})) return -1;\np = wString(b, p, ${key});\n` +
          `const ${value} = ${m}[${key}];\n${emit(t.valuesType!, value)}}\n}\nb[p++] = 0;\n`
        );
      }
      case 'record': {
        const fn = recordFunction(t);
        return `p = ${fn}(${x}, b, p);\nif (p < 0) return -1;\n`;
      }
      case 'union:unwrapped': {
        // avsc picks the branch by the value's bucket (getValueBucket); at most one branch per bucket
        const branches = t.types ?? [];
        let out = '';
        branches.forEach((branch, index) => {
          if (index >= 64) throw new Unsupported('union of more than 64 branches');
          out += `${index === 0 ? '' : 'else '}if (${bucketTest(branch, x)}) {\nb[p++] = ${index << 1};\n${emit(branch, x)}}\n`;
        });
        return `${out}else return -1;\n`;
      }
      default:
        throw new Unsupported(t.typeName);
    }
  };

  const recordFunction = (t: TypeView): string =>
    gen.record(t, (fn) => {
      const fields = t.fields ?? [];
      const declared = fields.map((f) => `k === ${JSON.stringify(f.name)}`).join(' || ') || 'false';
      // the record check: avsc's (an object, only declared own enumerable keys), and not an array or a Buffer
      let body =
        `function ${fn}(v, b, p) {\n` +
        `if (v === null || typeof v !== 'object' || Array.isArray(v) || isBuffer(v)) return -1;\n` +
        `const ks = Object.keys(v);\nfor (let i = 0; i < ks.length; i++) { const k = ks[i]; if (!(${declared})) return -1; }\n`;
      fields.forEach((f, i) => {
        const x = `f${i}`;
        body += `const ${x} = v[${JSON.stringify(f.name)}];\n`;
        const fallback = f.defaultValue();
        if (fallback === undefined) {
          body += emit(f.type, x);
        } else {
          const raw = gen.constant(f.type.toBuffer(fallback));
          body += `if (${x} === undefined) p = wRaw(b, p, ${raw});\nelse {\n${emit(f.type, x)}}\n`;
        }
      });
      return `${body}return p;\n}\n`;
    });

  let rootCall: string;
  if (root.typeName === 'record') {
    rootCall = `return ${recordFunction(root)};`;
  } else {
    gen.add(`function w(v, b, p) {\nconst x = v;\n${emit(root, 'x')}return p;\n}\n`);
    rootCall = 'return w;';
  }
  const helpers = {
    wLong: writeLong,
    wString: writeString,
    wBytes: writeBytes,
    wFloat: writeFloat,
    wDouble: writeDouble,
    wRaw: writeRaw,
    isBuffer,
    stringBroken: wireBroken.string,
    longBroken: wireBroken.long,
    keyBroken: wireBroken.mapKey,
  };
  return gen.build<CompiledWriter>(helpers, rootCall);
}

/** The test that picks `branch` in avsc's unwrapped union (its getValueBucket / getTypeBucket). */
function bucketTest(branch: TypeView, x: string): string {
  switch (branch.typeName) {
    case 'null':
      return `${x} === null`;
    case 'boolean':
      return `typeof ${x} === 'boolean'`;
    case 'int':
    case 'long':
    case 'float':
    case 'double':
      return `typeof ${x} === 'number'`;
    case 'string':
    case 'enum':
      return `typeof ${x} === 'string'`;
    case 'bytes':
      return `isBuffer(${x})`;
    case 'array':
      return `Array.isArray(${x})`;
    case 'map':
    case 'record':
      return `(typeof ${x} === 'object' && ${x} !== null && !Array.isArray(${x}) && !isBuffer(${x}))`;
    default:
      throw new Unsupported(`union branch ${branch.typeName}`);
  }
}
