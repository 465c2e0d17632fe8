/**
 * `experiment table1` with reportOnly: the report is rebuilt from the runs
 * found under the folder, nothing is trained and no corpus is read (the
 * corpora folder given here does not exist, so any attempt would throw).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { prf } from '../../models/eval/prf.js';
import { runTable1, type RunResult } from '../../pipeline/train/experiments/table1.js';
import { resolveTrainOptions } from '../../pipeline/train/options.js';

async function writeRun(outDir: string, row: string, seed: number, tp: number): Promise<void> {
  const dir = join(outDir, 'v2', `row-${row}`, `seed-${seed}`);
  await mkdir(dir, { recursive: true });
  const s = prf(tp, 10, 10);
  const result: RunResult = {
    dataset: 'v2',
    row,
    seed,
    dir,
    bestEpoch: 1,
    epochs: 1,
    seconds: 1,
    secondsPerEpoch: 1,
    scores: { perLabel: {}, named: s, nominal: s, overall: s },
    history: [{ epoch: 1, seconds: 1, loss: { ner: 1 }, learningRate: { ner: 0.01 }, dev: { ner_f1: s.f1 } }],
  };
  await writeFile(join(dir, 'result.json'), JSON.stringify(result));
}

test('reportOnly rebuilds the report from finished runs, trains nothing and counts the runs per row', async () => {
  const out = await mkdtemp(join(tmpdir(), 'mf-table1-report-'));
  try {
    await writeRun(out, '1', 1, 30);
    await writeRun(out, '1', 2, 50);
    await writeRun(out, '5', 1, 40);
    const logs: string[] = [];
    const results = await runTable1({
      corporaDir: join(out, 'no-such-corpora'),
      datasets: ['v2'],
      rows: ['1', '5'],
      seeds: 3,
      base: resolveTrainOptions({}, 'test'),
      outDir: out,
      quiet: true,
      reportOnly: true,
      log: (m) => logs.push(m),
    });
    assert.deepEqual(
      results.map((r) => `${r.row}/${r.seed}`),
      ['1/1', '1/2', '5/1'],
    );
    assert.ok(logs.some((m) => /3 of 6 runs are not in the report/.test(m)), logs.join('\n'));
    const report = JSON.parse(await readFile(join(out, 'table1.json'), 'utf8')) as { datasets: { v2: { row: string; runs: number; overall: { f1: { mean: number } } }[] } };
    const byRow = Object.fromEntries(report.datasets.v2.map((r) => [r.row, r]));
    assert.equal(byRow['1'].runs, 2);
    assert.equal(byRow['5'].runs, 1);
    assert.ok(Math.abs(byRow['1'].overall.f1.mean - (prf(30, 10, 10).f1 + prf(50, 10, 10).f1) / 2) < 1e-9);
    const md = await readFile(join(out, 'table1.md'), 'utf8');
    assert.match(md, /\| 1 \| [^|]+ \| 2 \|/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('reportOnly on a folder that does not exist says there is nothing to report, writes nothing and does not throw', async () => {
  const parent = await mkdtemp(join(tmpdir(), 'mf-table1-empty-'));
  const out = join(parent, 'new-folder');
  try {
    const logs: string[] = [];
    const results = await runTable1({
      corporaDir: join(parent, 'no-such-corpora'),
      datasets: ['v2'],
      rows: ['11-cp'],
      seeds: 2,
      base: resolveTrainOptions({}, 'test'),
      outDir: out,
      quiet: true,
      reportOnly: true,
      log: (m) => logs.push(m),
    });
    assert.deepEqual(results, []);
    assert.ok(logs.some((m) => m.includes(`nothing to report: no finished runs under ${out}`)), logs.join('\n'));
    assert.equal(existsSync(out), false);
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
});

test('the report compares averaged runs with the same runs without averaging (raw early stopping replayed) and the curves\' epoch-to-epoch change', async () => {
  const out = await mkdtemp(join(tmpdir(), 'mf-table1-avg-'));
  try {
    const dir = join(out, 'v2', 'row-11-cp', 'seed-1');
    await mkdir(dir, { recursive: true });
    const s = prf(30, 10, 10);
    const raw = [50, 60, 52, 58, 51, 59];
    const avg = [40, 50, 55, 56, 57, 56];
    const result: RunResult = {
      dataset: 'v2',
      row: '11-cp',
      seed: 1,
      dir,
      bestEpoch: 5,
      epochs: 6,
      seconds: 1,
      secondsPerEpoch: 1,
      scores: { perLabel: {}, named: s, nominal: s, overall: { ...s, f1: 57 } },
      history: raw.map((v, i) => ({ epoch: i + 1, seconds: 1, loss: { ner: 1 }, learningRate: { ner: 0.01 }, dev: { ner_f1: v, avg_ner_f1: avg[i] } })),
    };
    await writeFile(join(dir, 'result.json'), JSON.stringify(result));
    await runTable1({ corporaDir: join(out, 'none'), datasets: ['v2'], rows: ['11-cp'], seeds: 1, base: resolveTrainOptions({ earlyStopPatience: 3, epochs: 20, emaDecay: 0.998 }, 'test'), outDir: out, quiet: true, reportOnly: true, log: () => {} });
    const md = await readFile(join(out, 'table1.md'), 'utf8');
    // raw: best 60 at epoch 2, then 3 epochs without gain: stopped, kept 60
    assert.match(md, /row 11-cp: averaged 57\.00 \(best epoch 5\.00\); the same runs without averaging \(raw weights, same early stopping replayed\) 60\.00/);
    assert.match(md, /1: 57\.00 \(5\) \/ 60\.00 \(2\)/);
    // pairs from epoch 3: raw |58-52| |51-58| |59-51| = 6, 7, 8; averaged 1, 1, 1
    assert.match(md, /raw 7\.00, averaged 1\.00/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
