/**
 * The per-host default transactional id: concurrent workers of one group get
 * different slots; a slot is free again once its holder released it or died
 * (SIGKILL), so a restarted worker takes over its predecessor's id.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { claimTransactionalId } from '../../pipeline/kafka/transactionalId.js';
import { uniqueName } from '../support/kafka.js';

test('two claims on one host get slots 0 and 1; a released slot is reused', async () => {
  const groupId = uniqueName('txid');
  const a = await claimTransactionalId({ groupId, host: 'h' });
  const b = await claimTransactionalId({ groupId, host: 'h' });
  try {
    assert.equal(a.transactionalId, `${groupId}-h-0`);
    assert.equal(b.transactionalId, `${groupId}-h-1`);
    await a.release();
    const c = await claimTransactionalId({ groupId, host: 'h' });
    assert.equal(c.slot, 0, 'the lowest free slot');
    await c.release();
  } finally {
    await a.release().catch(() => undefined);
    await b.release();
  }
});

test('other groups have their own slots', async () => {
  const a = await claimTransactionalId({ groupId: uniqueName('txid-a') });
  const b = await claimTransactionalId({ groupId: uniqueName('txid-b') });
  try {
    assert.equal(a.slot, 0);
    assert.equal(b.slot, 0);
  } finally {
    await a.release();
    await b.release();
  }
});

test('a slot held by a process killed with SIGKILL is free at once', { timeout: 30_000 }, async () => {
  const groupId = uniqueName('txid-kill');
  const moduleUrl = new URL('../../pipeline/kafka/transactionalId.js', import.meta.url).href;
  const holder = spawn(
    process.execPath,
    ['--input-type=module', '-e', `const m = await import(${JSON.stringify(moduleUrl)}); const c = await m.claimTransactionalId({ groupId: ${JSON.stringify(groupId)} }); console.log(c.slot); setInterval(() => {}, 1000);`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise((resolve) => holder.on('exit', resolve));
  try {
    const slot = await new Promise<string>((resolve, reject) => {
      holder.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
      holder.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
    });
    assert.equal(slot, '0');
    const second = await claimTransactionalId({ groupId });
    assert.equal(second.slot, 1, 'slot 0 is held by the live child');
    await second.release();
    holder.kill('SIGKILL');
    await exited;
    const after = await claimTransactionalId({ groupId });
    assert.equal(after.slot, 0, 'the dead holder released slot 0');
    await after.release();
  } finally {
    holder.kill('SIGKILL');
  }
});
