/**
 * Forward-backward (float64, CPU) for one sequence: the one implementation
 * of the recursion, used by the training loss and its gradients
 * (./fastNll.ts) and by the marginals and span probabilities that give a
 * predicted mention its confidence (./marginals.ts). Also the one log-sum-exp
 * helper of the CRF code.
 */
import type { CrfScores } from './crf.js';
import { nativeCrf } from './native.js';

export interface ForwardBackward {
  length: number;
  numTags: number;
  /** alpha[t*K+j]: log-sum of scores of prefixes ending in tag j at t (emission at t included). Built on first read. */
  readonly alpha: Float64Array;
  /** beta[t*K+j]: log-sum of scores of suffixes after tag j at t (end score included). Built on first read. */
  readonly beta: Float64Array;
  logZ: number;
  /** alpha[t*K+j] without building the array. */
  alphaAt(t: number, j: number): number;
  /** beta[t*K+j] without building the array. */
  betaAt(t: number, j: number): number;
}

/** log(sum(exp(xs))) without overflow; -Infinity for no terms (or all -Infinity). */
export function logSumExp(xs: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < xs.length; i++) if (xs[i] > m) m = xs[i];
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += Math.exp(xs[i] - m);
  return m + Math.log(s);
}

/**
 * Runs forward-backward over emissions [length, K] at `offset` in `data`.
 * The recursions run in scaled probability space (exp of the transition
 * scores precomputed, once per CrfScores object; each step renormalised,
 * the log scale accumulated): K^2 multiply-adds per step instead of K^2 exp/log, about ten times faster
 * than log space and exact to float64 rounding, because each step's scores
 * are shifted by their maximum before exponentiating. The scaled vectors and
 * each step's log scale are kept, and a log-space value is computed when it
 * is read (alphaAt, betaAt; the whole alpha or beta array on its first
 * read): a span's confidence reads a few of them, the training loss all.
 * The emission factors are exponentiated once, for both directions.
 * Where mentionflow's addon loads, its C recursions (./native.ts) fill the
 * same vectors with the same numbers, bit for bit.
 */
export function forwardBackward(crf: CrfScores, data: Float32Array, offset: number, length: number): ForwardBackward {
  const k = crf.numTags;
  const aS = new Float64Array(length * k); // scaled alpha: alpha[t*K+j] = log aS[t*K+j] + aLog[t]
  const aLog = new Float64Array(length);
  const bS = new Float64Array(length * k); // scaled beta likewise (the last row is the end scores, exactly)
  const bLog = new Float64Array(length);
  if (length === 0) return new Scaled(0, k, aS, aLog, bS, bLog, crf.end, 0);
  const expT = expTransitions(crf);
  const native = nativeCrf();
  const logZ = native
    ? native.crfForwardBackward(expT, crf.start, crf.end, data, offset, length, aS, aLog, bS, bLog)
    : scaledRecursions(crf, expT, data, offset, length, { aS, aLog, bS, bLog });
  return new Scaled(length, k, aS, aLog, bS, bLog, crf.end, logZ);
}

/** The recursions' outputs: scaled alpha and beta [length*K] and their log scales [length]. */
interface ScaledVectors {
  aS: Float64Array;
  aLog: Float64Array;
  bS: Float64Array;
  bLog: Float64Array;
}

const EXP_TRANSITIONS = new WeakMap<CrfScores, Float64Array>();

/** exp of the transition scores, computed once per CrfScores object (its arrays are never written after it is made). */
function expTransitions(crf: CrfScores): Float64Array {
  let expT = EXP_TRANSITIONS.get(crf);
  if (expT === undefined) {
    expT = new Float64Array(crf.trans.length);
    for (let i = 0; i < expT.length; i++) expT[i] = Math.exp(crf.trans[i]);
    EXP_TRANSITIONS.set(crf, expT);
  }
  return expT;
}

/**
 * The recursions in TypeScript, into the zeroed scaled vectors and log scales;
 * returns logZ. schemas/native/crf.c follows it operation for operation.
 */
function scaledRecursions(crf: CrfScores, expT: Float64Array, data: Float32Array, offset: number, length: number, out: ScaledVectors): number {
  const { aS, aLog, bS, bLog } = out;
  const k = crf.numTags;
  // emission factors of every step, shifted by the step's max m[t]: e[t*K+j] = exp(x[j] - m[t])
  const e = new Float64Array(length * k);
  const m = new Float64Array(length);
  for (let t = 0; t < length; t++) {
    let max = -Infinity;
    const row = offset + t * k;
    for (let j = 0; j < k; j++) {
      const x = data[row + j] + (t === 0 ? crf.start[j] : 0);
      e[t * k + j] = x;
      if (x > max) max = x;
    }
    for (let j = 0; j < k; j++) e[t * k + j] = Math.exp(e[t * k + j] - max);
    m[t] = max;
  }
  // forward
  let sum = 0;
  for (let j = 0; j < k; j++) sum += (aS[j] = e[j]);
  let logScale = m[0] + Math.log(sum);
  for (let j = 0; j < k; j++) aS[j] /= sum;
  aLog[0] = logScale;
  for (let t = 1; t < length; t++) {
    const prev = (t - 1) * k;
    const cur = t * k;
    for (let i = 0; i < k; i++) {
      const ai = aS[prev + i];
      if (ai === 0) continue;
      for (let j = 0; j < k; j++) aS[cur + j] += ai * expT[i * k + j];
    }
    sum = 0;
    for (let j = 0; j < k; j++) sum += (aS[cur + j] *= e[cur + j]);
    logScale += m[t] + Math.log(sum);
    for (let j = 0; j < k; j++) aS[cur + j] /= sum;
    aLog[t] = logScale;
  }
  let z = 0;
  let mEnd = -Infinity;
  for (let j = 0; j < k; j++) mEnd = Math.max(mEnd, crf.end[j]);
  const lastRow = (length - 1) * k;
  for (let j = 0; j < k; j++) z += aS[lastRow + j] * Math.exp(crf.end[j] - mEnd);
  const logZ = logScale + mEnd + Math.log(z);
  // backward
  for (let j = 0; j < k; j++) bS[lastRow + j] = Math.exp(crf.end[j] - mEnd);
  let bScale = mEnd;
  bLog[length - 1] = bScale;
  const next = new Float64Array(k);
  for (let t = length - 2; t >= 0; t--) {
    const after = (t + 1) * k;
    const cur = t * k;
    for (let j = 0; j < k; j++) next[j] = e[after + j] * bS[after + j];
    sum = 0;
    for (let i = 0; i < k; i++) {
      let acc = 0;
      for (let j = 0; j < k; j++) acc += expT[i * k + j] * next[j];
      bS[cur + i] = acc;
      sum += acc;
    }
    bScale += m[t + 1] + Math.log(sum);
    for (let i = 0; i < k; i++) bS[cur + i] /= sum;
    bLog[t] = bScale;
  }
  return logZ;
}

/** Forward-backward results kept scaled; log-space values computed when read. */
class Scaled implements ForwardBackward {
  private alphaLog?: Float64Array;
  private betaLog?: Float64Array;

  constructor(
    readonly length: number,
    readonly numTags: number,
    private readonly aS: Float64Array,
    private readonly aLog: Float64Array,
    private readonly bS: Float64Array,
    private readonly bLog: Float64Array,
    private readonly end: ArrayLike<number>,
    readonly logZ: number,
  ) {}

  alphaAt(t: number, j: number): number {
    return Math.log(this.aS[t * this.numTags + j]) + this.aLog[t];
  }

  betaAt(t: number, j: number): number {
    return t === this.length - 1 ? this.end[j] : Math.log(this.bS[t * this.numTags + j]) + this.bLog[t];
  }

  get alpha(): Float64Array {
    this.alphaLog ??= this.all((t, j) => this.alphaAt(t, j));
    return this.alphaLog;
  }

  get beta(): Float64Array {
    this.betaLog ??= this.all((t, j) => this.betaAt(t, j));
    return this.betaLog;
  }

  private all(at: (t: number, j: number) => number): Float64Array {
    const k = this.numTags;
    const out = new Float64Array(this.length * k);
    for (let t = 0; t < this.length; t++) for (let j = 0; j < k; j++) out[t * k + j] = at(t, j);
    return out;
  }
}
