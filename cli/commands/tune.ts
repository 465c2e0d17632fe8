/** `mentionflow tune`: grid search of lambda and dropout for the joint model on dev. */
import { ConfigError } from '../../common/errors.js';
import { useBackend, type BackendChoice } from '../../models/backend.js';
import type { DatasetVersion } from '../../pipeline/train/experiments/corpora.js';
import { runTune } from '../../pipeline/train/experiments/tune.js';
import { layered, readConfigFile, resolveTrainOptions } from '../../pipeline/train/options.js';
import { SOURCE_SYNTAX_HELP } from '../../pipeline/train/sources/sourceSpec.js';
import { BACKEND_OPTION, checkPath, numberOption, type CommandSpec, type Parsed } from '../args.js';
import { requireSource, sourceKafka } from '../sourceOption.js';
import { corporaDir } from '../defaults.js';

export const spec: CommandSpec = {
  name: 'tune',
  summary: 'grid-search lambda in [0.5, 1] and dropout in [0, 0.5] for the joint model (row 11) by NER dev F1',
  usage: 'mentionflow tune [--dataset v2] [--lambdas 0.5,0.75,1] [--dropouts 0,0.25,0.5] [--seeds N] [--out DIR] [--ner-train SOURCE --ner-dev SOURCE --seg-train SOURCE --seg-dev SOURCE]',
  options: {
    dataset: { type: 'string', arg: 'v1|v2', description: 'WeiboNER version', default: 'v2' },
    lambdas: { type: 'string', arg: 'LIST', description: 'segmentation loss weights to try, each in [0.5, 1]', default: '0.5,0.75,1' },
    dropouts: { type: 'string', arg: 'LIST', description: 'LSTM-input dropout rates to try, each in [0, 0.5]', default: '0,0.25,0.5' },
    seeds: { type: 'string', arg: 'N', description: 'seeds per grid point', default: '1' },
    epochs: { type: 'string', arg: 'N', description: 'maximum epochs per run' },
    out: { type: 'string', arg: 'DIR', description: 'report and run folders', default: 'runs/tune' },
    corpora: { type: 'string', arg: 'DIR', description: 'corpora folder (default ../shared/corpora or $MENTIONFLOW_CORPORA)' },
    config: { type: 'string', arg: 'FILE', description: 'JSON training options for every run' },
    'ner-train': { type: 'string', arg: 'SOURCE', description: "NER training data instead of the dataset's (runs go under OUT/sources/)" },
    'ner-dev': { type: 'string', arg: 'SOURCE', description: "NER dev data instead of the dataset's" },
    'seg-train': { type: 'string', arg: 'SOURCE', description: 'segmentation training data instead of NLPCC 2016 train' },
    'seg-dev': { type: 'string', arg: 'SOURCE', description: 'segmentation dev data instead of NLPCC 2016 dev' },
    backend: BACKEND_OPTION,
    quiet: { type: 'boolean', description: 'no progress bars' },
  },
  notes: SOURCE_SYNTAX_HELP,
};

function list(p: Parsed, name: string, min: number, max: number): number[] {
  const xs = String(p.values[name]).split(',').map(Number);
  for (const x of xs) if (!Number.isFinite(x) || x < min || x > max) throw new ConfigError(`--${name} values must be numbers in [${min}, ${max}], got "${p.values[name]}"`);
  return xs;
}

export async function run(p: Parsed): Promise<number> {
  const dataset = p.values.dataset as DatasetVersion;
  if (dataset !== 'v1' && dataset !== 'v2') throw new ConfigError(`--dataset must be v1 or v2, got "${dataset}"`);
  const fromFile = typeof p.values.config === 'string' ? await readConfigFile(p.values.config) : {};
  const base = resolveTrainOptions(layered(fromFile, { epochs: numberOption(p, 'epochs', { integer: true, min: 1 }) }));
  const lambdas = list(p, 'lambdas', 0.5, 1);
  const dropouts = list(p, 'dropouts', 0, 0.5);
  const seeds = numberOption(p, 'seeds', { integer: true, min: 1, max: 100 })!;
  const source = async (name: string, role: 'ner' | 'seg') => (typeof p.values[name] === 'string' ? requireSource(p, name, spec.name, role) : undefined);
  const sources = { nerTrain: await source('ner-train', 'ner'), nerDev: await source('ner-dev', 'ner'), segTrain: await source('seg-train', 'seg'), segDev: await source('seg-dev', 'seg') };
  const corpora = typeof p.values.corpora === 'string' ? p.values.corpora : corporaDir();
  if (Object.values(sources).some((s) => s === undefined)) checkPath(corpora, typeof p.values.corpora === 'string' ? '--corpora' : 'corpora folder (--corpora or MENTIONFLOW_CORPORA)', 'dir');
  const backend = await useBackend(p.values.backend as BackendChoice);
  process.stderr.write(`backend: ${backend}\n`);
  const { best } = await runTune({
    corporaDir: corpora,
    dataset,
    lambdas,
    dropouts,
    seeds,
    base,
    outDir: String(p.values.out),
    sources,
    kafka: sourceKafka(),
    quiet: p.values.quiet === true,
  });
  process.stdout.write(`best: lambda ${best.lambda}, dropout ${best.dropout}, dev F1 ${best.f1.toFixed(2)} (report: ${p.values.out}/tune.md)\n`);
  return 0;
}
