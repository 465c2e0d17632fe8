/**
 * `mentionflow eval`: exact-span P/R/F1 of a model on a CoNLL file, as in the
 * paper's Table 1; of several models (the seeds of a configuration), each
 * one's and their mean ± sd; with `--task seg`, the segmentation head's word
 * P/R/F1 and OOV recall on a segmented file, as the SIGHAN bakeoff scores them.
 */
import { writeFile } from 'node:fs/promises';
import { ConfigError } from '../../common/errors.js';
import { readWordList } from '../../models/data/segmentation.js';
import type { SegScores } from '../../models/eval/segScorer.js';
import { biesToWordSpans } from '../../models/text/segTags.js';
import { useBackend, type BackendChoice } from '../../models/backend.js';
import { type InferencePrecision, useInferencePrecision } from '../../models/layers/nativeLstm.js';
import { meanScores, type MeanNerScores, type MeanPrf } from '../../models/eval/meanSd.js';
import { formatConllevalLines, type NerScores, type PrfScore } from '../../models/eval/spanScorer.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { tagsToSpans } from '../../models/text/labels.js';
import { evaluateNer, evaluateSegmentation } from '../../pipeline/train/evaluate.js';
import { readSegSource } from '../../pipeline/train/sources/openSource.js';
import { SOURCE_SYNTAX_HELP } from '../../pipeline/train/sources/sourceSpec.js';
import { BACKEND_OPTION, checkPath, type CommandSpec, type Parsed, PRECISION_OPTION } from '../args.js';
import { readLabelled, requireSource, sourceKafka } from '../sourceOption.js';
import type { NerSentence } from '../../models/data/conll.js';
import { defaultModelDir, modelDirList } from '../defaults.js';

export const spec: CommandSpec = {
  name: 'eval',
  summary: 'score a model on labelled data: precision, recall, F1 by exact span, per label, overall (and named, nominal for NAM/NOM labels)',
  usage: 'mentionflow eval --data SOURCE [--model DIR[,DIR...]] [--json] [--write-predictions FILE] | eval --task seg --data SOURCE [--train-words FILE | --train-words-from SOURCE] [--model DIR] [--json]',
  options: {
    model: { type: 'string', arg: 'DIR', description: 'model artifact directory (default: the shipped model, models/default); for ner, comma-separated directories (the seeds of a configuration) score each model and their mean ± sd' },
    task: { type: 'string', arg: 'TASK', description: 'ner: mentions by exact span; seg: the segmentation head\'s words', choices: ['ner', 'seg'], default: 'ner' },
    data: { type: 'string', arg: 'SOURCE', description: 'ner: char-per-line CoNLL file with gold tags (BIO or BIOES, any labels); seg: segmented text, one sentence a line, words separated by spaces (NLPCC 2016, SIGHAN gold files); or any example source with NER spans / segmentation (see below)' },
    'train-words': { type: 'string', arg: 'FILE', description: 'seg: the training word list for OOV recall, one word a line (SIGHAN\'s *_training_words.utf8; the first field of a line)' },
    'train-words-from': { type: 'string', arg: 'SOURCE', description: 'seg: take the training word list from the words of this segmented training corpus (e.g. the NLPCC 2016 train file)' },
    json: { type: 'boolean', description: 'print the scores as JSON' },
    'write-predictions': { type: 'string', arg: 'FILE', description: 'ner: write "char gold predicted" lines (conlleval input) to FILE; seg: the predicted segmentation, one sentence a line, words separated by spaces (the SIGHAN score script\'s input)' },
    backend: BACKEND_OPTION,
    precision: PRECISION_OPTION,
  },
  notes:
    'Scores are percentages; a mention counts only if its start, end and label all match (conlleval semantics).\nNamed and nominal rows appear when the labels have the NAM/NOM split (WeiboNER).\nCheck them with conlleval: perl conlleval.pl -d " " < FILE\n' +
    'Several models (--model DIR,DIR,...): each model\'s overall, named and nominal P/R/F1 on a line, then every row\'s mean ± sample sd over the models (the README\'s "mean ± sd over seeds"); to compare two configurations, mentionflow compare.\n' +
    'With --task seg: a predicted word counts if its span is a gold word (SIGHAN bakeoff scoring); OOV recall is the recall of gold words not in the training word list, IV recall of those in it, OOV rate their share of gold words.\n' +
    'example: mentionflow eval --task seg --data ../shared/corpora/nlpcc2016-weibo-cws/nlpcc2016-wordseg-dev.dat --train-words-from ../shared/corpora/nlpcc2016-weibo-cws/nlpcc2016-word-seg-train.dat\n\n' +
    SOURCE_SYNTAX_HELP,
};

export function formatScores(s: NerScores): string {
  const rows: [string, PrfScore][] = [
    ...Object.entries(s.perLabel).sort(([a], [b]) => a.localeCompare(b)),
    ...(s.named && s.nominal ? ([['named', s.named], ['nominal', s.nominal]] as [string, PrfScore][]) : []),
    ['overall', s.overall],
  ];
  const lines = ['label        precision  recall     F1   gold  pred', '-----------------------------------------------'];
  for (const [name, r] of rows) {
    lines.push(`${name.padEnd(12)} ${r.precision.toFixed(2).padStart(9)} ${r.recall.toFixed(2).padStart(7)} ${r.f1.toFixed(2).padStart(6)} ${String(r.tp + r.fn).padStart(6)} ${String(r.tp + r.fp).padStart(5)}`);
  }
  return lines.join('\n');
}

/** The segmentation scores as a table: words P/R/F1, then OOV rate, OOV and IV recall when a training word list was given. */
export function formatSegScores(s: SegScores): string {
  const w = s.words;
  const lines = [
    'words        precision  recall     F1   gold  pred',
    '-----------------------------------------------',
    `${'words'.padEnd(12)} ${w.precision.toFixed(2).padStart(9)} ${w.recall.toFixed(2).padStart(7)} ${w.f1.toFixed(2).padStart(6)} ${String(w.tp + w.fn).padStart(6)} ${String(w.tp + w.fp).padStart(5)}`,
  ];
  if (s.oov && s.iv) {
    lines.push(`OOV rate ${(s.oovRate ?? 0).toFixed(2)}   OOV recall ${s.oov.recall.toFixed(2)} (${s.oov.correct} of ${s.oov.gold})   IV recall ${s.iv.recall.toFixed(2)} (${s.iv.correct} of ${s.iv.gold})`);
  }
  return lines.join('\n');
}

/** The training word list of --train-words / --train-words-from, with a description of where it came from; undefined when neither is given. */
async function trainWords(p: Parsed): Promise<{ words: Set<string>; from: string } | undefined> {
  const list = p.values['train-words'];
  const corpus = p.values['train-words-from'];
  if (typeof list === 'string' && typeof corpus === 'string') throw new ConfigError('give --train-words or --train-words-from, not both');
  if (typeof list === 'string') {
    checkPath(list, '--train-words');
    const words = await readWordList(list);
    return { words, from: `word list ${list}` };
  }
  if (typeof corpus === 'string') {
    const spec = await requireSource(p, 'train-words-from', 'eval', 'seg');
    const sentences = (await readSegSource(spec, { where: '--train-words-from', fingerprintRole: 'train-words', kafka: sourceKafka() })).sentences;
    return { words: new Set(sentences.flatMap((s) => s.words)), from: `the words of ${spec}` };
  }
  return undefined;
}

async function runSeg(p: Parsed, dir: string): Promise<number> {
  const data = await requireSource(p, 'data', spec.name, 'seg');
  const train = await trainWords(p);
  await useBackend(p.values.backend as BackendChoice);
  useInferencePrecision(p.values.precision as InferencePrecision);
  const sentences = (await readSegSource(data, { where: '--data', fingerprintRole: 'eval', kafka: sourceKafka() })).sentences;
  const { model, manifest } = await TaggerModel.load(dir);
  try {
    if (!model.segTags || !model.network.seg) {
      throw new ConfigError(`--model ${dir}: model ${manifest.modelId} ${manifest.modelVersion} has no segmentation head (trained for NER only); --task seg needs a model trained with train-joint, such as the shipped default`);
    }
    const { scores, sentences: scored, predictedTags } = await evaluateSegmentation(model, sentences, train?.words);
    if (typeof p.values['write-predictions'] === 'string') {
      const lines = scored.map((s, i) => biesToWordSpans(predictedTags[i]).map((w) => s.chars.slice(w.start, w.end).join('')).join(' '));
      await writeFile(p.values['write-predictions'], lines.join('\n') + '\n');
    }
    const modelRef = { id: manifest.modelId, version: manifest.modelVersion, dir };
    if (p.values.json) {
      process.stdout.write(JSON.stringify({ model: modelRef, task: 'seg', data, sentences: scored.length, trainWords: train ? { from: train.from, words: train.words.size } : undefined, scores }) + '\n');
    } else {
      const oovNote = train ? `OOV relative to ${train.from} (${train.words.size} words)` : 'no --train-words / --train-words-from: OOV recall not computed';
      process.stdout.write(`model ${manifest.modelId} ${manifest.modelVersion}, segmentation head, on ${data} (${scored.length} sentences)\n${formatSegScores(scores)}\n${oovNote}\n`);
    }
  } finally {
    model.dispose();
  }
  return 0;
}

/** Several models' scores: a line per model, then the rows' mean ± sd over them. */
export function formatMeanScores(models: { id: string; version: string; dir: string; scores: NerScores }[], mean: MeanNerScores): string {
  const short = (s: PrfScore | undefined): string => (s ? `${s.precision.toFixed(2)} / ${s.recall.toFixed(2)} / ${s.f1.toFixed(2)}` : '-');
  const lines = ['model (P / R / F1)', ...models.map((m) => `${m.id} ${m.version} (${m.dir}): overall ${short(m.scores.overall)}${m.scores.named ? `; named ${short(m.scores.named)}; nominal ${short(m.scores.nominal)}` : ''}`), ''];
  const rows: [string, MeanPrf][] = [
    ...Object.entries(mean.perLabel),
    ...(mean.named && mean.nominal ? ([['named', mean.named], ['nominal', mean.nominal]] as [string, MeanPrf][]) : []),
    ['overall', mean.overall],
  ];
  const ms = (x: { mean: number; sd: number }): string => `${x.mean.toFixed(2)} ± ${x.sd.toFixed(2)}`.padStart(14);
  lines.push(`mean ± sd over ${mean.models} models`, `${'label'.padEnd(12)} ${'precision'.padStart(14)} ${'recall'.padStart(14)} ${'F1'.padStart(14)}   gold`, '-'.repeat(63));
  for (const [name, r] of rows) lines.push(`${name.padEnd(12)} ${ms(r.precision)} ${ms(r.recall)} ${ms(r.f1)} ${String(r.gold).padStart(6)}`);
  return lines.join('\n');
}

/** `eval --model DIR,DIR,...`: each model in turn (one in memory at a time), then the mean ± sd. */
async function runMany(p: Parsed, dirs: string[], data: string, sentences: NerSentence[]): Promise<number> {
  const models = [];
  for (const dir of dirs) {
    const { model, manifest } = await TaggerModel.load(dir);
    try {
      const { scores } = await evaluateNer(model, sentences);
      models.push({ id: manifest.modelId, version: manifest.modelVersion, dir, nonOBias: model.meta.nonOBias ?? 0, minSpanConfidence: model.meta.minSpanConfidence ?? 0, scores });
    } finally {
      model.dispose();
    }
  }
  const mean = meanScores(models.map((m) => m.scores));
  if (p.values.json) {
    process.stdout.write(JSON.stringify({ models, data, sentences: sentences.length, mean }) + '\n');
  } else {
    process.stdout.write(`${dirs.length} models on ${data} (${sentences.length} sentences)\n${formatMeanScores(models, mean)}\n`);
  }
  return 0;
}

export async function run(p: Parsed): Promise<number> {
  const dirs = typeof p.values.model === 'string' ? modelDirList(p.values.model, '--model') : [defaultModelDir()];
  if (p.values.task === 'seg') {
    if (dirs.length > 1) throw new ConfigError('--task seg scores one model: give one --model directory');
    return runSeg(p, dirs[0]);
  }
  for (const flag of ['train-words', 'train-words-from']) {
    if (p.values[flag] !== undefined) throw new ConfigError(`--${flag} is for --task seg (OOV recall of segmentation)`);
  }
  const data = await requireSource(p, 'data', spec.name, 'ner');
  if (dirs.length > 1 && typeof p.values['write-predictions'] === 'string') throw new ConfigError('--write-predictions writes one model\'s predictions: give one --model directory');
  await useBackend(p.values.backend as BackendChoice);
  useInferencePrecision(p.values.precision as InferencePrecision);
  const sentences = await readLabelled(data);
  if (dirs.length > 1) return runMany(p, dirs, data, sentences);
  const dir = dirs[0];
  const { model, manifest } = await TaggerModel.load(dir);
  try {
    const modelLabels = new Set(model.nerTags.labels);
    const foreign = [...new Set(sentences.flatMap((s) => tagsToSpans(s.tags).map((x) => x.label)))].filter((l) => !modelLabels.has(l)).sort();
    if (foreign.length > 0) {
      process.stderr.write(`eval: warning: ${data} has labels the model never predicts: ${foreign.join(', ')} (the model's: ${[...modelLabels].join(', ')})\n`);
    }
    const { scores, predictedTags } = await evaluateNer(model, sentences);
    if (typeof p.values['write-predictions'] === 'string') {
      const lines = formatConllevalLines(
        sentences.map((s) => s.chars),
        sentences.map((s) => s.tags),
        predictedTags,
      );
      await writeFile(p.values['write-predictions'], lines.join('\n') + '\n');
    }
    if (p.values.json) {
      process.stdout.write(JSON.stringify({ model: { id: manifest.modelId, version: manifest.modelVersion, dir, nonOBias: model.meta.nonOBias ?? 0, minSpanConfidence: model.meta.minSpanConfidence ?? 0 }, data, sentences: sentences.length, scores }) + '\n');
    } else {
      const t = model.meta.minSpanConfidence ?? 0;
      const bias = model.meta.nonOBias || t ? ` (decoding bias ${model.meta.nonOBias ?? 0} on non-O tags${t ? `, spans below confidence ${t} dropped` : ''}; mentionflow calibrate)` : '';
      process.stdout.write(`model ${manifest.modelId} ${manifest.modelVersion}${bias} on ${data} (${sentences.length} sentences)\n${formatScores(scores)}\n`);
    }
  } finally {
    model.dispose();
  }
  return 0;
}
