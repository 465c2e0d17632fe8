/** The dev-curve helpers of the weight-averaging report, on hand-made histories. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meanAbsChange, replayEarlyStop } from '../../pipeline/train/experiments/curveStability.js';
import type { EpochReport } from '../../pipeline/train/trainer.js';

const hist = (raw: number[], avg?: number[]): EpochReport[] =>
  raw.map((v, i) => ({ epoch: i + 1, seconds: 1, loss: {}, learningRate: {}, dev: { ner_f1: v, ...(avg ? { avg_ner_f1: avg[i] } : {}) } }));

test('meanAbsChange averages |change| over the epoch pairs from epoch 3 on', () => {
  const h = hist([10, 50, 60, 58, 62, 61]);
  // pairs (3,4) (4,5) (5,6): 2, 4, 1
  assert.equal(meanAbsChange(h, 'ner_f1'), 7 / 3);
  assert.equal(meanAbsChange(h, 'ner_f1', 1), (40 + 10 + 2 + 4 + 1) / 5);
  assert.ok(Number.isNaN(meanAbsChange(hist([1, 2, 3]), 'ner_f1')));
  assert.ok(Number.isNaN(meanAbsChange(h, 'avg_ner_f1')));
});

test('replayEarlyStop keeps the first strict best and stops after patience epochs without gain', () => {
  // best 61 at epoch 3; epochs 4-5 no gain; patience 2 stops at 5 although 70 comes later
  assert.deepEqual(replayEarlyStop(hist([50, 58, 61, 61, 60, 70]), 'ner_f1', 2, 20), { epoch: 3, value: 61, known: true });
  // history ends before the rule stops, below maxEpochs: not known
  assert.deepEqual(replayEarlyStop(hist([50, 58, 61, 60]), 'ner_f1', 3, 20), { epoch: 3, value: 61, known: false });
  // ... at maxEpochs: known
  assert.deepEqual(replayEarlyStop(hist([50, 58, 61, 60]), 'ner_f1', 3, 4), { epoch: 3, value: 61, known: true });
  assert.equal(replayEarlyStop(hist([50]), 'avg_ner_f1', 3, 4), undefined);
});
