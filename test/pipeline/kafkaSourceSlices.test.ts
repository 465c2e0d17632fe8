// KafkaSource without a broker: a fetched batch is handed over in slices, with
// the event loop running in between, and offsets resolved once per slice.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { ConfigError } from '../../common/errors.js';
import type { RawRecord } from '../../operators/types.js';
import { KafkaSource, type KafkaSourceOptions } from '../../pipeline/kafka/source.js';
import { rejoining } from '../../pipeline/kafka/consumerGroupPatch.js';
import { BrokerOutage } from '../../pipeline/kafka/outage.js';
import { createLogger } from '../../pipeline/ops/logger.js';

type EachBatch = (payload: unknown) => Promise<void>;

/** The parts of a kafkajs client the source touches, with the eachBatch handler it registers. */
function fakeKafka(commitOffsets: (offsets: unknown) => Promise<void> = async () => undefined): {
  kafka: KafkaSourceOptions['kafka'];
  eachBatch: () => EachBatch;
  emit: (event: string, payload: unknown) => void;
} {
  let handler: EachBatch | undefined;
  const listeners = new Map<string, ((e: { payload: unknown }) => void)[]>();
  const consumer = {
    events: { GROUP_JOIN: 'join', REBALANCING: 'rebalancing', CRASH: 'crash' },
    on: (event: string, listener: (e: { payload: unknown }) => void) => {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
    },
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async (opts: { eachBatch: EachBatch }) => {
      handler = opts.eachBatch;
    },
    pause: () => undefined,
    resume: () => undefined,
    commitOffsets,
    disconnect: async () => undefined,
  };
  return {
    kafka: { consumer: () => consumer } as unknown as KafkaSourceOptions['kafka'],
    eachBatch: () => {
      assert.ok(handler, 'the source has not started consuming');
      return handler;
    },
    emit: (event, payload) => {
      for (const l of listeners.get(event) ?? []) l({ payload });
    },
  };
}

const logger = createLogger({ level: 'error' });
const outage = new BrokerOutage({ boundMs: 1000, logger });

test('a fetched batch is handed over in slices of sliceSize, the event loop running in between; offsets resolved once per slice', async () => {
  const { kafka, eachBatch } = fakeKafka();
  const source = new KafkaSource({ kafka, groupId: 'g', topic: 't', maxInFlight: 10_000, commit: 'consumer', sliceSize: 100, logger, outage });
  const received: RawRecord[] = [];
  const subscription = source.records().subscribe((r) => received.push(r));
  const messages = Array.from({ length: 250 }, (_, i) => ({ offset: String(1000 + i), key: null, value: Buffer.from([i % 256]) }));
  const resolved: string[] = [];
  const seenByTheEventLoop: number[] = [];
  const watch = (): void => {
    seenByTheEventLoop.push(received.length);
    if (received.length < messages.length) setImmediate(watch);
  };
  setImmediate(watch);
  await eachBatch()({
    batch: { topic: 't', partition: 3, highWatermark: '1250', messages },
    resolveOffset: (offset: string) => resolved.push(offset),
    heartbeat: async () => undefined,
    isRunning: () => true,
    isStale: () => false,
  });
  assert.deepEqual(
    received.map((r) => r.ref.offset),
    messages.map((m) => m.offset),
    'every record, once, in order',
  );
  assert.ok(received.every((r) => r.ref.topic === 't' && r.ref.partition === 3));
  assert.deepEqual(resolved, ['1099', '1199', '1249'], 'the last offset of each slice, before each yield and at the end');
  assert.deepEqual(seenByTheEventLoop.slice(0, 2), [100, 200], 'the event loop ran after the first and the second slice');
  source.stop();
  subscription.unsubscribe();
});

test('the last record of a batch that reaches the high watermark is marked caughtUp; no other record is', async () => {
  const { kafka, eachBatch } = fakeKafka();
  const source = new KafkaSource({ kafka, groupId: 'g', topic: 't', maxInFlight: 10_000, commit: 'consumer', sliceSize: 4, logger, outage });
  const received: RawRecord[] = [];
  const subscription = source.records().subscribe((r) => received.push(r));
  const batchOf = (from: number, n: number, highWatermark: string) => ({
    batch: { topic: 't', partition: 0, highWatermark, messages: Array.from({ length: n }, (_, i) => ({ offset: String(from + i), key: null, value: Buffer.from([i]) })) },
    resolveOffset: () => undefined,
    heartbeat: async () => undefined,
    isRunning: () => true,
    isStale: () => false,
  });
  await eachBatch()(batchOf(0, 10, '20')); // more behind it on the broker
  await eachBatch()(batchOf(10, 10, '20')); // reaches the end
  assert.equal(received.length, 20);
  assert.deepEqual(
    received.flatMap((r) => (r.ref.caughtUp === true ? [r.ref.offset] : [])),
    ['19'],
    'only offset 19, the last before the high watermark',
  );
  assert.ok(received.every((r) => typeof r.ref.caughtUp === 'boolean'), 'every Kafka ref carries the flag (one object shape)');
  source.stop();
  subscription.unsubscribe();
});

test('sliceSize must be an integer >= 1', () => {
  for (const sliceSize of [0, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => new KafkaSource({ kafka: fakeKafka().kafka, groupId: 'g', topic: 't', maxInFlight: 10, commit: 'consumer', sliceSize, logger, outage }),
      (err: unknown) => err instanceof ConfigError && /sliceSize must be an integer >= 1/.test(err.message),
    );
  }
});

test('each group join reports the partitions of the topic assigned to this worker (onAssigned), so their lag series can be kept and the others dropped', async () => {
  const { kafka, eachBatch, emit } = fakeKafka();
  const assigned: [string, number[]][] = [];
  const lags: [number, number][] = [];
  const source = new KafkaSource({
    kafka,
    groupId: 'g',
    topic: 't',
    maxInFlight: 100,
    commit: 'consumer',
    logger,
    outage,
    onAssigned: (topic, partitions) => assigned.push([topic, [...partitions]]),
    onLag: (_topic, partition, lag) => lags.push([partition, lag]),
  });
  const subscription = source.records().subscribe();
  await eachBatch(); // started
  emit('join', { memberId: 'm1', memberAssignment: { t: [0, 1], other: [5] } });
  emit('join', { memberId: 'm1', memberAssignment: { t: [1] } });
  emit('join', { memberId: 'm1', memberAssignment: {} });
  assert.deepEqual(assigned, [
    ['t', [0, 1]],
    ['t', [1]],
    ['t', []],
  ]);
  source.stop();
  subscription.unsubscribe();
});

/** The coordinator's answer to a member it no longer knows (kafkajs wraps it in a retrier's error). */
function unknownMember(): Error {
  return Object.assign(new Error('retrying failed'), { cause: Object.assign(new Error('The coordinator is not aware of this member'), { type: 'UNKNOWN_MEMBER_ID' }) });
}

/** A source that has read offsets 0-4 of partition 0 and acked them, its commits refused while `refusing()`. */
async function evictedSource(closeRejoinMs: number, refusing: () => boolean): Promise<{ source: KafkaSource; commits: unknown[]; emit: (event: string, payload: unknown) => void; logged: string[] }> {
  const commits: unknown[] = [];
  const { kafka, eachBatch, emit } = fakeKafka(async (offsets) => {
    if (refusing()) throw unknownMember();
    commits.push(offsets);
  });
  const logged: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  const log = createLogger({ level: 'info', stream });
  const source = new KafkaSource({ kafka, groupId: 'g', topic: 't', maxInFlight: 100, commit: 'consumer', commitIntervalMs: 60_000, closeRejoinMs, logger: log, outage });
  const received: RawRecord[] = [];
  source.records().subscribe((r) => received.push(r));
  emit('join', { memberId: 'm1', memberAssignment: { t: [0] } });
  await eachBatch()({
    batch: { topic: 't', partition: 0, highWatermark: '5', messages: Array.from({ length: 5 }, (_, i) => ({ offset: String(i), key: null, value: Buffer.from([i]) })) },
    resolveOffset: () => undefined,
    heartbeat: async () => undefined,
    isRunning: () => true,
    isStale: () => false,
  });
  source.ack(received.map((r) => r.ref));
  source.stop();
  return { source, commits, emit, logged };
}

test('close, at-least-once: a final commit refused because the group no longer knows this member is made again once the consumer has rejoined', async () => {
  let refusing = true;
  const { source, commits, emit, logged } = await evictedSource(5_000, () => refusing);
  const closing = source.close();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(commits, [], 'refused so far');
  assert.ok(logged.some((l) => l.includes('waiting for the consumer to rejoin its group to commit')), logged.join('\n'));
  refusing = false;
  emit('join', { memberId: 'm2', memberAssignment: { t: [0] } }); // rejoined with a new member id, partition 0 again
  await closing;
  assert.deepEqual(commits, [[{ topic: 't', partition: 0, offset: '5' }]]);
  assert.match(logged.find((l) => l.includes('"msg":"input closed"')) ?? '', /"uncommitted":\[\]/);
});

test('close, at-least-once: a rejoin that assigns the partition elsewhere leaves nothing of it to commit; no rejoin within closeRejoinMs: it gives up and says what is uncommitted', async () => {
  {
    const { source, commits, emit, logged } = await evictedSource(5_000, () => true);
    const closing = source.close();
    await new Promise((r) => setTimeout(r, 50));
    emit('join', { memberId: 'm2', memberAssignment: { t: [1] } }); // partition 0 moved to another member: its records are that member's to redo
    await closing;
    assert.deepEqual(commits, []);
    assert.match(logged.find((l) => l.includes('"msg":"input closed"')) ?? '', /"uncommitted":\[\]/);
  }
  {
    const { source, commits, logged } = await evictedSource(300, () => true);
    const t0 = Date.now();
    await source.close();
    const ms = Date.now() - t0;
    assert.ok(ms >= 250 && ms < 3_000, `close took ${ms} ms with closeRejoinMs 300`);
    assert.deepEqual(commits, []);
    assert.match(logged.find((l) => l.includes('"msg":"input closed"')) ?? '', /"uncommitted":\[\{"topic":"t","partition":0,"offset":"5"\}\]/);
  }
});

test('at-least-once, before kafkajs rejoins the group: the records in flight finish and are committed first (the hook of consumerGroupPatch.ts); after close, no hook', async () => {
  const commits: unknown[] = [];
  const events: string[] = [];
  const { kafka, eachBatch, emit } = fakeKafka(async (offsets) => {
    commits.push(offsets);
    events.push(`commit ${JSON.stringify(offsets)}`);
  });
  const source = new KafkaSource({ kafka, groupId: 'g', topic: 't', maxInFlight: 100, commit: 'consumer', commitIntervalMs: 60_000, logger, outage });
  const received: RawRecord[] = [];
  const subscription = source.records().subscribe((r) => received.push(r));
  const memberId = `slices-${process.pid}-${Date.now()}`;
  emit('join', { memberId, memberAssignment: { t: [0] } });
  await eachBatch()({
    batch: { topic: 't', partition: 0, highWatermark: '10', messages: Array.from({ length: 5 }, (_, i) => ({ offset: String(i), key: null, value: Buffer.from([i]) })) },
    resolveOffset: () => undefined,
    heartbeat: async () => undefined,
    isRunning: () => true,
    isStale: () => false,
  });
  assert.equal(received.length, 5);
  // The records are acked 300 ms after kafkajs found the rebalance, as a pipeline would.
  setTimeout(() => {
    events.push('acked');
    source.ack(received.map((r) => r.ref));
  }, 300);
  const rebalance = Object.assign(new Error('The group is rebalancing, so a rejoin is needed'), { type: 'REBALANCE_IN_PROGRESS' });
  const t0 = Date.now();
  await rejoining(memberId, {
    heartbeat: async () => {
      throw rebalance;
    },
  });
  events.push('rejoin');
  assert.ok(Date.now() - t0 >= 250, 'the hook waited for the records in flight');
  // (a commit of where the partition was read from, offset 0, may come first)
  assert.deepEqual(events.filter((e) => !e.endsWith('"offset":"0"}]')), ['acked', 'commit [{"topic":"t","partition":0,"offset":"5"}]', 'rejoin']);
  assert.deepEqual(commits.at(-1), [{ topic: 't', partition: 0, offset: '5' }]);
  source.stop();
  subscription.unsubscribe();
  await source.close();
  const committedBefore = commits.length;
  await rejoining(memberId, { heartbeat: async () => undefined });
  assert.equal(commits.length, committedBefore, 'a closed source has no hook');
});
