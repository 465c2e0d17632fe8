/**
 * An exponential moving average of a network's weights (Polyak averaging),
 * updated after every optimisation step:
 *   shadow <- decay * shadow + (1 - decay) * weight,
 * the shadow starting at zero and read with Adam's bias correction,
 * shadow / (1 - decay^steps): after t steps the average weighs step t-k by
 * decay^k / sum_j decay^j, so an early read is an average of the steps taken
 * so far, not pulled towards zero or towards the initial weights.
 *
 * The trainer evaluates and saves the averaged weights by swapping them into
 * the network's variables for the duration of a callback (`withAveraged`),
 * then restoring the raw ones, so the optimiser never sees the average. Every
 * tensor it creates is disposed: the shadow variables in `dispose`, the rest
 * before each method returns.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../common/errors.js';
import type { ParamMap } from '../../models/layers/params.js';

export class WeightAverage {
  private readonly shadow = new Map<string, tf.Variable>();
  private count = 0;

  /** `decay` in (0, 1): the weight of the old average at each step (1 / (1 - decay) steps is the averaging horizon). */
  constructor(
    private readonly params: ParamMap,
    readonly decay: number,
  ) {
    if (!(decay > 0 && decay < 1)) throw new ConfigError(`weight average decay must be in (0, 1), got ${decay}`);
    for (const [name, v] of params) {
      const zeros = tf.zerosLike(v);
      this.shadow.set(name, tf.variable(zeros, false, undefined, 'float32'));
      zeros.dispose(); // the variable holds its own reference to the data
    }
  }

  /** Optimisation steps averaged so far. */
  get steps(): number {
    return this.count;
  }

  /** Folds the current weights into the average (call after every optimisation step). */
  update(): void {
    const d = this.decay;
    tf.tidy(() => {
      for (const [name, v] of this.params) {
        const s = this.shadow.get(name)!;
        s.assign(tf.add(tf.mul(s, d), tf.mul(v, 1 - d)));
      }
    });
    this.count += 1;
  }

  /** The bias-corrected average of one weight (a new tensor the caller disposes); the raw weight before any step. */
  averaged(name: string): tf.Tensor {
    const v = this.params.get(name);
    const s = this.shadow.get(name);
    if (!v || !s) throw new Error(`no weight named ${name}`);
    if (this.count === 0) return v.clone();
    const correction = 1 - Math.pow(this.decay, this.count);
    return tf.tidy(() => tf.div(s, correction));
  }

  /**
   * Runs `fn` with the averaged weights in the network's variables and puts
   * the raw weights back afterwards (also when `fn` throws).
   */
  async withAveraged<T>(fn: () => Promise<T> | T): Promise<T> {
    const raw = new Map<string, tf.Tensor>();
    try {
      for (const [name, v] of this.params) {
        raw.set(name, v.clone());
        const avg = this.averaged(name);
        v.assign(avg);
        avg.dispose();
      }
      return await fn();
    } finally {
      for (const [name, t] of raw) {
        this.params.get(name)!.assign(t);
        t.dispose();
      }
    }
  }

  /** The shadow tensors in parameter order and the step count, for checkpoints. */
  state(): { steps: number; shadow: tf.Tensor[] } {
    return { steps: this.count, shadow: [...this.shadow.values()] };
  }

  /** Restores a checkpointed state (values in parameter order). */
  restore(steps: number, values: readonly Float32Array[]): void {
    const vars = [...this.shadow.values()];
    if (values.length !== vars.length) throw new Error(`weight average checkpoint holds ${values.length} tensors, the network ${vars.length}`);
    vars.forEach((s, i) => tf.tidy(() => s.assign(tf.tensor(values[i], s.shape, 'float32'))));
    this.count = steps;
  }

  dispose(): void {
    for (const s of this.shadow.values()) s.dispose();
    this.shadow.clear();
  }
}
