import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, ModelArtifactError } from '../../../common/errors.js';
import { readArtifact } from '../../../models/artifact/load.js';
import { HISTORY_FILE, LOCK_FILE, ModelStore, SERVING_FILE, StoreLockedError, versionName } from '../../../models/artifact/store.js';
import { saveTinyModel } from '../../support/kafka.js';
import { corruptWeights } from '../../support/tiny.js';

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
  corruptWeights(model);
  const store = await ModelStore.open(join(tmp(), 'store'), { create: true });
  await assert.rejects(store.add(model, 'bad'), ModelArtifactError);
  assert.deepEqual(await store.versions(), []);
  assert.throws(() => store.versionDir('../escape'), ConfigError);
  await assert.rejects(ModelStore.open(join(tmp(), 'nothing-here')), /not a model store/);
  writeFileSync(join(store.dir, SERVING_FILE), '{"version":');
  await assert.rejects(store.serving(), ModelArtifactError);
});

/** A child process that runs until killed, and one that has exited (its pid is free). */
async function processes(): Promise<{ live: number; dead: number; stop: () => void }> {
  const live = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const gone = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((r) => gone.on('exit', r));
  return { live: live.pid as number, dead: gone.pid as number, stop: () => live.kill('SIGKILL') };
}

const lockText = (pid: number, host = hostname()): string => `${JSON.stringify({ pid, host, since: '2026-12-03T10:00:00.000Z', what: 'promote' })}\n`;

test('withLock: exclusive (a second holder is refused naming the first, or waits for it); released after, even on error', async () => {
  const store = await ModelStore.open(join(tmp(), 'store'), { create: true });
  const lock = join(store.dir, LOCK_FILE);
  let inside = false;
  await store.withLock('first', async () => {
    inside = true;
    const held = JSON.parse(readFileSync(lock, 'utf8')) as { pid: number; what: string };
    assert.deepEqual([held.pid, held.what], [process.pid, 'first']);
    await assert.rejects(store.withLock('second', async () => assert.fail('ran while locked')), (err: unknown) => {
      assert.ok(err instanceof StoreLockedError);
      assert.equal(err.exitCode, 1);
      assert.match(err.message, new RegExp(`is locked by pid ${process.pid} since \\S+ \\(first\\); retry, or remove .*LOCK if that process is gone`));
      return true;
    });
  });
  assert.ok(inside);
  assert.equal(existsSync(lock), false, 'released');
  await assert.rejects(store.withLock('failing', async () => { throw new Error('boom'); }), /boom/);
  assert.equal(existsSync(lock), false, 'released after an error');
  // a waiter gets the lock once the holder lets go
  const order: string[] = [];
  let release = (): void => {};
  const first = store.withLock('a', () => new Promise<void>((r) => { order.push('a'); release = r; }));
  await new Promise((r) => setTimeout(r, 50));
  const second = store.withLock('b', async () => { order.push('b'); }, { waitMs: 5000, pollMs: 20 });
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(order, ['a'], 'b waits while a holds the lock');
  release();
  await Promise.all([first, second]);
  assert.deepEqual(order, ['a', 'b']);
});

test('withLock: a lock of a process that is gone is taken over; a live one, another host\'s, or a fresh unreadable one is not', async () => {
  const store = await ModelStore.open(join(tmp(), 'store'), { create: true });
  const lock = join(store.dir, LOCK_FILE);
  const p = await processes();
  try {
    writeFileSync(lock, lockText(p.dead));
    assert.equal(await store.withLock('t', async () => JSON.parse(readFileSync(lock, 'utf8')).pid as number), process.pid, 'stale lock taken over');
    assert.equal(existsSync(lock), false);

    writeFileSync(lock, lockText(p.live));
    await assert.rejects(store.withLock('t', async () => assert.fail('ran')), new RegExp(`locked by pid ${p.live} `));
    assert.equal(readFileSync(lock, 'utf8'), lockText(p.live), 'a live lock is left alone');

    writeFileSync(lock, lockText(p.dead, 'another-host'));
    await assert.rejects(store.withLock('t', async () => assert.fail('ran')), new RegExp(`locked by pid ${p.dead} on another-host `));

    writeFileSync(lock, '');
    await assert.rejects(store.withLock('t', async () => assert.fail('ran')), /locked by another process \(LOCK unreadable\)/);
    const old = (Date.now() - 120_000) / 1000;
    utimesSync(lock, old, old);
    assert.equal(await store.withLock('t', async () => 'ran'), 'ran', 'an unreadable lock older than a minute is taken over');
    assert.equal(existsSync(lock), false);
  } finally {
    p.stop();
  }
});
