/**
 * A stalled archive sink against the real broker: sinks A and B share a
 * topic's partitions (one group); A is frozen with SIGSTOP while it has files
 * open, past its session timeout, and B takes its partitions over and
 * archives on; then A gets SIGCONT and, not knowing yet that its partitions
 * moved, rolls its open files. Its renames must be fenced (the staging folders
 * they come from were moved away by B): A logs it and counts it in
 * mentionflow_archive_fenced_files_total, rejoins and carries on. Reading
 * every archived file back, every post is there exactly once; the file ranges
 * of a partition and hour never overlap; no temporary file is left anywhere.
 *
 * Without the fence (main before it), A's renames put files in place whose
 * records B archived too: posts twice, overlapping ranges.
 *
 * CI size: 4,000 posts over about 20 s. Longer: ARCHIVE_STALL_POSTS=20000.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { listArchive } from '../../pipeline/file/archiveLayout.js';
import { readContainer } from '../../schemas/container.js';
import { decodeStrict, loadSchema } from '../../schemas/registry.js';
import type { Post } from '../../schemas/types.generated.js';
import { KAFKA_SKIP, archiveTestBed, inputRecords, kafkaBrokers, produceRecords, sleep, spawnCli, type Cli } from '../support/kafka.js';

const TOTAL = Number(process.env.ARCHIVE_STALL_POSTS ?? 4000);
const PARTITIONS = 4;
const SESSION_MS = 6000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Every file under a folder, recursively (dot folders included; folders the sinks remove meanwhile are skipped). */
function walk(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names.flatMap((name) => {
    const p = join(dir, name);
    try {
      return statSync(p).isDirectory() ? walk(p) : [p];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  });
}

async function archived(dir: string, topic: string): Promise<{ posts: Array<{ id: string; partition: number; file: string }>; ranges: Map<string, Array<[number, number]>> }> {
  const { files } = await listArchive(dir, topic);
  const type = loadSchema('post');
  const posts = [];
  const ranges = new Map<string, Array<[number, number]>>();
  for (const f of files) {
    const k = `${f.partition}/${f.date}/${f.hour}`;
    ranges.set(k, [...(ranges.get(k) ?? []), [f.first, f.last]]);
    for await (const item of readContainer(f.path)) if (item.kind === 'record') posts.push({ id: decodeStrict<Post>(type, item.bytes).id, partition: f.partition, file: f.path });
  }
  return { posts, ranges };
}

test(`archive --follow, two sinks in one group, one frozen (SIGSTOP) past its session timeout with files open: its renames are fenced, each of ${TOTAL} posts archived once`, { timeout: 300_000, skip: kafkaBrokers() === undefined ? KAFKA_SKIP : false }, async (t) => {
  const brokers = kafkaBrokers() as string[];
  const { topics, dir, running } = await archiveTestBed(t, brokers, 'archive-stall', PARTITIONS);
  const { records: input, ids: idList } = inputRecords(TOTAL, topics.input, 0, 3);
  const ids = new Set(idList);
  const aPort = await freePort();
  const start = (name: string, extra: string[] = []): Cli => {
    const c = spawnCli([
      'archive', '--follow', '--from-topic', topics.input, '--dir', dir, '--brokers', brokers.join(','),
      '--group-id', topics.group, '--dead-letter-topic', topics.deadLetter,
      '--max-file-bytes', '16384', '--max-file-age-ms', '300', '--session-timeout-ms', String(SESSION_MS), '--log-level', 'info', ...extra,
    ], { MENTIONFLOW_TEST_SINK: name });
    running.push(c);
    return c;
  };
  const assignedOf = (c: Cli): number[][] => [...c.stderr.matchAll(/"msg":"archive: joined the group"[^\n]*"partitions":\[([\d,]*)\]/g)].map((m) => (m[1] === '' ? [] : m[1].split(',').map(Number)));
  /** A's temporary files (its pid is in their folder's name, or in their own name before the staging folders). */
  const openOf = (c: Cli): string[] => walk(join(dir, topics.input)).filter((p) => p.endsWith('.tmp') && (p.includes(`-${c.proc.pid}-`) || p.endsWith(`.${c.proc.pid}.tmp`)));
  const waitFor = async (what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<void> => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await ok()) return;
      await sleep(100);
    }
    assert.fail(`timed out waiting for ${what}; A (exit ${a.proc.exitCode}): ${a.stderr.slice(-1500)}; B (exit ${b.proc.exitCode}): ${b.stderr.slice(-1500)}`);
  };

  // Produced over about 20 s while A stalls and B takes over.
  const producing = produceRecords(brokers, topics.input, input, { chunk: Math.ceil(TOTAL / 20), pauseMs: 1000 });
  const a = start('a', ['--metrics-port', String(aPort)]);
  await a.waitForStderr(/archive: following/, 60_000);
  const b = start('b');
  await b.waitForStderr(/archive: following/, 60_000);
  await waitFor('both sinks holding partitions', () => (assignedOf(b).at(-1)?.length ?? 0) > 0 && (assignedOf(a).at(-1)?.length ?? 0) > 0 && (assignedOf(a).at(-1)?.length ?? 0) + (assignedOf(b).at(-1)?.length ?? 0) === PARTITIONS, 60_000);
  const aHeld = assignedOf(a).at(-1) ?? [];
  await waitFor('A writing files', () => openOf(a).length > 0, 30_000);
  a.kill('SIGSTOP');
  const frozenAt = Date.now();
  const openAtStop = openOf(a).length;
  // Past A's session timeout: B is given every partition and takes A's over.
  await waitFor('B assigned every partition', () => assignedOf(b).at(-1)?.length === PARTITIONS, 60_000);
  // B has listed each of them (after fencing A's staging folder) once it has put a file of it in place (A is frozen).
  const bFiles = async (): Promise<number[]> => (await listArchive(dir, topics.input)).files.filter((f) => statSync(f.path).mtimeMs > frozenAt).map((f) => f.partition);
  await waitFor("B archiving A's partitions", async () => {
    const done = await bFiles();
    return aHeld.every((p) => done.includes(p));
  }, 30_000);
  const stagedAtResume = openOf(a).length;
  await sleep(1000); // B archives on a while
  const joinsBefore = assignedOf(a).length;
  a.kill('SIGCONT');
  const frozenMs = Date.now() - frozenAt;
  // A rolls its open files at once (they are older than --max-file-age-ms), then learns of the rebalance and rejoins.
  // (or exiting: checked below, after the data)
  await waitFor('A rejoining the group', () => assignedOf(a).length > joinsBefore || a.proc.exitCode !== null, 60_000);
  await producing;
  await waitFor('every post archived', async () => (await archived(dir, topics.input)).posts.length >= ids.size, 120_000);
  // (A still running: the data are checked first, whatever became of it.)
  const metrics = await fetch(`http://127.0.0.1:${aPort}/metrics`).then(
    (r) => r.text(),
    (err: unknown) => `A's /metrics did not answer: ${String(err)}`,
  );
  for (const c of [a, b]) c.kill('SIGTERM');
  const exits = [await a.exited, await b.exited];
  if (process.env.ARCHIVE_STALL_LOGS !== undefined) writeFileSync(process.env.ARCHIVE_STALL_LOGS, `A\n${a.stderr}\nB\n${b.stderr}`);

  const result = await archived(dir, topics.input);
  const counts = new Map<string, number>();
  for (const p of result.posts) counts.set(p.id, (counts.get(p.id) ?? 0) + 1);
  const missing = [...ids].filter((id) => !counts.has(id));
  const twice = [...counts].filter(([, n]) => n > 1);
  const where = (id: string): string => result.posts.filter((p) => p.id === id).map((p) => p.file.split('/').slice(-1)[0]).join(' and ');
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} post(s) missing`);
  assert.deepEqual(twice.slice(0, 10), [], `${twice.length} post(s) archived more than once, e.g. ${twice[0]?.[0]} in ${twice[0] ? where(twice[0][0]) : ''}`);
  assert.equal(result.posts.length, ids.size);
  let files = 0;
  for (const [k, ranges] of result.ranges) {
    files += ranges.length;
    ranges.sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i][0] > ranges[i - 1][1], `overlapping files in ${k}: ${JSON.stringify(ranges)}`);
  }
  assert.deepEqual(walk(dir).filter((p) => p.endsWith('.tmp')), [], 'no temporary file left, staged or not');
  exits.forEach((e, i) => assert.equal(e.code, 0, `${'AB'[i]} exits 0 on SIGTERM: ${[a, b][i].stderr.slice(-1500)}`));

  // A noticed: one clear line per partition fenced, and the metric.
  const fences = [...a.stderr.matchAll(/"msg":"archive: partition fenced[^"]*"[^\n]*"partition":(\d+)[^\n]*"files":(\d+)[^\n]*"at":"(\w+)"/g)].map((m) => ({ partition: Number(m[1]), files: Number(m[2]), at: m[3] }));
  const fenceLines = fences.map((f) => f.files);
  const fencedFiles = Number(/^mentionflow_archive_fenced_files_total (\d+)/m.exec(metrics)?.[1] ?? NaN);
  assert.ok(fenceLines.length > 0, `A logged its fenced partitions: ${a.stderr.slice(-2000)}`);
  assert.ok(fencedFiles > 0, `mentionflow_archive_fenced_files_total > 0: ${metrics.split('\n').filter((l) => l.includes('fence')).join('; ')}`);
  assert.equal(fencedFiles, fenceLines.reduce((x, y) => x + y, 0), 'the metric counts the files of the lines');
  t.diagnostic(`${TOTAL} posts; A held ${JSON.stringify(aHeld)}, frozen ${(frozenMs / 1000).toFixed(1)} s with ${openAtStop} file(s) open (${stagedAtResume} left in place when B had archived its partitions); ${fenceLines.length} partition fence(s) logged by A (${fences.map((f) => `${f.partition} at ${f.at}: ${f.files} files`).join(', ')}), ${fencedFiles} file(s) dropped unrenamed; B's assignments ${JSON.stringify(assignedOf(b))}, A's ${JSON.stringify(assignedOf(a))}; ${files} files, every post once`);
});
