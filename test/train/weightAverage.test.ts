/**
 * The moving average of the weights (pipeline/train/weightAverage.ts): its
 * values against a hand computation on a toy "network" of two variables, the
 * swap in and out of the variables (also when the callback throws), the
 * checkpoint round trip, and a tensor count that stays flat over many steps.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { ParamMap } from '../../models/layers/params.js';
import { WeightAverage } from '../../pipeline/train/weightAverage.js';
import { testBackend } from '../support/backend.js';

function toy(): ParamMap {
  return new Map<string, tf.Variable>([
    ['w', tf.variable(tf.tensor2d([[1, 2], [3, 4]]), true, 'toy_w_' + Math.random())],
    ['b', tf.variable(tf.tensor1d([-1, 0.5]), true, 'toy_b_' + Math.random())],
  ]);
}

/** The weights of step t (1-based): arbitrary, not monotone, so a wrong weighting shows. */
function weightsAt(t: number): { w: number[]; b: number[] } {
  return { w: [t, -2 * t, Math.sin(t), t % 3], b: [Math.cos(t), 10 / t] };
}

function set(params: ParamMap, v: { w: number[]; b: number[] }): void {
  tf.tidy(() => {
    params.get('w')!.assign(tf.tensor2d(v.w, [2, 2]));
    params.get('b')!.assign(tf.tensor1d(v.b));
  });
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-4) =>
  assert.ok(a.length === b.length && Array.from(a).every((x, i) => Math.abs(x - b[i]) <= tol * Math.max(1, Math.abs(b[i]))), `${Array.from(a).join(',')} vs ${Array.from(b).join(',')}`);

test('the average is the bias-corrected exponential average of the weights after each step', async () => {
  await testBackend();
  const params = toy();
  const decay = 0.9;
  const avg = new WeightAverage(params, decay);
  // before any step the "average" is the weights themselves
  close((await avg.withAveraged(() => params.get('w')!.data())) as Float32Array, [1, 2, 3, 4]);
  const steps = 25;
  for (let t = 1; t <= steps; t++) {
    set(params, weightsAt(t));
    avg.update();
  }
  // hand computation: sum_t decay^(T-t) (1-decay) x_t / (1 - decay^T)
  const expect = (key: 'w' | 'b') => {
    const n = weightsAt(1)[key].length;
    const out = new Array<number>(n).fill(0);
    for (let t = 1; t <= steps; t++) for (let i = 0; i < n; i++) out[i] += Math.pow(decay, steps - t) * (1 - decay) * weightsAt(t)[key][i];
    return out.map((x) => x / (1 - Math.pow(decay, steps)));
  };
  const inside = await avg.withAveraged(async () => ({ w: await params.get('w')!.data(), b: await params.get('b')!.data() }));
  close(inside.w as Float32Array, expect('w'));
  close(inside.b as Float32Array, expect('b'));
  // the raw weights are back afterwards
  close((await params.get('w')!.data()) as Float32Array, weightsAt(steps).w);
  close((await params.get('b')!.data()) as Float32Array, weightsAt(steps).b);
  assert.equal(avg.steps, steps);
  avg.dispose();
  for (const v of params.values()) v.dispose();
});

test('withAveraged puts the raw weights back when the callback throws', async () => {
  await testBackend();
  const params = toy();
  const avg = new WeightAverage(params, 0.5);
  set(params, weightsAt(2));
  avg.update();
  set(params, weightsAt(7));
  await assert.rejects(
    avg.withAveraged(() => {
      throw new Error('boom');
    }),
    /boom/,
  );
  close((await params.get('w')!.data()) as Float32Array, weightsAt(7).w);
  avg.dispose();
  for (const v of params.values()) v.dispose();
});

test('a restored state gives the same average as the original', async () => {
  await testBackend();
  const params = toy();
  const a = new WeightAverage(params, 0.8);
  for (let t = 1; t <= 5; t++) {
    set(params, weightsAt(t));
    a.update();
  }
  const st = a.state();
  const values = await Promise.all(st.shadow.map(async (t) => (await t.data()) as Float32Array));
  const b = new WeightAverage(params, 0.8);
  b.restore(st.steps, values);
  const fromA = await a.withAveraged(() => params.get('w')!.data());
  const fromB = await b.withAveraged(() => params.get('w')!.data());
  close(fromB as Float32Array, Array.from(fromA as Float32Array), 1e-6);
  assert.throws(() => b.restore(1, values.slice(1)), /holds 1 tensors, the network 2/);
  a.dispose();
  b.dispose();
  for (const v of params.values()) v.dispose();
});

test('the tensor count stays flat over many steps and swaps, and returns to where it was after dispose', async () => {
  await testBackend();
  const params = toy();
  const before = tf.memory().numTensors;
  const avg = new WeightAverage(params, 0.99);
  const withAverage = tf.memory().numTensors;
  assert.equal(withAverage - before, params.size, 'one shadow variable per weight');
  for (let t = 1; t <= 300; t++) {
    set(params, weightsAt(t));
    avg.update();
    if (t % 10 === 0) await avg.withAveraged(() => params.get('b')!.data());
    if (t % 100 === 0) assert.equal(tf.memory().numTensors, withAverage, `after ${t} steps`);
  }
  avg.dispose();
  assert.equal(tf.memory().numTensors, before);
  for (const v of params.values()) v.dispose();
});

test('the decay is checked at construction', async () => {
  await testBackend();
  const params = toy();
  for (const d of [0, 1, -0.1, 1.5, NaN]) assert.throws(() => new WeightAverage(params, d), /decay must be in \(0, 1\)/);
  for (const v of params.values()) v.dispose();
});
