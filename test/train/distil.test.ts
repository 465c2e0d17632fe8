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
