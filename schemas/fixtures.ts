/**
 * Golden sample records: `schemas/<name>/samples/v<N>-<label>.json` holds one
 * record of schema version N in the Avro JSON encoding (the spec's JSON form:
 * non-null union values wrapped as {"<branch>": value}, bytes as a string of
 * code points U+0000..U+00FF, every field present in schema order), and
 * `v<N>-<label>.avro.b64` the base64 of its raw Avro binary encoding (no
 * container, no Confluent header).
 *
 * The .avro.b64 files are generated once and committed; tests then check that
 * the binary bytes never change (like kafkajs protocol fixtures):
 *
 *   node dist/schemas/fixtures.js           # write missing .avro.b64 files only
 *   node dist/schemas/fixtures.js --check   # exit 1 if any is missing or differs
 *   node dist/schemas/fixtures.js --force   # rewrite all (only for a deliberate change)
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SCHEMA_NAMES, SchemaValidationError, listVersions, loadSchema, schemasDir, validate } from './registry.js';
import type { SchemaName, Type } from './registry.js';

export interface Sample {
  name: SchemaName;
  version: number;
  /** e.g. "v1-original" */
  label: string;
  jsonPath: string;
  b64Path: string;
}

const SAMPLE_FILE = /^v([1-9][0-9]*)-([a-z0-9-]+)\.json$/;

/** All golden samples of a schema family (all versions), sorted by file name. */
export function listSamples(name: SchemaName): Sample[] {
  const dir = path.join(schemasDir(), name, 'samples');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((file) => {
      const m = SAMPLE_FILE.exec(file);
      if (m === null) return [];
      const label = file.slice(0, -'.json'.length);
      return [
        {
          name,
          version: Number(m[1]),
          label,
          jsonPath: path.join(dir, file),
          b64Path: path.join(dir, `${label}.avro.b64`),
        },
      ];
    });
}

/** Golden samples of every schema family. */
export function listAllSamples(): Sample[] {
  return SCHEMA_NAMES.flatMap((name) => listSamples(name));
}

/** The schema type a sample was written with. */
export function sampleType(sample: Sample): Type {
  return loadSchema(sample.name, sample.version);
}

/** The sample's JSON parsed into an avsc value (throws if it does not match the schema). */
export function readSampleValue(sample: Sample): unknown {
  const type = sampleType(sample);
  const value: unknown = type.fromString(readFileSync(sample.jsonPath, 'utf8'));
  const issues = validate(type, value);
  if (issues.length > 0) throw new SchemaValidationError(`sample ${sample.jsonPath}`, issues);
  return value;
}

/** The committed golden binary of a sample. */
export function readSampleBinary(sample: Sample): Buffer {
  return Buffer.from(readFileSync(sample.b64Path, 'utf8').trim(), 'base64');
}

/** CLI entry point; returns the process exit code. */
export function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const force = argv.includes('--force');
  const unknown = argv.filter((a) => a !== '--check' && a !== '--force');
  if (unknown.length > 0 || (check && force)) {
    process.stderr.write('usage: node dist/schemas/fixtures.js [--check | --force]\n');
    return 2;
  }
  let problems = 0;
  for (const sample of listAllSamples()) {
    if (!listVersions(sample.name).includes(sample.version)) {
      process.stderr.write(`${sample.jsonPath}: schema ${sample.name} has no version ${sample.version}\n`);
      problems++;
      continue;
    }
    const b64 = `${sampleType(sample).toBuffer(readSampleValue(sample)).toString('base64')}\n`;
    const exists = existsSync(sample.b64Path);
    if (exists && readFileSync(sample.b64Path, 'utf8') === b64) continue;
    if (check || (exists && !force)) {
      process.stderr.write(
        `${sample.b64Path}: ${exists ? 'differs from the encoding of its .json' : 'missing'}` +
          `${exists && !check ? ' (use --force to overwrite a golden file)' : ''}\n`,
      );
      problems++;
      continue;
    }
    writeFileSync(sample.b64Path, b64);
    process.stdout.write(`wrote ${sample.b64Path}\n`);
  }
  return problems === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
