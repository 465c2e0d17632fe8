/**
 * Follows a model store's SERVING pointer (models/artifact/store.ts) and
 * hot-swaps the worker's tagger when it moves: `mentionflow run --model-store DIR`.
 *
 * Every `intervalMs` it reads SERVING; when it names a version other than the
 * one in service, it loads that version (off the batch path: batches keep
 * flowing on the old model meanwhile), checks it tags a probe text, and swaps
 * it into the SwappableTagger: the next batch uses it, batches in flight
 * finish on the old one, which is disposed after the last of them. A
 * candidate that fails to load or to tag is refused (error log line,
 * model_swaps_total{result="refused"}) and not tried again until SERVING
 * names another version; the old model keeps serving.
 *
 * Why poll a file and not a compacted control topic: the store is the source
 * of truth (the artifact must be on disk where the worker runs anyway), a
 * promotion is one atomic rename, so a poll never sees half a pointer, and it
 * works the same in the embedded file mode and with no Kafka ACLs to grant.
 * A 2 s poll is one small read; promotions are rare, so latency does not matter.
 */
import { ConfigError } from '../../common/errors.js';
import type { ModelStore } from '../../models/artifact/store.js';
import type { SwappableTagger } from '../../models/swappableTagger.js';
import type { ModelVersionRef, Tagger } from '../../models/tagger.js';
import type { Logger } from '../ops/logger.js';
import type { PipelineMetrics } from '../ops/metrics.js';

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Tagged once by each candidate before it goes into service. */
export const PROBE_TEXT = '张三在北京工作';

export interface ModelFollowerOptions {
  store: ModelStore;
  /** The worker's tagger; swapped in place. */
  tagger: SwappableTagger;
  /** Loads the artifact at a directory as a Tagger (inline or in a thread, as the worker runs). */
  load: (dir: string) => Promise<Tagger>;
  /** Time between reads of SERVING, ms (integer >= 10). Default 2000. */
  intervalMs?: number;
  logger: Logger;
  metrics: PipelineMetrics;
}

export interface ModelFollower {
  /** Reads SERVING once and swaps or refuses as needed (what the timer calls; exposed for tests). */
  check(): Promise<void>;
  /** Stops polling; a check running finishes (a model it loads late is disposed, not swapped in). */
  stop(): Promise<void>;
}

/** The record reference of a store version: the manifest's model id, the store's version name (unique in the store). */
export function storeRef(tagger: Tagger, version: string): ModelVersionRef {
  return { id: tagger.modelId, version };
}

/**
 * Loads the version SERVING names and returns it with its name; a ConfigError
 * (exit 2) when nothing was promoted yet.
 */
export async function loadServing(store: ModelStore, load: (dir: string) => Promise<Tagger>): Promise<{ tagger: Tagger; model: ModelVersionRef }> {
  const pointer = await store.serving();
  if (pointer === undefined) {
    throw new ConfigError(`model store ${store.dir}: no version is serving yet; promote one first (mentionflow promote --store ${store.dir} --candidate MODEL_DIR)`);
  }
  const tagger = await load(store.versionDir(pointer.version));
  return { tagger, model: storeRef(tagger, pointer.version) };
}

export function startModelFollower(opts: ModelFollowerOptions): ModelFollower {
  const { store, tagger, load, logger, metrics } = opts;
  const intervalMs = opts.intervalMs ?? 2000;
  if (!Number.isInteger(intervalMs) || intervalMs < 10) {
    throw new ConfigError(`model follower: intervalMs must be an integer >= 10 (ms between reads of SERVING), got ${String(opts.intervalMs)}; e.g. 2000`);
  }
  if (typeof load !== 'function') throw new ConfigError('model follower: load must be a function (dir) => Promise<Tagger>');
  let refused: string | undefined;
  let lastProblem: string | undefined;
  let stopped = false;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const refuse = (version: string, err: unknown): void => {
    refused = version;
    metrics.modelSwap('refused');
    logger.error('model candidate refused; the model in service keeps serving', { candidate: version, serving: tagger.model, err });
  };

  const checkOnce = async (): Promise<void> => {
    let version: string | undefined;
    try {
      version = (await store.serving())?.version;
      lastProblem = undefined;
    } catch (err) {
      // A broken pointer is the store's problem, not the worker's: log it once, keep serving.
      const text = String((err as Error)?.message ?? err);
      if (text !== lastProblem) logger.warn('cannot read the model store pointer; the model in service keeps serving', { store: store.dir, err });
      lastProblem = text;
      return;
    }
    if (version === undefined || version === tagger.modelVersion || version === refused) return;
    let candidate: Tagger;
    try {
      candidate = await load(store.versionDir(version));
    } catch (err) {
      if (!stopped) refuse(version, err); // stopping: the loader may have failed because the worker is closing
      return;
    }
    // Inline, the load and the probe run on the main thread: let the batches waiting meanwhile go between them.
    await yieldToLoop();
    try {
      const probe = await candidate.tag([PROBE_TEXT]);
      if (!Array.isArray(probe) || probe.length !== 1) throw new Error(`the probe call returned ${Array.isArray(probe) ? probe.length : typeof probe} results for 1 text`);
    } catch (err) {
      candidate.dispose();
      refuse(version, err);
      return;
    }
    await yieldToLoop();
    if (stopped) {
      candidate.dispose();
      return;
    }
    const model = storeRef(candidate, version);
    const previous = tagger.swap(candidate, model);
    metrics.setModel(model.id, model.version);
    metrics.modelSwap('swapped');
    logger.info('model swapped: the next batch uses it', { model, previous });
  };

  const check = (): Promise<void> => {
    running ??= checkOnce().finally(() => (running = undefined));
    return running;
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      void check().finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  metrics.setModel(tagger.modelId, tagger.modelVersion);
  schedule();

  return {
    check,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
