/**
 * Generates schemas/types.generated.ts from the latest version of each Avro
 * schema, so the TypeScript types are never written by hand.
 *
 *   npx tsc -p tsconfig.json && node dist/schemas/codegen.js          # rewrite the file
 *   npx tsc -p tsconfig.json && node dist/schemas/codegen.js --check  # exit 1 if stale
 *
 * Mapping (the decoded shape produced by schemas/registry.ts):
 *   null -> null, boolean -> boolean, int/long/float/double -> number,
 *   string -> string, bytes/fixed -> Buffer, ["null", T] -> T | null,
 *   other unions -> A | B, array<T> -> T[], map<T> -> Record<string, T>,
 *   enum -> string literal union (plus a `<Name>Symbols` const array),
 *   record -> interface (plus a `<Name>Fields` const array of its field names), timestamp-millis (and any other logical type) -> the
 *   underlying type, i.e. number of epoch milliseconds.
 * Every field is required in the generated interfaces: decoding always fills
 * in defaults. (Encoding may omit fields that have defaults.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SCHEMA_NAMES, latestVersion, loadSchemaJson, schemasDir } from './registry.js';
import type { SchemaName } from './registry.js';

const PRIMITIVES: Record<string, string> = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  long: 'number',
  float: 'number',
  double: 'number',
  bytes: 'Buffer',
  string: 'string',
};

interface Declaration {
  fullName: string;
  shortName: string;
  /** Canonical JSON of the defining schema, to detect conflicting redefinitions. */
  canonical: string;
  definedIn: string;
  code: string;
}

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function docComment(lines: string[], indent: string): string {
  const text = lines
    .filter((l) => l !== '')
    .join('\n')
    .replace(/\*\//g, '*\\/');
  if (text === '') return '';
  const wrapped: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/\s+/).filter((w) => w !== '')) {
      if (line !== '' && indent.length + 3 + line.length + 1 + word.length > 100) {
        wrapped.push(line);
        line = word;
      } else {
        line = line === '' ? word : `${line} ${word}`;
      }
    }
    wrapped.push(line);
  }
  if (wrapped.length === 1 && indent.length + wrapped[0].length + 7 <= 100) {
    return `${indent}/** ${wrapped[0]} */\n`;
  }
  return `${indent}/**\n${wrapped.map((l) => `${indent} * ${l}`.trimEnd()).join('\n')}\n${indent} */\n`;
}

class Generator {
  private readonly decls = new Map<string, Declaration>();
  private readonly shortNames = new Map<string, string>();
  private currentFile = '';

  generate(): string {
    const roots: Array<{ name: SchemaName; version: number; root: string }> = [];
    for (const name of SCHEMA_NAMES) {
      const version = latestVersion(name);
      this.currentFile = `${name}/v${version}.avsc`;
      const root = this.tsType(loadSchemaJson(name, version), '');
      roots.push({ name, version, root });
    }
    let out =
      '// GENERATED FILE - DO NOT EDIT.\n' +
      '// Produced by schemas/codegen.ts from the latest version of each schema:\n' +
      roots.map((r) => `//   schemas/${r.name}/v${r.version}.avsc\n`).join('') +
      '// Regenerate: npx tsc -p tsconfig.json && node dist/schemas/codegen.js\n' +
      '// Timestamps (timestamp-millis) are numbers of milliseconds since the Unix epoch, UTC.\n';
    for (const decl of this.decls.values()) out += `\n${decl.code}`;
    out += '\n/** The top-level record type of each schema family, at its latest version. */\n';
    out += 'export interface SchemaRecords {\n';
    for (const r of roots) out += `  ${r.name}: ${r.root};\n`;
    out += '}\n';
    out += '\n/** The schema versions these types were generated from (the latest of each family). */\n';
    out += 'export const GENERATED_FROM_VERSIONS = {\n';
    for (const r of roots) out += `  ${r.name}: ${r.version},\n`;
    out += '} as const;\n';
    return out;
  }

  private fullName(name: string, namespace: string): string {
    return name.includes('.') || namespace === '' ? name : `${namespace}.${name}`;
  }

  private tsType(schema: unknown, namespace: string): string {
    if (typeof schema === 'string') {
      if (schema in PRIMITIVES) return PRIMITIVES[schema];
      const decl = this.decls.get(this.fullName(schema, namespace)) ?? this.decls.get(schema);
      if (decl === undefined) throw new Error(`${this.currentFile}: reference to undefined type ${schema}`);
      return decl.shortName;
    }
    if (Array.isArray(schema)) {
      const branches = schema.map((s) => this.tsType(s, namespace));
      // Put null last: `string | null` reads better than `null | string`.
      return [...branches.filter((b) => b !== 'null'), ...branches.filter((b) => b === 'null')].join(' | ');
    }
    if (!isObject(schema)) throw new Error(`${this.currentFile}: invalid schema ${JSON.stringify(schema)}`);
    const type = schema.type;
    switch (type) {
      case 'record':
      case 'error':
        return this.record(schema, namespace);
      case 'enum':
        return this.enumeration(schema, namespace);
      case 'fixed':
        return 'Buffer';
      case 'array': {
        const items = this.tsType(schema.items, namespace);
        return items.includes(' ') ? `Array<${items}>` : `${items}[]`;
      }
      case 'map':
        return `Record<string, ${this.tsType(schema.values, namespace)}>`;
      default:
        // A primitive in object form, possibly with a logicalType: use the underlying type.
        return this.tsType(type, namespace);
    }
  }

  private declare(schema: JsonObject, namespace: string): { fullName: string; shortName: string; ns: string } {
    const name = String(schema.name);
    const ns = typeof schema.namespace === 'string' ? schema.namespace : namespace;
    const fullName = this.fullName(name, ns);
    const shortName = fullName.slice(fullName.lastIndexOf('.') + 1);
    const owner = this.shortNames.get(shortName);
    if (owner !== undefined && owner !== fullName) {
      throw new Error(`${this.currentFile}: type name ${shortName} used for both ${owner} and ${fullName}`);
    }
    this.shortNames.set(shortName, fullName);
    return { fullName, shortName, ns: fullName.includes('.') ? fullName.slice(0, fullName.lastIndexOf('.')) : '' };
  }

  /** Returns true if already declared (identically); throws on a conflicting redefinition. */
  private existing(fullName: string, schema: JsonObject): boolean {
    const prior = this.decls.get(fullName);
    if (prior === undefined) return false;
    if (prior.canonical !== JSON.stringify(schema)) {
      throw new Error(`${this.currentFile}: ${fullName} differs from its definition in ${prior.definedIn}`);
    }
    return true;
  }

  private record(schema: JsonObject, namespace: string): string {
    const { fullName, shortName, ns } = this.declare(schema, namespace);
    if (this.existing(fullName, schema)) return shortName;
    // Reserve the slot first so the interface precedes the types it uses.
    const decl: Declaration = {
      fullName,
      shortName,
      canonical: JSON.stringify(schema),
      definedIn: this.currentFile,
      code: '',
    };
    this.decls.set(fullName, decl);
    const fields = Array.isArray(schema.fields) ? (schema.fields as JsonObject[]) : [];
    let body = '';
    for (const field of fields) {
      const ts = this.tsType(field.type, ns);
      const notes: string[] = [];
      if (isObject(field.type) && typeof field.type.logicalType === 'string') {
        const logical = field.type.logicalType;
        const unit = logical === 'timestamp-millis' ? ': epoch milliseconds, UTC' : '';
        notes.push(`Avro ${String(field.type.type)} (${logical})${unit}.`);
      }
      if ('default' in field) notes.push(`@defaultValue ${JSON.stringify(field.default)}`);
      body += docComment([typeof field.doc === 'string' ? field.doc : '', ...notes], '  ');
      body += `  ${String(field.name)}: ${ts};\n`;
    }
    decl.code =
      docComment([typeof schema.doc === 'string' ? schema.doc : '', `Avro record \`${fullName}\`.`], '') +
      `export interface ${shortName} {\n${body}}\n` +
      docComment([`Field names of {@link ${shortName}} in schema order (the order of its JSON and binary encodings).`], '') +
      `export const ${shortName}Fields = [${fields.map((f) => `'${String(f.name)}'`).join(', ')}] as const;\n`;
    return shortName;
  }

  private enumeration(schema: JsonObject, namespace: string): string {
    const { fullName, shortName } = this.declare(schema, namespace);
    if (this.existing(fullName, schema)) return shortName;
    const symbols = Array.isArray(schema.symbols) ? schema.symbols.map(String) : [];
    const notes = [`Avro enum \`${fullName}\`.`];
    if (typeof schema.default === 'string') notes.push(`Reader default for unknown symbols: ${schema.default}.`);
    const doc = docComment([typeof schema.doc === 'string' ? schema.doc : '', ...notes], '');
    this.decls.set(fullName, {
      fullName,
      shortName,
      canonical: JSON.stringify(schema),
      definedIn: this.currentFile,
      code:
        docComment([`Symbols of {@link ${shortName}} in schema order (the index is the value on the wire).`], '') +
        `export const ${shortName}Symbols = [${symbols.map((s) => `'${s}'`).join(', ')}] as const;\n` +
        `${doc}export type ${shortName} = (typeof ${shortName}Symbols)[number];\n`,
    });
    return shortName;
  }
}

/** Source text of types.generated.ts for the schemas currently on disk. */
export function generateTypes(): string {
  return new Generator().generate();
}

/** Where the generated file lives (next to the .avsc directories). */
export function generatedTypesPath(): string {
  return path.join(schemasDir(), 'types.generated.ts');
}

/** True if the file on disk equals what generateTypes() would write. */
export function generatedTypesAreFresh(): boolean {
  let current: string;
  try {
    current = readFileSync(generatedTypesPath(), 'utf8');
  } catch {
    return false;
  }
  return current === generateTypes();
}

/** CLI entry point; returns the process exit code. */
export function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const unknown = argv.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(`usage: node dist/schemas/codegen.js [--check]\nunknown argument: ${unknown[0]}\n`);
    return 2;
  }
  const file = generatedTypesPath();
  if (check) {
    if (generatedTypesAreFresh()) {
      process.stdout.write(`${file} is up to date\n`);
      return 0;
    }
    process.stderr.write(
      `${file} is stale; regenerate with: npx tsc -p tsconfig.json && node dist/schemas/codegen.js\n`,
    );
    return 1;
  }
  writeFileSync(file, generateTypes());
  process.stdout.write(`wrote ${file}\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
