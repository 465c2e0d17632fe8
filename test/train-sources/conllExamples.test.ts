/** conllExamples and the line reader under it, on hand-written CoNLL fixtures. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { take } from 'rxjs';
import { CorpusFormatError } from '../../common/errors.js';
import { readConll } from '../../models/data/conll.js';
import { conllExamples } from '../../pipeline/train/sources/conllExamples.js';
import { fileLines } from '../../pipeline/train/sources/fileLines.js';
import type { InvalidInputError } from '../../pipeline/train/sources/example.js';
import { collect, errorOf, eventually, holdsOpen, tempDir } from './helpers.js';

const tmp = tempDir('conll');
after(() => tmp.cleanup());

const V1 = ['我 O', '爱 O', '张 B-PER.NAM', '三 I-PER.NAM', '', '', '北 B-GPE.NAM', '京 I-GPE.NAM', '人 O', ''].join('\n');

/** CESU-8 bytes of one UTF-16 code unit. */
function cesuUnit(u: number): Buffer {
  return Buffer.from([0xe0 | (u >> 12), 0x80 | ((u >> 6) & 0x3f), 0x80 | (u & 0x3f)]);
}

describe('conllExamples', () => {
  it('emits one example per sentence with chars, BIO tags, ids and origins', async () => {
    const file = tmp.write('v1.conll', V1);
    const examples = await collect(conllExamples(file, { source: 'weibo' }));
    assert.deepEqual(examples, [
      { id: 'v1.conll:1', chars: ['我', '爱', '张', '三'], nerTags: ['O', 'O', 'B-PER.NAM', 'I-PER.NAM'], source: 'weibo', origin: `${file}:1` },
      { id: 'v1.conll:7', chars: ['北', '京', '人'], nerTags: ['B-GPE.NAM', 'I-GPE.NAM', 'O'], source: 'weibo', origin: `${file}:7` },
    ]);
  });

  it('defaults source to the file name; accepts CRLF, a BOM, tabs and no final newline', async () => {
    const file = tmp.write('crlf.conll', '\uFEFF我\tO\r\n \tO\r\n\r\n他 B-PER.NOM');
    const examples = await collect(conllExamples(file));
    assert.deepEqual(
      examples.map((e) => [e.source, e.chars, e.nerTags]),
      [
        ['crlf.conll', ['我', ' '], ['O', 'O']],
        ['crlf.conll', ['他'], ['B-PER.NOM']],
      ],
    );
  });

  it('reads the v2 layout (char + position digits) like readConll', async () => {
    const file = tmp.write('v2.conll', '科0 B-ORG.NAM\n技1 I-ORG.NAM\n\n7777 O\n');
    const examples = await collect(conllExamples(file));
    assert.deepEqual(examples.map((e) => e.chars), [['科', '技'], ['7']]);
    assert.deepEqual(examples.map((e) => ({ chars: e.chars, tags: e.nerTags })), await readConll(file));
  });

  it('rejoins CESU-8 surrogate halves on consecutive lines into one character', async () => {
    const bytes = Buffer.concat([Buffer.from('好 O\n'), cesuUnit(0xd83d), Buffer.from(' O\n'), cesuUnit(0xde00), Buffer.from(' O\n')]);
    const file = tmp.write('cesu.conll', bytes);
    const [example] = await collect(conllExamples(file));
    assert.deepEqual(example.chars, ['好', '😀']);
    assert.deepEqual(example.nerTags, ['O', 'O']);
  });

  it('a malformed line is a CorpusFormatError at file:line', async () => {
    const file = tmp.write('bad.conll', '我 O\n爱 O\n\n北 B-GPE.NAM\n京 X-BAD\n');
    const err = await errorOf(conllExamples(file));
    assert.ok(err instanceof CorpusFormatError, String(err));
    assert.equal(err.file, file);
    assert.equal(err.line, 5);
    assert.match(err.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5: .*X-BAD`));
  });

  it('with onInvalid, the sentence holding a malformed line is skipped and reading goes on', async () => {
    const file = tmp.write('skip.conll', '我 O\n\n北 B-GPE.NAM\n京 X-BAD\n\n人 O\n');
    const errors: InvalidInputError[] = [];
    const examples = await collect(conllExamples(file, { onInvalid: (e) => errors.push(e) }));
    assert.deepEqual(examples.map((e) => e.chars.join('')), ['我', '人']);
    assert.deepEqual(errors.map((e) => (e as CorpusFormatError).line), [4]);
  });

  it('a throwing onInvalid errors the stream', async () => {
    const file = tmp.write('throw.conll', '京 X-BAD\n');
    const err = await errorOf(conllExamples(file, { onInvalid: () => { throw new Error('stop here'); } }));
    assert.equal(err.message, 'stop here');
  });

  it('a sentence in the other layout is an error at its first line', async () => {
    const file = tmp.write('mixed.conll', '我 O\n\n科0 O\n技1 O\n');
    const err = await errorOf(conllExamples(file));
    assert.ok(err instanceof CorpusFormatError);
    assert.equal(err.line, 3);
    assert.match(err.message, /v2 layout.*file is v1/);
  });

  it('a missing file errors (ConfigError), and an empty file completes empty', async () => {
    const err = await errorOf(conllExamples(`${tmp.dir}/nope.conll`));
    assert.equal(err.name, 'ConfigError');
    assert.match(err.message, /nope\.conll/);
    assert.deepEqual(await collect(conllExamples(tmp.write('empty.conll', ''))), []);
  });

  it('agrees with readConll on generated files', async () => {
    const char = fc.constantFrom('我', '北', '京', 'a', '7', '😀', '𠀀', '，');
    const type = fc.constantFrom('PER.NAM', 'GPE.NAM', 'ORG.NOM');
    const token = fc.tuple(char, fc.constantFrom('O', 'B', 'I'), type).map(([c, p, t]) => `${c} ${p === 'O' ? 'O' : `${p}-${t}`}`);
    const sentence = fc.array(token, { minLength: 1, maxLength: 6 });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(sentence, { maxLength: 5 }), fc.constantFrom('\n', '\n\n', '\n \n'), async (sentences, gap) => {
        const file = tmp.write(`gen-${n++}.conll`, sentences.map((s) => s.join('\n')).join(`\n${gap}`) + '\n');
        const examples = await collect(conllExamples(file));
        assert.deepEqual(examples.map((e) => ({ chars: e.chars, tags: e.nerTags })), await readConll(file));
      }),
      { numRuns: 40 },
    );
  });

  it('unsubscribing early stops reading and closes the file', async () => {
    const big = tmp.write('big.conll', Array.from({ length: 40_000 }, (_, i) => (i % 5 === 4 ? '' : '字 O')).join('\n'));
    const examples = await collect(conllExamples(big).pipe(take(2)));
    assert.equal(examples.length, 2);
    if (holdsOpen(big) === undefined) return; // no /proc here
    assert.ok(await eventually(() => holdsOpen(big) === false), 'the file is still open after unsubscribing');
  });
});

describe('fileLines', () => {
  it('splits on \\n across chunk boundaries, numbering lines from 1', async () => {
    const text = 'ab\r\n\ncdé\n\nlast';
    const file = tmp.write('lines.txt', text);
    for (const chunk of [1, 2, 3, 64]) {
      const lines = await collect(fileLines(file, chunk));
      assert.deepEqual(
        lines.map((l) => [l.number, l.bytes.toString('utf8')]),
        text.split('\n').map((l, i) => [i + 1, l]),
        `chunk size ${chunk}`,
      );
    }
    assert.equal(readFileSync(file, 'utf8'), text);
  });
});
