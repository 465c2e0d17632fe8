/**
 * `mentionflow ensemble` end to end on tiny models: it writes an artifact that
 * `tag`, `eval` and `calibrate` load as one model, an ensemble of one member
 * scores as that member, and mistakes get one line with exit 2.
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
const work = mkdtempSync(join(tmpdir(), 'mentionflow-ensemble-cli-'));
const data = join(work, 'dev.conll');

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, MENTIONFLOW_BROKERS: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const overallF1 = (dir: string): number => {
  const r = cli(['eval', '--model', dir, '--data', data, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { scores: { overall: { f1: number } } }).scores.overall.f1;
};

describe('mentionflow ensemble', () => {
  before(async () => {
    await testBackend();
    for (const [name, seed, epochs] of [['a', 1, 30], ['b', 2, 6]] as const) {
      const m = tinyModel({ seed, lexicalBuckets: 256 });
      await fitTiny(m, epochs);
      await m.save(join(work, name), { training: { seed, epochs, bestEpoch: epochs, data: [], options: {} }, scores: {} });
      m.dispose();
    }
    writeFileSync(data, TINY.map((s) => s.chars.map((c, i) => `${c} ${s.tags[i]}`).join('\n') + '\n').join('\n'));
  });

  it('writes an ensemble that eval, tag and calibrate load; an ensemble of one scores as its member', () => {
    const r = cli(['ensemble', '--members', `${join(work, 'a')},${join(work, 'b')}`, '--out', join(work, 'ab')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /2 members/);
    const manifest = JSON.parse(readFileSync(join(work, 'ab', 'manifest.json'), 'utf8')) as { formatVersion: number; ensemble: { members: { training: { seed: number } }[] } };
    assert.equal(manifest.formatVersion, 5);
    assert.deepEqual(manifest.ensemble.members.map((m) => m.training.seed), [1, 2]);
    // its own training record, not member 0's (seed 1, 30 epochs)
    const training = (manifest as unknown as { training: { seed: number; epochs: number; bestEpoch: number; ensemble?: { members: { seed: number; epochs: number }[] } } }).training;
    assert.deepEqual(training.ensemble?.members.map((m) => [m.seed, m.epochs]), [[1, 30], [2, 6]]);
    assert.equal(training.epochs, 0);
    assert.equal(training.bestEpoch, 0);
    assert.ok(overallF1(join(work, 'ab')) > 0);
    const tagged = cli(['tag', '--model', join(work, 'ab'), '--json', '张三在北京工作']);
    assert.equal(tagged.status, 0, tagged.stderr);
    assert.equal(tagged.stdout.trim().split('\n').length, 1);
    const cal = cli(['calibrate', '--model', join(work, 'ab'), '--data', data, '--out', join(work, 'ab-cal')]);
    assert.equal(cal.status, 0, cal.stderr);
    assert.equal((JSON.parse(readFileSync(join(work, 'ab-cal', 'manifest.json'), 'utf8')) as { ensemble: { members: unknown[] } }).ensemble.members.length, 2);
    assert.equal(cli(['ensemble', '--members', join(work, 'b'), '--out', join(work, 'b1')]).status, 0);
    assert.equal(overallF1(join(work, 'b1')), overallF1(join(work, 'b')));
  });

  it('refuses a missing --members, a missing directory and an ensemble as a member with one line and exit 2', () => {
    for (const [args, pattern] of [
      [['ensemble', '--out', join(work, 'x')], /--members is required/],
      [['ensemble', '--members', join(work, 'nope'), '--out', join(work, 'x')], /nope/],
      [['ensemble', '--members', `${join(work, 'a')},${join(work, 'ab')}`, '--out', join(work, 'x')], /is an ensemble already/],
    ] as const) {
      const r = cli([...args]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});
