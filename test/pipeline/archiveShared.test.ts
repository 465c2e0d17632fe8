/**
 * Several archive sinks sharing one topic's partitions (one consumer group):
 * sink A archives alone, sink B joins mid-stream (the partitions move while
 * A has files open and rolls them), A is SIGKILLed mid-stream and B takes
 * over its partitions (after the session timeout), then B drains the topic
 * and stops on SIGTERM. Reading every archived file back, every post (one
 * offset each) is there exactly once, in a file of its own partition; the
 * file ranges of a partition and hour never overlap; no temporary file is
 * left.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listArchive } from '../../pipeline/file/archiveLayout.js';
import { readContainer } from '../../schemas/container.js';
import { decodeStrict, loadSchema } from '../../schemas/registry.js';
import type { Post } from '../../schemas/types.generated.js';
import { KAFKA_SKIP, archiveTestBed, inputRecords, kafkaBrokers, produceRecords, sleep, spawnCli, type Cli } from '../support/kafka.js';

const TOTAL = Number(process.env.ARCHIVE_SHARED_POSTS ?? 30000);
const PARTITIONS = 4;

async function archived(dir: string, topic: string): Promise<{ posts: Array<{ id: string; partition: number; file: string }>; temporary: number }> {
  const { files, temporary, staged } = await listArchive(dir, topic);
  const type = loadSchema('post');
  const posts = [];
  for (const f of files) for await (const item of readContainer(f.path)) if (item.kind === 'record') posts.push({ id: decodeStrict<Post>(type, item.bytes).id, partition: f.partition, file: f.path });
  return { posts, temporary: temporary.length + staged.length };
}

test(`archive --follow, two sinks in one group over ${PARTITIONS} partitions (one joins mid-stream, the other is SIGKILLed): each of ${TOTAL} posts archived once`, { timeout: 300_000, skip: kafkaBrokers() === undefined ? KAFKA_SKIP : false }, async (t) => {
  const brokers = kafkaBrokers() as string[];
  const { topics, dir, running } = await archiveTestBed(t, brokers, 'archive-shared', PARTITIONS);
  const { records: input, ids: idList } = inputRecords(TOTAL, topics.input, 0, 3);
  const ids = new Set(idList);
  const start = (name: string): Cli => {
    const c = spawnCli([
      'archive', '--follow', '--from-topic', topics.input, '--dir', dir, '--brokers', brokers.join(','),
      '--group-id', topics.group, '--dead-letter-topic', topics.deadLetter,
      '--max-file-bytes', '16384', '--max-file-age-ms', '300', '--session-timeout-ms', '6000', '--log-level', 'info',
    ], { MENTIONFLOW_TEST_SINK: name });
    running.push(c);
    return c;
  };
  const assignedOf = (c: Cli): number[][] => [...c.stderr.matchAll(/"msg":"archive: joined the group"[^\n]*"partitions":\[([\d,]*)\]/g)].map((m) => (m[1] === '' ? [] : m[1].split(',').map(Number)));

  // Produced over about 30 s while the group changes under it.
  const producing = produceRecords(brokers, topics.input, input, { chunk: Math.ceil(TOTAL / 30), pauseMs: 1000 });
  const a = start('a');
  await a.waitForStderr(/archive: following/, 60_000);
  await sleep(6000);
  const b = start('b');
  await b.waitForStderr(/archive: following/, 60_000);
  // wait until both hold partitions (B's join moved some of A's)
  const end = Date.now() + 60_000;
  while (Date.now() < end && !(assignedOf(b).at(-1)?.length && assignedOf(a).length >= 2)) await sleep(200);
  assert.ok((assignedOf(b).at(-1)?.length ?? 0) > 0, `B got partitions: ${b.stderr.slice(-1000)}`);
  const aHeld = assignedOf(a).at(-1) ?? [];
  await sleep(5000);
  const mid = await listArchive(dir, topics.input);
  a.kill('SIGKILL');
  await a.exited;
  // B takes A's partitions once A's session times out
  const end2 = Date.now() + 60_000;
  while (Date.now() < end2 && (assignedOf(b).at(-1)?.length ?? 0) < PARTITIONS) await sleep(200);
  assert.equal(assignedOf(b).at(-1)?.length, PARTITIONS, `B took every partition: ${b.stderr.slice(-1000)}`);
  await producing;
  const end3 = Date.now() + 120_000;
  while (Date.now() < end3 && (await archived(dir, topics.input)).posts.length < ids.size) await sleep(500);
  b.kill('SIGTERM');
  assert.equal((await b.exited).code, 0, `B exits 0 on SIGTERM: ${b.stderr.slice(-1500)}`);

  const result = await archived(dir, topics.input);
  const counts = new Map<string, number>();
  for (const p of result.posts) counts.set(p.id, (counts.get(p.id) ?? 0) + 1);
  const missing = [...ids].filter((id) => !counts.has(id));
  const twice = [...counts].filter(([, n]) => n > 1);
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} post(s) missing`);
  const where = (id: string): string => result.posts.filter((p) => p.id === id).map((p) => p.file.split('/').slice(-1)[0]).join(' and ');
  assert.deepEqual(twice.slice(0, 10), [], `${twice.length} post(s) archived more than once, e.g. ${twice[0]?.[0]} in ${twice[0] ? where(twice[0][0]) : ''}`);
  assert.equal(result.posts.length, ids.size);
  assert.equal(result.temporary, 0, 'no temporary file left');
  const { files } = await listArchive(dir, topics.input);
  const byKey = new Map<string, Array<[number, number]>>();
  for (const f of files) byKey.set(`${f.partition}/${f.date}/${f.hour}`, [...(byKey.get(`${f.partition}/${f.date}/${f.hour}`) ?? []), [f.first, f.last]]);
  for (const [k, ranges] of byKey) {
    ranges.sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i][0] > ranges[i - 1][1], `overlapping files in ${k}: ${JSON.stringify(ranges)}`);
  }
  t.diagnostic(`${TOTAL} posts; A held ${JSON.stringify(aHeld)} after B joined (${mid.staged.length} temporary files open at the kill); B's assignments ${JSON.stringify(assignedOf(b))}; ${files.length} files, every post once`);
});
