// At-least-once and rebalances, against the real broker. A worker that has
// read its whole input (its fetches come back empty) while records are still
// in flight (in the tagger) finds a rebalance through kafkajs's own heartbeat
// after an empty fetch, not in a batch handler, and kafkajs rejoins from
// there. The source's hook in kafkajs's ConsumerGroup
// (pipeline/kafka/consumerGroupPatch.ts) lets the records in flight finish
// and commits them first, so the partition that moves to the new member is
// not read again. (The same for a rebalance found in a handler; the process
// runs of both are test/faults' rolling restarts.)
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { RawRecord } from '../../operators/types.js';
import { createKafkaClient } from '../../pipeline/kafka/client.js';
import { BrokerOutage } from '../../pipeline/kafka/outage.js';
import { KafkaSource } from '../../pipeline/kafka/source.js';
import { createLogger } from '../../pipeline/ops/logger.js';
import {
  KAFKA_SKIP,
  committedOffsets,
  createTestTopics,
  deleteTestTopics,
  endOffsets,
  inputRecords,
  kafkaBrokers,
  produceRecords,
  sleep,
  waitUntil,
} from '../support/kafka.js';

const quiet = createLogger({ level: 'error' });

test(
  'at-least-once: a caught-up worker with records in flight finds a rebalance after an empty fetch; they finish and commit before it rejoins, and the partition that moves is not read again',
  { timeout: 120_000, skip: kafkaBrokers() === undefined ? KAFKA_SKIP : false },
  async (t) => {
    const brokers = kafkaBrokers() as string[];
    const topics = await createTestTopics(brokers, 'rebalance-settle', 2);
    const sources: KafkaSource[] = [];
    t.after(async () => {
      for (const s of sources) await s.close().catch(() => undefined);
      await deleteTestTopics(brokers, topics);
    });
    const total = 300;
    await produceRecords(brokers, topics.input, inputRecords(total, 'settle', 0).records);
    const ends = await endOffsets(brokers, topics.input);
    assert.ok([...ends.values()].every((end) => Number(end) > 0), 'both partitions have records');

    type Line = { who: string; level: string; msg: string; [field: string]: unknown };
    const logs: Line[] = [];
    const kafkajsLines: Line[] = [];
    const capture = (into: Line[], who: string): Writable =>
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString('utf8').split('\n')) if (line !== '') into.push({ who, ...(JSON.parse(line) as { level: string; msg: string }) });
          done();
        },
      });
    const assigned = new Map<string, readonly number[]>();
    const open = async (who: string): Promise<{ source: KafkaSource; read: RawRecord[] }> => {
      const source = new KafkaSource({
        // kafkajs's own lines at warn and above, as the worker logs them at its default level (info)
        kafka: createKafkaClient({ brokers, clientId: who, logger: createLogger({ level: 'info', stream: capture(kafkajsLines, who) }) }),
        groupId: topics.group,
        topic: topics.input,
        maxInFlight: 10_000,
        commit: 'consumer',
        sessionTimeoutMs: 6000,
        logger: createLogger({ level: 'info', stream: capture(logs, who) }),
        outage: new BrokerOutage({ boundMs: 20_000, logger: quiet }),
        onAssigned: (_topic, partitions) => assigned.set(who, partitions),
      });
      sources.push(source);
      await source.connect();
      const read: RawRecord[] = [];
      source.records().subscribe({ next: (r) => read.push(r) });
      return { source, read };
    };
    const logged = (who: string, msg: string) => logs.filter((l) => l.who === who && l.msg === msg);

    // A reads every record and holds them (a slow tagger): none acked, none committed.
    const a = await open('a');
    await waitUntil(() => a.read.length === total, 30_000, 'A to read every record');
    await sleep(1500); // caught up: A's fetches come back empty

    // B joins. A's next heartbeat, after an empty fetch, finds the rebalance.
    const b = await open('b');
    await waitUntil(() => logged('a', 'group rebalancing').length > 0, 20_000, 'A to find the rebalance');
    await sleep(500); // the group waits for A meanwhile
    assert.equal(logged('a', 'partitions assigned').length, 1, 'A has not rejoined while its records are in flight');
    a.source.ack(a.read.map((r) => r.ref));

    await waitUntil(() => assigned.get('b')?.length === 1 && assigned.get('a')?.length === 1, 30_000, 'the rebalance to give each member one partition');
    const settled = logged('a', 'group rebalancing: records in flight settled and committed before rejoining');
    assert.equal(settled.length, 1, 'A settled once, before rejoining');
    assert.equal(settled[0].inFlightAtStart, total);
    assert.equal(settled[0].inFlight, 0);
    assert.equal(settled[0].uncommitted, 0);
    const committed = await committedOffsets(brokers, topics.group, topics.input);
    assert.deepEqual(new Map([...committed].sort()), new Map([...ends].sort()), 'every record read is committed');

    await sleep(3000); // B reads its partition from the committed offset: nothing to read
    assert.equal(b.read.length, 0, `B read ${b.read.length} records again that A had read before the rebalance`);
    // The heartbeats answered "rebalancing" while A settled are routine: not warnings or errors in the worker's log.
    assert.deepEqual(
      kafkajsLines.filter((l) => l.level !== 'debug' && /rebalanc/i.test(JSON.stringify(l))),
      [],
    );
  },
);
