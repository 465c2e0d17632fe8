/**
 * Concurrent `mentionflow promote` into one store (child processes, all
 * forced, so each goes straight to the store): they must not both win from
 * the same SERVING, nor leave the store half-written. Afterwards the history
 * is one chain (each line's `previous` is the line before's `version`),
 * SERVING is its last line, every promoted version is a complete artifact,
 * a promote that lost says so on one line with exit 1 and added nothing, and
 * no lock or temporary file is left.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readArtifact } from '../../models/artifact/load.js';
import { HISTORY_FILE, LOCK_FILE, ModelStore, SERVING_FILE, VERSIONS_DIR, type ServingPointer } from '../../models/artifact/store.js';
import { saveTinyModel, spawnCli, within } from '../support/kafka.js';

const PROMOTERS = 4;
const ROUNDS = 3;

test(`${PROMOTERS} concurrent promotes into one store, ${ROUNDS} rounds: one history chain, SERVING its end, losers add nothing, no lock left`, { timeout: 300_000 }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'mf-promote-race-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const model = await saveTinyModel(join(tmp, 'model'));
  const store = await ModelStore.open(join(tmp, 'store'), { create: true });
  await store.add(model, 'v0');
  await store.promote('v0', 'start');

  let won = 0;
  const lostLines: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const procs = Array.from({ length: PROMOTERS }, (_, k) => spawnCli(['promote', '--store', store.dir, '--candidate', model, '--name', `r${round}-c${k}`, '--force']));
    const exits = await within(Promise.all(procs.map((p) => p.exited)), 240_000, 'the promotes to end');
    exits.forEach((e, k) => {
      const p = procs[k];
      if (e.code === 0) {
        won++;
        assert.match(p.stdout, /^promoted r\d-c\d in /, p.stdout);
      } else {
        assert.equal(e.code, 1, `promote ${k} exits 0 or 1: ${p.stderr}`);
        const lines = p.stderr.trim().split('\n');
        assert.equal(lines.length, 1, `one line on stderr: ${p.stderr}`);
        assert.match(lines[0], /SERVING moved|is locked by pid/);
        lostLines.push(lines[0]);
      }
    });
  }

  const history = readFileSync(join(store.dir, HISTORY_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ServingPointer);
  assert.equal(history.length, 1 + won, `one history line per winning promote (${won} won)`);
  for (let i = 1; i < history.length; i++) assert.equal(history[i].previous, history[i - 1].version, `history line ${i + 1} follows line ${i}: ${JSON.stringify(history.slice(i - 1, i + 1))}`);
  const serving = JSON.parse(readFileSync(join(store.dir, SERVING_FILE), 'utf8')) as ServingPointer;
  assert.deepEqual(serving, history.at(-1), 'SERVING is the last history line');
  const versions = await store.versions();
  assert.deepEqual(versions, history.map((h) => h.version).sort(), 'versions/ holds exactly the promoted versions (the losers added nothing)');
  for (const v of versions) await readArtifact(store.versionDir(v)); // each one complete and verified
  assert.deepEqual(readdirSync(join(store.dir, VERSIONS_DIR)).filter((n) => n.startsWith('.')), [], 'no temporary copy left in versions/');
  assert.deepEqual(readdirSync(store.dir).filter((n) => n.endsWith('.tmp')), [], 'no temporary SERVING left');
  assert.equal(existsSync(join(store.dir, LOCK_FILE)), false, 'no lock left');
  assert.ok(won >= ROUNDS, `at least one promote won each round (${won})`);
  t.diagnostic(`${ROUNDS * PROMOTERS} promotes, ${won} won, ${lostLines.length} lost: ${[...new Set(lostLines.map((l) => l.replace(/r\d-c\d|pid \d+|since \S+|\/\S+/g, '_')))].join(' | ')}`);
});

test('promote into a store another live process holds: exit 1, one line naming the holder and LOCK, nothing changed; a dead holder\'s lock is taken over', { timeout: 120_000 }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'mf-promote-lock-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const model = await saveTinyModel(join(tmp, 'model'));
  const store = await ModelStore.open(join(tmp, 'store'), { create: true });
  await store.add(model, 'v0');
  await store.promote('v0', 'start');
  const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  t.after(() => holder.kill('SIGKILL'));
  const lock = join(store.dir, LOCK_FILE);
  writeFileSync(lock, `${JSON.stringify({ pid: holder.pid, host: hostname(), since: '2026-12-03T10:00:00.000Z', what: 'promote' })}\n`);
  const before = readFileSync(join(store.dir, HISTORY_FILE), 'utf8');

  const blocked = spawnCli(['promote', '--store', store.dir, '--candidate', model, '--name', 'v1', '--force', '--lock-wait-ms', '300']);
  const exit = await within(blocked.exited, 60_000, 'promote to end');
  assert.equal(exit.code, 1, blocked.stderr);
  assert.equal(blocked.stderr, `mentionflow promote: model store ${store.dir} is locked by pid ${holder.pid} since 2026-12-03T10:00:00.000Z (promote); retry, or remove ${lock} if that process is gone\n`);
  assert.equal(readFileSync(join(store.dir, HISTORY_FILE), 'utf8'), before, 'history unchanged');
  assert.deepEqual(await store.versions(), ['v0'], 'nothing added');

  holder.kill('SIGKILL');
  await new Promise((r) => holder.on('exit', r));
  const after = spawnCli(['promote', '--store', store.dir, '--candidate', model, '--name', 'v1', '--force', '--lock-wait-ms', '300']);
  assert.equal((await within(after.exited, 60_000, 'promote to end')).code, 0, after.stderr);
  assert.equal((await store.serving())?.version, 'v1');
  assert.equal(existsSync(lock), false, 'the stale lock was taken over and released');
});
