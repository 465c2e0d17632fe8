/**
 * Reader counts on the real corpora against /work/shared/corpora/MANIFEST.md.
 * The corpora are looked up at $MENTIONFLOW_CORPORA, else ../shared/corpora
 * relative to the working directory (the project root); when absent every
 * test here is SKIPPED with the path it looked at, never passed silently.
 *
 * Notes on the numbers: the manifest's "chars" are token lines, counted
 * before CESU-8 surrogate halves are rejoined (v1: 6 pairs in train, 8 in
 * dev). Its "mentions" are B- tags; conlleval chunking (bioToSpans) also
 * starts a mention at each I- tag that follows O or a different type, which
 * the files contain (v1 train 21, v1 dev 4, v2 train 10, v2 dev 0).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseConllWithStats } from '../../models/data/conll.js';
import { readSegmented, readWordList } from '../../models/data/segmentation.js';
import { bioToSpans } from '../../models/text/spans.js';

const root = resolve(process.env.MENTIONFLOW_CORPORA ?? join(process.cwd(), '..', 'shared', 'corpora'));
const skip = existsSync(root) ? false : `corpora not found at ${root} (set MENTIONFLOW_CORPORA to run these tests)`;

interface ConllExpect {
  file: string;
  version: 1 | 2;
  sentences: number;
  /** Manifest "chars": non-blank lines. */
  tokenLines: number;
  rejoinedPairs: number;
  /** Manifest "mentions": B- tags. */
  mentions: number;
  /** Chunks by conlleval semantics (measured). */
  conllevalChunks: number;
}

const CONLL: ConllExpect[] = [
  { file: 'weiboNER.conll.train', version: 1, sentences: 1350, tokenLines: 73780, rejoinedPairs: 6, mentions: 1370, conllevalChunks: 1391 },
  { file: 'weiboNER.conll.dev', version: 1, sentences: 270, tokenLines: 14509, rejoinedPairs: 8, mentions: 301, conllevalChunks: 305 },
  { file: 'weiboNER_2nd_conll.train', version: 2, sentences: 1350, tokenLines: 73778, rejoinedPairs: 0, mentions: 1885, conllevalChunks: 1895 },
  { file: 'weiboNER_2nd_conll.dev', version: 2, sentences: 270, tokenLines: 14509, rejoinedPairs: 0, mentions: 389, conllevalChunks: 389 },
];

for (const e of CONLL) {
  test(`WeiboNER ${e.file}: manifest counts`, { skip }, async () => {
    const { sentences, stats } = parseConllWithStats(await readFile(join(root, 'weiboNER', e.file)), e.file);
    assert.equal(stats.version, e.version);
    assert.equal(sentences.length, e.sentences);
    assert.equal(stats.tokenLines, e.tokenLines);
    assert.equal(stats.rejoinedPairs, e.rejoinedPairs);
    assert.equal(stats.loneSurrogates, 0);
    assert.equal(stats.chars, e.tokenLines - e.rejoinedPairs);
    const tags = sentences.flatMap((s) => s.tags);
    assert.equal(tags.filter((t) => t.startsWith('B-')).length, e.mentions);
    assert.equal(sentences.reduce((n, s) => n + bioToSpans(s.tags).length, 0), e.conllevalChunks);
    for (const s of sentences) {
      assert.equal(s.chars.length, s.tags.length);
      for (const c of s.chars) assert.equal(Array.from(c).length, 1);
    }
  });
}

const SEG = [
  { file: 'nlpcc2016-word-seg-train.dat', sentences: 20135, words: 421161 },
  { file: 'nlpcc2016-wordseg-dev.dat', sentences: 2052, words: 43697 },
];

for (const e of SEG) {
  test(`NLPCC 2016 ${e.file}: manifest counts`, { skip }, async () => {
    const sentences = await readSegmented(join(root, 'nlpcc2016-weibo-cws', e.file));
    assert.equal(sentences.length, e.sentences);
    assert.equal(sentences.reduce((n, s) => n + s.words.length, 0), e.words);
    for (const s of sentences) assert.equal(s.chars.length, s.tags.length);
  });
}

for (const [file, words] of [['pku_training_words.utf8', 55303], ['msr_training_words.utf8', 88119]] as const) {
  test(`SIGHAN word list ${file}: manifest count`, { skip }, async () => {
    assert.equal((await readWordList(join(root, 'lexicons', file))).size, words);
  });
}
