/**
 * The archive sink's packed batches (pipeline/stream/archiveSink.ts: each
 * fetched batch is checked and packed in eachBatch, then appended by
 * byte range), against the real broker, in-process, one partition:
 * - a batch of older-version Posts, re-encoded to the latest version and so
 *   longer than they came (the packed Buffer must grow), mixed with latest
 *   ones and records that are not Posts (dead letters): every post read back
 *   once, in offset order, as the latest version; dead letters counted;
 *   everything committed (with the Post check on a worker thread);
 * - a transactional input (an aborted transaction, commit markers): offsets with gaps, every
 *   committed post once, the file named by the records' own first and last offsets;
 * - without a dead-letter topic, a record that is not a Post stops the sink:
 *   `done` rejects with the DecodeError, no file holds the record or any
 *   after it, and no offset past it is committed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DecodeError } from '../../common/errors.js';
import kafkajs from '../../pipeline/kafka/kafkajs.js';
import { listArchive } from '../../pipeline/file/archiveLayout.js';
import { createLogger } from '../../pipeline/ops/logger.js';
import { startArchiveSink } from '../../pipeline/stream/archiveSink.js';
import { readContainer } from '../../schemas/container.js';
import { nativeAddonStatus } from '../../schemas/nativeAddon.js';
import { isalStatus } from '../../schemas/deflate.js';
import { decodeStrict, encodeStrict, loadSchema } from '../../schemas/registry.js';
import type { Post } from '../../schemas/types.generated.js';
import { KAFKA_SKIP, committedOffsets, createTestTopics, deleteTestTopics, encodePost, garbagePayload, kafkaBrokers, produceRecords, testPost, waitUntil, type InputRecord, type TestTopics } from '../support/kafka.js';

const brokers = kafkaBrokers();
const logger = createLogger({ level: 'error' });
const v1 = loadSchema('post', 1);
const latest = loadSchema('post');
const HOUR = 3_600_000;
const BASE = Date.UTC(2024, 4, 1, 8);

/** Every archived record of the topic, with its file. */
async function archived(dir: string, topic: string): Promise<Array<{ post: Post; file: string }>> {
  const { files } = await listArchive(dir, topic);
  const out = [];
  for (const f of files) for await (const item of readContainer(f.path)) if (item.kind === 'record') out.push({ post: decodeStrict<Post>(latest, item.bytes), file: f.path });
  return out;
}

async function count(sink: Awaited<ReturnType<typeof startArchiveSink>>, result: string): Promise<number> {
  const m = sink.metrics.registry.getSingleMetric('mentionflow_archive_records_total') as unknown as { get(): Promise<{ values: Array<{ value: number; labels: { result?: string } }> }> };
  return (await m.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe('archive sink: packed batches (real broker)', { skip: brokers === undefined ? KAFKA_SKIP : false }, () => {
  const made: TestTopics[] = [];
  const dirs: string[] = [];
  after(async () => {
    for (const t of made) await deleteTestTopics(brokers as string[], t);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  /** A one-partition topic set and an archive folder, both removed after the suite. */
  async function bed(prefix: string): Promise<{ b: string[]; t: TestTopics; dir: string }> {
    const b = brokers as string[];
    const t = await createTestTopics(b, prefix, 1);
    made.push(t);
    const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
    dirs.push(dir);
    return { b, t, dir };
  }

  it('older versions re-encoded (longer than they came), latest kept, non-Posts to dead letters: every post once, in offset order', async () => {
    const { b, t, dir } = await bed('archive-batch');
    const records: InputRecord[] = [];
    const kinds: string[] = [];
    // First a run of v1 records only (the packed Buffer is sized by the values as they came and
    // must grow), then a mix of v1, latest and garbage over two event hours.
    for (let i = 0; i < 300; i++) {
      const id = `${t.input}-${i}`;
      const created_at = BASE + (i % 2) * HOUR + i;
      const kind = i < 100 ? 'v1' : i % 7 === 3 ? 'bad' : i % 3 === 0 ? 'v1' : 'latest';
      kinds.push(kind);
      if (kind === 'bad') records.push({ key: `bad-${i}`, value: Buffer.from([0x01, 0xff, 0xff]) }); // 3 bytes: the batch's re-encoded v1 records outgrow what the non-Posts leave unused
      else if (kind === 'v1') records.push({ key: id, value: encodeStrict(v1, { id, text: `旧版本第${i}条`, author_id: 'a', created_at, source: 'weibo', lang: null, reply_to: null, attributes: {} }) });
      else records.push({ key: id, value: encodePost({ ...testPost(id, i), created_at }) });
    }
    await produceRecords(b, t.input, records, { chunk: 300 });
    const sink = await startArchiveSink({ brokers: b, logger, topic: t.input, dir, groupId: t.group, deadLetterTopic: t.deadLetter, tickMs: 50 });
    try {
      await sink.started;
      const bad = kinds.filter((k) => k === 'bad').length;
      const end = Date.now() + 60_000;
      while (Date.now() < end && (await count(sink, 'archived')) + (await count(sink, 'deadletter')) < records.length) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await count(sink, 'deadletter'), bad);
      // how it compresses and checks, for operators: the addon's paths where it is built
      const native = nativeAddonStatus().available;
      const engine = isalStatus().available ? 'isal' : native ? 'libdeflate' : 'zlib';
      assert.match(await sink.metrics.registry.metrics(), new RegExp(`^mentionflow_archive_info\\{codec="deflate",deflate_engine="${engine}",post_check="${native ? 'native' : 'typescript'}"\\} 1$`, 'm'));
      assert.equal(sink.deflateEngine, engine);
    } finally {
      await sink.stop();
    }
    const got = await archived(dir, t.input);
    const expected = kinds.flatMap((k, i) => (k === 'bad' ? [] : [`${t.input}-${i}`]));
    assert.deepEqual(got.map((r) => r.post.id).sort(), [...expected].sort(), 'every post once');
    // within a file, records are in offset order: ids (numbered by offset) increase
    const byFile = new Map<string, number[]>();
    for (const r of got) byFile.set(r.file, [...(byFile.get(r.file) ?? []), Number(r.post.id.split('-').at(-1))]);
    for (const [file, ns] of byFile) assert.deepEqual(ns, [...ns].sort((x, y) => x - y), `offset order in ${file}`);
    const old = got.find((r) => r.post.id === `${t.input}-0`);
    assert.equal(old?.post.text, '旧版本第0条');
    assert.deepEqual(old?.post.topic_tags, [], 'a v1 record stored as the latest version');
    assert.equal((await committedOffsets(b, t.group, t.input)).get(0), String(records.length));
  });

  it('a transactional input (an aborted transaction and commit markers leave gaps in the offsets): every committed post once, the file named by the records\' own offsets', async () => {
    const { b, t, dir } = await bed('archive-batch-gaps');
    // Four transactions of 10 posts, the second aborted: offsets 0-9 (marker 10), 11-20 aborted (marker
    // 21), 22-31 (marker 32), 33-42 (marker 43); read_committed, the sink sees 30 posts over 0-42.
    const producer = new kafkajs.Kafka({ brokers: b, clientId: 'archive-batch-gaps', logLevel: kafkajs.logLevel.NOTHING }).producer({ transactionalId: `${t.group}-tx`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const committedIds: string[] = [];
    try {
      for (let tx = 0; tx < 4; tx++) {
        const txn = await producer.transaction();
        const messages = Array.from({ length: 10 }, (_, j) => {
          const id = `${t.input}-${tx}-${j}`;
          if (tx !== 1) committedIds.push(id);
          return { key: id, value: encodePost({ ...testPost(id, tx * 10 + j), created_at: BASE + tx * 10 + j }) };
        });
        await txn.send({ topic: t.input, messages });
        if (tx === 1) await txn.abort();
        else await txn.commit();
      }
    } finally {
      await producer.disconnect();
    }
    const sink = await startArchiveSink({ brokers: b, logger, topic: t.input, dir, groupId: t.group, tickMs: 50 });
    try {
      await sink.started;
      const end = Date.now() + 60_000;
      while (Date.now() < end && (await count(sink, 'archived')) < committedIds.length) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await sink.stop();
    }
    const got = await archived(dir, t.input);
    assert.deepEqual(got.map((r) => r.post.id), committedIds, 'the committed posts, once each, in offset order');
    const { files } = await listArchive(dir, t.input);
    assert.deepEqual(files.map((f) => [f.first, f.last]), [[0, 42]], 'one file, named by the first and last offsets of the records it holds');
    const committed = Number((await committedOffsets(b, t.group, t.input)).get(0));
    assert.ok(committed === 43 || committed === 44, `committed past the last post (43, or 44 past its marker), got ${committed}`);
  });

  it('without a dead-letter topic, a non-Post stops the sink: nothing from it on is filed or committed', async () => {
    const { b, t, dir } = await bed('archive-batch-stop');
    const records: InputRecord[] = [];
    for (let i = 0; i < 40; i++) {
      const id = `${t.input}-${i}`;
      records.push(i === 25 ? { key: 'bad', value: garbagePayload(0) } : { key: id, value: encodePost({ ...testPost(id, i), created_at: BASE + i }) });
    }
    await produceRecords(b, t.input, records, { chunk: 40 });
    const sink = await startArchiveSink({ brokers: b, logger, topic: t.input, dir, groupId: t.group, tickMs: 50 });
    let failure: unknown;
    sink.done.catch((err: unknown) => (failure = err));
    try {
      await waitUntil(() => failure !== undefined, 60_000, 'the sink to stop on the non-Post');
    } finally {
      await sink.stop();
    }
    assert.ok(failure instanceof DecodeError, `done rejects with a DecodeError, got ${String(failure)}`);
    const { files } = await listArchive(dir, t.input);
    for (const f of files) assert.ok(f.last < 25, `no complete file reaches offset 25: ${f.path}`);
    const committed = (await committedOffsets(b, t.group, t.input)).get(0);
    assert.ok(committed === undefined || Number(committed) <= 25, `committed ${committed}`);
  });
});
