// `mentionflow produce` and `mentionflow tail` against a real broker (KAFKA_BROKERS, e.g. from
// deploy/kafka/start.sh). Skipped, with a note, when KAFKA_BROKERS is unset.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { projectRoot } from '../../cli/defaults.js';
import { readPostsFile } from '../../cli/commands/produce.js';
import { deleteTopics, ensureTopic } from '../../pipeline/kafka/topicAdmin.js';
import { readTopic, type ReadRecord } from '../../pipeline/kafka/topicReader.js';
import { openTopicWriter } from '../../pipeline/kafka/topicWriter.js';
import { decodeStrict, encodeStrict, loadSchema, parseConfluentHeader, schemasDir } from '../../schemas/registry.js';
import { MentionFields, type DeadLetter, type Post, type PostMentions } from '../../schemas/types.generated.js';

const BROKERS = process.env.KAFKA_BROKERS?.split(',').filter((b) => b !== '') ?? [];
const SKIP = BROKERS.length === 0 ? 'KAFKA_BROKERS is not set; start a broker with `out="$(bash deploy/kafka/start.sh)" && export "$out"`' : false;
const MAIN = path.join(projectRoot(), 'dist', 'cli', 'main.js');
const SAMPLES = path.join(schemasDir(), 'post', 'samples', 'posts.ndjson');
const TEST_TIMEOUT = { timeout: 90_000, skip: SKIP };
const created: string[] = [];

function freshTopic(what: string): string {
  const topic = `mf-ops-${what}-${Date.now()}-${randomBytes(3).toString('hex')}`;
  created.push(topic);
  return topic;
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with a hard time limit (the child is killed after `timeoutMs`). */
function cli(args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mentionflow ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function readAll(topic: string, count: number): Promise<ReadRecord[]> {
  const records: ReadRecord[] = [];
  const result = await readTopic({
    brokers: BROKERS,
    topic,
    groupId: `mf-ops-test-${randomBytes(4).toString('hex')}`,
    fromBeginning: true,
    max: count,
    idleTimeoutMs: 20_000,
    onRecord: (r) => void records.push(r),
  });
  assert.equal(result.reason, 'max', `read ${result.count}/${count} records from ${topic}`);
  return records;
}

function mentionsRecord(i: number): PostMentions {
  return {
    post_id: `p${i}`,
    created_at: 1700000000000 + i,
    origin: { topic: 'posts', partition: 0, offset: i },
    mentions:
      i % 2 === 0
        ? [
            { text: '张三', label: 'PER.NAM', type: 'PER', kind: 'NAM', start: 0, end: 2, start_utf16: 0, end_utf16: 2, confidence: 0.97 },
            { text: '北京', label: 'GPE.NAM', type: 'GPE', kind: 'NAM', start: 3, end: 5, start_utf16: 3, end_utf16: 5, confidence: 0.99 },
          ]
        : [],
    model: { id: 'bilstm-crf-weibo', version: 'test' },
    processed_at: 1700000001000 + i,
    latency_ms: 12.5,
  };
}

after(async () => {
  if (SKIP || created.length === 0) return;
  await deleteTopics({ brokers: BROKERS, topics: created }).catch(() => undefined);
});

describe('mentionflow produce (real broker)', () => {
  it('writes the sample posts as raw Avro Post v2 records keyed by post id', TEST_TIMEOUT, async () => {
    const topic = freshTopic('posts');
    const res = await cli(['produce', '--brokers', BROKERS.join(','), '--topic', topic, '--create-topic', '--partitions', '3', '--input', SAMPLES]);
    assert.equal(res.code, 0, res.stderr);
    const expected = await readPostsFile(SAMPLES);
    assert.match(res.stdout, new RegExp(`^produced ${expected.length} posts to ${topic} in [0-9.]+ s`));
    assert.match(res.stderr, /topic .* created \(3 partitions\)/);

    const records = await readAll(topic, expected.length);
    const type = loadSchema('post');
    const byId = new Map(expected.map((p) => [p.id, p]));
    for (const r of records) {
      const post = decodeStrict<Post>(type, r.value as Buffer);
      assert.equal(r.key?.toString('utf8'), post.id);
      assert.deepEqual(JSON.parse(JSON.stringify(post)), byId.get(post.id));
      byId.delete(post.id);
    }
    assert.equal(byId.size, 0, 'every post read back once');
    assert.ok(new Set(records.map((r) => r.partition)).size > 1, 'keys spread over partitions');
  });

  it('--wire confluent --schema-id frames each record; --key none writes no key; --rate bounds the rate', TEST_TIMEOUT, async () => {
    const topic = freshTopic('confluent');
    await ensureTopic({ brokers: BROKERS, topic, partitions: 1 });
    const t0 = Date.now();
    const res = await cli(['produce', '--brokers', BROKERS.join(','), '--topic', topic, '--input', SAMPLES, '--wire', 'confluent', '--schema-id', '42', '--key', 'none', '--rate', '40', '--batch-size', '10']);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(Date.now() - t0 >= 900, '40 posts at 40/s take about a second');
    const records = await readAll(topic, 40);
    for (const r of records) {
      assert.equal(r.key, null);
      const frame = parseConfluentHeader(r.value as Buffer);
      assert.equal(frame?.schemaId, 42);
      decodeStrict<Post>(loadSchema('post'), r.value as Buffer, { wireFormat: 'confluent', schemaIds: [42] });
    }
  });

  it('refuses a missing topic without --create-topic (exit 2)', TEST_TIMEOUT, async () => {
    const res = await cli(['produce', '--brokers', BROKERS.join(','), '--topic', `mf-ops-missing-${Date.now()}`, '--input', SAMPLES]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /does not exist; create it, or pass --create-topic/);
  });
});

describe('mentionflow tail (real broker)', () => {
  it('--json prints mentions records in order, skips undecodable ones with a note, stops at --max', TEST_TIMEOUT, async (t: TestContext) => {
    const topic = freshTopic('mentions');
    await ensureTopic({ brokers: BROKERS, topic, partitions: 1 });
    const type = loadSchema('mentions');
    const writer = await openTopicWriter({ brokers: BROKERS, topic });
    const records = [0, 1, 2, 3, 4].map(mentionsRecord);
    try {
      await writer.send([
        ...records.slice(0, 2).map((r) => ({ key: r.post_id, value: encodeStrict(type, r) })),
        { key: null, value: Buffer.from('not avro at all') },
        ...records.slice(2).map((r) => ({ key: r.post_id, value: encodeStrict(type, r) })),
      ]);
    } finally {
      await writer.close();
    }
    const res = await cli(['tail', '--brokers', BROKERS.join(','), '--topic', topic, '--from-beginning', '--json', '--max', '6', '--timeout-ms', '20000']);
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as { topic: string; partition: number; offset: string; key: string | null; record: PostMentions });
    assert.deepEqual(
      lines.map((l) => l.offset),
      ['0', '1', '3', '4', '5'],
    );
    const f32 = (r: PostMentions) => ({ ...r, mentions: r.mentions.map((m) => ({ ...m, confidence: Math.fround(m.confidence) })) });
    assert.deepEqual(
      lines.map((l) => l.record),
      records.map(f32),
    );
    assert.deepEqual(
      lines.map((l) => l.key),
      records.map((r) => r.post_id),
    );
    assert.match(res.stderr, new RegExp(`${topic}\\[0\\]@2: cannot decode io.mentionflow.PostMentions`));
    assert.match(res.stderr, /6 record\(s\), 1 not decodable; stopped: reached --max 6/);
    t.diagnostic(`tail stderr: ${res.stderr.trim().split('\n').pop()}`);

    const readable = await cli(['tail', '--brokers', BROKERS.join(','), '--topic', topic, '--from-beginning', '--max', '2', '--timeout-ms', '20000']);
    assert.equal(readable.code, 0, readable.stderr);
    assert.deepEqual(readable.stdout.trim().split('\n'), ['post p0 [PER.NAM 张三 0-2 0.97] [GPE.NAM 北京 3-5 0.99]', 'post p1 (no mentions)']);
  });

  it('a topic with records written before and after mentions v2: both print, labels from v2 or TYPE.KIND from v1', TEST_TIMEOUT, async () => {
    const topic = freshTopic('mentions-v1v2');
    await ensureTopic({ brokers: BROKERS, topic, partitions: 1 });
    const old = mentionsRecord(0); // 张三 PER.NAM, 北京 GPE.NAM
    const { label: _l, ...v1Mention } = old.mentions[0];
    const fresh: PostMentions = {
      ...mentionsRecord(1),
      post_id: 'p-new',
      mentions: [{ text: '云帆手表', label: 'PRODUCT', type: 'UNKNOWN', kind: 'UNKNOWN', start: 0, end: 4, start_utf16: 0, end_utf16: 4, confidence: 0.5 }],
    };
    const writer = await openTopicWriter({ brokers: BROKERS, topic });
    try {
      await writer.send([
        { key: old.post_id, value: encodeStrict(loadSchema('mentions', 1), { ...old, mentions: [v1Mention] }) },
        { key: fresh.post_id, value: encodeStrict(loadSchema('mentions', 2), fresh) },
      ]);
    } finally {
      await writer.close();
    }
    const res = await cli(['tail', '--brokers', BROKERS.join(','), '--topic', topic, '--from-beginning', '--json', '--max', '2', '--timeout-ms', '20000']);
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as { record: PostMentions });
    assert.deepEqual(lines.map((l) => l.record.mentions.map((m) => [m.text, m.label, m.type, m.kind])), [
      [['张三', 'PER.NAM', 'PER', 'NAM']],
      [['云帆手表', 'PRODUCT', 'UNKNOWN', 'UNKNOWN']],
    ]);
    for (const l of lines) for (const m of l.record.mentions) assert.deepEqual(Object.keys(m), [...MentionFields]);
    const readable = await cli(['tail', '--brokers', BROKERS.join(','), '--topic', topic, '--from-beginning', '--max', '2', '--timeout-ms', '20000']);
    assert.equal(readable.code, 0, readable.stderr);
    assert.deepEqual(readable.stdout.trim().split('\n'), ['post p0 [PER.NAM 张三 0-2 0.97]', 'post p-new [PRODUCT 云帆手表 0-4 0.50]']);
  });

  it('--dead-letter prints stage, error class, message and source offset', TEST_TIMEOUT, async () => {
    const topic = freshTopic('deadletter');
    await ensureTopic({ brokers: BROKERS, topic, partitions: 1 });
    const dl: DeadLetter = {
      payload: Buffer.from([0xff, 0x00]),
      key: Buffer.from('4960000000001000'),
      source_topic: 'posts',
      source_partition: 1,
      source_offset: 77,
      stage: 'decode',
      error_class: 'DecodeError',
      error_message: 'cannot decode io.mentionflow.Post from 2 bytes',
      failed_at: 1700000000000,
      attempts: 1,
    };
    const writer = await openTopicWriter({ brokers: BROKERS, topic });
    try {
      await writer.send([{ key: null, value: encodeStrict(loadSchema('deadletter'), dl) }]);
    } finally {
      await writer.close();
    }
    const res = await cli(['tail', '--brokers', BROKERS.join(','), '--topic', topic, '--dead-letter', '--from-beginning', '--max', '1', '--timeout-ms', '20000']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'dead-letter posts[1]@77 stage=decode DecodeError: cannot decode io.mentionflow.Post from 2 bytes (payload 2 bytes)\n');

    const json = await cli(['tail', '--brokers', BROKERS.join(','), '--topic', topic, '--dead-letter', '--json', '--from-beginning', '--max', '1', '--timeout-ms', '20000']);
    const rec = (JSON.parse(json.stdout) as { record: Record<string, unknown> }).record;
    assert.equal(rec.payload, dl.payload.toString('base64'));
    assert.equal(rec.key, (dl.key as Buffer).toString('base64'));
    assert.equal(rec.source_offset, 77);
  });

  it('--timeout-ms ends a tail of an idle topic; a missing topic is exit 2', TEST_TIMEOUT, async () => {
    const topic = freshTopic('idle');
    await ensureTopic({ brokers: BROKERS, topic, partitions: 1 });
    const t0 = Date.now();
    const res = await cli(['tail', '--brokers', BROKERS.join(','), '--topic', topic, '--from-beginning', '--timeout-ms', '1500']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, '');
    assert.match(res.stderr, /0 record\(s\); stopped: idle for 1500 ms/);
    assert.ok(Date.now() - t0 < 30_000);

    const missing = await cli(['tail', '--brokers', BROKERS.join(','), '--topic', `mf-ops-missing-${Date.now()}`, '--timeout-ms', '1000']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /does not exist/);
  });

  it('with --group, offsets are committed and a second tail resumes after them', TEST_TIMEOUT, async () => {
    const topic = freshTopic('resume');
    await ensureTopic({ brokers: BROKERS, topic, partitions: 1 });
    const type = loadSchema('mentions');
    const writer = await openTopicWriter({ brokers: BROKERS, topic });
    try {
      await writer.send([0, 1, 2, 3].map((i) => ({ key: null, value: encodeStrict(type, mentionsRecord(i)) })));
    } finally {
      await writer.close();
    }
    const group = `mf-ops-group-${randomBytes(4).toString('hex')}`;
    const args = ['tail', '--brokers', BROKERS.join(','), '--topic', topic, '--from-beginning', '--group', group, '--max', '2', '--timeout-ms', '20000'];
    const first = await cli(args);
    const second = await cli(args);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.stdout.trim().split('\n').map((l) => l.split(' ')[1]), ['p0', 'p1']);
    assert.deepEqual(second.stdout.trim().split('\n').map((l) => l.split(' ')[1]), ['p2', 'p3']);
  });
});
