/**
 * `mentionflow run` as child processes against the real broker, with the
 * tiny model: a worker killed with SIGKILL mid-stream and restarted (both
 * delivery modes), and two workers sharing a consumer group, one of them
 * stopped with SIGTERM while posts keep arriving.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import {
  KAFKA_SKIP,
  OutputCollector,
  committedOffsets,
  createTestTopics,
  deleteTestTopics,
  endOffsets,
  inputRecords,
  kafkaBrokers,
  produceRecords,
  runArgs,
  saveTinyModel,
  spawnCli,
  waitUntil,
  within,
  type Cli,
} from '../support/kafka.js';

let model: string;

before(async () => {
  if (kafkaBrokers() === undefined) return;
  model = await saveTinyModel(join(mkdtempSync(join(tmpdir(), 'mf-workers-')), 'model'));
});

/** The partitions of the latest "partitions assigned" log line of a worker. */
function assignment(cli: Cli): number[] | undefined {
  let last: number[] | undefined;
  for (const line of cli.stderr.split('\n')) {
    if (!line.includes('"msg":"partitions assigned"')) continue;
    try {
      last = (JSON.parse(line) as { partitions: number[] }).partitions;
    } catch {
      // a partial line: the rest has not arrived yet
    }
  }
  return last;
}

const POSTS = 6_000;
/** Posts arrive over ~3 s (200 every 100 ms) so that workers can be stopped mid-stream. */
const TRICKLE = { chunk: 200, pauseMs: 100 };
const SMALL_BATCHES = ['--batch-max-count', '16', '--max-in-flight', '256', '--shutdown-timeout-ms', '20000'];

for (const delivery of ['at-least-once', 'exactly-once'] as const) {
  const eos = delivery === 'exactly-once';
  test(`${delivery}: kill -9 mid-stream, restart -> no post missing${eos ? ', none duplicated (read_committed)' : ''}`, { timeout: 240_000 }, async (t) => {
    const brokers = kafkaBrokers();
    if (brokers === undefined) return t.skip(KAFKA_SKIP);
    const topics = await createTestTopics(brokers, eos ? 'kill-eos' : 'kill-alo');
    const { records, ids, badKeys } = inputRecords(POSTS, 'k');
    const collector = OutputCollector.start(brokers, topics);
    // What a read_uncommitted reader sees too: records of the transaction the kill left open (then aborted).
    const uncommitted = eos ? OutputCollector.start(brokers, topics, { readUncommitted: true }) : undefined;
    const args = runArgs(brokers, topics, model, ['--delivery', delivery, ...SMALL_BATCHES]);
    const workers: Cli[] = [];
    try {
      const first = spawnCli(args);
      workers.push(first);
      await first.waitForStderr(/"msg":"partitions assigned"/, 60_000);
      const producing = produceRecords(brokers, topics.input, records, TRICKLE);
      await waitUntil(() => collector.total >= 1_000, 90_000, 'the first worker to produce 1,000 outputs', () => first.stderr.slice(-1500));
      if (uncommitted) {
        // Aim the kill at an open transaction: outputs written but not yet committed (best effort).
        await waitUntil(() => uncommitted.total > collector.total + 16, 5_000, 'an open transaction').catch(() => undefined);
      }
      first.kill('SIGKILL');
      const killed = await within(first.exited, 10_000, 'the killed worker to exit');
      assert.equal(killed.signal, 'SIGKILL');
      const seenAtKill = collector.total;
      await within(producing, 60_000, 'the producer');
      assert.ok(seenAtKill < POSTS, 'the worker was killed mid-stream');

      const second = spawnCli(args);
      workers.push(second);
      const restarted = Date.now();
      await collector.waitForAll(ids, badKeys, 120_000);
      const caughtUp = Date.now() - restarted;
      await collector.settle(2_000, 20_000);
      second.kill('SIGTERM');
      const stopped = await within(second.exited, 30_000, 'the restarted worker to stop');
      assert.equal(stopped.code, 0, second.stderr.slice(-2000));

      const duplicates = collector.duplicates();
      t.diagnostic(`outputs seen when killed: ${seenAtKill}; restart caught up in ${caughtUp} ms; duplicates: ${duplicates.length}`);
      if (uncommitted) t.diagnostic(`a read_uncommitted reader saw ${uncommitted.duplicates().length} duplicate(s) (outputs of the aborted transaction)`);
      assert.equal(collector.mentions.size, ids.length);
      assert.equal(collector.deadLetters.size, badKeys.length);
      if (eos) assert.deepEqual(duplicates, [], 'exactly-once: a read_committed reader sees each output once');
      assert.deepEqual(await committedOffsets(brokers, topics.group, topics.input), await endOffsets(brokers, topics.input));
    } finally {
      for (const w of workers) w.kill();
      await uncommitted?.stop();
      await collector.stop();
      await deleteTestTopics(brokers, topics);
    }
  });
}

test('two workers share the partitions; one stops (SIGTERM), the other takes over; nothing lost', { timeout: 240_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const topics = await createTestTopics(brokers, 'group');
  const { records, ids, badKeys } = inputRecords(POSTS, 'g');
  const collector = OutputCollector.start(brokers, topics);
  const a = spawnCli(runArgs(brokers, topics, model, ['--client-id', 'worker-a', ...SMALL_BATCHES]));
  const b = spawnCli(runArgs(brokers, topics, model, ['--client-id', 'worker-b', ...SMALL_BATCHES]));
  try {
    await waitUntil(
      () => {
        const pa = assignment(a) ?? [];
        const pb = assignment(b) ?? [];
        return pa.length > 0 && pb.length > 0 && [...pa, ...pb].sort().join() === '0,1,2';
      },
      90_000,
      'both workers to get a share of the 3 partitions',
      () => `a: ${JSON.stringify(assignment(a))}, b: ${JSON.stringify(assignment(b))}`,
    );
    t.diagnostic(`shared: a ${JSON.stringify(assignment(a))}, b ${JSON.stringify(assignment(b))}`);
    const producing = produceRecords(brokers, topics.input, records, TRICKLE);
    await waitUntil(() => collector.total >= 1_000, 90_000, '1,000 outputs');

    const stopAt = Date.now();
    a.kill('SIGTERM');
    const exitA = await within(a.exited, 30_000, 'worker a to stop');
    assert.equal(exitA.code, 0, a.stderr.slice(-2000));
    assert.match(a.stderr, /"msg":"worker stopped".*"signal":"SIGTERM"/);
    t.diagnostic(`worker a drained and left in ${Date.now() - stopAt} ms`);
    await waitUntil(() => assignment(b)?.join() === '0,1,2', 60_000, 'worker b to take all partitions', () => JSON.stringify(assignment(b)));

    await within(producing, 60_000, 'the producer');
    await collector.waitForAll(ids, badKeys, 120_000);
    await collector.settle(2_000, 20_000);
    b.kill('SIGTERM');
    assert.equal((await within(b.exited, 30_000, 'worker b to stop')).code, 0, b.stderr.slice(-2000));

    assert.equal(collector.mentions.size, ids.length);
    assert.equal(collector.deadLetters.size, badKeys.length);
    // A graceful hand-over commits everything that was done, and the survivor
    // skips records it already had in flight: no duplicates either.
    assert.deepEqual(collector.duplicates(), []);
    assert.deepEqual(await committedOffsets(brokers, topics.group, topics.input), await endOffsets(brokers, topics.input));
  } finally {
    a.kill();
    b.kill();
    await collector.stop();
    await deleteTestTopics(brokers, topics);
  }
});

test('exactly-once: a worker joins mid-stream, then the first leaves; no post missing or duplicated (read_committed)', { timeout: 240_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const topics = await createTestTopics(brokers, 'group-eos');
  const { records, ids, badKeys } = inputRecords(POSTS, 'ge');
  const collector = OutputCollector.start(brokers, topics);
  const eos = (name: string) => ['--client-id', name, '--delivery', 'exactly-once', ...SMALL_BATCHES];
  const a = spawnCli(runArgs(brokers, topics, model, eos('worker-a')));
  let b: Cli | undefined;
  try {
    await waitUntil(() => assignment(a)?.join() === '0,1,2', 60_000, 'worker a to take the partitions');
    const producing = produceRecords(brokers, topics.input, records, TRICKLE);
    await waitUntil(() => collector.total >= 1_000, 90_000, '1,000 outputs');
    const joiner = spawnCli(runArgs(brokers, topics, model, eos('worker-b')));
    b = joiner;
    await waitUntil(
      () => (assignment(a)?.length ?? 0) > 0 && (assignment(joiner)?.length ?? 0) > 0 && [...(assignment(a) ?? []), ...(assignment(joiner) ?? [])].sort().join() === '0,1,2',
      90_000,
      'the partitions to be shared after the join',
      () => `a: ${JSON.stringify(assignment(a))}, b: ${JSON.stringify(assignment(joiner))}`,
    );
    t.diagnostic(`after the join: a ${JSON.stringify(assignment(a))}, b ${JSON.stringify(assignment(joiner))} (${collector.total} outputs so far)`);
    a.kill('SIGTERM');
    assert.equal((await within(a.exited, 30_000, 'worker a to stop')).code, 0, a.stderr.slice(-2000));
    await waitUntil(() => assignment(joiner)?.join() === '0,1,2', 60_000, 'worker b to take all partitions');
    await within(producing, 60_000, 'the producer');
    await collector.waitForAll(ids, badKeys, 120_000);
    await collector.settle(2_000, 20_000);
    joiner.kill('SIGTERM');
    assert.equal((await within(joiner.exited, 30_000, 'worker b to stop')).code, 0, joiner.stderr.slice(-2000));
    assert.equal(collector.mentions.size, ids.length);
    assert.equal(collector.deadLetters.size, badKeys.length);
    assert.deepEqual(collector.duplicates(), []);
  } finally {
    a.kill();
    b?.kill();
    await collector.stop();
    await deleteTestTopics(brokers, topics);
  }
});

test('exactly-once, default transactional ids (one per input partition): two workers on one host share the group without fencing each other', { timeout: 240_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const topics = await createTestTopics(brokers, 'eos-host');
  const { records, ids, badKeys } = inputRecords(3_000, 'eh');
  const collector = OutputCollector.start(brokers, topics);
  // No --transactional-id-prefix: the ids are <group>-<input topic>-<partition>, claimed by whichever worker holds the partition.
  const args = (name: string) => runArgs(brokers, topics, model, ['--client-id', name, '--delivery', 'exactly-once', ...SMALL_BATCHES]);
  const a = spawnCli(args('worker-a'));
  await a.waitForStderr(/"msg":"connected to Kafka"/, 60_000);
  const b = spawnCli(args('worker-b'));
  try {
    await b.waitForStderr(/"msg":"connected to Kafka"/, 60_000);
    await produceRecords(brokers, topics.input, records, { chunk: 500, pauseMs: 50 });
    await collector.waitForAll(ids, badKeys, 120_000);
    await collector.settle(2_000, 20_000);
    assert.equal(a.proc.exitCode, null, `worker a exited: ${a.stderr.slice(-1500)}`);
    assert.equal(b.proc.exitCode, null, `worker b exited: ${b.stderr.slice(-1500)}`);
    a.kill('SIGTERM');
    b.kill('SIGTERM');
    assert.equal((await within(a.exited, 30_000, 'worker a to stop')).code, 0, a.stderr.slice(-2000));
    assert.equal((await within(b.exited, 30_000, 'worker b to stop')).code, 0, b.stderr.slice(-2000));
    assert.doesNotMatch(a.stderr + b.stderr, /fenced/);
    // Every partition was claimed under its own id, by one worker or the other.
    const claimed = (cli: Cli) => [...cli.stderr.matchAll(/"msg":"input partition claimed".*?"transactionalId":"([^"]+)"/g)].map((m) => m[1]);
    const claimedIds = new Set([...claimed(a), ...claimed(b)]);
    assert.deepEqual([...claimedIds].sort(), [0, 1, 2].map((p) => `${topics.group}-${topics.input}-${p}`));
    assert.deepEqual(collector.duplicates(), []);
  } finally {
    a.kill();
    b.kill();
    await collector.stop();
    await deleteTestTopics(brokers, topics);
  }
});
