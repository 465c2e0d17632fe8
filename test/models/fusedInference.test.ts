/**
 * The shipped model's inference on the fused kernel (models/layers/lstm.ts:
 * cached BlockLSTM-ordered weights, time-major gathers) against the
 * reference path (the per-step recurrence training uses) on the WeiboNER v2
 * dev texts: emissions within 1e-5, the same Viterbi paths and spans.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { corporaDir, defaultModelDir } from '../../cli/defaults.js';
import { readConll } from '../../models/data/conll.js';
import { blockLstmAvailable, useBlockLstm } from '../../models/layers/blockLstm.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { testBackend } from '../support/backend.js';

const DEV = join(corporaDir(), 'weiboNER', 'weiboNER_2nd_conll.dev');

test('v2 dev: fused inference gives the reference path\'s emissions (within 1e-5) and Viterbi paths, at batch 64 and 7, with a flat tensor count', { timeout: 300_000, skip: existsSync(DEV) ? false : `corpus not found at ${DEV} (set MENTIONFLOW_CORPORA)` }, async (t) => {
  await testBackend();
  if (!blockLstmAvailable()) {
    t.skip('the fused kernel runs on the native backend only');
    return;
  }
  const sentences = (await readConll(DEV)).map((s) => s.chars).filter((c) => c.length > 0);
  const { model } = await TaggerModel.load(defaultModelDir());
  try {
    for (const batchSize of [64, 7]) {
      const before = tf.memory().numTensors;
      const fused = await model.nerEmissions(sentences, batchSize);
      const fusedTags = (await model.predict(sentences, batchSize)).map((p) => p.tags.join(' '));
      assert.equal(tf.memory().numTensors, before, `tensor count flat, batch ${batchSize}`);
      useBlockLstm(false);
      let reference: Float32Array[];
      let referenceTags: string[];
      try {
        reference = await model.nerEmissions(sentences, batchSize);
        referenceTags = (await model.predict(sentences, batchSize)).map((p) => p.tags.join(' '));
      } finally {
        useBlockLstm(true);
      }
      let worst = 0;
      fused.forEach((e, i) => {
        assert.equal(e.length, reference[i].length);
        for (let j = 0; j < e.length; j++) worst = Math.max(worst, Math.abs(e[j] - reference[i][j]));
      });
      assert.ok(worst < 1e-5, `batch ${batchSize}: emissions differ by up to ${worst}`);
      assert.equal(fusedTags.filter((tags, i) => tags !== referenceTags[i]).length, 0, `batch ${batchSize}: Viterbi paths differ`);
    }
  } finally {
    model.dispose();
  }
});
