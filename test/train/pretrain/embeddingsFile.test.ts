/** Tests for pipeline/train/pretrain/embeddingsFile.ts: round trip, word2vec text format, damaged files. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ConfigError } from '../../../common/errors.js';
import { parseEmbeddings, readEmbeddings, writeEmbeddings, type Embeddings } from '../../../pipeline/train/pretrain/embeddingsFile.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mentionflow-emb-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sample: Embeddings = {
  dim: 3,
  // A newline and a space inside tokens must survive the one-line header.
  tokens: ['北0', '😀0', 'a b', '\n'],
  vectors: Float32Array.from([0.5, -1, 2, 1e-7, 3.25, -0, 7, 8, 9, -1.5, 0, 1]),
  meta: { positional: true, normalize: true, segmenter: 'test', training: { epochs: 1 } },
};

test('write -> read round trip keeps tokens, vectors (bit for bit) and meta', async () => {
  const file = join(dir, 'sub', 'e.emb');
  await writeEmbeddings(file, sample);
  const back = await readEmbeddings(file);
  assert.equal(back.dim, 3);
  assert.deepEqual(back.tokens, sample.tokens);
  assert.deepEqual(back.vectors, sample.vectors);
  assert.deepEqual(back.meta, sample.meta);
});

test('word2vec text format is read too (the golden-horse vectors are in it)', () => {
  const text = '3 2\n北0 0.5 -1\n京1 2 3e-2\n北0 9 9\n';
  const e = parseEmbeddings(Buffer.from(text, 'utf8'), 'w2v.txt');
  assert.equal(e.dim, 2);
  assert.deepEqual(e.tokens, ['北0', '京1']); // a repeated token keeps its first vector
  assert.deepEqual([...e.vectors], [0.5, -1, 2, Math.fround(0.03)]);
  assert.deepEqual(e.meta, {});
});

test('damaged or foreign files are ConfigErrors that say what is wrong', async () => {
  const file = join(dir, 'bad.emb');
  await writeEmbeddings(file, sample);
  await truncate(file, (await readFile(file)).byteLength - 4);
  await assert.rejects(readEmbeddings(file), /truncated or corrupted/);
  await writeFile(file, '{"format":"other"}\n');
  await assert.rejects(readEmbeddings(file), /expected "mentionflow-embeddings"/);
  await writeFile(file, 'hello world\n');
  await assert.rejects(readEmbeddings(file), /neither a mentionflow embeddings file/);
  await writeFile(file, '1 3\nx 1 2\n');
  await assert.rejects(readEmbeddings(file), /expected a token and 3 numbers/);
  await assert.rejects(readEmbeddings(join(dir, 'missing.emb')), (err: unknown) => err instanceof ConfigError && /pretrain-embeddings/.test(err.message));
});
