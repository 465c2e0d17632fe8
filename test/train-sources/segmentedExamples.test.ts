/** segmentedExamples on hand-written NLPCC-style and SIGHAN-style fixtures. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { take } from 'rxjs';
import { CorpusFormatError } from '../../common/errors.js';
import { readSegmented } from '../../models/data/segmentation.js';
import { segmentedExamples } from '../../pipeline/train/sources/segmentedExamples.js';
import type { InvalidInputError } from '../../pipeline/train/sources/example.js';
import { collect, errorOf, eventually, holdsOpen, tempDir } from './helpers.js';

const tmp = tempDir('seg');
after(() => tmp.cleanup());

describe('segmentedExamples', () => {
  it('one space between words (NLPCC): BIES tags from the words, ids by line', async () => {
    const file = tmp.write('nlpcc.txt', '我 爱 北京 天安门\n\n他们 来 了\n');
    const examples = await collect(segmentedExamples(file, { source: 'nlpcc' }));
    assert.deepEqual(examples, [
      { id: 'nlpcc.txt:1', chars: [...'我爱北京天安门'], segTags: ['S', 'S', 'B', 'E', 'B', 'I', 'E'], source: 'nlpcc', origin: `${file}:1` },
      { id: 'nlpcc.txt:3', chars: [...'他们来了'], segTags: ['B', 'E', 'S', 'S'], source: 'nlpcc', origin: `${file}:3` },
    ]);
    assert.equal(examples[0].nerTags, undefined);
  });

  it('two spaces and CRLF (SIGHAN 2005), U+3000 and astral characters, like readSegmented', async () => {
    const file = tmp.write('sighan.utf8', '\uFEFF共同  创造  美好\r\n\r\n新\u3000世纪  😀𠀀\r\n');
    const examples = await collect(segmentedExamples(file));
    assert.deepEqual(examples.map((e) => e.chars.join('')), ['共同创造美好', '新世纪😀𠀀']);
    assert.deepEqual(examples[1].segTags, ['S', 'B', 'E', 'B', 'E']);
    assert.deepEqual(
      examples.map((e) => ({ chars: e.chars, tags: e.segTags })),
      (await readSegmented(file)).map((s) => ({ chars: s.chars, tags: s.tags })),
    );
    assert.equal(examples[0].source, 'sighan.utf8');
  });

  it('a line with a control character is a CorpusFormatError at file:line; onInvalid skips it', async () => {
    const file = tmp.write('bad.txt', '我 爱\n好\u0001 的\n北京\n');
    const err = await errorOf(segmentedExamples(file));
    assert.ok(err instanceof CorpusFormatError, String(err));
    assert.equal(err.line, 2);
    assert.ok(err.message.startsWith(`${file}:2: `), err.message);
    const errors: InvalidInputError[] = [];
    const examples = await collect(segmentedExamples(file, { onInvalid: (e) => errors.push(e) }));
    assert.deepEqual(examples.map((e) => e.id), ['bad.txt:1', 'bad.txt:3']);
    assert.equal(errors.length, 1);
  });

  it('unsubscribing early stops reading and closes the file', async () => {
    const big = tmp.write('big.txt', '我们 在 北京\n'.repeat(30_000));
    assert.equal((await collect(segmentedExamples(big).pipe(take(3)))).length, 3);
    if (holdsOpen(big) === undefined) return;
    assert.ok(await eventually(() => holdsOpen(big) === false), 'the file is still open after unsubscribing');
  });
});
