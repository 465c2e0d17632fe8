/**
 * The worker in-process against the real broker, with a fast fake tagger:
 * 10,000 posts over 3 partitions with 1% garbage, in both delivery modes;
 * fixed batches that leave as soon as the input is caught up; and
 * backpressure (the in-flight bound holds, the input pauses and resumes).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeTagger } from '../operators/helpers.js';
import { createLogger, type Logger } from '../../pipeline/ops/logger.js';
import { createPipelineMetrics } from '../../pipeline/ops/metrics.js';
import { resolveWorkerConfig, type DeliveryMode, type WorkerConfig } from '../../pipeline/stream/config.js';
import { startWorker } from '../../pipeline/stream/worker.js';
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
  within,
  type TestTopics,
} from '../support/kafka.js';

function memoryLogger(level: 'debug' | 'info' | 'warn' = 'warn'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = { write: (s: string) => lines.push(s) > 0 } as unknown as NodeJS.WritableStream;
  return { logger: createLogger({ level, stream }), lines };
}

function config(brokers: string[], t: TestTopics, flags: Record<string, string>): WorkerConfig {
  return resolveWorkerConfig({
    paths: { model: '/unused', input: '/unused' },
    flags: {
      brokers: brokers.join(','),
      inputTopic: t.input,
      outputTopic: t.output,
      deadLetterTopic: t.deadLetter,
      groupId: t.group,
      sessionTimeoutMs: '6000',
      commitIntervalMs: '200',
      ...flags,
    },
  });
}

const CASES: { delivery: DeliveryMode; batching: Record<string, string>; label: string }[] = [
  { delivery: 'at-least-once', batching: {}, label: '' },
  { delivery: 'exactly-once', batching: {}, label: '' },
  // Adaptive batches with two in flight: order, commits and dead letters must hold the same way.
  { delivery: 'exactly-once', batching: { batchMode: 'adaptive', taggerConcurrency: '2' }, label: ', adaptive batches, 2 in flight' },
];

for (const { delivery, batching, label } of CASES) {
  test(`${delivery}${label}: 10,000 posts over 3 partitions, 1% garbage -> one output per input, by id`, { timeout: 180_000 }, async (t) => {
    const brokers = kafkaBrokers();
    if (brokers === undefined) return t.skip(KAFKA_SKIP);
    const topics = await createTestTopics(brokers, 'e2e');
    const { records, ids, badKeys } = inputRecords(10_000, 'post');
    assert.equal(ids.length, 9_900);
    assert.equal(badKeys.length, 100);
    const collector = OutputCollector.start(brokers, topics);
    const { logger, lines } = memoryLogger();
    try {
      const started = Date.now();
      await produceRecords(brokers, topics.input, records);
      const produced = Date.now();
      // With two batches in flight the fake tagger takes a little time, so the calls overlap.
      const tagger = new FakeTagger(batching.taggerConcurrency ? { delayMs: 3 } : {});
      const metrics = createPipelineMetrics({ collectDefault: false });
      const worker = await startWorker({
        config: config(brokers, topics, { delivery, transactionalIdPrefix: `${topics.group}-tx`, maxInFlight: '1000', ...batching }),
        tagger,
        logger,
        metrics,
      });
      try {
        await collector.waitForAll(ids, badKeys, 120_000);
      } finally {
        worker.stop();
        await within(worker.done, 30_000, 'the worker to stop');
      }
      const processed = Date.now();
      await collector.settle(1500, 10_000);
      t.diagnostic(`produce ${produced - started} ms, process ${processed - produced} ms (${Math.round(10_000 / ((processed - produced) / 1000))} records/s)`);

      if (batching.taggerConcurrency) assert.equal(tagger.maxInFlight, 2, 'two batches were tagged at once');
      else assert.equal(tagger.maxInFlight, 1);
      assert.deepEqual(collector.duplicates(), [], 'no output twice (no crash happened)');
      assert.equal(collector.mentions.size, 9_900);
      assert.equal(collector.deadLetters.size, 100);
      for (const d of collector.deadLetterRecords) {
        assert.equal(d.stage, 'decode');
        assert.equal(d.error_class, 'DecodeError');
        assert.equal(d.source_topic, topics.input);
        assert.ok(d.payload.length > 0);
      }
      // After a graceful stop the group has committed the end of every partition.
      const committed = await committedOffsets(brokers, topics.group, topics.input);
      assert.deepEqual(committed, await endOffsets(brokers, topics.input));
      assert.equal((await metrics.recordsOut.get()).values.reduce((n, v) => n + v.value, 0), 10_000);
      assert.ok(!lines.some((l) => /"level":"error"/.test(l)), lines.join(''));
    } finally {
      await collector.stop();
      await deleteTestTopics(brokers, topics);
    }
  });
}

test('fixed batches, caught up: a partial batch leaves once the input is read to its end and quiet and the tagger is idle, not after batchMaxWaitMs', { timeout: 120_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const topics = await createTestTopics(brokers, 'caught-up');
  const first = inputRecords(30, 'cu', 0);
  const second = inputRecords(35, 'cu', 0);
  const collector = OutputCollector.start(brokers, topics);
  const { logger } = memoryLogger();
  try {
    await produceRecords(brokers, topics.input, first.records);
    const tagger = new FakeTagger();
    // A minute (the most allowed): were the batcher to wait for full batches of 64 or the timer, no output would come within 30 s.
    const worker = await startWorker({
      config: config(brokers, topics, { batchMaxCount: '64', batchMaxWaitMs: '60000' }),
      tagger,
      logger,
      metrics: createPipelineMetrics({ collectDefault: false }),
    });
    try {
      await collector.waitForAll(first.ids, [], 30_000);
      // More posts while it runs: the same again for a trickle of new input.
      await produceRecords(brokers, topics.input, second.records.slice(30));
      await collector.waitForAll(second.ids, [], 30_000);
    } finally {
      worker.stop();
      await within(worker.done, 30_000, 'the worker to stop');
    }
    const sizes = tagger.calls.map((texts) => texts.length);
    t.diagnostic(`batch sizes: ${sizes.join(', ')}`);
    assert.equal(sizes.reduce((a, b) => a + b, 0), 35, 'every post tagged once');
    assert.ok(sizes.every((n) => n < 64), 'no batch was full: each left because the input was caught up');
    assert.deepEqual(collector.duplicates(), []);
  } finally {
    await collector.stop();
    await deleteTestTopics(brokers, topics);
  }
});

test('backpressure: at most maxInFlight records in flight; the input pauses and resumes', { timeout: 120_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const topics = await createTestTopics(brokers, 'bp');
  const { records, ids, badKeys } = inputRecords(1_500, 'bp', 0);
  const collector = OutputCollector.start(brokers, topics);
  const { logger, lines } = memoryLogger('debug');
  try {
    await produceRecords(brokers, topics.input, records);
    const metrics = createPipelineMetrics({ collectDefault: false });
    let maxInFlight = 0;
    const poll = setInterval(async () => {
      const v = (await metrics.inFlight.get()).values[0]?.value ?? 0;
      maxInFlight = Math.max(maxInFlight, v);
    }, 2);
    // A slow tagger: 20 posts per call, 15 ms per call.
    const worker = await startWorker({
      config: config(brokers, topics, { maxInFlight: '100', batchMaxCount: '20', batchMaxWaitMs: '5' }),
      tagger: new FakeTagger({ delayMs: 15 }),
      logger,
      metrics,
    });
    try {
      await collector.waitForAll(ids, badKeys, 60_000);
    } finally {
      clearInterval(poll);
      worker.stop();
      await within(worker.done, 30_000, 'the worker to stop');
    }
    t.diagnostic(`largest in-flight count seen: ${maxInFlight} (bound 100)`);
    assert.ok(maxInFlight <= 100, `in flight ${maxInFlight} > 100`);
    assert.ok(maxInFlight >= 50, `the bound was never approached (${maxInFlight}); the test did not exercise backpressure`);
    const paused = lines.filter((l) => l.includes('"msg":"input paused"')).length;
    const resumed = lines.filter((l) => l.includes('"msg":"input resumed"')).length;
    assert.ok(paused > 0, 'the input never paused');
    assert.ok(resumed >= paused - 1, `paused ${paused} times, resumed ${resumed}`);
  } finally {
    await collector.stop();
    await deleteTestTopics(brokers, topics);
  }
});
