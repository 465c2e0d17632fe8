/**
 * The embedded mode: `mentionflow run` without brokers reads a posts file
 * (NDJSON or Avro container) through the same operators and prints NDJSON.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import avro from 'avsc';
import { defaultInput } from '../../cli/commands/run.js';
import { loadSchema } from '../../schemas/registry.js';
import type { Post } from '../../schemas/types.generated.js';
import { saveTinyModel, spawnCli, testPost, waitUntil, within, type Cli } from '../support/kafka.js';

let model: string;
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'mf-file-mode-'));
  model = await saveTinyModel(join(work, 'model'));
});

function ndjson(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('the sample posts (default --input): one PostMentions line per post on stdout, exit 0', { timeout: 60_000 }, async () => {
  const samples = ndjson(readFileSync(defaultInput(), 'utf8')) as unknown as Post[];
  const cli = spawnCli(['run', '--model', model, '--log-level', 'warn']);
  const { code } = await within(cli.exited, 30_000, 'the file mode run');
  assert.equal(code, 0, cli.stderr);
  const out = ndjson(cli.stdout);
  assert.deepEqual(
    out.map((m) => m.post_id),
    samples.map((p) => p.id),
  );
  const first = out[0] as { origin: { topic: string; partition: number; offset: number }; model: { id: string }; mentions: unknown[] };
  assert.equal(first.origin, null, 'origin is null for posts not read from Kafka (schema)');
  assert.equal(first.model.id, 'tiny');
  assert.ok(Array.isArray(first.mentions));
  assert.equal(cli.stderr, '', 'no dead letters, no warnings');
});

test('bad lines become dead letters (NDJSON, --dead-letter-file), good ones mentions', { timeout: 60_000 }, async () => {
  const input = join(work, 'mixed.ndjson');
  const lines = [
    JSON.stringify(testPost('a', 0)),
    'this is not json',
    '',
    JSON.stringify({ id: 'no-text' }),
    JSON.stringify(testPost('b', 1)),
  ];
  writeFileSync(input, lines.join('\n') + '\n');
  const deadLetterFile = join(work, 'dead.ndjson');
  const cli = spawnCli(['run', '--model', model, '--input', input, '--dead-letter-file', deadLetterFile, '--log-level', 'warn']);
  const { code } = await within(cli.exited, 30_000, 'the file mode run');
  assert.equal(code, 0, cli.stderr);
  assert.deepEqual(
    ndjson(cli.stdout).map((m) => m.post_id),
    ['a', 'b'],
  );
  const dead = ndjson(readFileSync(deadLetterFile, 'utf8'));
  assert.deepEqual(
    dead.map((d) => [d.source_offset, d.stage, d.error_class, Buffer.from(d.payload as string, 'base64').toString('utf8')]),
    [
      [2, 'decode', 'DecodeError', 'this is not json'],
      [4, 'decode', 'DecodeError', '{"id":"no-text"}'],
    ],
  );
  assert.equal(cli.stderr, '');
});

test('an Avro object container file (Post v1 records) gives the same outputs', { timeout: 60_000 }, async () => {
  const file = join(work, 'posts.avro');
  const encoder = avro.createFileEncoder(file, loadSchema('post', 1));
  const posts = [0, 1, 2].map((i) => {
    const { topic_tags: _t, geo: _g, ...v1 } = testPost(`avro-${i}`, i);
    return v1;
  });
  for (const p of posts) encoder.write(p);
  encoder.end();
  await once(encoder, 'finish');
  await new Promise((r) => setTimeout(r, 100)); // the file stream flushes after the encoder
  const cli = spawnCli(['run', '--model', model, '--input', file, '--log-level', 'warn']);
  const { code } = await within(cli.exited, 30_000, 'the file mode run');
  assert.equal(code, 0, cli.stderr);
  const out = ndjson(cli.stdout);
  assert.deepEqual(
    out.map((m) => m.post_id),
    ['avro-0', 'avro-1', 'avro-2'],
  );
  assert.equal((out[2] as { origin: unknown }).origin, null);
});

/** A posts file big enough that a run takes a while (`repeat` makes each text longer). */
function bigInput(lines: number, repeat = 1): string {
  const file = join(work, `big-${lines}-${repeat}.ndjson`);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const p = testPost(`big-${i}`, i);
    out.push(JSON.stringify({ ...p, text: p.text.repeat(repeat) }));
  }
  writeFileSync(file, out.join('\n') + '\n');
  return file;
}

test('SIGINT: stop reading, finish what is in flight, exit 0 with whole lines only', { timeout: 90_000 }, async () => {
  const input = bigInput(200_000);
  const cli = spawnCli(['run', '--model', model, '--input', input, '--log-level', 'info']);
  try {
    await waitUntil(() => cli.stdout.split('\n').length > 100, 60_000, 'the first outputs');
    cli.kill('SIGINT');
    const { code } = await within(cli.exited, 30_000, 'the worker to stop');
    assert.equal(code, 0, cli.stderr.slice(-2000));
    assert.match(cli.stderr, /"msg":"stopping: draining records in flight".*"signal":"SIGINT"/);
    const out = ndjson(cli.stdout);
    assert.ok(out.length < 200_000, 'stopped before the end of the file');
    // In order, no gaps: everything read before the stop was finished.
    out.forEach((m, i) => assert.equal(m.post_id, `big-${i}`));
  } finally {
    cli.kill();
  }
});

/**
 * A worker that cannot finish its drain: the dead-letter file is a FIFO that
 * nobody reads, so the first dead letter is never acknowledged.
 */
function stuckWorker(extra: string[] = []): Cli {
  const fifo = join(work, `stuck-${Date.now()}.fifo`);
  execFileSync('mkfifo', [fifo]);
  const input = join(work, 'stuck.ndjson');
  writeFileSync(input, ['garbage', ...[0, 1, 2].map((i) => JSON.stringify(testPost(`s-${i}`, i)))].join('\n') + '\n');
  return spawnCli(['run', '--model', model, '--input', input, '--dead-letter-file', fifo, '--log-level', 'info', ...extra]);
}

test('a second signal ends the process at once (by that signal)', { timeout: 60_000 }, async () => {
  const cli = stuckWorker();
  try {
    await cli.waitForStderr(/"msg":"worker started"/, 30_000);
    cli.kill('SIGTERM');
    await cli.waitForStderr(/"msg":"stopping: draining records in flight"/, 10_000);
    cli.kill('SIGINT');
    const { code, signal } = await within(cli.exited, 10_000, 'the worker to exit');
    assert.equal(signal, 'SIGINT', `exit code ${code}\n${cli.stderr.slice(-2000)}`);
    assert.match(cli.stderr, /second signal \(SIGINT\): exiting without waiting/);
  } finally {
    cli.kill();
  }
});

test('the graceful stop is bounded by --shutdown-timeout-ms', { timeout: 60_000 }, async () => {
  const cli = stuckWorker(['--shutdown-timeout-ms', '1500']);
  try {
    await cli.waitForStderr(/"msg":"worker started"/, 30_000);
    const signalled = Date.now();
    cli.kill('SIGTERM');
    const { code, signal } = await within(cli.exited, 15_000, 'the worker to give up');
    const ms = Date.now() - signalled;
    assert.equal(signal, 'SIGTERM', `exit code ${code}\n${cli.stderr.slice(-2000)}`);
    assert.match(cli.stderr, /graceful shutdown took longer than 1500 ms: exiting anyway/);
    assert.ok(ms >= 1400 && ms < 10_000, `exited ${ms} ms after the signal`);
  } finally {
    cli.kill();
  }
});
