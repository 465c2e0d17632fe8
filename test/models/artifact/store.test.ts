import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, ModelArtifactError } from '../../../common/errors.js';
import { readArtifact } from '../../../models/artifact/load.js';
import { HISTORY_FILE, ModelStore, SERVING_FILE, versionName } from '../../../models/artifact/store.js';
import { saveTinyModel } from '../../support/kafka.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'mf-store-'));

test('a store adds verified artifacts, promotes atomically and keeps the history', async () => {
  const model = await saveTinyModel(join(tmp(), 'model'));
  const { manifest } = await readArtifact(model);
  const store = await ModelStore.open(join(tmp(), 'store'), { create: true });
  assert.equal(await store.serving(), undefined);
  const a = await store.add(model);
  assert.equal(a, versionName(manifest.modelId, manifest.modelVersion));
  const b = await store.add(model, 'candidate-2');
  assert.deepEqual(await store.versions(), [a, 'candidate-2'].sort());
  await readArtifact(store.versionDir(b)); // the copy reads and verifies
  await assert.rejects(store.add(model, 'candidate-2'), ConfigError);
  await assert.rejects(store.promote('missing'), /no version missing/);
  const first = await store.promote(a, 'initial');
  assert.equal(first.previous, undefined);
  const second = await store.promote(b);
  assert.equal(second.previous, a);
  assert.equal((await store.serving())?.version, b);
  assert.equal(await store.servingDir(), store.versionDir(b));
  const history = readFileSync(join(store.dir, HISTORY_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { version: string });
  assert.deepEqual(history.map((h) => h.version), [a, b]);
});

test('a corrupt artifact is refused and adds nothing; bad names and a missing store are ConfigErrors', async () => {
  const model = await saveTinyModel(join(tmp(), 'model'));
  const weights = join(model, 'weights.bin');
  const bytes = readFileSync(weights);
  bytes[10] ^= 0xff;
  writeFileSync(weights, bytes);
  const store = await ModelStore.open(join(tmp(), 'store'), { create: true });
  await assert.rejects(store.add(model, 'bad'), ModelArtifactError);
  assert.deepEqual(await store.versions(), []);
  assert.throws(() => store.versionDir('../escape'), ConfigError);
  await assert.rejects(ModelStore.open(join(tmp(), 'nothing-here')), /not a model store/);
  writeFileSync(join(store.dir, SERVING_FILE), '{"version":');
  await assert.rejects(store.serving(), ModelArtifactError);
});
