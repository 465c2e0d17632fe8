/** `mentionflow ensemble`: one model artifact averaging the CRF potentials of several trained models (models/ensemble.ts). */
import { ConfigError } from '../../common/errors.js';
import { useBackend, type BackendChoice } from '../../models/backend.js';
import { ensembleModel, ensembleSummary, type LoadedMember } from '../../models/ensemble.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { BACKEND_OPTION, checkPath, numberOption, type CommandSpec, type Parsed } from '../args.js';

export const spec: CommandSpec = {
  name: 'ensemble',
  summary: 'build one model artifact from several trained models (e.g. seeds of one configuration) that decodes by the mean of their CRF potentials',
  usage: 'mentionflow ensemble --members DIR,DIR,... --out DIR [--model-version V] [--non-o-bias B]',
  options: {
    members: { type: 'string', arg: 'LIST', description: 'comma-separated model artifact directories (single models reading the same vocabulary and tags)' },
    out: { type: 'string', arg: 'DIR', description: 'directory to write the ensemble artifact to' },
    'model-version': { type: 'string', arg: 'V', description: 'modelVersion of the ensemble (default: ensembleN- plus the members\' versions)' },
    'non-o-bias': { type: 'string', arg: 'B', description: 'decoding bias added to the averaged non-O emissions; the members\' own biases are dropped', default: '0' },
    backend: BACKEND_OPTION,
  },
  notes: [
    'Decoding averages the members\' emissions and CRF transition, start and end scores (the mean of their log-potentials) and runs one Viterbi; span confidences come from the same averaged CRF.',
    'Every command that takes --model (tag, run, eval, calibrate, compare, promote, segment) loads an ensemble as it loads one model; it costs one forward pass per member.',
    'The artifact is one manifest and one weights.bin holding every member (N times a member\'s size). Calibrate its bias with `mentionflow calibrate --model OUT --data DEV --out OUT-calibrated`.',
    'example: mentionflow ensemble --members runs/s1/model,runs/s2/model,runs/s3/model --out runs/ens3',
  ].join('\n'),
};

export async function run(p: Parsed): Promise<number> {
  if (typeof p.values.members !== 'string' || p.values.members.trim() === '') throw new ConfigError('--members is required: comma-separated model directories');
  if (typeof p.values.out !== 'string') throw new ConfigError('--out is required: the directory to write the ensemble to');
  const dirs = p.values.members.split(',').map((d) => d.trim()).filter((d) => d !== '');
  if (new Set(dirs).size !== dirs.length) throw new ConfigError(`--members lists a directory twice: ${dirs.join(',')}`);
  for (const d of dirs) checkPath(d, '--members', 'dir');
  const nonOBias = numberOption(p, 'non-o-bias') ?? 0;
  const out = p.values.out;
  await useBackend(p.values.backend as BackendChoice);
  const loaded: LoadedMember[] = [];
  try {
    for (const dir of dirs) loaded.push({ ...(await TaggerModel.load(dir)), dir });
  } catch (err) {
    for (const m of loaded) m.model.dispose();
    throw err;
  }
  let model: TaggerModel;
  try {
    model = ensembleModel(loaded, { modelVersion: typeof p.values['model-version'] === 'string' ? p.values['model-version'] : undefined, nonOBias });
  } catch (err) {
    for (const m of loaded) m.model.dispose();
    throw err;
  }
  try {
    const manifest = await model.save(out, ensembleSummary(model.ensemble!));
    const biases = loaded.filter((m) => (m.manifest.decoding?.nonOBias ?? 0) !== 0).map((m) => `${m.dir}: ${m.manifest.decoding!.nonOBias}`);
    if (biases.length > 0) process.stderr.write(`note: members' decoding biases dropped (${biases.join('; ')}); the ensemble's is ${nonOBias}\n`);
    const thresholds = loaded.filter((m) => (m.manifest.decoding?.minSpanConfidence ?? 0) !== 0).map((m) => `${m.dir}: ${m.manifest.decoding!.minSpanConfidence}`);
    if (thresholds.length > 0) process.stderr.write(`note: members' span-confidence thresholds dropped (${thresholds.join('; ')}); the ensemble has none (mentionflow calibrate --threshold chooses one)\n`);
    process.stdout.write(`wrote ${out}: model ${manifest.modelId} ${manifest.modelVersion}, ${dirs.length} member${dirs.length === 1 ? '' : 's'}, ${(manifest.weights.bytes / 1e6).toFixed(1)} MB of weights\n`);
  } finally {
    model.dispose();
  }
  return 0;
}
