/**
 * Seeds against ensembles of them, on labelled dev data (issue 16: choose by
 * the mean over seeds, not the best seed). For each member model alone, the
 * ensemble of all members and each leave-one-out ensemble (N-1 members, so
 * the ensemble gets a mean and a spread of its own): named / nominal /
 * overall P/R/F1 at decoding bias 0, and `mentionflow calibrate`'s honest
 * 2-fold figure, named / nominal / overall P/R/F1 too (dev split by sentence
 * parity, the bias chosen on one half and scored on the other, both held-out
 * halves pooled). Then mean ± sd (n-1)
 * per group. Ensembles are built in memory exactly as `mentionflow ensemble`
 * builds them (models/ensemble.ts); members' own biases are ignored (0).
 * With --max-pr-gap G the calibrated figures choose the bias under
 * calibrate's --max-pr-gap (best F1 among biases with overall |P - R| <= G).
 *
 *   node dist/bench/ensembleSeeds.js --members DIR,DIR,... [--data DEV.conll] [--max-pr-gap G] [--json FILE]
 */
import { writeFileSync } from 'node:fs';
import { useBackend } from '../models/backend.js';
import { readConll } from '../models/data/conll.js';
import { ensembleModel, type LoadedMember } from '../models/ensemble.js';
import type { NerScores, PrfScore } from '../models/eval/spanScorer.js';
import { TaggerModel } from '../models/taggerModel.js';
import { calibrateBias, calibrationOptions } from '../pipeline/train/calibrate.js';
import { benchArgs } from './args.js';

const values = benchArgs(import.meta.url, {
  members: { type: 'string' },
  data: { type: 'string', default: '../shared/corpora/weiboNER/weiboNER_2nd_conll.dev' },
  'max-pr-gap': { type: 'string' },
  json: { type: 'string' },
});
if (values.members === undefined) throw new Error('--members DIR,DIR,... is required');
const gapArg = values['max-pr-gap'];
let calibration: ReturnType<typeof calibrationOptions>;
try {
  calibration = calibrationOptions({ maxPrGap: gapArg === undefined ? undefined : Number(gapArg === '' ? NaN : gapArg) });
} catch (err) {
  process.stderr.write(`--max-pr-gap: ${(err as Error).message}\n`);
  process.exit(2);
}
const dirs = values.members.split(',');

await useBackend('auto');
const dev = await readConll(String(values.data));
const members: LoadedMember[] = [];
for (const dir of dirs) members.push({ ...(await TaggerModel.load(dir)), dir });

interface Row {
  group: 'member' | 'ensemble' | 'leave-one-out';
  name: string;
  atZero: NerScores;
  bias: number;
  /** Both halves' biases met --max-pr-gap on their own half. */
  withinGap: boolean;
  crossFitted: NerScores;
  seconds: number;
}

const rows: Row[] = [];
async function measure(group: Row['group'], name: string, subset: LoadedMember[]): Promise<void> {
  const model = subset.length === 1 && group === 'member' ? subset[0].model : ensembleModel(subset);
  model.meta.nonOBias = 0;
  const t0 = Date.now();
  const c = await calibrateBias(model, dev, calibration);
  rows.push({ group, name, atZero: c.atZero.scores, bias: c.chosen.bias, withinGap: c.folds.every((fo) => fo.withinGap), crossFitted: c.crossFitted.atChosen, seconds: (Date.now() - t0) / 1000 });
  const o = c.atZero.scores.overall;
  const k = c.crossFitted.atChosen.overall;
  process.stderr.write(`${group} ${name}: overall ${o.f1.toFixed(2)} (P ${o.precision.toFixed(2)} R ${o.recall.toFixed(2)}); 2-fold calibrated ${k.f1.toFixed(2)} (P ${k.precision.toFixed(2)} R ${k.recall.toFixed(2)})\n`);
  // An in-memory ensemble shares the members' networks: nothing to dispose until the end.
}

const short = (dir: string): string => dir.replace(/\/+$/, '').split('/').slice(-2).join('/');
for (const m of members) await measure('member', short(m.dir), [m]);
if (members.length > 1) await measure('ensemble', `all ${members.length}`, members);
if (members.length > 2) for (const [i, m] of members.entries()) await measure('leave-one-out', `without ${short(m.dir)}`, members.filter((_, j) => j !== i));

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]): number => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const ms = (xs: number[]): string => (xs.length === 1 ? xs[0].toFixed(2) : `${mean(xs).toFixed(2)} ± ${sd(xs).toFixed(2)}`);
const prf = (rs: Row[], pick: (r: Row) => PrfScore | undefined): string => {
  const s = rs.map(pick).filter((x): x is PrfScore => x !== undefined);
  return `${ms(s.map((x) => x.precision))} / ${ms(s.map((x) => x.recall))} / ${ms(s.map((x) => x.f1))}`;
};
const columns = (rs: Row[]): string =>
  [prf(rs, (x) => x.atZero.named), prf(rs, (x) => x.atZero.nominal), prf(rs, (x) => x.atZero.overall), prf(rs, (x) => x.crossFitted.named), prf(rs, (x) => x.crossFitted.nominal), prf(rs, (x) => x.crossFitted.overall)].join(' | ');
const lines = [
  `data ${values.data} (${dev.length} sentences); members: ${dirs.join(', ')}` +
    (calibration.maxPrGap === undefined ? '' : `; calibrated with --max-pr-gap ${calibration.maxPrGap} (models with a half where no bias met it: ${rows.filter((r) => !r.withinGap).length} of ${rows.length})`),
  '',
  '| models | n | named P / R / F1 | nominal P / R / F1 | overall P / R / F1 | 2-fold calibrated named P / R / F1 | 2-fold calibrated nominal P / R / F1 | 2-fold calibrated overall P / R / F1 | bias on all dev |',
  '|---|---|---|---|---|---|---|---|---|',
];
for (const r of rows) lines.push(`| ${r.group} ${r.name} | 1 | ${columns([r])} | ${r.bias.toFixed(2)} |`);
for (const group of ['member', 'leave-one-out'] as const) {
  const rs = rows.filter((r) => r.group === group);
  if (rs.length > 1) lines.push(`| **${group}, mean ± sd** | ${rs.length} | ${columns(rs)} | ${ms(rs.map((r) => r.bias))} |`);
}
process.stdout.write(lines.join('\n') + '\n');
if (values.json !== undefined) writeFileSync(values.json, JSON.stringify(rows, null, 1) + '\n');
for (const m of members) m.model.dispose();
