/**
 * The Table 1 report: Markdown and JSON side by side with the paper's
 * figures, and SVG plots of mean dev F1 per epoch for every row.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lineChartSvg } from '../plot.js';
import type { DatasetVersion } from './corpora.js';
import { fmt, meanSd, type MeanSd } from '../../../models/eval/meanSd.js';
import { meanAbsChange, replayEarlyStop } from './curveStability.js';
import type { TrainOptions } from '../options.js';
import type { RunResult } from './runResult.js';
import type { Table1Row } from './table1Rows.js';

interface RowSummary {
  row: string;
  title: string;
  runs: number;
  named: { p: MeanSd; r: MeanSd; f1: MeanSd };
  nominal: { p: MeanSd; r: MeanSd; f1: MeanSd };
  overall: { p: MeanSd; r: MeanSd; f1: MeanSd };
  seg?: { f1: MeanSd; oovRecall: MeanSd };
  secondsPerEpoch: MeanSd;
  bestEpoch: MeanSd;
  bestArtifact: string;
  paper?: { named: number; nominal: number };
}

function summarize(rows: Table1Row[], results: RunResult[], dataset: DatasetVersion): RowSummary[] {
  return rows.flatMap((row) => {
    const rs = results.filter((r) => r.dataset === dataset && r.row === row.id);
    if (rs.length === 0) return [];
    const prf = (pick: (r: RunResult) => { precision: number; recall: number; f1: number }) => ({
      p: meanSd(rs.map((r) => pick(r).precision)),
      r: meanSd(rs.map((r) => pick(r).recall)),
      f1: meanSd(rs.map((r) => pick(r).f1)),
    });
    const withSeg = rs.filter((r) => r.seg);
    const best = rs.reduce((a, b) => (b.scores.overall.f1 > a.scores.overall.f1 ? b : a));
    return [
      {
        row: row.id,
        title: row.title,
        runs: rs.length,
        named: prf((r) => r.scores.named!), // WeiboNER: its labels always have the NAM/NOM split
        nominal: prf((r) => r.scores.nominal!),
        overall: prf((r) => r.scores.overall),
        seg: withSeg.length ? { f1: meanSd(withSeg.map((r) => r.seg!.words.f1)), oovRecall: meanSd(withSeg.map((r) => r.seg!.oov?.recall ?? NaN)) } : undefined,
        secondsPerEpoch: meanSd(rs.map((r) => r.secondsPerEpoch)),
        bestEpoch: meanSd(rs.map((r) => r.bestEpoch)),
        bestArtifact: best.dir,
        paper: row.paper,
      },
    ];
  });
}

/** Does `a` beat `b` on `metric` by more than the larger of their seed spreads? */
function verdict(sum: RowSummary[], a: string, b: string, metric: 'named' | 'overall'): string {
  const x = sum.find((s) => s.row === a);
  const y = sum.find((s) => s.row === b);
  if (!x || !y) return `row ${a} vs ${b} on ${metric} F1: not both run yet`;
  const gap = x[metric].f1.mean - y[metric].f1.mean;
  if (x[metric].f1.n < 2 || y[metric].f1.n < 2) {
    return `row ${a} is ${gap >= 0 ? 'ahead of' : 'behind'} row ${b} on ${metric} F1 by ${Math.abs(gap).toFixed(2)} (${x[metric].f1.mean.toFixed(2)} vs ${y[metric].f1.mean.toFixed(2)}); one seed, so the seed spread is unknown and there is no verdict`;
  }
  const spread = Math.max(x[metric].f1.sd, y[metric].f1.sd);
  const word = gap > spread ? 'beats' : gap > 0 ? 'is ahead of, but within the seed spread of,' : 'does not beat';
  return `row ${a} ${word} row ${b} on ${metric} F1: ${x[metric].f1.mean.toFixed(2)} vs ${y[metric].f1.mean.toFixed(2)} (gap ${gap.toFixed(2)}, larger sd ${spread.toFixed(2)})`;
}

/**
 * For rows trained with weight averaging (histories with `avg_ner_f1`): the
 * kept averaged score against what the same runs keep without averaging (raw
 * `ner_f1` under the same early stopping, replayed: the raw path does not
 * depend on the average), and the epoch-to-epoch change of both dev curves.
 */
function averagingLines(rows: Table1Row[], results: RunResult[], dataset: DatasetVersion, base: TrainOptions): string[] {
  const out: string[] = [];
  for (const row of rows) {
    const rs = results.filter((r) => r.dataset === dataset && r.row === row.id && r.history.some((h) => h.dev.avg_ner_f1 !== undefined)).sort((a, b) => a.seed - b.seed);
    if (rs.length === 0) continue;
    const o = { ...base, ...row.options };
    const raw = rs.map((r) => replayEarlyStop(r.history, 'ner_f1', o.earlyStopPatience, o.epochs));
    const known = raw.filter((x) => x?.known).map((x) => x!.value);
    if (out.length === 0) out.push('', `Weight averaging (moving average of the weights, decay ${o.emaDecay}; the kept epoch and the artifact are the averaged weights'), overall F1:`, '');
    out.push(
      `- row ${row.id}: averaged ${fmt(meanSd(rs.map((r) => r.scores.overall.f1)))} (best epoch ${fmt(meanSd(rs.map((r) => r.bestEpoch)))}); the same runs without averaging (raw weights, same early stopping replayed) ${fmt(meanSd(known))}${known.length < rs.length ? ` (${known.length} of ${rs.length} runs long enough to tell)` : ''}`,
      `  - per seed, averaged (epoch) / raw (epoch): ${rs.map((r, i) => `${r.seed}: ${r.scores.overall.f1.toFixed(2)} (${r.bestEpoch}) / ${raw[i] ? `${raw[i]!.value.toFixed(2)} (${raw[i]!.epoch})${raw[i]!.known ? '' : '?'}` : '-'}`).join('; ')}`,
      `  - dev F1 epoch-to-epoch mean absolute change from epoch 3 on: raw ${fmt(meanSd(rs.map((r) => meanAbsChange(r.history, 'ner_f1'))))}, averaged ${fmt(meanSd(rs.map((r) => meanAbsChange(r.history, 'avg_ner_f1'))))}`,
    );
  }
  return out;
}

/** What the report says about the experiment besides its results (the fields of Table1Input it reads). */
export interface ReportSettings {
  datasets: DatasetVersion[];
  seeds: number;
  base: TrainOptions;
}

export async function writeTable1Report(outDir: string, rows: Table1Row[], results: RunResult[], input: ReportSettings): Promise<void> {
  const md: string[] = [
    '# Table 1 on our data (dev sets)',
    '',
    `Generated ${new Date().toISOString()} by \`mentionflow experiment table1\`; ${input.seeds} seed(s) per row; mean ± sample sd over seeds. Scores are exact-span P/R/F1 (%) on the dev split; the paper's figures are WeiboNER v1 *test* F1, quoted for orientation only.`,
    '',
  ];
  const json: Record<string, unknown> = { generated: new Date().toISOString(), base: input.base, seeds: input.seeds, datasets: {} };
  for (const dataset of input.datasets) {
    const sum = summarize(rows, results, dataset);
    (json.datasets as Record<string, unknown>)[dataset] = sum;
    if (sum.length === 0) continue;
    md.push(`## WeiboNER ${dataset} dev`, '');
    md.push('| row | configuration | runs | named P | named R | named F1 | nominal F1 | overall F1 | paper F1 (named / nominal, v1 test) | s/epoch | best epoch |');
    md.push('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const s of sum) {
      md.push(`| ${s.row} | ${s.title} | ${s.runs} | ${fmt(s.named.p)} | ${fmt(s.named.r)} | ${fmt(s.named.f1)} | ${fmt(s.nominal.f1)} | ${fmt(s.overall.f1)} | ${s.paper ? `${s.paper.named} / ${s.paper.nominal}` : '-'} | ${s.secondsPerEpoch.mean.toFixed(1)} | ${fmt(s.bestEpoch)} |`);
    }
    const segRows = sum.filter((s) => s.seg);
    if (segRows.length) {
      md.push('', 'Segmentation (NLPCC 2016 Weibo dev, word F1 and OOV recall against the NLPCC training words) at the best NER epoch:', '');
      for (const s of segRows) md.push(`- row ${s.row}: word F1 ${fmt(s.seg!.f1)}, OOV recall ${fmt(s.seg!.oovRecall)}`);
    }
    md.push('', 'Comparisons (the paper found the joint model ahead of the control and the pipeline, and segmentation features ahead of rows 1 and 5; row 8 vs control-8, ours, asks whether the joint objective helps a model without sparse features, rows 11-cp vs control-cp and 7-cp whether it helps one that starts from pre-trained embeddings):', '');
    for (const [a, b] of [['11', 'control'], ['8', 'control-8'], ['11-cp', 'control-cp'], ['11-cp', '7-cp'], ['11', '7'], ['2', '1'], ['6', '5']]) for (const m of ['named', 'overall'] as const) md.push(`- ${verdict(sum, a, b, m)}`);
    md.push(...averagingLines(rows, results, dataset, input.base));
    md.push('', `Best artifact per row: ${sum.map((s) => `row ${s.row}: \`${s.bestArtifact}\``).join('; ')}`, '', `![dev F1 per epoch, ${dataset}](dev-f1-${dataset}.svg)`, '');
    const series = sum.map((s) => {
      const rs = results.filter((r) => r.dataset === dataset && r.row === s.row);
      const maxEpoch = Math.max(...rs.map((r) => r.history.length));
      const points: [number, number][] = [];
      for (let e = 1; e <= maxEpoch; e++) {
        const vals = rs.map((r) => r.history[e - 1]?.dev.ner_f1).filter((v): v is number => v !== undefined);
        if (vals.length) points.push([e, vals.reduce((a, b) => a + b, 0) / vals.length]);
      }
      return { name: `row ${s.row}`, points };
    });
    await writeFile(join(outDir, `dev-f1-${dataset}.svg`), lineChartSvg(`WeiboNER ${dataset}: dev overall F1 per epoch (mean over seeds)`, series));
  }
  md.push(
    '## Notes',
    '',
    '- Rows 2 and 6 read segmentation features from a predicted segmentation: a CRF segmenter (hashed character n-gram features only, `pretrainEpochs` full passes over the NLPCC 2016 Weibo segmentation training set, then frozen) tags each sentence with BIES, and the NER head adds the templates (seg tag), (seg tag, char), (previous, current), (current, next) and (previous, current, next) seg tags, hashed into its lexical buckets. The segmenter is part of the artifact (its segmentation head), so `eval` and serving predict the same segmentation; its segmentation scores are listed with the joint rows. The paper trained its segmenter on SIGHAN 2005 PKU.',
    "- Rows 3 and 4 start from embeddings pre-trained here (word2vec skip-gram, window 5, in `embeddings/`) on the ~1.2M characters of unlabelled Weibo text at hand (NLPCC 2016 train, dev and test text, WeiboNER training messages), not on the paper's 112M Weibo messages, which are not available: row 3 over char-positional tokens (jieba word positions, as in the paper), row 4 over plain characters (our definition of row 4). Both add the pre-trained tokens to the vocabulary and fine-tune the table.",
    '- The segmentation corpus is the NLPCC 2016 Weibo training set, not the SIGHAN 2005 PKU set the paper used; joint and pipeline rows draw a fresh subsample the size of the NER training set at every epoch.',
    '- Row 5 learns its character embeddings from the NER data only; the paper initialised them from embeddings pre-trained on unlabelled Weibo text.',
  );
  await writeFile(join(outDir, 'table1.md'), md.join('\n') + '\n');
  await writeFile(join(outDir, 'table1.json'), JSON.stringify(json, null, 1) + '\n');
}
