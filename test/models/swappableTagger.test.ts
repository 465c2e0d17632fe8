import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ConfigError, TaggingError } from '../../common/errors.js';
import { SwappableTagger } from '../../models/swappableTagger.js';
import { NeuralTagger, type Mention, type Tagger } from '../../models/tagger.js';
import { testBackend } from '../support/backend.js';
import { tinyModel } from '../support/tiny.js';

/** A fake tagger that records its calls and whether it was disposed; each call waits for `gate` when set. */
class FakeTagger implements Tagger {
  readonly modelId = 'fake';
  calls = 0;
  disposed = 0;
  gate: Promise<void> | undefined;
  constructor(readonly modelVersion: string) {}
  async tag(texts: readonly string[]): Promise<Mention[][]> {
    if (this.disposed > 0) throw new Error(`${this.modelVersion} used after dispose`);
    this.calls++;
    await this.gate;
    return texts.map(() => []);
  }
  dispose(): void {
    this.disposed++;
  }
}

test('a lease pins the model of its batch; a swapped-out model is disposed after its last lease, once', async () => {
  const a = new FakeTagger('a');
  const b = new FakeTagger('b');
  const s = new SwappableTagger(a, { id: 'fake', version: 'v-a' });
  assert.deepEqual(s.model, { id: 'fake', version: 'v-a' });
  const first = s.lease();
  const second = s.lease();
  assert.equal(first.tagger, a);
  assert.deepEqual(s.swap(b, { id: 'fake', version: 'v-b' }), { id: 'fake', version: 'v-a' });
  assert.equal(s.modelVersion, 'v-b');
  const third = s.lease();
  assert.equal(third.tagger, b, 'a lease after the swap gets the new model');
  assert.deepEqual(third.model, { id: 'fake', version: 'v-b' });
  await first.tagger.tag(['x']); // the batch in flight still runs on a
  assert.equal(a.calls, 1);
  first.release();
  first.release(); // idempotent: does not count twice
  assert.equal(a.disposed, 0, 'still leased by the second batch');
  assert.equal(s.retiringCount, 1);
  second.release();
  assert.equal(a.disposed, 1);
  assert.equal(s.retiringCount, 0);
  third.release();
  assert.equal(b.disposed, 0, 'the model in service is never disposed by a release');
  s.dispose();
  assert.equal(b.disposed, 1);
  assert.throws(() => s.lease(), TaggingError);
});

test('a swap with no batch in flight disposes the old model at once; tag() leases for one call', async () => {
  const a = new FakeTagger('a');
  const b = new FakeTagger('b');
  const s = new SwappableTagger(a);
  assert.equal(s.modelVersion, 'a', 'the reference defaults to the tagger\'s own');
  let open!: () => void;
  a.gate = new Promise((r) => (open = r));
  const pending = s.tag(['x', 'y']);
  s.swap(b);
  assert.equal(a.disposed, 0, 'the call in flight holds a');
  open();
  assert.deepEqual(await pending, [[], []]);
  assert.equal(a.disposed, 1);
  await s.tag(['z']);
  assert.equal(b.calls, 1);
  const c = new FakeTagger('c');
  s.swap(c);
  assert.equal(b.disposed, 1);
  assert.throws(() => s.swap(c), ConfigError);
  assert.throws(() => new SwappableTagger(a, { id: '', version: 'x' }), ConfigError);
  assert.throws(() => s.swap({} as Tagger), ConfigError);
});

test('dispose frees the model in service and the retiring ones', () => {
  const a = new FakeTagger('a');
  const b = new FakeTagger('b');
  const s = new SwappableTagger(a);
  const held = s.lease();
  s.swap(b);
  s.dispose();
  assert.equal(a.disposed, 1);
  assert.equal(b.disposed, 1);
  held.release();
  assert.equal(a.disposed, 1, 'not disposed twice');
});

test('tensor count stays flat over 30 swaps of real models, with batches in flight across swaps', async () => {
  await testBackend();
  const s = new SwappableTagger(new NeuralTagger(tinyModel({ seed: 1 })), { id: 'tiny', version: 'v0' });
  await s.tag(['张三在北京工作']); // warm up: any lazily made tensors exist from here on
  const base = tf.memory().numTensors;
  const counts: number[] = [];
  for (let i = 1; i <= 30; i++) {
    const inFlight = s.tag(['我爱上海', '李四是老师']);
    const next = new NeuralTagger(tinyModel({ seed: 1 + i }));
    s.swap(next, { id: 'tiny', version: `v${i}` });
    const result = await inFlight;
    assert.equal(result.length, 2);
    await s.tag(['微软公司发布新品']);
    counts.push(tf.memory().numTensors);
  }
  assert.equal(s.retiringCount, 0);
  assert.deepEqual(new Set(counts), new Set([base]), `tensors after each swap ${counts.join(',')} vs ${base} before`);
  s.dispose();
  assert.ok(tf.memory().numTensors < base, 'disposing frees the last model too');
});
