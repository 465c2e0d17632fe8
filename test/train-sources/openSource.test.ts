/**
 * openSource and its readers: every example source through one syntax (a
 * CoNLL, segmented or text file; an Avro container of LabeledExample or Post
 * records; a directory or glob of them with an hour range over the archive
 * layout), role checks, fingerprints, and the CLI's pretrain-embeddings
 * --text / eval --data reading an archive.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import avro from 'avsc';
import { from } from 'rxjs';
import { ConfigError, DecodeError } from '../../common/errors.js';
import { projectRoot } from '../../cli/defaults.js';
import { writeExampleContainer } from '../../pipeline/train/sources/containerWriter.js';
import { openSource, readNerSource, readSegSource, readTextSource, sourceFiles } from '../../pipeline/train/sources/openSource.js';
import { parseSourceSpec } from '../../pipeline/train/sources/sourceSpec.js';
import { readEmbeddings } from '../../pipeline/train/pretrain/embeddingsFile.js';
import { loadSchemaJson } from '../../schemas/registry.js';
import type { Post } from '../../schemas/types.generated.js';
import { errorOf, tempDir } from './helpers.js';

const tmp = tempDir('open-source');
after(() => tmp.cleanup());
const MAIN = path.join(projectRoot(), 'dist', 'cli', 'main.js');
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 11, 1, 5); // 2026-12-01T05

function post(i: number, createdAt: number): Post {
  return { id: `p${i}`, text: `第 ${i} 条微博，北京😀`, author_id: 'a', created_at: createdAt, source: 'weibo', lang: null, reply_to: null, attributes: {}, topic_tags: [], geo: null };
}

/** A Post container in the archive layout (deflate), as the archive sink writes one. */
async function writePostFile(root: string, partition: number, first: number, posts: Post[]): Promise<string> {
  const t = new Date(posts[0].created_at).toISOString();
  const dir = path.join(root, 'posts', `date=${t.slice(0, 10)}`, `hour=${t.slice(11, 13)}`);
  mkdirSync(dir, { recursive: true });
  const pad = (n: number) => String(n).padStart(19, '0');
  const file = path.join(dir, `posts+${partition}+${pad(first)}-${pad(first + posts.length - 1)}.avro`);
  const encoder = new avro.streams.BlockEncoder(avro.Type.forSchema(loadSchemaJson('post') as never, { wrapUnions: 'never' }), { codec: 'deflate', blockSize: 256 });
  const out = encoder.pipe(createWriteStream(file));
  for (const p of posts) encoder.write(p);
  encoder.end();
  await once(out, 'finish');
  return file;
}

const archive = path.join(tmp.dir, 'archive');
const files: string[] = [];

before(async () => {
  // Three hours, two partitions; 10 posts per file.
  for (let h = 0; h < 3; h++) {
    for (let part = 0; part < 2; part++) {
      const first = h * 10;
      const posts = Array.from({ length: 10 }, (_, i) => post(1000 * part + first + i, T0 + h * HOUR + i * 1000));
      files.push(await writePostFile(archive, part, first, posts));
    }
  }
  // A temporary file of an unfinished roll: never read.
  writeFileSync(path.join(path.dirname(files[0]), 'posts+0+0000000000000000010-0000000000000000019.avro.tmp'), 'half written');
});

describe('sourceFiles', () => {
  it('a directory is every *.avro under it in path order, *.tmp skipped', async () => {
    const listed = await sourceFiles(parseSourceSpec(archive, 'x') as never, 'text', 'x');
    assert.deepEqual(listed.map((f) => f.path), [...files].sort());
    assert.ok(listed.every((f) => f.format === 'avro'));
  });

  it('an hour range [from, to) picks the hour folders', async () => {
    const listed = await sourceFiles(parseSourceSpec(`${archive}?from=2026-12-01T06&to=2026-12-01T07`, 'x') as never, 'text', 'x');
    assert.deepEqual(listed.map((f) => path.basename(path.dirname(f.path))), ['hour=06', 'hour=06']);
    await assert.rejects(
      sourceFiles(parseSourceSpec(`${archive}?from=2026-12-02`, 'x') as never, 'text', '--text'),
      (e: Error) => e instanceof ConfigError && /--text .*: no \*\.avro files in hours \[2026-12-02T00, \+inf\)/.test(e.message),
    );
  });

  it('a glob matches paths; a plain file takes the role\'s format unless .avro or prefixed', async () => {
    const listed = await sourceFiles(parseSourceSpec(`${archive}/posts/**/posts+1+*.avro`, 'x') as never, 'text', 'x');
    assert.equal(listed.length, 3);
    assert.ok(listed.every((f) => path.basename(f.path).startsWith('posts+1+')));
    const conll = tmp.write('a.txt', '我 O\n');
    assert.equal((await sourceFiles(parseSourceSpec(conll, 'x') as never, 'ner', 'x'))[0].format, 'conll');
    assert.equal((await sourceFiles(parseSourceSpec(conll, 'x') as never, 'seg', 'x'))[0].format, 'seg');
    assert.equal((await sourceFiles(parseSourceSpec(`text:${conll}`, 'x') as never, 'ner', 'x'))[0].format, 'text');
    assert.equal((await sourceFiles(parseSourceSpec(files[0], 'x') as never, 'ner', 'x'))[0].format, 'avro');
    await assert.rejects(sourceFiles(parseSourceSpec('/no/such', 'x') as never, 'ner', '--train'), /--train \/no\/such: no such file/);
  });
});

describe('readers', () => {
  it('readTextSource of the post archive: every post text once, in path order', async () => {
    const { sentences, fingerprint } = await readTextSource(archive, { where: '--text', fingerprintRole: 'unlabeled' });
    assert.equal(sentences.length, 60);
    assert.equal(sentences[0].join(''), '第0条微博，北京😀'); // whitespace dropped, one code point per element
    assert.equal(sentences[0].length, 9);
    assert.equal(fingerprint.sentences, 60);
    assert.equal(fingerprint.file, archive);
    const again = await readTextSource(archive, { where: '--text', fingerprintRole: 'unlabeled' });
    assert.equal(again.fingerprint.sha256, fingerprint.sha256);
    const part = await readTextSource(`${archive}?to=2026-12-01T06`, { where: '--text', fingerprintRole: 'unlabeled' });
    assert.equal(part.sentences.length, 20);
    assert.notEqual(part.fingerprint.sha256, fingerprint.sha256);
  });

  it('Post records are not NER data: a ConfigError naming the record', async () => {
    await assert.rejects(readNerSource(archive, { where: '--train', fingerprintRole: 'ner-train' }), (e: Error) => e instanceof ConfigError && /--train .*#1 has no NER annotation/.test(e.message));
  });

  it('a LabeledExample container is NER and segmentation data; text files and CoNLL read as before', async () => {
    const ex = path.join(tmp.dir, 'ex.avro');
    await writeExampleContainer(ex, from([{ id: 'e1', text: '张三在北京', spans: [{ start: 0, end: 2, label: 'PER.NAM' }], segmentation: [2, 3, 5], source: 'weibo', created_at: T0 }]));
    const ner = await readNerSource(ex, { where: '--train', fingerprintRole: 'ner-train' });
    assert.deepEqual(ner.sentences, [{ chars: [...'张三在北京'], tags: ['B-PER.NAM', 'I-PER.NAM', 'O', 'O', 'O'] }]);
    assert.equal(ner.fingerprint.file, 'ex.avro'); // one file: its bytes' hash, as fingerprint() gives it
    const seg = await readSegSource(`avro:${ex}`, { where: '--seg-train', fingerprintRole: 'seg-train' });
    assert.deepEqual(seg.sentences, [{ chars: [...'张三在北京'], tags: ['B', 'E', 'S', 'B', 'E'], words: ['张三', '在', '北京'] }]);
    const segFile = tmp.write('s.txt', '我 爱  北京\n\n好\n');
    assert.deepEqual((await readSegSource(segFile, { where: 'x', fingerprintRole: 'seg' })).sentences.map((s) => s.words), [['我', '爱', '北京'], ['好']]);
    assert.deepEqual((await readTextSource(`text:${segFile}`, { where: 'x', fingerprintRole: 'u' })).sentences.map((s) => s.join('')), ['我爱北京', '好']);
    await assert.rejects(readSegSource(archive, { where: '--seg-train', fingerprintRole: 's' }), /has no word segmentation/);
  });

  it('a truncated container in a directory is an error naming the file, never a silent drop', async () => {
    const dir = path.join(tmp.dir, 'damaged');
    const file = await writePostFile(dir, 0, 0, Array.from({ length: 40 }, (_, i) => post(i, T0)));
    truncateSync(file, statSync(file).size - 30);
    const err = await errorOf(openSource(dir, { role: 'text', where: '--text' }));
    assert.ok(err instanceof DecodeError, String(err));
    assert.match(err.message, new RegExp(path.basename(file).replace(/[+.]/g, '\\$&')));
  });

  it('a kafka: source without brokers is a ConfigError before connecting', () => {
    assert.throws(() => openSource('kafka:posts', { role: 'text', where: '--text' }), /no Kafka brokers/);
  });
});

describe('CLI', () => {
  it('pretrain-embeddings --text DIR?from=..: embeddings from archived posts, the spec in the file\'s corpus', async () => {
    const out = path.join(tmp.dir, 'emb.bin');
    const r = spawnSync(process.execPath, [MAIN, 'pretrain-embeddings', '--out', out, '--text', `${archive}?from=2026-12-01T05&to=2026-12-01T07`, '--dim', '8', '--epochs', '1', '--min-count', '1', '--quiet'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /40 sentences/);
    const emb = await readEmbeddings(out);
    assert.equal(emb.dim, 8);
    assert.ok(emb.tokens.includes('北'));
    assert.deepEqual(emb.meta.corpus?.map((c) => [c.file, c.sentences]), [[`${archive}?from=2026-12-01T05&to=2026-12-01T07`, 40]]);
  });

  it('train-joint from Avro containers, and eval scores a container exactly as the CoNLL file it came from', () => {
    const run = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 120_000 });
    const fixture = path.join(projectRoot(), 'test', 'fixtures', 'labels');
    const nerAvro = path.join(tmp.dir, 'ner.avro');
    const segAvro = path.join(tmp.dir, 'seg.avro');
    const segFile = tmp.write('seg-train.txt', '我 爱 北京\n他 来 了\n张伟 买 了 耳机\n');
    for (const args of [
      ['archive', '--input', path.join(fixture, 'products.train.conll'), '--format', 'conll', '--output', nerAvro],
      ['archive', '--input', segFile, '--format', 'segmented', '--output', segAvro],
    ]) assert.equal(run(args).status, 0);
    const cfg = tmp.write('tiny.json', JSON.stringify({ embeddingDim: 8, hiddenDim: 8, epochs: 1, batchSize: 4, pretrainEpochs: 1, segDevSample: 3 }));
    const out = path.join(tmp.dir, 'joint');
    const r = run(['train-joint', '--ner-train', nerAvro, '--ner-dev', `conll:${path.join(fixture, 'products.dev.conll')}`, '--seg-train', segAvro, '--seg-dev', `avro:${segAvro}`, '--out', out, '--config', cfg, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { training: { data: { role: string; file: string; sentences: number }[] } };
    assert.deepEqual(manifest.training.data.map((d) => [d.role, d.file, d.sentences]), [
      ['ner-train', 'ner.avro', 10],
      ['ner-dev', 'products.dev.conll', 3],
      ['seg-train', 'seg.avro', 3],
      ['seg-dev', 'seg.avro', 3],
    ]);
    const score = (data: string) => {
      const e = run(['eval', '--model', out, '--data', data, '--json']);
      assert.equal(e.status, 0, e.stderr);
      return JSON.parse(e.stdout) as { sentences: number; scores: unknown };
    };
    const fromConll = score(path.join(fixture, 'products.train.conll'));
    const fromAvro = score(nerAvro);
    assert.equal(fromAvro.sentences, 10);
    assert.deepEqual(fromAvro.scores, fromConll.scores);
  });

  it('tune takes the four data sets as sources (no corpora folder needed), runs under OUT/sources/', () => {
    const fixture = path.join(projectRoot(), 'test', 'fixtures', 'labels');
    const segFile = tmp.write('tune-seg.txt', '我 爱 北京\n他 来 了\n张伟 买 了 耳机\n');
    const cfg = tmp.write('tune.json', JSON.stringify({ embeddingDim: 8, hiddenDim: 8, batchSize: 4, pretrainEpochs: 1, segDevSample: 3 }));
    const out = path.join(tmp.dir, 'tune');
    const args = ['tune', '--lambdas', '0.5', '--dropouts', '0', '--epochs', '1', '--config', cfg, '--corpora', '/no/such/corpora', '--out', out, '--quiet',
      '--ner-train', path.join(fixture, 'products.train.conll'), '--ner-dev', path.join(fixture, 'products.dev.conll'), '--seg-train', segFile, '--seg-dev', `seg:${segFile}`];
    const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^best: lambda 0\.5, dropout 0, dev F1 \d/);
    const report = JSON.parse(readFileSync(path.join(out, 'tune.json'), 'utf8')) as { sources: Record<string, string> };
    assert.equal(report.sources.segDev, `seg:${segFile}`);
    const manifest = JSON.parse(readFileSync(path.join(out, 'sources', 'lambda-0.5_dropout-0', 'seed-1', 'manifest.json'), 'utf8')) as { training: { data: { role: string; sentences: number }[] } };
    assert.deepEqual(manifest.training.data.map((d) => [d.role, d.sentences]), [['ner-train', 10], ['ner-dev', 3], ['seg-train', 3], ['seg-dev', 3]]);
  });

  it('bad sources exit 2 with one line naming the flag', () => {
    for (const [args, msg] of [
      [['pretrain-embeddings', '--out', 'x.bin', '--text', `${archive}?from=2027-01-01`], /^mentionflow pretrain-embeddings: --text .*: no \*\.avro files in hours/],
      [['eval', '--data', 'kafka:t?to=soon'], /^mentionflow eval: --data kafka:t\?to=soon to: "soon" is not an offset/],
      [['train-ner', '--train', 'kafka:examples', '--dev', 'kafka:examples', '--out', 'o'], /^mentionflow train-ner: --train kafka:examples: no Kafka brokers; add &brokers=HOST:PORT/],
      [['train-joint', '--ner-train', archive, '--ner-dev', 'x', '--seg-train', 'x', '--seg-dev', 'x', '--out', 'o'], /^mentionflow train-joint: --ner-dev x: no such file/],
    ] as const) {
      const env = { ...process.env };
      delete env.MENTIONFLOW_BROKERS;
      const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000, env });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, msg);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});
