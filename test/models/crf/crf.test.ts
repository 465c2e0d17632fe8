import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Crf, type CrfScores } from '../../../models/crf/crf.js';
import { goldScore, logPartition } from '../../../models/crf/logLikelihood.js';
import { forwardBackward } from '../../../models/crf/forwardBackward.js';
import { spanProbability, tagMarginal } from '../../../models/crf/marginals.js';
import { viterbi } from '../../../models/crf/viterbi.js';
import { Rng } from '../../../models/rng.js';
import { testBackend } from '../../support/backend.js';
import { allPaths, logSumExp, pathScore } from '../../support/bruteForce.js';

const K = 3;

function randomCrf(rng: Rng, constraints?: Crf['options']['constraints']): Crf {
  const crf = new Crf({ numTags: K, constraints });
  crf.transitions.assign(tf.tensor2d(Array.from({ length: K * K }, () => rng.normal()), [K, K]));
  crf.start.assign(tf.tensor1d(Array.from({ length: K }, () => rng.normal())));
  crf.end.assign(tf.tensor1d(Array.from({ length: K }, () => rng.normal())));
  return crf;
}

function randomEmissions(rng: Rng, t: number): Float32Array {
  return Float32Array.from({ length: t * K }, () => rng.normal() * 2);
}

function dispose(crf: Crf): void {
  tf.dispose([...crf.params().values()]);
  crf.disposeConstants();
}

test('forward algorithm and gold score match brute force over all paths, with padding', async () => {
  await testBackend();
  const rng = new Rng(7);
  for (let trial = 0; trial < 5; trial++) {
    const crf = randomCrf(rng);
    const scores: CrfScores = crf.scores();
    const lengths = [4, 2, 1];
    const steps = 4;
    const ems = lengths.map((len) => randomEmissions(rng, len));
    const padded = new Float32Array(lengths.length * steps * K);
    const mask = new Float32Array(lengths.length * steps);
    const tags = new Int32Array(lengths.length * steps);
    const gold = lengths.map((len) => Array.from({ length: len }, () => rng.int(K)));
    lengths.forEach((len, b) => {
      padded.set(ems[b], b * steps * K);
      for (let t = steps * K * b + len * K; t < (b + 1) * steps * K; t++) padded[t] = rng.normal() * 5; // garbage in padding
      mask.fill(1, b * steps, b * steps + len);
      tags.set(gold[b], b * steps);
    });
    const em = tf.tensor3d(padded, [lengths.length, steps, K]);
    const m = tf.tensor2d(mask, [lengths.length, steps]);
    const logZ = logPartition(crf, em, m).arraySync();
    const gs = goldScore(crf, { emissions: em, tags: tf.tensor2d(tags, [lengths.length, steps], 'int32'), mask: m, lastTags: tf.tensor1d(gold.map((g) => g[g.length - 1]), 'int32') }).arraySync();
    lengths.forEach((len, b) => {
      const expected = logSumExp(allPaths(K, len).map((p) => pathScore(scores, ems[b], p)));
      assert.ok(Math.abs(logZ[b] - expected) < 1e-3, `logZ ${logZ[b]} vs brute force ${expected}`);
      assert.ok(Math.abs(gs[b] - pathScore(scores, ems[b], gold[b])) < 1e-3);
    });
    dispose(crf);
  }
});

test('viterbi finds the best of all paths; marginals and span probabilities match brute force', async () => {
  await testBackend();
  const rng = new Rng(11);
  for (let trial = 0; trial < 10; trial++) {
    const crf = randomCrf(rng);
    const scores = crf.scores();
    const len = 1 + rng.int(5);
    const em = randomEmissions(rng, len);
    const paths = allPaths(K, len);
    const all = paths.map((p) => pathScore(scores, em, p));
    const best = Math.max(...all);
    const { path, score } = viterbi(scores, em, 0, len);
    assert.ok(Math.abs(score - best) < 1e-4);
    assert.ok(Math.abs(pathScore(scores, em, Array.from(path)) - best) < 1e-4);
    const logZ = logSumExp(all);
    const fb = forwardBackward(scores, em, 0, len);
    assert.ok(Math.abs(fb.logZ - logZ) < 1e-6);
    for (let t = 0; t < len; t++) {
      for (let j = 0; j < K; j++) {
        const brute = paths.reduce((a, p, i) => a + (p[t] === j ? Math.exp(all[i] - logZ) : 0), 0);
        assert.ok(Math.abs(tagMarginal(fb, t, j) - brute) < 1e-6);
      }
    }
    // span: tags [1, 2] at positions [s, s+2), next tag not 2
    if (len >= 2) {
      const s = rng.int(len - 1);
      const brute = paths.reduce((a, p, i) => (p[s] === 1 && p[s + 1] === 2 && (s + 2 >= len || p[s + 2] !== 2) ? a + Math.exp(all[i] - logZ) : a), 0);
      const got = spanProbability(fb, scores, em, 0, s, [1, 2], new Set([2]));
      assert.ok(Math.abs(got - brute) < 1e-6, `span prob ${got} vs ${brute}`);
    }
    dispose(crf);
  }
});

test('constraints forbid transitions, starts and ends in decoding', async () => {
  await testBackend();
  const rng = new Rng(3);
  const allowed = [
    [true, true, false],
    [true, true, true],
    [true, true, true],
  ];
  const crf = randomCrf(rng, { allowed, allowedStart: [true, true, false], allowedEnd: [true, false, true] });
  const scores = crf.scores();
  for (let trial = 0; trial < 20; trial++) {
    const len = 1 + rng.int(5);
    const { path } = viterbi(scores, randomEmissions(rng, len), 0, len);
    assert.notEqual(path[0], 2);
    assert.notEqual(path[len - 1], 1);
    for (let t = 1; t < len; t++) assert.ok(!(path[t - 1] === 0 && path[t] === 2));
  }
  // forward-backward skips the forbidden transitions (exp(FORBIDDEN) is 0): the same partition and marginals as all paths
  for (let trial = 0; trial < 20; trial++) {
    const len = 1 + rng.int(5);
    const em = randomEmissions(rng, len);
    const paths = allPaths(K, len);
    const all = paths.map((p) => pathScore(scores, em, p));
    const logZ = logSumExp(all);
    const fb = forwardBackward(scores, em, 0, len);
    assert.ok(Math.abs(fb.logZ - logZ) < 1e-6, `logZ ${fb.logZ} vs brute force ${logZ}`);
    for (let t = 0; t < len; t++) {
      for (let j = 0; j < K; j++) {
        const brute = paths.reduce((a, p, i) => a + (p[t] === j ? Math.exp(all[i] - logZ) : 0), 0);
        assert.ok(Math.abs(tagMarginal(fb, t, j) - brute) < 1e-6, `marginal of tag ${j} at ${t}: ${tagMarginal(fb, t, j)} vs ${brute}`);
      }
    }
  }
  dispose(crf);
});

test('gradient of the CRF loss matches finite differences', async () => {
  await testBackend();
  const rng = new Rng(5);
  const crf = randomCrf(rng);
  const len = 4;
  const em0 = randomEmissions(rng, len);
  const gold = [0, 2, 1, 1];
  const tags = tf.tensor2d([gold], [1, len], 'int32');
  const mask = tf.ones([1, len]) as tf.Tensor2D;
  const last = tf.tensor1d([gold[len - 1]], 'int32');
  const nll = (em: tf.Tensor3D) => tf.sub(logPartition(crf, em, mask), goldScore(crf, { emissions: em, tags, mask, lastTags: last })).sum() as tf.Scalar;
  const em = tf.tensor3d(em0, [1, len, K]);
  const analytic = tf.grad((x) => nll(x as tf.Tensor3D))(em).dataSync();
  const eps = 1e-2;
  for (let i = 0; i < em0.length; i++) {
    const plus = em0.slice();
    plus[i] += eps;
    const minus = em0.slice();
    minus[i] -= eps;
    const fd = (nll(tf.tensor3d(plus, [1, len, K])).dataSync()[0] - nll(tf.tensor3d(minus, [1, len, K])).dataSync()[0]) / (2 * eps);
    assert.ok(Math.abs(fd - analytic[i]) < 2e-3, `d/de[${i}]: analytic ${analytic[i]} vs numeric ${fd}`);
  }
  // and for the transition matrix
  const { grads } = tf.variableGrads(() => nll(em), [crf.transitions]);
  const gT = Object.values(grads)[0].dataSync();
  const t0 = crf.transitions.dataSync().slice();
  for (let i = 0; i < K * K; i++) {
    const at = (delta: number) => {
      const t = t0.slice();
      t[i] += delta;
      crf.transitions.assign(tf.tensor2d(t, [K, K]));
      return nll(em).dataSync()[0];
    };
    const fd = (at(eps) - at(-eps)) / (2 * eps);
    assert.ok(Math.abs(fd - gT[i]) < 2e-3, `d/dtrans[${i}]: analytic ${gT[i]} vs numeric ${fd}`);
  }
  dispose(crf);
});

test('the fused CRF NLL op equals the tensor-op reference in value and gradients, with padding', async () => {
  await testBackend();
  const { crfNll } = await import('../../../models/crf/fastNll.js');
  const { crfLoss } = await import('../../../models/crf/logLikelihood.js');
  const rng = new Rng(17);
  const crf = randomCrf(rng, { allowed: [[true, true, false], [true, true, true], [true, true, true]], allowedStart: [true, true, false], allowedEnd: [true, true, true] });
  const lengths = Int32Array.from([5, 3, 1]);
  const steps = 5;
  const tags = new Int32Array(lengths.length * steps);
  const mask = new Float32Array(lengths.length * steps);
  lengths.forEach((len, b) => {
    const path = [rng.int(2)];
    for (let t = 1; t < len; t++) path.push(path[t - 1] === 0 ? rng.int(2) : rng.int(3));
    tags.set(path, b * steps);
    mask.fill(1, b * steps, b * steps + len);
  });
  const em = tf.tensor3d(Float32Array.from({ length: lengths.length * steps * K }, () => rng.normal()), [lengths.length, steps, K]);
  const lastTags = tf.tensor1d(Array.from(lengths, (len, b) => tags[b * steps + len - 1]), 'int32');
  const ref = (e: tf.Tensor3D) => crfLoss(crf, { emissions: e, tags: tf.tensor2d(tags, [lengths.length, steps], 'int32'), mask: tf.tensor2d(mask, [lengths.length, steps]), lastTags });
  const fast = (e: tf.Tensor3D) => crfNll(crf, e, { tags, lengths });
  assert.ok(Math.abs(ref(em).dataSync()[0] - fast(em).dataSync()[0]) < 1e-4);
  const vars = [crf.transitions, crf.start, crf.end];
  const gRef = tf.variableGrads(() => ref(em), vars).grads;
  const gFast = tf.variableGrads(() => fast(em), vars).grads;
  for (const v of vars) {
    const a = gRef[v.name].dataSync();
    const b = gFast[v.name].dataSync();
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-4, `${v.name}[${i}]: ${a[i]} vs ${b[i]}`);
  }
  const eRef = tf.grad((x) => ref(x as tf.Tensor3D))(em).dataSync();
  const eFast = tf.grad((x) => fast(x as tf.Tensor3D))(em).dataSync();
  for (let i = 0; i < eRef.length; i++) assert.ok(Math.abs(eRef[i] - eFast[i]) < 1e-4, `emission grad ${i}`);
  dispose(crf);
});

/** CrfScores with random learned scores plus the FORBIDDEN penalty where `allowed` says no (as Crf.scores() gives them). */
function randomScores(rng: Rng, k: number, allowed?: boolean[][], allowedStart?: boolean[]): CrfScores {
  const pen = (ok: boolean | undefined) => (ok === false ? -1e4 : 0);
  return {
    numTags: k,
    trans: Float32Array.from({ length: k * k }, (_, i) => rng.normal() + pen(allowed?.[Math.floor(i / k)][i % k])),
    start: Float32Array.from({ length: k }, (_, j) => rng.normal() + pen(allowedStart?.[j])),
    end: Float32Array.from({ length: k }, () => rng.normal()),
  };
}

test('the fused NLL and its gradients equal brute force over all paths: marginals minus gold counts, with padding and constraints', async () => {
  const { nllAndGradients } = await import('../../../models/crf/fastNll.js');
  const rng = new Rng(23);
  const allowed = [
    [true, true, false],
    [true, true, true],
    [true, true, true],
  ];
  for (let trial = 0; trial < 6; trial++) {
    const scores = trial % 2 === 0 ? randomScores(rng, K) : randomScores(rng, K, allowed, [true, true, false]);
    const lengths = Int32Array.from([4, 1, 3, 2]);
    const steps = 4;
    const bsz = lengths.length;
    const em = Float32Array.from({ length: bsz * steps * K }, () => rng.normal() * 2); // padding holds garbage too
    const tags = new Int32Array(bsz * steps).fill(1);
    const gold: number[][] = [];
    lengths.forEach((len, b) => {
      const path = [rng.int(2)];
      for (let t = 1; t < len; t++) path.push(path[t - 1] === 0 ? rng.int(2) : rng.int(3)); // a path the constraints allow
      gold.push(path);
      tags.set(path, b * steps);
    });
    const r = nllAndGradients(em, { batch: bsz, steps, numTags: K }, scores, { tags, lengths });
    let loss = 0;
    const gEm = new Float64Array(bsz * steps * K);
    const gTrans = new Float64Array(K * K);
    const gStart = new Float64Array(K);
    const gEnd = new Float64Array(K);
    lengths.forEach((len, b) => {
      const row = em.subarray(b * steps * K, b * steps * K + len * K);
      const paths = allPaths(K, len);
      const all = paths.map((p) => pathScore(scores, row, p));
      const logZ = logSumExp(all);
      loss += (logZ - pathScore(scores, row, gold[b])) / bsz;
      paths.forEach((p, n) => {
        const prob = Math.exp(all[n] - logZ) / bsz;
        p.forEach((j, t) => (gEm[b * steps * K + t * K + j] += prob));
        for (let t = 1; t < len; t++) gTrans[p[t - 1] * K + p[t]] += prob;
        gStart[p[0]] += prob;
        gEnd[p[len - 1]] += prob;
      });
      const g = gold[b];
      g.forEach((j, t) => (gEm[b * steps * K + t * K + j] -= 1 / bsz));
      for (let t = 1; t < len; t++) gTrans[g[t - 1] * K + g[t]] -= 1 / bsz;
      gStart[g[0]] -= 1 / bsz;
      gEnd[g[len - 1]] -= 1 / bsz;
    });
    assert.ok(Math.abs(r.loss - loss) < 1e-6, `loss ${r.loss} vs brute force ${loss}`);
    const close = (name: string, got: ArrayLike<number>, want: ArrayLike<number>) => {
      assert.equal(got.length, want.length);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-6, `${name}[${i}]: ${got[i]} vs brute force ${want[i]}`);
    };
    close('gEm', r.gEm, gEm);
    close('gTrans', r.gTrans, gTrans);
    close('gStart', r.gStart, gStart);
    close('gEnd', r.gEnd, gEnd);
  }
});

test('the fused NLL equals the log-space tensor reference on long sequences with large scores (no overflow in the scaled recursion)', async () => {
  await testBackend();
  const { nllAndGradients } = await import('../../../models/crf/fastNll.js');
  const rng = new Rng(29);
  const k = 17;
  const steps = 200;
  const lengths = Int32Array.from([200, 57]);
  const scores = randomScores(rng, k);
  const crf = new Crf({ numTags: k });
  crf.transitions.assign(tf.tensor2d(scores.trans, [k, k]));
  crf.start.assign(tf.tensor1d(scores.start));
  crf.end.assign(tf.tensor1d(scores.end));
  const em = Float32Array.from({ length: lengths.length * steps * k }, () => rng.normal() * 30);
  const tags = Int32Array.from({ length: lengths.length * steps }, () => rng.int(k));
  const mask = Float32Array.from({ length: lengths.length * steps }, (_, i) => (i % steps < lengths[Math.floor(i / steps)] ? 1 : 0));
  const r = nllAndGradients(em, { batch: lengths.length, steps, numTags: k }, scores, { tags, lengths });
  assert.ok(Number.isFinite(r.loss) && r.gEm.every(Number.isFinite) && r.gTrans.every(Number.isFinite));
  const emT = tf.tensor3d(em, [lengths.length, steps, k]);
  const logZ = logPartition(crf, emT, tf.tensor2d(mask, [lengths.length, steps])).arraySync();
  const gold = Array.from(lengths, (len, b) => pathScore(scores, em.subarray(b * steps * k, (b * steps + len) * k), Array.from(tags.subarray(b * steps, b * steps + len))));
  const ref = (logZ[0] - gold[0] + logZ[1] - gold[1]) / 2;
  // float32 tensor ops over 200 steps of scores ~100: agree to float32 rounding of the sums
  assert.ok(Math.abs(r.loss - ref) / Math.abs(ref) < 1e-5, `fused ${r.loss} vs log-space reference ${ref}`);
  tf.dispose(emT);
  dispose(crf);
});

test('the fused CRF NLL op leaves no tensors behind: the count stays flat over loss + gradient steps', async () => {
  await testBackend();
  const { crfNll } = await import('../../../models/crf/fastNll.js');
  const rng = new Rng(31);
  const crf = randomCrf(rng);
  const lengths = Int32Array.from([3, 2]);
  const tags = Int32Array.from([0, 1, 2, 1, 1, 0]);
  const em = tf.variable(tf.tensor3d(Float32Array.from({ length: 2 * 3 * K }, () => rng.normal()), [2, 3, K]));
  const step = () => {
    const { value, grads } = tf.variableGrads(() => crfNll(crf, em, { tags, lengths }), [em, crf.transitions, crf.start, crf.end]);
    tf.dispose([value, ...Object.values(grads)]);
  };
  step(); // first call may allocate lazily-created backend state
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) step();
  assert.equal(tf.memory().numTensors, before, 'tensors leaked by the NLL op or its gradient');
  em.dispose();
  dispose(crf);
});

test('softmax-margin: the loss and gradients equal brute force over all paths with the Hamming-style cost added; zero cost is the likelihood', async () => {
  const { nllAndGradients } = await import('../../../models/crf/fastNll.js');
  const rng = new Rng(41);
  const oId = 0;
  const costs = [
    { oId, missed: 1.5, spurious: 0.25 },
    { oId, missed: 0, spurious: 2 },
    { oId, missed: 0.7, spurious: 0 },
  ];
  for (let trial = 0; trial < costs.length * 2; trial++) {
    const cost = costs[trial % costs.length];
    const scores = randomScores(rng, K);
    const lengths = Int32Array.from([4, 1, 3]);
    const steps = 4;
    const bsz = lengths.length;
    const em = Float32Array.from({ length: bsz * steps * K }, () => rng.normal() * 2);
    const tags = new Int32Array(bsz * steps);
    const gold: number[][] = [];
    lengths.forEach((len, b) => {
      const path = Array.from({ length: len }, () => rng.int(K)); // O (0) and mention tags mixed
      gold.push(path);
      tags.set(path, b * steps);
    });
    const emCopy = Float32Array.from(em);
    const r = nllAndGradients(em, { batch: bsz, steps, numTags: K }, scores, { tags, lengths, cost });
    assert.deepEqual(em, emCopy, 'the caller\'s emissions are not changed');
    const positionCost = (g: number, j: number) => (j === g ? 0 : g === oId ? cost.spurious : cost.missed);
    let loss = 0;
    const gEm = new Float64Array(bsz * steps * K);
    const gTrans = new Float64Array(K * K);
    lengths.forEach((len, b) => {
      const row = em.subarray(b * steps * K, b * steps * K + len * K);
      const paths = allPaths(K, len);
      const g = gold[b];
      const all = paths.map((p) => pathScore(scores, row, p) + p.reduce((a, j, t) => a + positionCost(g[t], j), 0));
      const logZ = logSumExp(all);
      loss += (logZ - pathScore(scores, row, g)) / bsz;
      paths.forEach((p, n) => {
        const prob = Math.exp(all[n] - logZ) / bsz;
        p.forEach((j, t) => (gEm[b * steps * K + t * K + j] += prob));
        for (let t = 1; t < len; t++) gTrans[p[t - 1] * K + p[t]] += prob;
      });
      g.forEach((j, t) => (gEm[b * steps * K + t * K + j] -= 1 / bsz));
      for (let t = 1; t < len; t++) gTrans[g[t - 1] * K + g[t]] -= 1 / bsz;
    });
    assert.ok(Math.abs(r.loss - loss) < 1e-5, `loss ${r.loss} vs brute force ${loss}`);
    for (let i = 0; i < gEm.length; i++) assert.ok(Math.abs(r.gEm[i] - gEm[i]) < 1e-5, `gEm[${i}]: ${r.gEm[i]} vs brute force ${gEm[i]}`);
    for (let i = 0; i < gTrans.length; i++) assert.ok(Math.abs(r.gTrans[i] - gTrans[i]) < 1e-5, `gTrans[${i}]: ${r.gTrans[i]} vs brute force ${gTrans[i]}`);
    // a positive cost only raises the loss above the likelihood
    const plain = nllAndGradients(em, { batch: bsz, steps, numTags: K }, scores, { tags, lengths });
    assert.ok(r.loss > plain.loss, `softmax-margin ${r.loss} > likelihood ${plain.loss}`);
    // a zero cost is the likelihood, bit for bit
    const zero = nllAndGradients(em, { batch: bsz, steps, numTags: K }, scores, { tags, lengths, cost: { oId, missed: 0, spurious: 0 } });
    assert.equal(zero.loss, plain.loss);
    assert.deepEqual(zero.gEm, plain.gEm);
  }
});
