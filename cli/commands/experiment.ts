/** `mentionflow experiment table1`: the paper's Table 1 as experiments (see pipeline/train/experiments/table1.ts). */
import { ConfigError } from '../../common/errors.js';
import { useBackend, type BackendChoice } from '../../models/backend.js';
import type { DatasetVersion } from '../../pipeline/train/experiments/corpora.js';
import { runTable1 } from '../../pipeline/train/experiments/table1.js';
import { TABLE1_ROWS } from '../../pipeline/train/experiments/table1Rows.js';
import { layered, readConfigFile, resolveTrainOptions } from '../../pipeline/train/options.js';
import { BACKEND_OPTION, checkPath, numberOption, type CommandSpec, type Parsed } from '../args.js';
import { corporaDir } from '../defaults.js';

export const spec: CommandSpec = {
  name: 'experiment',
  summary: 'run a named experiment; `table1` reproduces the paper\'s Table 1 rows on the dev sets',
  usage: 'mentionflow experiment table1 [--seeds N] [--datasets v1,v2] [--rows 1,5,7,...] [--out DIR] [--config FILE] [--report-only]',
  allowPositionals: true,
  positionals: 'NAME',
  options: {
    seeds: { type: 'string', arg: 'N', description: 'seeds per row (1..N)', default: '5' },
    datasets: { type: 'string', arg: 'LIST', description: 'WeiboNER versions', default: 'v1,v2' },
    rows: { type: 'string', arg: 'LIST', description: `rows to run (${TABLE1_ROWS.map((r) => r.id).join(', ')}); default all` },
    'only-seeds': { type: 'string', arg: 'LIST', description: 'train only these of seeds 1..N, e.g. 4,5 (runs done before are reused; the others are left out of the report)' },
    epochs: { type: 'string', arg: 'N', description: 'maximum epochs per run (default from the config, 30)' },
    out: { type: 'string', arg: 'DIR', description: 'report and run folders', default: 'runs/table1' },
    corpora: { type: 'string', arg: 'DIR', description: 'folder with weiboNER/ and nlpcc2016-weibo-cws/ (default ../shared/corpora or $MENTIONFLOW_CORPORA)' },
    config: { type: 'string', arg: 'FILE', description: 'JSON training options applied to every row before its own overrides' },
    backend: BACKEND_OPTION,
    quiet: { type: 'boolean', description: 'no progress bars' },
    'report-only': { type: 'boolean', description: 'train nothing: rebuild the report from the runs already finished under --out' },
  },
  notes: `Rows:\n${TABLE1_ROWS.map((r) => `  ${r.id.padEnd(11)}${r.title}`).join('\n')}\nWrites table1.md, table1.json and dev-f1-<dataset>.svg to --out; re-running resumes (finished runs are reused).`,
};

export async function run(p: Parsed): Promise<number> {
  const [name, ...extra] = p.positionals;
  if (name !== 'table1' || extra.length > 0) throw new ConfigError(`unknown experiment "${p.positionals.join(' ')}"; available: table1`);
  const datasets = String(p.values.datasets).split(',') as DatasetVersion[];
  for (const d of datasets) if (d !== 'v1' && d !== 'v2') throw new ConfigError(`--datasets takes v1 and/or v2, got "${d}"`);
  const fromFile = typeof p.values.config === 'string' ? await readConfigFile(p.values.config) : {};
  const base = resolveTrainOptions(layered(fromFile, { epochs: numberOption(p, 'epochs', { integer: true, min: 1 }) }), typeof p.values.config === 'string' ? p.values.config : 'options');
  const corpora = typeof p.values.corpora === 'string' ? p.values.corpora : corporaDir();
  const seeds = numberOption(p, 'seeds', { integer: true, min: 1, max: 100 })!;
  let onlySeeds: number[] | undefined;
  if (typeof p.values['only-seeds'] === 'string') {
    onlySeeds = p.values['only-seeds'].split(',').map(Number);
    for (const k of onlySeeds) if (!Number.isInteger(k) || k < 1 || k > seeds) throw new ConfigError(`--only-seeds takes seeds among 1..${seeds} (--seeds), got "${p.values['only-seeds']}"`);
  }
  if (p.values['report-only'] !== true) checkPath(corpora, typeof p.values.corpora === 'string' ? '--corpora' : 'corpora folder (--corpora or MENTIONFLOW_CORPORA)', 'dir');
  const backend = await useBackend(p.values.backend as BackendChoice);
  process.stderr.write(`backend: ${backend}\n`);
  const results = await runTable1({
    corporaDir: corpora,
    datasets,
    rows: typeof p.values.rows === 'string' ? p.values.rows.split(',') : [],
    seeds,
    onlySeeds,
    base,
    outDir: String(p.values.out),
    quiet: p.values.quiet === true,
    reportOnly: p.values['report-only'] === true,
  });
  if (results.length > 0) process.stderr.write(`report: ${p.values.out}/table1.md\n`);
  return 0;
}
