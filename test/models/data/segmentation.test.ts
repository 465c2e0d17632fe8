/** Tests for models/data/segmentation.ts: segmented lines -> chars/BIES/words, word lists. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorpusFormatError } from '../../../common/errors.js';
import { parseSegmented, parseWordList, readSegmented, readWordList } from '../../../models/data/segmentation.js';

test('words split on runs of whitespace; CRLF and blank lines handled', () => {
  const r = parseSegmented('我  爱 北京\r\n\r\n  \n天安门\t上\r\n', 'a.txt');
  assert.equal(r.length, 2);
  assert.deepEqual(r[0], { chars: ['我', '爱', '北', '京'], tags: ['S', 'S', 'B', 'E'], words: ['我', '爱', '北京'] });
  assert.deepEqual(r[1].tags, ['B', 'I', 'E', 'S']);
});

test('word lengths count code points; U+3000 and U+00A0 separate words', () => {
  const [s] = parseSegmented('𠮷野家\u3000好\u00a0吃😀', 'b.txt');
  assert.deepEqual(s.words, ['𠮷野家', '好', '吃😀']);
  assert.deepEqual(s.chars, ['𠮷', '野', '家', '好', '吃', '😀']);
  assert.deepEqual(s.tags, ['B', 'I', 'E', 'S', 'B', 'E']);
});

test('a control character is a CorpusFormatError with file:line', () => {
  assert.throws(
    () => parseSegmented('好\n\u0000我\n', 'c.txt'),
    (err: unknown) => err instanceof CorpusFormatError && err.file === 'c.txt' && err.line === 2,
  );
});

test('word lists: one word a line, CRLF, first field only', () => {
  assert.deepEqual([...parseWordList('北京\r\n天安门\r\n\r\n张三 100 nr\n')], ['北京', '天安门', '张三']);
});

test('readSegmented / readWordList read from disk', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mentionflow-seg-'));
  try {
    await writeFile(join(dir, 's.txt'), '\ufeff我 爱 你\n');
    await writeFile(join(dir, 'w.utf8'), '我\r\n爱\r\n');
    assert.deepEqual((await readSegmented(join(dir, 's.txt')))[0].words, ['我', '爱', '你']);
    assert.deepEqual(await readWordList(join(dir, 'w.utf8')), new Set(['我', '爱']));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
