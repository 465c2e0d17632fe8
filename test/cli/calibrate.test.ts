/**
 * `mentionflow calibrate` end to end on a tiny model and hand-written data:
 * the sweep's table and JSON, --out writes a model that `eval` scores as
 * calibrate said, the bias is absolute (a model saved with another bias is
 * swept from 0 all the same), and a mistake gets one line with exit 2.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { projectRoot } from '../../cli/defaults.js';
import { testBackend } from '../support/backend.js';
import { fitTiny, TINY, tinyModel } from '../support/tiny.js';

const main = join(projectRoot(), 'dist', 'cli', 'main.js');
const work = mkdtempSync(join(tmpdir(), 'mentionflow-calibrate-'));
const model = join(work, 'model');
const data = join(work, 'dev.conll');

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, MENTIONFLOW_BROKERS: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('mentionflow calibrate', () => {
  before(async () => {
    await testBackend();
    const m = tinyModel({ lexicalBuckets: 512 });
    assert.equal(await fitTiny(m), 100);
    m.meta.nonOBias = -50; // saved conservative: the sweep must still start from an absolute 0
    await m.save(model, { training: { seed: 1, epochs: 1, bestEpoch: 1, data: [], options: {} }, scores: {} });
    m.dispose();
    writeFileSync(data, TINY.map((s) => s.chars.map((c, i) => `${c} ${s.tags[i]}`).join('\n') + '\n').join('\n'));
  });

  it('prints the sweep and the held-out check, and --out writes the chosen bias that eval then scores', () => {
    const table = cli(['calibrate', '--model', model, '--data', data, '--min', '-1', '--max', '1', '--step', '0.5']);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /loaded bias -50/);
    assert.match(table.stdout, /^ {2}0\.00 \|.*\(uncalibrated\)|<- best/m);
    assert.match(table.stdout, /held-out halves pooled/);
    // The tiny model fits its data, so bias 0 has P = R = 100 and meets any gap.
    const gapped = cli(['calibrate', '--model', model, '--data', data, '--max-pr-gap', '0', '--min', '-1', '--max', '1', '--step', '0.5']);
    assert.equal(gapped.status, 0, gapped.stderr);
    assert.match(gapped.stdout, /\| \|P-R\|$/m);
    assert.match(gapped.stdout, /best bias 0\.00 \(\|P - R\| <= 0\)/);
    const out = join(work, 'calibrated');
    const r = cli(['calibrate', '--model', model, '--data', data, '--out', out, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { calibration: { chosen: { bias: number; scores: { overall: { f1: number } } }; rows: { bias: number }[]; atZero: { scores: { overall: { f1: number } } } }; written: { modelVersion: string } };
    assert.equal(j.calibration.rows[0].bias, -2);
    assert.ok(j.calibration.rows.some((x) => x.bias === 4));
    // The tiny model fits its data: F1 100 at 0, and ties go to the bias nearest 0.
    assert.equal(j.calibration.atZero.scores.overall.f1, 100);
    assert.equal(j.calibration.chosen.bias, 0);
    assert.equal(j.written.modelVersion, 'test');
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { decoding: { nonOBias: number; calibration: { atChosen: { overall: { f1: number } } } }; formatVersion: number };
    assert.equal(manifest.decoding.nonOBias, 0);
    assert.equal(manifest.formatVersion, 1);
    assert.equal(manifest.decoding.calibration.atChosen.overall.f1, 100);
    const evalOut = cli(['eval', '--model', out, '--data', data, '--json']);
    assert.equal(evalOut.status, 0, evalOut.stderr);
    assert.equal((JSON.parse(evalOut.stdout) as { scores: { overall: { f1: number } } }).scores.overall.f1, 100);
    // The model as saved (bias -50) finds less than the calibrated copy.
    const before = cli(['eval', '--model', model, '--data', data, '--json']);
    const parsed = JSON.parse(before.stdout) as { model: { nonOBias: number }; scores: { overall: { f1: number } } };
    assert.ok(parsed.scores.overall.f1 < 100, before.stdout);
    assert.equal(parsed.model.nonOBias, -50);
    assert.match(cli(['eval', '--model', model, '--data', data]).stdout, /^model tiny test \(decoding bias -50 on non-O tags; mentionflow calibrate\) on /);
  });

  it('--threshold searches (bias, threshold) pairs, shows the chosen pair and the bias alone, and --out writes both', () => {
    const r = cli(['calibrate', '--model', model, '--data', data, '--min', '-1', '--max', '1', '--step', '0.5', '--threshold']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ {2}bias \| thresh \| named/m);
    // The tiny model fits its data: F1 100 at bias 0 without a threshold, and ties go to bias 0, threshold 0.
    assert.match(r.stdout, /best bias 0\.00, threshold 0\.00: P 100\.00 R 100\.00/);
    assert.match(r.stdout, /^bias alone \(threshold 0\), same decodings: best bias 0\.00 /m);
    const out = join(work, 'thresholded');
    const j = cli(['calibrate', '--model', model, '--data', data, '--min', '-1', '--max', '1', '--step', '0.5', '--threshold', '--json', '--out', out]);
    assert.equal(j.status, 0, j.stderr);
    const parsed = JSON.parse(j.stdout) as { calibration: { thresholds: number[]; chosen: { bias: number; threshold: number }; rows: { threshold: number }[]; biasOnly: { chosen: { bias: number } } } };
    assert.deepEqual(parsed.calibration.thresholds.slice(0, 3), [0, 0.3, 0.35]);
    assert.deepEqual([parsed.calibration.chosen.bias, parsed.calibration.chosen.threshold, parsed.calibration.biasOnly.chosen.bias], [0, 0, 0]);
    assert.ok(parsed.calibration.rows.some((x) => x.threshold === 0.9));
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { decoding: { nonOBias: number; minSpanConfidence?: number; calibration: { thresholds: number[]; minSpanConfidence: number } } };
    assert.equal(manifest.decoding.minSpanConfidence, undefined, 'threshold 0 is not written');
    assert.equal(manifest.decoding.calibration.minSpanConfidence, 0);
    assert.equal(manifest.decoding.calibration.thresholds.length, 14);
  });

  it('a grid mistake is one line and exit 2', () => {
    const r = cli(['calibrate', '--model', model, '--data', data, '--max', '-5']);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim(), 'mentionflow calibrate: --max -5 is below --min -2');
    const s = cli(['calibrate', '--model', model, '--data', data, '--step', '0']);
    assert.equal(s.status, 2);
    assert.match(s.stderr, /^mentionflow calibrate: --step must be a number >= 0.001, got "0"\n$/);
    for (const bad of ['-1', 'five', 'Infinity']) {
      const g = cli(['calibrate', '--model', model, '--data', data, '--max-pr-gap', bad]);
      assert.equal(g.status, 2, bad);
      assert.equal(g.stderr, `mentionflow calibrate: --max-pr-gap must be a number >= 0, got "${bad}"\n`);
      assert.equal(g.stdout, '');
    }
  });
});
