/**
 * SIGTERM reaching an at-least-once worker that its group has just evicted
 * (test/faults/scenarios.ts, sigtermAfterEviction, once; test/faults/run.ts
 * runs it --evictions times). The worker is frozen with SIGSTOP past its 6 s
 * session, the signal is sent while it is frozen and delivered when it
 * resumes. Its final commits come before kafkajs has rejoined the group, and
 * the coordinator refuses them ("not aware of this member"). It must commit
 * once it is back in the group, within its shutdown deadline, so that its
 * successor writes nothing twice.
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
import { test } from 'node:test';
import { defaultModelDir } from '../../cli/defaults.js';
import { sigtermAfterEviction } from '../faults/scenarios.js';
import { javaAvailable, OwnBroker } from '../support/broker.js';
import { KAFKA_SKIP, kafkaBrokers } from '../support/kafka.js';

test('SIGTERM while the group has evicted an at-least-once worker: it commits once back in the group; its successor writes nothing twice', { timeout: 300_000, skip: kafkaBrokers() === undefined ? KAFKA_SKIP : !javaAvailable() ? 'needs Java for a broker of its own' : false }, async (t) => {
  const broker = await OwnBroker.start({ extraProps: 'group.initial.rebalance.delay.ms=3000' });
  t.after(() => broker.dispose());
  const row = await sigtermAfterEviction({ broker, model: defaultModelDir(), runs: 1, ...(process.env.STOP_EVICTED_LOGS ? { logs: process.env.STOP_EVICTED_LOGS } : {}) });
  assert.equal(row.notes, 'evicted in 1/1 runs; offsets left uncommitted in 0', 'the group evicted the worker (else the test tested nothing), and it left nothing uncommitted');
  assert.deepEqual({ exits: row.exits, lost: row.lost, duplicated: row.duplicated }, { exits: '0 x1', lost: 0, duplicated: 0 });
});
