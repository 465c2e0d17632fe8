// Schema loading: files on disk, versions, caching, and house rules every .avsc must follow.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MentionflowError } from '../../common/errors.js';
import {
  SCHEMA_NAMES,
  latestVersion,
  listVersions,
  loadSchema,
  loadSchemaJson,
  resolvingDecoder,
  schemaPath,
  schemasDir,
} from '../../schemas/registry.js';
import type { SchemaName } from '../../schemas/registry.js';

const EXPECTED_RECORDS: Record<SchemaName, string> = {
  post: 'io.mentionflow.Post',
  mentions: 'io.mentionflow.PostMentions',
  deadletter: 'io.mentionflow.DeadLetter',
  example: 'io.mentionflow.LabeledExample',
  trends: 'io.mentionflow.EntityTrend',
  repartition: 'io.mentionflow.EntityMention',
};

describe('schema registry', () => {
  it('finds the source schemas/ directory from the compiled module in dist/', () => {
    const dir = schemasDir();
    assert.equal(path.basename(dir), 'schemas');
    assert.ok(existsSync(path.join(dir, '..', 'package.json')), `${dir} is not at the project root`);
    assert.ok(!dir.split(path.sep).includes('dist'), `${dir} is inside dist/`);
  });

  it('lists versions and the latest one', () => {
    assert.deepEqual(listVersions('post'), [1, 2]);
    assert.equal(latestVersion('post'), 2);
    assert.deepEqual(listVersions('mentions'), [1, 2]);
    assert.equal(latestVersion('mentions'), 2);
    assert.deepEqual(listVersions('repartition'), [1, 2]);
    assert.equal(latestVersion('repartition'), 2);
    for (const name of ['deadletter', 'example', 'trends'] as const) assert.equal(latestVersion(name), 1);
  });

  it('versions are contiguous from 1 (old versions are never deleted)', () => {
    for (const name of SCHEMA_NAMES) {
      const versions = listVersions(name);
      assert.deepEqual(versions, versions.map((_, i) => i + 1), `${name}: ${versions.join(',')}`);
    }
  });

  it('loads every version with the expected full name, latest by default, cached', () => {
    for (const name of SCHEMA_NAMES) {
      for (const version of listVersions(name)) {
        const type = loadSchema(name, version);
        assert.equal(type.name, EXPECTED_RECORDS[name], `${name} v${version}`);
        assert.equal(loadSchema(name, version), type, 'second load returns the cached type');
      }
      assert.equal(loadSchema(name), loadSchema(name, latestVersion(name)));
    }
  });

  it('decodes timestamp-millis as a plain number of epoch milliseconds', () => {
    const type = loadSchema('post', 1);
    const value = { id: '1', text: '早上好', author_id: 'a', created_at: 1700000000000, source: 'weibo' };
    const decoded = type.fromBuffer(type.toBuffer(value)) as { created_at: unknown };
    assert.equal(decoded.created_at, 1700000000000);
    assert.equal(typeof decoded.created_at, 'number');
  });

  it('rejects unknown names and versions with a MentionflowError that says what exists', () => {
    assert.throws(() => loadSchema('tweets' as SchemaName), (err: unknown) => {
      assert.ok(err instanceof MentionflowError);
      assert.match(err.message, /unknown schema "tweets".*post, mentions, deadletter, example, trends/);
      return true;
    });
    assert.throws(() => loadSchema('post', 9), /schema post has no version 9; available: 1, 2/);
    assert.throws(() => schemaPath('mentions', 0), /no version 0/);
    assert.throws(() => resolvingDecoder('post', 3, 1), /no version 3/);
  });

  describe('house rules for every .avsc', () => {
    for (const name of SCHEMA_NAMES) {
      for (const version of listVersions(name)) {
        it(`${name} v${version}: namespace io.mentionflow, docs on every record, enum and field`, () => {
          const json = loadSchemaJson(name, version);
          assert.equal(json.namespace, 'io.mentionflow');
          const missing: string[] = [];
          const walk = (schema: unknown, where: string): void => {
            if (Array.isArray(schema)) {
              schema.forEach((s) => walk(s, where));
              return;
            }
            if (schema === null || typeof schema !== 'object') return;
            const s = schema as Record<string, unknown>;
            if ((s.type === 'record' || s.type === 'enum') && !s.doc) missing.push(`${where} (${String(s.name)})`);
            if (s.type === 'record') {
              for (const field of s.fields as Array<Record<string, unknown>>) {
                const at = `${where}.${String(field.name)}`;
                if (typeof field.doc !== 'string' || field.doc.trim() === '') missing.push(at);
                walk(field.type, at);
              }
            }
            if (s.type === 'array') walk(s.items, `${where}[]`);
            if (s.type === 'map') walk(s.values, `${where}{}`);
          };
          walk(json, json.name);
          assert.deepEqual(missing, [], `missing doc: ${missing.join(', ')}`);
        });

        it(`${name} v${version}: timestamps are long/timestamp-millis, enums have a default`, () => {
          const text = JSON.stringify(loadSchemaJson(name, version));
          for (const m of text.matchAll(/"logicalType":"([^"]+)"/g)) assert.equal(m[1], 'timestamp-millis');
          for (const m of text.matchAll(/\{"type":"enum"[^}]*\}/g)) assert.match(m[0], /"default":"/, m[0]);
        });
      }
    }
  });
});
