/**
 * `mentionflow calibrate`: chooses the NER head's decoding bias (a bonus to
 * every non-O emission before Viterbi, models/crf/decodingBias.ts) that
 * maximises overall exact-span F1 on labelled dev data, prints the sweep
 * (bias -> P/R/F1, named / nominal / overall) with a 2-fold held-out check,
 * and with --out writes a copy of the model carrying the chosen bias
 * (pipeline/train/calibrate.ts). --max-pr-gap G restricts the choice to the
 * biases whose overall |P - R| is at most G points. --threshold pairs each
 * bias with span-confidence thresholds (models/crf/spanThreshold.ts) and
 * chooses the pair, reporting the bias alone beside it.
 */
import { ConfigError } from '../../common/errors.js';
import { useBackend, type BackendChoice } from '../../models/backend.js';
import type { NerScores, PrfScore } from '../../models/eval/spanScorer.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { calibratedVersion } from '../../models/crf/decodingBias.js';
import { calibrateBias, chooseRow, DEFAULT_GRID, DEFAULT_THRESHOLDS, prGap, type BiasRow, type Calibration } from '../../pipeline/train/calibrate.js';
import { readNerSource } from '../../pipeline/train/sources/openSource.js';
import { SOURCE_SYNTAX_HELP } from '../../pipeline/train/sources/sourceSpec.js';
import { BACKEND_OPTION, numberOption, type CommandSpec, type Parsed } from '../args.js';
import { modelDirOption } from '../defaults.js';
import { requireSource, sourceKafka } from '../sourceOption.js';

export const spec: CommandSpec = {
  name: 'calibrate',
  summary: 'choose the decoding bias (bonus to non-O emissions) that maximises dev F1; print the sweep with a 2-fold held-out check; --out writes the calibrated model',
  usage: 'mentionflow calibrate --data SOURCE [--model DIR] [--out DIR] [--max-pr-gap G] [--threshold] [--min B] [--max B] [--step S] [--json]',
  options: {
    model: { type: 'string', arg: 'DIR', description: 'model artifact directory (default: the shipped model, models/default)' },
    data: { type: 'string', arg: 'SOURCE', description: 'labelled dev data (CoNLL, BIO or BIOES; any example source with NER spans). Never a test split' },
    out: { type: 'string', arg: 'DIR', description: 'write a copy of the model with the chosen bias here (model version suffixed -obiasB); without it nothing is written' },
    'max-pr-gap': { type: 'string', arg: 'G', description: 'choose the best F1 among the biases whose overall |precision - recall| is at most G points (when none is: the smallest gap, and the output says so); default: no constraint' },
    threshold: { type: 'boolean', description: `also choose a span-confidence threshold with the bias: each bias is paired with the thresholds ${DEFAULT_THRESHOLDS.join(', ')} (spans below it dropped; one decoding per bias), the best pair is chosen under the same rules and --out writes both; the bias alone is reported beside it` },
    min: { type: 'string', arg: 'B', description: 'lowest bias of the coarse grid', default: String(DEFAULT_GRID.min) },
    max: { type: 'string', arg: 'B', description: 'highest bias of the coarse grid', default: String(DEFAULT_GRID.max) },
    step: { type: 'string', arg: 'S', description: `step of the coarse grid (then refined by ${DEFAULT_GRID.refineStep} within one step of the best)`, default: String(DEFAULT_GRID.step) },
    json: { type: 'boolean', description: 'print the calibration as one JSON object' },
    backend: BACKEND_OPTION,
  },
  notes:
    'The bias is absolute: 0 decodes as an uncalibrated model, whatever bias the loaded model carries; so is the threshold (--out without --threshold writes none).\n' +
    'Held-out check: the sentences are split by index parity; the bias chosen on one half is scored on the other, and the reverse. Quote those figures, not the sweep\'s best, as the expected gain.\n' +
    'example: mentionflow calibrate --data ../shared/corpora/weiboNER/weiboNER_2nd_conll.dev --out /tmp/calibrated\n\n' +
    SOURCE_SYNTAX_HELP,
};

const f = (x: number): string => x.toFixed(2);
const prfCells = (s: PrfScore | undefined): string => (s ? `${f(s.precision).padStart(6)} ${f(s.recall).padStart(6)} ${f(s.f1).padStart(6)}` : '     -      -      -');
const gapNote = (c: Calibration, withinGap: boolean): string =>
  c.maxPrGap === undefined ? '' : withinGap ? ` (|P - R| <= ${c.maxPrGap})` : ` (no bias has |P - R| <= ${c.maxPrGap}: the smallest gap)`;
const line = (s: NerScores): string => `P ${f(s.overall.precision)} R ${f(s.overall.recall)} F1 ${f(s.overall.f1)}` + (s.named && s.nominal ? ` (named F1 ${f(s.named.f1)}, nominal F1 ${f(s.nominal.f1)})` : '');

const signed = (x: number): string => `${x >= 0 ? '+' : ''}${f(x)}`;
/** "bias 0.35", or with a threshold searched "bias 0.60, threshold 0.50". */
const pair = (bias: number, threshold: number | undefined): string => `bias ${bias.toFixed(2)}${threshold === undefined ? '' : `, threshold ${threshold.toFixed(2)}`}`;

/**
 * The sweep as a table and the held-out check, for humans. With thresholds,
 * the table shows for each bias its best threshold (chooseRow's rule within
 * that bias; --json has every pair), then the bias alone's figures.
 */
export function formatCalibration(c: Calibration): string {
  const gapped = c.maxPrGap !== undefined;
  const searched = c.thresholds !== undefined;
  const out = [
    `  bias |${searched ? ' thresh |' : ''} named  P      R     F1 | nominal P    R     F1 | overall P    R     F1${gapped ? ' | |P-R|' : ''}`,
    `-------+${searched ? '--------+' : ''}----------------------+----------------------+----------------------${gapped ? '+------' : ''}`,
  ];
  const isChosen = (r: BiasRow): boolean => r.bias === c.chosen.bias && r.threshold === c.chosen.threshold;
  const shown = searched ? [...new Set(c.rows.map((r) => r.bias))].map((b) => {
    const own = c.rows.filter((r) => r.bias === b);
    return own.find(isChosen) ?? chooseRow(own, c.maxPrGap).row;
  }) : c.rows;
  for (const r of shown) {
    const mark = isChosen(r) ? (gapped ? ' <- chosen' : ' <- best') : r.bias === 0 && !r.threshold ? ' (uncalibrated)' : '';
    const gap = gapped ? ` | ${f(prGap(r)).padStart(5)}` : '';
    const t = searched ? ` ${f(r.threshold ?? 0).padStart(6)} |` : '';
    out.push(`${r.bias.toFixed(2).padStart(6)} |${t} ${prfCells(r.scores.named)} | ${prfCells(r.scores.nominal)} | ${prfCells(r.scores.overall)}${gap}${mark}`);
  }
  out.push('');
  const what = searched ? 'pair' : 'bias';
  out.push(`all ${c.sentences} sentences: bias 0: ${line(c.atZero.scores)}`);
  out.push(`  best ${pair(c.chosen.bias, c.chosen.threshold)}${gapNote(c, c.chosenWithinGap)}: ${line(c.chosen.scores)}  (tuned and scored on the same sentences: optimistic)`);
  for (const fold of c.folds) {
    const other = fold.tunedOn === 'even' ? 'odd' : 'even';
    out.push(`tuned on the ${fold.tunedOn} half -> ${pair(fold.bias, fold.threshold)}${gapNote(c, fold.withinGap)}; on the ${other} half: bias 0 ${line(fold.heldOutAtZero)}`);
    out.push(`  with ${pair(fold.bias, fold.threshold)}: ${line(fold.heldOutAtChosen)}  (overall F1 ${signed(fold.heldOutAtChosen.overall.f1 - fold.heldOutAtZero.overall.f1)})`);
  }
  const cf = c.crossFitted;
  out.push(`held-out halves pooled (each sentence with the ${what} chosen on the other half): ${line(cf.atChosen)} vs bias 0 ${line(cf.atZero)} (overall F1 ${signed(cf.atChosen.overall.f1 - cf.atZero.overall.f1)})`);
  const b = c.biasOnly;
  if (b) {
    const bf = b.crossFitted.atChosen;
    out.push('');
    out.push(`bias alone (threshold 0), same decodings: best bias ${b.chosen.bias.toFixed(2)}${gapNote(b, b.chosenWithinGap)} on all: ${line(b.chosen.scores)}; on the even half ${b.folds[0].bias.toFixed(2)}, on the odd half ${b.folds[1].bias.toFixed(2)}`);
    out.push(`  held-out halves pooled: ${line(bf)}; the threshold adds ${signed(cf.atChosen.overall.f1 - bf.overall.f1)} overall F1 held out (${signed(c.chosen.scores.overall.f1 - b.chosen.scores.overall.f1)} tuned on all)`);
  }
  return out.join('\n');
}

export async function run(p: Parsed): Promise<number> {
  const data = await requireSource(p, 'data', spec.name, 'ner');
  const dir = modelDirOption(p);
  const grid = {
    min: numberOption(p, 'min') ?? DEFAULT_GRID.min,
    max: numberOption(p, 'max') ?? DEFAULT_GRID.max,
    step: numberOption(p, 'step', { min: 0.001 }) ?? DEFAULT_GRID.step,
    refineStep: DEFAULT_GRID.refineStep,
  };
  const maxPrGap = numberOption(p, 'max-pr-gap', { min: 0 });
  const thresholds = p.values.threshold === true ? DEFAULT_THRESHOLDS : undefined;
  if (grid.max < grid.min) throw new ConfigError(`--max ${grid.max} is below --min ${grid.min}`);
  if ((grid.max - grid.min) / grid.step > 10_000) throw new ConfigError(`--min ${grid.min} --max ${grid.max} --step ${grid.step} is more than 10000 values`);
  const out = typeof p.values.out === 'string' ? p.values.out : undefined;
  await useBackend(p.values.backend as BackendChoice);
  const sentences = (await readNerSource(data, { where: '--data', fingerprintRole: 'calibrate', kafka: sourceKafka() })).sentences;
  const { model, manifest } = await TaggerModel.load(dir);
  try {
    const c = await calibrateBias(model, sentences, { grid, maxPrGap, thresholds });
    let written: { dir: string; modelVersion: string } | undefined;
    if (out !== undefined) {
      const bias = c.chosen.bias;
      const threshold = c.chosen.threshold ?? 0;
      model.meta.nonOBias = bias;
      model.meta.minSpanConfidence = threshold;
      model.meta.modelVersion = calibratedVersion(manifest.modelVersion, bias, threshold);
      const kinds = (s: NerScores) => ({ named: s.named, nominal: s.nominal, overall: s.overall });
      const summary = {
        data,
        sentences: c.sentences,
        grid,
        ...(maxPrGap === undefined ? {} : { maxPrGap, chosenWithinGap: c.chosenWithinGap }),
        ...(c.thresholds === undefined ? {} : { thresholds: c.thresholds, minSpanConfidence: threshold }),
        atZero: kinds(c.atZero.scores),
        atChosen: kinds(c.chosen.scores),
        folds: c.folds.map((fo) => ({ tunedOn: fo.tunedOn, bias: fo.bias, ...(fo.threshold === undefined ? {} : { threshold: fo.threshold }), ...(maxPrGap === undefined ? {} : { withinGap: fo.withinGap }), heldOutAtZero: kinds(fo.heldOutAtZero), heldOutAtChosen: kinds(fo.heldOutAtChosen) })),
        crossFitted: { atZero: kinds(c.crossFitted.atZero), atChosen: kinds(c.crossFitted.atChosen) },
        ...(c.biasOnly === undefined ? {} : { biasOnly: { bias: c.biasOnly.chosen.bias, atChosen: kinds(c.biasOnly.chosen.scores), crossFitted: kinds(c.biasOnly.crossFitted.atChosen) } }),
        fromModelVersion: manifest.modelVersion,
      };
      await model.save(out, { training: manifest.training, scores: manifest.scores, createdAt: new Date().toISOString(), calibration: summary });
      written = { dir: out, modelVersion: model.meta.modelVersion };
    }
    const modelRef = { id: manifest.modelId, version: manifest.modelVersion, dir };
    if (p.values.json) {
      process.stdout.write(JSON.stringify({ model: modelRef, data, calibration: c, written }) + '\n');
    } else {
      const loadedT = c.loadedMinSpanConfidence ? `, threshold ${c.loadedMinSpanConfidence}` : '';
      process.stdout.write(`model ${manifest.modelId} ${manifest.modelVersion} (loaded bias ${c.loadedBias}${loadedT}) on ${data} (${c.sentences} sentences)\n${formatCalibration(c)}\n`);
      const t = c.thresholds === undefined ? '' : `, span-confidence threshold ${(c.chosen.threshold ?? 0).toFixed(2)}`;
      if (written) process.stdout.write(`wrote ${written.dir}: model ${manifest.modelId} ${written.modelVersion}, non-O bias ${c.chosen.bias.toFixed(2)}${t}\n`);
    }
  } finally {
    model.dispose();
  }
  return 0;
}
