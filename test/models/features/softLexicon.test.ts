/**
 * SoftLexicon matching and features on a toy dictionary written here (not
 * jieba's): the B/M/E/S sets of a known sentence, parsing and pruning, and
 * the feature ids (fixed width, each set's values reach its own slots).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../../common/errors.js';
import { freqClass, parseSoftLexicon, posClass, serializeEntries, SOFT_LEXICON_TEMPLATES, SoftLexicon, softLexiconFeatureIds } from '../../../models/features/softLexicon.js';
import { fnv1a32 } from '../../../models/features/lexical.js';
import { TagFeatureExtractor, TEMPLATES_PER_CHANNEL } from '../../../models/features/tagFeatures.js';

const DICT = ['北京 100 ns', '北京大学 40 nt', '大学 500 n', '学生 300 n', '大学生 60 n', '京 5 ns', '我 9000 r', '见 10 v', '周杰伦 20 nr', '北 7 f'].join('\n');
const ALL = { maxWordLength: 8, topN: 0 };
const chars = [...'我在北京大学见周杰伦'];

/** Words of each set at each position, from the matches, as sorted word lists. */
function wordSets(lex: SoftLexicon, cs: readonly string[]): Record<string, string[]>[] {
  const out = cs.map(() => ({ B: [] as string[], M: [] as string[], E: [] as string[], S: [] as string[] }));
  for (const { start, end } of lex.matches(cs)) {
    const w = cs.slice(start, end).join('');
    if (end - start === 1) out[start].S.push(w);
    else {
      out[start].B.push(w);
      for (let t = start + 1; t < end - 1; t++) out[t].M.push(w);
      out[end - 1].E.push(w);
    }
  }
  return out.map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.sort()])));
}

test('the B/M/E/S sets of a known sentence', () => {
  const lex = new SoftLexicon(parseSoftLexicon(DICT, ALL));
  const sets = wordSets(lex, chars);
  // 我 在 北 京 大 学 见 周 杰 伦
  assert.deepEqual(sets[0], { B: [], M: [], E: [], S: ['我'] });
  assert.deepEqual(sets[1], { B: [], M: [], E: [], S: [] });
  assert.deepEqual(sets[2], { B: ['北京', '北京大学'], M: [], E: [], S: ['北'] });
  assert.deepEqual(sets[3], { B: [], M: ['北京大学'], E: ['北京'], S: ['京'] });
  assert.deepEqual(sets[4], { B: ['大学'], M: ['北京大学'], E: [], S: [] });
  assert.deepEqual(sets[5], { B: [], M: [], E: ['北京大学', '大学'], S: [] }); // 学生 does not match: 学见
  assert.deepEqual(sets[6], { B: [], M: [], E: [], S: ['见'] });
  assert.deepEqual(sets[7], { B: ['周杰伦'], M: [], E: [], S: [] });
  assert.deepEqual(sets[8], { B: [], M: ['周杰伦'], E: [], S: [] });
  assert.deepEqual(sets[9], { B: [], M: [], E: ['周杰伦'], S: [] });

  // the summaries agree with the sets
  const summary = lex.setTables(chars);
  const slot = (t: number, k: number) => ({ freqClass: summary.freqClass[t * 4 + k], posMask: summary.posMask[t * 4 + k], maxLength: summary.maxLength[t * 4 + k] });
  assert.deepEqual(slot(5, 2), { freqClass: freqClass(500), posMask: (1 << 2) | (1 << 4), maxLength: 4 }); // E at 学: nt and n
  assert.deepEqual(slot(2, 0), { freqClass: freqClass(100), posMask: (1 << 1) | (1 << 2), maxLength: 4 }); // B at 北: ns and nt
  assert.deepEqual([0, 1, 2, 3].map((k) => slot(1, k)), [0, 1, 2, 3].map(() => ({ freqClass: -1, posMask: 0, maxLength: 0 })));
});

test('parsing: POS classes, duplicates, longest word, top N, bad frequency', () => {
  assert.equal(posClass('nrt'), 'nr');
  assert.equal(posClass('nrfg'), 'nr');
  assert.equal(posClass('vn'), 'x');
  const entries = parseSoftLexicon('甲乙 3 nr\n甲乙 7 ns\n丙 1\n\n丁戊己 2 nt\n', { maxWordLength: 2, topN: 0 });
  assert.deepEqual(entries, [
    { word: '丙', freq: 1, pos: 'x' },
    { word: '甲乙', freq: 7, pos: 'ns' },
  ]);
  const top = parseSoftLexicon(DICT, { maxWordLength: 8, topN: 3 });
  assert.deepEqual(top.map((e) => e.word).sort(), ['大学', '学生', '我']);
  assert.throws(() => parseSoftLexicon('甲 x n', ALL, 'd.txt'), (e: unknown) => e instanceof ConfigError && /d\.txt line 1/.test(e.message));
  // stored form round-trips
  const stored = serializeEntries(parseSoftLexicon(DICT, ALL));
  assert.deepEqual(wordSets(SoftLexicon.fromSerialized(stored), chars), wordSets(new SoftLexicon(parseSoftLexicon(DICT, ALL)), chars));
  assert.equal(SoftLexicon.fromSerialized('').matches(chars).length, 0);
});

test('frequency classes are log4 buckets', () => {
  assert.deepEqual([0, 2, 3, 14, 15, 262142, 262143].map(freqClass), [0, 0, 1, 1, 2, 8, 9]);
});

test('feature ids: fixed width, in range, and each set changes only its own slots', () => {
  const buckets = 4096;
  const lex = new SoftLexicon(parseSoftLexicon(DICT, ALL));
  const ids = softLexiconFeatureIds(chars, lex, buckets);
  assert.equal(ids.length, chars.length * SOFT_LEXICON_TEMPLATES);
  for (const id of ids) assert.ok(id >= 1 && id < buckets);
  // no dictionary: every position reads the same "empty" values except the (pattern, char) slot
  const none = softLexiconFeatureIds(chars, new SoftLexicon([]), buckets);
  const row = (a: Int32Array, t: number) => [...a.subarray(t * SOFT_LEXICON_TEMPLATES, (t + 1) * SOFT_LEXICON_TEMPLATES)];
  assert.deepEqual(row(none, 0).slice(0, 13), row(none, 1).slice(0, 13));
  // 在 matches nothing: same as without a dictionary
  assert.deepEqual(row(ids, 1), row(none, 1));
  // 杰 has only M: the B, E and S slots equal the empty ones, the M slots do not
  const j = row(ids, 8);
  const e = row(none, 8);
  for (const k of [0, 1, 2, 6, 7, 8, 9, 10, 11]) assert.equal(j[k], e[k], `slot ${k}`);
  for (const k of [3, 4, 5, 12, 13]) assert.notEqual(j[k], e[k], `slot ${k}`);
  // a higher frequency of 北京大学 changes the M frequency slot at 京 and 大 but not their POS slot
  const richer = softLexiconFeatureIds(chars, new SoftLexicon(parseSoftLexicon(DICT.replace('北京大学 40', '北京大学 4000'), ALL)), buckets);
  assert.notEqual(row(richer, 3)[3], row(ids, 3)[3]);
  assert.equal(row(richer, 3)[4], row(ids, 3)[4]);
});

test('the tag feature extractor appends the SoftLexicon templates after the channels', () => {
  const entries = serializeEntries(parseSoftLexicon(DICT, ALL));
  const both = new TagFeatureExtractor({ dictionary: { source: 'n', minFreq: 1, minLength: 2, words: { PER: '周杰伦' } }, softLexicon: { source: 'toy', ...ALL, entries } });
  assert.equal(both.featuresPerStep, TEMPLATES_PER_CHANNEL + SOFT_LEXICON_TEMPLATES);
  const ids = both.featureIds(chars, 4096);
  const sl = softLexiconFeatureIds(chars, SoftLexicon.fromSerialized(entries), 4096);
  const per = both.featuresPerStep;
  for (let t = 0; t < chars.length; t++) {
    assert.deepEqual([...ids.subarray(t * per + TEMPLATES_PER_CHANNEL, (t + 1) * per)], [...sl.subarray(t * SOFT_LEXICON_TEMPLATES, (t + 1) * SOFT_LEXICON_TEMPLATES)]);
  }
  const only = new TagFeatureExtractor({ softLexicon: { source: 'toy', ...ALL, entries } });
  assert.equal(only.featuresPerStep, SOFT_LEXICON_TEMPLATES);
  assert.deepEqual([...only.featureIds(chars, 4096)], [...sl]);
});

test('entries in any order, duplicates and characters outside the BMP match as code points', () => {
  const sorted = parseSoftLexicon(DICT, ALL);
  const shuffled = [...sorted].reverse();
  shuffled.push({ word: '北京', freq: 1, pos: 'x' }); // a less frequent duplicate loses
  const a = new SoftLexicon(sorted);
  const b = new SoftLexicon(shuffled);
  assert.deepEqual(wordSets(b, chars), wordSets(a, chars));
  assert.deepEqual(b.lookup('北京'), { word: '北京', freq: 100, pos: 'ns' });
  assert.equal(b.lookup('北京大'), undefined);
  const emoji = new SoftLexicon(parseSoftLexicon('😀长江 3 nz\n长江 9 ns', ALL));
  assert.equal(emoji.maxWordLength, 3);
  const cs = [...'看😀长江'];
  assert.deepEqual(emoji.matches(cs).map((m) => [m.start, m.end]), [[1, 4], [2, 4]]);
  // a word longer than maxWordLength is not kept
  assert.equal(new SoftLexicon(parseSoftLexicon('一二三 3 n', { maxWordLength: 2, topN: 0 })).size, 0);
});

test('feature ids are the hashes of the documented keys (trained artifacts depend on them)', () => {
  const buckets = 131072;
  const lex = new SoftLexicon(parseSoftLexicon(DICT, ALL));
  const ids = softLexiconFeatureIds(chars, lex, buckets);
  const h = (key: string) => 1 + (fnv1a32(key) % (buckets - 1));
  const wordsAt = wordSets(lex, chars);
  const info = (w: string) => lex.lookup(w)!;
  chars.forEach((c, t) => {
    const expected: number[] = [];
    let pattern = '';
    for (const name of ['B', 'M', 'E', 'S']) {
      const ws = wordsAt[t][name];
      if (ws.length > 0) pattern += name;
      const maxFreq = Math.max(...ws.map((w) => info(w).freq));
      const pos = ['nr', 'ns', 'nt', 'nz', 'n', 'x'].filter((p) => ws.some((w) => info(w).pos === p)).join('+');
      const len = Math.min(6, Math.max(...ws.map((w) => [...w].length)));
      expected.push(h(`sl.${name}#f\u0001${ws.length ? Math.floor(Math.log(maxFreq + 1) / Math.log(4)) : '-'}`));
      expected.push(h(`sl.${name}#p\u0001${ws.length ? pos : '-'}`));
      expected.push(h(`sl.${name}#l\u0001${ws.length ? len : '-'}`));
    }
    expected.push(h(`sl.pat\u0001${pattern}`), h(`sl.patc\u0001${pattern}\u0001${c}`));
    assert.deepEqual([...ids.subarray(t * SOFT_LEXICON_TEMPLATES, (t + 1) * SOFT_LEXICON_TEMPLATES)], expected, `position ${t} (${c})`);
  });
});

/** The B/M/E/S sets of every position from the matches, summarised: [T][4], each { count, maxFreq, posMask, maxLength }. */
function setSummaries(cs: readonly string[], lex: SoftLexicon) {
  const pos = ['nr', 'ns', 'nt', 'nz', 'n', 'x'];
  const out = cs.map(() => [0, 1, 2, 3].map(() => ({ count: 0, maxFreq: -1, posMask: 0, maxLength: 0 })));
  const add = (t: number, k: number, e: { freq: number; pos: string }, n: number) => {
    const s = out[t][k];
    s.count += 1;
    s.maxFreq = Math.max(s.maxFreq, e.freq);
    s.posMask |= 1 << pos.indexOf(e.pos);
    s.maxLength = Math.max(s.maxLength, n);
  };
  for (const { start, end, entry } of lex.matches(cs)) {
    const n = end - start;
    if (n === 1) add(start, 3, entry, 1);
    else {
      add(start, 0, entry, n);
      for (let t = start + 1; t < end - 1; t++) add(t, 1, entry, n);
      add(end - 1, 2, entry, n);
    }
  }
  return out;
}

/** softLexiconFeatureIds as its doc defines it, from the matches' sets and the hashed key strings. */
function featureIdsByKeys(cs: readonly string[], lex: SoftLexicon, numBuckets: number): Int32Array {
  const hash = (key: string) => 1 + (fnv1a32(key) % (numBuckets - 1));
  const names = ['B', 'M', 'E', 'S'];
  const pos = ['nr', 'ns', 'nt', 'nz', 'n', 'x'];
  const out = new Int32Array(cs.length * SOFT_LEXICON_TEMPLATES);
  setSummaries(cs, lex).forEach((sets, t) => {
    let pattern = '';
    sets.forEach((s, k) => {
      const empty = s.count === 0;
      if (!empty) pattern += names[k];
      const posText = pos.filter((_, i) => s.posMask & (1 << i)).join('+');
      out[t * SOFT_LEXICON_TEMPLATES + k * 3] = hash(`sl.${names[k]}#f\u0001${empty ? '-' : Math.min(freqClass(s.maxFreq), 62)}`);
      out[t * SOFT_LEXICON_TEMPLATES + k * 3 + 1] = hash(`sl.${names[k]}#p\u0001${empty ? '-' : posText}`);
      out[t * SOFT_LEXICON_TEMPLATES + k * 3 + 2] = hash(`sl.${names[k]}#l\u0001${empty ? '-' : Math.min(s.maxLength, 6)}`);
    });
    out[t * SOFT_LEXICON_TEMPLATES + 12] = hash(`sl.pat\u0001${pattern}`);
    out[t * SOFT_LEXICON_TEMPLATES + 13] = hash(`sl.patc\u0001${pattern}\u0001${cs[t]}`);
  });
  return out;
}

test('matches: every occurrence of every word (up to the longest word), by brute force; feature ids as the doc defines them', () => {
  // A small alphabet with a surrogate pair and a two-unit token, so words share first code units and pairs.
  const alphabet = ['北', '京', '大', '学', '😀', 'ab', 'a', '学'];
  const token = fc.constantFrom(...alphabet);
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.array(token, { minLength: 1, maxLength: 5 }), fc.nat(300000), fc.constantFrom('nr', 'ns', 'nt', 'n', 'v')), { maxLength: 40 }),
      fc.array(token, { maxLength: 16 }),
      fc.constantFrom(2, 1000, 131072),
      (words, cs, numBuckets) => {
        const lex = new SoftLexicon(parseSoftLexicon(words.map(([w, f, p]) => `${w.join('')} ${f} ${p}`).join('\n'), ALL));
        const dict = new Set(words.map(([w]) => w.join('')).filter((w) => [...w].length <= ALL.maxWordLength));
        const want: [number, number][] = [];
        for (let i = 0; i < cs.length; i++) {
          for (let j = i + 1; j <= cs.length && j - i <= lex.maxWordLength; j++) if (dict.has(cs.slice(i, j).join(''))) want.push([i, j]);
        }
        assert.deepEqual(lex.matches(cs).map((m) => [m.start, m.end]), want);
        assert.deepEqual(softLexiconFeatureIds(cs, lex, numBuckets), featureIdsByKeys(cs, lex, numBuckets));
      },
    ),
    { numRuns: 400 },
  );
});
