/**
 * Dev F1 of a model at each precision of the LSTM's products (issue 17 item
 * 3: a reduced precision ships only if its F1 is within 0.2 of float32's):
 * `mentionflow eval --json` on the same labelled data at float32, bfloat16
 * and int8, each in its own process, and the largest change of the overall,
 * named and nominal F1 against float32. A precision this machine cannot run
 * (the CLI refuses it with exit 2) is reported with its reason and no scores.
 *
 *   node dist/bench/precisionF1.js [--model DIR] [--data FILE]
 *
 * Prints JSON: { model, data, precisions: { float32: {overall, named, nominal} | {refused}, ... },
 * changes: { bfloat16: { points: the largest |F1 - float32's|, group: where } or null, int8: ... } }.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { corporaDir, defaultModelDir } from '../cli/defaults.js';
import { INFERENCE_PRECISIONS, type InferencePrecision } from '../models/layers/precision.js';
import { benchArgs } from './args.js';

type Precision = InferencePrecision;
const GROUPS = ['overall', 'named', 'nominal'] as const;

/** The F1 of each group, or why the precision did not run. */
export type PrecisionScores = { overall: number; named?: number; nominal?: number } | { refused: string };

export interface PrecisionF1 {
  model: string;
  data: string;
  precisions: Record<Precision, PrecisionScores>;
  /** Per reduced precision: the largest |F1 - float32's F1| over overall, named and nominal, and in which; null where either did not run. */
  changes: Record<Exclude<Precision, 'float32'>, Change | null>;
}

/** The largest change of F1 (points) and the group it is in (overall when none moved). */
export interface Change {
  points: number;
  group: (typeof GROUPS)[number];
}

/** The largest change of F1 between two precisions' scores over the groups both have; null where either was refused. */
function largestChange(base: PrecisionScores, other: PrecisionScores): Change | null {
  if ('refused' in base || 'refused' in other) return null;
  let worst: Change = { points: 0, group: 'overall' };
  for (const g of GROUPS) {
    const a = base[g];
    const b = other[g];
    if (a !== undefined && b !== undefined && Math.abs(b - a) > worst.points) worst = { points: Math.abs(b - a), group: g };
  }
  return worst;
}

function evaluate(cli: string, model: string, data: string, precision: Precision): PrecisionScores {
  process.stderr.write(`[precision F1] eval at ${precision}\n`);
  try {
    const out = execFileSync(process.execPath, [cli, 'eval', '--model', model, '--data', data, '--precision', precision, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
      maxBuffer: 1 << 26,
    }).toString();
    const scores = (JSON.parse(out) as { scores: Record<string, { f1: number } | undefined> }).scores;
    if (scores.overall === undefined) throw new Error(`eval --json at ${precision} gave no overall score`);
    return { overall: scores.overall.f1, named: scores.named?.f1, nominal: scores.nominal?.f1 };
  } catch (err) {
    const e = err as { status?: number; stderr?: Buffer };
    if (e.status === 2) return { refused: (e.stderr?.toString() ?? '').trim().split('\n')[0] };
    throw err;
  }
}

const values = benchArgs(import.meta.url, {
  model: { type: 'string', default: defaultModelDir() },
  data: { type: 'string', default: join(corporaDir(), 'weiboNER', 'weiboNER_2nd_conll.dev') },
});
const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const precisions = Object.fromEntries(INFERENCE_PRECISIONS.map((p) => [p, evaluate(cli, values.model!, values.data!, p)])) as Record<Precision, PrecisionScores>;
const result: PrecisionF1 = {
  model: values.model!,
  data: values.data!,
  precisions,
  changes: { bfloat16: largestChange(precisions.float32, precisions.bfloat16), int8: largestChange(precisions.float32, precisions.int8) },
};
process.stdout.write(JSON.stringify(result) + '\n');
