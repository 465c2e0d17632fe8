/**
 * `mentionflow distil` and `train-joint --silver` end to end on a tiny model
 * and hand-written text: the silver file holds the teacher's tags (as `tag`
 * finds them), a student trains on gold + silver with the silver source in
 * its manifest, and mistakes get one line with exit 2.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { projectRoot } from '../../cli/defaults.js';
import { readConll } from '../../models/data/conll.js';
import { tagsToSpans } from '../../models/text/labels.js';
import { testBackend } from '../support/backend.js';
import { fitTiny, TINY, tinyModel } from '../support/tiny.js';

const main = join(projectRoot(), 'dist', 'cli', 'main.js');
const work = mkdtempSync(join(tmpdir(), 'mentionflow-distil-cli-'));
const teacher = join(work, 'teacher');
const gold = join(work, 'gold.conll');
const seg = join(work, 'seg.txt');
const text = join(work, 'text.txt');
const silver = join(work, 'silver.conll');

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, MENTIONFLOW_BROKERS: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const trainJoint = (extra: string[]): string[] => ['train-joint', '--ner-train', gold, '--ner-dev', gold, '--seg-train', seg, '--seg-dev', seg, '--quiet', ...extra];

describe('mentionflow distil and train-joint --silver', () => {
  before(async () => {
    await testBackend();
    const m = tinyModel({ seed: 1, lexicalBuckets: 256 });
    await fitTiny(m, 30);
    await m.save(teacher, { training: { seed: 1, epochs: 30, bestEpoch: 30, data: [], options: {} }, scores: {} });
    m.dispose();
    writeFileSync(gold, TINY.map((s) => s.chars.map((c, i) => `${c} ${s.tags[i]}`).join('\n') + '\n').join('\n'));
    writeFileSync(seg, '张三 在 北京 工作\n我 爱 上海\n李四 是 老师\n这个 学校 很 大\n');
    writeFileSync(text, '张三在上海工作\n\n李四 在 北京\n我爱北京\n');
    writeFileSync(join(work, 'cfg.json'), JSON.stringify({ embeddingDim: 8, hiddenDim: 8, lexicalBuckets: 256, epochs: 2, batchSize: 2 }));
  });

  it('labels text with the teacher, and a student trains on gold + silver', async () => {
    const r = cli(['distil', '--teacher', teacher, '--text', text, '--out', silver, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^wrote .*silver\.conll: 3 sentences \(3 texts, 16 characters\), \d+ mentions/);
    assert.equal(r.stderr, '');
    const back = await readConll(silver);
    assert.deepEqual(back.map((s) => s.chars.join('')), ['张三在上海工作', '李四在北京', '我爱北京']);
    // the same tags as `tag` serves from the teacher
    const tagged = cli(['tag', '--model', teacher, '--json', '张三在上海工作', '李四在北京', '我爱北京']);
    assert.equal(tagged.status, 0, tagged.stderr);
    const served = tagged.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { mentions: { start: number; end: number; label: string }[] }).mentions.map((m) => `${m.label}@${m.start}-${m.end}`));
    const fromSilver = back.map((s) => tagsToSpans(s.tags).map((m) => `${m.label}@${m.start}-${m.end}`));
    assert.deepEqual(fromSilver, served);
    assert.ok(served.flat().length > 0, 'the teacher finds mentions');

    // the same model as nominal teacher: its named and its nominal spans, the same file
    const same = cli(['distil', '--teacher', teacher, '--nominal-teacher', teacher, '--text', text, '--out', join(work, 'same.conll'), '--quiet']);
    assert.equal(same.status, 0, same.stderr);
    assert.match(same.stdout, /, nominal mentions from tiny test \(0 overlapping a named one left out\)/);
    assert.equal(readFileSync(join(work, 'same.conll'), 'utf8'), readFileSync(silver, 'utf8'));

    const t = cli(trainJoint(['--silver', silver, '--silver-ratio', '0.5', '--config', join(work, 'cfg.json'), '--out', join(work, 'student')]));
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stderr, /silver: 3 sentences; each epoch mixes a fresh subsample of 3 \(silverRatio 0\.5 x 6 gold\)/);
    const manifest = JSON.parse(readFileSync(join(work, 'student', 'manifest.json'), 'utf8')) as { training: { data: { role: string; sentences: number }[]; options: { silverRatio: number } } };
    assert.ok(manifest.training.data.some((d) => d.role === 'silver' && d.sentences === 3));
    assert.equal(manifest.training.options.silverRatio, 0.5);
  });

  it('train-joint --named-from: the other annotation\'s named mentions, recorded in the manifest', () => {
    // the gold sentences annotated again: other names, and a nominal the merge must not take
    const other = join(work, 'other.conll');
    const relabel = (tags: readonly string[]) => tags.map((t) => (t.endsWith('.NAM') ? t.replace('GPE.NAM', 'LOC.NAM') : t.endsWith('.NOM') ? 'O' : t));
    writeFileSync(other, TINY.map((x) => x.chars.map((c, i) => `${c} ${relabel(x.tags)[i]}`).join('\n') + '\n').join('\n'));
    const t = cli(trainJoint(['--named-from', other, '--config', join(work, 'cfg.json'), '--out', join(work, 'named-from')]));
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stderr, /--named-from: named mentions of 6 of 6 training sentences from .*other\.conll \(6 named spans for their 6; 0 nominal spans left out for overlapping one; 0 sentences without a match keep their own\)/);
    const manifest = JSON.parse(readFileSync(join(work, 'named-from', 'manifest.json'), 'utf8')) as { training: { data: { role: string; sentences: number }[] } };
    assert.deepEqual(manifest.training.data.map((d) => d.role), ['ner-train', 'named-from', 'ner-dev', 'seg-train', 'seg-dev']);
  });

  it('mistakes: one line on stderr, exit 2', () => {
    for (const [args, pattern] of [
      [['distil', '--teacher', join(work, 'nope'), '--text', text, '--out', silver], /--teacher .*nope: no such directory/],
      [['distil', '--teacher', teacher, '--out', silver], /missing --text/],
      [['distil', '--teacher', teacher, '--nominal-teacher', join(work, 'nope'), '--text', text, '--out', silver], /--nominal-teacher .*nope: no such directory/],
      [['distil', '--teacher', teacher, '--text', join(work, 'nope.txt'), '--out', silver], /--text .*nope\.txt: no such file/],
      [['distil', '--teacher', teacher, '--text', text, '--out', join(work, 'no', 'dir', 's.conll')], /folder of --out/],
      [['distil', '--teacher', teacher, '--text', text, '--out', silver, '--batch-size', '0'], /--batch-size must be an integer >= 1/],
      [trainJoint(['--silver-ratio', '2', '--out', join(work, 'x')]), /--silver-ratio needs --silver/],
      [trainJoint(['--silver', silver, '--silver-ratio', '0', '--out', join(work, 'x')]), /option "silverRatio" must be a number in \(0, 100\]/],
      [trainJoint(['--silver', join(work, 'nope.conll'), '--out', join(work, 'x')]), /--silver .*nope\.conll: no such file/],
      [trainJoint(['--named-from', join(work, 'nope.conll'), '--out', join(work, 'x')]), /--named-from .*nope\.conll: no such file/],
      [trainJoint(['--named-from', silver, '--out', join(work, 'x')]), /--named-from: none of its 3 sentences has the text of a training sentence/],
    ] as const) {
      const r = cli([...args]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});
