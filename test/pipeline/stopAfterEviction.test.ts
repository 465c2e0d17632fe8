/**
 * SIGTERM reaching an at-least-once worker that its group has just evicted
 * (frozen with SIGSTOP past its 6 s session; the signal is sent while it is
 * frozen and delivered when it resumes). Its final commits come before
 * kafkajs has rejoined the group, and the coordinator refuses them ("not
 * aware of this member"). The worker must commit once it is back in the
 * group (the partitions assigned to it again), within its shutdown deadline,
 * so that its successor writes nothing twice.
 *
 * The broker is the test's own, with Kafka's default
 * group.initial.rebalance.delay.ms (3 s; the shared test broker has 0): the
 * first member to join an empty group waits that long, so the evicted worker
 * is still rejoining when its drain is done, as it would be in production.
 * Before the fix (main at 5b52c35) it exited 0 with the offsets listed as
 * `uncommitted` in its `input closed` line, and the successor wrote those
 * posts again (README, failure model, SIGTERM row).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { defaultModelDir } from '../../cli/defaults.js';
import { javaAvailable, OwnBroker } from '../support/broker.js';
import {
  committedOffsets,
  createTestTopics,
  endOffsets,
  inputRecords,
  KAFKA_SKIP,
  kafkaBrokers,
  OutputCollector,
  produceRecords,
  runArgs,
  sleep,
  spawnCli,
  within,
  type Cli,
} from '../support/kafka.js';

const POSTS = Number(process.env.STOP_EVICTED_POSTS ?? 30_000);

test('SIGTERM while the group has evicted an at-least-once worker: it commits once back in the group; its successor writes nothing twice', { timeout: 300_000, skip: kafkaBrokers() === undefined ? KAFKA_SKIP : !javaAvailable() ? 'needs Java for a broker of its own' : false }, async (t) => {
  const broker = await OwnBroker.start({ extraProps: 'group.initial.rebalance.delay.ms=3000' });
  const running: Cli[] = [];
  const late: { collector?: OutputCollector } = {};
  t.after(async () => {
    for (const c of running) {
      c.kill('SIGCONT');
      c.kill();
    }
    await late.collector?.stop();
    await broker.dispose(); // its topics with it
  });
  const brokers = broker.brokers;
  const topics = await createTestTopics(brokers, 'stop-evicted');
  const { records, ids, badKeys } = inputRecords(POSTS, 'ev', 500);
  await produceRecords(brokers, topics.input, records, { chunk: 5000 });
  const collector = OutputCollector.start(brokers, topics);
  late.collector = collector;
  const first = spawnCli(runArgs(brokers, topics, defaultModelDir(), ['--client-id', 'evicted']));
  running.push(first);
  await first.waitForStderr(/"msg":"partitions assigned"/, 90_000);
  // Mid-stream: a backlog is left, and records are in flight or done but not yet committed.
  const backlogLeft = Math.floor(POSTS / 3);
  await within(
    (async () => {
      while (collector.total < backlogLeft) await sleep(20);
    })(),
    120_000,
    'the worker to write a third of the posts',
  );
  assert.ok(collector.total < POSTS - backlogLeft, `the worker wrote ${collector.total} of ${POSTS} posts before the freeze; the test needs it mid-stream`);
  first.kill('SIGSTOP');
  await sleep(10_000); // past the 6 s session: the coordinator evicts it
  first.kill('SIGTERM'); // pending while it is stopped, handled the moment it resumes
  first.kill('SIGCONT');
  const exit = await within(first.exited, 60_000, 'the evicted worker to stop');
  if (process.env.STOP_EVICTED_LOGS !== undefined) writeFileSync(process.env.STOP_EVICTED_LOGS, first.stderr);
  assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, first.stderr.slice(-3000));
  assert.match(first.stderr, /not aware of this member|"membershipLapsed":true/, `the group did not evict the worker; the test did not test anything:\n${first.stderr.slice(-3000)}`);
  const closed = /"msg":"input closed"[^\n]*/.exec(first.stderr)?.[0] ?? '';
  assert.match(closed, /"uncommitted":\[\]/, `the worker left offsets uncommitted:\n${first.stderr.slice(-6000)}`);

  // Its successor reads from the committed offsets.
  const second = spawnCli(runArgs(brokers, topics, defaultModelDir(), ['--client-id', 'successor']));
  running.push(second);
  await collector.waitForAll(ids, badKeys, 180_000);
  await collector.settle(1_000, 10_000);
  second.kill('SIGTERM');
  const exit2 = await within(second.exited, 60_000, 'the successor to stop');
  assert.deepEqual({ code: exit2.code, signal: exit2.signal }, { code: 0, signal: null }, second.stderr.slice(-3000));
  assert.deepEqual(collector.duplicates().slice(0, 10), [], `${collector.duplicates().length} post(s) written twice`);
  assert.equal(collector.total, ids.length + badKeys.length);
  const [committed, end] = await Promise.all([committedOffsets(brokers, topics.group, topics.input), endOffsets(brokers, topics.input)]);
  assert.deepEqual(committed, end, 'every input committed');
});
