// schemas/types.generated.ts must be what the generator makes from the .avsc files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { generateTypes, generatedTypesAreFresh, generatedTypesPath, main } from '../../schemas/codegen.js';
import { SCHEMA_NAMES, decodeStrict, latestVersion, loadSchema, loadSchemaJson } from '../../schemas/registry.js';
import { listSamples, readSampleBinary } from '../../schemas/fixtures.js';
import {
  EntityTypeSymbols,
  GENERATED_FROM_VERSIONS,
  MentionKindSymbols,
} from '../../schemas/types.generated.js';
import type { Mention, Post, SchemaRecords } from '../../schemas/types.generated.js';

const codegenScript = fileURLToPath(new URL('../../schemas/codegen.js', import.meta.url));

describe('generated types', () => {
  it('types.generated.ts is fresh (regenerate: node dist/schemas/codegen.js)', () => {
    const onDisk = readFileSync(generatedTypesPath(), 'utf8');
    assert.equal(onDisk, generateTypes(), 'stale: run npx tsc -p tsconfig.json && node dist/schemas/codegen.js');
    assert.ok(generatedTypesAreFresh());
  });

  it('the CLI --check exits 0 when fresh; bad arguments exit 2', () => {
    const run = spawnSync(process.execPath, [codegenScript, '--check'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /is up to date/);
    const bad = spawnSync(process.execPath, [codegenScript, '--frobnicate'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /usage: node dist\/schemas\/codegen\.js \[--check\]/);
  });

  it('generation is deterministic', () => {
    assert.equal(generateTypes(), generateTypes());
    assert.equal(typeof main, 'function');
  });

  it('runtime constants agree with the schemas', () => {
    for (const name of SCHEMA_NAMES) assert.equal(GENERATED_FROM_VERSIONS[name], latestVersion(name));
    const text = JSON.stringify(loadSchemaJson('mentions'));
    assert.ok(text.includes(`"symbols":${JSON.stringify(EntityTypeSymbols)}`));
    assert.ok(text.includes(`"symbols":${JSON.stringify(MentionKindSymbols)}`));
  });

  it('every field of every latest schema appears in the generated interfaces', () => {
    const generated = generateTypes();
    const check = (schema: unknown): void => {
      if (Array.isArray(schema)) return schema.forEach(check);
      if (schema === null || typeof schema !== 'object') return;
      const s = schema as Record<string, unknown>;
      if (s.type === 'record') {
        const shortName = String(s.name);
        const body = new RegExp(`export interface ${shortName} \\{([\\s\\S]*?)\\n\\}`).exec(generated);
        assert.ok(body, `interface ${shortName}`);
        const declared = [...body[1].matchAll(/^ {2}(\w+): /gm)].map((m) => m[1]);
        const fields = s.fields as Array<Record<string, unknown>>;
        assert.deepEqual(declared, fields.map((f) => f.name), shortName);
        fields.forEach((f) => check(f.type));
      }
      if (s.type === 'array') check(s.items);
      if (s.type === 'map') check(s.values);
    };
    for (const name of SCHEMA_NAMES) check(loadSchemaJson(name));
  });

  it('decoded values fit the generated types (compile-time and runtime)', () => {
    const sample = listSamples('post').find((s) => s.version === latestVersion('post'));
    assert.ok(sample);
    const value: SchemaRecords['post'] = decodeStrict<Post>(loadSchema('post'), readSampleBinary(sample));
    const createdAt: number = value.created_at;
    const tags: string[] = value.topic_tags;
    assert.equal(typeof createdAt, 'number');
    assert.ok(Array.isArray(tags));
    const m: Mention = {
      text: '北京',
      label: 'GPE.NAM',
      type: 'GPE',
      kind: 'NAM',
      start: 0,
      end: 2,
      start_utf16: 0,
      end_utf16: 2,
      confidence: 0.5,
    };
    assert.ok(loadSchema('mentions').isValid({ post_id: 'p', created_at: 0, mentions: [m], model: { id: 'a', version: 'b' }, processed_at: 0 }));
  });
});
