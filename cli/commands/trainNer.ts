/** `mentionflow train-ner`: single-task NER training (see pipeline/train/trainNer.ts). */
import { useBackend, type BackendChoice } from '../../models/backend.js';
import { layered, readConfigFile, resolveTrainOptions, DEFAULT_TRAIN_OPTIONS } from '../../pipeline/train/options.js';
import { trainNer } from '../../pipeline/train/trainNer.js';
import { SOURCE_SYNTAX_HELP } from '../../pipeline/train/sources/sourceSpec.js';
import { BACKEND_OPTION, numberOption, requireFile, requireString, type CommandSpec, type Parsed } from '../args.js';
import { requireSource, sourceKafka } from '../sourceOption.js';

export const spec: CommandSpec = {
  name: 'train-ner',
  summary: 'train the character BiLSTM-CRF NER tagger on CoNLL files (or any example source) and save the best epoch as a model artifact',
  usage: 'mentionflow train-ner --train SOURCE --dev SOURCE --out DIR [--config FILE] [options]',
  options: {
    train: { type: 'string', arg: 'SOURCE', description: 'training data: a char-per-line CoNLL file, BIO or BIOES, any labels (WeiboNER v1/v2, or e.g. B-PRODUCT): the model\'s tag set; or an Avro container, archive directory/glob or topic range of LabeledExample records (see below)' },
    dev: { type: 'string', arg: 'SOURCE', description: 'dev data for per-epoch evaluation and model selection (same syntax)' },
    out: { type: 'string', arg: 'DIR', description: 'output model directory (artifact, history.jsonl, training-curve.svg)' },
    config: { type: 'string', arg: 'FILE', description: 'JSON file of training options (keys as in the notes below)' },
    seed: { type: 'string', arg: 'N', description: `random seed (default ${DEFAULT_TRAIN_OPTIONS.seed})` },
    epochs: { type: 'string', arg: 'N', description: `maximum epochs (default ${DEFAULT_TRAIN_OPTIONS.epochs})` },
    'batch-size': { type: 'string', arg: 'N', description: `sentences per batch (default ${DEFAULT_TRAIN_OPTIONS.batchSize})` },
    'learning-rate': { type: 'string', arg: 'X', description: `learning rate (default ${DEFAULT_TRAIN_OPTIONS.learningRate})` },
    optimizer: { type: 'string', arg: 'adam|sgd', description: `optimizer (default ${DEFAULT_TRAIN_OPTIONS.optimizer})` },
    dropout: { type: 'string', arg: 'X', description: `dropout on the LSTM input (default ${DEFAULT_TRAIN_OPTIONS.dropout})` },
    lexicon: { type: 'string', arg: 'FILE', description: 'name dictionary, jieba "word freq pos" lines (person nr/nrt/nrfg, place ns, organisation nt): dictionary-match features, words stored in the artifact (config key lexiconFile)' },
    'soft-lexicon': { type: 'string', arg: 'FILE', description: 'general dictionary, jieba "word freq pos" lines (jieba\'s dict.txt: bash deploy/fetch-jieba-dict.sh): SoftLexicon B/M/E/S word-set features, kept words stored in the artifact (config key softLexiconFile)' },
    backend: BACKEND_OPTION,
    quiet: { type: 'boolean', description: 'no progress bars' },
    resume: { type: 'boolean', description: 'continue an interrupted run from DIR/checkpoint' },
  },
  notes: `config file keys (JSON) and defaults:\n${Object.entries(DEFAULT_TRAIN_OPTIONS)
    .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
    .join('\n')}\ncommand-line flags override the config file. The learning rate halves after lrPatience epochs without dev gain;\ntraining stops after earlyStopPatience such epochs or at epochs.\n\n${SOURCE_SYNTAX_HELP}`,
};

export async function run(p: Parsed): Promise<number> {
  const fromFile = typeof p.values.config === 'string' ? await readConfigFile(p.values.config) : {};
  const flags = {
    seed: numberOption(p, 'seed', { integer: true, min: 0 }),
    epochs: numberOption(p, 'epochs', { integer: true, min: 1 }),
    batchSize: numberOption(p, 'batch-size', { integer: true, min: 1 }),
    learningRate: numberOption(p, 'learning-rate', { min: 0 }),
    dropout: numberOption(p, 'dropout', { min: 0, max: 0.99 }),
    optimizer: p.values.optimizer as string | undefined,
    lexiconFile: p.values.lexicon as string | undefined,
    softLexiconFile: p.values['soft-lexicon'] as string | undefined,
  };
  const options = resolveTrainOptions(layered(fromFile, flags), typeof p.values.config === 'string' ? p.values.config : 'options');
  if (typeof p.values.lexicon === 'string') requireFile(p, 'lexicon', spec.name);
  if (typeof p.values['soft-lexicon'] === 'string') requireFile(p, 'soft-lexicon', spec.name);
  const train = await requireSource(p, 'train', spec.name, 'ner');
  const dev = await requireSource(p, 'dev', spec.name, 'ner');
  const out = requireString(p, 'out', spec.name);
  const backend = await useBackend(p.values.backend as BackendChoice);
  process.stderr.write(`backend: ${backend}\n`);
  const result = await trainNer({ trainFile: train, devFile: dev, outDir: out, options, kafka: sourceKafka(), quiet: p.values.quiet === true, resume: p.values.resume === true });
  result.model.dispose();
  return 0;
}
