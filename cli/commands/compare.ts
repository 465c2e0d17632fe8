/**
 * `mentionflow compare`: a candidate model against a baseline on labelled
 * data: both models' scores side by side, the F1 difference with a paired
 * bootstrap confidence interval and p-value over sentences, and a verdict.
 * Given comma-separated directories (the seeds of a configuration) on either
 * side, it compares the configurations' mean scores instead, with an
 * interval over both the sentences and the seeds.
 */
import { useBackend, type BackendChoice } from '../../models/backend.js';
import { type InferencePrecision, useInferencePrecision } from '../../models/layers/nativeLstm.js';
import { bootstrapSettings, type BootstrapOptions, type RowComparison, type SeedsRowComparison } from '../../models/eval/pairedBootstrap.js';
import { compareConfigurations, compareModels, type ConfigurationComparison, type ModelComparison } from '../../pipeline/train/compare.js';
import { BACKEND_OPTION, numberOption, PRECISION_OPTION, requireString, type CommandSpec, type OptionSpec, type Parsed } from '../args.js';
import { defaultModelDir, modelDirList } from '../defaults.js';
import { readLabelled, requireSource } from '../sourceOption.js';
import { ConfigError } from '../../common/errors.js';

/** The bootstrap's options, shared with `promote`. */
export const BOOTSTRAP_OPTIONS: Record<string, OptionSpec> = {
  samples: { type: 'string', arg: 'N', description: 'bootstrap resamples of the sentences', default: '1000' },
  confidence: { type: 'string', arg: 'LEVEL', description: 'confidence level of the interval, in (0, 1)', default: '0.95' },
  seed: { type: 'string', arg: 'N', description: 'seed of the resampling (the same seed gives the same interval)', default: '1' },
};

export const spec: CommandSpec = {
  name: 'compare',
  summary: 'compare a candidate model with a baseline on labelled data: scores side by side, F1 difference with a paired bootstrap confidence interval and p-value, a verdict',
  usage: 'mentionflow compare --candidate DIR[,DIR...] --data FILE [--baseline DIR[,DIR...]] [--json]',
  options: {
    baseline: { type: 'string', arg: 'DIR', description: 'model artifact directory of the baseline (default: the shipped model, models/default), or comma-separated directories: the seeds of a configuration' },
    candidate: { type: 'string', arg: 'DIR', description: 'model artifact directory of the candidate, or comma-separated directories: the seeds of a configuration' },
    data: { type: 'string', arg: 'SOURCE', description: 'gold-tagged examples, any example source as eval --data (a char-per-line CoNLL file, BIO or BIOES, any labels; Avro containers; ...): a dev set, never the test split you report on' },
    ...BOOTSTRAP_OPTIONS,
    json: { type: 'boolean', description: 'print the comparison as JSON' },
    backend: BACKEND_OPTION,
    precision: { ...PRECISION_OPTION, description: `${PRECISION_OPTION.description}; both models are scored at it (the precision your workers run)` },
  },
  notes: [
    'Rows: each label, named and nominal (for NAM/NOM labels), overall; exact-span P/R/F1 in percent as `eval`.',
    'dF1 = candidate F1 - baseline F1. The sentences are resampled with replacement (the same resample for both',
    'models: paired); the interval is the percentile interval of dF1 over the resamples, and p the two-sided',
    'p-value of "no difference" (the share of resamples at least as far from the observed dF1 as it is from 0).',
    'Verdict, from the overall row: better (interval above 0), worse (below 0), or no significant difference.',
    'Configurations: with several directories on a side (DIR,DIR,...: one model per seed), each side scores the mean',
    'of its models (P, R, F1, and F1 sd over its models), dF1 is the difference of the means, and every resample',
    'also draws each side\'s models with replacement, so the interval holds the seed\'s spread as well as the',
    'sentences\'. Five seeds a side make that part rough: read the interval as a guide.',
    'Example: mentionflow compare --baseline a/seed-1,a/seed-2,a/seed-3 --candidate b/seed-1,b/seed-2,b/seed-3 --data dev.conll',
    'Example: mentionflow compare --baseline models/default --candidate out/model --data dev.conll',
  ].join('\n'),
};

/** The bootstrap options from the command line (ConfigError naming the flag when off). */
export function bootstrapOptions(p: Parsed): Required<BootstrapOptions> {
  const samples = numberOption(p, 'samples', { integer: true, min: 1, max: 1_000_000 }) as number;
  const confidence = numberOption(p, 'confidence', { min: 0, max: 1 }) as number;
  if (confidence <= 0 || confidence >= 1) throw new ConfigError(`--confidence must lie strictly between 0 and 1, got ${JSON.stringify(p.values.confidence)}`);
  const seed = numberOption(p, 'seed', { integer: true }) as number;
  return bootstrapSettings({ samples, confidence, seed });
}

const sign = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;

/** One line summing up the overall row: "overall F1 61.27 -> 62.10 (+0.83, 95% CI [-1.20, +2.90], p = 0.420)". */
export function overallLine(c: ModelComparison): string {
  const o = c.comparison.overall;
  const level = `${Math.round(c.comparison.confidence * 1000) / 10}%`;
  return `overall F1 ${o.baseline.f1.toFixed(2)} -> ${o.candidate.f1.toFixed(2)} (${sign(o.delta)}, ${level} CI [${sign(o.ci[0])}, ${sign(o.ci[1])}], p = ${o.pValue.toFixed(3)})`;
}

/** The side-by-side table, the verdict and any label warnings, as text. */
export function formatComparison(c: ModelComparison, data: string): string {
  const k = c.comparison;
  const rows: [string, RowComparison][] = [
    ...Object.entries(k.perLabel),
    ...(k.named && k.nominal ? ([['named', k.named], ['nominal', k.nominal]] as [string, RowComparison][]) : []),
    ['overall', k.overall],
  ];
  const level = `${Math.round(k.confidence * 1000) / 10}% CI`;
  const lines = [
    `baseline  ${c.baseline.id} ${c.baseline.version} (${c.baseline.dir})`,
    `candidate ${c.candidate.id} ${c.candidate.version} (${c.candidate.dir})`,
    `data      ${data} (${k.sentences} sentences; paired bootstrap, ${k.samples} resamples, seed ${k.seed})`,
    '',
    `${''.padEnd(12)} ${'baseline'.padEnd(20)} ${'candidate'.padEnd(20)}`,
    `${'label'.padEnd(12)} ${'P'.padStart(6)} ${'R'.padStart(6)} ${'F1'.padStart(6)} ${'P'.padStart(6)} ${'R'.padStart(6)} ${'F1'.padStart(6)} ${'dF1'.padStart(7)}  ${level.padEnd(16)} ${'p'.padStart(5)}  gold`,
    '-'.repeat(95),
  ];
  for (const [name, r] of rows) {
    const b = r.baseline;
    const d = r.candidate;
    lines.push(
      `${name.padEnd(12)} ${b.precision.toFixed(2).padStart(6)} ${b.recall.toFixed(2).padStart(6)} ${b.f1.toFixed(2).padStart(6)} ${d.precision.toFixed(2).padStart(6)} ${d.recall.toFixed(2).padStart(6)} ${d.f1.toFixed(2).padStart(6)} ${sign(r.delta).padStart(7)}  ${`[${sign(r.ci[0])}, ${sign(r.ci[1])}]`.padEnd(16)} ${r.pValue.toFixed(3).padStart(5)}  ${b.tp + b.fn}`,
    );
  }
  lines.push('', `verdict: ${k.verdict === 'better' ? 'candidate is better' : k.verdict === 'worse' ? 'candidate is worse' : 'no significant difference'}: ${overallLine(c)}`);
  for (const who of ['baseline', 'candidate'] as const) {
    const missing = c.unknownLabels[who];
    if (missing.length > 0) lines.push(`warning: the ${who} never predicts ${missing.join(', ')} (labels of the data)`);
  }
  return lines.join('\n');
}

/** The comparison as JSON (what --json prints). */
export function comparisonJson(c: ModelComparison, data: string): Record<string, unknown> {
  return { baseline: c.baseline, candidate: c.candidate, data, unknownLabels: c.unknownLabels, ...c.comparison };
}

/** The side-by-side table of two configurations, each side's models, the verdict and any label warnings, as text. */
export function formatConfigurations(c: ConfigurationComparison, data: string): string {
  const k = c.comparison;
  const rows: [string, SeedsRowComparison][] = [
    ...Object.entries(k.perLabel),
    ...(k.named && k.nominal ? ([['named', k.named], ['nominal', k.nominal]] as [string, SeedsRowComparison][]) : []),
    ['overall', k.overall],
  ];
  const level = `${Math.round(k.confidence * 1000) / 10}% CI`;
  const models = (side: typeof c.baseline): string => side.map((m) => `${m.version} (${m.dir})`).join(', ');
  const f = (x: number): string => x.toFixed(2).padStart(6);
  const lines = [
    `baseline  ${c.baseline.length} model${c.baseline.length === 1 ? '' : 's'}: ${models(c.baseline)}`,
    `candidate ${c.candidate.length} model${c.candidate.length === 1 ? '' : 's'}: ${models(c.candidate)}`,
    `data      ${data} (${k.sentences} sentences; bootstrap over the sentences and each side's models, ${k.samples} resamples, seed ${k.seed})`,
    '',
    `${''.padEnd(12)} ${`baseline, mean of ${k.models.baseline}`.padEnd(27)} ${`candidate, mean of ${k.models.candidate}`.padEnd(27)}`,
    `${'label'.padEnd(12)} ${'P'.padStart(6)} ${'R'.padStart(6)} ${'F1'.padStart(6)} ${'sd'.padStart(6)} ${'P'.padStart(6)} ${'R'.padStart(6)} ${'F1'.padStart(6)} ${'sd'.padStart(6)} ${'dF1'.padStart(7)}  ${level.padEnd(16)} ${'p'.padStart(5)}  gold`,
    '-'.repeat(109),
  ];
  for (const [name, r] of rows) {
    const b = r.baseline;
    const d = r.candidate;
    const gold = b.perModel[0].tp + b.perModel[0].fn;
    lines.push(
      `${name.padEnd(12)} ${f(b.precision)} ${f(b.recall)} ${f(b.f1)} ${f(b.f1Sd)} ${f(d.precision)} ${f(d.recall)} ${f(d.f1)} ${f(d.f1Sd)} ${sign(r.delta).padStart(7)}  ${`[${sign(r.ci[0])}, ${sign(r.ci[1])}]`.padEnd(16)} ${r.pValue.toFixed(3).padStart(5)}  ${gold}`,
    );
  }
  const o = k.overall;
  lines.push('', `overall F1 of each model: baseline ${o.baseline.perModel.map((m) => m.f1.toFixed(2)).join(', ')}; candidate ${o.candidate.perModel.map((m) => m.f1.toFixed(2)).join(', ')}`);
  const verdict = k.verdict === 'better' ? 'candidate is better' : k.verdict === 'worse' ? 'candidate is worse' : 'no significant difference';
  lines.push(
    `verdict: ${verdict}: mean overall F1 ${o.baseline.f1.toFixed(2)} ± ${o.baseline.f1Sd.toFixed(2)} -> ${o.candidate.f1.toFixed(2)} ± ${o.candidate.f1Sd.toFixed(2)} (${sign(o.delta)}, ${level} [${sign(o.ci[0])}, ${sign(o.ci[1])}], p = ${o.pValue.toFixed(3)})`,
  );
  for (const who of ['baseline', 'candidate'] as const) {
    const missing = c.unknownLabels[who];
    if (missing.length > 0) lines.push(`warning: no ${who} model predicts ${missing.join(', ')} (labels of the data)`);
  }
  return lines.join('\n');
}

export async function run(p: Parsed): Promise<number> {
  const candidates = modelDirList(requireString(p, 'candidate', spec.name), '--candidate');
  const data = await requireSource(p, 'data', spec.name, 'ner');
  const baselines = modelDirList(typeof p.values.baseline === 'string' ? p.values.baseline : defaultModelDir(), '--baseline');
  const options = bootstrapOptions(p);
  await useBackend(p.values.backend as BackendChoice);
  useInferencePrecision(p.values.precision as InferencePrecision);
  const sentences = await readLabelled(data);
  if (baselines.length === 1 && candidates.length === 1) {
    const c = await compareModels(baselines[0], candidates[0], sentences, options);
    process.stdout.write(p.values.json ? `${JSON.stringify(comparisonJson(c, data))}\n` : `${formatComparison(c, data)}\n`);
    return 0;
  }
  const c = await compareConfigurations(baselines, candidates, sentences, options);
  process.stdout.write(p.values.json ? `${JSON.stringify({ baseline: c.baseline, candidate: c.candidate, data, unknownLabels: c.unknownLabels, ...c.comparison })}\n` : `${formatConfigurations(c, data)}\n`);
  return 0;
}
