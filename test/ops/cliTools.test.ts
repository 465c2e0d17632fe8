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
import { parseBrokers, resolveBrokers } from '../../pipeline/kafka/toolClient.js';
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
        { text: '张三', type: 'PER', kind: 'NAM', start: 0, end: 2, start_utf16: 0, end_utf16: 2, confidence: 0.9712 },
        { text: '北京', type: 'GPE', kind: 'NAM', start: 3, end: 5, start_utf16: 3, end_utf16: 5, confidence: 0.99 },
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

describe('broker options', () => {
  it('parses host:port lists and rejects malformed ones', () => {
    assert.deepEqual(parseBrokers(' 127.0.0.1:19092, kafka-1:9092 ,[::1]:9093'), ['127.0.0.1:19092', 'kafka-1:9092', '[::1]:9093']);
    for (const bad of ['', 'localhost', 'host:0', 'host:99999', 'a b:1']) assert.throws(() => parseBrokers(bad), ConfigError, bad);
  });

  it('--brokers wins over MENTIONFLOW_BROKERS; neither is a ConfigError', () => {
    assert.deepEqual(resolveBrokers('a:1', { MENTIONFLOW_BROKERS: 'b:2' }), ['a:1']);
    assert.deepEqual(resolveBrokers(undefined, { MENTIONFLOW_BROKERS: 'b:2' }), ['b:2']);
    assert.throws(() => resolveBrokers(undefined, {}), /MENTIONFLOW_BROKERS/);
  });
});

describe('CLI option errors (no broker needed)', () => {
  const main = path.join(projectRoot(), 'dist', 'cli', 'main.js');
  const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, MENTIONFLOW_BROKERS: '' } });

  it('produce and tail are listed and have --help', () => {
    const usage = cli('--help');
    assert.match(usage.stdout, /^ {2}produce /m);
    assert.match(usage.stdout, /^ {2}tail /m);
    for (const cmd of ['produce', 'tail']) {
      const help = cli(cmd, '--help');
      assert.equal(help.status, 0);
      assert.match(help.stdout, /--brokers LIST/);
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
      [['tail', '--topic', 't', '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
  });
});
