/**
 * `mentionflow tune`: grid search of the joint model's lambda (weight of
 * the segmentation loss, in [0.5, 1]) and LSTM-input dropout (in [0, 0.5])
 * by NER dev F1, on one dataset; resumable like the Table 1 runs. Writes
 * tune.md and tune.json with every point and the best one. Any of the four
 * data sets can come from an example source instead (`sources`,
 * ../sources/sourceSpec.ts); the runs then go under OUT/sources/, not
 * OUT/<dataset>/, so a resumed run never mixes points of different data.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NerScores } from '../../../models/eval/spanScorer.js';
import type { TrainOptions } from '../options.js';
import { trainTagger } from '../trainTagger.js';
import { readNerSource, readSegSource, type SourceKafkaOptions } from '../sources/openSource.js';
import { loadNerCorpus, loadSegCorpus, type DatasetVersion, type NerCorpus, type SegCorpus } from './corpora.js';
import { fmt, meanSd } from '../../../models/eval/meanSd.js';
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
  /** Example sources replacing the dataset's files (each optional; the others come from corporaDir). */
  sources?: { nerTrain?: string; nerDev?: string; segTrain?: string; segDev?: string };
  /** Kafka connection for kafka: sources that do not name their brokers. */
  kafka?: SourceKafkaOptions;
}

/** The NER and segmentation data: the dataset's files, each replaced by its source when given. */
async function loadData(input: TuneInput): Promise<{ ner: NerCorpus; seg: SegCorpus }> {
  const src = input.sources ?? {};
  const kafka = input.kafka ? { kafka: input.kafka } : {};
  const files = src.nerTrain && src.nerDev ? undefined : await loadNerCorpus(input.corporaDir, input.dataset);
  const segFiles = src.segTrain && src.segDev ? undefined : await loadSegCorpus(input.corporaDir);
  const nerTrain = src.nerTrain ? await readNerSource(src.nerTrain, { where: '--ner-train', fingerprintRole: 'ner-train', ...kafka }) : { sentences: files!.train, fingerprint: files!.data[0] };
  const nerDev = src.nerDev ? await readNerSource(src.nerDev, { where: '--ner-dev', fingerprintRole: 'ner-dev', ...kafka }) : { sentences: files!.dev, fingerprint: files!.data[1] };
  const segTrain = src.segTrain ? await readSegSource(src.segTrain, { where: '--seg-train', fingerprintRole: 'seg-train', ...kafka }) : { sentences: segFiles!.train, fingerprint: segFiles!.data[0] };
  const segDev = src.segDev ? await readSegSource(src.segDev, { where: '--seg-dev', fingerprintRole: 'seg-dev', ...kafka }) : { sentences: segFiles!.dev, fingerprint: segFiles!.data[1] };
  return {
    ner: { train: nerTrain.sentences, dev: nerDev.sentences, data: [nerTrain.fingerprint, nerDev.fingerprint] },
    seg: { train: segTrain.sentences, dev: segDev.sentences, trainWords: new Set(segTrain.sentences.flatMap((x) => x.words)), data: [segTrain.fingerprint, segDev.fingerprint] },
  };
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
  const { ner, seg } = await loadData(input);
  const label = Object.values(input.sources ?? {}).some((x) => x !== undefined) ? 'sources' : input.dataset;
  const points: Point[] = [];
  for (const lambda of input.lambdas) {
    for (const dropout of input.dropouts) {
      for (let seed = 1; seed <= input.seeds; seed++) {
        const dir = join(input.outDir, label, `lambda-${lambda}_dropout-${dropout}`, `seed-${seed}`);
        const file = join(dir, 'point.json');
        if (existsSync(file)) {
          points.push(JSON.parse(await readFile(file, 'utf8')) as Point);
          continue;
        }
        log(`tune ${label}: lambda ${lambda}, dropout ${dropout}, seed ${seed}`);
        const r = await trainTagger({
          ner: { train: ner.train, dev: ner.dev },
          seg: { train: seg.train, dev: seg.dev, mode: 'joint' },
          options: { ...input.base, ...row11.options, lambda, dropout, seed },
          outDir: dir,
          modelId: `tune-${label}`,
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
      return { lambda, dropout, overall: meanSd(ps.map((p) => p.scores.overall.f1)), named: meanSd(ps.map((p) => p.scores.named?.f1 ?? NaN)), nominal: meanSd(ps.map((p) => p.scores.nominal?.f1 ?? NaN)) };
    }),
  );
  const best = grid.reduce((a, b) => (b.overall.mean > a.overall.mean ? b : a));
  const md = [
    `# Tuning the joint model (row 11) on ${label === 'sources' ? `the given sources (${Object.entries(input.sources!).filter(([, v]) => v !== undefined).map(([k, v]) => `${k} ${v}`).join(', ')}${Object.values(input.sources!).some((v) => v === undefined) ? `; other data: WeiboNER ${input.dataset}` : ''})` : `WeiboNER ${input.dataset}`} dev`,
    ...(label === 'sources' ? ['', 'Named / nominal are n/a when the labels have no NAM/NOM split.'] : []),
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
  await writeFile(join(input.outDir, 'tune.json'), JSON.stringify({ dataset: input.dataset, ...(label === 'sources' ? { sources: input.sources } : {}), seeds: input.seeds, grid, best }, null, 1) + '\n');
  return { best: { lambda: best.lambda, dropout: best.dropout, f1: best.overall.mean } };
}
