/**
 * The worker on CPUs other than this machine's. This machine has AVX-512
 * (with BF16 and VNNI), so the C kernel's avx2 engine is chosen here only
 * when a test forces it, and the paths for older CPUs never run. QEMU's
 * user-mode emulator (Debian's qemu-user; .ci/run installs it) runs the real
 * CLI, addon and libtensorflow under a CPU model that lacks those features:
 * - Haswell (AVX2 and FMA, no AVX-512): the C kernel dispatches to its avx2
 *   engine by itself and gives the mentions, confidences included, of this
 *   machine's avx512 engine; bfloat16 and int8 are refused with exit 2.
 * - Nehalem (SSE4.2, no AVX): libtensorflow is compiled for AVX, and loading
 *   it used to kill the process with SIGILL. The native backend is now
 *   refused before the load (models/backend.ts): `auto` falls back to WASM
 *   with a warning and tags the same spans; `--backend native` stops with one
 *   line and exit 1. Against the real broker, the worker on WASM there writes
 *   every output, drains on SIGTERM and commits everything (README, failure model).
 * Emulation says nothing about speed; it checks what runs and what comes out.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { defaultModelDir, projectRoot } from '../../cli/defaults.js';
import { cpuFeatures, tensorflowCpuProblem } from '../../models/backend.js';
import { nativeAddon } from '../../schemas/nativeAddon.js';
import {
  committedOffsets,
  createTestTopics,
  deleteTestTopics,
  endOffsets,
  inputRecords,
  KAFKA_SKIP,
  kafkaBrokers,
  OutputCollector,
  produceRecords,
  runArgs,
  spawnCli,
  within,
} from '../support/kafka.js';

const main = join(projectRoot(), 'dist', 'cli', 'main.js');
const QEMU = 'qemu-x86_64';
const qemuMissing = spawnSync(QEMU, ['--version']).status !== 0 ? `${QEMU} is not installed (Debian's qemu-user; .ci/run installs it)` : undefined;

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** stderr without QEMU's notes on CPU features its emulator leaves out. */
  stderr: string;
}

/** `mentionflow run ARGS` (the embedded sample posts) natively, or under QEMU with CPU model `cpu`. */
function run(cpu: string | null, ...args: string[]): Run {
  const command = cpu === null ? [process.execPath, main, 'run', ...args] : [QEMU, '-cpu', cpu, process.execPath, main, 'run', ...args];
  // MENTIONFLOW_BACKEND: the default a user gets (the suite may run with it set to native).
  const env = { ...process.env, MENTIONFLOW_BROKERS: '', MENTIONFLOW_BACKEND: 'auto' };
  const r = spawnSync(command[0]!, command.slice(1), { encoding: 'utf8', timeout: 150_000, env });
  const stderr = r.stderr
    .split('\n')
    .filter((line) => !line.startsWith('qemu-x86_64: warning: TCG doesn'))
    .join('\n');
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr };
}

/** Each output record's post id and mentions (label, code-point span, and the confidence when asked). */
function mentions(stdout: string, withConfidence: boolean): string[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => {
      const record = JSON.parse(line) as { post_id: string; mentions: { label: string; start: number; end: number; confidence: number }[] };
      return `${record.post_id} ${JSON.stringify(record.mentions.map((m) => (withConfidence ? [m.label, m.start, m.end, m.confidence] : [m.label, m.start, m.end])))}`;
    });
}

/** The `lstm` field of the worker's "worker started" log line. */
function lstmLog(stderr: string): { runsOn: string; precision: string } {
  const line = stderr.split('\n').find((l) => l.includes('"worker started"'));
  assert.ok(line !== undefined, `no "worker started" line in:\n${stderr}`);
  return (JSON.parse(line) as { lstm: { runsOn: string; precision: string } }).lstm;
}

describe('the CPU check before libtensorflow loads', () => {
  it('refuses the native backend only where AVX is missing', () => {
    assert.equal(tensorflowCpuProblem(['sse4.2', 'avx', 'avx2', 'fma']), undefined);
    assert.equal(tensorflowCpuProblem(['sse4.2', 'avx']), undefined);
    assert.equal(tensorflowCpuProblem(undefined), undefined, 'features unknown: the load is tried');
    assert.match(tensorflowCpuProblem(['sse4.2']) ?? '', /lacks AVX, which libtensorflow is compiled for/);
    assert.match(tensorflowCpuProblem([]) ?? '', /lacks AVX/);
  });

  it("reads this CPU's features as the kernel reports them", (t) => {
    if (process.arch !== 'x64') return t.skip('x86-64 only');
    if (nativeAddon() === null) return t.skip("mentionflow's addon is not built");
    const flags = new Set(/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim().split(/\s+/));
    const cpuinfo: Record<string, string> = { 'sse4.2': 'sse4_2', avx: 'avx', avx2: 'avx2', fma: 'fma', avx512f: 'avx512f', avx512bf16: 'avx512_bf16', avx512vnni: 'avx512_vnni' };
    const features = cpuFeatures();
    assert.ok(features !== undefined);
    for (const [name, flag] of Object.entries(cpuinfo)) assert.equal(features.includes(name), flags.has(flag), `${name} (/proc/cpuinfo: ${flag})`);
  });
});

describe('the worker under emulated CPUs (QEMU user mode)', { skip: qemuMissing }, () => {
  let here: Run = { status: null, signal: null, stdout: '', stderr: 'the reference run did not run' };
  before(() => {
    here = run(null);
  });
  it('runs natively first (the reference)', () => {
    assert.equal(here.status, 0, here.stderr);
    assert.equal(mentions(here.stdout, false).length, 40);
  });

  it('Haswell (AVX2, no AVX-512): the avx2 engine, inline and in a tagger thread, the same mentions and confidences', () => {
    if (nativeAddon() === null) return; // without the addon the LSTM runs on TensorFlow everywhere: nothing to dispatch
    for (const args of [[], ['--inference', 'thread']]) {
      const r = run('Haswell', ...args);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(lstmLog(r.stderr), { runsOn: 'c-avx2', precision: 'float32' }, args.join(' '));
      assert.deepEqual(mentions(r.stdout, true), mentions(here.stdout, true), args.join(' '));
    }
  });

  it('Haswell: bfloat16 and int8 are refused in one line, exit 2', () => {
    if (nativeAddon() === null) return;
    for (const [precision, feature] of [
      ['bfloat16', 'AVX512_BF16'],
      ['int8', 'AVX512_VNNI'],
    ] as const) {
      const r = run('Haswell', '--precision', precision);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.trim(), `mentionflow run: precision ${precision} cannot run here: this CPU lacks ${feature}; use precision float32`);
      assert.equal(r.stdout, '');
    }
  });

  it('Nehalem (no AVX): auto falls back to WASM with a warning, no SIGILL, the same spans', () => {
    const r = run('Nehalem');
    assert.equal(r.signal, null, `killed by ${String(r.signal)}:\n${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /falling back to the wasm backend \(native: this CPU lacks AVX, which libtensorflow is compiled for/);
    assert.equal(lstmLog(r.stderr).runsOn, 'tensorflow');
    assert.deepEqual(mentions(r.stdout, false), mentions(here.stdout, false));
  });

  it('Nehalem: --backend native stops with one line, exit 1', () => {
    const r = run('Nehalem', '--backend', 'native');
    assert.equal(r.signal, null, `killed by ${String(r.signal)}:\n${r.stderr}`);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(
      r.stderr.trim(),
      'mentionflow run: backend "native" is not available: this CPU lacks AVX, which libtensorflow is compiled for (loading it would stop the process with an illegal instruction). Pass --backend wasm (or cpu) on this machine, or run it on a CPU with AVX.',
    );
    assert.equal(r.stdout, '');
  });
});

describe('a worker on a CPU without AVX, against the real broker (QEMU Nehalem)', { skip: qemuMissing ?? (kafkaBrokers() === undefined ? KAFKA_SKIP : undefined) }, () => {
  it('tags on WASM: every post gets its output, bad ones a dead letter, SIGTERM drains and commits', { timeout: 300_000 }, async (t) => {
    const brokers = kafkaBrokers()!;
    const topics = await createTestTopics(brokers, 'cpu-no-avx');
    t.after(() => deleteTestTopics(brokers, topics));
    const { records, ids, badKeys } = inputRecords(120, 'no-avx', 40);
    await produceRecords(brokers, topics.input, records);
    const collector = OutputCollector.start(brokers, topics);
    t.after(() => collector.stop());
    // The production default session (30 s; runArgs' 6 s is for fast tests): under emulation a batch on WASM
    // can hold the event loop long enough for a 6 s session to lapse, and the group then evicts the worker.
    const args = runArgs(brokers, topics, defaultModelDir()).map((arg, i, all) => (all[i - 1] === '--session-timeout-ms' ? '30000' : arg));
    const worker = spawnCli(args, { MENTIONFLOW_BACKEND: 'auto' }, [QEMU, '-cpu', 'Nehalem']);
    t.after(() => worker.kill());
    await worker.waitForStderr(/"worker started"/, 180_000);
    assert.match(worker.stderr, /falling back to the wasm backend \(native: this CPU lacks AVX, which libtensorflow is compiled for/);
    await collector.waitForAll(ids, badKeys, 180_000);
    assert.doesNotMatch(worker.stderr, /not aware of this member/, 'the worker was evicted from its group');
    worker.kill('SIGTERM');
    const exit = await within(worker.exited, 90_000, 'the worker to drain and stop');
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, worker.stderr.slice(-3000));
    await collector.settle(1_000, 10_000);
    assert.deepEqual(collector.duplicates(), [], 'nothing written twice');
    assert.equal(collector.total, ids.length + badKeys.length);
    const [committed, end] = await Promise.all([committedOffsets(brokers, topics.group, topics.input), endOffsets(brokers, topics.input)]);
    assert.deepEqual(committed, end, `every input committed; the worker's log:\n${worker.stderr.slice(-6000)}`);
  });
});
