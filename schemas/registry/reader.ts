/**
 * Compiled readers of bytes already checked: a value decoded in one
 * generated function per record type, no bounds or range checks. For
 * decodePosts' fast path, where schemas/postScan.ts's check has found the
 * payload to be one whole, well-formed latest-version Post (every length
 * inside the buffer, varints in range, strings valid UTF-8) before it is read.
 * NEVER for bytes nobody has checked: decodeStrict is the reader for those.
 *
 * The values are avsc's (`type.fromBuffer` of the same bytes): the same
 * fields in the same order, the same numbers, strings, Buffers (copies),
 * arrays and maps, except that records are plain objects instead of
 * instances of avsc's generated record classes (same own enumerable
 * properties, in the same order). test/schemas/reader.test.ts checks this
 * on every schema version.
 *
 * Supported: null, boolean, int, long, float, double, bytes, string, enum,
 * array, map, record, and avsc's unwrapped unions of those; for any other
 * type `trustedReader` returns null.
 */
import type { Type } from 'avsc';
import { GeneratedModule, Unsupported, perType, type TypeView } from './generated.js';

/** Where a read ended: `at.pos` after the call is the offset just past the value. */
export interface ReadPosition {
  pos: number;
}

/** Reads one value from `buf` at `at.pos`, and leaves `at.pos` just past it. */
export type TrustedReader = (buf: Buffer, at: ReadPosition) => unknown;

/** The trusted reader of `type` (built on first use, then cached), or null for a type it does not cover. */
export const trustedReader: (type: Type) => TrustedReader | null = perType(compile);

const utf8Slice: (buf: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as { utf8Slice?: unknown }).utf8Slice === 'function'
    ? (buf, start, end) => (buf as unknown as { utf8Slice(s: number, e: number): string }).utf8Slice(start, end)
    : (buf, start, end) => buf.toString('utf8', start, end);

/** The position after a read (one object per compiled reader call chain, module-wide: reads are synchronous). */
const cursor = { pos: 0 };

/** avsc's Tap.readLong, byte for byte (its float arithmetic past 28 bits included). */
function readLong(buf: Buffer): number {
  let n = 0;
  let k = 0;
  let b: number;
  let h: number;
  do {
    b = buf[cursor.pos++];
    h = b & 0x80;
    n |= (b & 0x7f) << k;
    k += 7;
  } while (h && k < 28);
  if (h) {
    let f = n;
    let fk = 268435456;
    do {
      b = buf[cursor.pos++];
      f += (b & 0x7f) * fk;
      fk *= 128;
    } while (b & 0x80);
    return (f % 2 ? -(f + 1) : f) / 2;
  }
  return (n >> 1) ^ -(n & 1);
}

function readString(buf: Buffer): string {
  const len = readLong(buf);
  const start = cursor.pos;
  cursor.pos += len;
  return utf8Slice(buf, start, start + len);
}

function readBytes(buf: Buffer): Buffer {
  const len = readLong(buf);
  const start = cursor.pos;
  cursor.pos += len;
  return Buffer.from(buf.subarray(start, start + len));
}

function readFloat(buf: Buffer): number {
  const v = buf.readFloatLE(cursor.pos);
  cursor.pos += 4;
  return v;
}

function readDouble(buf: Buffer): number {
  const v = buf.readDoubleLE(cursor.pos);
  cursor.pos += 8;
  return v;
}

function compile(root: TypeView): TrustedReader {
  const gen = new GeneratedModule('r');

  /** An expression reading one value of `t` from `b` (statements it needs go to `pre`). */
  const expr = (t: TypeView, pre: string[]): string => {
    switch (t.typeName) {
      case 'null':
        return 'null';
      case 'boolean':
        return '(b[at.pos++] !== 0)';
      case 'int':
      case 'long':
        return 'rLong(b)';
      case 'float':
        return 'rFloat(b)';
      case 'double':
        return 'rDouble(b)';
      case 'string':
        return 'rString(b)';
      case 'bytes':
        return 'rBytes(b)';
      case 'enum':
        return `${gen.constant(t.symbols ?? [])}[rLong(b)]`;
      case 'array': {
        const [a, i, n] = [gen.local('a'), gen.local('i'), gen.local('n')];
        const body: string[] = [];
        const item = expr(t.itemsType!, body);
        // avsc's ArrayType._read: blocks until a zero count; a negative count has its byte size after it
        pre.push(
          `let ${a}; let ${i} = 0; let ${n};\n` +
            `while ((${n} = rLong(b)) !== 0) {\nif (${n} < 0) { ${n} = -${n}; rLong(b); }\n${a} = ${a} || new Array(${n});\n` +
            `while (${n}--) {\n${body.join('')}${a}[${i}++] = ${item};\n}\n}\n`,
        );
        return `(${a} || [])`;
      }
      case 'map': {
        const [m, n] = [gen.local('m'), gen.local('n')];
        const body: string[] = [];
        const value = expr(t.valuesType!, body);
        const key = gen.local('k');
        // avsc's MapType._read: a plain object, keys assigned in order
        pre.push(
          `const ${m} = {}; let ${n};\n` +
            `while ((${n} = rLong(b)) !== 0) {\nif (${n} < 0) { ${n} = -${n}; rLong(b); }\n` +
            `while (${n}--) {\nconst ${key} = rString(b);\n${body.join('')}${m}[${key}] = ${value};\n}\n}\n`,
        );
        return m;
      }
      case 'record':
        return `${recordFunction(t)}(b)`;
      case 'union:unwrapped': {
        const branches = t.types ?? [];
        const v = gen.local('u');
        let code = `let ${v};\nswitch (rLong(b)) {\n`;
        branches.forEach((branch, index) => {
          const body: string[] = [];
          const e = expr(branch, body);
          code += `case ${index}: {\n${body.join('')}${v} = ${e};\nbreak;\n}\n`;
        });
        code += `default: throw new Error('invalid union index');\n}\n`;
        pre.push(code);
        return v;
      }
      default:
        throw new Unsupported(t.typeName);
    }
  };

  const recordFunction = (t: TypeView): string =>
    gen.record(t, (fn) => {
      const fields = t.fields ?? [];
      let body = `function ${fn}(b) {\n`;
      // fields are read in order, each into a local; then one object literal (the field order of avsc's records)
      fields.forEach((f, i) => {
        const pre: string[] = [];
        const e = expr(f.type, pre);
        body += `${pre.join('')}const f${i} = ${e};\n`;
      });
      return `${body}return { ${fields.map((f, i) => `${JSON.stringify(f.name)}: f${i}`).join(', ')} };\n}\n`;
    });

  let rootFn: string;
  if (root.typeName === 'record') {
    rootFn = recordFunction(root);
  } else {
    const pre: string[] = [];
    const e = expr(root, pre);
    gen.add(`function r(b) {\n${pre.join('')}return ${e};\n}\n`);
    rootFn = 'r';
  }
  const helpers = { rLong: readLong, rString: readString, rBytes: readBytes, rFloat: readFloat, rDouble: readDouble, at: cursor };
  return gen.build<TrustedReader>(
    helpers,
    `return function read(buf, position) {\nat.pos = position.pos;\nconst v = ${rootFn}(buf);\nposition.pos = at.pos;\nreturn v;\n};`,
  );
}
