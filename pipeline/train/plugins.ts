/**
 * Trainer plugins: learning-rate annealing, early stopping, best-epoch
 * checkpointing, progress display and the epoch history (JSON lines).
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HeadName } from '../../models/network/taggingNetwork.js';
import { Progress } from './progress.js';
import { setLearningRate, type EpochReport, type TaskState, type TrainerPlugin } from './trainer.js';

/** Which dev metric a head's learning rate watches (higher is better). */
export type MetricOf = (head: HeadName) => string;

/** Halves a task's learning rate after `patience` epochs without gain on its dev metric. */
export function lrAnnealing(patience: number, metricOf: MetricOf, log: (m: string) => void): TrainerPlugin {
  let best = new Map<HeadName, number>();
  let waited = new Map<HeadName, number>();
  return {
    saveState: () => ({ best: [...best], waited: [...waited] }),
    restoreState(state) {
      const s = state as { best: [HeadName, number][]; waited: [HeadName, number][] };
      best = new Map(s.best);
      waited = new Map(s.waited);
    },
    afterEpoch(report: EpochReport, states: TaskState[]) {
      for (const s of states) {
        const head = s.task.head;
        const value = report.dev[metricOf(head)] ?? -Infinity;
        if (value > (best.get(head) ?? -Infinity)) {
          best.set(head, value);
          waited.set(head, 0);
          continue;
        }
        const w = (waited.get(head) ?? 0) + 1;
        if (w >= patience) {
          setLearningRate(s, s.learningRate / 2);
          log(`${head}: no dev gain for ${w} epochs, learning rate halved to ${s.learningRate.toPrecision(3)}`);
          waited.set(head, 0);
        } else {
          waited.set(head, w);
        }
      }
    },
  };
}

/** Stops training after `patience` epochs without gain on `metric`; calls onBest at each new best. */
export function bestEpoch(
  metric: string,
  patience: number,
  onBest: (report: EpochReport) => Promise<void>,
  log: (m: string) => void,
): TrainerPlugin & { best(): EpochReport | undefined } {
  let bestReport: EpochReport | undefined;
  let waited = 0;
  return {
    best: () => bestReport,
    saveState: () => ({ bestReport, waited }),
    restoreState(state) {
      const s = state as { bestReport?: EpochReport; waited: number };
      bestReport = s.bestReport;
      waited = s.waited;
    },
    async afterEpoch(report: EpochReport) {
      const value = report.dev[metric] ?? -Infinity;
      if (bestReport === undefined || value > (bestReport.dev[metric] ?? -Infinity)) {
        bestReport = report;
        waited = 0;
        await onBest(report);
        return;
      }
      waited += 1;
      if (waited >= patience) {
        log(`early stop: no ${metric} gain for ${waited} epochs (best ${bestReport.dev[metric].toFixed(2)} at epoch ${bestReport.epoch})`);
        return 'stop';
      }
    },
  };
}

/** A progress bar per epoch with the running loss, and an epoch summary line. */
export function progressBar(quiet: boolean): TrainerPlugin {
  let bar: Progress | undefined;
  let epochSeen = 0;
  let lossSum = 0;
  let n = 0;
  return {
    afterBatch({ epoch, loss, total }) {
      if (epoch !== epochSeen) {
        epochSeen = epoch;
        bar = new Progress({ total, label: `epoch ${epoch}`, quiet });
        lossSum = 0;
        n = 0;
      }
      lossSum += loss;
      n += 1;
      bar!.tick(1, `loss ${(lossSum / n).toFixed(3)}`);
    },
    afterEpoch(report) {
      const dev = Object.entries(report.dev)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(' ');
      const loss = Object.entries(report.loss)
        .map(([k, v]) => `${k} loss ${v!.toFixed(3)}`)
        .join(' ');
      bar?.finish(`done in ${report.seconds.toFixed(1)}s: ${loss}; dev ${dev}`);
    },
  };
}

/** Appends each epoch report to `<dir>/history.jsonl` (for plots and resumption). */
export function historyLog(dir: string): TrainerPlugin {
  let started = false;
  return {
    saveState: () => ({ started: true }),
    restoreState: () => {
      started = true;
    },
    async afterEpoch(report) {
      await mkdir(dir, { recursive: true });
      const file = join(dir, 'history.jsonl');
      if (!started) {
        started = true;
        await writeFile(file, '');
      }
      await appendFile(file, JSON.stringify(report) + '\n');
    },
  };
}
