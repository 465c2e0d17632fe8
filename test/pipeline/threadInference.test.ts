/**
 * --inference thread: the option in its three places, and the embedded file
 * mode end to end with the tagger in a worker thread (through startWorker
 * and through `mentionflow run`), against the same run with the tagger
 * in-process.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { defaultInput } from '../../cli/commands/run.js';
import { projectRoot } from '../../cli/defaults.js';
import { ConfigError } from '../../common/errors.js';
import type { BackendChoice } from '../../models/backend.js';
import { ThreadTagger } from '../../models/threadTagger.js';
import { createLogger } from '../../pipeline/ops/logger.js';
import { createPipelineMetrics } from '../../pipeline/ops/metrics.js';
import { readConfigFile, resolveWorkerConfig } from '../../pipeline/stream/config.js';
import { startWorker } from '../../pipeline/stream/worker.js';
import { spawnCli, within } from '../support/kafka.js';

const MODEL = join(projectRoot(), 'models', 'default');
const BACKEND = (process.env.MENTIONFLOW_BACKEND ?? 'auto') as BackendChoice;
const paths = { model: MODEL, input: defaultInput() };

test('inference: flag, MENTIONFLOW_INFERENCE and the config file key; a bad value says what to write', () => {
  const work = mkdtempSync(join(tmpdir(), 'mf-inference-config-'));
  const file = join(work, 'w.json');
  writeFileSync(file, JSON.stringify({ inference: 'thread' }));
  assert.equal(resolveWorkerConfig({ paths }).inference, 'inline');
  assert.equal(resolveWorkerConfig({ paths, file: readConfigFile(file) }).inference, 'thread');
  assert.equal(resolveWorkerConfig({ paths, env: { MENTIONFLOW_INFERENCE: 'thread' } }).inference, 'thread');
  assert.equal(resolveWorkerConfig({ paths, file: readConfigFile(file), flags: { inference: 'inline' } }).inference, 'inline');
  assert.throws(
    () => resolveWorkerConfig({ paths, flags: { inference: 'threads' } }),
    (err: unknown) => err instanceof ConfigError && err.message === '--inference must be one of inline, thread, got "threads" (did you mean "thread"?)',
  );
  assert.throws(
    () => resolveWorkerConfig({ paths, env: { MENTIONFLOW_INFERENCE: 'gpu' } }),
    (err: unknown) => err instanceof ConfigError && /environment variable MENTIONFLOW_INFERENCE must be one of inline, thread, got "gpu"/.test(err.message),
  );
});

interface Line {
  post_id: string;
  mentions: Array<Record<string, unknown> & { confidence: number }>;
  model: unknown;
  origin: unknown;
}

function lines(text: string): Line[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line);
}

/** Everything but the clock fields; confidences are compared separately (batch composition may differ by timing). */
function comparable(out: Line[]): unknown[] {
  return out.map((l) => ({ post_id: l.post_id, model: l.model, origin: l.origin, mentions: l.mentions.map(({ confidence: _c, ...m }) => m) }));
}

function assertSameOutputs(actual: Line[], expected: Line[]): void {
  assert.deepEqual(comparable(actual), comparable(expected));
  const a = actual.flatMap((l) => l.mentions.map((m) => m.confidence));
  const e = expected.flatMap((l) => l.mentions.map((m) => m.confidence));
  a.forEach((c, i) => assert.ok(Math.abs(c - e[i]) < 1e-5, `confidence ${i}: ${c} vs ${e[i]}`));
}

test('startWorker in file mode with a ThreadTagger: every sample post tagged, metrics report the thread\'s tensors', { timeout: 120_000 }, async () => {
  const config = resolveWorkerConfig({ paths, flags: { inference: 'thread', backend: BACKEND } });
  const tagger = await ThreadTagger.open(config.model, { backend: config.backend, batchSize: config.batchMaxCount });
  try {
    const metrics = createPipelineMetrics({ collectDefault: false, tensorMemory: () => tagger.memory() });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let dead = '';
    stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    stderr.on('data', (d: Buffer) => (dead += d.toString('utf8')));
    const logger = createLogger({ level: 'warn', stream: new PassThrough() });
    const worker = await startWorker({ config, tagger, logger, metrics, stdout, stderr });
    await within(worker.done, 60_000, 'the file-mode stream');
    const samples = lines(out);
    assert.equal(samples.length, 40);
    assert.equal(dead, '');
    assert.ok(samples.flatMap((l) => l.mentions).length > 20, 'mentions found');
    const expected = await tagger.memory();
    assert.ok(expected.numTensors > 0);
    const scraped = await metrics.registry.getSingleMetricAsString('mentionflow_tfjs_tensors');
    assert.match(scraped, new RegExp(`^mentionflow_tfjs_tensors ${expected.numTensors}$`, 'm'));
    const bytes = await metrics.registry.getSingleMetricAsString('mentionflow_tfjs_bytes');
    assert.match(bytes, new RegExp(`^mentionflow_tfjs_bytes ${expected.numBytes}$`, 'm'));
  } finally {
    await tagger.close();
  }
});

test('`mentionflow run --inference thread` (file mode) prints the same mentions as --inference inline, exit 0', { timeout: 180_000 }, async () => {
  const inline = spawnCli(['run', '--inference', 'inline', '--log-level', 'warn', '--backend', BACKEND]);
  const inlineExit = await within(inline.exited, 60_000, 'the inline run');
  assert.equal(inlineExit.code, 0, inline.stderr);
  const thread = spawnCli(['run', '--log-level', 'warn', '--backend', BACKEND], { MENTIONFLOW_INFERENCE: 'thread' });
  const threadExit = await within(thread.exited, 60_000, 'the thread run');
  assert.equal(threadExit.code, 0, thread.stderr);
  assert.equal(thread.stderr, '', 'no dead letters, warnings or TensorFlow log lines');
  const expected = lines(inline.stdout);
  assert.equal(expected.length, 40);
  assertSameOutputs(lines(thread.stdout), expected);
});

test('`mentionflow run --inference thread` with a directory that holds no model: the loader\'s one-line message, exit 1', { timeout: 60_000 }, async () => {
  // (a directory that does not exist is refused by the CLI before loading, exit 2: cliErrors.test.ts)
  const missing = mkdtempSync(join(tmpdir(), 'mf-no-model-'));
  const cli = spawnCli(['run', '--inference', 'thread', '--model', missing]);
  const { code } = await within(cli.exited, 30_000, 'the run');
  assert.equal(code, 1);
  assert.equal(cli.stderr.trim(), `mentionflow run: model artifact ${missing}: no manifest.json (is this a mentionflow model directory? train one with \`mentionflow train-ner\`)`);
});
