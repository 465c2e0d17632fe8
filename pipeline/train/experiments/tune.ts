/**
 * `mentionflow tune`: grid search of the joint model's lambda (weight of
 * the segmentation loss, in [0.5, 1]) and LSTM-input dropout (in [0, 0.5])
 * by NER dev F1, on one dataset; resumable like the Table 1 runs. Writes
 * tune.md and tune.json with every point and the best one.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NerScores } from '../../../models/eval/spanScorer.js';
import type { TrainOptions } from '../options.js';
import { trainTagger } from '../trainTagger.js';
import { loadNerCorpus, loadSegCorpus, type DatasetVersion } from './corpora.js';
import { fmt, meanSd } from './stats.js';
import { TABLE1_ROWS } from './table1Rows.js';

export interface TuneInput {
  corporaDir: string;
  dataset: DatasetVersion;
  lambdas: number[];
  dropouts: number[];
  seeds: number;
  base: TrainOptions;
  outDir: string;
  quiet?: boolean;
  log?: (m: string) => void;
}

interface Point {
  lambda: number;
  dropout: number;
  seed: number;
  scores: NerScores;
  bestEpoch: number;
}

export async function runTune(input: TuneInput): Promise<{ best: { lambda: number; dropout: number; f1: number } }> {
  const log = input.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const row11 = TABLE1_ROWS.find((r) => r.id === '11')!;
  const ner = await loadNerCorpus(input.corporaDir, input.dataset);
  const seg = await loadSegCorpus(input.corporaDir);
  const points: Point[] = [];
  for (const lambda of input.lambdas) {
    for (const dropout of input.dropouts) {
      for (let seed = 1; seed <= input.seeds; seed++) {
        const dir = join(input.outDir, input.dataset, `lambda-${lambda}_dropout-${dropout}`, `seed-${seed}`);
        const file = join(dir, 'point.json');
        if (existsSync(file)) {
          points.push(JSON.parse(await readFile(file, 'utf8')) as Point);
          continue;
        }
        log(`tune ${input.dataset}: lambda ${lambda}, dropout ${dropout}, seed ${seed}`);
        const r = await trainTagger({
          ner: { train: ner.train, dev: ner.dev },
          seg: { train: seg.train, dev: seg.dev, mode: 'joint' },
          options: { ...input.base, ...row11.options, lambda, dropout, seed },
          outDir: dir,
          modelId: `tune-${input.dataset}`,
          data: [...ner.data, ...seg.data],
          quiet: input.quiet,
          resume: true,
          log,
        });
        r.model.dispose();
        const point: Point = { lambda, dropout, seed, scores: r.bestScores, bestEpoch: r.best.epoch };
        await mkdir(dir, { recursive: true });
        await writeFile(file, JSON.stringify(point) + '\n');
        points.push(point);
      }
    }
  }
  const grid = input.lambdas.flatMap((lambda) =>
    input.dropouts.map((dropout) => {
      const ps = points.filter((p) => p.lambda === lambda && p.dropout === dropout);
      return { lambda, dropout, overall: meanSd(ps.map((p) => p.scores.overall.f1)), named: meanSd(ps.map((p) => p.scores.named!.f1)), nominal: meanSd(ps.map((p) => p.scores.nominal!.f1)) };
    }),
  );
  const best = grid.reduce((a, b) => (b.overall.mean > a.overall.mean ? b : a));
  const md = [
    `# Tuning the joint model (row 11) on WeiboNER ${input.dataset} dev`,
    '',
    `${input.seeds} seed(s) per point; NER dev F1 (%) mean ± sd.`,
    '',
    '| lambda | dropout | overall F1 | named F1 | nominal F1 |',
    '|---|---|---|---|---|',
    ...grid.map((g) => `| ${g.lambda} | ${g.dropout} | ${fmt(g.overall)} | ${fmt(g.named)} | ${fmt(g.nominal)} |`),
    '',
    `Best: lambda ${best.lambda}, dropout ${best.dropout} (overall F1 ${best.overall.mean.toFixed(2)}).`,
  ];
  await mkdir(input.outDir, { recursive: true });
  await writeFile(join(input.outDir, 'tune.md'), md.join('\n') + '\n');
  await writeFile(join(input.outDir, 'tune.json'), JSON.stringify({ dataset: input.dataset, seeds: input.seeds, grid, best }, null, 1) + '\n');
  return { best: { lambda: best.lambda, dropout: best.dropout, f1: best.overall.mean } };
}
