/**
 * Parameter creation and bookkeeping shared by the layers. Every weight is a
 * named tf.Variable initialised from a seeded Rng, so that a model is
 * reproducible from its seed and can be saved and loaded by name.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng.js';

/** Named trainable variables of a layer or model. */
export type ParamMap = Map<string, tf.Variable>;

/** Glorot/Xavier uniform values for a weight of `shape` with the given fans. */
export function glorotUniform(rng: Rng, shape: number[], fanIn: number, fanOut: number): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return uniformValues(rng, shape, limit);
}

/** Uniform values in [-limit, limit) (zeros inside withoutInit). */
export function uniformValues(rng: Rng, shape: number[], limit: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (skipInit) return out;
  for (let i = 0; i < n; i++) out[i] = (rng.next() * 2 - 1) * limit;
  return out;
}

let skipInit = false;

/**
 * Runs `build` (synchronous) with the initialisers returning zeros instead
 * of drawing random values: for a network whose every weight is assigned
 * next (loading an artifact, models/artifact/load.ts checks none is left
 * out). Drawing the ~3.8 million values of the shipped model one by one was
 * most of a load's time on the calling thread.
 */
export function withoutInit<T>(build: () => T): T {
  skipInit = true;
  try {
    return build();
  } finally {
    skipInit = false;
  }
}

/** Creates a trainable variable named `name` from values (zeros when omitted). */
export function variable(name: string, shape: number[], values?: Float32Array): tf.Variable {
  const init = values === undefined ? tf.zeros(shape) : tf.tensor(values, shape, 'float32');
  const v = tf.variable(init, true, uniqueName(name));
  init.dispose();
  return v;
}

let counter = 0;
/** tfjs variable names are global; suffix ours so two models can coexist. */
function uniqueName(name: string): string {
  counter += 1;
  return `${name}__${counter}`;
}

/** Adds `child`'s params to `into` under `prefix/`. */
export function collect(into: ParamMap, prefix: string, child: ParamMap): ParamMap {
  for (const [k, v] of child) into.set(`${prefix}/${k}`, v);
  return into;
}

/** Disposes every variable of a map. */
export function disposeParams(params: ParamMap): void {
  for (const v of params.values()) v.dispose();
}
