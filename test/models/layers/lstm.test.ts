import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { blockLstmAvailable, useBlockLstm } from '../../../models/layers/blockLstm.js';
import { LstmEncoder, timeMajorIndex } from '../../../models/layers/lstm.js';
import { type NativeEngine, nativeEngines, nativeLstmAvailable, useNativeEngine, useNativeLstm } from '../../../models/layers/nativeLstm.js';
import { packRows } from '../../../models/packing.js';
import { disposeParams } from '../../../models/layers/params.js';
import { Rng } from '../../../models/rng.js';
import { testBackend } from '../../support/backend.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Plain-JS LSTM over one sequence with weights w [D,4H], u [H,4H], b [4H] (gates i, f, o, g). */
function reference(xs: number[][], w: number[][], u: number[][], b: number[], h: number): number[][] {
  let hp = new Array(h).fill(0);
  let cp = new Array(h).fill(0);
  const out: number[][] = [];
  for (const x of xs) {
    const z = b.slice();
    for (let j = 0; j < 4 * h; j++) {
      for (let d = 0; d < x.length; d++) z[j] += x[d] * w[d][j];
      for (let k = 0; k < h; k++) z[j] += hp[k] * u[k][j];
    }
    const c = cp.map((cv, k) => sigmoid(z[h + k]) * cv + sigmoid(z[k]) * Math.tanh(z[3 * h + k]));
    hp = c.map((cv, k) => sigmoid(z[2 * h + k]) * Math.tanh(cv));
    cp = c;
    out.push(hp);
  }
  return out;
}

/**
 * Inference's engines: the C kernel (nativeLstm.ts) on each engine this CPU runs (where it runs none, one case in which BlockLSTM
 * takes over), then BlockLSTM (on the native backend; elsewhere the training path takes over).
 */
type Engine = { name: string; cKernel: boolean; native?: NativeEngine };
const cKernels: Engine[] = nativeEngines().map((native) => ({ name: `C kernel, ${native}`, cKernel: true, native }));
const INFERENCE_ENGINES: Engine[] = [...(cKernels.length > 0 ? cKernels : [{ name: 'C kernel', cKernel: true }]), { name: 'BlockLSTM', cKernel: false }];

/** Sets `engine` for the rest of test t. */
function useEngine(t: { after: (fn: () => void) => void }, { cKernel, native }: Engine): void {
  useNativeLstm(cKernel);
  if (native) useNativeEngine(native);
  t.after(() => (useNativeLstm(true), useNativeEngine('auto')));
}

for (const [inference, engine] of [[false, { name: 'training path', cKernel: false }] as const, ...INFERENCE_ENGINES.map((e) => [true, e] as const)]) {
test(`BiLSTM (${inference ? `inference: ${engine.name}` : engine.name}) matches a plain reference per direction, and padding does not leak into real positions`, async (t) => {
  await testBackend();
  useEngine(t, engine);
  const rng = new Rng(1);
  const d = 3;
  const h = 2;
  const lstm = new LstmEncoder({ inputDim: d, hiddenDim: h, bidirectional: true }, rng);
  const w = lstm.w.arraySync() as number[][][];
  const u = lstm.u.arraySync() as number[][][];
  const b = (lstm.b.arraySync() as number[][][]).map((x) => x[0]);
  const lengths = [5, 3, 1];
  const steps = 5;
  const seqs = lengths.map((len) => Array.from({ length: len }, () => Array.from({ length: d }, () => rng.normal())));
  const padded = seqs.map((s) => [...s, ...Array.from({ length: steps - s.length }, () => Array.from({ length: d }, () => 9))]);
  const out = lstm.apply(tf.tensor3d(padded), lengths, inference).arraySync() as number[][][];
  seqs.forEach((s, bi) => {
    const fwd = reference(s, w[0], u[0], b[0], h);
    const bwd = reference([...s].reverse(), w[1], u[1], b[1], h).reverse();
    for (let t = 0; t < s.length; t++) {
      for (let k = 0; k < h; k++) {
        assert.ok(Math.abs(out[bi][t][k] - fwd[t][k]) < 1e-5, `forward b${bi} t${t}`);
        assert.ok(Math.abs(out[bi][t][h + k] - bwd[t][k]) < 1e-5, `backward b${bi} t${t}`);
      }
    }
  });
  disposeParams(lstm.params());
});
}

test('the fused inference kernel runs on the native backend, agrees with the training path, and leaves no tensors behind', async (t) => {
  const backend = await testBackend();
  // BlockLSTM's path: the C kernel (nativeLstm.ts), which would take inference first, is off here.
  useNativeLstm(false);
  t.after(() => useNativeLstm(true));
  assert.equal(blockLstmAvailable(), backend === 'native');
  const rng = new Rng(3);
  const agree = (slow: tf.Tensor3D, fast: tf.Tensor3D, lengths: number[], what: string) => {
    const a = slow.arraySync();
    const f = fast.arraySync();
    lengths.forEach((len, bi) => {
      for (let t = 0; t < len; t++) {
        for (let k = 0; k < slow.shape[2]; k++) assert.ok(Math.abs(a[bi][t][k] - f[bi][t][k]) < 1e-5, `${what} b${bi} t${t} k${k}: ${a[bi][t][k]} vs ${f[bi][t][k]}`);
      }
    });
  };
  for (const bidirectional of [true, false]) {
    const start = tf.memory().numTensors;
    const lstm = new LstmEncoder({ inputDim: 20, hiddenDim: 16, bidirectional }, rng);
    const lengths = [17, 9, 1, 17, 4, 12];
    const x = tf.tensor3d(Float32Array.from({ length: 6 * 17 * 20 }, () => rng.normal()), [6, 17, 20]);
    const slow = lstm.apply(x, lengths, false);
    // The first fused call builds the BlockLSTM-ordered weights (kept while the weights do not change).
    lstm.apply(x, lengths, true).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) lstm.apply(x, lengths, true).dispose();
    assert.equal(tf.memory().numTensors, before, 'tensor count flat');
    const fast = lstm.apply(x, lengths, true);
    agree(slow, fast, lengths, 'first weights');
    // New weights (as an optimizer step or a load assigns them): the fused path uses them, not the cached
    // layout of the old ones, and the old cached tensors are freed.
    for (const v of [lstm.w, lstm.u, lstm.b]) tf.tidy(() => v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.3, 'float32', 7))));
    const slow2 = lstm.apply(x, lengths, false);
    const counted = tf.memory().numTensors;
    const fast2 = lstm.apply(x, lengths, true);
    assert.equal(tf.memory().numTensors, counted + 1, 'the new cached weights replace the old ones');
    agree(slow2, fast2, lengths, 'after assign');
    // Switched off, inference takes the step-by-step path.
    useBlockLstm(false);
    assert.equal(blockLstmAvailable(), false);
    const off = lstm.apply(x, lengths, true);
    assert.deepEqual(off.arraySync(), slow2.arraySync());
    useBlockLstm(true);
    tf.dispose([x, slow, fast, slow2, fast2, off]);
    lstm.dispose();
    assert.equal(tf.memory().numTensors, start, 'dispose frees the variables and the cached weights');
  }
});

for (const { name, cKernel, native } of INFERENCE_ENGINES) {
test(`packed inference (applyPacked, ${name}): each sentence of a shared row gets the states it gets alone, in both directions, with no tensors left behind`, async (t) => {
  await testBackend();
  if (!blockLstmAvailable()) {
    t.skip('packing runs on the fused kernel, native backend only');
    return;
  }
  useEngine(t, { name, cKernel, native });
  assert.equal(nativeLstmAvailable(), native !== undefined);
  const rng = new Rng(5);
  for (const bidirectional of [true, false]) {
    const d = 4;
    const h = 5; // 4H = 20 gate columns: both halves of a 32-column panel (the avx2 engine computes them apart)
    const lstm = new LstmEncoder({ inputDim: d, hiddenDim: h, bidirectional }, rng);
    // Large weights and inputs saturate the gates and push the cell state far from 0 before each separator.
    for (const v of [lstm.w, lstm.u]) tf.tidy(() => v.assign(tf.mul(v, 4)));
    const w = lstm.w.arraySync() as number[][][];
    const u = lstm.u.arraySync() as number[][][];
    const b = (lstm.b.arraySync() as number[][][]).map((x) => x[0]);
    const lengths = [9, 2, 5, 1, 3, 7, 1, 4];
    const seqs = lengths.map((len) => Array.from({ length: len }, () => Array.from({ length: d }, () => 3 * rng.normal())));
    const groups = packRows(lengths, 3);
    assert.ok(groups.some((g) => g.layout.lengths.length > g.layout.rows), 'some row holds more than one sentence');
    lstm.prepareInference();
    const before = tf.memory().numTensors;
    for (const { sentences, layout } of groups) {
      const x = tf.tensor2d(sentences.flatMap((i) => seqs[i]), [layout.chars, d]);
      const out = lstm.applyPacked(x, layout);
      assert.deepEqual(out.shape, [layout.chars, lstm.outputDim]);
      const got = out.arraySync();
      tf.dispose([x, out]);
      sentences.forEach((i, j) => {
        const fwd = reference(seqs[i], w[0], u[0], b[0], h);
        const bwd = bidirectional ? reference([...seqs[i]].reverse(), w[1], u[1], b[1], h).reverse() : undefined;
        for (let p = 0; p < lengths[i]; p++) {
          const row = got[layout.starts[j] + p];
          for (let k = 0; k < h; k++) {
            assert.ok(Math.abs(row[k] - fwd[p][k]) < 1e-5, `forward sentence ${i} position ${p}: ${row[k]} vs ${fwd[p][k]}`);
            if (bwd) assert.ok(Math.abs(row[h + k] - bwd[p][k]) < 1e-5, `backward sentence ${i} position ${p}: ${row[h + k]} vs ${bwd[p][k]}`);
          }
        }
      });
    }
    assert.equal(tf.memory().numTensors, before, 'tensor count flat');
    lstm.dispose();
  }
});
}

test('timeMajorIndex: forward and backward inputs in [T, B] order, the output gather undoes both', () => {
  const lengths = [3, 1, 2];
  const [bsz, steps] = [3, 3];
  const ix = timeMajorIndex(bsz, steps, lengths, true);
  // rows t * B + b hold batch-major positions b * T + t (backward: reversed within the length, padding in place)
  assert.deepEqual([...ix.forward], [0, 3, 6, 1, 4, 7, 2, 5, 8]);
  assert.deepEqual([...ix.backward!], [2, 3, 7, 1, 4, 6, 0, 5, 8]);
  // Run "identity recurrences": the states are the inputs. Gathering them back must give each position
  // its own index in both directions.
  const stacked = [...ix.forward, ...ix.backward!];
  const back = [...ix.output].map((r) => stacked[r]);
  assert.deepEqual(back, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8]);
  const uni = timeMajorIndex(bsz, steps, lengths, false);
  assert.equal(uni.backward, undefined);
  assert.deepEqual([...uni.output].map((r) => uni.forward[r]), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

test('a unidirectional LSTM outputs hiddenDim features', async () => {
  await testBackend();
  const lstm = new LstmEncoder({ inputDim: 4, hiddenDim: 6, bidirectional: false }, new Rng(2));
  const y = lstm.apply(tf.ones([2, 3, 4]) as tf.Tensor3D, [3, 2]);
  assert.deepEqual(y.shape, [2, 3, 6]);
  assert.equal(lstm.outputDim, 6);
  y.dispose();
  disposeParams(lstm.params());
});
