/** Tests for models/text/spans.ts: conlleval chunk semantics and BIO/BIOES round trips. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  bioesToBio,
  bioesToSpans,
  bioToBioes,
  bioToSpans,
  spansToBio,
  spansToBioes,
  splitTag,
  type Span,
} from '../../../models/text/spans.js';
import { MentionflowError } from '../../../common/errors.js';

const LABELS = ['PER.NAM', 'PER.NOM', 'ORG.NAM', 'GPE.NAM'];

/** Random non-overlapping spans (adjacent ones included) and a sentence length covering them. */
const spansAndLength = fc
  .tuple(
    fc.array(
      fc.record({ gap: fc.nat(3), len: fc.integer({ min: 1, max: 4 }), label: fc.constantFrom(...LABELS) }),
      { maxLength: 8 },
    ),
    fc.nat(3),
  )
  .map(([parts, tail]) => {
    const spans: Span[] = [];
    let pos = 0;
    for (const p of parts) {
      const start = pos + p.gap;
      spans.push({ start, end: start + p.len, label: p.label });
      pos = start + p.len;
    }
    return { spans, length: pos + tail };
  });

test('splitTag splits at the first dash', () => {
  assert.deepEqual(splitTag('B-PER.NAM'), ['B', 'PER.NAM']);
  assert.deepEqual(splitTag('O'), ['O', '']);
  assert.deepEqual(splitTag('I-A-B'), ['I', 'A-B']);
});

test('conlleval semantics: B starts, O ends, I continues the same type', () => {
  const s = (start: number, end: number, label: string): Span => ({ start, end, label });
  assert.deepEqual(bioToSpans(['B-PER.NAM', 'I-PER.NAM', 'O', 'B-LOC.NAM']), [s(0, 2, 'PER.NAM'), s(3, 4, 'LOC.NAM')]);
  assert.deepEqual(bioToSpans(['B-PER.NAM', 'B-PER.NAM']), [s(0, 1, 'PER.NAM'), s(1, 2, 'PER.NAM')]);
  assert.deepEqual(bioToSpans([]), []);
  assert.deepEqual(bioToSpans(['O', 'O']), []);
});

test('conlleval semantics: I after O or at the start starts a chunk', () => {
  assert.deepEqual(bioToSpans(['O', 'I-PER.NAM', 'I-PER.NAM', 'O']), [{ start: 1, end: 3, label: 'PER.NAM' }]);
  assert.deepEqual(bioToSpans(['I-ORG.NOM']), [{ start: 0, end: 1, label: 'ORG.NOM' }]);
});

test('conlleval semantics: I of another type starts a new chunk', () => {
  assert.deepEqual(bioToSpans(['B-PER.NAM', 'I-PER.NOM', 'I-PER.NOM']), [
    { start: 0, end: 1, label: 'PER.NAM' },
    { start: 1, end: 3, label: 'PER.NOM' },
  ]);
  assert.deepEqual(bioToSpans(['I-LOC.NAM', 'B-LOC.NAM', 'I-LOC.NAM']), [
    { start: 0, end: 1, label: 'LOC.NAM' },
    { start: 1, end: 3, label: 'LOC.NAM' },
  ]);
});

test('BIOES decoding, including lenient cases', () => {
  assert.deepEqual(bioesToSpans(['S-PER.NAM', 'B-ORG.NAM', 'I-ORG.NAM', 'E-ORG.NAM', 'O']), [
    { start: 0, end: 1, label: 'PER.NAM' },
    { start: 1, end: 4, label: 'ORG.NAM' },
  ]);
  assert.deepEqual(bioesToSpans(['S-PER.NAM', 'S-PER.NAM']).length, 2);
  assert.deepEqual(bioesToSpans(['O', 'I-LOC.NAM', 'E-LOC.NAM']), [{ start: 1, end: 3, label: 'LOC.NAM' }]);
  assert.deepEqual(bioesToSpans(['B-LOC.NAM', 'I-LOC.NAM']), [{ start: 0, end: 2, label: 'LOC.NAM' }]);
});

test('spansToBio / spansToBioes known encodings', () => {
  const spans = [{ start: 1, end: 4, label: 'ORG.NAM' }, { start: 0, end: 1, label: 'PER.NAM' }];
  assert.deepEqual(spansToBio(spans, 5), ['B-PER.NAM', 'B-ORG.NAM', 'I-ORG.NAM', 'I-ORG.NAM', 'O']);
  assert.deepEqual(spansToBioes(spans, 5), ['S-PER.NAM', 'B-ORG.NAM', 'I-ORG.NAM', 'E-ORG.NAM', 'O']);
});

test('overlapping or out-of-range spans are rejected', () => {
  const a = { start: 0, end: 2, label: 'PER.NAM' };
  assert.throws(() => spansToBio([a, { start: 1, end: 3, label: 'LOC.NAM' }], 4), MentionflowError);
  assert.throws(() => spansToBio([a], 1), MentionflowError);
  assert.throws(() => spansToBioes([{ start: 2, end: 2, label: 'X' }], 4), MentionflowError);
});

test('property: spansToBio -> bioToSpans round trip', () => {
  fc.assert(
    fc.property(spansAndLength, ({ spans, length }) => {
      const tags = spansToBio(spans, length);
      assert.equal(tags.length, length);
      assert.deepEqual(bioToSpans(tags), spans);
    }),
  );
});

test('property: spansToBioes -> bioesToSpans round trip', () => {
  fc.assert(
    fc.property(spansAndLength, ({ spans, length }) => {
      assert.deepEqual(bioesToSpans(spansToBioes(spans, length)), spans);
    }),
  );
});

test('property: bioToBioes / bioesToBio round trip on well-formed sequences', () => {
  fc.assert(
    fc.property(spansAndLength, ({ spans, length }) => {
      const bio = spansToBio(spans, length);
      const bioes = spansToBioes(spans, length);
      assert.deepEqual(bioToBioes(bio), bioes);
      assert.deepEqual(bioesToBio(bioes), bio);
      assert.deepEqual(bioesToBio(bioToBioes(bio)), bio);
    }),
  );
});

test('property: any BIO sequence decodes to valid spans that re-encode to the same chunks', () => {
  const tag = fc.constantFrom('O', ...LABELS.flatMap((l) => [`B-${l}`, `I-${l}`]));
  fc.assert(
    fc.property(fc.array(tag, { maxLength: 20 }), (tags) => {
      const spans = bioToSpans(tags);
      assert.deepEqual(bioToSpans(spansToBio(spans, tags.length)), spans);
    }),
  );
});
