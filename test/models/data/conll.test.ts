/** Tests for models/data/conll.ts on hand-made fixtures: v1/v2 layouts, CESU-8 rejoining, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorpusFormatError } from '../../../common/errors.js';
import { detectConllVersion, parseConll, parseConllWithStats, readConll } from '../../../models/data/conll.js';

const utf8 = (s: string): number[] => [...new TextEncoder().encode(s)];
/** CESU-8 bytes of one UTF-16 code unit. */
const cesuUnit = (u: number): number[] => [0xe0 | (u >> 12), 0x80 | ((u >> 6) & 0x3f), 0x80 | (u & 0x3f)];
const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? utf8(p) : p)));

test('v1: sentences split on blank lines, tags kept as in the file', () => {
  const text = '张\tB-PER.NAM\n三\tI-PER.NAM\n说\tO\n\n\n7\tO\n北 B-GPE.NAM\r\n京\tI-GPE.NAM\n';
  const r = parseConllWithStats(bytes(text), 'a.conll');
  assert.equal(r.stats.version, 1);
  assert.deepEqual(r.sentences, [
    { chars: ['张', '三', '说'], tags: ['B-PER.NAM', 'I-PER.NAM', 'O'] },
    { chars: ['7', '北', '京'], tags: ['O', 'B-GPE.NAM', 'I-GPE.NAM'] },
  ]);
  assert.equal(r.stats.tokenLines, 6);
  assert.equal(r.stats.chars, 6);
});

test('tab-separated columns may hold a space or an astral character', () => {
  const r = parseConll(bytes(' \tO\n𠮷\tB-ORG.NAM\n\u3000\tO'), 'b.conll');
  assert.deepEqual(r, [{ chars: [' ', '𠮷', '\u3000'], tags: ['O', 'B-ORG.NAM', 'O'] }]);
});

test('CESU-8 surrogate halves on two lines are rejoined into one character', () => {
  const data = bytes('我\tO\n', cesuUnit(0xd83d), '\tB-PER.NOM\n', cesuUnit(0xde00), '\tO\n好\tO\n');
  const r = parseConllWithStats(data, 'c.conll');
  assert.deepEqual(r.sentences, [{ chars: ['我', '😀', '好'], tags: ['O', 'B-PER.NOM', 'O'] }]);
  assert.equal(r.stats.tokenLines, 4);
  assert.equal(r.stats.chars, 3);
  assert.equal(r.stats.rejoinedPairs, 1);
  assert.equal(r.stats.loneSurrogates, 0);
});

test('an unpaired surrogate half becomes U+FFFD and is counted', () => {
  const data = bytes(cesuUnit(0xd83d), '\tO\n好\tO\n\n', cesuUnit(0xde00), '\tO\n\n', cesuUnit(0xd83d), '\tO\n');
  const r = parseConllWithStats(data, 'd.conll');
  assert.deepEqual(r.sentences.map((s) => s.chars), [['\uFFFD', '好'], ['\uFFFD'], ['\uFFFD']]);
  assert.equal(r.stats.loneSurrogates, 3);
  assert.equal(r.stats.rejoinedPairs, 0);
});

test('v2: the position digits after the character are stripped', () => {
  const text = '科0\tO\n技1\tO\n10\tB-ORG.NAM\na12\tI-ORG.NAM\n\n\uFFFD\uFFFD0\tO\n😀3\tO\n';
  assert.equal(detectConllVersion(text), 2);
  const r = parseConllWithStats(bytes(text), 'e.conll');
  assert.equal(r.stats.version, 2);
  assert.deepEqual(r.sentences, [
    { chars: ['科', '技', '1', 'a'], tags: ['O', 'O', 'B-ORG.NAM', 'I-ORG.NAM'] },
    { chars: ['\uFFFD', '😀'], tags: ['O', 'O'] },
  ]);
  assert.equal(r.stats.replacementChars, 1);
});

test('detectConllVersion: one-code-point first columns mean v1, even for digits', () => {
  assert.equal(detectConllVersion('1\tO\n2\tO\n'), 1);
  assert.equal(detectConllVersion('科0\tO\n技\tO\n'), 1);
  assert.equal(detectConllVersion(''), 1);
});

test('malformed lines throw CorpusFormatError with file:line', () => {
  const cases: [string, number][] = [
    ['我\tO\n你\tO\tX\n', 2], // three columns
    ['我\tO\n\n你\n', 3], // one column
    ['我\tB-\n', 1], // prefix without a label
    ['我\tX-PER\n', 1], // not a BIO/BIOES prefix
    ['我\tPER\n', 1], // a label without a prefix
    ['我们\tO\n', 1], // two characters in a v1 file
    ['科0\tO\n技x1\tO\n', 2], // v2 with garbage before the digits
  ];
  for (const [text, line] of cases) {
    assert.throws(
      () => parseConll(bytes(text), 'bad.conll'),
      (err: unknown) => {
        assert.ok(err instanceof CorpusFormatError, String(err));
        assert.equal(err.file, 'bad.conll');
        assert.equal(err.line, line);
        assert.match(err.message, new RegExp(`^bad\\.conll:${line}: expected "<char> <tag>"`));
        return true;
      },
    );
  }
});

test('any label set: plain BIO types and BIOES tags are read as in the file', () => {
  const r = parseConll(bytes('小\tB-PRODUCT\n米\tI-PRODUCT\n的\tO\n\n苹\tB-BRAND\n果\tE-BRAND\n他\tS-PER\n'), 'any.conll');
  assert.deepEqual(r, [
    { chars: ['小', '米', '的'], tags: ['B-PRODUCT', 'I-PRODUCT', 'O'] },
    { chars: ['苹', '果', '他'], tags: ['B-BRAND', 'E-BRAND', 'S-PER'] },
  ]);
});

test('readConll reads from disk', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mentionflow-conll-'));
  try {
    const file = join(dir, 'x.conll');
    await writeFile(file, bytes('北\tB-LOC.NAM\n', cesuUnit(0xd83d), '\tO\n', cesuUnit(0xde02), '\tO\n'));
    assert.deepEqual(await readConll(file), [{ chars: ['北', '😂'], tags: ['B-LOC.NAM', 'O'] }]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
