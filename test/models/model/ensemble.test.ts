/**
 * Ensembles (models/ensemble.ts, TaggerModel with members): an ensemble of
 * one member decodes exactly as that member; an ensemble of two decodes the
 * mean of the members' CRF log-potentials (checked on a hand-set toy case and
 * against the members' own potentials), with the decoding bias on the
 * averaged emissions; it saves, loads and serves through the inline and
 * thread taggers; no tensor is left behind.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ModelArtifactError } from '../../../common/errors.js';
import type { BackendChoice } from '../../../models/backend.js';
import { ensembleModel, ensembleSummary, type LoadedMember } from '../../../models/ensemble.js';
import { NeuralTagger } from '../../../models/tagger.js';
import { TaggerModel } from '../../../models/taggerModel.js';
import { ThreadTagger } from '../../../models/threadTagger.js';
import { testBackend } from '../../support/backend.js';
import { allPaths, pathScore } from '../../support/bruteForce.js';
import { fitTiny, TINY, tinyModel } from '../../support/tiny.js';

const TRAINING = { seed: 1, epochs: 1, bestEpoch: 1, data: [], options: {} };
const BACKEND = (process.env.MENTIONFLOW_BACKEND ?? 'auto') as BackendChoice;
const texts = TINY.map((s) => s.chars);

let dir: string;

before(async () => {
  await testBackend();
  dir = await mkdtemp(join(tmpdir(), 'mentionflow-ensemble-'));
  // Two members of one configuration, different seeds and training lengths.
  const a = tinyModel({ seed: 1, lexicalBuckets: 256 });
  const b = tinyModel({ seed: 2, lexicalBuckets: 256 });
  await fitTiny(a, 30);
  await fitTiny(b, 8);
  await a.save(join(dir, 'a'), { training: { ...TRAINING, seed: 1 }, scores: { f1: 1 } });
  await b.save(join(dir, 'b'), { training: { ...TRAINING, seed: 2 }, scores: { f1: 2 } });
  a.dispose();
  b.dispose();
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const load = async (name: string): Promise<LoadedMember> => ({ ...(await TaggerModel.load(join(dir, name))), dir: join(dir, name) });

/** Builds, saves and disposes an ensemble of the saved models `names`; returns its directory. */
async function buildEnsemble(names: string[], out: string, nonOBias = 0): Promise<string> {
  const members = await Promise.all(names.map(load));
  const model = ensembleModel(members, { nonOBias });
  try {
    await model.save(join(dir, out), { training: members[0].manifest.training, scores: {} });
  } finally {
    model.dispose();
  }
  return join(dir, out);
}

test('an ensemble of one member saves in the ensemble format and decodes exactly as the member: tags, spans, confidences, emissions', async () => {
  const out = await buildEnsemble(['a'], 'one');
  const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
  assert.equal(manifest.formatVersion, 5);
  assert.equal(manifest.ensemble.members.length, 1);
  assert.equal(manifest.ensemble.members[0].training.seed, 1);
  assert.ok(manifest.weights.tensors.every((t: { name: string }) => t.name.startsWith('members/0/')));
  const { model: member } = await TaggerModel.load(join(dir, 'a'));
  const { model: one } = await TaggerModel.load(out);
  try {
    assert.equal(one.members.length, 1);
    assert.deepEqual(await one.predict(texts), await member.predict(texts));
    assert.deepEqual(await one.nerEmissions(texts), await member.nerEmissions(texts));
    assert.deepEqual(one.crfScores('ner'), member.crfScores('ner'));
  } finally {
    member.dispose();
    one.dispose();
  }
});

test('an ensemble of two decodes the mean of the members\' emissions and CRF scores (Viterbi over the averaged potentials, checked by brute force)', async () => {
  const out = await buildEnsemble(['a', 'b'], 'two');
  const { model: a } = await TaggerModel.load(join(dir, 'a'));
  const { model: b } = await TaggerModel.load(join(dir, 'b'));
  const { model: two } = await TaggerModel.load(out);
  try {
    assert.equal(two.members.length, 2);
    const [sa, sb, s2] = [a.crfScores('ner'), b.crfScores('ner'), two.crfScores('ner')];
    for (const key of ['trans', 'start', 'end'] as const) {
      s2[key].forEach((v, i) => assert.ok(Math.abs(v - (sa[key][i] + sb[key][i]) / 2) < 1e-3, `${key}[${i}]`));
    }
    assert.ok(sa.trans.some((v, i) => Math.abs(v - sb.trans[i]) > 1e-3), 'the members differ');
    const [ea, eb, e2] = [await a.nerEmissions(texts), await b.nerEmissions(texts), await two.nerEmissions(texts)];
    let differ = 0;
    e2.forEach((e, s) =>
      e.forEach((v, i) => {
        assert.ok(Math.abs(v - (ea[s][i] + eb[s][i]) / 2) < 1e-4, `sentence ${s} emission ${i}: ${v} vs mean ${(ea[s][i] + eb[s][i]) / 2}`);
        if (Math.abs(ea[s][i] - eb[s][i]) > 1e-2) differ++;
      }),
    );
    assert.ok(differ > 0, 'the members\' emissions differ');
    // The best path of the averaged potentials, by enumeration, on the short sentences.
    const preds = await two.predict(texts);
    const k = s2.numTags;
    for (const [s, chars] of texts.entries()) {
      if (chars.length > 4) continue;
      let best = -Infinity;
      let bestPath: number[] = [];
      for (const path of allPaths(k, chars.length)) {
        const score = pathScore(s2, e2[s], path);
        if (score > best) [best, bestPath] = [score, path];
      }
      assert.deepEqual(preds[s].tags, bestPath.map((id) => two.nerTags.tag(id)), `sentence ${s}`);
    }
  } finally {
    a.dispose();
    b.dispose();
    two.dispose();
  }
});

test('toy case: members that each tag every character (one PER, the other LOC) average to all O, and the bias applies to the averaged emissions', async () => {
  // Hand-set members: zero LSTM read-out and lexical weights and CRF scores, constant emissions from the read-out bias.
  const toy = (emission: Record<string, number>): TaggerModel => {
    const m = tinyModel({ seed: 3 });
    for (const v of m.network.params().values()) tf.tidy(() => v.assign(tf.zerosLike(v)));
    const bias = new Float32Array(m.nerTags.size).fill(-10); // every other non-O tag far below O
    bias[m.nerTags.id('O')] = 0;
    for (const [tag, x] of Object.entries(emission)) bias[m.nerTags.id(tag)] = x;
    tf.tidy(() => m.network.ner.linear!.bias.assign(tf.tensor1d(bias)));
    return m;
  };
  const per = toy({ 'B-PER.NAM': 2, 'B-LOC.NAM': -4 });
  const loc = toy({ 'B-PER.NAM': -4, 'B-LOC.NAM': 1 });
  await per.save(join(dir, 'per'), { training: TRAINING, scores: {} });
  await loc.save(join(dir, 'loc'), { training: TRAINING, scores: {} });
  const sentence = [['我', '爱', '上', '海']];
  try {
    assert.deepEqual((await per.predict(sentence))[0].tags, ['B-PER.NAM', 'B-PER.NAM', 'B-PER.NAM', 'B-PER.NAM']);
    assert.deepEqual((await loc.predict(sentence))[0].tags, ['B-LOC.NAM', 'B-LOC.NAM', 'B-LOC.NAM', 'B-LOC.NAM']);
  } finally {
    per.dispose();
    loc.dispose();
  }
  // Mean emissions: PER -1, LOC -1.5, O 0, others -10 -> all O. With bias 1.5 on the mean: PER 0.5, LOC 0, O 0, others -8.5 -> all PER.
  for (const [bias, expected] of [[0, 'O'], [1.5, 'B-PER.NAM']] as const) {
    const { model: ens } = await TaggerModel.load(await buildEnsemble(['per', 'loc'], `toy-${bias}`, bias));
    try {
      const e = (await ens.nerEmissions(sentence))[0];
      assert.equal(e[ens.nerTags.id('B-PER.NAM')], -1);
      assert.equal(e[ens.nerTags.id('B-LOC.NAM')], -1.5);
      assert.equal(ens.meta.nonOBias, bias);
      assert.deepEqual((await ens.predict(sentence))[0].tags, [expected, expected, expected, expected], `bias ${bias}`);
    } finally {
      ens.dispose();
    }
  }
});

test('an ensemble serves through the inline and thread taggers alike, keeps its members through a re-save (calibrate --out), and leaks no tensor', async () => {
  const before = tf.memory().numTensors;
  const out = await buildEnsemble(['a', 'b'], 'served', 0.5);
  assert.equal(tf.memory().numTensors, before, 'building and saving');
  const { model } = await TaggerModel.load(out);
  const loadedCount = tf.memory().numTensors;
  const joined = texts.map((c) => c.join(''));
  const inline = await new NeuralTagger(model).tag(joined);
  await model.predict(texts);
  await model.nerEmissions(texts, 2);
  assert.equal(tf.memory().numTensors, loadedCount, 'tagging');
  assert.ok(inline.some((ms) => ms.length > 0));
  const thread = await ThreadTagger.open(out, { backend: BACKEND });
  try {
    assert.deepEqual(await thread.tag(joined), inline);
  } finally {
    await thread.close();
  }
  model.meta.nonOBias = 0.75;
  const manifest = await model.save(join(dir, 'resaved'), { training: TRAINING, scores: {} });
  assert.equal(manifest.formatVersion, 5);
  assert.deepEqual(manifest.ensemble!.members.map((m) => m.training.seed), [1, 2]);
  const { model: again } = await TaggerModel.load(join(dir, 'resaved'));
  assert.equal(again.members.length, 2);
  assert.deepEqual(await again.predict(texts), await model.predict(texts));
  again.dispose();
  model.dispose();
  assert.equal(tf.memory().numTensors, before, 'after dispose');
});

test('members that do not fit together, an ensemble as a member and a broken ensemble manifest are refused', async () => {
  const other = tinyModel({ seed: 1, lexicalBuckets: 128 });
  await other.save(join(dir, 'other'), { training: TRAINING, scores: {} });
  other.dispose();
  const before = tf.memory().numTensors;
  const members = [await load('a'), await load('other')];
  assert.throws(() => ensembleModel(members), (err: unknown) => err instanceof ConfigError && /lexical buckets/.test(err.message));
  for (const m of members) m.model.dispose();
  const nested = [await load('a'), await load('two')];
  assert.throws(() => ensembleModel(nested), (err: unknown) => err instanceof ConfigError && /is an ensemble already/.test(err.message));
  for (const m of nested) m.model.dispose();
  assert.equal(tf.memory().numTensors, before);
  const m = JSON.parse(await readFile(join(dir, 'two', 'manifest.json'), 'utf8'));
  m.ensemble = { members: [] };
  await writeFile(join(dir, 'two', 'manifest.json'), JSON.stringify(m));
  await assert.rejects(TaggerModel.load(join(dir, 'two')), (err: unknown) => err instanceof ModelArtifactError && /ensemble\.members/.test(err.message));
});

test('an ensemble\'s own training record: members in brief, union of data, shared options, members\' dev scores when all have them', () => {
  const fp = (role: string, sha256: string) => ({ role, file: `${role}.txt`, sha256, sentences: 3 });
  const member = (seed: number, epochs: number, dev?: number) => ({
    modelVersion: `v-seed${seed}`,
    network: {} as never,
    training: { seed, epochs, bestEpoch: epochs - 1, data: [fp('ner-train', 'aa'), fp('embeddings', seed === 1 ? 'e1' : 'e2')], options: { seed, epochs: 20, dropout: 0.3 } },
    scores: dev === undefined ? {} : { dev: { overall: { f1: dev } } },
  });
  const s = ensembleSummary([member(1, 9, 60), member(2, 14, 61)]);
  assert.deepEqual(s.training.ensemble, {
    members: [
      { modelVersion: 'v-seed1', seed: 1, epochs: 9, bestEpoch: 8 },
      { modelVersion: 'v-seed2', seed: 2, epochs: 14, bestEpoch: 13 },
    ],
    differingOptions: ['seed'],
  });
  assert.deepEqual(s.training.options, { dropout: 0.3, epochs: 20 });
  assert.deepEqual(s.training.data.map((d) => `${d.role}:${d.sha256}`), ['ner-train:aa', 'embeddings:e1', 'embeddings:e2']);
  assert.deepEqual([s.training.seed, s.training.epochs, s.training.bestEpoch], [1, 0, 0]);
  assert.deepEqual(s.scores, { membersDev: [{ overall: { f1: 60 } }, { overall: { f1: 61 } }] });
  assert.deepEqual(ensembleSummary([member(1, 9, 60), member(2, 14)]).scores, {});
});
