/**
 * The tagger's network at inference in C (schemas/native/lstm.c through
 * models/layers/nativeLstm.ts and models/network/nativeHead.ts): a CRF head's
 * emissions, packed and padded, against the training path's (tfjs kernels,
 * step by step) on random networks of every head configuration, with hidden
 * sizes that are not multiples of the vector width, more tags than one
 * 32-column panel, sentences of mixed lengths (empty ones too) and weights
 * large enough to saturate the gates, on every engine this CPU runs (avx512,
 * avx2), which agree bit for bit; new weights after an assign; a flat tensor
 * count; the addon's argument checks; and the bfloat16 and int8 products.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { EncodedSentence } from '../../../models/batch.js';
import { makeBatch } from '../../../models/batch.js';
import {
  hostValues,
  inferenceEngine,
  inferencePrecision,
  type InferencePrecision,
  NATIVE_ENGINES,
  nativeEngine,
  nativeEngines,
  nativeLstmAvailable,
  useInferencePrecision,
  useNativeEngine,
  useNativeLstm,
} from '../../../models/layers/nativeLstm.js';
import { ConfigError } from '../../../common/errors.js';
import { type NetworkConfig, TaggingNetwork } from '../../../models/network/taggingNetwork.js';
import { makePackedBatch, packRows } from '../../../models/packing.js';
import { Rng } from '../../../models/rng.js';
import { nativeAddon } from '../../../schemas/nativeAddon.js';
import { testBackend } from '../../support/backend.js';

const F = 3;

/** Why the C kernel cannot run here, or undefined when it can. */
async function unavailable(): Promise<string | undefined> {
  await testBackend();
  const addon = nativeAddon();
  if (addon === null) return "mentionflow's addon is not built (bash deploy/native/build-native-addon.sh)";
  if (addon.lstmEngine() === null) return 'this CPU runs none of its engines (AVX-512F, or AVX2 and FMA)';
  if (!nativeLstmAvailable()) return 'the native TensorFlow backend is not active';
  return undefined;
}

function network(rng: Rng, hiddenDim: number, bidirectional: boolean, head: Pick<NetworkConfig['ner'], 'useHidden' | 'useEmbeddings' | 'lexicalBuckets' | 'numTags'>): TaggingNetwork {
  const config: NetworkConfig = { vocabSize: 50, embeddingDim: 9, hiddenDim, bidirectional, dropout: 0, ner: head };
  const net = new TaggingNetwork(config, {}, rng.seed());
  // Larger weights than the initialisation's saturate some gates and drive the cell state far from 0.
  for (const v of net.params().values()) tf.tidy(() => v.assign(tf.add(tf.mul(v, 3), tf.randomNormal(v.shape, 0, 0.5, 'float32', rng.seed()))));
  return net;
}

function sentences(rng: Rng, lengths: number[], buckets: number): EncodedSentence[] {
  return lengths.map((len) => ({
    ids: Int32Array.from({ length: len }, () => 1 + rng.int(49)),
    features: buckets > 0 ? Int32Array.from({ length: len * F }, () => rng.int(buckets)) : undefined,
  }));
}

/** The worst absolute difference over the real positions of two padded [B, T, K] emissions. */
function worstPadded(a: Float32Array, b: Float32Array, lengths: Int32Array, steps: number, k: number): number {
  let worst = 0;
  lengths.forEach((len, row) => {
    for (let i = row * steps * k; i < (row * steps + len) * k; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  });
  return worst;
}

const HEADS = [
  { useHidden: true, useEmbeddings: true, lexicalBuckets: 40, numTags: 17 },
  { useHidden: true, useEmbeddings: false, lexicalBuckets: 0, numTags: 4 },
  { useHidden: false, useEmbeddings: true, lexicalBuckets: 40, numTags: 40 },
  { useHidden: true, useEmbeddings: true, lexicalBuckets: 0, numTags: 33 },
];

test('C inference, on every engine this CPU runs: every head configuration\'s emissions, padded and packed, are the training path\'s within 2e-5, with a flat tensor count', async (t) => {
  const why = await unavailable();
  if (why) return t.skip(why);
  t.after(() => useNativeEngine('auto'));
  let cases = 0;
  for (const engine of nativeEngines()) {
  useNativeEngine(engine);
  assert.equal(nativeEngine(), engine);
  t.diagnostic(`engine ${engine}`);
  const rng = new Rng(11);
  for (const head of HEADS)
    for (const [hiddenDim, bidirectional] of [[7, true], [33, false], [16, true]] as const) {
      const net = network(rng, hiddenDim, bidirectional, head);
      // Empty sentences where the head has no lexical features (a batch's sentences with features have at least one position).
      const lengths = [13, 1, 0, 7, 22, 5, 5, 9, 2, 17, 3, 0, 11].filter((len) => len > 0 || head.lexicalBuckets === 0);
      const sents = sentences(rng, lengths, head.lexicalBuckets);
      const batch = makeBatch(sents);
      // The training path (tfjs kernels, no C: a dropout seed given, dropout 0) is the reference.
      const reference = tf.tidy(() => net.emissions('ner', batch, 1).dataSync() as Float32Array);
      const before = tf.memory().numTensors;
      for (let round = 0; round < 3; round++) {
        const padded = net.emissions('ner', batch);
        const got = padded.dataSync() as Float32Array;
        padded.dispose();
        const what = `${engine}: ${JSON.stringify(head)}, H ${hiddenDim}, bidirectional ${bidirectional}`;
        assert.ok(worstPadded(got, reference, batch.lengths, batch.steps, head.numTags) < 2e-5, `padded: ${what}`);
        for (const { sentences: group, layout } of packRows(lengths, 4)) {
          const packed = net.packedEmissions('ner', makePackedBatch(group.map((i) => sents[i]), layout));
          const flat = packed.dataSync() as Float32Array;
          packed.dispose();
          group.forEach((i, j) => {
            for (let p = 0; p < lengths[i]; p++)
              for (let c = 0; c < head.numTags; c++) {
                const want = reference[(i * batch.steps + p) * head.numTags + c];
                const have = flat[(layout.starts[j] + p) * head.numTags + c];
                assert.ok(Math.abs(want - have) < 2e-5, `packed: ${what}, sentence ${i} position ${p} tag ${c}: ${have} vs ${want}`);
              }
          });
        }
      }
      assert.equal(tf.memory().numTensors, before, 'tensor count flat');
      net.dispose();
      cases++;
    }
  }
  assert.equal(cases, HEADS.length * 3 * nativeEngines().length);
});

test('C inference: the engines this CPU runs give the same bits (the same FMA chains and exp), lstmPacked and emissionsPacked alike; an engine is chosen per thread and refused where the CPU lacks it', async (t) => {
  const why = await unavailable();
  if (why) return t.skip(why);
  t.after(() => useNativeEngine('auto'));
  const addon = nativeAddon()!;
  const engines = nativeEngines();
  assert.equal(nativeEngine(), engines[0], 'the fastest by default');
  assert.throws(() => addon.lstmUseEngine('sse' as 'auto'), RangeError);
  assert.throws(() => addon.lstmUseEngine(2 as unknown as 'auto'), TypeError);
  for (const missing of NATIVE_ENGINES.filter((e) => !engines.includes(e))) {
    assert.throws(() => addon.lstmUseEngine(missing), /lacks/, `${missing} refused by the addon`);
    assert.throws(() => useNativeEngine(missing), ConfigError, `${missing} refused`);
  }
  if (engines.length < 2) return t.skip(`one engine here (${engines.join(', ')}): nothing to compare`);
  const rng = new Rng(14);
  // Large inputs and weights: saturated gates, exp's clamps and subnormal results.
  const [d, h, dirs, n] = [9, 37, 2, 90];
  const rand = (len: number, scale: number) => Float32Array.from({ length: len }, () => scale * rng.normal());
  const dims = Int32Array.of(d, h, dirs);
  const prepared = addon.lstmPrepare(rand(dirs * d * 4 * h, 8), rand(dirs * h * 4 * h, 8), rand(dirs * 4 * h, 8), dims);
  const x = rand(n * d, 30);
  const [starts, lengths] = [Int32Array.of(0, 31, 32, 60), Int32Array.of(31, 1, 27, 30)];
  for (const head of HEADS) {
    const net = network(rng, 35, true, head);
    const batch = makeBatch(sentences(rng, [12, 3, 25, 8, 1, 16, 9], head.lexicalBuckets));
    const outputs = engines.map((engine) => {
      useNativeEngine(engine);
      const out = new Float32Array(n * dirs * h);
      addon.lstmPacked(prepared, x, starts, lengths, dims, out);
      return { lstm: out, emissions: tf.tidy(() => net.emissions('ner', batch).dataSync() as Float32Array) };
    });
    for (let e = 1; e < engines.length; e++) {
      assert.deepEqual(outputs[e].lstm, outputs[0].lstm, `lstmPacked: ${engines[e]} and ${engines[0]}`);
      assert.deepEqual(outputs[e].emissions, outputs[0].emissions, `emissions: ${engines[e]} and ${engines[0]}, ${JSON.stringify(head)}`);
    }
    assert.ok(outputs[0].lstm.some((v) => v !== 0) && outputs[0].emissions.some((v) => v !== 0), 'something computed');
    net.dispose();
  }
});

test('inferenceEngine names where the LSTM runs: the C kernel on the engine in use, or TensorFlow with why', async (t) => {
  const why = await unavailable();
  if (why) {
    // where the C kernel cannot run, the report says TensorFlow and gives a reason
    const report = inferenceEngine();
    assert.equal(report.runsOn, 'tensorflow');
    assert.ok(typeof report.why === 'string' && report.why.length > 0, JSON.stringify(report));
    return t.skip(why);
  }
  t.after(() => {
    useNativeLstm(true);
    useNativeEngine('auto');
  });
  for (const engine of nativeEngines()) {
    useNativeEngine(engine);
    assert.deepEqual(inferenceEngine(), { runsOn: `c-${engine}`, precision: 'float32' });
  }
  useNativeLstm(false);
  assert.deepEqual(inferenceEngine(), { runsOn: 'tensorflow', precision: 'float32', why: 'the C kernel is switched off (useNativeLstm(false))' });
  assert.equal(nativeLstmAvailable(), false);
});

test('C inference: new weights (an assign, as a hot swap or an optimizer step makes) are used at once, never a stale host copy', async (t) => {
  const why = await unavailable();
  if (why) return t.skip(why);
  const rng = new Rng(12);
  const net = network(rng, 10, true, HEADS[0]);
  const batch = makeBatch(sentences(rng, [6, 4, 9], 40));
  const emissions = (native: boolean) => {
    useNativeLstm(native);
    try {
      return tf.tidy(() => net.emissions('ner', batch).dataSync() as Float32Array);
    } finally {
      useNativeLstm(true);
    }
  };
  const first = emissions(true);
  const [copy, prepared] = [hostValues(net.encoder!.embedding.table), net.encoder!.lstm.nativeWeights()];
  assert.equal(hostValues(net.encoder!.embedding.table), copy, 'one host copy per weights version');
  assert.equal(net.encoder!.lstm.nativeWeights(), prepared, 'the LSTM weights packed once per weights version');
  for (const v of net.params().values()) tf.tidy(() => v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.3, 'float32', rng.seed()))));
  assert.notEqual(hostValues(net.encoder!.embedding.table), copy, 'a new copy after the assign');
  assert.notEqual(net.encoder!.lstm.nativeWeights(), prepared, 'packed again after the assign');
  const second = emissions(true);
  const blockLstm = emissions(false);
  assert.ok(worstPadded(second, blockLstm, batch.lengths, batch.steps, 17) < 2e-5, 'the new weights, as BlockLSTM computes with them');
  assert.ok(worstPadded(first, second, batch.lengths, batch.steps, 17) > 1e-2, 'the emissions changed');
  net.dispose();
});

test('C inference: the addon rejects wrong arguments with a TypeError or RangeError, never reading out of bounds', async (t) => {
  const why = await unavailable();
  if (why) return t.skip(why);
  const addon = nativeAddon()!;
  const [h, d, k, dirs] = [4, 3, 5, 2];
  const f32 = (n: number) => new Float32Array(n);
  const lstmDims = Int32Array.of(d, h, dirs);
  const prepared = addon.lstmPrepare(f32(dirs * d * 4 * h), f32(dirs * h * 4 * h), f32(dirs * 4 * h), lstmDims);
  const args = (over: Partial<Record<'emb' | 'prepared' | 'ids' | 'feats' | 'starts' | 'lengths' | 'dims' | 'out' | 'linW', Float32Array | Int32Array>> = {}) =>
    [
      over.emb ?? f32(10 * d),
      over.prepared ?? prepared,
      over.linW ?? f32((dirs * h + d) * k),
      f32(k),
      f32(20 * k),
      over.ids ?? Int32Array.of(1, 2, 3, 4),
      over.feats ?? Int32Array.of(0, 1, 2, 3),
      over.starts ?? Int32Array.of(0, 2),
      over.lengths ?? Int32Array.of(2, 2),
      over.dims ?? Int32Array.of(d, h, dirs, k, 1, 1, 1, 0),
      over.out ?? f32(4 * k),
    ] as Parameters<typeof addon.emissionsPacked>;
  addon.emissionsPacked(...args()); // well-formed
  const range = (over: Parameters<typeof args>[0], what: string) => assert.throws(() => addon.emissionsPacked(...args(over)), RangeError, what);
  range({ ids: Int32Array.of(1, 2, 3, 10) }, 'an id past the vocabulary');
  range({ ids: Int32Array.of(1, -1, 3, 4) }, 'a negative id');
  range({ feats: Int32Array.of(0, 1, 2, 20) }, 'a feature past the buckets');
  range({ starts: Int32Array.of(0, 1) }, 'overlapping sentences');
  range({ starts: Int32Array.of(0, 3) }, 'a sentence past the characters');
  range({ lengths: Int32Array.of(2, -1) }, 'a negative length');
  range({ out: f32(4 * k - 1) }, 'a short output');
  range({ linW: f32(d * k) }, 'a linear layer of the wrong input size');
  range({ dims: Int32Array.of(d, h, dirs, k, 1, 2, 1, 0) }, 'a flag that is not 0 or 1');
  range({ dims: Int32Array.of(d, h, dirs, k, 1, 1, 1) }, 'dims without the precision');
  range({ dims: Int32Array.of(d, h, dirs, k, 1, 1, 1, 3) }, 'a precision past int8 (2)');
  range({ dims: Int32Array.of(d, h, dirs, k, 1, 1, 1, -1) }, 'a negative precision');
  range({ dims: Int32Array.of(d, h, 3, k, 1, 1, 1, 0) }, 'three directions');
  range({ prepared: prepared.subarray(1) }, 'prepared weights of other sizes');
  range({ dims: Int32Array.of(d, h + 1, dirs, k, 1, 1, 1, 0), linW: f32((dirs * (h + 1) + d) * k) }, 'prepared weights of another hidden size');
  range({ emb: f32(10 * d + 1) }, 'an embedding table that is not whole rows');
  assert.throws(() => addon.emissionsPacked(...(args().map((a, i) => (i === 5 ? new Float32Array(4) : a)) as Parameters<typeof addon.emissionsPacked>)), TypeError, 'float ids');
  assert.throws(() => addon.lstmPrepare(f32(dirs * d * 4 * h), f32(dirs * h * 4 * h - 1), f32(dirs * 4 * h), lstmDims), RangeError, 'lstmPrepare: u of the wrong size');
  assert.throws(() => addon.lstmPacked(prepared, f32(4 * d), Int32Array.of(0, 2), Int32Array.of(3, 2), lstmDims, f32(4 * dirs * h)), RangeError, 'lstmPacked: overlapping sentences');
  assert.throws(() => addon.lstmPacked(prepared, f32(4 * d), Int32Array.of(0), Int32Array.of(4), lstmDims, f32(4 * dirs * h - 1)), RangeError, 'lstmPacked: a short output');
  addon.lstmPacked(prepared, f32(4 * d), Int32Array.of(0), Int32Array.of(4), lstmDims, f32(4 * dirs * h)); // well-formed
});

/** The reduced precisions: the CPU feature each needs, the addon's check, and how far from float32 the emissions may go (of their scale). */
const REDUCED = [
  // bfloat16 keeps 8 significant bits; through up to 25 steps of a recurrence with large weights, 1/154 of the scale was the worst seen.
  { precision: 'bfloat16', feature: /AVX512_BF16/, runs: () => nativeAddon()!.lstmBf16(), bound: 1 / 64 },
  // int8: 127 steps each side of zero per row of [x, h] and per weight column; 1/37 of the scale was the worst seen.
  { precision: 'int8', feature: /AVX512_VNNI/, runs: () => nativeAddon()!.lstmInt8(), bound: 1 / 16 },
] as const;

for (const { precision, feature, runs, bound } of REDUCED) {
  test(`C inference in ${precision} (where the CPU has ${feature.source}): other numbers than float32, within 1/${Math.round(1 / bound)} of the scale of the emissions on random networks (large weights, saturated gates), with a flat tensor count; refused with a ConfigError where it cannot run`, async (t) => {
    const why = await unavailable();
    if (why) return t.skip(why);
    assert.throws(() => useInferencePrecision('half' as InferencePrecision), ConfigError, 'an unknown precision');
    if (nativeEngines().includes('avx2')) {
      useNativeEngine('avx2');
      try {
        assert.equal(runs(), false, `no ${precision} on the avx2 engine`);
        const why = nativeEngines().includes('avx512') ? /avx2 engine is in use/ : feature;
        assert.throws(() => useInferencePrecision(precision), (err: unknown) => err instanceof ConfigError && why.test(err.message));
      } finally {
        useNativeEngine('auto');
      }
    }
    if (!runs()) {
      assert.throws(() => useInferencePrecision(precision), (err: unknown) => err instanceof ConfigError && feature.test(err.message));
      return;
    }
    useNativeLstm(false);
    assert.throws(() => useInferencePrecision(precision), (err: unknown) => err instanceof ConfigError && /switched off/.test(err.message));
    useNativeLstm(true);
    const rng = new Rng(13);
    let worstShare = 0;
    for (const head of HEADS) {
      const net = network(rng, 21, true, head);
      const batch = makeBatch(sentences(rng, [12, 3, 25, 8, 1, 16, 9], head.lexicalBuckets));
      const run = () => tf.tidy(() => net.emissions('ner', batch).dataSync() as Float32Array);
      const float32 = run();
      useInferencePrecision(precision);
      try {
        assert.equal(inferencePrecision(), precision);
        if (nativeEngines().includes('avx2')) assert.throws(() => useNativeEngine('avx2'), ConfigError, `avx2 refused while the precision is ${precision}`);
        const before = tf.memory().numTensors;
        const reduced = run();
        run();
        assert.equal(tf.memory().numTensors, before, 'tensor count flat');
        const worst = worstPadded(reduced, float32, batch.lengths, batch.steps, head.numTags);
        // Without the LSTM, the emissions stay float32's (the linear layer and the lexical sum are not rounded).
        const scale = float32.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        worstShare = Math.max(worstShare, worst / scale);
        if (head.useHidden) assert.ok(worst > 1e-5 && worst < scale * bound, `${JSON.stringify(head)}: ${precision} emissions differ from float32 by ${worst} (scale ${scale})`);
        else assert.equal(worst, 0, `${JSON.stringify(head)}: no LSTM, float32 numbers`);
      } finally {
        useInferencePrecision('float32');
      }
      assert.equal(inferencePrecision(), 'float32');
      net.dispose();
    }
    t.diagnostic(`${precision}: worst difference 1/${Math.round(1 / worstShare)} of the scale`);
  });
}
