/**
 * Distillation on tiny hand-written data (not corpus text): a teacher's
 * silver CoNLL file holds exactly its Viterbi tags (long texts in pieces,
 * emoji kept) and reads back as NER data; a student trained with silver
 * sentences learns what only the silver sentences show (and without them does
 * not); silverRatio sets how many are mixed into an epoch; bad silver data and
 * options are ConfigErrors before training starts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ConfigError } from '../../common/errors.js';
import type { NerSentence } from '../../models/data/conll.js';
import { readConll } from '../../models/data/conll.js';
import { toCodePoints } from '../../models/text/codepoints.js';
import { pieces, writeSilver } from '../../pipeline/train/distil.js';
import { withNominals } from '../../models/text/tagScheme.js';
import { bioToSpans, spansToBio } from '../../models/text/spans.js';
import { evaluateNer } from '../../pipeline/train/evaluate.js';
import { resolveTrainOptions } from '../../pipeline/train/options.js';
import { trainTagger } from '../../pipeline/train/trainTagger.js';
import { testBackend } from '../support/backend.js';
import { fitTiny, TINY, tinyModel } from '../support/tiny.js';

let dir: string;

before(async () => {
  await testBackend();
  dir = await mkdtemp(join(tmpdir(), 'mf-distil-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function s(text: string, tags: string): NerSentence {
  return { chars: toCodePoints(text), tags: tags.split(' ') };
}

// Names and places that the gold set (TINY) never shows, in sentences the teacher "labelled".
const SILVER: NerSentence[] = [
  s('赵六住在广州', 'B-PER.NAM I-PER.NAM O O B-GPE.NAM I-GPE.NAM'),
  s('钱七去了深圳', 'B-PER.NAM I-PER.NAM O O B-GPE.NAM I-GPE.NAM'),
  s('孙八爱杭州', 'B-PER.NAM I-PER.NAM O B-GPE.NAM I-GPE.NAM'),
  s('周九在成都', 'B-PER.NAM I-PER.NAM O B-GPE.NAM I-GPE.NAM'),
  s('吴十回到南京', 'B-PER.NAM I-PER.NAM O O B-GPE.NAM I-GPE.NAM'),
  s('郑一来自西安', 'B-PER.NAM I-PER.NAM O O B-GPE.NAM I-GPE.NAM'),
];

async function trainStudent(outDir: string, silver: readonly NerSentence[] | undefined, extra: Record<string, unknown> = {}) {
  const options = resolveTrainOptions({ epochs: 30, embeddingDim: 16, hiddenDim: 16, lexicalBuckets: 512, batchSize: 2, learningRate: 0.03, earlyStopPatience: 100, dropout: 0, seed: 2, ...extra });
  const logs: string[] = [];
  // dev is gold data; here the silver sentences themselves, to see whether the student learnt them
  const r = await trainTagger({ ner: { train: TINY, dev: TINY }, silver, options, outDir, modelId: 'distil-test', data: [], quiet: true, log: (m) => logs.push(m) });
  return { ...r, logs };
}

test('writeSilver writes the teacher\'s Viterbi tags as CoNLL that reads back; long texts in pieces of maxLength', async () => {
  const teacher = tinyModel({ seed: 1, lexicalBuckets: 256 });
  await fitTiny(teacher, 30);
  const unit = toCodePoints('张三在北京工作我爱上海😀');
  const long = Array.from({ length: 150 }, (_, i) => unit[i % unit.length]);
  const texts = [...TINY.map((x) => x.chars), long, []];
  const out = join(dir, 'silver.conll');
  const progress: number[] = [];
  const stats = await writeSilver(teacher, { texts, out, batchSize: 4, onProgress: (done) => progress.push(done) });
  assert.deepEqual(pieces(long, 64).map((p) => p.length), [64, 64, 22]);
  const expectedTexts = [...TINY.map((x) => x.chars), ...pieces(long, 64)];
  const expected = await teacher.predict(expectedTexts);
  const back = await readConll(out);
  assert.deepEqual(back.map((x) => x.chars), expectedTexts);
  assert.deepEqual(back.map((x) => x.tags), expected.map((p) => p.tags));
  assert.ok(back.some((x) => x.tags.some((t) => t !== 'O')), 'the fitted teacher finds mentions');
  assert.equal(stats.texts, 7);
  assert.equal(stats.sentences, 9);
  assert.equal(stats.chars, expectedTexts.reduce((a, t) => a + t.length, 0));
  assert.equal(Object.values(stats.mentions).reduce((a, n) => a + n, 0), expected.reduce((a, p) => a + p.spans.length, 0));
  assert.deepEqual(progress, [7]);
  assert.ok(!existsSync(`${out}.tmp`));
  await assert.rejects(writeSilver(teacher, { texts: [[]], out: join(dir, 'none.conll') }), ConfigError);
  await assert.rejects(writeSilver(teacher, { texts: [['张', ' ', '三']], out: join(dir, 'space.conll') }), /whitespace character \(U\+0020\)/);
  await assert.rejects(writeSilver(teacher, { texts, out: join(dir, 'b.conll'), batchSize: 0 }), ConfigError);
  assert.ok(!existsSync(join(dir, 'none.conll')) && !existsSync(join(dir, 'space.conll.tmp')));
  teacher.dispose();
});

test('withNominals: the base\'s named spans, the second teacher\'s nominal spans where they overlap none of them', () => {
  const base = [
    { start: 0, end: 2, label: 'PER.NAM' },
    { start: 3, end: 5, label: 'PER.NOM' }, // the base's nominal: always replaced
    { start: 6, end: 8, label: 'GPE.NAM' },
  ];
  const nominal = [
    { start: 1, end: 3, label: 'PER.NOM' }, // overlaps PER.NAM [0, 2): left out, counted
    { start: 4, end: 6, label: 'ORG.NOM' }, // overlaps only the base's dropped nominal: kept
    { start: 8, end: 9, label: 'LOC.NOM' }, // touches GPE.NAM [6, 8) without overlapping: kept
    { start: 9, end: 10, label: 'PER.NAM' }, // the second teacher's named spans are not taken
  ];
  assert.deepEqual(withNominals(base, nominal), {
    spans: [
      { start: 0, end: 2, label: 'PER.NAM' },
      { start: 4, end: 6, label: 'ORG.NOM' },
      { start: 6, end: 8, label: 'GPE.NAM' },
      { start: 8, end: 9, label: 'LOC.NOM' },
    ],
    overlaps: 1,
  });
  assert.deepEqual(withNominals(base, []), { spans: [base[0], base[2]], overlaps: 0 });
});

test('writeSilver with a nominal teacher: named spans of the teacher, nominal spans of the other, in the teacher\'s scheme', async () => {
  const named = tinyModel({ seed: 1, lexicalBuckets: 256 });
  await fitTiny(named, 30);
  // a nominal teacher that has learnt other nominal mentions: 张三 and 上海 as nominals, 老师 not at all
  const other = tinyModel({ seed: 3, lexicalBuckets: 256, scheme: 'BIOES' });
  const relabelled = [
    s('张三在北京工作', 'B-PER.NOM I-PER.NOM O O O O O'),
    s('我爱上海', 'O O B-LOC.NOM I-LOC.NOM'),
    s('李四是老师', 'O O O O O'),
  ];
  await fitTiny(other, 40, relabelled);
  const texts = relabelled.map((x) => x.chars);
  const out = join(dir, 'hybrid.conll');
  const stats = await writeSilver(named, { texts, out, nominalTeacher: other });
  const [a, b] = [await named.predict(texts), await other.predict(texts)];
  const back = await readConll(out);
  const expected = texts.map((t, k) => spansToBio(withNominals(a[k].spans, b[k].spans).spans, t.length));
  assert.deepEqual(back.map((x) => x.tags), expected);
  const spans = back.map((x) => bioToSpans(x.tags).map((m) => `${m.label}@${m.start}`));
  // 北京 stays named; 老师 (the teacher's nominal) is gone; 张三 is the teacher's name, so the other's PER.NOM there is left out
  assert.ok(spans[0].includes('GPE.NAM@3') && spans[0].includes('PER.NAM@0') && !spans[0].includes('PER.NOM@0'), JSON.stringify(spans));
  assert.ok(!spans[2].some((m) => m.startsWith('PER.NOM')), JSON.stringify(spans));
  assert.ok(a[2].spans.some((m) => m.label === 'PER.NOM'), 'the teacher itself finds 老师');
  assert.ok((stats.nominalOverlaps ?? 0) >= 1, JSON.stringify(stats));
  const noNominal = tinyModel({ seed: 1, labels: ['PER.NAM', 'GPE.NAM'] });
  await assert.rejects(writeSilver(named, { texts, out: join(dir, 'x.conll'), nominalTeacher: noNominal }), /nominal teacher tags no nominal \(TYPE\.NOM\) label/);
  const noNamed = tinyModel({ seed: 1, labels: ['PER.NOM'] });
  await assert.rejects(writeSilver(noNamed, { texts, out: join(dir, 'x.conll'), nominalTeacher: named }), /the teacher tags no named \(TYPE\.NAM\) label/);
  assert.ok(!existsSync(join(dir, 'x.conll')) && !existsSync(join(dir, 'x.conll.tmp')));
  for (const m of [named, other, noNominal, noNamed]) m.dispose();
});

test('a student learns what only the silver sentences show; without them it does not', async () => {
  const withSilver = await trainStudent(join(dir, 'with'), SILVER);
  const without = await trainStudent(join(dir, 'without'), undefined);
  const f1With = (await evaluateNer(withSilver.model, SILVER)).scores.overall.f1;
  const f1Without = (await evaluateNer(without.model, SILVER)).scores.overall.f1;
  assert.ok(f1With >= 90, `with silver: F1 ${f1With} on the silver sentences`);
  assert.ok(f1Without <= 50, `without silver: F1 ${f1Without} on the silver sentences`);
  // gold is not forgotten
  assert.ok((await evaluateNer(withSilver.model, TINY)).scores.overall.f1 >= 90);
  assert.ok(withSilver.logs.some((m) => /silver: 6 sentences; each epoch mixes a fresh subsample of 6 \(silverRatio 1 x 6 gold\)/.test(m)), withSilver.logs.join(' | '));
  assert.ok(!without.logs.some((m) => m.startsWith('silver:')));
  const manifest = JSON.parse(await readFile(join(dir, 'with', 'manifest.json'), 'utf8')) as { training: { options: { silverRatio: number } } };
  assert.equal(manifest.training.options.silverRatio, 1);
  withSilver.model.dispose();
  without.model.dispose();
});

test('silverRatio sets the silver sentences per epoch (all when fewer); a run without silver is unchanged by the option', async () => {
  const half = await trainStudent(join(dir, 'half'), SILVER, { epochs: 1, silverRatio: 0.5 });
  assert.ok(half.logs.some((m) => /fresh subsample of 3 \(silverRatio 0\.5 x 6 gold\)/.test(m)), half.logs.join(' | '));
  const many = await trainStudent(join(dir, 'many'), SILVER, { epochs: 1, silverRatio: 5 });
  assert.ok(many.logs.some((m) => /fresh subsample of 6 \(silverRatio 5 x 6 gold\)/.test(m)), many.logs.join(' | '));
  // batchSize 2: 3 gold batches + 2 (3 silver) vs + 3 (6 silver) batches a epoch: the mean loss is over different batch counts, the training differs
  assert.notEqual(half.history[0].loss.ner, many.history[0].loss.ner);
  const a = await trainStudent(join(dir, 'a'), undefined, { epochs: 2, silverRatio: 3 });
  const b = await trainStudent(join(dir, 'b'), undefined, { epochs: 2 });
  assert.deepEqual(a.history.map((h) => [h.loss, h.dev]), b.history.map((h) => [h.loss, h.dev]));
  for (const r of [half, many, a, b]) r.model.dispose();
});

test('bad silver data and options are ConfigErrors before training', async () => {
  await assert.rejects(trainStudent(join(dir, 'x1'), [s('王五在东京', 'B-PER.NAM I-PER.NAM O B-CITY I-CITY')]), /silver data has labels the gold training set does not: CITY/);
  await assert.rejects(trainStudent(join(dir, 'x2'), [{ chars: [], tags: [] }]), /silver data has no sentences/);
  for (const bad of [0, -1, 101, '1']) assert.throws(() => resolveTrainOptions({ silverRatio: bad }), /option "silverRatio" must be a number in \(0, 100\]/);
  assert.ok(!existsSync(join(dir, 'x1', 'manifest.json')));
});
