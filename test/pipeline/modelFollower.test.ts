import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../common/errors.js';
import { ModelStore, SERVING_FILE } from '../../models/artifact/store.js';
import { SwappableTagger } from '../../models/swappableTagger.js';
import { NeuralTagger, type Tagger } from '../../models/tagger.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { createLogger } from '../../pipeline/ops/logger.js';
import { createPipelineMetrics } from '../../pipeline/ops/metrics.js';
import { loadServing, startModelFollower } from '../../pipeline/stream/modelFollower.js';
import { saveTinyModel } from '../support/kafka.js';
import { corruptWeights } from '../support/tiny.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'mf-follow-'));

async function loadNeural(dir: string): Promise<Tagger> {
  const { model } = await TaggerModel.load(dir);
  return new NeuralTagger(model);
}

function captureLogger() {
  const stream = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  stream.on('data', (chunk: Buffer) => {
    for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
  });
  return { logger: createLogger({ level: 'info', stream }), lines };
}

async function metricValues(metrics: ReturnType<typeof createPipelineMetrics>) {
  const info = (await metrics.modelInfo.get()).values.filter((v) => v.value === 1).map((v) => v.labels.version);
  const swaps = Object.fromEntries((await metrics.modelSwaps.get()).values.map((v) => [v.labels.result, v.value]));
  return { info, swaps };
}

test('the follower swaps to each promoted version, refuses a corrupt one (log + metric) and keeps serving; tensors flat', async () => {
  const artifact = await saveTinyModel(join(tmp(), 'model'));
  const store = await ModelStore.open(join(tmp(), 'store'), { create: true });
  for (const v of ['v1', 'v2', 'bad', 'v3']) await store.add(artifact, v);
  // Corrupt after adding (as a disk fault or a hand-copied artifact would): the store checked it on add.
  corruptWeights(store.versionDir('bad'));

  await store.promote('v1');
  const { tagger: first, model } = await loadServing(store, loadNeural);
  assert.deepEqual(model, { id: 'tiny', version: 'v1' });
  const tagger = new SwappableTagger(first, model);
  const metrics = createPipelineMetrics({ collectDefault: false });
  const { logger, lines } = captureLogger();
  const follower = startModelFollower({ store, tagger, load: loadNeural, intervalMs: 3_600_000, logger, metrics });
  try {
    await tagger.tag(['张三在北京工作']);
    const base = tf.memory().numTensors;
    assert.deepEqual((await metricValues(metrics)).info, ['v1']);

    await follower.check();
    assert.equal(tagger.modelVersion, 'v1', 'nothing promoted: no swap');

    await store.promote('v2');
    await follower.check();
    assert.equal(tagger.modelVersion, 'v2');
    assert.equal(tf.memory().numTensors, base);

    await store.promote('bad', 'forced');
    await follower.check();
    await follower.check(); // refused once, not retried while SERVING still names it
    assert.equal(tagger.modelVersion, 'v2', 'the old model keeps serving');
    assert.equal((await tagger.tag(['我爱上海'])).length, 1);
    let m = await metricValues(metrics);
    assert.deepEqual(m.info, ['v2']);
    assert.deepEqual(m.swaps, { swapped: 1, refused: 1 });
    const refusals = lines.filter((l) => l.msg === 'model candidate refused; the model in service keeps serving');
    assert.equal(refusals.length, 1);
    assert.equal(refusals[0].candidate, 'bad');
    assert.equal(tf.memory().numTensors, base, 'the refused candidate left no tensors behind');

    await store.promote('v3');
    await follower.check();
    assert.equal(tagger.modelVersion, 'v3');
    m = await metricValues(metrics);
    assert.deepEqual(m.info, ['v3']);
    assert.deepEqual(m.swaps, { swapped: 2, refused: 1 });
    assert.equal(tf.memory().numTensors, base);

    // A broken pointer: one warning, the model keeps serving.
    writeFileSync(join(store.dir, SERVING_FILE), '{"version":');
    await follower.check();
    await follower.check();
    assert.equal(tagger.modelVersion, 'v3');
    assert.equal(lines.filter((l) => l.msg === 'cannot read the model store pointer; the model in service keeps serving').length, 1);
  } finally {
    await follower.stop();
    tagger.dispose();
  }
});

test('the follower polls by itself; options are checked; an empty store is a ConfigError', async () => {
  const artifact = await saveTinyModel(join(tmp(), 'model'));
  const store = await ModelStore.open(join(tmp(), 'store'), { create: true });
  await store.add(artifact, 'a');
  await store.add(artifact, 'b');
  await assert.rejects(loadServing(store, loadNeural), (err: unknown) => err instanceof ConfigError && /no version is serving yet/.test(err.message));
  await store.promote('a');
  const { tagger: first, model } = await loadServing(store, loadNeural);
  const tagger = new SwappableTagger(first, model);
  const metrics = createPipelineMetrics({ collectDefault: false });
  const { logger } = captureLogger();
  assert.throws(() => startModelFollower({ store, tagger, load: loadNeural, intervalMs: 5, logger, metrics }), ConfigError);
  const follower = startModelFollower({ store, tagger, load: loadNeural, intervalMs: 20, logger, metrics });
  try {
    await store.promote('b');
    const deadline = Date.now() + 10_000;
    while (tagger.modelVersion !== 'b' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(tagger.modelVersion, 'b');
  } finally {
    await follower.stop();
    tagger.dispose();
  }
});
