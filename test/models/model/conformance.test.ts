/**
 * Model conformance: a tiny model trains to a perfect fit, saves, loads and
 * predicts the same; corrupted artifacts are refused; inference does not
 * leak tensors.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ModelArtifactError } from '../../../common/errors.js';
import { NeuralTagger } from '../../../models/tagger.js';
import { TaggerModel } from '../../../models/taggerModel.js';
import { testBackend } from '../../support/backend.js';
import { fitTiny, TINY, tinyModel } from '../../support/tiny.js';

let dir: string;
let model: TaggerModel;

before(async () => {
  await testBackend();
  dir = await mkdtemp(join(tmpdir(), 'mentionflow-artifact-'));
  model = tinyModel({ lexicalBuckets: 512 });
});

after(async () => {
  model.dispose();
  await rm(dir, { recursive: true, force: true });
});

test('a tiny BiLSTM-CRF overfits hand-written sentences to F1 = 100', async () => {
  const f1 = await fitTiny(model);
  assert.equal(f1, 100);
});

test('save -> load round trip predicts identically, with confidences', async () => {
  await model.save(join(dir, 'm'), { training: { seed: 1, epochs: 1, bestEpoch: 1, data: [], options: {} }, scores: {} });
  const { model: loaded, manifest } = await TaggerModel.load(join(dir, 'm'));
  assert.equal(manifest.formatVersion, 1);
  const a = await model.predict(TINY.map((s) => s.chars));
  const b = await loaded.predict(TINY.map((s) => s.chars));
  assert.deepEqual(b, a);
  for (const p of a) for (const s of p.spans) assert.ok(s.confidence > 0 && s.confidence <= 1);
  loaded.dispose();
});

test('load returns to the event loop between its steps (a worker keeps serving while it loads a candidate), and leaves random initialisation on', async () => {
  await model.save(join(dir, 'steps'), { training: { seed: 1, epochs: 1, bestEpoch: 1, data: [], options: {} }, scores: {} });
  // Sample the tensor count at every event-loop turn (setImmediate callbacks) while the load runs:
  // the turns after the network's variables exist are the ones its weights are assigned in.
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  let loading = true;
  const spin = (): void => {
    counts.push(tf.memory().numTensors - before);
    if (loading) setImmediate(spin);
  };
  setImmediate(spin);
  const { model: loaded } = await TaggerModel.load(join(dir, 'steps'));
  loading = false;
  const tensors = loaded.network.params().size;
  const built = counts.findIndex((n) => n >= tensors);
  const turnsAfter = built < 0 ? 0 : counts.length - built;
  assert.ok(turnsAfter >= tensors, `${turnsAfter} event-loop turns between building the network and the end of the load, for ${tensors} tensors (counts ${counts.join(',')})`);
  assert.deepEqual(await loaded.predict(TINY.map((s) => s.chars)), await model.predict(TINY.map((s) => s.chars)));
  loaded.dispose();
  // The load builds its network without drawing random values; a model created afterwards still draws them.
  const fresh = tinyModel();
  const values = [...fresh.network.params().values()].map((v) => v.dataSync());
  assert.ok(values.some((a) => a.some((x) => x !== 0)), 'a new model has non-zero initial weights');
  fresh.dispose();
});

test('the Tagger reports code-point and UTF-16 offsets (emoji is one code point, two UTF-16 units)', async () => {
  const tagger = new NeuralTagger(model);
  const [mentions] = await tagger.tag(['😀长江很美']);
  const river = mentions.find((m) => m.text === '长江');
  assert.ok(river, `expected 长江 among ${JSON.stringify(mentions)}`);
  assert.equal(river.start, 1);
  assert.equal(river.end, 3);
  assert.equal(river.start_utf16, 2);
  assert.equal(river.end_utf16, 4);
  assert.equal(river.type, 'LOC');
  assert.equal(river.kind, 'NAM');
  assert.equal('😀长江很美'.slice(river.start_utf16, river.end_utf16), '长江');
});

test('corrupted, truncated, incompatible or missing artifacts are refused with ModelArtifactError', async () => {
  const cases: [string, (d: string) => Promise<void>, RegExp][] = [
    ['flipped weight byte', async (d) => {
      const w = await readFile(join(d, 'weights.bin'));
      w[100] ^= 0xff;
      await writeFile(join(d, 'weights.bin'), w);
    }, /checksum mismatch/],
    ['truncated weights', (d) => truncate(join(d, 'weights.bin'), 1000), /truncated/],
    ['truncated manifest', async (d) => {
      const m = await readFile(join(d, 'manifest.json'), 'utf8');
      await writeFile(join(d, 'manifest.json'), m.slice(0, m.length / 2));
    }, /not valid JSON/],
    ['future format version', async (d) => {
      const m = JSON.parse(await readFile(join(d, 'manifest.json'), 'utf8'));
      m.formatVersion = 99;
      await writeFile(join(d, 'manifest.json'), JSON.stringify(m));
    }, /newer than this mentionflow supports/],
    ['missing manifest', (d) => rm(join(d, 'manifest.json')), /no manifest.json/],
  ];
  for (const [name, damage, message] of cases) {
    const d = join(dir, name.replace(/ /g, '-'));
    await model.save(d, { training: { seed: 1, epochs: 1, bestEpoch: 1, data: [], options: {} }, scores: {} });
    await damage(d);
    await assert.rejects(TaggerModel.load(d), (err: unknown) => err instanceof ModelArtifactError && message.test(err.message), name);
  }
});

test('the tfjs tensor count stays flat over many inference batches', async () => {
  const tagger = new NeuralTagger(model, { batchSize: 4 });
  const texts = Array.from({ length: 12 }, (_, i) => TINY[i % TINY.length].chars.join('') + '的'.repeat(i));
  await tagger.tag(texts); // warm-up
  const before = tf.memory().numTensors;
  for (let i = 0; i < 50; i++) await tagger.tag(texts);
  assert.equal(tf.memory().numTensors, before);
});

test('the tfjs tensor count stays flat over training steps', async () => {
  const before = tf.memory().numTensors;
  await fitTiny(model, 3);
  assert.equal(tf.memory().numTensors, before);
});
