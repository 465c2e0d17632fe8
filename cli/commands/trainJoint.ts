/** `mentionflow train-joint`: joint (or pipeline) segmentation + NER training on corpora files. */
import { ConfigError } from '../../common/errors.js';
import { useBackend, type BackendChoice } from '../../models/backend.js';
import { readNerSource, readSegSource } from '../../pipeline/train/sources/openSource.js';
import { SOURCE_SYNTAX_HELP } from '../../pipeline/train/sources/sourceSpec.js';
import { DEFAULT_TRAIN_OPTIONS, layered, readConfigFile, resolveTrainOptions } from '../../pipeline/train/options.js';
import { trainTagger } from '../../pipeline/train/trainTagger.js';
import { withNamedFrom } from '../../pipeline/train/namedFrom.js';
import { BACKEND_OPTION, numberOption, requireFile, requireString, type CommandSpec, type Parsed } from '../args.js';
import { checkSourceOption, requireSource, sourceKafka } from '../sourceOption.js';

export const spec: CommandSpec = {
  name: 'train-joint',
  summary: 'train NER jointly with word segmentation (shared embeddings and LSTM, alternating optimisation)',
  usage: 'mentionflow train-joint --ner-train SOURCE --ner-dev SOURCE --seg-train SOURCE --seg-dev SOURCE --out DIR [--mode joint|pipeline|features] [--named-from SOURCE] [--silver SOURCE [--silver-ratio K]] [--config FILE]',
  options: {
    'ner-train': { type: 'string', arg: 'SOURCE', description: 'NER training data (a char-per-line CoNLL file, or any example source with NER spans)' },
    'ner-dev': { type: 'string', arg: 'SOURCE', description: 'NER dev data (model selection)' },
    'seg-train': { type: 'string', arg: 'SOURCE', description: 'segmented sentences, words separated by spaces (NLPCC 2016, SIGHAN 2005 PKU/MSR, ...), or any example source with segmentation' },
    'seg-dev': { type: 'string', arg: 'SOURCE', description: 'segmented dev sentences' },
    out: { type: 'string', arg: 'DIR', description: 'output model directory' },
    mode: { type: 'string', arg: 'MODE', description: 'joint (alternating), pipeline (segmentation first, then NER) or features (a CRF segmenter trained first and frozen; its predicted segmentation gives the NER head segmentation features, Table 1 rows 2 and 6)', default: 'joint' },
    lambda: { type: 'string', arg: 'X', description: `weight of the segmentation loss, > 0 (default ${DEFAULT_TRAIN_OPTIONS.lambda}; the paper tunes it in [0.5, 1])` },
    seed: { type: 'string', arg: 'N', description: `random seed (default ${DEFAULT_TRAIN_OPTIONS.seed})` },
    epochs: { type: 'string', arg: 'N', description: `maximum epochs (default ${DEFAULT_TRAIN_OPTIONS.epochs})` },
    dropout: { type: 'string', arg: 'X', description: `dropout on the LSTM input (default ${DEFAULT_TRAIN_OPTIONS.dropout})` },
    config: { type: 'string', arg: 'FILE', description: 'JSON training options (see `mentionflow train-ner --help`)' },
    'soft-lexicon': { type: 'string', arg: 'FILE', description: 'general dictionary, jieba "word freq pos" lines (jieba\'s dict.txt: bash deploy/fetch-jieba-dict.sh): SoftLexicon B/M/E/S word-set features, kept words stored in the artifact (config key softLexiconFile)' },
    'named-from': { type: 'string', arg: 'SOURCE', description: 'another annotation of the --ner-train sentences (matched by text): its named mentions (TYPE.NAM) replace theirs, their nominal ones stay (one overlapping a named span is left out); e.g. WeiboNER v2\'s train split for v1\'s (README, "Recall-leaning training")' },
    silver: { type: 'string', arg: 'SOURCE', multiple: true, description: 'silver NER data, repeatable: a teacher\'s labels of unlabelled text (`mentionflow distil`), mixed into every epoch (--silver-ratio); dev and model selection stay on gold' },
    'silver-ratio': { type: 'string', arg: 'K', description: `silver sentences per epoch, a fresh subsample of K x the gold training set's size, in (0, 100] (default ${DEFAULT_TRAIN_OPTIONS.silverRatio}; config key silverRatio)` },
    'model-id': { type: 'string', arg: 'ID', description: 'model id recorded in the artifact', default: 'weibo-ner-joint' },
    backend: BACKEND_OPTION,
    quiet: { type: 'boolean', description: 'no progress bars' },
    resume: { type: 'boolean', description: 'continue an interrupted run from DIR/checkpoint' },
  },
  notes: 'Each epoch alternates NER batches with batches of a fresh random subsample of the segmentation corpus the size of the NER training set.\n\n' + SOURCE_SYNTAX_HELP,
};

export async function run(p: Parsed): Promise<number> {
  const mode = p.values.mode;
  if (mode !== 'joint' && mode !== 'pipeline' && mode !== 'features') throw new ConfigError(`--mode must be joint, pipeline or features, got "${mode}"`);
  const fromFile = typeof p.values.config === 'string' ? await readConfigFile(p.values.config) : {};
  const options = resolveTrainOptions(
    layered(fromFile, {
      lambda: numberOption(p, 'lambda', { min: 0 }),
      seed: numberOption(p, 'seed', { integer: true, min: 0 }),
      epochs: numberOption(p, 'epochs', { integer: true, min: 1 }),
      dropout: numberOption(p, 'dropout', { min: 0, max: 0.99 }),
      softLexiconFile: p.values['soft-lexicon'] as string | undefined,
      silverRatio: numberOption(p, 'silver-ratio', { min: 0, max: 100 }),
    }),
    typeof p.values.config === 'string' ? p.values.config : 'options',
  );
  if (typeof p.values['soft-lexicon'] === 'string') requireFile(p, 'soft-lexicon', spec.name);
  const sources = {
    'ner-train': await requireSource(p, 'ner-train', spec.name, 'ner'),
    'ner-dev': await requireSource(p, 'ner-dev', spec.name, 'ner'),
    'seg-train': await requireSource(p, 'seg-train', spec.name, 'seg'),
    'seg-dev': await requireSource(p, 'seg-dev', spec.name, 'seg'),
  };
  const silverSources = (p.values.silver as string[] | undefined) ?? [];
  if (silverSources.length === 0 && p.values['silver-ratio'] !== undefined) throw new ConfigError('--silver-ratio needs --silver (the silver data it mixes in)');
  for (const source of silverSources) await checkSourceOption(source, '--silver', 'ner');
  const namedFromSource = p.values['named-from'] as string | undefined;
  if (namedFromSource !== undefined) await checkSourceOption(namedFromSource, '--named-from', 'ner');
  const out = requireString(p, 'out', spec.name);
  const kafka = sourceKafka();
  const ner = (name: 'ner-train' | 'ner-dev') => readNerSource(sources[name], { where: `--${name}`, fingerprintRole: name, kafka });
  const seg = (name: 'seg-train' | 'seg-dev') => readSegSource(sources[name], { where: `--${name}`, fingerprintRole: name, kafka });
  const [nerTrain, nerDev, segTrain, segDev] = await Promise.all([ner('ner-train'), ner('ner-dev'), seg('seg-train'), seg('seg-dev')]);
  const silver = await Promise.all(silverSources.map((s) => readNerSource(s, { where: '--silver', fingerprintRole: 'silver', kafka })));
  const namedFrom = namedFromSource === undefined ? undefined : await readNerSource(namedFromSource, { where: '--named-from', fingerprintRole: 'named-from', kafka });
  let train = nerTrain.sentences;
  if (namedFrom !== undefined) {
    const merged = withNamedFrom(train, namedFrom.sentences);
    const st = merged.stats;
    process.stderr.write(`--named-from: named mentions of ${st.matched} of ${st.sentences} training sentences from ${namedFromSource} (${st.namedSpans} named spans for their ${st.replacedNamedSpans}; ${st.overlaps} nominal spans left out for overlapping one; ${st.sentences - st.matched} sentences without a match keep their own)\n`);
    train = merged.sentences;
  }
  const backend = await useBackend(p.values.backend as BackendChoice);
  process.stderr.write(`backend: ${backend}\n`);
  const result = await trainTagger({
    ner: { train, dev: nerDev.sentences },
    seg: { train: segTrain.sentences, dev: segDev.sentences, mode },
    silver: silver.length > 0 ? silver.flatMap((s) => s.sentences) : undefined,
    options,
    outDir: out,
    modelId: String(p.values['model-id']),
    data: [nerTrain.fingerprint, ...(namedFrom ? [namedFrom.fingerprint] : []), nerDev.fingerprint, segTrain.fingerprint, segDev.fingerprint, ...silver.map((s) => s.fingerprint)],
    quiet: p.values.quiet === true,
    resume: p.values.resume === true,
  });
  result.model.dispose();
  return 0;
}
