/**
 * Pre-training end to end on a hand-written miniature of the corpora folder:
 * the unlabelled text is read from all four files (spaces of segmented
 * files stripped), tokenised (char-positional through jieba), and the
 * Table 1 rows 3/4 pre-train their file once and then reuse it.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ConfigError } from '../../../common/errors.js';
import { rowEmbeddingsFile, type Table1Input } from '../../../pipeline/train/experiments/table1.js';
import { TABLE1_ROWS } from '../../../pipeline/train/experiments/table1Rows.js';
import { DEFAULT_TRAIN_OPTIONS } from '../../../pipeline/train/options.js';
import { loadUnlabeledCorpus, rawLines } from '../../../pipeline/train/pretrain/corpus.js';
import { readEmbeddings } from '../../../pipeline/train/pretrain/embeddingsFile.js';
import { pretrainEmbeddings } from '../../../pipeline/train/pretrain/pretrainEmbeddings.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mentionflow-pretrain-'));
  await mkdir(join(dir, 'nlpcc2016-weibo-cws'));
  await mkdir(join(dir, 'weiboNER'));
  const seg = ['我 爱 北京 天安门', '北京 欢迎 你', '上海 欢迎 你'];
  await writeFile(join(dir, 'nlpcc2016-weibo-cws/nlpcc2016-word-seg-train.dat'), seg.join('\n') + '\n');
  await writeFile(join(dir, 'nlpcc2016-weibo-cws/nlpcc2016-wordseg-dev.dat'), '我 爱 上海\n');
  await writeFile(join(dir, 'nlpcc2016-weibo-cws/nlpcc2016-wordseg-test.dat'), '北京 和上海都很好😀\r\n\r\n我爱北京\n');
  const conll = [['北0', 'B-GPE.NAM'], ['京1', 'I-GPE.NAM'], ['很0', 'O'], ['好1', 'O']].map((l) => l.join('\t')).join('\n');
  await writeFile(join(dir, 'weiboNER/weiboNER_2nd_conll.train'), conll + '\n\n');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('raw lines lose their whitespace and blank lines; segmented files lose their spaces', async () => {
  assert.deepEqual(rawLines('a b\r\n\n 😀c\n'), [['a', 'b'], ['😀', 'c']]);
  const corpus = await loadUnlabeledCorpus(dir);
  assert.equal(corpus.sentences.length, 3 + 1 + 2 + 1);
  assert.deepEqual(corpus.sentences[0], [...'我爱北京天安门']);
  assert.deepEqual(corpus.sentences[4], [...'北京和上海都很好😀']);
  assert.deepEqual(corpus.sentences[6], [...'北京很好']);
  assert.deepEqual(corpus.sources.map((s) => [s.file, s.sentences]), [
    ['nlpcc2016-word-seg-train.dat', 3],
    ['nlpcc2016-wordseg-dev.dat', 1],
    ['nlpcc2016-wordseg-test.dat', 2],
    ['weiboNER_2nd_conll.train', 1],
  ]);
  await assert.rejects(loadUnlabeledCorpus(join(dir, 'nowhere')), ConfigError);
});

test('char-positional pre-training writes jieba tokens and records how they were made', async () => {
  const out = join(dir, 'cp.emb');
  const r = await pretrainEmbeddings({ corporaDir: dir, out, positional: true, dim: 8, epochs: 2, minCount: 1, quiet: true, log: () => {} });
  assert.equal(r.corpusTokens, 7 + 5 + 5 + 4 + 9 + 4 + 4);
  const e = await readEmbeddings(out);
  assert.equal(e.dim, 8);
  assert.ok(e.tokens.includes('北0') && e.tokens.includes('京1') && e.tokens.includes('😀0'));
  assert.ok(e.tokens.every((t) => /\d$/.test(t)));
  assert.equal(e.meta.positional, true);
  assert.match(String(e.meta.segmenter), /jieba/);
  assert.equal(e.meta.corpus?.length, 4);
});

test('Table 1 rows 3 and 4 pre-train their embeddings once, then reuse the file', async () => {
  const input = { corporaDir: dir, outDir: join(dir, 'table1'), quiet: true } as Table1Input;
  const options = { ...DEFAULT_TRAIN_OPTIONS, embeddingDim: 8 };
  const row3 = TABLE1_ROWS.find((r) => r.id === '3')!;
  const row4 = TABLE1_ROWS.find((r) => r.id === '4')!;
  assert.equal(row3.options.charPositional, true);
  assert.equal(row4.options.charPositional, undefined);
  const f3 = await rowEmbeddingsFile(row3, { ...options, ...row3.options }, input, () => {});
  const f4 = await rowEmbeddingsFile(row4, { ...options, ...row4.options }, input, () => {});
  assert.equal(f3, join(dir, 'table1', 'embeddings', 'char-positional-d8.emb'));
  assert.equal((await readEmbeddings(f4!)).meta.positional, false);
  const written = (await stat(f3!)).mtimeMs;
  const logs: string[] = [];
  assert.equal(await rowEmbeddingsFile(row3, { ...options, ...row3.options }, input, (m) => logs.push(m)), f3);
  assert.equal((await stat(f3!)).mtimeMs, written);
  assert.deepEqual(logs, []);
  assert.equal(await rowEmbeddingsFile(TABLE1_ROWS.find((r) => r.id === '5')!, options, input, () => {}), undefined);
});
