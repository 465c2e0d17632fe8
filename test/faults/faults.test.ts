/**
 * The failure model, short version (CI): each scenario of
 * test/faults/scenarios.ts once, against the real broker: SIGTERM mid-stream
 * with the shipped model, a broker killed and one stopped cleanly and
 * restarted within the outage bound (both delivery modes for the kill), a
 * broker down longer than the bound, an output too large for its topic, an
 * exactly-once worker frozen longer than its session, (exactly-once) one
 * of a worker's two inference threads dying, and a rolling restart on a
 * backlog and one under live traffic (at-least-once).
 * The long runs (dozens of each) are `node dist/test/faults/run.js`; their
 * table is in the README.
 *
 * The broker scenarios start a broker of their own (test/support/broker.ts),
 * so the shared test broker is never stopped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultModelDir } from '../../cli/defaults.js';
import { OwnBroker, javaAvailable } from '../support/broker.js';
import { KAFKA_SKIP, kafkaBrokers, saveTinyModel } from '../support/kafka.js';
import { brokerOutages, limitLoweredWhileRunning, outageBeyondBound, pausedWorker, poisonOutput, rollingRestarts, sigtermMidStream, threadDeaths, type FaultRow } from './scenarios.js';

const report = (t: { diagnostic(msg: string): void }, row: FaultRow): void =>
  t.diagnostic(`${row.event}: runs ${row.runs}, inputs ${row.inputs}, lost ${row.lost}, duplicated ${row.duplicated}, exits ${row.exits}, readiness ${row.readiness}; ${row.notes}`);

test('SIGTERM mid-stream with the shipped model: exit 0 after a drain, nothing lost or duplicated (at-least-once)', { timeout: 300_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const row = await sigtermMidStream({ brokers, model: defaultModelDir(), runs: 2, delivery: 'at-least-once', postsPerRun: 2500 });
  report(t, row);
  assert.equal(row.exits, '0 x2');
  assert.equal(row.notes, '0 aborts');
  assert.equal(row.lost, 0);
  assert.equal(row.duplicated, 0, 'a drained worker commits all it wrote');
});

test('rolling restart on a backlog, at-least-once: a worker joins mid-stream (its rebalance waits for the records in flight to be written and committed), then the old one stops; nothing lost or duplicated', { timeout: 300_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const row = await rollingRestarts({ brokers, model: defaultModelDir(), delivery: 'at-least-once', restarts: 1 });
  report(t, row);
  assert.equal(row.exits, '0 x2');
  assert.equal(row.lost, 0);
  assert.equal(row.notes, 'records in flight on partitions that moved, dropped at the joins: 0');
  assert.equal(row.duplicated, 0, 'the partitions that moved took nothing uncommitted with them');
});

test('rolling restart under live traffic, at-least-once: the workers keep up (their records in flight in the tagger); a worker joins, then the old one stops; nothing lost or duplicated', { timeout: 300_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const row = await rollingRestarts({ brokers, model: defaultModelDir(), delivery: 'at-least-once', restarts: 1, postsPerRestart: 8000, livePostsPerSecond: 1000 });
  report(t, row);
  assert.equal(row.exits, '0 x2');
  assert.equal(row.lost, 0);
  assert.equal(row.notes, 'records in flight on partitions that moved, dropped at the joins: 0');
  assert.equal(row.duplicated, 0, 'the partitions that moved took nothing uncommitted with them');
});

test('exactly-once: an inference thread dying (one of two) ends the worker with exit 70; nothing lost, dead-lettered or duplicated', { timeout: 300_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const row = await threadDeaths({ brokers, model: defaultModelDir(), delivery: 'exactly-once', deaths: 1 });
  report(t, row);
  assert.equal(row.exits, '70 x1');
  assert.equal(row.lost, 0);
  assert.equal(row.duplicated, 0, 'read_committed sees each output once: the dead worker\'s open transaction is aborted');
  assert.equal(row.notes, 'no post dead-lettered');
});

test('an output too large for its topic becomes a dead letter; the worker keeps running', { timeout: 300_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const row = await poisonOutput({ brokers, model: defaultModelDir(), delivery: 'at-least-once' });
  report(t, row);
  assert.equal(row.lost, 0);
  assert.equal(row.duplicated, 0);
  assert.match(row.exits, /^kept running; SIGTERM: 0$/);
  assert.match(row.notes, /^dead letter encode\/RecordTooLargeError, payload \d+ bytes$/);
});

test('exactly-once: a worker frozen longer than its session (SIGSTOP), then resumed: nothing lost or duplicated', { timeout: 300_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const tiny = await saveTinyModel(join(mkdtempSync(join(tmpdir(), 'mf-pause-')), 'model'));
  const row = await pausedWorker({ brokers, model: tiny, delivery: 'exactly-once', pauses: 1 });
  report(t, row);
  assert.equal(row.lost, 0);
  assert.equal(row.duplicated, 0, 'read_committed sees each output once');
  // Both carry on: the frozen worker gives up the partitions that moved (fenced there, or
  // dropped after reading the group's assignment), and its claims never stop the other one.
  assert.equal(row.exits, 'SIGTERM: 0; SIGTERM: 0');
});

test("an output the broker refuses for good (topic limit lowered while running): exit 1 without committing it; the restarted worker dead-letters it", { timeout: 300_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const row = await limitLoweredWhileRunning({ brokers, model: defaultModelDir() });
  report(t, row);
  assert.match(row.exits, /^first 1 \(the broker refused the record\); restarted, then SIGTERM: 0$/);
  assert.equal(row.notes, 'dead letter encode/RecordTooLargeError after the restart');
  assert.equal(row.lost, 0);
});

describe('broker outages (a broker of the test own)', () => {
  let broker: OwnBroker | undefined;
  let model: string;

  before(async () => {
    if (kafkaBrokers() === undefined || !javaAvailable()) return;
    model = await saveTinyModel(join(mkdtempSync(join(tmpdir(), 'mf-faults-')), 'model'));
    broker = await OwnBroker.start();
  });
  after(async () => {
    await broker?.dispose();
  });

  const skip = (t: { skip(msg: string): void }): boolean => {
    if (broker !== undefined) return false;
    t.skip(kafkaBrokers() === undefined ? KAFKA_SKIP : 'java not found: cannot start a broker of the test own');
    return true;
  };

  for (const [kind, delivery] of [
    ['kill', 'at-least-once'],
    ['kill', 'exactly-once'],
    ['stop', 'at-least-once'],
  ] as const) {
    test(`broker ${kind === 'kill' ? 'kill -9' : 'clean stop'} and restart within the bound (${delivery}): rides through, readiness false then true, nothing lost`, { timeout: 300_000 }, async (t) => {
      if (skip(t)) return;
      const row = await brokerOutages({ broker: broker!, model, delivery, outages: 1, kind, downMs: 12_000, posts: 3000 });
      report(t, row);
      assert.match(row.exits, /^rode through; SIGTERM at the end: 0$/);
      assert.equal(row.readiness, 'false during 1/1, true after 1/1');
      assert.equal(row.lost, 0);
      if (delivery === 'exactly-once') assert.equal(row.duplicated, 0, 'read_committed sees each output once');
    });
  }

  test('broker down longer than the bound: the worker exits 1 at the bound; its successor loses nothing', { timeout: 300_000 }, async (t) => {
    if (skip(t)) return;
    const row = await outageBeyondBound({ broker: broker!, model, delivery: 'at-least-once', boundMs: 8000 });
    report(t, row);
    const m = /^1 after ([\d.]+) s$/.exec(row.exits);
    assert.ok(m, `exit: ${row.exits}`);
    assert.ok(Number(m[1]) < 8 + 20, `exited ${m[1]} s after the broker went down; the bound is 8 s`);
    assert.equal(row.notes, 'one-line reason logged');
    assert.equal(row.lost, 0);
  });
});
