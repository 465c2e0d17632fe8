/**
 * Hot swap against the real broker: `mentionflow run --model-store DIR
 * --delivery exactly-once` under a steady trickle of posts while the store's
 * SERVING moves three times (v1 -> v2 -> a corrupt candidate -> v3), inline,
 * in a thread, and in two threads tagging two batches at once. Read back read_committed: every post exactly one mention
 * record; in each input partition, in offset order, the model versions run
 * v1, v2, v3 (each change once, never back); the corrupt candidate tagged
 * nothing; the worker's metrics show v3 in service, 2 swaps and 1 refusal,
 * and as many live tensors idle after the swaps as before them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ModelStore } from '../../models/artifact/store.js';
import { readTopic } from '../../pipeline/kafka/topicReader.js';
import { loadSchema } from '../../schemas/registry.js';
import type { PostMentions } from '../../schemas/types.generated.js';
import {
  KAFKA_SKIP,
  createTestTopics,
  deleteTestTopics,
  inputRecords,
  kafkaBrokers,
  produceRecords,
  runArgs,
  saveTinyModel,
  sleep,
  spawnCli,
  uniqueName,
  waitUntil,
  within,
} from '../support/kafka.js';
import { corruptWeights } from '../support/tiny.js';

const POSTS = 6_000;
/** 100 posts every 100 ms: about 6 s of steady load, so the swaps happen under it. */
const TRICKLE = { chunk: 100, pauseMs: 100 };

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The metric lines of /metrics: `name{labels}` -> value. */
async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** A read_committed reader of the output topic keeping, per post, its input position and model version. */
function collect(brokers: string[], topic: string) {
  const type = loadSchema('mentions');
  const records: Array<{ id: string; partition: number; offset: number; version: string }> = [];
  const abort = new AbortController();
  const reading = readTopic({
    brokers,
    topic,
    groupId: uniqueName('swap-reader'),
    fromBeginning: true,
    signal: abort.signal,
    onRecord: (r) => {
      const m = type.fromBuffer(r.value as Buffer) as PostMentions;
      records.push({ id: m.post_id, partition: m.origin?.partition ?? -1, offset: m.origin?.offset ?? -1, version: m.model.version });
    },
  });
  reading.catch(() => undefined);
  return { records, stop: () => (abort.abort(), within(reading.catch(() => undefined), 15_000, 'the reader to stop')) };
}

const count = (text: string, msg: string): number => text.split('\n').filter((l) => l.includes(`"msg":"${msg}`)).length;

const MODES = [
  { label: 'inline', inference: 'inline', extra: [] },
  { label: 'thread', inference: 'thread', extra: [] },
  // two inference threads, two batches tagged at once: every thread loads each version; leases keep the versions in offset order
  { label: 'thread, 2 threads, 2 in flight', inference: 'thread', extra: ['--tagger-threads', '2', '--tagger-concurrency', '2'] },
] as const;

for (const { label, inference, extra } of MODES) {
  test(`hot swap under load (${label}): three promotions, one corrupt; each post once, versions in offset order, tensors flat`, { timeout: 240_000, skip: kafkaBrokers() === undefined ? KAFKA_SKIP : false }, async (t) => {
    const brokers = kafkaBrokers() as string[];
    const tmp = mkdtempSync(join(tmpdir(), 'mf-swap-'));
    const artifact = await saveTinyModel(join(tmp, 'model'));
    const store = await ModelStore.open(join(tmp, 'store'), { create: true });
    for (const v of ['v1', 'v2', 'bad', 'v3']) await store.add(artifact, v);
    corruptWeights(store.versionDir('bad'));
    await store.promote('v1');

    const topics = await createTestTopics(brokers, 'swap');
    t.after(() => deleteTestTopics(brokers, topics));
    const port = await freePort();
    const args = runArgs(brokers, topics, artifact).filter((a, i, all) => a !== '--model' && all[i - 1] !== '--model');
    const worker = spawnCli([
      ...args,
      '--model-store', store.dir,
      '--model-poll-ms', '100',
      '--inference', inference,
      '--delivery', 'exactly-once',
      '--metrics-port', String(port),
      '--batch-max-count', '16',
      '--max-in-flight', '256',
      ...extra,
    ]);
    t.after(() => worker.kill());
    const reader = collect(brokers, topics.output);
    t.after(() => reader.stop());
    await worker.waitForStderr(/"msg":"worker started"/, 60_000);
    const idleBefore = (await scrape(port)).get('mentionflow_tfjs_tensors') as number;
    assert.ok(idleBefore > 0);

    const { records, ids } = inputRecords(POSTS, 'swap', 0);
    const producing = produceRecords(brokers, topics.input, records, TRICKLE);
    const seen = () => reader.records.length;
    const swaps = async (msg: string, n: number) => waitUntil(() => count(worker.stderr, msg) >= n, 30_000, `${n} x "${msg}"`, () => worker.stderr.slice(-2000));

    await waitUntil(() => seen() >= 1000, 60_000, '1000 outputs');
    await store.promote('v2');
    await swaps('model swapped', 1);
    await waitUntil(() => seen() >= 2500, 60_000, '2500 outputs');
    await store.promote('bad', 'forced, for the test');
    await swaps('model candidate refused', 1);
    await waitUntil(() => seen() >= 3500, 60_000, '3500 outputs');
    const underLoad = seen() < POSTS;
    await store.promote('v3');
    await swaps('model swapped', 2);
    await producing;
    await waitUntil(() => seen() >= ids.length, 120_000, 'every post to have its output', () => `${seen()} of ${ids.length}`);
    await sleep(3000); // late duplicates would show up now

    const perId = new Map<string, number>();
    for (const r of reader.records) perId.set(r.id, (perId.get(r.id) ?? 0) + 1);
    assert.deepEqual(ids.filter((id) => perId.get(id) !== 1), [], 'every post exactly one mention record');
    assert.equal(perId.size, ids.length);

    const order = ['v1', 'v2', 'v3'];
    const runs = new Map<number, string[]>();
    for (const r of [...reader.records].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
      const list = runs.get(r.partition) ?? [];
      if (list.at(-1) !== r.version) list.push(r.version);
      runs.set(r.partition, list);
    }
    for (const [partition, list] of runs) {
      assert.ok(!list.includes('bad'), `partition ${partition}: the refused candidate tagged nothing`);
      const idx = list.map((v) => order.indexOf(v));
      assert.ok(idx.every((x, i) => x >= 0 && (i === 0 || x > idx[i - 1])), `partition ${partition}: versions in offset order ${list.join(' -> ')}`);
    }
    const used = new Set(reader.records.map((r) => r.version));
    assert.deepEqual([...used].sort(), order, 'all three versions tagged posts');
    t.diagnostic(`versions by partition: ${[...runs].map(([p, l]) => `${p}: ${l.join('->')}`).join('; ')}; last swap under load: ${underLoad}`);

    const m = await scrape(port);
    assert.equal(m.get('mentionflow_model_info{id="tiny",version="v3"}'), 1);
    assert.equal([...m.keys()].filter((k) => k.startsWith('mentionflow_model_info{')).length, 1);
    assert.equal(m.get('mentionflow_model_swaps_total{result="swapped"}'), 2);
    assert.equal(m.get('mentionflow_model_swaps_total{result="refused"}'), 1);
    const idleAfter = m.get('mentionflow_tfjs_tensors');
    assert.equal(idleAfter, idleBefore, `live tensors idle: ${idleBefore} before the swaps, ${idleAfter} after`);
    t.diagnostic(`tensors idle before/after: ${idleBefore}/${idleAfter}`);

    worker.kill('SIGTERM');
    const exit = await within(worker.exited, 60_000, 'the worker to stop');
    assert.equal(exit.code, 0, worker.stderr.slice(-2000));
  });
}
