/**
 * `mentionflow segment` and `mentionflow eval --task seg`, run as a user
 * would: one output line per input line, words that cover the text, scores
 * that match the predictions written and the SIGHAN scorer's definitions on
 * hand-written data, and one line with exit 2 for each mistake (a model
 * without a segmentation head among them).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { projectRoot } from '../../cli/defaults.js';
import { parseSegmented } from '../../models/data/segmentation.js';
import { scoreSegmentation } from '../../models/eval/segScorer.js';
import { lengthsToBies } from '../../models/text/segTags.js';
import { testBackend } from '../support/backend.js';
import { tinyModel } from '../support/tiny.js';

const main = join(projectRoot(), 'dist', 'cli', 'main.js');
const work = mkdtempSync(join(tmpdir(), 'mf-segment-'));
const nerOnly = join(work, 'ner-only');

function cli(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', input, timeout: 60_000, env: { ...process.env, MENTIONFLOW_BROKERS: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function mistake(args: string[], re: RegExp): void {
  const r = cli(args);
  assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], re);
}

/** Hand-written segmented sentences (not corpus excerpts). */
const GOLD = '我 在 北京 见到 了 张三\n今天 天气 很 好\n\n他 来到 了 五道口\n';
const WORD_LIST = '我\r\n在\r\n北京\r\n了\r\n今天\r\n天气\r\n很\r\n好\r\n他\r\n来到\r\n'; // CRLF, as SIGHAN's lists

before(async () => {
  await testBackend();
  const m = tinyModel();
  await m.save(nerOnly, { training: { seed: 1, epochs: 1, bestEpoch: 1, data: [], options: {} }, scores: {} });
  m.dispose();
  writeFileSync(join(work, 'gold.txt'), GOLD);
  writeFileSync(join(work, 'words.txt'), WORD_LIST);
});


describe('mentionflow segment', () => {
  it('one output line per input line (blank stays blank, a BOM is dropped); the words are the line without its whitespace', () => {
    const lines = ['我在北京见到了周杰伦', '', '今天 天气不错😀，去五道口吃饭', '张三是老师'];
    const file = join(work, 'in.txt');
    writeFileSync(file, '\uFEFF' + lines.join('\n') + '\n');
    for (const r of [cli(['segment', '--input', file]), cli(['segment'], lines.join('\n') + '\n')]) {
      assert.equal(r.status, 0, r.stderr);
      const out = r.stdout.split('\n').slice(0, -1);
      assert.equal(out.length, lines.length);
      out.forEach((o, i) => assert.equal(o.replace(/ /g, ''), lines[i].replace(/\s/gu, '')));
      assert.ok(out[0].split(' ').length >= 3 && out[0].split(' ').length < 10, out[0]);
    }
  });

  it('--json: {text, words: [{text, start, end, start_utf16, end_utf16}]} per text', () => {
    const text = '今天 天气不错😀，去五道口吃饭';
    const r = cli(['segment', '--json', text, '我在北京']);
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { text: string; words: { text: string; start: number; end: number; start_utf16: number; end_utf16: number }[] });
    assert.deepEqual(rows.map((x) => x.text), [text, '我在北京']);
    for (const w of rows[0].words) {
      assert.equal(Array.from(text).slice(w.start, w.end).join(''), w.text);
      assert.equal(text.slice(w.start_utf16, w.end_utf16), w.text);
    }
  });

  it('mistakes: a model without a segmentation head, texts given twice, a missing input file', () => {
    mistake(['segment', '--model', nerOnly, '我爱上海'], /^mentionflow segment: --model .*ner-only: model tiny test has no segmentation head \(trained for NER only\); use a model trained with train-joint/);
    mistake(['segment', '--input', join(work, 'gold.txt'), 'x'], /^mentionflow segment: give the texts as arguments or with --input, not both$/);
    mistake(['segment', '--input', join(work, 'missing.txt')], /^mentionflow segment: --input .*missing\.txt: no such file$/);
  });
});

describe('mentionflow eval --task seg', () => {
  it('scores equal the SIGHAN definitions recomputed from the predictions it writes; OOV against the word list given', () => {
    const pred = join(work, 'pred.txt');
    const r = cli(['eval', '--task', 'seg', '--data', join(work, 'gold.txt'), '--train-words', join(work, 'words.txt'), '--json', '--write-predictions', pred]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { task: string; sentences: number; trainWords: { words: number }; scores: ReturnType<typeof scoreSegmentation> };
    assert.equal(out.task, 'seg');
    assert.equal(out.sentences, 3); // the blank line is no sentence
    assert.equal(out.trainWords.words, 10);
    const gold = parseSegmented(GOLD, 'gold');
    const predicted = parseSegmented(readFileSync(pred, 'utf8'), 'pred');
    assert.deepEqual(predicted.map((s) => s.chars), gold.map((s) => s.chars));
    const expected = scoreSegmentation(gold.map((s) => s.chars), gold.map((s) => s.tags), predicted.map((s) => s.tags), new Set(WORD_LIST.split('\r\n').filter(Boolean)));
    assert.deepEqual(out.scores, expected);
    // by hand: 14 gold words; 见到, 张三, 五道口 are not in the list
    assert.equal(out.scores.words.tp + out.scores.words.fn, 14);
    assert.equal(out.scores.oov?.gold, 3);
    assert.ok(Math.abs((out.scores.oovRate ?? 0) - 300 / 14) < 1e-9);
    assert.deepEqual(gold.map((s) => s.tags), gold.map((s) => lengthsToBies(s.words.map((w) => Array.from(w).length))));
  });

  it('--train-words-from: the words of a segmented corpus; the table names the list', () => {
    const r = cli(['eval', '--task', 'seg', '--data', join(work, 'gold.txt'), '--train-words-from', join(work, 'gold.txt')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^words +[\d.]+ +[\d.]+ +[\d.]+ +14 +\d+$/m);
    assert.match(r.stdout, /OOV rate 0\.00 +OOV recall 0\.00 \(0 of 0\)/); // every gold word is in its own list
    assert.match(r.stdout, /OOV relative to the words of .*gold\.txt \(13 words\)/); // 14 words, 13 distinct (了 twice)
  });

  it('mistakes: a model without a segmentation head, both word lists, a word list with --task ner', () => {
    mistake(['eval', '--task', 'seg', '--data', join(work, 'gold.txt'), '--model', nerOnly], /^mentionflow eval: --model .*ner-only: model tiny test has no segmentation head \(trained for NER only\); --task seg needs a model trained with train-joint/);
    mistake(['eval', '--task', 'seg', '--data', join(work, 'gold.txt'), '--train-words', join(work, 'words.txt'), '--train-words-from', join(work, 'gold.txt')], /^mentionflow eval: give --train-words or --train-words-from, not both$/);
    mistake(['eval', '--data', join(work, 'gold.txt'), '--train-words', join(work, 'words.txt')], /^mentionflow eval: --train-words is for --task seg/);
    mistake(['eval', '--task', 'pos', '--data', join(work, 'gold.txt')], /^mentionflow eval: --task must be one of/);
  });
});
