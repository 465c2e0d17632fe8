/**
 * `mentionflow run --inference thread --tagger-threads 2 --tagger-concurrency 2`
 * against the real broker with the shipped model: two inference threads tag
 * batches side by side, and the worker's guarantees hold as with one: every
 * post tagged once with exactly the in-process tagger's mentions, garbage
 * dead-lettered, offsets committed to the end, a clean exit on SIGTERM; and
 * an inference thread dying ends the worker (exit 70) without losing or
 * dead-lettering the posts in flight: a restarted worker tags them.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { FAULT_THREAD_EXIT_ENV } from '../../cli/commands/run.js';
import { projectRoot } from '../../cli/defaults.js';
import { NeuralTagger } from '../../models/tagger.js';
import { nativeEngine, nativeLstmAvailable } from '../../models/layers/nativeLstm.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { testBackend } from '../support/backend.js';
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
  spawnCli,
  runArgs,
  testPost,
  within,
} from '../support/kafka.js';

const MODEL = join(projectRoot(), 'models', 'default');
const POSTS = 1_000;
/** `run`'s options for two inference threads with two batches tagged at once. */
const TWO_THREADS = ['--inference', 'thread', '--tagger-threads', '2', '--tagger-concurrency', '2'];

test('two inference threads against the broker: each post tagged once with the in-process mentions, garbage dead-lettered, committed to the end, exit 0 on SIGTERM', { timeout: 240_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const backend = await testBackend();
  const topics = await createTestTopics(brokers, 'threads');
  const { records, ids, badKeys } = inputRecords(POSTS, 'th');
  const collector = OutputCollector.start(brokers, topics);
  const cli = spawnCli(runArgs(brokers, topics, MODEL, [...TWO_THREADS, '--backend', backend]));
  try {
    await produceRecords(brokers, topics.input, records);
    await collector.waitForAll(ids, badKeys, 180_000);
    await collector.settle(1500, 10_000);
    cli.kill('SIGTERM');
    const exit = await within(cli.exited, 30_000, 'the worker to stop');
    assert.equal(exit.code, 0, cli.stderr.slice(-2000));
    assert.match(cli.stderr, /"msg":"worker started".*"inference":"thread","inferenceThreads":2/);
    // where the LSTM runs, as this process (same backend, addon and CPU) would run it
    const runsOn = nativeLstmAvailable() ? `c-${nativeEngine()}` : 'tensorflow';
    assert.match(cli.stderr, new RegExp(`"msg":"worker started".*"lstm":\\{"runsOn":"${runsOn}","precision":"float32"`));
    assert.doesNotMatch(cli.stderr, /"level":"(warn|error)"/);

    assert.deepEqual(collector.duplicates(), [], 'no output twice');
    assert.equal(collector.mentions.size, ids.length);
    assert.equal(collector.deadLetters.size, badKeys.length);
    assert.deepEqual(await committedOffsets(brokers, topics.group, topics.input), await endOffsets(brokers, topics.input));

    // The mentions are the in-process tagger's (confidences within 1e-5: batches differ by timing).
    const { model } = await TaggerModel.load(MODEL);
    const inline = new NeuralTagger(model);
    try {
      const byId = new Map(collector.mentionRecords.map((r) => [r.post_id, r.mentions]));
      const index = ids.map((id) => Number(id.slice('th-'.length)));
      let found = 0;
      for (let i = 0; i < index.length; i += 64) {
        const chunk = index.slice(i, i + 64);
        const expected = await inline.tag(chunk.map((n) => testPost(`th-${n}`, n).text));
        chunk.forEach((n, k) => {
          const got = byId.get(`th-${n}`)!;
          assert.deepEqual(got.map(({ confidence: _c, ...m }) => m), expected[k].map(({ confidence: _c, ...m }) => m), `post th-${n}`);
          got.forEach((m, j) => assert.ok(Math.abs(m.confidence - expected[k][j].confidence) < 1e-5, `post th-${n}, mention ${j}`));
          found += got.length;
        });
      }
      assert.ok(found > ids.length, `the posts have mentions to compare (${found})`);
    } finally {
      inline.dispose();
    }
  } finally {
    cli.kill();
    await collector.stop();
    await deleteTestTopics(brokers, topics);
  }
});

test('an inference thread dying (of two) ends the worker with exit 70; nothing is lost or dead-lettered, a restarted worker tags what was in flight', { timeout: 240_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const backend = await testBackend();
  const topics = await createTestTopics(brokers, 'threads-death');
  const { records, ids, badKeys } = inputRecords(POSTS, 'td');
  const poison = testPost('td-600', 600).text;
  const collector = OutputCollector.start(brokers, topics);
  const args = runArgs(brokers, topics, MODEL, [...TWO_THREADS, '--backend', backend]);
  const first = spawnCli(args, { [FAULT_THREAD_EXIT_ENV]: poison });
  let second: ReturnType<typeof spawnCli> | undefined;
  try {
    await produceRecords(brokers, topics.input, records);
    const died = await within(first.exited, 120_000, 'the worker to exit when its thread dies');
    assert.equal(died.code, 70, first.stderr.slice(-2000));
    assert.match(first.stderr, /"level":"error".*"msg":"the inference thread died; exiting so that the posts in flight are read again after a restart".*exited with code 7/);
    assert.ok(!collector.mentions.has('td-600'), 'the post that killed the thread has no output yet');
    assert.ok(![...collector.deadLetters.keys()].some((k) => k.startsWith('td-')), 'no post was dead-lettered for the dead thread');

    second = spawnCli(args);
    await collector.waitForAll(ids, badKeys, 180_000);
    await collector.settle(1500, 10_000);
    second.kill('SIGTERM');
    assert.equal((await within(second.exited, 30_000, 'the restarted worker to stop')).code, 0, second.stderr.slice(-2000));
    // at-least-once: what the first worker wrote but had not committed is written again; nothing is missing
    assert.equal(collector.mentions.size, ids.length);
    assert.equal(collector.deadLetters.size, badKeys.length, 'only the garbage is dead-lettered');
    assert.deepEqual(await committedOffsets(brokers, topics.group, topics.input), await endOffsets(brokers, topics.input));
    t.diagnostic(`${collector.duplicates().length} posts written twice (at-least-once after the death)`);
  } finally {
    first.kill();
    second?.kill();
    await collector.stop();
    await deleteTestTopics(brokers, topics);
  }
});
