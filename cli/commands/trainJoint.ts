/** `mentionflow train-joint`: joint (or pipeline) segmentation + NER training on corpora files. */
import { ConfigError } from '../../common/errors.js';
import { useBackend, type BackendChoice } from '../../models/backend.js';
import { readConll } from '../../models/data/conll.js';
import { readSegmented } from '../../models/data/segmentation.js';
import { fingerprint } from '../../pipeline/train/fingerprint.js';
import { DEFAULT_TRAIN_OPTIONS, layered, readConfigFile, resolveTrainOptions } from '../../pipeline/train/options.js';
import { trainTagger } from '../../pipeline/train/trainTagger.js';
import { BACKEND_OPTION, numberOption, requireFile, requireString, type CommandSpec, type Parsed } from '../args.js';

export const spec: CommandSpec = {
  name: 'train-joint',
  summary: 'train NER jointly with word segmentation (shared embeddings and LSTM, alternating optimisation)',
  usage: 'mentionflow train-joint --ner-train FILE --ner-dev FILE --seg-train FILE --seg-dev FILE --out DIR [--mode joint|pipeline|features] [--config FILE]',
  options: {
    'ner-train': { type: 'string', arg: 'FILE', description: 'NER training data (char-per-line CoNLL)' },
    'ner-dev': { type: 'string', arg: 'FILE', description: 'NER dev data (model selection)' },
    'seg-train': { type: 'string', arg: 'FILE', description: 'segmented sentences, words separated by spaces (NLPCC 2016, SIGHAN 2005 PKU/MSR, ...)' },
    'seg-dev': { type: 'string', arg: 'FILE', description: 'segmented dev sentences' },
    out: { type: 'string', arg: 'DIR', description: 'output model directory' },
    mode: { type: 'string', arg: 'MODE', description: 'joint (alternating), pipeline (segmentation first, then NER) or features (a CRF segmenter trained first and frozen; its predicted segmentation gives the NER head segmentation features, Table 1 rows 2 and 6)', default: 'joint' },
    lambda: { type: 'string', arg: 'X', description: `weight of the segmentation loss (default ${DEFAULT_TRAIN_OPTIONS.lambda})` },
    seed: { type: 'string', arg: 'N', description: `random seed (default ${DEFAULT_TRAIN_OPTIONS.seed})` },
    epochs: { type: 'string', arg: 'N', description: `maximum epochs (default ${DEFAULT_TRAIN_OPTIONS.epochs})` },
    dropout: { type: 'string', arg: 'X', description: `dropout on the LSTM input (default ${DEFAULT_TRAIN_OPTIONS.dropout})` },
    config: { type: 'string', arg: 'FILE', description: 'JSON training options (see `mentionflow train-ner --help`)' },
    'model-id': { type: 'string', arg: 'ID', description: 'model id recorded in the artifact', default: 'weibo-ner-joint' },
    backend: BACKEND_OPTION,
    quiet: { type: 'boolean', description: 'no progress bars' },
    resume: { type: 'boolean', description: 'continue an interrupted run from DIR/checkpoint' },
  },
  notes: 'Each epoch alternates NER batches with batches of a fresh random subsample of the segmentation corpus the size of the NER training set.',
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
    }),
    typeof p.values.config === 'string' ? p.values.config : 'options',
  );
  const files = Object.fromEntries(['ner-train', 'ner-dev', 'seg-train', 'seg-dev', 'out'].map((k) => [k, k === 'out' ? requireString(p, k, spec.name) : requireFile(p, k, spec.name)]));
  const backend = await useBackend(p.values.backend as BackendChoice);
  process.stderr.write(`backend: ${backend}\n`);
  const [nerTrain, nerDev, segTrain, segDev] = await Promise.all([
    readConll(files['ner-train']),
    readConll(files['ner-dev']),
    readSegmented(files['seg-train']),
    readSegmented(files['seg-dev']),
  ]);
  const result = await trainTagger({
    ner: { train: nerTrain, dev: nerDev },
    seg: { train: segTrain, dev: segDev, mode },
    options,
    outDir: files.out,
    modelId: String(p.values['model-id']),
    data: [
      await fingerprint('ner-train', files['ner-train'], nerTrain.length),
      await fingerprint('ner-dev', files['ner-dev'], nerDev.length),
      await fingerprint('seg-train', files['seg-train'], segTrain.length),
      await fingerprint('seg-dev', files['seg-dev'], segDev.length),
    ],
    quiet: p.values.quiet === true,
    resume: p.values.resume === true,
  });
  result.model.dispose();
  return 0;
}
