/**
 * Every Kafka command over TLS + SASL/SCRAM: `run` (a worker: posts in,
 * mention records out), `produce`, `tail` and `archive` against a broker
 * with a SASL_SSL listener and a CA made here (test/support/secureBroker.ts),
 * with SCRAM-SHA-256 and SCRAM-SHA-512; and the three usual mistakes (a
 * wrong password, a CA that is not trusted, plaintext against the TLS port)
 * each end every command with a one-line error and a non-zero exit code.
 * One broker for the whole file, started in `before`, stopped in `after`.
 * Skipped, with the reason, without KAFKA_BROKERS, java or openssl.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import avro from 'avsc';
import { readPostsFile } from '../../cli/commands/produce.js';
import type { KafkaConnectionOptions } from '../../pipeline/kafka/client.js';
import { ensureTopic } from '../../pipeline/kafka/topicAdmin.js';
import { readTopic } from '../../pipeline/kafka/topicReader.js';
import { openTopicWriter } from '../../pipeline/kafka/topicWriter.js';
import { encodeStrict, loadSchema, schemasDir } from '../../schemas/registry.js';
import type { LabeledExample } from '../../schemas/types.generated.js';
import { encodePost, runArgs, saveTinyModel, spawnCli, testPost, uniqueName, within, type TestTopics } from '../support/kafka.js';
import { makeTestPki, secureBrokerSkip, startSecureBroker, type SecureBroker, type TestPki } from '../support/secureBroker.js';

const SKIP = secureBrokerSkip();
const USER = 'mentionflow-test';
const PASSWORD = 'sesame-7f3a';
const SAMPLES = join(schemasDir(), 'post', 'samples', 'posts.ndjson');

let dir: string;
let pki: TestPki;
let broker: SecureBroker | undefined;
let model: string;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI to the end (killed after `ms`), with the SASL password in its environment. */
async function cli(args: readonly string[], password = PASSWORD, ms = 60_000): Promise<CliResult> {
  const c = spawnCli(args, { MENTIONFLOW_SASL_PASSWORD: password });
  const closed = once(c.proc, 'close');
  try {
    await within(closed, ms, `mentionflow ${args.join(' ')}`);
  } finally {
    c.kill();
  }
  const { code, ms: took } = await c.exited;
  return { code, stdout: c.stdout, stderr: c.stderr, ms: took };
}

/** The connection flags for the SASL_SSL listener with `mechanism`, trusting the test CA. */
function secure(mechanism: 'scram-sha-256' | 'scram-sha-512'): string[] {
  return ['--brokers', (broker as SecureBroker).saslSsl, '--ssl-ca', pki.caFile, '--sasl-mechanism', mechanism, '--sasl-username', USER];
}

/** The same for the library functions. */
function connection(mechanism: 'scram-sha-256' | 'scram-sha-512'): KafkaConnectionOptions {
  return { brokers: [(broker as SecureBroker).saslSsl], sslCa: pki.caFile, saslMechanism: mechanism, saslUsername: USER, saslPassword: PASSWORD };
}

describe('Kafka commands over SASL_SSL (TLS with a test CA, SCRAM)', { skip: SKIP }, () => {
  before(
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'mf-secure-'));
      pki = await makeTestPki(dir);
      const [started, saved] = await Promise.all([startSecureBroker(pki, { [USER]: PASSWORD }, dir), saveTinyModel(join(dir, 'model'))]);
      broker = started;
      model = saved;
    },
    { timeout: 150_000 },
  );

  after(
    async () => {
      await broker?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
    { timeout: 60_000 },
  );

  test('produce (SCRAM-SHA-256) creates the topic and writes every post; a reader with SCRAM-SHA-512 gets them back', { timeout: 90_000 }, async () => {
    const topic = uniqueName('sec-produce');
    const r = await cli(['produce', ...secure('scram-sha-256'), '--topic', topic, '--create-topic', '--partitions', '2', '--input', SAMPLES, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const posts = await readPostsFile(SAMPLES);
    assert.match(r.stdout, new RegExp(`^produced ${posts.length} posts to ${topic} `));
    const keys: string[] = [];
    const read = await readTopic({ ...connection('scram-sha-512'), topic, groupId: uniqueName('sec-reader'), fromBeginning: true, max: posts.length, idleTimeoutMs: 20_000, onRecord: (rec) => void keys.push(rec.key?.toString('utf8') ?? '') });
    assert.equal(read.reason, 'max');
    assert.deepEqual(keys.sort(), posts.map((p) => p.id).sort());
  });

  test('run (SCRAM-SHA-512): posts in, one mention record per post out, read back by tail (SCRAM-SHA-256)', { timeout: 120_000 }, async () => {
    const t: TestTopics = { input: uniqueName('sec-in'), output: uniqueName('sec-out'), deadLetter: uniqueName('sec-dl'), group: uniqueName('sec-group') };
    for (const topic of [t.input, t.output, t.deadLetter]) await ensureTopic({ ...connection('scram-sha-256'), topic, partitions: 2 });
    const ids = Array.from({ length: 30 }, (_, i) => `sec-${i}`);
    const writer = await openTopicWriter({ ...connection('scram-sha-512'), topic: t.input });
    try {
      await writer.send(ids.map((id, i) => ({ key: id, value: encodePost(testPost(id, i)) })));
    } finally {
      await writer.close();
    }
    const worker = spawnCli(runArgs([(broker as SecureBroker).saslSsl], t, model, secure('scram-sha-512').slice(2)), { MENTIONFLOW_SASL_PASSWORD: PASSWORD });
    try {
      const tail = await cli(['tail', ...secure('scram-sha-256'), '--topic', t.output, '--from-beginning', '--max', String(ids.length), '--timeout-ms', '60000', '--json'], PASSWORD, 90_000);
      assert.equal(tail.code, 0, `${tail.stderr}\nworker: ${worker.stderr.slice(-2000)}`);
      const seen = tail.stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { record: { post_id: string } }).record.post_id);
      assert.deepEqual(seen.sort(), [...ids].sort());
      assert.match(tail.stderr, new RegExp(`tail: ${ids.length} record\\(s\\); stopped: reached --max`));
    } finally {
      worker.kill('SIGTERM');
    }
    const exit = await within(worker.exited, 45_000, 'the worker to stop on SIGTERM');
    assert.equal(exit.code, 0, worker.stderr.slice(-2000));
    assert.match(worker.stderr, /"msg":"connected to Kafka"/);
    assert.ok(!worker.stderr.includes(PASSWORD), 'the SASL password must not be logged');
  });

  test('archive --from-topic (SCRAM-SHA-512) dumps the LabeledExample records of a topic', { timeout: 90_000 }, async () => {
    const topic = uniqueName('sec-examples');
    await ensureTopic({ ...connection('scram-sha-512'), topic, partitions: 1 });
    const type = loadSchema('example');
    const examples: LabeledExample[] = Array.from({ length: 5 }, (_, i) => ({
      id: `ex-${i}`,
      text: '张三在北京工作',
      spans: [{ start: 0, end: 2, label: 'PER.NAM' }],
      segmentation: null,
      source: 'weibo',
      created_at: 1_700_000_000_000 + i,
    }));
    const writer = await openTopicWriter({ ...connection('scram-sha-256'), topic });
    try {
      await writer.send(examples.map((e) => ({ key: e.id, value: encodeStrict(type, e) })));
    } finally {
      await writer.close();
    }
    const output = join(dir, `${topic}.avro`);
    const r = await cli(['archive', ...secure('scram-sha-512'), '--from-topic', topic, '--output', output]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^archived 5 example\\(s\\) from topic ${topic} to `));
    const ids: string[] = [];
    const decoder = createReadStream(output).pipe(new avro.streams.BlockDecoder());
    decoder.on('data', (e: LabeledExample) => ids.push(e.id));
    await within(once(decoder, 'end'), 10_000, 'the archive to be read');
    assert.deepEqual(ids, examples.map((e) => e.id));
  });

  /** Each command, run against the secured broker with `flags` (and `password`), up to where it connects. */
  function commands(flags: string[]): Array<[string, string[]]> {
    const t: TestTopics = { input: 'sec-none-in', output: 'sec-none-out', deadLetter: 'sec-none-dl', group: 'sec-none' };
    return [
      ['run', [...runArgs([(broker as SecureBroker).saslSsl], t, model, flags.slice(2)), '--log-level', 'warn']],
      ['produce', ['produce', ...flags, '--topic', 'sec-none', '--input', SAMPLES, '--quiet']],
      ['tail', ['tail', ...flags, '--topic', 'sec-none', '--max', '1']],
      ['archive', ['archive', ...flags, '--from-topic', 'sec-none', '--output', join(dir, 'none.avro')]],
    ];
  }

  const mistakes: Array<{ name: string; flags: () => string[]; password: string; message: RegExp }> = [
    { name: 'a wrong password', flags: () => secure('scram-sha-256'), password: 'not-the-password', message: /SASL SCRAM SHA256 authentication failed/ },
    {
      name: 'a CA that is not trusted (no --ssl-ca)',
      flags: () => ['--brokers', (broker as SecureBroker).saslSsl, '--ssl', '--sasl-mechanism', 'scram-sha-512', '--sasl-username', USER],
      password: PASSWORD,
      message: /self-signed certificate|unable to verify/,
    },
    { name: 'plaintext against the TLS port', flags: () => ['--brokers', (broker as SecureBroker).saslSsl], password: PASSWORD, message: /Closed connection|Connection closed|ECONNRESET/ },
  ];

  for (const mistake of mistakes) {
    test(`${mistake.name}: run, produce, tail and archive each fail with a one-line error`, { timeout: 120_000 }, async (t) => {
      const results = await Promise.all(commands(mistake.flags()).map(async ([name, args]) => [name, await cli(args, mistake.password, 60_000)] as const));
      for (const [name, r] of results) {
        t.diagnostic(`${name}: exit ${r.code} after ${r.ms} ms`);
        assert.equal(r.code, 1, `${name}: ${r.stderr}`);
        const lines = r.stderr.trimEnd().split('\n');
        const errors = lines.filter((line) => line.startsWith(`mentionflow ${name}: `));
        assert.equal(errors.length, 1, `${name}: one error line expected:\n${r.stderr}`);
        assert.equal(lines.at(-1), errors[0], `${name}: the error is the last line`);
        assert.match(errors[0], mistake.message, name);
        assert.match(errors[0], new RegExp(`${(broker as SecureBroker).saslSsl.replace(/\./g, '\\.')}`), `${name}: names the broker`);
        assert.doesNotMatch(r.stderr, /^\s+at /m, `${name}: no stack trace`);
        assert.ok(!r.stderr.includes(mistake.password), `${name}: the password is not printed`);
        // Only the worker logs (JSON lines) besides the error.
        if (name !== 'run') assert.equal(lines.length, 1, `${name}: nothing but the error:\n${r.stderr}`);
      }
    });
  }
});
