// The scaled-out trends aggregators' Kafka edge (pipeline/kafka/trendsEdge.ts, one state per partition) against the
// test broker, exactly-once, when another producer takes a partition's transactional id while the
// member still holds uncommitted work of it (what a member sees when the group gave the partition
// to another member while it was slow): the member must give that partition up (its state and held
// work dropped), carry on with the other partition, claim the partition again (no join comes here:
// after a session timeout the group still says it is the member's), and read it again from the
// committed offset on top of the committed state. The state is the list of record values seen per
// partition, so a record lost or counted twice shows. Fails when a fenced write ends the edge, and
// when the partition is read on from where the consumer had fetched instead of the committed offset.
// Skipped without KAFKA_BROKERS.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createLogger } from '../../pipeline/ops/logger.js';
import { partitionTransactionalId } from '../../pipeline/kafka/transactionalSink.js';
import { runTrendsEdge } from '../../pipeline/kafka/trendsEdge.js';
import { KAFKA_SKIP, committedOffsets, createTestTopics, deleteTestTopics, kafkaBrokers, waitUntil, type TestTopics } from '../support/kafka.js';

const brokers = kafkaBrokers();

describe('trends partition edge, a fenced partition', { skip: brokers === undefined ? KAFKA_SKIP : undefined, timeout: 120_000 }, () => {
  let topics: TestTopics | undefined;
  after(async () => {
    if (topics !== undefined) await deleteTestTopics(brokers!, topics);
  });

  it('gives the fenced partition up, keeps the other, claims it again and reads it from the committed offset: every record once', async () => {
    topics = await createTestTopics(brokers!, 'trends-fence', 2);
    const t = topics; // input: the repartition topic; output: its changelog (2 partitions each)
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      stream: new Writable({
        write: (chunk: Buffer, _enc, done) => {
          lines.push(chunk.toString('utf8'));
          done();
        },
      }),
    });
    const seen = new Map<number, string[]>();
    const edge = await runTrendsEdge({
      connection: { brokers: brokers! },
      fromTopic: t.input,
      changelogTopic: t.output,
      groupId: t.group,
      states: 'per-partition',
      stateKey: 'seen',
      delivery: 'exactly-once',
      transactionalId: t.group,
      logger,
      commitIntervalMs: 300,
      restore: ({ state: p, stored }) => void seen.set(p, stored === undefined ? [] : (JSON.parse(stored.toString('utf8')) as string[])),
      drop: (p) => void seen.delete(p),
      process: (records, p) => {
        seen.get(p)!.push(...records.map((r) => r.value!.toString('utf8')));
        return [];
      },
      snapshot: (p) => Buffer.from(JSON.stringify(seen.get(p))),
    });
    let ended: unknown;
    edge.done.then(
      () => (ended ??= 'ended'),
      (err: unknown) => (ended ??= err),
    );
    const kafka = new Kafka({ clientId: 'trends-fence-test', brokers: brokers!, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const fencer = kafka.producer({ transactionalId: partitionTransactionalId(t.group, t.input, 0), idempotent: true, maxInFlightRequests: 1 });
    const sent = new Map<number, string[]>([[0, []], [1, []]]);
    const send = async (from: number, n: number): Promise<void> => {
      for (const p of [0, 1]) {
        const values = Array.from({ length: n }, (_, i) => `p${p}-${from + i}`);
        sent.get(p)!.push(...values);
        await producer.send({ topic: t.input, acks: -1, messages: values.map((value) => ({ value, partition: p })) });
      }
    };
    const committedAt = async (want: number): Promise<void> => {
      const end = Date.now() + 60_000;
      for (;;) {
        const c = await committedOffsets(brokers!, t.group, t.input);
        if ([0, 1].every((p) => Number(c.get(p) ?? -1) === want)) return;
        if (ended !== undefined) assert.fail(`the edge ended: ${String(ended)}`);
        if (Date.now() > end) assert.fail(`committed offsets ${JSON.stringify([...c])}, want ${want} on both partitions`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const restores = (): number => lines.filter((l) => l.includes('"trend states restored"')).length;
    try {
      await producer.connect();
      await send(0, 100);
      await committedAt(100);
      // another producer registers partition 0's transactional id: the member's next write of 0 fails fenced
      await fencer.connect();
      await (await fencer.transaction()).abort();
      const before = restores();
      await send(100, 50); // processed and held; partition 0's write of them is fenced, partition 1's commits
      await waitUntil(() => lines.some((l) => l.includes('fenced: another aggregator took this partition over')) || ended !== undefined, 30_000, 'the fenced write');
      assert.equal(ended, undefined, `the edge ended on the fenced write: ${String(ended)}`);
      // no join comes: after a session timeout (6 s) partition 0 is claimed and restored again, on its next batch
      await send(150, 10);
      await committedAt(160);
      assert.equal(ended, undefined, `the edge ended: ${String(ended)}`);
      assert.ok(restores() > before, 'partition 0 was claimed and restored again');
      assert.deepEqual(edge.owned(), [0, 1]);
      for (const p of [0, 1]) assert.deepEqual(seen.get(p), sent.get(p), `partition ${p}: every record once, in order`);
      await edge.stop();
      await edge.done;
    } finally {
      await edge.stop().catch(() => undefined);
      await producer.disconnect();
      await fencer.disconnect();
    }
  });
});
