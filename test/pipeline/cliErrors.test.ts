/**
 * Bad configuration ends `mentionflow run` within seconds with one clear line
 * on stderr and a non-zero exit code. None of these needs a broker.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { saveTinyModel, spawnCli, within } from '../support/kafka.js';

let model: string;
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'mf-cli-errors-'));
  model = await saveTinyModel(join(work, 'model'));
});

/**
 * Time limits are generous because test machines can be heavily loaded (the
 * same checks take 1-4 s on an idle machine, mostly loading the native
 * TensorFlow backend).
 */
const QUICK_MS = 15_000;
const WITH_MODEL_MS = 25_000;

async function failsWith(args: string[], code: number | 'nonzero', re: RegExp, maxMs: number, env: Record<string, string> = {}): Promise<number> {
  const cli = spawnCli(args, env);
  const { code: got, ms } = await within(cli.exited, maxMs + 10_000, `mentionflow ${args.join(' ')} to exit`).finally(() => cli.kill());
  if (code === 'nonzero') assert.notEqual(got, 0, cli.stderr);
  else assert.equal(got, code, cli.stderr);
  // One line saying what is wrong (parse errors add a pointer to --help).
  const lines = cli.stderr.trim().split('\n');
  assert.ok(lines.length === 1 || (lines.length === 2 && lines[1].startsWith('run `mentionflow run --help`')), `expected one line on stderr, got:\n${cli.stderr}`);
  assert.match(lines[0], re);
  assert.ok(ms < maxMs, `took ${ms} ms (limit ${maxMs} ms)`);
  assert.equal(cli.stdout, '');
  return ms;
}

test('an unknown option: exit 2 naming it', async (t) => {
  const ms = await failsWith(['run', '--bogus-option', 'x'], 2, /^mentionflow run: unknown option '--bogus-option'; run `mentionflow run --help` for the options$/, QUICK_MS);
  t.diagnostic(`${ms} ms`);
});

test('an unknown key in the --config file: exit 2 listing the known keys', async (t) => {
  const file = join(work, 'worker.json');
  writeFileSync(file, JSON.stringify({ brokers: ['127.0.0.1:1'], inputTopc: 'posts' }));
  const ms = await failsWith(['run', '--config', file], 2, /unknown option "inputTopc" \(did you mean "inputTopic"\?\); known options: brokers, /, QUICK_MS);
  t.diagnostic(`${ms} ms`);
});

test('a bad value in the environment: exit 2 naming the variable', async () => {
  await failsWith(['run'], 2, /environment variable MENTIONFLOW_MAX_IN_FLIGHT must be an integer/, QUICK_MS, { MENTIONFLOW_MAX_IN_FLIGHT: 'many' });
});

test('an unreachable broker (127.0.0.1:1): non-zero exit within seconds', async (t) => {
  const ms = await failsWith(
    ['run', '--brokers', '127.0.0.1:1', '--model', model, '--connection-timeout-ms', '1000'],
    1,
    /^mentionflow run: cannot reach Kafka at 127\.0\.0\.1:1: .*ECONNREFUSED.*; check --brokers/,
    WITH_MODEL_MS,
  );
  t.diagnostic(`${ms} ms`);
});

test('a "broker" that accepts connections but never answers: non-zero exit within a few connection timeouts', async (t) => {
  // A TCP listener that reads and never writes: kafkajs connects at once, then waits for an answer.
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as AddressInfo;
  try {
    const ms = await failsWith(
      ['run', '--brokers', `127.0.0.1:${port}`, '--model', model, '--connection-timeout-ms', '1000'],
      1,
      new RegExp(`^mentionflow run: cannot reach Kafka at 127\\.0\\.0\\.1:${port}: the connection was accepted but no Kafka answer came within 1000 ms .*; check --brokers`),
      WITH_MODEL_MS,
    );
    t.diagnostic(`${ms} ms (two attempts of the 1,000 ms connection timeout each, after loading the model)`);
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

test('a missing model directory fails before connecting (the broker is not even tried)', async (t) => {
  const ms = await failsWith(['run', '--brokers', '127.0.0.1:1', '--model', join(work, 'no-such-model')], 2, /^mentionflow run: model directory .*no-such-model: no such directory$/, WITH_MODEL_MS);
  t.diagnostic(`${ms} ms`);
});

test('a corrupt model (truncated weights): non-zero exit naming the artifact', async (t) => {
  const corrupt = join(work, 'corrupt');
  cpSync(model, corrupt, { recursive: true });
  const weights = join(corrupt, 'weights.bin');
  truncateSync(weights, Math.floor(statSync(weights).size / 2));
  const ms = await failsWith(['run', '--model', corrupt], 'nonzero', /^mentionflow run: model artifact .*corrupt/, WITH_MODEL_MS);
  t.diagnostic(`${ms} ms`);
});

test('a model whose manifest is not JSON: non-zero exit naming the artifact', async () => {
  const broken = join(work, 'broken-manifest');
  cpSync(model, broken, { recursive: true });
  writeFileSync(join(broken, 'manifest.json'), '{ not json');
  await failsWith(['run', '--model', broken], 'nonzero', /^mentionflow run: model artifact .*broken-manifest/, WITH_MODEL_MS);
});

test('embedded mode with a missing --input file', async () => {
  await failsWith(['run', '--model', model, '--input', join(work, 'none.ndjson')], 2, /input file .*none\.ndjson not found; pass --input FILE/, QUICK_MS);
});
