/**
 * A staging folder of a newer group generation than any the group has now,
 * against the real broker: the leftover of a sink that crashed in an earlier
 * life of the group (a group deleted and created again, or whose offsets
 * expired, starts its generations over). The sink of the new group, at
 * generation 1, must not take that folder for a newer owner's forever: the
 * coordinator accepts its commit (its generation is the current one), so it
 * fences the folder and archives every post of the partition.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { listArchive, stagingDir } from '../../pipeline/file/archiveLayout.js';
import { readContainer } from '../../schemas/container.js';
import { decodeStrict, loadSchema } from '../../schemas/registry.js';
import type { Post } from '../../schemas/types.generated.js';
import { KAFKA_SKIP, archiveTestBed, inputRecords, kafkaBrokers, produceRecords, sleep, spawnCli } from '../support/kafka.js';

const TOTAL = 600;

test('archive --follow: a staging folder left by an earlier life of the group (generation 999) is fenced, not obeyed: every post archived once', { timeout: 180_000, skip: kafkaBrokers() === undefined ? KAFKA_SKIP : false }, async (t) => {
  const brokers = kafkaBrokers() as string[];
  const { topics, dir, running } = await archiveTestBed(t, brokers, 'archive-stale', 2);
  const { records: input, ids: idList } = inputRecords(TOTAL, topics.input, 0);
  const ids = new Set(idList);
  await produceRecords(brokers, topics.input, input);
  const stale = join(stagingDir(dir, topics.input, 0), '0000000999-4242-deadbeef-1');
  mkdirSync(stale, { recursive: true });
  writeFileSync(join(stale, `${topics.input}+0+0000000000000000000.tmp`), 'half a file');

  const sink = spawnCli([
    'archive', '--follow', '--from-topic', topics.input, '--dir', dir, '--brokers', brokers.join(','),
    '--group-id', topics.group, '--dead-letter-topic', topics.deadLetter, '--max-file-age-ms', '300', '--session-timeout-ms', '6000', '--log-level', 'info',
  ]);
  running.push(sink);
  await sink.waitForStderr(/archive: following/, 60_000);
  const read = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const f of (await listArchive(dir, topics.input)).files) for await (const item of readContainer(f.path)) if (item.kind === 'record') out.push(decodeStrict<Post>(loadSchema('post'), item.bytes).id);
    return out;
  };
  const end = Date.now() + 30_000;
  while (Date.now() < end && (await read()).length < ids.size) await sleep(300);
  sink.kill('SIGTERM');
  assert.equal((await sink.exited).code, 0, sink.stderr.slice(-1500));

  const posts = await read();
  const counts = new Map<string, number>();
  for (const id of posts) counts.set(id, (counts.get(id) ?? 0) + 1);
  assert.deepEqual([...ids].filter((id) => !counts.has(id)).length, 0, `posts missing: ${sink.stderr.slice(-1500)}`);
  assert.deepEqual([...counts].filter(([, n]) => n > 1), []);
  const left = await listArchive(dir, topics.input);
  assert.deepEqual([left.temporary, left.staged], [[], []], 'the stale folder and its file are gone');
  assert.match(sink.stderr, /"msg":"archive: staging folders of a newer group generation fenced[^\n]*"generation":1/);
  t.diagnostic(`${TOTAL} posts over 2 partitions, a generation-999 staging folder in partition 0: fenced by the sink at generation 1, every post once`);
});
