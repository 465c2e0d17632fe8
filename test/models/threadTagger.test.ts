/**
 * ThreadTagger: the shipped model in a worker thread gives exactly the
 * in-process NeuralTagger's mentions; an error rejects only its call; a dead
 * thread rejects what is pending and everything after; dispose ends the
 * thread with no tensors left; a bad artifact rejects open() with the
 * in-process loader's error; the threads' tensor count stays flat; the
 * bfloat16 and int8 precisions reach the threads. With
 * two threads: calls made at once run in parallel, each exactly as
 * in-process; one thread dying takes the tagger down.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { projectRoot, corporaDir } from '../../cli/defaults.js';
import { BackendError, ConfigError, ModelArtifactError, TaggingError } from '../../common/errors.js';
import type { BackendChoice } from '../../models/backend.js';
import { readConll } from '../../models/data/conll.js';
import { NeuralTagger } from '../../models/tagger.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { ThreadTagger } from '../../models/threadTagger.js';
import { useInferencePrecision } from '../../models/layers/nativeLstm.js';
import { nativeAddon } from '../../schemas/nativeAddon.js';
import { testBackend } from '../support/backend.js';

const MODEL = join(projectRoot(), 'models', 'default');
const BACKEND = (process.env.MENTIONFLOW_BACKEND ?? 'auto') as BackendChoice;
const DEV = join(corporaDir(), 'weiboNER', 'weiboNER_2nd_conll.dev');

/** The sample posts, and texts that exercise the edges: empty, emoji, lone surrogate, longer than maxLength (200). */
function texts(): string[] {
  const samples = readFileSync(join(projectRoot(), 'schemas', 'post', 'samples', 'posts.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { text: string }).text);
  return [...samples, '', '😀我在北京见到了张三', '\ud800孤立的代理项在上海', '北京大学的老师'.repeat(40)];
}

let inline: NeuralTagger;
let work: string;

before(async () => {
  await testBackend();
  inline = new NeuralTagger((await TaggerModel.load(MODEL)).model);
  work = await mkdtemp(join(tmpdir(), 'mf-thread-tagger-'));
});

after(async () => {
  inline.dispose();
  await rm(work, { recursive: true, force: true });
});

test('the thread tagger gives exactly the in-process mentions (same ids, offsets, confidences)', { timeout: 120_000 }, async () => {
  const tagger = await ThreadTagger.open(MODEL, { backend: BACKEND });
  try {
    assert.equal(tagger.modelId, inline.modelId);
    assert.equal(tagger.modelVersion, inline.modelVersion);
    const input = texts();
    const expected = await inline.tag(input);
    assert.ok(expected.flat().length > 20, 'the sample posts have mentions to compare');
    assert.deepEqual(await tagger.tag(input), expected);
    // calls in flight together each get their own result
    const parts = [input.slice(0, 10), input.slice(10, 25), input.slice(25)];
    const together = await Promise.all(parts.map((p) => tagger.tag(p)));
    assert.deepEqual(together, await Promise.all(parts.map((p) => inline.tag(p))));
  } finally {
    await tagger.close();
  }
});

test('WeiboNER v2 dev: the same mentions in the thread as in-process', { timeout: 300_000, skip: existsSync(DEV) ? false : `corpus not found at ${DEV} (set MENTIONFLOW_CORPORA)` }, async () => {
  const dev = (await readConll(DEV)).map((s) => s.chars.join(''));
  const tagger = await ThreadTagger.open(MODEL, { backend: BACKEND, batchSize: 32 });
  try {
    const ours = new NeuralTagger(inline.model, { batchSize: 32 });
    for (let i = 0; i < dev.length; i += 64) {
      const chunk = dev.slice(i, i + 64);
      assert.deepEqual(await tagger.tag(chunk), await ours.tag(chunk), `texts ${i}..${i + chunk.length - 1}`);
    }
  } finally {
    await tagger.close();
  }
});

test('an error while tagging rejects only that call, with the in-process error (class and message)', { timeout: 120_000 }, async () => {
  const bad = [null] as unknown as string[];
  const inlineError = await inline.tag(bad).then(
    () => assert.fail('the in-process tagger accepted a null text'),
    (err: unknown) => err as Error,
  );
  const tagger = await ThreadTagger.open(MODEL, { backend: BACKEND });
  try {
    const [a, b, c] = await Promise.allSettled([tagger.tag(['我在北京']), tagger.tag(bad), tagger.tag(['张三在上海'])]);
    assert.equal(a.status, 'fulfilled');
    assert.equal(c.status, 'fulfilled');
    assert.equal(b.status, 'rejected');
    const err = (b as PromiseRejectedResult).reason as Error;
    assert.equal(err.constructor, inlineError.constructor);
    assert.equal(err.name, inlineError.name);
    assert.equal(err.message, inlineError.message);
    assert.deepEqual(await tagger.tag(['我在北京']), await inline.tag(['我在北京']), 'the thread still tags after the error');
    // texts that cannot be sent at all reject at once, and leave nothing pending
    await assert.rejects(tagger.tag([(() => 'not data') as unknown as string]), (err: unknown) => (err as Error).name === 'DataCloneError');
    assert.equal((await tagger.tag(['张三'])).length, 1);
  } finally {
    await tagger.close();
  }
});

test('the thread dying rejects the pending calls and every later call with a TaggingError', { timeout: 120_000 }, async () => {
  const exits: TaggingError[] = [];
  const tagger = await ThreadTagger.open(MODEL, { backend: BACKEND, exitOnText: 'EXIT-NOW', onExit: (err) => exits.push(err) });
  const results = await Promise.allSettled([tagger.tag(['我在北京']), tagger.tag(['EXIT-NOW']), tagger.tag(['张三在上海']), tagger.memory()]);
  assert.equal(results[0].status, 'fulfilled', 'the call before the crash was answered');
  // The first call yields to the thread's event loop between its steps, so the memory request is answered before the crash.
  assert.equal(results[3].status, 'fulfilled', 'memory() is answered while a tag call computes');
  for (const r of [...results.slice(1, 3), ...(await Promise.allSettled([tagger.memory()]))]) {
    assert.equal(r.status, 'rejected');
    const err = (r as PromiseRejectedResult).reason as Error;
    assert.ok(err instanceof TaggingError, `${err}`);
    assert.match(err.message, /the inference thread exited with code 7; calls made to it are lost, restart the worker/);
  }
  assert.equal(exits.length, 1, 'onExit once');
  await assert.rejects(tagger.tag(['later']), (err: unknown) => err instanceof TaggingError && /exited with code 7/.test(err.message));
  assert.equal(await tagger.close(), undefined, 'closing a dead tagger resolves');
});

test('close(): calls already made finish, the model is disposed in the thread (0 tensors), later calls reject', { timeout: 120_000 }, async () => {
  const exits: TaggingError[] = [];
  const tagger = await ThreadTagger.open(MODEL, { backend: BACKEND, onExit: (err) => exits.push(err) });
  const before = tagger.tag(['我在北京见到了张三']);
  const closed = tagger.close();
  assert.deepEqual(await before, await inline.tag(['我在北京见到了张三']));
  assert.deepEqual(await closed, { numTensors: 0, numBytes: 0 });
  await assert.rejects(tagger.tag(['我在北京']), (err: unknown) => err instanceof TaggingError && /disposed/.test(err.message));
  await assert.rejects(tagger.memory(), TaggingError);
  tagger.dispose(); // a second dispose is harmless
  assert.deepEqual(exits, [], 'a disposal is not reported as a death');
});

/** What the in-process loader says about `dir`. */
async function inProcessError(dir: string): Promise<Error> {
  return TaggerModel.load(dir).then(
    ({ model }) => {
      model.dispose();
      return assert.fail(`the in-process loader accepted ${dir}`);
    },
    (err: unknown) => err as Error,
  );
}

async function corruptCopy(name: string, damage: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(work, name);
  await cp(MODEL, dir, { recursive: true });
  await damage(dir);
  return dir;
}

test('open() on a missing or corrupt artifact rejects with the in-process loader\'s error', { timeout: 180_000 }, async () => {
  const dirs = [
    join(work, 'does-not-exist'),
    await corruptCopy('truncated', (d) => truncate(join(d, 'weights.bin'), 1000)),
    await corruptCopy('bad-json', (d) => writeFile(join(d, 'manifest.json'), '{"format": "mentionflow-model", ')),
    await corruptCopy('flipped', async (d) => {
      const p = join(d, 'weights.bin');
      const bytes = readFileSync(p);
      bytes[bytes.length - 5] ^= 0xff;
      await writeFile(p, bytes);
    }),
  ];
  for (const dir of dirs) {
    const expected = await inProcessError(dir);
    assert.ok(expected instanceof ModelArtifactError);
    await assert.rejects(ThreadTagger.open(dir, { backend: BACKEND }), (err: unknown) => {
      assert.ok(err instanceof ModelArtifactError, `${dir}: ${err}`);
      assert.equal(err.message, expected.message);
      assert.equal(err.dir, dir);
      return true;
    });
  }
});

test('open() with an unknown backend rejects with the BackendError useBackend gives', { timeout: 60_000 }, async () => {
  await assert.rejects(
    ThreadTagger.open(MODEL, { backend: 'gpu' as BackendChoice }),
    (err: unknown) => err instanceof BackendError && err.message === 'unknown backend "gpu"; choose one of auto, native, wasm, cpu',
  );
});

for (const [precision, runs] of [
  ['bfloat16', () => nativeAddon()?.lstmBf16() === true],
  ['int8', () => nativeAddon()?.lstmInt8() === true],
] as const) {
  test(`precision ${precision} reaches the threads: the in-process ${precision} mentions exactly; refused with a ConfigError where it cannot run`, { timeout: 120_000 }, async () => {
    const backend = await testBackend();
    if (backend !== 'native' || !runs()) {
      // Where it cannot run, the thread's useInferencePrecision refuses and open() rejects with its ConfigError.
      await assert.rejects(ThreadTagger.open(MODEL, { backend: BACKEND, precision }), (err: unknown) => err instanceof ConfigError && new RegExp(`precision ${precision} cannot run here`).test(err.message));
      return;
    }
    const input = texts();
    useInferencePrecision(precision);
    const expected = await inline.tag(input).finally(() => useInferencePrecision('float32'));
    const float32 = await inline.tag(input);
    const tagger = await ThreadTagger.open(MODEL, { backend: BACKEND, precision });
    try {
      assert.deepEqual(await tagger.tag(input), expected);
    } finally {
      await tagger.close();
    }
    // The precision shows in the confidences (the spans are the same on these texts).
    const strip = (r: typeof float32) => r.map((ms) => ms.map((m) => ({ ...m, confidence: 0 })));
    assert.deepEqual(strip(expected), strip(float32));
    assert.notDeepEqual(expected, float32, `${precision} products give other confidences than float32`);
    await assert.rejects(ThreadTagger.open(MODEL, { backend: 'cpu', precision }), (err: unknown) => err instanceof ConfigError && /native TensorFlow backend is not active/.test(err.message));
  });
}

for (const threads of [1, 2]) test(`${threads} thread(s): the tensor count stays flat over many batches`, { timeout: 180_000 }, async () => {
  const tagger = await ThreadTagger.open(MODEL, { backend: BACKEND, threads });
  try {
    const input = texts();
    await tagger.tag(input); // warm-up
    const start = await tagger.memory();
    assert.ok(start.numTensors > 0 && start.numBytes > 0, `the model's weights live in the thread: ${JSON.stringify(start)}`);
    for (let i = 0; i < 60; i++) await tagger.tag(input.slice(i % 20, (i % 20) + 24));
    await Promise.all([tagger.tag(input), tagger.tag(input.slice(5)), tagger.tag(['']), tagger.tag([null] as unknown as string[]).catch(() => [])]);
    assert.deepEqual(await tagger.memory(), start);
  } finally {
    await tagger.close();
  }
});

test('two threads: a short call made after a long one is answered first, every result exactly the in-process one', { timeout: 180_000 }, async () => {
  const input = texts();
  const long = Array.from({ length: 12 }, () => input).flat();
  const short = ['张三在上海'];
  const [expectedLong, expectedShort] = [await inline.tag(long), await inline.tag(short)];
  for (const threads of [1, 2]) {
    const tagger = await ThreadTagger.open(MODEL, { backend: BACKEND, threads });
    try {
      assert.equal(tagger.threads, threads);
      const one = threads === 1 ? undefined : (await tagger.memory()).numTensors;
      if (one !== undefined) {
        const single = await ThreadTagger.open(MODEL, { backend: BACKEND });
        assert.equal(one, 2 * (await single.memory()).numTensors, 'each thread holds the model; memory() sums them');
        await single.close();
      }
      await tagger.tag(short); // warm-up
      const order: string[] = [];
      const a = tagger.tag(long).then((r) => (order.push('long'), r));
      const b = tagger.tag(short).then((r) => (order.push('short'), r));
      const [gotLong, gotShort] = await Promise.all([a, b]);
      assert.deepEqual(gotLong, expectedLong);
      assert.deepEqual(gotShort, expectedShort);
      // one thread answers in call order; two tag the calls side by side
      assert.deepEqual(order, threads === 1 ? ['long', 'short'] : ['short', 'long'], `${threads} thread(s)`);
    } finally {
      await tagger.close();
    }
  }
});

test('two threads: one dying rejects the pending and later calls, ends the other, and onExit is called once', { timeout: 120_000 }, async () => {
  const exits: TaggingError[] = [];
  const tagger = await ThreadTagger.open(MODEL, { backend: BACKEND, threads: 2, exitOnText: 'EXIT-NOW', onExit: (err) => exits.push(err) });
  const long = Array.from({ length: 12 }, () => texts()).flat();
  // the long call goes to one thread, the fatal one to the other (the least busy) while the long one computes
  const results = await Promise.allSettled([tagger.tag(long), tagger.tag(['EXIT-NOW'])]);
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    assert.match(((r as PromiseRejectedResult).reason as Error).message, /the inference thread exited with code 7; calls made to it are lost, restart the worker/);
  }
  assert.equal(exits.length, 1, 'onExit once');
  await assert.rejects(tagger.tag(['later']), (err: unknown) => err instanceof TaggingError && /exited with code 7/.test(err.message));
  await assert.rejects(tagger.memory(), TaggingError);
  assert.equal(await tagger.close(), undefined, 'closing a dead tagger resolves (both threads have ended)');
});

test('two threads: close() lets the calls made finish in both, disposes both models (0 tensors)', { timeout: 120_000 }, async () => {
  const tagger = await ThreadTagger.open(MODEL, { backend: BACKEND, threads: 2 });
  const input = texts();
  const calls = [tagger.tag(input), tagger.tag(['我在北京见到了张三']), tagger.tag(input.slice(3))];
  const closed = tagger.close();
  assert.deepEqual(await Promise.all(calls), [await inline.tag(input), await inline.tag(['我在北京见到了张三']), await inline.tag(input.slice(3))]);
  assert.deepEqual(await closed, { numTensors: 0, numBytes: 0 });
  await assert.rejects(tagger.tag(['我在北京']), (err: unknown) => err instanceof TaggingError && /disposed/.test(err.message));
});

test('threads must be an integer from 1 to 64', async () => {
  for (const threads of [0, 1.5, 65, Number.NaN]) {
    await assert.rejects(ThreadTagger.open(MODEL, { backend: BACKEND, threads }), (err: unknown) => err instanceof ConfigError && /threads must be an integer from 1 to 64/.test(err.message));
  }
});
