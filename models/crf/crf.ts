/**
 * Linear-chain CRF parameters: tag-to-tag transition scores plus start and
 * end scores. Invalid tag bigrams of the tag scheme (e.g. O -> I-PER.NAM in
 * BIO) can be forbidden by a constant penalty added to the learned scores.
 * The loss lives in ./fastNll.ts (with ./logLikelihood.ts, the tensor-op
 * reference), the one forward-backward in ./forwardBackward.ts, decoding in
 * ./viterbi.ts, marginals in ./marginals.ts; this module only owns weights.
 */
import * as tf from '@tensorflow/tfjs';
import { type ParamMap, variable } from '../layers/params.js';

/** Score added to a forbidden transition: exp(-1e4) is 0 in float32. */
export const FORBIDDEN = -1e4;

export interface CrfOptions {
  numTags: number;
  /**
   * allowed[i][j]: may tag j follow tag i; allowedStart[j]: may a sequence
   * start with tag j. Omit for an unconstrained CRF.
   */
  constraints?: { allowed: boolean[][]; allowedStart: boolean[]; allowedEnd?: boolean[] };
}

/** Plain-array CRF scores for the pure decoders. trans is row-major [from * K + to]. */
export interface CrfScores {
  numTags: number;
  trans: Float32Array; // [K*K]
  start: Float32Array; // [K]
  end: Float32Array; // [K]
}

export class Crf {
  readonly transitions: tf.Variable; // [K, K], from -> to
  readonly start: tf.Variable; // [K]
  readonly end: tf.Variable; // [K]
  private readonly transPenalty: tf.Tensor2D; // [K, K] constant, 0 or FORBIDDEN
  private readonly startPenalty: tf.Tensor1D; // [K]
  private readonly endPenalty: tf.Tensor1D; // [K]

  constructor(readonly options: CrfOptions) {
    const k = options.numTags;
    this.transitions = variable('transitions', [k, k]);
    this.start = variable('start', [k]);
    this.end = variable('end', [k]);
    const tp = new Float32Array(k * k);
    const sp = new Float32Array(k);
    const ep = new Float32Array(k);
    if (options.constraints) {
      const { allowed, allowedStart, allowedEnd } = options.constraints;
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) tp[i * k + j] = allowed[i][j] ? 0 : FORBIDDEN;
      for (let j = 0; j < k; j++) sp[j] = allowedStart[j] ? 0 : FORBIDDEN;
      for (let j = 0; j < k; j++) ep[j] = allowedEnd === undefined || allowedEnd[j] ? 0 : FORBIDDEN;
    }
    this.transPenalty = tf.keep(tf.tensor2d(tp, [k, k]));
    this.startPenalty = tf.keep(tf.tensor1d(sp));
    this.endPenalty = tf.keep(tf.tensor1d(ep));
  }

  get numTags(): number {
    return this.options.numTags;
  }

  /** Effective transition scores [K, K] (learned + constraint penalty). */
  effectiveTransitions(): tf.Tensor2D {
    return tf.add(this.transitions, this.transPenalty);
  }

  /** Effective start scores [K]. */
  effectiveStart(): tf.Tensor1D {
    return tf.add(this.start, this.startPenalty);
  }

  /** Effective end scores [K]. */
  effectiveEnd(): tf.Tensor1D {
    return tf.add(this.end, this.endPenalty);
  }

  /** Effective scores as plain arrays, for Viterbi and marginals on the CPU. */
  scores(): CrfScores {
    // Read outside tf.tidy: tidy scans returned typed arrays element by element.
    const read = (t: tf.Tensor): Float32Array => {
      const data = t.dataSync() as Float32Array;
      t.dispose();
      return data;
    };
    return { numTags: this.numTags, trans: read(this.effectiveTransitions()), start: read(this.effectiveStart()), end: read(this.effectiveEnd()) };
  }

  params(): ParamMap {
    return new Map([
      ['transitions', this.transitions],
      ['start', this.start],
      ['end', this.end],
    ]);
  }

  /** Frees the constant penalty tensors (the variables are owned by the model). */
  disposeConstants(): void {
    this.transPenalty.dispose();
    this.startPenalty.dispose();
    this.endPenalty.dispose();
  }
}
