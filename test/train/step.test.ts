/**
 * The training step reports the unweighted loss of its batch whatever the
 * task weight (the paper's lambda for segmentation), and a weight scales the
 * update, not the reported loss. Before, the step divided the weighted loss
 * by the weight: lambda 0 gave NaN and "training diverged".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { makeBatch } from '../../models/batch.js';
import { trainStep } from '../../pipeline/train/step.js';
import { testBackend } from '../support/backend.js';
import { TINY, tinyModel } from '../support/tiny.js';

test('trainStep returns the same unweighted loss for any weight; weight 0 changes no parameter, weight 1 does', async () => {
  await testBackend();
  const losses: number[] = [];
  const moved: boolean[] = [];
  for (const weight of [1, 0.5, 1e-3, 0]) {
    const model = tinyModel({ seed: 4 }); // the same initial weights every time
    const batch = makeBatch(TINY.slice(0, 3).map((s) => model.encode(s.chars, s.tags)));
    const before = [...model.network.params().values()].map((v) => v.dataSync().slice());
    const optimizer = tf.train.sgd(0.1);
    losses.push(trainStep(model.network, batch, { head: 'ner', weight, optimizer, clipNorm: 0, dropoutSeed: 1 }));
    const after = [...model.network.params().values()].map((v) => v.dataSync());
    moved.push(after.some((a, i) => a.some((x, j) => x !== before[i][j])));
    optimizer.dispose();
    model.dispose();
  }
  assert.ok(losses.every(Number.isFinite), `losses ${losses.join(', ')}`);
  assert.ok(losses[0] > 0);
  for (const l of losses.slice(1)) assert.ok(Math.abs(l - losses[0]) < 1e-5 * losses[0], `losses ${losses.join(', ')}`);
  assert.deepEqual(moved, [true, true, true, false]);
});
