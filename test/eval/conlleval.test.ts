/**
 * Cross-check against conlleval: the `eval` command's scores must equal
 * what conlleval (the PyPI port of conlleval.pl, `pip install conlleval==0.2`,
 * installed by .ci/run) computes from the same --write-predictions file,
 * on a trained tiny model and on random (also invalid) tag sequences.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { formatConllevalLines, scoreTags, type NerScores } from '../../models/eval/spanScorer.js';
import { Rng } from '../../models/rng.js';
import { projectRoot } from '../../cli/defaults.js';
import { testBackend } from '../support/backend.js';
import { fitTiny, TINY, tinyModel } from '../support/tiny.js';

const hasConlleval = spawnSync('python3', ['-c', 'import conlleval'], { stdio: 'ignore' }).status === 0;
const skip = hasConlleval ? false : 'python conlleval not installed (pip install conlleval==0.2; .ci/run installs it)';
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mf-conlleval-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface ConllevalJson {
  overall: { chunks: { stats: { gold: number; pred: number; correct: number }; evals: { f1: number; prec: number; rec: number } } };
  slots: { chunks: Record<string, { stats: { gold: number; pred: number; correct: number }; evals: { f1: number; prec: number; rec: number } }> };
}

function conlleval(file: string): ConllevalJson {
  return JSON.parse(execFileSync('python3', ['-m', 'conlleval', '-f', 'json', file]).toString()) as ConllevalJson;
}

function assertSame(ours: NerScores, theirs: ConllevalJson): void {
  const o = theirs.overall.chunks;
  assert.equal(ours.overall.tp, o.stats.correct);
  assert.equal(ours.overall.tp + ours.overall.fp, o.stats.pred);
  assert.equal(ours.overall.tp + ours.overall.fn, o.stats.gold);
  if (o.stats.pred > 0) assert.ok(Math.abs(ours.overall.precision - 100 * o.evals.prec) < 1e-9);
  assert.ok(Math.abs(ours.overall.recall - 100 * o.evals.rec) < 1e-9);
  assert.ok(Math.abs(ours.overall.f1 - 100 * o.evals.f1) < 1e-9);
  for (const [label, s] of Object.entries(theirs.slots.chunks)) {
    const mine = ours.perLabel[label];
    assert.ok(mine, `conlleval reports ${label}, we do not`);
    assert.equal(mine.tp, s.stats.correct, label);
    assert.equal(mine.tp + mine.fp, s.stats.pred, label);
    assert.equal(mine.tp + mine.fn, s.stats.gold, label);
  }
}

test('random tag sequences (including invalid I- starts) score identically', { skip }, async () => {
  const rng = new Rng(42);
  const labels = ['PER.NAM', 'PER.NOM', 'ORG.NAM', 'GPE.NAM'];
  const randomTags = (n: number) =>
    Array.from({ length: n }, () => {
      const r = rng.int(5);
      return r < 2 ? 'O' : `${r === 2 ? 'B' : 'I'}-${labels[rng.int(labels.length)]}`;
    });
  for (let trial = 0; trial < 20; trial++) {
    const sentences = Array.from({ length: 1 + rng.int(8) }, () => 1 + rng.int(12));
    const chars = sentences.map((n) => Array.from({ length: n }, () => '字'));
    const gold = sentences.map(randomTags);
    const pred = sentences.map(randomTags);
    const file = join(dir, `random-${trial}.txt`);
    await writeFile(file, formatConllevalLines(chars, gold, pred).join('\n') + '\n');
    assertSame(scoreTags(gold, pred), conlleval(file));
  }
});

test('`mentionflow eval --write-predictions` agrees with conlleval on a trained model', { skip }, async () => {
  await testBackend();
  const model = tinyModel({ lexicalBuckets: 256 });
  await fitTiny(model, 4); // under-trained on purpose: some predictions are wrong
  await model.save(join(dir, 'model'), { training: { seed: 1, epochs: 4, bestEpoch: 4, data: [], options: {} }, scores: {} });
  model.dispose();
  const data = join(dir, 'data.conll');
  await writeFile(data, TINY.map((s) => s.chars.map((c, i) => `${c}\t${s.tags[i]}`).join('\n')).join('\n\n') + '\n');
  const preds = join(dir, 'preds.txt');
  const out = execFileSync(process.execPath, [join(projectRoot(), 'dist', 'cli', 'main.js'), 'eval', '--model', join(dir, 'model'), '--data', data, '--json', '--write-predictions', preds], {
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  const ours = JSON.parse(out.toString()).scores as NerScores;
  assertSame(ours, conlleval(preds));
});
