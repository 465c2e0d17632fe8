/**
 * Resumable training checkpoints: after every epoch the trainer writes the
 * network weights, each task's optimizer state (Adam moments, iteration
 * count), the random generator's state, learning rates, plugin states and
 * the history so far into `<dir>/`, and the weight average's shadow
 * weights when training keeps one (`averaged.bin`); a resumed run continues
 * from the next epoch and, on the same backend, reproduces the uninterrupted
 * run.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { MentionflowError } from '../../common/errors.js';
import type { ParamMap } from '../../models/layers/params.js';

export interface CheckpointState {
  version: 1;
  epoch: number;
  rngState: number;
  learningRates: number[];
  plugins: unknown[];
  history: unknown[];
  /** Steps folded into the weight average (pipeline/train/weightAverage.ts), when training keeps one. */
  averageSteps?: number;
}

/** The weight average's shadow tensors, saved beside the weights. */
export interface AverageTensors {
  steps: number;
  shadow: tf.Tensor[];
}

interface TensorEntry {
  shape: number[];
  offset: number;
  size: number;
}

async function writeTensors(file: string, tensors: tf.Tensor[]): Promise<TensorEntry[]> {
  const entries: TensorEntry[] = [];
  let total = 0;
  for (const t of tensors) {
    entries.push({ shape: t.shape.slice(), offset: total, size: t.size });
    total += t.size;
  }
  const buf = new Float32Array(total);
  for (const [i, t] of tensors.entries()) buf.set((await t.data()) as Float32Array, entries[i].offset);
  await writeFile(file, Buffer.from(buf.buffer));
  return entries;
}

function readTensors(bytes: Buffer, entries: TensorEntry[]): Float32Array[] {
  const all = new Float32Array(bytes.byteLength / 4);
  Buffer.from(all.buffer).set(bytes);
  return entries.map((e) => all.subarray(e.offset, e.offset + e.size));
}

/** Saves a checkpoint (files renamed into place, state last). */
export async function saveCheckpoint(dir: string, params: ParamMap, optimizers: tf.Optimizer[], state: CheckpointState, average?: AverageTensors): Promise<void> {
  await mkdir(dir, { recursive: true });
  const averageEntries = average ? await writeTensors(join(dir, 'averaged.bin.tmp'), average.shadow) : undefined;
  const weightEntries = await writeTensors(join(dir, 'weights.bin.tmp'), [...params.values()]);
  const optStates = await Promise.all(optimizers.map((o) => o.getWeights()));
  const optEntries = await writeTensors(
    join(dir, 'optimizers.bin.tmp'),
    optStates.flatMap((ws) => ws.map((w) => w.tensor)),
  );
  await rename(join(dir, 'weights.bin.tmp'), join(dir, 'weights.bin'));
  await rename(join(dir, 'optimizers.bin.tmp'), join(dir, 'optimizers.bin'));
  if (average) await rename(join(dir, 'averaged.bin.tmp'), join(dir, 'averaged.bin'));
  const meta = { ...state, averageSteps: average?.steps, averageEntries, weights: weightEntries, paramNames: [...params.keys()], optimizers: optStates.map((ws) => ws.map((w) => w.name)), optEntries };
  await writeFile(join(dir, 'state.json.tmp'), JSON.stringify(meta));
  await rename(join(dir, 'state.json.tmp'), join(dir, 'state.json'));
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'state.json'));
}

/**
 * Restores weights and optimizer states in place and returns the trainer
 * state, with the weight average's shadow values when the checkpoint has them.
 */
export async function loadCheckpoint(dir: string, params: ParamMap, optimizers: tf.Optimizer[]): Promise<CheckpointState & { averaged?: Float32Array[] }> {
  const meta = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as CheckpointState & {
    averageEntries?: TensorEntry[];
    weights: TensorEntry[];
    paramNames: string[];
    optimizers: string[][];
    optEntries: TensorEntry[];
  };
  const names = [...params.keys()];
  if (meta.version !== 1 || meta.paramNames.join('|') !== names.join('|')) {
    throw new MentionflowError(`checkpoint ${dir} does not match this model configuration; delete it or train into a new directory`);
  }
  const weights = readTensors(await readFile(join(dir, 'weights.bin')), meta.weights);
  [...params.values()].forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(weights[i], v.shape, 'float32'))));
  const optData = readTensors(await readFile(join(dir, 'optimizers.bin')), meta.optEntries);
  let k = 0;
  for (const [i, opt] of optimizers.entries()) {
    const named = meta.optimizers[i].map((name) => {
      const e = meta.optEntries[k];
      return { name, tensor: tf.tensor(optData[k++], e.shape, 'float32') };
    });
    await opt.setWeights(named);
    tf.dispose(named.map((n) => n.tensor));
  }
  const averaged = meta.averageEntries ? readTensors(await readFile(join(dir, 'averaged.bin')), meta.averageEntries) : undefined;
  return { ...meta, averaged };
}
