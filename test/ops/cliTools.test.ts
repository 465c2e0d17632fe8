// produce/tail without a broker: the posts loader (NDJSON, Avro containers, errors),
// the tail line formats, broker option parsing, and option errors from the CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import avro from 'avsc';
import { ConfigError, CorpusFormatError } from '../../common/errors.js';
import { projectRoot } from '../../cli/defaults.js';
import { readPostsFile } from '../../cli/commands/produce.js';
import { formatDeadLetter, formatMentions } from '../../cli/commands/tail.js';
import { kafkaConnection } from '../../cli/kafkaConnection.js';
import { loadSchemaJson } from '../../schemas/registry.js';
import type { DeadLetter, PostMentions } from '../../schemas/types.generated.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mentionflow-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const V1_POST = { id: '1', text: '我在北京', author_id: 'a', created_at: 1700000000000, source: 'weibo', lang: null, reply_to: null, attributes: {} };

describe('readPostsFile', () => {
  it('NDJSON: fills defaults for omitted fields and skips blank lines', async () => {
    const file = path.join(dir, 'min.ndjson');
    writeFileSync(file, '\uFEFF{"id":"1","text":"你好","author_id":"a","created_at":1,"source":"weibo"}\n\n{"id":"2","text":"北京","author_id":"b","created_at":2,"source":"weibo","topic_tags":["x"]}\n');
    const posts = await readPostsFile(file);
    assert.deepEqual(
      posts.map((p) => p.id),
      ['1', '2'],
    );
  });

  it('NDJSON: a bad line is a CorpusFormatError naming file:line and the field', async () => {
    const file = path.join(dir, 'bad.ndjson');
    writeFileSync(file, '{"id":"1","text":"a","author_id":"a","created_at":1,"source":"weibo"}\n{"id":"2","text":3,"author_id":"a","created_at":1,"source":"weibo"}\n');
    await assert.rejects(readPostsFile(file), (err: Error) => err instanceof CorpusFormatError && err.message.startsWith(`${file}:2:`) && err.message.includes('text'));
    writeFileSync(file, '{"id":"1",\n');
    await assert.rejects(readPostsFile(file), (err: Error) => err instanceof CorpusFormatError && err.message.includes(':1: not JSON'));
  });

  it('NDJSON: v2-only fields fail against --schema-version 1', async () => {
    const file = path.join(dir, 'v2.ndjson');
    writeFileSync(file, `${JSON.stringify({ ...V1_POST, topic_tags: ['t'] })}\n`);
    await assert.rejects(readPostsFile(file, { version: 1 }), /undeclared field\(s\) topic_tags/);
    assert.equal((await readPostsFile(file, { version: 2 })).length, 1);
  });

  it('Avro container written with Post v1 (deflate) is detected and resolved into v2', async () => {
    const file = path.join(dir, 'posts-v1.avro');
    const encoder = avro.createFileEncoder(file, loadSchemaJson('post', 1) as never, { codec: 'deflate' });
    const closed = new Promise((resolve) => encoder.on('finish', resolve));
    encoder.write(V1_POST);
    encoder.write({ ...V1_POST, id: '2', reply_to: '1', attributes: { client: 'iPhone' } });
    encoder.end();
    await closed;
    await new Promise((r) => setTimeout(r, 50)); // the file stream flushes after the encoder finishes
    const posts = await readPostsFile(file);
    assert.equal(posts.length, 2);
    assert.deepEqual({ ...posts[1] }, { ...V1_POST, id: '2', reply_to: '1', attributes: { client: 'iPhone' }, topic_tags: [], geo: null });
    assert.equal((await readPostsFile(file, { format: 'avro' })).length, 2);
  });

  it('--format avro on a non-container file, and a missing file, are errors', async () => {
    const file = path.join(dir, 'x.ndjson');
    writeFileSync(file, `${JSON.stringify(V1_POST)}\n`);
    await assert.rejects(readPostsFile(file, { format: 'avro' }), CorpusFormatError);
    await assert.rejects(readPostsFile(path.join(dir, 'missing.ndjson')), ConfigError);
  });
});

describe('tail line formats', () => {
  it('mentions: post id, then [TYPE.KIND text start-end confidence] per mention', () => {
    const rec: PostMentions = {
      post_id: '123',
      created_at: 0,
      origin: null,
      model: { id: 'm', version: '1' },
      processed_at: 0,
      latency_ms: null,
      mentions: [
        { text: '张三', label: 'PER.NAM', type: 'PER', kind: 'NAM', start: 0, end: 2, start_utf16: 0, end_utf16: 2, confidence: 0.9712 },
        { text: '北京', label: 'GPE.NAM', type: 'GPE', kind: 'NAM', start: 3, end: 5, start_utf16: 3, end_utf16: 5, confidence: 0.99 },
      ],
    };
    assert.equal(formatMentions(rec), 'post 123 [PER.NAM 张三 0-2 0.97] [GPE.NAM 北京 3-5 0.99]');
    assert.equal(formatMentions({ ...rec, mentions: [] }), 'post 123 (no mentions)');
  });

  it('dead letters: source position, stage, error class and one-line message', () => {
    const rec: DeadLetter = {
      payload: Buffer.from([1, 2, 3]),
      key: null,
      source_topic: 'posts',
      source_partition: 2,
      source_offset: 42,
      stage: 'decode',
      error_class: 'DecodeError',
      error_message: 'cannot decode\n  Post',
      failed_at: 0,
      attempts: 1,
    };
    assert.equal(formatDeadLetter(rec), 'dead-letter posts[2]@42 stage=decode DecodeError: cannot decode Post (payload 3 bytes)');
    assert.match(formatDeadLetter({ ...rec, attempts: 3 }), /stage=decode attempts=3 /);
  });
});

describe('Kafka connection options of produce, tail and archive (from WORKER_OPTIONS)', () => {
  const parsed = (values: Record<string, string | boolean>) => ({ values, positionals: [] });

  it('parses host:port lists and rejects malformed ones', () => {
    assert.deepEqual(kafkaConnection(parsed({ brokers: ' 127.0.0.1:19092, kafka-1:9092 ,[::1]:9093' }), {}).brokers, ['127.0.0.1:19092', 'kafka-1:9092', '[::1]:9093']);
    for (const bad of ['', 'localhost', 'host:0', 'host:99999', 'a b:1']) assert.throws(() => kafkaConnection(parsed({ brokers: bad }), {}), ConfigError, bad);
  });

  it('--brokers wins over MENTIONFLOW_BROKERS; neither is a ConfigError', () => {
    assert.deepEqual(kafkaConnection(parsed({ brokers: 'a:1' }), { MENTIONFLOW_BROKERS: 'b:2' }).brokers, ['a:1']);
    assert.deepEqual(kafkaConnection(parsed({}), { MENTIONFLOW_BROKERS: 'b:2' }).brokers, ['b:2']);
    assert.throws(() => kafkaConnection(parsed({}), {}), /MENTIONFLOW_BROKERS/);
  });

  it('TLS and SASL as for run: flags and MENTIONFLOW_* variables, the password from MENTIONFLOW_SASL_PASSWORD only', () => {
    const ca = path.join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
    const env = { MENTIONFLOW_SASL_USERNAME: 'alice', MENTIONFLOW_SASL_PASSWORD: 's3cret', MENTIONFLOW_CONNECTION_TIMEOUT_MS: '5000', MENTIONFLOW_INPUT_TOPIC: 'not a topic!' };
    const c = kafkaConnection(parsed({ brokers: 'k:9093', 'sasl-mechanism': 'scram-sha-512', 'ssl-ca': ca, 'client-id': 'ops' }), env);
    assert.deepEqual(
      { ...c },
      { brokers: ['k:9093'], clientId: 'ops', ssl: true, sslCa: ca, sslCert: undefined, sslKey: undefined, saslMechanism: 'scram-sha-512', saslUsername: 'alice', saslPassword: 's3cret', connectionTimeoutMs: 5000 },
    );
    assert.equal(kafkaConnection(parsed({ brokers: 'k:1', ssl: true }), {}).ssl, true);
    assert.equal(kafkaConnection(parsed({ brokers: 'k:1' }), {}).clientId, 'mentionflow');
  });

  it('bad connection values are ConfigErrors naming the option', () => {
    const cases: Array<[Record<string, string | boolean>, NodeJS.ProcessEnv, RegExp]> = [
      [{ 'sasl-mechanism': 'gssapi' }, {}, /--sasl-mechanism/],
      [{ 'sasl-mechanism': 'scram-sha-256', 'sasl-username': 'u' }, {}, /MENTIONFLOW_SASL_PASSWORD/],
      [{ 'sasl-mechanism': 'scram-sha-256' }, { MENTIONFLOW_SASL_PASSWORD: 'p' }, /needs saslUsername/],
      [{ 'ssl-ca': path.join(dir, 'missing.pem') }, {}, /sslCa: no such file/],
      [{ 'connection-timeout-ms': '5' }, {}, /--connection-timeout-ms must be/],
      [{}, { MENTIONFLOW_SSL: 'maybe' }, /MENTIONFLOW_SSL must be true or false/],
    ];
    for (const [flags, env, message] of cases) assert.throws(() => kafkaConnection(parsed({ brokers: 'k:1', ...flags }), env), (err: Error) => err instanceof ConfigError && message.test(err.message), JSON.stringify(flags));
  });
});

describe('CLI option errors (no broker needed)', () => {
  const main = path.join(projectRoot(), 'dist', 'cli', 'main.js');
  const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, MENTIONFLOW_BROKERS: '' } });

  it('produce, tail and archive are listed, and their --help shows the connection options of run', () => {
    const usage = cli('--help');
    assert.match(usage.stdout, /^ {2}produce /m);
    assert.match(usage.stdout, /^ {2}tail /m);
    for (const cmd of ['produce', 'tail', 'archive']) {
      const help = cli(cmd, '--help');
      assert.equal(help.status, 0);
      for (const flag of ['--brokers <HOST:PORT', '--client-id <ID>', '--ssl ', '--ssl-ca <FILE>', '--ssl-cert <FILE>', '--ssl-key <FILE>', '--sasl-mechanism <MECH>', '--sasl-username <USER>', '--connection-timeout-ms <MS>']) {
        assert.ok(help.stdout.includes(`  ${flag}`), `${cmd} --help lacks ${flag}`);
      }
      assert.match(help.stdout, /--sasl-mechanism +MENTIONFLOW_SASL_MECHANISM/);
      assert.match(help.stdout, /MENTIONFLOW_SASL_PASSWORD/);
    }
  });

  it('exit 2 with a one-line reason for missing or bad options', () => {
    const cases: Array<[string[], RegExp]> = [
      [['produce', '--input', 'x'], /missing --topic/],
      [['produce', '--topic', 't', '--input', 'x'], /no Kafka brokers/],
      [['produce', '--topic', 't', '--input', 'x', '--brokers', 'h:1', '--wire', 'confluent'], /needs --schema-id/],
      [['produce', '--topic', 't', '--input', 'x', '--brokers', 'h:1', '--rate', '0'], /--rate must be a number >= 0.001/],
      [['produce', '--topic', 't', '--input', 'x', '--brokers', 'h:1', '--partitions', '3'], /only applies with --create-topic/],
      [['tail', '--topic', 't', '--brokers', 'h:1', '--max', '0'], /--max must be an integer >= 1/],
      [['tail', '--topic', 't', '--brokers', 'h:1', '--wire', 'xml'], /--wire must be raw, confluent or auto/],
      [['tail', '--topic', 't', '--bogus'], /unknown option '--bogus'/],
      [['tail', '--topic', 't', '--brokers', 'h:1', '--sasl-mechanism', 'scram-sha-256', '--sasl-username', 'u'], /MENTIONFLOW_SASL_PASSWORD/],
      [['produce', '--topic', 't', '--input', 'x', '--brokers', 'h:1', '--ssl-ca', '/nonexistent/ca.pem'], /sslCa: no such file/],
      [['archive', '--from-topic', 't', '--output', 'o.avro', '--brokers', 'h:1', '--connection-timeout-ms', 'soon'], /--connection-timeout-ms must be an integer/],
      [['archive', '--input', 'x', '--format', 'conll', '--output', 'o.avro', '--ssl'], /--ssl only applies with --from-topic/],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
  });
});
