/**
 * `mentionflow experiment table1`: trains every buildable row of the
 * paper's Table 1 (plus the NER-only control) for several seeds on WeiboNER
 * v1 and/or v2, and writes a report (Markdown + JSON + SVG plots) with dev
 * named / nominal / overall P/R/F1, mean and standard deviation over seeds,
 * next to the paper's figures, and the segmentation scores of the joint
 * model on the NLPCC dev set. Resumable: a run whose result.json exists is
 * not trained again. Each run's best-epoch artifact stays in its folder;
 * the report names the best seed's artifact per row and dataset. Rows that
 * start from pre-trained embeddings (rows 3 and 4) pre-train them once into
 * <out>/embeddings/ and reuse that file afterwards (delete it to redo it).
 * With `reportOnly`, nothing is trained: the report is rebuilt from the
 * finished runs found under the folder (a row shows how many it has); with
 * no finished run at all it says there is nothing to report and writes nothing.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TaggerModel } from '../../../models/taggerModel.js';
import type { SegScores } from '../../../models/eval/segScorer.js';
import { evaluateSeg } from '../evaluate.js';
import type { TrainOptions } from '../options.js';
import { pretrainEmbeddings } from '../pretrain/pretrainEmbeddings.js';
import { trainTagger } from '../trainTagger.js';
import { loadNerCorpus, loadSegCorpus, type DatasetVersion, type SegCorpus } from './corpora.js';
import type { RunResult } from './runResult.js';
import { writeTable1Report } from './table1Report.js';
import { TABLE1_ROWS, type Table1Row } from './table1Rows.js';

export type { RunResult } from './runResult.js';

export interface Table1Input {
  corporaDir: string;
  datasets: DatasetVersion[];
  rows: string[];
  seeds: number;
  /** Train only these of seeds 1..`seeds` (the others are reused when done before, else left out of the report); default all. */
  onlySeeds?: readonly number[];
  base: TrainOptions;
  outDir: string;
  quiet?: boolean;
  /** Rebuild the report from the runs already finished under outDir; train nothing, load no corpus. */
  reportOnly?: boolean;
  log?: (m: string) => void;
}

export function selectRows(ids: readonly string[]): Table1Row[] {
  if (ids.length === 0) return TABLE1_ROWS;
  return ids.map((id) => {
    const row = TABLE1_ROWS.find((r) => r.id === id);
    if (!row) throw new Error(`unknown Table 1 row "${id}"; rows: ${TABLE1_ROWS.map((r) => r.id).join(', ')}`);
    return row;
  });
}

/** The embeddings file of `row` under the experiment folder, pre-trained on first use; undefined for rows without. */
export async function rowEmbeddingsFile(row: Table1Row, options: TrainOptions, input: Table1Input, log: (m: string) => void): Promise<string | undefined> {
  if (!row.embeddings) return undefined;
  const file = join(input.outDir, 'embeddings', `${row.embeddings}-d${options.embeddingDim}${options.normalize ? '' : '-unnormalized'}.emb`);
  if (existsSync(file)) return file;
  log(`pre-training ${row.embeddings} embeddings (dim ${options.embeddingDim}) for row ${row.id} into ${file}`);
  await pretrainEmbeddings({ corporaDir: input.corporaDir, out: file, positional: row.embeddings === 'char-positional', dim: options.embeddingDim, normalize: options.normalize, quiet: input.quiet, log });
  return file;
}

export async function runTable1(input: Table1Input): Promise<RunResult[]> {
  const log = input.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const rows = selectRows(input.rows);
  const needsSeg = !input.reportOnly && rows.some((r) => r.seg);
  let seg: SegCorpus | undefined;
  if (needsSeg) {
    log('loading the segmentation corpus');
    seg = await loadSegCorpus(input.corporaDir);
  }
  const results: RunResult[] = [];
  const total = input.datasets.length * rows.length * input.seeds;
  let done = 0;
  let missing = 0;
  for (const dataset of input.datasets) {
    let nerCorpus: Awaited<ReturnType<typeof loadNerCorpus>> | undefined;
    for (const row of rows) {
      for (let k = 1; k <= input.seeds; k++) {
        done += 1;
        const dir = join(input.outDir, dataset, `row-${row.id}`, `seed-${k}`);
        const file = join(dir, 'result.json');
        if (existsSync(file)) {
          results.push(JSON.parse(await readFile(file, 'utf8')) as RunResult);
          log(`[${done}/${total}] ${dataset} row ${row.id} seed ${k}: done before, reusing ${file}`);
          continue;
        }
        if (input.reportOnly || (input.onlySeeds !== undefined && !input.onlySeeds.includes(k))) {
          missing += 1;
          log(`[${done}/${total}] ${dataset} row ${row.id} seed ${k}: not run yet, left out of the report`);
          continue;
        }
        const ner = (nerCorpus ??= await loadNerCorpus(input.corporaDir, dataset));
        log(`[${done}/${total}] ${dataset} row ${row.id} (${row.title}) seed ${k}`);
        const options: TrainOptions = { ...input.base, ...row.options, seed: k };
        if (row.embeddings) options.embeddingsFile = await rowEmbeddingsFile(row, options, input, log);
        const started = Date.now();
        const trained = await trainTagger({
          ner: { train: ner.train, dev: ner.dev },
          seg: row.seg && seg ? { train: seg.train, dev: seg.dev, mode: row.seg } : undefined,
          options,
          outDir: dir,
          modelId: `table1-${dataset}-row${row.id}`,
          data: [...ner.data, ...(row.seg && seg ? seg.data : [])],
          quiet: input.quiet,
          resume: true,
          log,
        });
        trained.model.dispose();
        let segScores: SegScores | undefined;
        if (row.seg && seg) {
          const { model } = await TaggerModel.load(dir);
          segScores = await evaluateSeg(model, seg.dev, seg.trainWords);
          model.dispose();
        }
        const seconds = (Date.now() - started) / 1000;
        const result: RunResult = {
          dataset,
          row: row.id,
          seed: k,
          dir,
          bestEpoch: trained.best.epoch,
          epochs: trained.history.length,
          seconds,
          secondsPerEpoch: trained.history.reduce((a, r) => a + r.seconds, 0) / trained.history.length,
          scores: trained.bestScores,
          seg: segScores,
          history: trained.history,
        };
        await mkdir(dir, { recursive: true });
        await writeFile(file, JSON.stringify(result) + '\n');
        results.push(result);
        await writeTable1Report(input.outDir, rows, results, input);
      }
    }
  }
  if (missing > 0) log(`${missing} of ${total} runs are not in the report (not run yet)`);
  if (results.length === 0) {
    log(`nothing to report: no finished runs under ${input.outDir}`);
    return results;
  }
  await writeTable1Report(input.outDir, rows, results, input);
  return results;
}
