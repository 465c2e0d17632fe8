/**
 * The training loop, kept small by dispatching events to plugins (after
 * batch, after epoch), as flair's trainer does. It alternates between tasks
 * batch by batch: with one task it is plain minibatch training; with the NER
 * and segmentation tasks it is the paper's alternating joint optimisation.
 * Each task has its own optimizer and learning rate.
 */
import * as tf from '@tensorflow/tfjs';
import { MentionflowError } from '../../common/errors.js';
import type { Batch } from '../../models/batch.js';
import type { MarginCost } from '../../models/crf/fastNll.js';
import type { HeadName, TaggingNetwork } from '../../models/network/taggingNetwork.js';
import { Rng } from '../../models/rng.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { trainStep } from './step.js';
import type { WeightAverage } from './weightAverage.js';

export interface TrainTask {
  head: HeadName;
  /** Loss weight (lambda for segmentation, 1 for NER). */
  weight: number;
  learningRate: number;
  /** Softmax-margin cost of the task's loss (models/crf/fastNll.ts); absent: the CRF likelihood. */
  cost?: MarginCost;
  /**
   * The batches of one epoch (a fresh subsample each call, if the task wants
   * one). Called after a checkpoint is restored, tasks in order, each awaited
   * before the next (so the random draws keep their order).
   */
  epochBatches(epoch: number, rng: Rng): Batch[] | Promise<Batch[]>;
}

export interface TaskState {
  task: TrainTask;
  optimizer: tf.Optimizer;
  learningRate: number;
  lossSum: number;
  batches: number;
}

/** One epoch of training: time, loss and learning rate per head, dev metrics. */
export interface EpochReport {
  epoch: number;
  seconds: number;
  /** Mean training loss per task head. */
  loss: Partial<Record<HeadName, number>>;
  learningRate: Partial<Record<HeadName, number>>;
  /** Dev metrics from the evaluator (e.g. ner_f1). */
  dev: Record<string, number>;
}

export interface TrainerPlugin {
  /** Serialisable state for checkpoints, and its restoration on resume. */
  saveState?(): unknown;
  restoreState?(state: unknown): void;
  afterBatch?(info: { epoch: number; head: HeadName; loss: number; done: number; total: number }): void;
  /** May ask the trainer to stop by returning 'stop'. */
  afterEpoch?(report: EpochReport, states: TaskState[]): Promise<void | 'stop'> | void | 'stop';
}

export interface TrainerOptions {
  epochs: number;
  seed: number;
  clipNorm: number;
  optimizer: 'adam' | 'sgd';
  /** Write a resumable checkpoint here after every epoch. */
  checkpointDir?: string;
  /** Continue from the checkpoint in checkpointDir if there is one. */
  resume?: boolean;
  /** A moving average of the weights, updated after every step (and checkpointed); the caller evaluates and saves with it. */
  average?: WeightAverage;
  log?: (msg: string) => void;
}

function makeOptimizer(kind: 'adam' | 'sgd', lr: number): tf.Optimizer {
  return kind === 'adam' ? tf.train.adam(lr) : tf.train.sgd(lr);
}

/** Sets the learning rate of a tfjs optimizer in place. */
export function setLearningRate(state: TaskState, lr: number): void {
  state.learningRate = lr;
  const opt = state.optimizer as tf.Optimizer & { learningRate: number; setLearningRate?: (x: number) => void };
  if (typeof opt.setLearningRate === 'function') opt.setLearningRate(lr);
  else opt.learningRate = lr;
}

export async function train(
  network: TaggingNetwork,
  tasks: TrainTask[],
  evaluate: (epoch: number) => Promise<Record<string, number>>,
  options: TrainerOptions,
  plugins: TrainerPlugin[],
): Promise<EpochReport[]> {
  let rng = new Rng(options.seed);
  const states: TaskState[] = tasks.map((task) => ({
    task,
    optimizer: makeOptimizer(options.optimizer, task.learningRate),
    learningRate: task.learningRate,
    lossSum: 0,
    batches: 0,
  }));
  let reports: EpochReport[] = [];
  let first = 1;
  const ckpt = options.checkpointDir;
  if (ckpt && options.resume && hasCheckpoint(ckpt)) {
    const saved = await loadCheckpoint(ckpt, network.params(), states.map((s) => s.optimizer));
    rng = Rng.fromState(saved.rngState);
    saved.learningRates.forEach((lr, i) => setLearningRate(states[i], lr));
    plugins.forEach((p, i) => p.restoreState?.(saved.plugins[i]));
    if (options.average) {
      if (!saved.averaged || saved.averageSteps === undefined) throw new MentionflowError(`checkpoint ${ckpt} was written without a weight average; resume with the same options or train into a new directory`);
      options.average.restore(saved.averageSteps, saved.averaged);
    }
    reports = saved.history as EpochReport[];
    first = saved.epoch + 1;
    options.log?.(`resumed from the checkpoint in ${ckpt} after epoch ${saved.epoch}`);
  }
  try {
    for (let epoch = first; epoch <= options.epochs; epoch++) {
      const started = Date.now();
      const lists: Batch[][] = [];
      for (const s of states) lists.push(await s.task.epochBatches(epoch, rng));
      const total = lists.reduce((a, l) => a + l.length, 0);
      let done = 0;
      for (const s of states) {
        s.lossSum = 0;
        s.batches = 0;
      }
      const longest = Math.max(...lists.map((l) => l.length));
      for (let i = 0; i < longest; i++) {
        for (const [k, s] of states.entries()) {
          const batch = lists[k][i];
          if (!batch) continue;
          const loss = trainStep(network, batch, {
            head: s.task.head,
            weight: s.task.weight,
            optimizer: s.optimizer,
            clipNorm: options.clipNorm,
            dropoutSeed: rng.seed(),
            cost: s.task.cost,
          });
          options.average?.update();
          s.lossSum += loss;
          s.batches += 1;
          done += 1;
          for (const p of plugins) p.afterBatch?.({ epoch, head: s.task.head, loss, done, total });
        }
      }
      const dev = await evaluate(epoch);
      const report: EpochReport = {
        epoch,
        seconds: (Date.now() - started) / 1000,
        loss: Object.fromEntries(states.map((s) => [s.task.head, s.lossSum / Math.max(1, s.batches)])),
        learningRate: Object.fromEntries(states.map((s) => [s.task.head, s.learningRate])),
        dev,
      };
      reports.push(report);
      let stop = false;
      for (const p of plugins) if ((await p.afterEpoch?.(report, states)) === 'stop') stop = true;
      if (ckpt) {
        await saveCheckpoint(ckpt, network.params(), states.map((s) => s.optimizer), {
          version: 1,
          epoch,
          rngState: rng.stateValue,
          learningRates: states.map((s) => s.learningRate),
          plugins: plugins.map((p) => p.saveState?.()),
          history: reports,
        }, options.average?.state());
      }
      if (stop) break;
    }
  } finally {
    for (const s of states) s.optimizer.dispose();
  }
  return reports;
}
