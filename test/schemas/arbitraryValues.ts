// Every schema version, and valid values of any schema type: for the differential tests of the
// compiled writers and the trusted readers.
import fc from 'fast-check';
import type { Type } from 'avsc';
import { MAX_EXACT_LONG, MIN_EXACT_LONG, SCHEMA_NAMES, listVersions, loadSchema } from '../../schemas/registry.js';
import type { TypeView } from '../../schemas/registry/generated.js';

export type { TypeView };

/** Every version of every schema, labelled "name vN". */
export const SCHEMA_VERSIONS: ReadonlyArray<{ label: string; type: Type }> = SCHEMA_NAMES.flatMap((name) =>
  listVersions(name).map((v) => ({ label: `${name} v${v}`, type: loadSchema(name, v) })),
);


const cjk = fc.integer({ min: 0x4e00, max: 0x9fff }).map((cp) => String.fromCodePoint(cp));
const emoji = fc.integer({ min: 0x1f300, max: 0x1faff }).map((cp) => String.fromCodePoint(cp));
const anyCodePoint = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
const ascii = fc.constantFrom('a', 'Z', '0', '-', '.', '_', ' ', '\u007f');
/**
 * Short strings (the one-byte length path), long ones (the byteLength path), and ASCII of up to 80
 * bytes (across both paths and the length varint's second byte, from 64), sometimes with one other
 * code point anywhere in it.
 */
const text = fc.oneof(
  fc.string({ unit: fc.oneof(cjk, emoji, anyCodePoint, fc.constantFrom('a', 'Z', '0')), maxLength: 24 }),
  fc.string({ unit: fc.oneof(cjk, anyCodePoint), minLength: 20, maxLength: 300 }),
  fc.string({ unit: fc.oneof({ weight: 40, arbitrary: ascii }, { weight: 1, arbitrary: fc.oneof(cjk, emoji, anyCodePoint) }), maxLength: 80 }),
);
/** Longs on both sides of writeLong's integer / floating-point switch (+-2^30) and at the ends of the exact range. */
const long = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.constantFrom(MIN_EXACT_LONG, MAX_EXACT_LONG, -1073741824, -1073741825, 1073741823, 1073741824, 0, -0, -1),
  fc.integer({ min: MIN_EXACT_LONG, max: MAX_EXACT_LONG }),
  // powers of two and their neighbours: the varint's last byte at its boundaries
  fc.tuple(fc.integer({ min: 30, max: 52 }), fc.constantFrom(-1, 0, 1), fc.boolean()).map(([k, d, neg]) => (neg ? Math.max(MIN_EXACT_LONG, -(2 ** k) - d) : 2 ** k + d)),
);

/** Valid values of a type; fields with a default are left out at random. */
export function arbitrary(t: TypeView): fc.Arbitrary<unknown> {
  switch (t.typeName) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'int':
      return fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(-(2 ** 31), 2 ** 31 - 1, 0, -0));
    case 'long':
      return long;
    case 'float':
    case 'double':
      return fc.oneof(fc.double(), fc.integer(), fc.constantFrom(NaN, Infinity, -Infinity, -0, 3.4e38, 1e-45));
    case 'string':
      return text;
    case 'bytes':
      return fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a));
    case 'enum':
      return fc.constantFrom(...t.symbols!);
    case 'array':
      return fc.array(arbitrary(t.itemsType!), { maxLength: 4 });
    case 'map':
      return fc.dictionary(text.filter((k) => k !== '__proto__'), arbitrary(t.valuesType!), { maxKeys: 4, noNullPrototype: true });
    case 'record': {
      const shape: Record<string, fc.Arbitrary<unknown>> = {};
      const optional: string[] = [];
      for (const f of t.fields!) {
        shape[f.name] = arbitrary(f.type);
        if (f.defaultValue() !== undefined) optional.push(f.name);
      }
      return fc.record(shape, { requiredKeys: t.fields!.map((f) => f.name).filter((n) => !optional.includes(n)) });
    }
    default:
      if (t.typeName.startsWith('union')) return fc.oneof(...t.types!.map(arbitrary));
      throw new Error(`no arbitrary for ${t.typeName}`);
  }
}
