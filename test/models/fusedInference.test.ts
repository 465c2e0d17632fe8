/**
 * The shipped model's inference on the fused kernel (models/layers/lstm.ts:
 * cached BlockLSTM-ordered weights, time-major gathers), over padded batches
 * and over packed ones (models/packing.ts: several sentences per row, the
 * recurrence reset at each separator), against the reference path (the
 * per-step recurrence training uses, padded) on the WeiboNER v2 dev texts:
 * emissions within 1e-5, the same Viterbi paths and spans. The same for the
 * C kernel (models/network/nativeHead.ts: the whole head in one call, each
 * sentence alone) within 5e-5, on each engine this CPU runs (avx512, avx2):
 * its sums run in another order and its exp is its own.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { corporaDir, defaultModelDir } from '../../cli/defaults.js';
import { readConll } from '../../models/data/conll.js';
import { blockLstmAvailable, useBlockLstm } from '../../models/layers/blockLstm.js';
import { type NativeEngine, nativeEngine, nativeEngines, nativeLstmAvailable, useNativeEngine, useNativeLstm } from '../../models/layers/nativeLstm.js';
import { usePacking } from '../../models/packing.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { testBackend } from '../support/backend.js';

const DEV = join(corporaDir(), 'weiboNER', 'weiboNER_2nd_conll.dev');

test('v2 dev: fused inference (BlockLSTM, and the C kernel on each engine where it runs), padded and packed, gives the reference path\'s emissions (within 1e-5; the C kernel 5e-5) and Viterbi paths, at batch 64 and 7, with a flat tensor count', { timeout: 300_000, skip: existsSync(DEV) ? false : `corpus not found at ${DEV} (set MENTIONFLOW_CORPORA)` }, async (t) => {
  await testBackend();
  if (!blockLstmAvailable()) {
    t.skip('the fused kernel runs on the native backend only');
    return;
  }
  const sentences = (await readConll(DEV)).map((s) => s.chars).filter((c) => c.length > 0);
  const { model } = await TaggerModel.load(defaultModelDir());
  type Engine = 'reference' | 'BlockLSTM' | `C kernel, ${NativeEngine}`;
  const cEngine = (engine: Engine) => (engine.startsWith('C kernel, ') ? (engine.slice('C kernel, '.length) as NativeEngine) : undefined);
  const run = async (batchSize: number, engine: Engine, packed: boolean) => {
    useBlockLstm(engine !== 'reference');
    useNativeLstm(cEngine(engine) !== undefined);
    useNativeEngine(cEngine(engine) ?? 'auto');
    usePacking(packed);
    try {
      assert.equal(model.packs(), engine !== 'reference' && packed);
      if (cEngine(engine)) assert.ok(nativeLstmAvailable() && nativeEngine() === cEngine(engine), `the C kernel runs on ${cEngine(engine)}`);
      const before = tf.memory().numTensors;
      const emissions = await model.nerEmissions(sentences, batchSize);
      const tags = (await model.predict(sentences, batchSize)).map((p) => p.tags.join(' '));
      assert.equal(tf.memory().numTensors, before, `tensor count flat, batch ${batchSize}, ${engine}, packed ${packed}`);
      return { emissions, tags };
    } finally {
      useBlockLstm(true);
      useNativeLstm(true);
      useNativeEngine('auto');
      usePacking(true);
    }
  };
  // The C kernel on each engine this CPU runs where the addon is built (CI's machines: avx512 and avx2); elsewhere BlockLSTM alone.
  const engines: Engine[] = ['BlockLSTM', ...nativeEngines().map((e) => `C kernel, ${e}` as const)];
  try {
    for (const batchSize of [64, 7]) {
      const reference = await run(batchSize, 'reference', false);
      for (const engine of engines)
        for (const packed of [false, true]) {
          const fused = await run(batchSize, engine, packed);
          let worst = 0;
          fused.emissions.forEach((e, i) => {
            assert.equal(e.length, reference.emissions[i].length);
            for (let j = 0; j < e.length; j++) worst = Math.max(worst, Math.abs(e[j] - reference.emissions[i][j]));
          });
          assert.ok(worst < (cEngine(engine) ? 5e-5 : 1e-5), `batch ${batchSize}, ${engine}, packed ${packed}: emissions differ by up to ${worst}`);
          assert.equal(fused.tags.filter((tags, i) => tags !== reference.tags[i]).length, 0, `batch ${batchSize}, ${engine}, packed ${packed}: Viterbi paths differ`);
        }
    }
  } finally {
    model.dispose();
  }
});
