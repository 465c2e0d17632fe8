/**
 * The cost of one changelog entry of the trends aggregator (TrendState.snapshot
 * plus its encoding), whole (encodeState: one gzip stream of the JSON) against
 * the StateEncoder (pipeline/stream/trendsOptions.ts: the windows nothing was
 * counted in since the last entry, and the history, reuse their gzip members).
 *
 * Feeds a TrendState half of --records bench records (bench/trendRecords.ts:
 * 2,000 entities, 2 mentions each), then per commit: --per-commit more records,
 * close, snapshot, encode; --commits commits per run, the two encoders in turn
 * (each first in every other run), --runs runs. Reports CPU ms per commit
 * (the added records included, the same for both) and bytes per entry, medians.
 *
 * Usage: node dist/bench/trendsStateEncode.js [--records 60000] [--window 60000] [--hop 20000]
 *   [--per-commit 1] [--commits 40] [--runs 7]
 */
import { TREND_DEFAULTS, TrendState, type TrendSnapshot } from '../operators/trends/trendState.js';
import { StateEncoder, encodeState } from '../pipeline/stream/trendsOptions.js';
import { benchArgs } from './args.js';
import { median } from './stats.js';
import { trendBenchRecord } from './trendRecords.js';

const args = benchArgs(import.meta.url, {
  records: { type: 'string', default: '60000' },
  window: { type: 'string', default: '60000' },
  hop: { type: 'string', default: '20000' },
  'per-commit': { type: 'string', default: '1' },
  commits: { type: 'string', default: '40' },
  runs: { type: 'string', default: '7' },
});
const RECORDS = Number(args.records);
const PER_COMMIT = Number(args['per-commit']);
const COMMITS = Number(args.commits);
const RUNS = Number(args.runs);

const state = new TrendState({ ...TREND_DEFAULTS, sizeMs: Number(args.window), hopMs: Number(args.hop), latenessMs: 5_000 });
let next = 0;
for (; next < RECORDS / 2; next++) state.add(trendBenchRecord(next, RECORDS));
state.close(0);

const encoder = new StateEncoder();
const ways: Record<'whole' | 'encoder', (s: TrendSnapshot) => Buffer> = { whole: encodeState, encoder: (s) => encoder.encode(s) };
const ms = { whole: [] as number[], encoder: [] as number[] };
const bytes = { whole: [] as number[], encoder: [] as number[] };
for (let r = 0; r < RUNS; r++) {
  const order = (['whole', 'encoder'] as const).slice();
  if (r % 2 === 1) order.reverse();
  for (const way of order) {
    const c0 = process.cpuUsage();
    let b = 0;
    for (let k = 0; k < COMMITS; k++) {
      for (let q = 0; q < PER_COMMIT; q++, next++) state.add(trendBenchRecord(next % RECORDS, RECORDS));
      state.close(0);
      b += ways[way](state.snapshot()).length;
    }
    const cu = process.cpuUsage(c0);
    ms[way].push((cu.user + cu.system) / 1000 / COMMITS);
    bytes[way].push(b / COMMITS);
  }
}
process.stdout.write(
  `${state.openWindows} open windows, ${state.keysTracked} keys, ${state.historyKeys} history keys; ${PER_COMMIT} record(s) per commit, medians of ${RUNS} x ${COMMITS} commits: ` +
    `whole ${median(ms.whole).toFixed(2)} ms CPU, ${median(bytes.whole).toFixed(0)} bytes; StateEncoder ${median(ms.encoder).toFixed(2)} ms CPU, ${median(bytes.encoder).toFixed(0)} bytes; ratio ${(median(ms.encoder) / median(ms.whole)).toFixed(2)}\n`,
);
