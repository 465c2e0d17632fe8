/**
 * The archive sink against the real broker: `mentionflow archive --follow`
 * killed with SIGKILL mid-stream three times (restarted each time) while
 * posts are still being produced, then stopped with SIGTERM once the topic
 * is drained. Reading every archived file back (schemas/container.ts), each
 * post is there exactly once, in a file of its event hour whose offset range
 * belongs to its partition; no file ranges of a partition and hour overlap;
 * the garbage records are not archived; no temporary file is left.
 *
 * CI size: 3,000 records. The long run of the issue (20,000 posts, three
 * restarts): ARCHIVE_KILL_POSTS=20000 node --test dist/test/pipeline/archiveSink.test.js;
 * more restarts with ARCHIVE_KILLS=N (those after the ~40 s of producing kill a
 * sink that is draining or idle with files open).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { listArchive, hourOf } from '../../pipeline/file/archiveLayout.js';
import { readContainer } from '../../schemas/container.js';
import { decodeStrict, loadSchema } from '../../schemas/registry.js';
import type { Post } from '../../schemas/types.generated.js';
import {
  KAFKA_SKIP,
  createTestTopics,
  deleteTestTopics,
  encodePost,
  garbagePayload,
  kafkaBrokers,
  produceRecords,
  sleep,
  spawnCli,
  testPost,
  type Cli,
  type InputRecord,
} from '../support/kafka.js';

const TOTAL = Number(process.env.ARCHIVE_KILL_POSTS ?? 3000);
const KILLS = Number(process.env.ARCHIVE_KILLS ?? 3);
const HOUR = 3_600_000;
const BASE = Date.UTC(2024, 4, 1, 8, 0, 0);

/** Posts over five event hours, interleaved (so several files per partition are open at once); every 50th record is garbage. */
function records(prefix: string): { records: InputRecord[]; ids: Map<string, number> } {
  const out: InputRecord[] = [];
  const ids = new Map<string, number>();
  for (let i = 0; i < TOTAL; i++) {
    if (i % 50 === 49) {
      out.push({ key: `bad-${i}`, value: garbagePayload(i) });
      continue;
    }
    const id = `${prefix}-${i}`;
    const createdAt = BASE + ((i * 7919) % 5) * HOUR + i;
    ids.set(id, createdAt);
    out.push({ key: id, value: encodePost({ ...testPost(id, i), created_at: createdAt }) });
  }
  return { records: out, ids };
}

/** The posts read back; temporary files: in the date= folders (never, since they are staged) and staged. */
async function archived(dir: string, topic: string): Promise<{ posts: Array<{ post: Post; file: string; partition: number; hour: string }>; files: number; temporary: number; staged: number }> {
  const { files, temporary, staged } = await listArchive(dir, topic);
  const type = loadSchema('post');
  const posts = [];
  for (const f of files) {
    for await (const item of readContainer(f.path)) {
      if (item.kind === 'record') posts.push({ post: decodeStrict<Post>(type, item.bytes), file: f.path, partition: f.partition, hour: `${f.date}T${f.hour}` });
    }
  }
  return { posts, files: files.length, temporary: temporary.length, staged: staged.length };
}

test(`archive --follow: SIGKILL mid-stream ${KILLS} times, every one of ${TOTAL} records archived exactly once`, { timeout: 600_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const topics = await createTestTopics(brokers, 'archive', 3);
  const dir = mkdtempSync(join(tmpdir(), 'archive-sink-'));
  const running: Cli[] = [];
  t.after(async () => {
    for (const c of running) c.kill();
    await deleteTestTopics(brokers, topics);
    rmSync(dir, { recursive: true, force: true });
  });
  const { records: input, ids } = records(topics.input);
  const args = [
    'archive', '--follow', '--from-topic', topics.input, '--dir', dir, '--brokers', brokers.join(','),
    '--group-id', topics.group, '--dead-letter-topic', topics.deadLetter,
    // small files, rolled often: many renames and commits to be killed between
    '--max-file-bytes', '16384', '--max-file-age-ms', '400', '--session-timeout-ms', '6000', '--log-level', 'info',
  ];
  const start = (): Cli => {
    const c = spawnCli(args);
    running.push(c);
    return c;
  };

  // Produced over about 40 s, while the sink runs and is killed KILLS times.
  const producing = produceRecords(brokers, topics.input, input, { chunk: Math.ceil(TOTAL / 40), pauseMs: 1000 });
  const killedWith: number[] = [];
  for (let k = 0; k < KILLS; k++) {
    const sink = start();
    await sink.waitForStderr(/archive: following/, 60_000);
    // Let it archive (and roll, and commit) for a while, then kill it wherever it is.
    const before = (await archived(dir, topics.input)).posts.length;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      await sleep(500);
      const now = await archived(dir, topics.input);
      if (now.posts.length > before && now.staged > 0) break;
    }
    const state = await listArchive(dir, topics.input);
    killedWith.push(state.staged.length);
    sink.kill('SIGKILL');
    await sink.exited;
  }
  await producing;

  // The last run drains the topic, then stops cleanly.
  const last = start();
  await last.waitForStderr(/archive: following/, 60_000);
  const expected = ids.size;
  let seen = 0;
  const end = Date.now() + 180_000;
  while (Date.now() < end) {
    seen = (await archived(dir, topics.input)).posts.length;
    if (seen >= expected) break;
    await sleep(500);
  }
  last.kill('SIGTERM');
  const exit = await last.exited;
  assert.equal(exit.code, 0, `the sink exits 0 on SIGTERM: ${last.stderr.slice(-1000)}`);

  const result = await archived(dir, topics.input);
  const counts = new Map<string, number>();
  for (const { post, hour, file } of result.posts) {
    counts.set(post.id, (counts.get(post.id) ?? 0) + 1);
    const createdAt = ids.get(post.id);
    assert.ok(createdAt !== undefined, `${post.id} in ${file} was not produced (garbage archived?)`);
    const h = hourOf(createdAt);
    assert.equal(hour, `${h.date}T${h.hour}`, `${post.id} is in the folder of its event hour`);
  }
  const missing = [...ids.keys()].filter((id) => !counts.has(id));
  const twice = [...counts].filter(([, n]) => n > 1);
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} post(s) missing`);
  assert.deepEqual(twice.slice(0, 10), [], `${twice.length} post(s) archived more than once`);
  assert.equal(result.posts.length, expected);
  assert.equal(result.temporary, 0, 'no temporary file in the date= folders');
  assert.equal(result.staged, 0, 'no temporary file is left after a clean stop');

  // File ranges of one partition and hour never overlap (a rewrite would have replaced the same name).
  const { files } = await listArchive(dir, topics.input);
  const byKey = new Map<string, Array<[number, number]>>();
  for (const f of files) {
    const k = `${f.partition}/${f.date}/${f.hour}`;
    byKey.set(k, [...(byKey.get(k) ?? []), [f.first, f.last]]);
  }
  for (const [k, ranges] of byKey) {
    ranges.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i][0] > ranges[i - 1][1], `overlapping files in ${k}: ${JSON.stringify(ranges)}`);
  }
  t.diagnostic(`${TOTAL} records (${expected} posts), ${KILLS} SIGKILLs with ${killedWith.join('/')} temporary file(s) open, ${files.length} files, every post once`);
});
