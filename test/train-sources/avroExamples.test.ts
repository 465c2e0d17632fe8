/**
 * Avro object containers of LabeledExample records: the archive writer, the
 * block-by-block reader (damage reported, never lost), the `mentionflow
 * archive` command and the round trip CoNLL/segmented file -> container ->
 * avroExamples.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import avro from 'avsc';
import { from, take } from 'rxjs';
import { CorpusFormatError, DecodeError, MentionflowError } from '../../common/errors.js';
import { projectRoot } from '../../cli/defaults.js';
import { archiveCorpus } from '../../cli/commands/archive.js';
import { avroExamples } from '../../pipeline/train/sources/avroExamples.js';
import { conllExamples } from '../../pipeline/train/sources/conllExamples.js';
import { containerRecords } from '../../schemas/container.js';
import { writeExampleContainer } from '../../pipeline/train/sources/containerWriter.js';
import { segmentedExamples } from '../../pipeline/train/sources/segmentedExamples.js';
import { loadSchema, loadSchemaJson } from '../../schemas/registry.js';
import type { LabeledExample } from '../../schemas/types.generated.js';
import { collect, errorOf, eventually, holdsOpen, tempDir } from './helpers.js';

const tmp = tempDir('avro');
after(() => tmp.cleanup());
const MAIN = path.join(projectRoot(), 'dist', 'cli', 'main.js');

const CONLL = ['我 O', '爱 O', '张 B-PER.NAM', '三 I-PER.NAM', '', '北 B-GPE.NAM', '京 I-GPE.NAM', '大 B-ORG.NOM', '学 I-ORG.NOM', '', '😀 O', 'a O', ''].join('\n');
const SEGMENTED = '我 爱 北京 天安门\n\n他们  来 了\n😀 好\n';

function example(i: number, extra: Partial<LabeledExample> = {}): LabeledExample {
  return { id: `e${i}`, text: '张三在北京', spans: [{ start: 0, end: 2, label: 'PER.NAM' }, { start: 3, end: 5, label: 'GPE.NAM' }], segmentation: [2, 3, 5], source: 'weibo', created_at: 1_700_000_000_000 + i, ...extra };
}

/** Writes records with avsc's own encoder (no checks), as another tool would. */
async function rawContainer(name: string, schema: object, records: unknown[], opts: { blockSize?: number; codec?: string } = {}): Promise<string> {
  const file = path.join(tmp.dir, name);
  const encoder = new avro.streams.BlockEncoder(avro.Type.forSchema(schema as never, { wrapUnions: 'never' }), { codec: opts.codec ?? 'null', blockSize: opts.blockSize ?? 65536 });
  const out = encoder.pipe(createWriteStream(file));
  for (const r of records) encoder.write(r);
  encoder.end();
  await once(out, 'finish');
  return file;
}

describe('writeExampleContainer + avroExamples', () => {
  it('round trip: spans -> BIO nerTags, segmentation -> BIES segTags, ids, sources, createdAt, origins', async () => {
    const file = path.join(tmp.dir, 'rt.avro');
    const records = [example(1), example(2, { text: '好', spans: [], segmentation: null })];
    const result = await writeExampleContainer(file, from(records));
    assert.deepEqual(result, { path: file, count: 2 });
    const examples = await collect(avroExamples(file));
    assert.deepEqual(examples, [
      {
        id: 'e1', chars: [...'张三在北京'], source: 'weibo', createdAt: 1_700_000_000_001, origin: `${file}#1`,
        nerTags: ['B-PER.NAM', 'I-PER.NAM', 'O', 'B-GPE.NAM', 'I-GPE.NAM'], segTags: ['B', 'E', 'S', 'B', 'E'],
      },
      { id: 'e2', chars: ['好'], source: 'weibo', createdAt: 1_700_000_000_002, origin: `${file}#2`, nerTags: ['O'] },
    ]);
  });

  it('many blocks, read in tiny chunks, keep every record in order', async () => {
    const records = Array.from({ length: 300 }, (_, i) => example(i, { text: `第${i}条😀`, spans: [], segmentation: null }));
    const file = await rawContainer('blocks.avro', loadSchemaJson('example'), records, { blockSize: 200, codec: 'deflate' });
    const items = await collect(containerRecords(file, 7));
    assert.equal(items[0].kind, 'header');
    const blocks = new Set(items.flatMap((i) => (i.kind === 'record' ? [i.block] : [])));
    assert.ok(blocks.size > 10, `expected many blocks, got ${blocks.size}`);
    const examples = await collect(avroExamples(file));
    assert.deepEqual(examples.map((e) => e.id), records.map((r) => r.id));
    assert.deepEqual(examples[299].chars, [...'第299条😀']);
  });

  it('an empty archive is a valid container with no records', async () => {
    const file = path.join(tmp.dir, 'empty.avro');
    assert.equal((await writeExampleContainer(file, from([]))).count, 0);
    assert.deepEqual(await collect(avroExamples(file)), []);
  });

  it('the writer rejects an invalid record, names it, and leaves no file behind', async () => {
    const file = path.join(tmp.dir, 'never.avro');
    await assert.rejects(
      writeExampleContainer(file, from([example(1), example(2, { spans: [{ start: 3, end: 9, label: 'PER.NAM' }] })])),
      (err: Error) => err instanceof MentionflowError && /record 2 \(id "e2"\)/.test(err.message) && /span \[3, 9\)/.test(err.message),
    );
    await assert.rejects(writeExampleContainer(file, from([{ ...example(1), text: 7 } as unknown as LabeledExample])), /record 1.*text/);
    assert.equal(existsSync(file), false);
    assert.deepEqual(readFileSync(path.join(tmp.dir, 'rt.avro')).subarray(0, 4), Buffer.from('Obj\x01', 'latin1'));
  });

  it('a record with bad spans or segmentation is a CorpusFormatError at file:record; onInvalid skips it', async () => {
    const records = [example(1), example(2, { segmentation: [2, 1, 5] }), example(3, { spans: [{ start: 4, end: 6, label: 'X' }] }), example(4)];
    const file = await rawContainer('badrec.avro', loadSchemaJson('example'), records);
    const err = await errorOf(avroExamples(file));
    assert.ok(err instanceof CorpusFormatError, String(err));
    assert.equal(err.line, 2);
    assert.match(err.message, /:2: record 2 \(block 1\): segmentation/);
    const skipped: number[] = [];
    const examples = await collect(avroExamples(file, { onInvalid: (e) => skipped.push((e as CorpusFormatError).line) }));
    assert.deepEqual(examples.map((e) => e.id), ['e1', 'e4']);
    assert.deepEqual(skipped, [2, 3]);
  });

  it('damage is a DecodeError, never silently lost: truncation, bad magic, wrong sync, unreadable schema (Post records read as text)', async () => {
    const good = readFileSync(await rawContainer('good.avro', loadSchemaJson('example'), [example(1), example(2)]));
    const truncated = tmp.write('truncated.avro', good.subarray(0, good.length - 5));
    const err = await errorOf(avroExamples(truncated));
    assert.ok(err instanceof DecodeError, String(err));
    assert.match(err.message, /truncated\.avro: block 1 .*ends inside the block/);

    const notAvro = await errorOf(avroExamples(tmp.write('text.avro', '我 O\n')));
    assert.ok(notAvro instanceof DecodeError);
    assert.match(notAvro.message, /not an Avro object container file/);

    const badSync = Buffer.from(good);
    badSync[badSync.length - 1] ^= 0xff;
    assert.match((await errorOf(avroExamples(tmp.write('sync.avro', badSync)))).message, /wrong sync marker/);

    const posts = await rawContainer('posts.avro', loadSchemaJson('post', 1), [
      { id: '1', text: '你好', author_id: 'a', created_at: 1, source: 'weibo', lang: null, reply_to: null, attributes: {} },
    ]);
    // Post records (the archived post stream) read as unlabelled text: chars only, no tags.
    assert.deepEqual(await collect(avroExamples(posts)), [{ id: '1', chars: ['你', '好'], source: 'weibo', createdAt: 1, origin: `${posts}#1` }]);
    const foreign = await rawContainer('foreign-schema.avro', { type: 'record', name: 'Click', fields: [{ name: 'url', type: 'string' }] }, [{ url: 'x' }]);
    const wrong = await errorOf(avroExamples(foreign));
    assert.ok(wrong instanceof DecodeError);
    assert.match(wrong.message, /cannot be read as LabeledExample/);
  });

  it('a container written by another tool (no mentionflow metadata) takes spans as NER; `ner: false` drops them', async () => {
    const file = await rawContainer('foreign.avro', loadSchemaJson('example'), [example(1)], { codec: 'deflate' });
    const [withNer] = await collect(avroExamples(file));
    assert.deepEqual(withNer.nerTags, ['B-PER.NAM', 'I-PER.NAM', 'O', 'B-GPE.NAM', 'I-GPE.NAM']);
    const [without] = await collect(avroExamples(file, { ner: false }));
    assert.equal(without.nerTags, undefined);
    assert.deepEqual(without.segTags, ['B', 'E', 'S', 'B', 'E']);
  });

  it('unsubscribing early closes the file', async () => {
    const records = Array.from({ length: 3000 }, (_, i) => example(i));
    const file = await rawContainer('long.avro', loadSchemaJson('example'), records, { blockSize: 1024 });
    assert.equal((await collect(avroExamples(file).pipe(take(2)))).length, 2);
    if (holdsOpen(file) === undefined) return;
    assert.ok(await eventually(() => holdsOpen(file) === false), 'the file is still open after unsubscribing');
  });

  it('the schema type used for checks is the registry LabeledExample', () => {
    assert.equal(loadSchema('example').name, 'io.mentionflow.LabeledExample');
  });
});

describe('mentionflow archive', () => {
  const cli = (args: string[]) => spawnSync(process.execPath, [MAIN, 'archive', ...args], { encoding: 'utf8', timeout: 60_000 });

  it('CoNLL file -> container -> avroExamples equals the original sentences', async () => {
    const input = tmp.write('ner.conll', CONLL);
    const output = path.join(tmp.dir, 'ner.avro');
    const r = cli(['--input', input, '--format', 'conll', '--source', 'weibo', '--created-at', '2024-05-01T00:00:00Z', '--output', output]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /archived 3 NER example\(s\)/);
    const original = await collect(conllExamples(input, { source: 'weibo' }));
    const archived = await collect(avroExamples(output));
    assert.deepEqual(
      archived.map(({ id, chars, nerTags, segTags, source, createdAt }) => ({ id, chars, nerTags, segTags, source, createdAt })),
      original.map(({ id, chars, nerTags, source }) => ({ id, chars, nerTags, segTags: undefined, source, createdAt: Date.parse('2024-05-01T00:00:00Z') })),
    );
  });

  it('segmented file -> container -> avroExamples equals the original, marked as not NER-annotated', async () => {
    const input = tmp.write('seg.txt', SEGMENTED);
    const output = path.join(tmp.dir, 'seg.avro');
    const r = cli(['--input', input, '--format', 'segmented', '--output', output, '--codec', 'null']);
    assert.equal(r.status, 0, r.stderr);
    const original = await collect(segmentedExamples(input));
    const archived = await collect(avroExamples(output));
    assert.deepEqual(
      archived.map(({ id, chars, segTags, nerTags, source }) => ({ id, chars, segTags, nerTags, source })),
      original.map(({ id, chars, segTags, source }) => ({ id, chars, segTags, nerTags: undefined, source })),
    );
  });

  it('a malformed line fails with file:line and writes nothing; --skip-invalid leaves it out', () => {
    const input = tmp.write('bad.conll', '我 O\n\n北 B-GPE.NAM\n京 NOPE\n\n人 O\n');
    const output = path.join(tmp.dir, 'bad.avro');
    const r = cli(['--input', input, '--format', 'conll', '--output', output]);
    assert.equal(r.status, 2, r.stderr); // a malformed input file is the user's mistake
    assert.ok(r.stderr.includes(`${input}:4:`), r.stderr);
    assert.equal(existsSync(output), false);
    const s = cli(['--input', input, '--format', 'conll', '--output', output, '--skip-invalid']);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /archived 2 NER example\(s\).*1 malformed item\(s\) skipped/);
    assert.ok(s.stderr.includes(`skipped: ${input}:4:`), s.stderr);
  });

  it('--sample/--shuffle are deterministic by seed', async () => {
    const input = tmp.write('many.txt', Array.from({ length: 50 }, (_, i) => `词${i} 和 字`).join('\n'));
    const ids = async (seed: number, extra: Partial<Parameters<typeof archiveCorpus>[0]>) => {
      const output = path.join(tmp.dir, `sample-${seed}-${Object.keys(extra).join('')}.avro`);
      await archiveCorpus({ input, format: 'segmented', output, createdAt: 0, seed, ...extra });
      return (await collect(avroExamples(output))).map((e) => e.id);
    };
    const a = await ids(3, { sample: 10 });
    assert.equal(a.length, 10);
    assert.deepEqual(a, [...a].sort((x, y) => Number(x.split(':')[1]) - Number(y.split(':')[1])), 'a sample keeps input order');
    assert.deepEqual(await ids(3, { sample: 10 }), a);
    assert.notDeepEqual(await ids(4, { sample: 10 }), a);
    const shuffled = await ids(3, { shuffle: true });
    assert.equal(shuffled.length, 50);
    assert.deepEqual([...shuffled].sort(), Array.from({ length: 50 }, (_, i) => `many.txt:${i + 1}`).sort());
    assert.notDeepEqual(shuffled, Array.from({ length: 50 }, (_, i) => `many.txt:${i + 1}`));
  });

  it('--help lists the options; bad combinations are option errors (exit 2)', () => {
    const help = cli(['--help']);
    assert.equal(help.status, 0);
    for (const flag of ['--input', '--format', '--output', '--from-topic', '--from-offset', '--to-time', '--partitions', '--sample', '--shuffle', '--seed', '--skip-invalid']) {
      assert.ok(help.stdout.includes(flag), `--help lacks ${flag}`);
    }
    assert.equal(cli(['--output', 'x.avro']).status, 2);
    const input = tmp.write('h.conll', '我 O\n');
    assert.equal(cli(['--input', input, '--format', 'conll', '--from-topic', 't', '--output', 'x.avro']).status, 2);
    assert.equal(cli(['--input', input, '--format', 'csv', '--output', 'x.avro']).status, 2);
    assert.equal(cli(['--input', input, '--format', 'conll', '--from-offset', '3', '--output', 'x.avro']).status, 2);
    const both = cli(['--from-topic', 't', '--brokers', '127.0.0.1:1', '--from-offset', '1', '--from-time', '0', '--output', 'x.avro']);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /--from-offset or --from-time, not both/);
    writeFileSync(path.join(tmp.dir, 'keep.txt'), '');
  });
});
