/**
 * `mentionflow compare` and `mentionflow promote` (and `eval` of several
 * models) through the CLI, with two
 * small models trained here on the hand-written fixture test/fixtures/labels
 * (never a corpus's test split): a good one (20 epochs) and a weak one (one
 * epoch at a tiny learning rate). They are compared on the fixture's 13
 * sentences (train + dev; the point is the comparison, not generalisation).
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { projectRoot } from '../../cli/defaults.js';
import { passes } from '../../cli/commands/promote.js';
import { DEFAULT_TRAIN_OPTIONS } from '../../pipeline/train/options.js';
import { trainNer } from '../../pipeline/train/trainNer.js';
import { testBackend } from '../support/backend.js';
import { spawnCli, within } from '../support/kafka.js';
import { corruptWeights } from '../support/tiny.js';

const FIXTURES = join(projectRoot(), 'test', 'fixtures', 'labels');
const TRAIN = join(FIXTURES, 'products.train.conll');
const DEV = join(FIXTURES, 'products.dev.conll');
const SMALL = { embeddingDim: 16, hiddenDim: 16, batchSize: 4 };

let work: string;
let good: string;
let weak: string;
let data: string;

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = spawnCli(args);
  const { code } = await within(run.exited, 120_000, `mentionflow ${args.join(' ')}`);
  return { code, stdout: run.stdout, stderr: run.stderr };
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  assert.equal(r.code, 0, `mentionflow ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

type Row = { baseline: { f1: number; tp: number; fn: number }; candidate: { f1: number }; delta: number; ci: [number, number]; pValue: number };
type Comparison = { verdict: string; sentences: number; perLabel: Record<string, Row>; overall: Row; named?: Row };

const serving = (store: string): { version: string; previous?: string; reason?: string } => JSON.parse(readFileSync(join(store, 'SERVING'), 'utf8')) as { version: string };
const versions = (store: string): string[] => readdirSync(join(store, 'versions')).sort();

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'mf-promote-'));
  await testBackend();
  good = join(work, 'good');
  weak = join(work, 'weak');
  const log = (): void => {};
  const a = await trainNer({ trainFile: TRAIN, devFile: DEV, outDir: good, options: { ...DEFAULT_TRAIN_OPTIONS, ...SMALL, epochs: 20, earlyStopPatience: 20, learningRate: 0.02 }, quiet: true, log });
  a.model.dispose();
  const b = await trainNer({ trainFile: TRAIN, devFile: DEV, outDir: weak, options: { ...DEFAULT_TRAIN_OPTIONS, ...SMALL, epochs: 1, learningRate: 0.001 }, quiet: true, log });
  b.model.dispose();
  data = join(work, 'all.conll');
  writeFileSync(data, `${readFileSync(TRAIN, 'utf8').trimEnd()}\n\n${readFileSync(DEV, 'utf8')}`);
});

after(() => rmSync(work, { recursive: true, force: true }));

test('compare: a weak candidate is worse, with scores equal to eval, an interval below 0 and a small p', { timeout: 240_000 }, async () => {
  const c = JSON.parse(await ok(['compare', '--baseline', good, '--candidate', weak, '--data', data, '--json'])) as Comparison;
  assert.equal(c.sentences, 13);
  assert.deepEqual(Object.keys(c.perLabel), ['BRAND', 'PER', 'PRODUCT']);
  assert.equal(c.named, undefined, 'no named/nominal rows without NAM/NOM labels');
  const evalGood = JSON.parse(await ok(['eval', '--model', good, '--data', data, '--json'])) as { scores: { overall: { f1: number; tp: number } } };
  const evalWeak = JSON.parse(await ok(['eval', '--model', weak, '--data', data, '--json'])) as { scores: { overall: { f1: number } } };
  assert.equal(c.overall.baseline.f1, evalGood.scores.overall.f1, 'the baseline column is what eval says');
  assert.equal(c.overall.candidate.f1, evalWeak.scores.overall.f1, 'the candidate column is what eval says');
  assert.ok(c.overall.baseline.f1 >= 80, `good model F1 ${c.overall.baseline.f1}`);
  assert.ok(c.overall.delta < -30, `delta ${c.overall.delta}`);
  assert.ok(c.overall.ci[1] < 0, `interval ${c.overall.ci}`);
  assert.ok(c.overall.pValue < 0.05, `p ${c.overall.pValue}`);
  assert.equal(c.verdict, 'worse');
  const text = await ok(['compare', '--baseline', weak, '--candidate', good, '--data', data, '--samples', '300']);
  assert.match(text, /^overall +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +\+[\d.]+ +\[\+[\d.]+, \+[\d.]+\] +[\d.]+ +30$/m);
  assert.match(text, /^verdict: candidate is better: overall F1 /m);
});

test('compare: a model against itself differs by 0 with p = 1', { timeout: 120_000 }, async () => {
  const c = JSON.parse(await ok(['compare', '--baseline', good, '--candidate', good, '--data', data, '--json', '--samples', '200'])) as Comparison;
  assert.equal(c.overall.delta, 0);
  assert.deepEqual(c.overall.ci, [0, 0]);
  assert.equal(c.overall.pValue, 1);
  assert.equal(c.verdict, 'no significant difference');
});

test('compare: configurations given as lists of models score each side by its mean, with each model as eval says', { timeout: 240_000 }, async () => {
  type Side = { f1: number; f1Sd: number; perModel: { f1: number }[] };
  type Seeds = { verdict: string; models: { baseline: number; candidate: number }; overall: { baseline: Side; candidate: Side; delta: number; ci: [number, number] }; baseline: { dir: string }[] };
  const c = JSON.parse(await ok(['compare', '--baseline', weak, '--candidate', `${good},${weak}`, '--data', data, '--json', '--samples', '300'])) as Seeds;
  const f1 = async (dir: string): Promise<number> => (JSON.parse(await ok(['eval', '--model', dir, '--data', data, '--json'])) as { scores: { overall: { f1: number } } }).scores.overall.f1;
  const [g, w] = [await f1(good), await f1(weak)];
  assert.deepEqual(c.models, { baseline: 1, candidate: 2 });
  assert.deepEqual(c.baseline.map((m) => m.dir), [weak]);
  assert.deepEqual(c.overall.candidate.perModel.map((m) => m.f1), [g, w], 'each model as eval scores it');
  assert.ok(Math.abs(c.overall.candidate.f1 - (g + w) / 2) < 1e-9, 'the side is the mean of its models');
  assert.ok(Math.abs(c.overall.delta - ((g + w) / 2 - w)) < 1e-9);
  assert.ok(c.overall.candidate.f1Sd > 10, `sd ${c.overall.candidate.f1Sd} of two models ${g} and ${w}`);
  const text = await ok(['compare', '--baseline', weak, '--candidate', `${good},${weak}`, '--data', data, '--samples', '300']);
  assert.match(text, /^candidate 2 models: /m);
  assert.match(text, /^overall F1 of each model: baseline [\d.]+; candidate [\d.]+, [\d.]+$/m);
  assert.match(text, /^verdict: .*: mean overall F1 [\d.]+ ± 0\.00 -> [\d.]+ ± [\d.]+ \(/m);
  for (const [list, message] of [
    [`${good},${good}`, /^mentionflow compare: --candidate lists a directory twice: /],
    [`${good},`, /^mentionflow compare: --candidate ".*,": an empty entry in the list of model directories\n$/],
    [`${good},${join(work, 'missing')}`, /^mentionflow compare: --candidate .*missing: no such directory\n$/],
  ] as const) {
    const r = await cli(['compare', '--candidate', list, '--baseline', weak, '--data', data]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
  }
});

test('eval: several models print each one\'s scores and their mean ± sd; one-model options refuse a list', { timeout: 240_000 }, async () => {
  type Scores = { overall: { f1: number; precision: number } };
  const f1 = async (dir: string): Promise<number> => (JSON.parse(await ok(['eval', '--model', dir, '--data', data, '--json'])) as { scores: Scores }).scores.overall.f1;
  const [g, w] = [await f1(good), await f1(weak)];
  const m = JSON.parse(await ok(['eval', '--model', `${good},${weak}`, '--data', data, '--json'])) as {
    models: { dir: string; scores: Scores }[];
    sentences: number;
    mean: { models: number; overall: { f1: { mean: number; sd: number; n: number }; gold: number }; perLabel: Record<string, unknown> };
  };
  assert.equal(m.sentences, 13);
  assert.deepEqual(m.models.map((x) => [x.dir, x.scores.overall.f1]), [[good, g], [weak, w]], 'each model as eval scores it alone');
  assert.equal(m.mean.models, 2);
  assert.ok(Math.abs(m.mean.overall.f1.mean - (g + w) / 2) < 1e-9);
  assert.ok(Math.abs(m.mean.overall.f1.sd - Math.abs(g - w) / Math.SQRT2) < 1e-9, 'the sample sd of two values');
  assert.deepEqual(Object.keys(m.mean.perLabel), ['BRAND', 'PER', 'PRODUCT']);
  const text = await ok(['eval', '--model', `${good},${weak}`, '--data', data]);
  assert.match(text, /^2 models on .* \(13 sentences\)$/m);
  assert.match(text, /^mean ± sd over 2 models$/m);
  assert.match(text, new RegExp(`^overall +[\\d.]+ ± [\\d.]+ +[\\d.]+ ± [\\d.]+ +${((g + w) / 2).toFixed(2).replace('.', '\\.')} ± [\\d.]+ +30$`, 'm'));
  for (const [args, message] of [
    [['--model', `${good},${good}`], /^mentionflow eval: --model lists a directory twice: /],
    [['--model', `${good},${weak}`, '--write-predictions', join(work, 'p.txt')], /^mentionflow eval: --write-predictions writes one model's predictions: give one --model directory\n$/],
    [['--model', `${good},${weak}`, '--task', 'seg'], /^mentionflow eval: --task seg scores one model: give one --model directory\n$/],
  ] as const) {
    const r = await cli(['eval', ...args, '--data', data]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
  }
});

test('promote: first version, a worse candidate refused and nothing changed, forced, rolled back by comparison, a no-op', { timeout: 300_000 }, async () => {
  const store = join(work, 'store');
  const first = await ok(['promote', '--store', store, '--candidate', good]);
  assert.match(first, /^promoted \S+ in .*: first version in the store$/m);
  const goodName = serving(store).version;
  assert.deepEqual(versions(store), [goodName]);

  const noData = await cli(['promote', '--store', store, '--candidate', weak]);
  assert.equal(noData.code, 2);
  assert.match(noData.stderr, /^mentionflow promote: the store serves \S+: give --data FILE to compare the candidate with it, or --force\n$/);

  const refused = await cli(['promote', '--store', store, '--candidate', weak, '--data', data, '--samples', '300']);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /^mentionflow promote: refused: \S+ does not meet --require no-lower: overall F1 [\d.]+ -> [\d.]+ \(-[\d.]+, .*worse; nothing changed/);
  assert.match(refused.stdout, /^verdict: candidate is worse/m, 'the comparison is shown');
  assert.equal(serving(store).version, goodName);
  assert.deepEqual(versions(store), [goodName], 'a refused candidate is not added');

  const dry = await ok(['promote', '--store', store, '--candidate', weak, '--data', data, '--samples', '300', '--force', '--dry-run', '--json']);
  const dryDecision = JSON.parse(dry.trim().split('\n').pop() as string) as { decision: string; version: string };
  assert.equal(dryDecision.decision, 'would-promote');
  assert.deepEqual(versions(store), [goodName], '--dry-run changes nothing');

  const forced = JSON.parse(await ok(['promote', '--store', store, '--candidate', weak, '--data', data, '--samples', '300', '--force', '--json'])) as { decision: string; version: string; comparison: Comparison };
  assert.equal(forced.decision, 'promoted');
  assert.equal(forced.comparison.verdict, 'worse');
  assert.equal(forced.version, dryDecision.version);
  assert.notEqual(forced.version, goodName);
  const p = serving(store);
  assert.equal(p.version, forced.version);
  assert.equal(p.previous, goodName);
  assert.match(p.reason ?? '', /^forced past --require no-lower: overall F1/);
  assert.deepEqual(versions(store), [goodName, forced.version].sort());

  // back to the good one: it is better than the one in service, so no --force is needed
  const back = await ok(['promote', '--store', store, '--existing', goodName, '--data', data, '--samples', '300', '--require', 'better']);
  assert.match(back, /^promoted \S+ in .* \(previous: \S+\): overall F1 .* better$/m);
  assert.equal(serving(store).version, goodName);
  const again = await ok(['promote', '--store', store, '--candidate', good]);
  assert.match(again, /is already in service/, 'the same artifact is recognised in the store');
  const history = readFileSync(join(store, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { version: string }).version);
  assert.deepEqual(history, [goodName, forced.version, goodName]);
});

test('promote: a candidate that fails to load is refused even with --force, and the store is unchanged', { timeout: 120_000 }, async () => {
  const store = join(work, 'store-corrupt');
  await ok(['promote', '--store', store, '--candidate', good]);
  const before = readFileSync(join(store, 'SERVING'), 'utf8');
  const corrupt = join(work, 'corrupt');
  cpSync(weak, corrupt, { recursive: true });
  corruptWeights(corrupt);
  const r = await cli(['promote', '--store', store, '--candidate', corrupt, '--force']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^mentionflow promote: refused: candidate .*corrupt fails to load: .*checksum mismatch/);
  assert.equal(readFileSync(join(store, 'SERVING'), 'utf8'), before);
  assert.equal(versions(store).length, 1);
});

test('promote and compare: usage mistakes exit 2 with one line naming the flag', { timeout: 120_000 }, async () => {
  const store = join(work, 'store-usage');
  const cases: [string[], RegExp][] = [
    [['promote', '--store', store], /^mentionflow promote: give either --candidate DIR or --existing NAME$/],
    [['promote', '--store', store, '--candidate', good, '--existing', 'x'], /give either --candidate DIR or --existing NAME$/],
    [['promote', '--store', join(work, 'no-store'), '--existing', 'x'], /not a model store/],
    [['promote', '--store', store, '--candidate', good, '--samples', '0'], /^mentionflow promote: --samples must be an integer >= 1/],
    [['promote', '--store', store, '--candidate', good, '--require', 'best'], /^mentionflow promote: --require must be one of no-lower, not-worse, better, got "best"/],
    [['compare', '--candidate', good, '--data', data, '--confidence', '1'], /^mentionflow compare: --confidence must lie strictly between 0 and 1, got "1"$/],
    [['compare', '--candidate', join(work, 'missing'), '--data', data], /^mentionflow compare: --candidate .*missing: no such directory$/],
    [['compare', '--candidate', good], /^mentionflow compare: missing --data/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}, ${r.stderr}`);
    assert.match(r.stderr.trimEnd(), re);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
  }
  assert.equal(existsSync(store), false, 'a usage mistake makes no store');
});

test('promote --dry-run of a first version makes no store', { timeout: 120_000 }, async () => {
  const store = join(work, 'store-dry');
  const out = JSON.parse(await ok(['promote', '--store', store, '--candidate', good, '--dry-run', '--json'])) as { decision: string; version: string; serving: null };
  assert.equal(out.decision, 'would-promote');
  assert.match(out.version, /^ner-bilstm-crf@/);
  assert.equal(existsSync(store), false);
});

test('the --require rules', () => {
  assert.equal(passes('no-lower', 0, 'no significant difference'), true);
  assert.equal(passes('no-lower', -0.1, 'no significant difference'), false);
  assert.equal(passes('not-worse', -0.1, 'no significant difference'), true);
  assert.equal(passes('not-worse', -5, 'worse'), false);
  assert.equal(passes('better', 3, 'no significant difference'), false);
  assert.equal(passes('better', 3, 'better'), true);
});
