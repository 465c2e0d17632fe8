import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../common/errors.js';
import { DEFAULT_TRAIN_OPTIONS, layered, resolveTrainOptions } from '../../pipeline/train/options.js';

test('a flag that was not given leaves the config file value alone; a given flag wins', () => {
  const fromFile = { epochs: 20, dropout: 0.1 };
  const o = resolveTrainOptions(layered(fromFile, { epochs: undefined, dropout: 0.4 }));
  assert.equal(o.epochs, 20);
  assert.equal(o.dropout, 0.4);
  assert.equal(o.batchSize, DEFAULT_TRAIN_OPTIONS.batchSize);
});

test('unknown and out-of-range options are refused with the option name', () => {
  assert.throws(() => resolveTrainOptions({ epochz: 3 }, 'cfg.json'), (e: unknown) => e instanceof ConfigError && /cfg\.json: unknown option "epochz"/.test(e.message));
  assert.throws(() => resolveTrainOptions({ dropout: 1.5 }), (e: unknown) => e instanceof ConfigError && /"dropout" must be a number in \[0, 1\)/.test(e.message));
  assert.throws(() => resolveTrainOptions({ useHidden: false, useEmbeddings: false, lexicalBuckets: 0 }), ConfigError);
});

test('lambda must be above 0 (0 would train the segmentation head on nothing); the message says where NER alone is', () => {
  for (const lambda of [0, -1, 11]) {
    assert.throws(
      () => resolveTrainOptions({ lambda }),
      (e: unknown) => e instanceof ConfigError && /option "lambda" must be a number in \(0, 10\] \(the paper tunes it in \[0\.5, 1\]; for NER without segmentation use train-ner\)/.test(e.message),
    );
  }
  assert.equal(resolveTrainOptions({ lambda: 0.5 }).lambda, 0.5);
});

test('emaDecay is 0 (off, the default) or a decay in [0.5, 1), checked at construction', () => {
  assert.equal(resolveTrainOptions({}).emaDecay, 0);
  assert.equal(resolveTrainOptions({ emaDecay: 0.998 }).emaDecay, 0.998);
  for (const bad of [1, 0.3, -0.5, 2, '0.99'])
    assert.throws(() => resolveTrainOptions({ emaDecay: bad }), /option "emaDecay" must be 0 \(off\) or a number in \[0.5, 1\)/);
});
