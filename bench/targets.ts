/**
 * The performance targets the issues set, read off the outputs of the
 * benchmark scripts that measure them, as one table: target, wanted,
 * measured, met / not met / not measured, and the command that gives the full
 * figure. Pure: no I/O, no clock (bench/all.ts runs the scripts and hands
 * their outputs here; test/bench/targets.test.ts checks the verdicts).
 *
 * The scripts whose results are only printed (archive, trends, swapLatency)
 * are read from their stdout lines; parsing fails soft (the target is then
 * "not measured"), so a changed line never fakes a verdict.
 */
import type { PipelineResults } from './pipelineReport.js';

/** How a measured value is judged against the target's threshold. */
export type Comparison = '>=' | '<=' | '<';

export interface Target {
  id: string;
  /** What is measured, in words. */
  what: string;
  /** Which issue set it. */
  issue: string;
  comparison: Comparison;
  threshold: number;
  /** bench/all part that measures it (`--parts`). */
  part: string;
  /** The command for the full figure. */
  command: string;
}

/** A measurement for one target; `detail` is shown next to the value (e.g. the bound it was set against). */
export interface Measurement {
  value: number;
  detail?: string;
}

export type Verdict = 'met' | 'not met' | 'not measured';

export interface TargetRow {
  target: Target;
  measured?: Measurement;
  verdict: Verdict;
}

export const TARGETS: readonly Target[] = [
  {
    id: 'identity-over-bare',
    what: 'identity pipeline / bare kafkajs loop, posts/s (median of runs)',
    issue: 'performance (17 item 1)',
    comparison: '>=',
    threshold: 0.7,
    part: 'pipeline',
    command: 'node dist/bench/pipeline.js --posts 20000 --runs 5 --legs throughput --variants bare,identity',
  },
  {
    id: 'full-over-standalone',
    what: 'full pipeline / tagger standalone (same model, batch size, texts), posts/s',
    issue: 'performance',
    comparison: '>=',
    threshold: 0.85,
    part: 'pipeline',
    command: 'node dist/bench/pipeline.js --runs 3 --legs throughput --variants full',
  },
  {
    id: 'p99-over-bound',
    what: 'full pipeline p99 end-to-end at 50% load / bound (2 x batch wait + one batch\'s tagging)',
    issue: 'performance',
    comparison: '<',
    threshold: 1,
    part: 'pipeline',
    command: 'node dist/bench/pipeline.js --runs 3 --legs throughput,latency --variants full',
  },
  {
    id: 'rss-growth',
    what: 'worker RSS after the last checkpoint / after 10,000 posts',
    issue: 'performance',
    comparison: '<=',
    threshold: 1.1,
    part: 'pipeline',
    command: 'node dist/bench/pipeline.js --legs memory --rss-posts 1000000',
  },
  {
    id: 'scaling',
    what: 'two pinned workers / one, posts/s (6 partitions, else the most measured)',
    issue: 'performance',
    comparison: '>=',
    threshold: 1.7,
    part: 'pipeline (--legs ...,scaling)',
    command: 'node dist/bench/pipeline.js --legs scaling --runs 3 --scaling-partitions 3,6',
  },
  {
    id: 'useful-flops',
    what: "tagger's useful FLOP rate on the worker's batches (backlog, default settings) / 1-core matMul",
    issue: 'performance (17 item 2)',
    comparison: '>=',
    threshold: 0.5,
    part: 'limits',
    command: 'node dist/bench/limits.js --runs 5',
  },
  {
    id: 'f1-bfloat16',
    what: 'dev F1 (WeiboNER v2: overall, named, nominal) at bfloat16 products: largest change from float32, points',
    issue: 'performance (17 item 3)',
    comparison: '<=',
    threshold: 0.2,
    part: 'precision',
    command: 'node dist/bench/precisionF1.js',
  },
  {
    id: 'f1-int8',
    what: 'dev F1 (WeiboNER v2: overall, named, nominal) at int8 products: largest change from float32, points',
    issue: 'performance (17 item 3)',
    comparison: '<=',
    threshold: 0.2,
    part: 'precision',
    command: 'node dist/bench/precisionF1.js',
  },
  {
    id: 'archive-over-bare',
    what: 'archive sink / bare kafkajs consume loop, posts/s (ratio of medians)',
    issue: 'archive (13)',
    comparison: '>=',
    threshold: 0.7,
    part: 'archive',
    command: 'node dist/bench/archive.js --runs 5 --text FILE (1,000,000 posts)',
  },
  {
    id: 'swap-inline',
    what: 'hot swap, inline inference: p99 batch latency around a swap / steady (median of runs)',
    issue: 'archive and swap (13)',
    comparison: '<',
    threshold: 2,
    part: 'swap',
    command: 'node dist/bench/swapLatency.js --runs 5',
  },
  {
    id: 'swap-thread',
    what: 'hot swap, thread inference: p99 batch latency around a swap / steady (median of runs)',
    issue: 'archive and swap (13)',
    comparison: '<',
    threshold: 2,
    part: 'swap',
    command: 'node dist/bench/swapLatency.js --runs 5',
  },
  {
    id: 'trends-memory',
    what: 'trends aggregator heap after GC with 1M distinct keys, capped: last sample / first (flat under the cap; 10% allowed)',
    issue: 'trends (15)',
    comparison: '<=',
    threshold: 1.1,
    part: 'trends',
    command: 'node --expose-gc dist/bench/trends.js --records 100000 --runs 5',
  },
  {
    id: 'joint-epochs',
    what: 'joint training, 30 epochs, minutes',
    issue: 'joint training (row 11)',
    comparison: '<=',
    threshold: 30,
    part: 'joint',
    command: 'node dist/bench/jointEpoch.js --epochs 2',
  },
];

/** Figures reported beside the targets, without a threshold of their own. */
export interface Reported {
  what: string;
  value: string;
  command: string;
}

/** Whether `value` meets `threshold` under `comparison`; NaN never does. */
export function meets(value: number, comparison: Comparison, threshold: number): boolean {
  if (!Number.isFinite(value)) return false;
  switch (comparison) {
    case '>=':
      return value >= threshold;
    case '<=':
      return value <= threshold;
    case '<':
      return value < threshold;
  }
}

/** One row per target, in TARGETS order, each judged on what was measured (or marked not measured). */
export function targetRows(measured: Readonly<Record<string, Measurement | undefined>>, targets: readonly Target[] = TARGETS): TargetRow[] {
  return targets.map((target) => {
    const m = measured[target.id];
    if (m === undefined || !Number.isFinite(m.value)) return { target, verdict: 'not measured' };
    return { target, measured: m, verdict: meets(m.value, target.comparison, target.threshold) ? 'met' : 'not met' };
  });
}

const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(3));

/** The Markdown table of the rows, and the reported figures after it. */
export function renderTargets(rows: readonly TargetRow[], reported: readonly Reported[] = [], quick = false): string {
  const lines = [
    `## Targets${quick ? ' (QUICK mode: small sizes, verdicts indicative only)' : ''}`,
    '',
    '| target | issue | wanted | measured | verdict | full figure |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.target.what} | ${r.target.issue} | ${r.target.comparison} ${r.target.threshold} | ` +
        `${r.measured ? `${fmt(r.measured.value)}${r.measured.detail ? ` (${r.measured.detail})` : ''}` : `- (part ${r.target.part} not run)`} | ` +
        `${r.verdict === 'met' ? 'met' : r.verdict === 'not met' ? '**not met**' : 'not measured'} | \`${r.target.command}\` |`,
    ),
  ];
  if (reported.length > 0) {
    lines.push('', '| reported (no threshold on record) | measured | full figure |', '|---|---|---|', ...reported.map((r) => `| ${r.what} | ${r.value} | \`${r.command}\` |`));
  }
  return lines.join('\n');
}

// ---- reading the scripts' outputs

type Measured = Record<string, Measurement | undefined>;

/** bench/pipeline.ts results (pipeline.json). */
export function fromPipeline(p: PipelineResults): Measured {
  const out: Measured = {};
  const { identityOverBare, fullOverStandalone, identityOverBarePaired } = p.ratios;
  if (identityOverBare !== undefined) {
    const paired = identityOverBarePaired ?? [];
    const detail = paired.length > 0 ? `runs ${Math.min(...paired).toFixed(2)}-${Math.max(...paired).toFixed(2)}` : undefined;
    out['identity-over-bare'] = { value: identityOverBare, ...(detail ? { detail } : {}) };
  }
  if (fullOverStandalone !== undefined) out['full-over-standalone'] = { value: fullOverStandalone };
  const b = p.latencyBound;
  if (b) out['p99-over-bound'] = { value: b.p99Ms / b.boundMs, detail: `p99 ${b.p99Ms.toFixed(1)} ms, bound ${b.boundMs.toFixed(1)} ms` };
  const snaps = p.memory?.snapshots ?? [];
  if (snaps.length > 1) {
    const [a, z] = [snaps[0], snaps[snaps.length - 1]];
    out['rss-growth'] = { value: z.rss / a.rss, detail: `${z.acked.toLocaleString('en-US')} / ${a.acked.toLocaleString('en-US')} posts, ${p.memory?.variant ?? 'full'}` };
  }
  const parts = p.scaling?.byPartitions ?? [];
  if (parts.length > 0) {
    const best = parts.find((x) => x.partitions === 6) ?? parts.reduce((a, x) => (x.partitions > a.partitions ? x : a));
    out.scaling = { value: best.ratio, detail: `${best.partitions} partitions` };
  }
  return out;
}

/** bench/limits.ts results (limits.json): useful rate of the worker's backlog batches over the 1-core matMul rate. */
export function fromLimits(l: unknown): Measured {
  const j = l as { matmul?: { oneCore?: { gflops?: number } }; tagger?: { oneCore?: { batches?: { name: string; packed?: { usefulGflops?: number } }[] } } };
  const mm = j.matmul?.oneCore?.gflops;
  const worker = j.tagger?.oneCore?.batches?.find((b) => b.name === 'worker batches, backlog');
  const useful = worker?.packed?.usefulGflops;
  if (mm === undefined || useful === undefined || !(mm > 0)) return {};
  return { 'useful-flops': { value: useful / mm, detail: `${useful.toFixed(2)} of ${mm.toFixed(1)} GFLOP/s` } };
}

/** bench/archive.ts stdout: "archive sink (this tree, deflate): ...; ratio of medians 0.51 (per run ..." (the default codec's line; older output without the codec too). */
export function fromArchive(stdout: string): Measured {
  const m = /archive sink \(this tree(?:, deflate)?\):.*?ratio of medians ([\d.]+) \(per run ([\d.]+(?:, [\d.]+)*)/.exec(stdout);
  if (!m) return {};
  // The target is on real text (--text FILE): the bench's synthetic posts deflate about 14:1
  // instead of 2:1, so deflate costs far less there and the ratio is not the target's.
  if (!/^\d+ posts \(texts: /m.test(stdout)) return {};
  return { 'archive-over-bare': { value: Number(m[1]), detail: `runs ${m[2].trim()}` } };
}

/** bench/swapLatency.ts stdout: its table rows "| inline | period | ... | 1.05x | per-run ratios | ...". */
export function fromSwap(stdout: string): Measured {
  const out: Measured = {};
  for (const mode of ['inline', 'thread'] as const) {
    const m = new RegExp(`^\\| ${mode} \\|[^|]*\\|[^|]*\\|[^|]*\\| ([\\d.]+)x \\| ([^|]*) \\|`, 'm').exec(stdout);
    if (m) out[`swap-${mode}`] = { value: Number(m[1]), detail: `runs ${m[2].trim()}` };
  }
  return out;
}

/** bench/trends.ts stdout: the memory line "...: start X MiB; 100k: A MiB (...); ...; 1000k: B MiB (...)". */
export function fromTrends(stdout: string): Measured {
  const line = /^memory, .*$/m.exec(stdout)?.[0];
  if (line === undefined) return {};
  const samples = [...line.matchAll(/(\d+)k: ([\d.]+) MiB/g)].map((m) => ({ k: Number(m[1]), mib: Number(m[2]) }));
  if (samples.length < 2) return {};
  const [a, z] = [samples[0], samples[samples.length - 1]];
  return { 'trends-memory': { value: z.mib / a.mib, detail: `${a.mib} MiB at ${a.k}k, ${z.mib} MiB at ${z.k}k keys` } };
}

/**
 * bench/pipeline.ts results with the codec variant: what the worker's Avro stages alone leave of the
 * bare loop's posts/s (the most identity / bare can reach with these stages), and identity / codec
 * (the framework's share); reported beside identity-over-bare, no threshold of their own.
 */
export function pipelineReported(p: PipelineResults): Reported | undefined {
  const { codecOverBare, identityOverCodec } = p.ratios;
  if (codecOverBare === undefined) return undefined;
  return {
    what: "Avro stages alone (bare loop + the worker's decode, PostMentions, encode) / bare kafkajs loop, posts/s; identity / that",
    value: `${codecOverBare.toFixed(3)}; ${identityOverCodec === undefined ? 'n/a' : identityOverCodec.toFixed(3)}`,
    command: 'node dist/bench/pipeline.js --posts 20000 --runs 5 --legs throughput --variants bare,codec,identity',
  };
}

/** bench/trends.ts stdout: the throughput line's per-core ratio (reported; issue 15 set no threshold). */
export function trendsReported(stdout: string): Reported | undefined {
  const m = /ratio wall ([\d.]+), per core ([\d.]+)/.exec(stdout);
  if (!m) return undefined;
  return { what: 'trends aggregator / bare kafkajs consume loop, mentions per CPU-second (wall)', value: `${m[2]} (${m[1]})`, command: 'node --expose-gc dist/bench/trends.js --records 100000 --runs 5' };
}

/** bench/precisionF1.ts stdout (JSON): the largest F1 change of each reduced precision, and where; not measured where it did not run here. */
export function fromPrecision(j: unknown): Measured {
  type Group = 'overall' | 'named' | 'nominal';
  const r = j as { precisions?: Record<string, Partial<Record<Group, number>> | undefined>; changes?: Record<string, { points: number; group: Group } | null | undefined> };
  const out: Measured = {};
  for (const p of ['bfloat16', 'int8']) {
    const change = r.changes?.[p];
    if (change === null || change === undefined) continue;
    const f1 = (of: string) => r.precisions?.[of]?.[change.group]?.toFixed(2) ?? '-';
    out[`f1-${p}`] = { value: change.points, detail: `${change.group} ${f1(p)} against ${f1('float32')}` };
  }
  return out;
}

/** bench/jointEpoch.ts stdout (JSON). */
export function fromJoint(j: { thirtyEpochMinutes?: number; secondsPerEpoch?: number[] }): Measured {
  if (j.thirtyEpochMinutes === undefined) return {};
  return { 'joint-epochs': { value: j.thirtyEpochMinutes, detail: `${(j.secondsPerEpoch ?? []).map((s) => s.toFixed(1)).join(', ')} s per epoch` } };
}
