/**
 * Cooperative inference (models/pace.ts): while the inline tagger tags a long
 * text the event loop keeps running (a 10 ms timer is never late by more than
 * a generous bound; sliceChars 0, the old one-run behaviour, holds it for the
 * whole call); the thread tagger answers memory() before a long call ends
 * (between steps, or from its last reply); stepping changes no mention; each
 * tensor batch stays within its cells, with a return to the event loop before
 * every forward pass and every decoding; the tensor count stays flat; bad
 * options are rejected at construction.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { projectRoot } from '../../cli/defaults.js';
import { ConfigError } from '../../common/errors.js';
import type { BackendChoice } from '../../models/backend.js';
import { lengthBuckets, type Batch } from '../../models/batch.js';
import type { PackedBatch } from '../../models/packing.js';
import { Pace } from '../../models/pace.js';
import { DEFAULT_SLICE_CHARS, NeuralTagger, type Mention } from '../../models/tagger.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { ThreadTagger } from '../../models/threadTagger.js';
import { ENTITY_LABELS, TagDictionary } from '../../models/text/tagScheme.js';
import { testBackend } from '../support/backend.js';
import { TINY } from '../support/tiny.js';
import { Vocabulary } from '../../models/text/vocabulary.js';

const MODEL = join(projectRoot(), 'models', 'default');
const BACKEND = (process.env.MENTIONFLOW_BACKEND ?? 'auto') as BackendChoice;

function samples(): string[] {
  return readFileSync(join(projectRoot(), 'schemas', 'post', 'samples', 'posts.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { text: string }).text);
}

/** A text of `n` UTF-16 units cut from the sample posts repeated. */
function longText(n: number): string {
  const all = samples().join('');
  return all.repeat(Math.ceil(n / all.length)).slice(0, n);
}

/** Texts longer and shorter than maxLength (200), with emoji, astral characters and lone surrogates. */
function mixedTexts(): string[] {
  return [...samples(), '', '😀我在北京见到了张三', '\ud800孤立的代理项在上海', '𠮷'.repeat(150) + '北京大学的老师'.repeat(40) + '\udc00x😀'.repeat(60), longText(3000), longText(1234)];
}

let model: TaggerModel;

before(async () => {
  await testBackend();
  model = (await TaggerModel.load(MODEL)).model;
  await new NeuralTagger(model).tag(samples()); // warm-up: first kernels, JIT
});

/** The longest wait of a 10 ms interval timer while `work` runs (ms), and how often it fired. */
async function timerWhile(work: () => Promise<unknown>): Promise<{ longest: number; ticks: number }> {
  let last = performance.now();
  let longest = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    ticks++;
  }, 10);
  try {
    await work();
    return { longest: Math.max(longest, performance.now() - last), ticks };
  } finally {
    clearInterval(timer);
  }
}

// Not a wall-clock bound (a loaded machine deschedules the process for
// hundreds of ms at times): the event loop must turn many times during a
// stepped call and not during a one-run call, and the longest wait must be a
// small part of the one-run wait. bench/opsLatency.ts measures the times.
test('inline: while a long text is tagged, timers keep firing between steps (sliceChars 0 holds them for the whole call)', { timeout: 120_000 }, async () => {
  const text = longText(40_000);
  const stepped = await timerWhile(() => new NeuralTagger(model).tag([text]));
  const oneRun = await timerWhile(() => new NeuralTagger(model, { sliceChars: 0 }).tag([text]));
  assert.ok(oneRun.ticks <= 2, `the check can fail: without stepping the timer fired ${oneRun.ticks} times`);
  assert.ok(stepped.ticks >= 10, `with the default slice (${DEFAULT_SLICE_CHARS} cells) the timer fired only ${stepped.ticks} times`);
  assert.ok(stepped.longest < oneRun.longest / 4, `longest wait ${stepped.longest.toFixed(0)} ms stepped vs ${oneRun.longest.toFixed(0)} ms in one run`);
});

test('thread: memory() is answered while the thread tags a long text, before that call ends', { timeout: 120_000 }, async () => {
  const text = longText(20_000);
  for (const sliceChars of [DEFAULT_SLICE_CHARS, 0]) {
    const tagger = await ThreadTagger.open(MODEL, { backend: BACKEND, sliceChars });
    try {
      const order: string[] = [];
      const tagged = tagger.tag([text]).then(() => order.push('tag'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const answered = tagger.memory().then(() => order.push('memory'));
      await Promise.all([tagged, answered]);
      assert.deepEqual(order, sliceChars === 0 ? ['tag', 'memory'] : ['memory', 'tag'], `sliceChars ${sliceChars}`);
    } finally {
      await tagger.close();
    }
  }
});

test('thread: while calls are pending, memory() answers at once with the figures of the last reply', { timeout: 120_000 }, async () => {
  const tagger = await ThreadTagger.open(MODEL, { backend: BACKEND, sliceChars: 0 });
  try {
    await tagger.tag(['我在北京']);
    const idle = await tagger.memory();
    const order: string[] = [];
    const tagged = tagger.tag([longText(20_000)]).then(() => order.push('tag'));
    const busy = await tagger.memory().then((m) => (order.push('memory'), m));
    await tagged;
    assert.deepEqual(order, ['memory', 'tag'], 'even a thread computing in one run does not hold memory() back');
    assert.deepEqual(busy, idle, 'the figures after the last call');
  } finally {
    await tagger.close();
  }
});

/** Mentions with the confidence set apart, and the largest confidence difference between two taggings. */
function compare(a: Mention[][], b: Mention[][]): number {
  const strip = (ms: Mention[][]) => ms.map((m) => m.map((x) => ({ ...x, confidence: 0 })));
  assert.deepEqual(strip(a), strip(b));
  let diff = 0;
  a.forEach((ms, i) => ms.forEach((m, j) => (diff = Math.max(diff, Math.abs(m.confidence - b[i][j].confidence)))));
  return diff;
}

test('stepping changes no mention: identical with the same tensor batches, same spans and offsets with smaller ones', { timeout: 120_000 }, async () => {
  const texts = mixedTexts();
  const oneRun = await new NeuralTagger(model, { sliceChars: 0 }).tag(texts);
  assert.ok(oneRun.flat().length > 50, 'enough mentions to compare');
  // 16 pieces of at most 200 characters: the slice cuts the batches exactly where batchSize does; only the yields differ
  assert.deepEqual(await new NeuralTagger(model, { batchSize: 16, sliceChars: 16 * 200 }).tag(texts), await new NeuralTagger(model, { batchSize: 16, sliceChars: 0 }).tag(texts));
  // smaller tensor batches round differently in the last float32 bits: the same mentions, confidences within 1e-5
  for (const sliceChars of [DEFAULT_SLICE_CHARS, 200]) {
    const diff = compare(await new NeuralTagger(model, { sliceChars }).tag(texts), oneRun);
    assert.ok(diff < 1e-5, `sliceChars ${sliceChars}: confidence differs by ${diff}`);
  }
});

test('the tensor count stays flat over many stepped calls', { timeout: 120_000 }, async () => {
  const tagger = new NeuralTagger(model, { sliceChars: 400 });
  const texts = [longText(2000), ...samples()];
  await tagger.tag(texts);
  const base = tf.memory().numTensors;
  for (let i = 0; i < 10; i++) await tagger.tag(texts);
  assert.equal(tf.memory().numTensors, base);
});

test('options: batchSize and sliceChars are checked at construction with a ConfigError saying what to set', async () => {
  for (const sliceChars of [-1, 1.5, 199, Number.NaN, '4096' as unknown as number]) {
    const message = (err: unknown) => err instanceof ConfigError && /sliceChars must be 0 .* or an integer >= the model's maxLength 200/.test(err.message) && err.message.endsWith(`e.g. ${DEFAULT_SLICE_CHARS}`);
    assert.throws(() => new NeuralTagger(model, { sliceChars }), message, String(sliceChars));
  }
  assert.throws(() => new NeuralTagger(model, { batchSize: 0 }), (err: unknown) => err instanceof ConfigError && /batchSize must be an integer >= 1/.test(err.message));
  assert.doesNotThrow(() => new NeuralTagger(model, { sliceChars: 0 }));
  assert.doesNotThrow(() => new NeuralTagger(model, { sliceChars: 200 }));
  // in thread mode the thread's NeuralTagger rejects it, and open() rejects with the same class and message
  await assert.rejects(ThreadTagger.open(MODEL, { backend: BACKEND, sliceChars: 100 }), (err: unknown) => err instanceof ConfigError && /sliceChars must be 0/.test(err.message));
});

/** A tiny untrained model whose NER head reads the segmentation head's tags (so predict runs both heads). */
function tinyJointModel(): TaggerModel {
  const vocab = Vocabulary.build(TINY.map((x) => x.chars), { normalize: true });
  const tags = TagDictionary.forLabels([...ENTITY_LABELS], 'BIO');
  const head = { useHidden: true, useEmbeddings: false };
  return TaggerModel.create(
    { vocabSize: vocab.size, embeddingDim: 8, hiddenDim: 8, bidirectional: true, dropout: 0, ner: { numTags: tags.size, ...head, lexicalBuckets: 256 }, seg: { numTags: 4, ...head, lexicalBuckets: 0 } },
    vocab,
    tags,
    { modelId: 'tiny-joint', modelVersion: 'test', scheme: 'BIO', maxLength: 64, tagFeatures: { segmentation: true } },
    1,
  );
}

test('predict with a pace: every tensor batch within maxCells, and a yield before each forward pass and each decoding, through both heads', async () => {
  const joint = tinyJointModel();
  try {
    const events: string[] = [];
    const emissions = joint.network.emissions.bind(joint.network);
    joint.network.emissions = (name, batch: Batch, seed?: number) => {
      events.push(`${name} ${batch.size}x${batch.steps}`);
      return emissions(name, batch, seed);
    };
    // Packed tensor batches (where the fused kernel runs): rows x row length.
    const packedEmissions = joint.network.packedEmissions.bind(joint.network);
    joint.network.packedEmissions = (name, batch: PackedBatch) => {
      events.push(`${name} ${batch.layout.rows}x${batch.layout.steps}`);
      return packedEmissions(name, batch);
    };
    const sentences = Array.from({ length: 23 }, (_, i) => TINY[i % TINY.length].chars.concat(TINY[(i + 1) % TINY.length].chars));
    const paced = await joint.predict(sentences, 8, 'ner', new Pace(40, async () => void events.push('yield')));
    const forwards = events.filter((e) => e !== 'yield');
    assert.ok(forwards.some((e) => e.startsWith('seg')) && forwards.some((e) => e.startsWith('ner')), events.join(', '));
    for (const e of forwards) {
      const [size, steps] = e.split(' ')[1].split('x').map(Number);
      assert.ok(size === 1 || size * steps <= 40, `${e}: more than one row and over 40 cells`);
    }
    events.forEach((e, i) => {
      if (e !== 'yield') assert.deepEqual([events[i - 1], events[i + 1]], ['yield', 'yield'], `around ${e} at ${i}: ${events.join(', ')}`);
    });
    events.length = 0;
    const unpaced = await joint.predict(sentences, 8);
    const tagsOf = (ps: typeof paced) => ps.map((p) => ({ tags: p.tags, spans: p.spans.map(({ start, end, label }) => ({ start, end, label })) }));
    assert.deepEqual(tagsOf(paced), tagsOf(unpaced), 'the same tags and spans unpaced (other batches: confidences differ in float rounding)');
    assert.ok(!events.includes('yield'), 'Pace.OFF never yields');
  } finally {
    joint.dispose();
  }
});

test('lengthBuckets with maxCells: every sentence once, in length order, cut only when batchSize or the cells require it', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 60 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 400 }), (lengths, batchSize, maxCells) => {
      const buckets = lengthBuckets(lengths, batchSize, maxCells);
      const flat = buckets.flat();
      assert.deepEqual([...flat].sort((a, b) => a - b), lengths.map((_, i) => i));
      assert.deepEqual(flat, lengthBuckets(lengths, Infinity).flat(), 'the same order as one unbounded bucket');
      buckets.forEach((b, i) => {
        const cells = b.length * Math.max(...b.map((j) => lengths[j]));
        assert.ok(b.length >= 1 && b.length <= batchSize);
        assert.ok(b.length === 1 || cells <= maxCells, `bucket ${i}: ${b.length} sentences, ${cells} cells`);
        const next = buckets[i + 1]?.[0];
        if (next !== undefined && b.length < batchSize) assert.ok((b.length + 1) * lengths[next] > maxCells, `bucket ${i} was cut early`);
      });
      assert.deepEqual(lengthBuckets(lengths, batchSize, Infinity), lengthBuckets(lengths, batchSize));
    }),
  );
});
