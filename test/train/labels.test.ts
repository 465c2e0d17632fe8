/**
 * Any label set, end to end through the CLI: a hand-written CoNLL file with
 * the types PRODUCT, BRAND and PER in plain BIO (test/fixtures/labels, not
 * from any corpus) trains (`train-ner`), evaluates (`eval`: per-label and
 * overall scores, no named/nominal), tags (`tag --json`) and serves
 * (`run --input`, file mode), the mention records carrying its labels in the
 * one mention JSON shape. A second model trains in-process from the same
 * data re-tagged in BIOES and gets a BIOES tag set (the default scheme
 * "auto" follows the data).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { projectRoot } from '../../cli/defaults.js';
import { readConll } from '../../models/data/conll.js';
import { NeuralTagger } from '../../models/tagger.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { spansToBioes } from '../../models/text/spans.js';
import { bioToSpans } from '../../models/text/spans.js';
import { DEFAULT_TRAIN_OPTIONS } from '../../pipeline/train/options.js';
import { trainNer } from '../../pipeline/train/trainNer.js';
import { MentionFields } from '../../schemas/types.generated.js';
import { testBackend } from '../support/backend.js';
import { spawnCli, within } from '../support/kafka.js';

const FIXTURES = join(projectRoot(), 'test', 'fixtures', 'labels');
const TRAIN = join(FIXTURES, 'products.train.conll');
const DEV = join(FIXTURES, 'products.dev.conll');
const POSTS = join(FIXTURES, 'posts.ndjson');
/** Small and quick: the fixture has 10 sentences. */
const CONFIG = { embeddingDim: 16, hiddenDim: 16, epochs: 20, earlyStopPatience: 20, batchSize: 4, learningRate: 0.02 };

let work: string;
let model: string;

async function cli(args: string[], ms = 120_000): Promise<{ stdout: string; stderr: string }> {
  const run = spawnCli(args);
  const { code } = await within(run.exited, ms, `mentionflow ${args[0]}`);
  assert.equal(code, 0, `mentionflow ${args.join(' ')} exited ${code}: ${run.stderr.slice(-2000)}`);
  return { stdout: run.stdout, stderr: run.stderr };
}

function lines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

type MentionOut = { text: string; label: string; type: string; kind: string; start: number; end: number };

before(() => {
  work = mkdtempSync(join(tmpdir(), 'mf-labels-'));
  model = join(work, 'model');
  writeFileSync(join(work, 'config.json'), JSON.stringify(CONFIG));
});

after(() => rmSync(work, { recursive: true, force: true }));

test('train-ner takes the tag set from the data: BIO over BRAND, PER, PRODUCT, stored in the artifact', { timeout: 180_000 }, async () => {
  const { stderr } = await cli(['train-ner', '--train', TRAIN, '--dev', DEV, '--out', model, '--config', join(work, 'config.json'), '--quiet']);
  assert.match(stderr, /7 NER tags \(BIO, the data's scheme, over BRAND PER PRODUCT\)/);
  assert.doesNotMatch(stderr, /named|nominal/, 'no named/nominal scores for labels without NAM/NOM');
  const manifest = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8')) as { modelId: string; scheme: string; tags: { ner: { tags: string[] } } };
  assert.equal(manifest.modelId, 'ner-bilstm-crf');
  assert.equal(manifest.scheme, 'BIO');
  assert.deepEqual(manifest.tags.ner.tags, ['O', 'B-BRAND', 'I-BRAND', 'B-PER', 'I-PER', 'B-PRODUCT', 'I-PRODUCT']);
});

test('eval scores per label and overall, without named/nominal rows', { timeout: 120_000 }, async () => {
  const { stdout } = await cli(['eval', '--model', model, '--data', DEV, '--json']);
  const { scores } = JSON.parse(stdout) as { scores: { perLabel: Record<string, { f1: number; tp: number; fn: number }>; overall: { f1: number }; named?: unknown } };
  assert.deepEqual(Object.keys(scores.perLabel), ['BRAND', 'PER', 'PRODUCT']);
  const gold = (await readConll(DEV)).flatMap((s) => bioToSpans(s.tags));
  assert.equal(Object.values(scores.perLabel).reduce((n, s) => n + s.tp + s.fn, 0), gold.length, 'every gold mention counted once');
  assert.ok(scores.overall.f1 >= 80, `dev F1 ${scores.overall.f1}: the fixture's names recur, a trained model finds them`);
  assert.equal('named' in scores, false);
  const readable = await cli(['eval', '--model', model, '--data', DEV]);
  assert.match(readable.stdout, /^PRODUCT /m);
  assert.doesNotMatch(readable.stdout, /^(named|nominal) /m);
  assert.doesNotMatch(readable.stderr, /warning/);
  // The shipped WeiboNER model on this data: warned that it never predicts these labels.
  const weibo = await cli(['eval', '--data', DEV]);
  assert.match(weibo.stderr, /has labels the model never predicts: BRAND, PER, PRODUCT \(the model's: PER\.NAM, /);
});

test('tag --json and run --input print the same mention shape, with the model\'s labels', { timeout: 120_000 }, async () => {
  const text = '张伟说青禾的极光耳机很好用。';
  const tagged = lines((await cli(['tag', '--model', model, '--json', text])).stdout);
  assert.equal(tagged.length, 1);
  const fromTag = tagged[0].mentions as MentionOut[];
  for (const m of fromTag) assert.deepEqual(Object.keys(m), [...MentionFields]);
  assert.deepEqual(
    fromTag.map((m) => [m.text, m.label, m.type, m.kind]),
    [
      ['张伟', 'PER', 'PER', 'UNKNOWN'],
      ['青禾', 'BRAND', 'UNKNOWN', 'UNKNOWN'],
      ['极光耳机', 'PRODUCT', 'UNKNOWN', 'UNKNOWN'],
    ],
  );

  const records = lines((await cli(['run', '--model', model, '--input', POSTS, '--log-level', 'warn'])).stdout);
  const posts = lines(readFileSync(POSTS, 'utf8'));
  assert.deepEqual(records.map((r) => r.post_id), posts.map((p) => p.id));
  const byPost = new Map(records.map((r) => [r.post_id, r.mentions as MentionOut[]]));
  // The first post is the text tagged above: the same mentions, the same keys (confidence aside: float32 on the wire).
  const strip = (ms: MentionOut[]) => ms.map(({ text: t, label, type, kind, start, end }) => ({ text: t, label, type, kind, start, end }));
  assert.equal(posts[0].text, text);
  assert.deepEqual(strip(byPost.get(posts[0].id as string)!), strip(fromTag));
  for (const ms of byPost.values()) for (const m of ms) assert.deepEqual(Object.keys(m), [...MentionFields]);
  const labels = new Set([...byPost.values()].flat().map((m) => m.label));
  assert.deepEqual([...labels].sort(), ['BRAND', 'PER', 'PRODUCT']);
  assert.deepEqual(byPost.get(posts[2].id as string), [], 'a post without names has no mentions');
});

test('BIOES data trains a BIOES model by default (scheme "auto"): the same labels, S-/E- tags in the artifact', { timeout: 180_000 }, async () => {
  await testBackend();
  const bioes = join(work, 'products.bioes.conll');
  const toBioes = async (file: string) =>
    (await readConll(file)).map((s) => {
      const tags = spansToBioes(bioToSpans(s.tags), s.chars.length);
      return s.chars.map((c, i) => `${c}\t${tags[i]}`).join('\n') + '\n';
    });
  writeFileSync(bioes, (await toBioes(TRAIN)).join('\n'));
  const bioesDev = join(work, 'products.dev.bioes.conll');
  writeFileSync(bioesDev, (await toBioes(DEV)).join('\n'));
  assert.match(readFileSync(bioes, 'utf8'), /\tE-PRODUCT\n/);
  const out = join(work, 'model-bioes');
  const result = await trainNer({ trainFile: bioes, devFile: bioesDev, outDir: out, options: { ...DEFAULT_TRAIN_OPTIONS, ...CONFIG }, quiet: true, log: () => {} });
  result.model.dispose();
  assert.equal(result.bestScores.named, undefined);
  assert.ok(result.bestScores.overall.f1 >= 80, `dev F1 ${result.bestScores.overall.f1}`);
  const { model: loaded } = await TaggerModel.load(out);
  const tagger = new NeuralTagger(loaded);
  try {
    assert.equal(loaded.meta.scheme, 'BIOES');
    assert.deepEqual(loaded.nerTags.labels, ['BRAND', 'PER', 'PRODUCT']);
    assert.ok(loaded.nerTags.has('S-PER') && loaded.nerTags.has('E-PRODUCT'));
    const [mentions] = await tagger.tag(['王芳买了星河的云帆手表。']);
    assert.deepEqual(mentions.map((m) => [m.text, m.label]), [
      ['王芳', 'PER'],
      ['星河', 'BRAND'],
      ['云帆手表', 'PRODUCT'],
    ]);
  } finally {
    tagger.dispose();
  }
});
