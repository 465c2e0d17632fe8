/**
 * The streaming worker. The pipeline, as data flows through it:
 *
 *   source -> decodePosts -> batchItems | batchAdaptive -> tagBatch -> toMentions -> encodeOutputs -> sink -> ack
 *
 * batchMode picks the batcher: batchItems (fixed limits and a wait timer; a
 * partial batch leaves early once the source has caught up, no record came
 * for a few ms and tagBatch has a free slot) or batchAdaptive (a batch whenever tagBatch has a free
 * slot). The slots are the one thing that flows back, from tagBatch to the
 * batcher.
 * The source is Kafka (pipeline/kafka/) or, in the embedded mode, a file
 * (pipeline/file/); the sink Kafka or NDJSON streams. A record that fails a
 * stage becomes a dead letter and flows on; only a failure of the edges
 * themselves ends the stream. The sink emits outputs once acknowledged and
 * the source commits an input only when all outputs up to it are
 * acknowledged (see pipeline/core/ports.ts).
 *
 * This file is the top of pipeline/'s layers: it wires the edges
 * (pipeline/kafka/, pipeline/file/), which build on pipeline/core/ (ports,
 * offset tracking, write coalescing); nothing below imports it.
 */
import { defer, lastValueFrom, tap } from 'rxjs';
import type { Observable, OperatorFunction } from 'rxjs';
import type { Tagger } from '../../models/tagger.js';
import { batchAdaptive, batchItems, decodePosts, encodeOutputs, tagBatch, taggerSlots, tapSafe, toMentions } from '../../operators/index.js';
import type { TaggerSlots } from '../../operators/index.js';
import type { Item, OutputMessage } from '../../operators/types.js';
import type { Post } from '../../schemas/types.generated.js';
import type { Edges, OutputSink, RecordSource } from '../core/ports.js';
import { openFileEdges } from '../file/edges.js';
import { openKafkaEdges } from '../kafka/edges.js';
import type { Logger } from '../ops/logger.js';
import type { PipelineMetrics } from '../ops/metrics.js';
import type { WorkerConfig } from './config.js';
import { countInput, countOutcomes, countOutputs, observeBatch, observeTagging } from './metricsTaps.js';

/** The worker settings mentionStream reads: input framing, batch mode and limits, tagger concurrency. */
export type StreamSettings = Pick<
  WorkerConfig,
  'inputWire' | 'batchMode' | 'batchMaxCount' | 'batchMaxWaitMs' | 'batchMaxChars' | 'taggerConcurrency'
>;

export interface StreamParts {
  source: RecordSource;
  sink: OutputSink;
  /** Largest output record, key + value bytes (see Edges.maxRecordBytes). */
  maxRecordBytes?: number;
  tagger: Tagger;
  settings: StreamSettings;
  metrics: PipelineMetrics;
  logger: Logger;
}

/** The pipeline from source to sink; emits each group of acknowledged outputs (already acked to the source). */
export function mentionStream({ source, sink, maxRecordBytes, tagger, settings, metrics, logger }: StreamParts): Observable<OutputMessage[]> {
  const measure = <T>(next: (value: T) => void) =>
    tapSafe<T>({ next, onListenerError: (err) => logger.warn('metrics tap failed', { err }) });

  // Fresh slots for each subscription: they count this stream's batches only.
  return defer(() => {
    const slots = taggerSlots({ concurrency: settings.taggerConcurrency });
    return source
      .records()
      .pipe(
        measure(countInput(metrics)),
        decodePosts({ wire: settings.inputWire }),
        batchPosts(settings, slots),
        measure(observeBatch(metrics)),
        tagBatch({ tagger, slots }),
        measure(observeTagging(metrics)),
        toMentions({ model: { id: tagger.modelId, version: tagger.modelVersion } }),
        measure(countOutcomes(metrics)),
        encodeOutputs(maxRecordBytes === undefined ? {} : { maxRecordBytes }),
      )
      .pipe(
        sink.write(),
        measure(countOutputs(metrics)),
        tap((acked) => source.ack(acked.map((m) => m.ref))),
      );
  });
}

/**
 * The batcher batchMode names; adaptive batches follow the slots of the
 * tagBatch after it, fixed ones read them only to leave early when the
 * source has caught up and gone quiet and the tagger is idle.
 */
function batchPosts(settings: StreamSettings, slots: TaggerSlots): OperatorFunction<Item<Post>, Item<Post>[]> {
  const limits = { maxCount: settings.batchMaxCount, maxChars: settings.batchMaxChars };
  return settings.batchMode === 'adaptive'
    ? batchAdaptive({ ...limits, slots })
    : batchItems({ ...limits, maxWaitMs: settings.batchMaxWaitMs, slots });
}

/** What startWorker needs: the configuration, a tagger, a logger and metrics. */
export interface WorkerDeps {
  config: WorkerConfig;
  tagger: Tagger;
  logger: Logger;
  metrics: PipelineMetrics;
  /** Embedded mode: where mentions and dead letters go (default stdout, stderr). */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

/** A started worker: its completion, and the handles for stopping and for the health endpoints. */
export interface RunningWorker {
  /** Resolves when the stream has ended and the edges are closed; rejects with the error that ended it. */
  readonly done: Promise<void>;
  /** Graceful stop: stop reading, let what is in flight finish, commit, disconnect. */
  stop(): void;
  /** In the consumer group, the brokers reachable, not stopping (for /readyz). */
  ready(): boolean;
  /** False once the stream has failed (for /healthz; the process exits right after). */
  live(): boolean;
}

/** Opens the edges (Kafka when brokers are configured, else the file mode) and starts the stream. */
export async function startWorker(deps: WorkerDeps): Promise<RunningWorker> {
  const { config, tagger, logger, metrics } = deps;
  const opened =
    config.brokers.length > 0
      ? await openKafkaEdges(config, { logger, metrics })
      : openFileEdges(config, { mentions: deps.stdout ?? process.stdout, deadLetters: deps.stderr ?? process.stderr });
  let ended = false;
  let failed = false;
  const stream = mentionStream({ source: opened.source, sink: opened.sink, maxRecordBytes: opened.maxRecordBytes, tagger, settings: config, metrics, logger });
  const done = lastValueFrom(stream, { defaultValue: [] }).then(
    async () => {
      ended = true;
      await opened.close();
    },
    async (err: unknown) => {
      ended = true;
      failed = true;
      // The edges may be what failed: their clean-up gets the shutdown deadline, no more.
      await closeWithin(opened, config.shutdownTimeoutMs, logger);
      throw err;
    },
  );
  return {
    done,
    stop: () => opened.source.stop(),
    ready: () => !ended && opened.ready(),
    live: () => !failed,
  };
}

async function closeWithin(edges: Edges, ms: number, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      logger.warn('closing the edges after a failure takes too long; giving up on it', { timeoutMs: ms });
      resolve();
    }, ms);
  });
  try {
    await Promise.race([edges.close(), late]);
  } finally {
    clearTimeout(timer);
  }
}
