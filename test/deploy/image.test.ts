/**
 * The worker image (deploy/image/Dockerfile) against the test broker: one
 * container, host network, produces -> mention records checked, the image's
 * HEALTHCHECK run, then SIGTERM: the container must exit 0 (tini forwards it,
 * the worker drains and commits) with every input offset committed and every
 * post's mention record written (nothing lost). Skips with the command to run
 * when podman, the image or KAFKA_BROKERS is missing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { loadSchema } from '../../schemas/registry.js';
import type { PostMentions } from '../../schemas/types.generated.js';
import { KAFKA_SKIP, OutputCollector, testPost, within, committedOffsets, createTestTopics, deleteTestTopics, endOffsets, inputRecords, kafkaBrokers, produceRecords, uniqueName, waitUntil, type TestTopics } from '../support/kafka.js';
import { WORKER_IMAGE, podman, podmanSkip, podmanStatus, removeContainers } from '../support/podman.js';

const brokers = kafkaBrokers();
const skip = brokers ? podmanSkip([WORKER_IMAGE]) : KAFKA_SKIP;
const container = uniqueName('mf-image-test');
let topics: TestTopics | undefined;

before(async () => {
  if (skip || !brokers) return;
  topics = await createTestTopics(brokers, 'image', 3);
});
after(async () => {
  if (skip || !brokers) return;
  await removeContainers([container]);
  if (topics) await deleteTestTopics(brokers, topics);
});

test('the image tags posts from Kafka, reports healthy, and exits 0 on SIGTERM with nothing lost', { skip, timeout: 240_000 }, async () => {
  assert.ok(brokers && topics);
  const t = topics;
  const { records, ids, badKeys } = inputRecords(60, 'img', 20); // 57 posts, 3 undecodable payloads
  await produceRecords(brokers, t.input, records);
  const port = String(19464 + Math.floor(Math.random() * 500));
  await podman(['run', '-d', '--name', container, '--network', 'host',
    '-e', `MENTIONFLOW_BROKERS=${brokers.join(',')}`, '-e', `MENTIONFLOW_INPUT_TOPIC=${t.input}`,
    '-e', `MENTIONFLOW_OUTPUT_TOPIC=${t.output}`, '-e', `MENTIONFLOW_DEAD_LETTER_TOPIC=${t.deadLetter}`,
    '-e', `MENTIONFLOW_GROUP_ID=${t.group}`, '-e', `MENTIONFLOW_METRICS_PORT=${port}`, WORKER_IMAGE]);
  const collector = OutputCollector.start(brokers, t);
  try {
    await collector.waitForAll(ids, badKeys, 120_000).catch(async (err: Error) => {
      throw new Error(`${err.message}\ncontainer log:\n${(await podman(['logs', '--tail', '40', container]).catch(() => '')).slice(-4000)}`);
    });
    // the image's own HEALTHCHECK command, run by podman inside the container (the user is node)
    assert.equal(await podmanStatus(['healthcheck', 'run', container]), 0, 'HEALTHCHECK should pass while the worker runs');
    assert.equal((await podman(['exec', container, 'id', '-un'])).trim(), 'node');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^mentionflow_/m);
    await podman(['kill', '--signal', 'TERM', container]);
    const code = Number((await podman(['wait', container], 90_000)).trim());
    const log = await podman(['logs', container]);
    assert.equal(code, 0, `exit code after SIGTERM; log tail:\n${log.slice(-3000)}`);
    // nothing lost: each post has its mention record, each bad payload its dead letter, offsets all committed
    const committed = await committedOffsets(brokers, t.group, t.input);
    const ends = await endOffsets(brokers, t.input);
    for (const [partition, end] of ends) assert.equal(committed.get(partition), end, `partition ${partition}: committed offset`);
    await waitUntil(() => ids.every((id) => collector.mentions.has(id)), 10_000, 'every mention record');
    assert.equal(collector.mentions.size, ids.length);
    assert.deepEqual([...collector.deadLetters.keys()].sort(), [...badKeys].sort());
    // the records themselves: from the input topic, by the shipped model, mentions that are substrings of their post
    const records = await readMentions(brokers, t.output, ids.length);
    const texts = new Map(records.map((r) => [r.post_id, testPost(r.post_id, Number(r.post_id.split('-').pop())).text]));
    for (const r of records) {
      assert.equal(r.origin?.topic, t.input);
      assert.ok(r.model.id.length > 0, 'model id');
      for (const m of r.mentions) assert.ok(texts.get(r.post_id)?.includes(m.text), `${m.text} in ${texts.get(r.post_id)}`);
    }
    assert.ok(records.some((r) => r.mentions.some((m) => m.text === '北京' && m.label === 'GPE.NAM')), 'some post tagged 北京 as GPE.NAM');
  } finally {
    await collector.stop();
  }
});

/** The first `n` PostMentions records of a topic (bounded wait). */
async function readMentions(brokers: string[], topic: string, n: number): Promise<PostMentions[]> {
  const type = loadSchema('mentions');
  const consumer = new Kafka({ clientId: 'image-test', brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: uniqueName('image-test-reader') });
  const out: PostMentions[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await within(new Promise<void>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => {
        out.push(type.fromBuffer(message.value as Buffer) as PostMentions);
        if (out.length >= n) resolve();
      } });
    }), 60_000, `${n} mention records`);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

// Why the entrypoint is tini: the worker's forced exit (second signal, or the shutdown deadline)
// removes its handler and raises the signal again; the kernel ignores that for PID 1.
test('PID 1: under the image\'s tini a re-raised SIGTERM ends node; node itself as PID 1 survives it', { skip: podmanSkip([WORKER_IMAGE]), timeout: 120_000 }, async () => {
  const entrypoint = JSON.parse(await podman(['image', 'inspect', '--format', '{{json .Config.Entrypoint}}', WORKER_IMAGE])) as string[];
  assert.deepEqual(entrypoint.slice(0, 3), ['/usr/bin/tini', '--', 'node']);
  const script = "process.on('SIGTERM',()=>{process.removeAllListeners('SIGTERM');process.kill(process.pid,'SIGTERM')});console.log('up');setInterval(()=>{},1000)";
  const states: Record<string, string> = {};
  for (const [kind, ep] of [['tini', JSON.stringify(entrypoint.slice(0, 3))], ['node', 'node']] as const) {
    const name = uniqueName(`mf-pid1-${kind}`);
    try {
      await podman(['run', '-d', '--name', name, '--entrypoint', ep, WORKER_IMAGE, '-e', script]);
      await waitUntilAsync(async () => (await podman(['logs', name])).includes('up'), 30_000, `${kind}: node up`);
      await podman(['kill', '--signal', 'TERM', name]);
      await new Promise((r) => setTimeout(r, 2000));
      states[kind] = (await podman(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name])).trim();
    } finally {
      await removeContainers([name]);
    }
  }
  assert.equal(states.tini, 'exited 143', 'under tini: ended by SIGTERM (128 + 15)');
  assert.equal(states.node, 'running 0', 'node as PID 1: the re-raised SIGTERM is ignored');
});

async function waitUntilAsync(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
