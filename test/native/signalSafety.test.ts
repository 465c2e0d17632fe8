/**
 * Signals during native inference must not corrupt the heap.
 *
 * oneDNN's AVX-512 f32 GEMM kernel, which TensorFlow's matrix products and
 * the fused BlockLSTM reach, runs with its stack pointer on a heap workspace.
 * A signal handled on that thread meanwhile (e.g. the worker's SIGTERM) had
 * the kernel push its signal frame into the heap in front of the workspace:
 * glibc then aborted ("corrupted size vs. prev_size while consolidating").
 * The tfjs-node binding is patched to block asynchronous signals while
 * TensorFlow executes (deploy/native/patches/). This test tags on the main
 * thread while a storm of handled signals arrives; before the patch the child
 * died within seconds in every run on this machine (AVX-512). On a CPU
 * without AVX-512 the kernel keeps to the real stack and the test cannot
 * tell the difference; it says so.
 *
 * glibc's malloc checking (libc_malloc_debug.so, when present) makes a
 * corrupted heap abort at the next free instead of at some later point.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../cli/defaults.js';
import { activeBackend } from '../../models/backend.js';
import { testBackend } from '../support/backend.js';

const MALLOC_DEBUG = '/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0';
const avx512 = (): boolean => {
  try {
    return /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
};

test('inline inference survives a storm of signals (no heap corruption)', { timeout: 180_000 }, async (t) => {
  await testBackend();
  if (activeBackend() !== 'native') {
    t.skip('needs the native TensorFlow backend');
    return;
  }
  if (!avx512()) t.diagnostic('this CPU has no AVX-512: the GEMM kernel keeps to the real stack, so the defect cannot show here');
  const child = spawn(process.execPath, [join(projectRoot(), 'dist', 'test', 'support', 'signalStormChild.js'), '150'], {
    env: { ...process.env, ...(existsSync(MALLOC_DEBUG) ? { LD_PRELOAD: MALLOC_DEBUG, MALLOC_CHECK_: '3' } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + 60_000;
  while (!stdout.includes('ready') && !done && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(stdout.includes('ready'), `the child did not get ready: ${stderr.slice(-500)}`);
  // Bounded: at most 20,000 signals, one every ~2 ms, until the child exits.
  let sent = 0;
  while (!done && sent < 20_000 && !stdout.includes('"batches"')) {
    child.kill('SIGUSR2');
    sent++;
    await new Promise((r) => setTimeout(r, 2));
  }
  const { code, signal } = await exited;
  assert.equal(signal, null, `the child was killed by ${signal} after ${sent} signals: ${stderr.slice(-800)}`);
  assert.equal(code, 0, `the child exited with ${code} after ${sent} signals: ${stderr.slice(-800)}`);
  const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { batches: number; signals: number };
  assert.equal(result.batches, 150);
  assert.ok(result.signals > 100, `only ${result.signals} of ${sent} signals reached the handler`);
  t.diagnostic(`${sent} signals sent, ${result.signals} handled, ${result.batches} batches tagged`);
});
