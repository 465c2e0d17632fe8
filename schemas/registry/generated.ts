/**
 * What the compiled writers (writer.ts) and trusted readers (reader.ts)
 * share: the view of an avsc Type they read, and the builder of a generated
 * module (constants passed in as arguments, one function per record type,
 * fresh local names), compiled once per Type and cached.
 */
import type { Type } from 'avsc';

/** What the generators read of an avsc Type. */
export interface TypeView {
  typeName: string;
  types?: TypeView[];
  fields?: Array<{ name: string; type: TypeView; defaultValue(): unknown }>;
  itemsType?: TypeView;
  valuesType?: TypeView;
  symbols?: string[];
  toBuffer(value: unknown): Buffer;
}

/** A type a generator does not cover: the function for that Type is null. */
export class Unsupported extends Error {}

/** The source of one generated module, built up as a generator walks a type. */
export class GeneratedModule {
  private readonly consts: unknown[] = [];
  private readonly records = new Map<TypeView, string>();
  private readonly functions: string[] = [];
  private count = 0;

  /** `prefix`: of the record functions' names. */
  constructor(private readonly prefix: string) {}

  /** The name under which `value` is handed to the module. */
  constant(value: unknown): string {
    this.consts.push(value);
    return `c${this.consts.length - 1}`;
  }

  /** A fresh local name. */
  local(stem: string): string {
    return `${stem}${this.count++}`;
  }

  /**
   * The name of record type `t`'s function; its source is `body(name)`, made
   * the first time (a record that refers to itself finds its name already given).
   */
  record(t: TypeView, body: (name: string) => string): string {
    const known = this.records.get(t);
    if (known !== undefined) return known;
    const name = `${this.prefix}${this.records.size}`;
    this.records.set(t, name);
    this.functions.push(body(name));
    return name;
  }

  /** Adds a function of the module's own. */
  add(source: string): void {
    this.functions.push(source);
  }

  /** The module: `helpers` and the constants as parameters, the functions, then `tail` (its return statement). */
  build<F>(helpers: Record<string, unknown>, tail: string): F {
    const names = [...Object.keys(helpers), ...this.consts.map((_, i) => `c${i}`)];
    const values = [...Object.values(helpers), ...this.consts];
    // generated from the schema, as avsc does for its own readers and writers
    return new Function(...names, `'use strict';\n${this.functions.join('\n')}${tail}`)(...values) as F;
  }
}

/**
 * `compile` once per Type, cached; null where it throws Unsupported. The
 * result is what `compile` returns for the type.
 */
export function perType<F>(compile: (root: TypeView) => F): (type: Type) => F | null {
  const cache = new WeakMap<object, F | null>();
  return (type) => {
    const cached = cache.get(type);
    if (cached !== undefined) return cached;
    let made: F | null;
    try {
      made = compile(type as unknown as TypeView);
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      made = null;
    }
    cache.set(type, made);
    return made;
  };
}
