/**
 * mentionStream for library users: the worker's pipeline (decode, batch,
 * tag, to mentions, encode) between any source and sink, with the worker's
 * defaults for everything but the source, sink and tagger.
 */
import type { Observable } from 'rxjs';
import { ConfigError } from '../common/errors.js';
import type { Tagger } from '../models/tagger.js';
import { batchAdaptive, batchItems, decodePosts, taggerSlots } from '../operators/index.js';
import type { OutputMessage } from '../operators/types.js';
import { createPipelineMetrics, type PipelineMetrics } from '../pipeline/ops/metrics.js';
import { silentLogger, type Logger } from '../pipeline/ops/logger.js';
import { defaultConfig } from '../pipeline/stream/config.js';
import type { OutputSink, RecordSource } from '../pipeline/core/ports.js';
import { mentionStream as pipeline, type StreamSettings } from '../pipeline/stream/worker.js';

/** Options of {@link mentionStream}. */
export interface MentionStreamOptions {
  /** Where the input records come from: {@link postSource} for plain posts, a FileSource, or a Kafka source. */
  source: RecordSource;
  /** Where the outputs go: {@link callbackSink}, a FileSink, or a Kafka sink. */
  sink: OutputSink;
  /** The tagger, e.g. from {@link loadTagger}. */
  tagger: Tagger;
  /**
   * Batching and framing; each field defaults to `mentionflow run`'s default
   * (inputWire 'raw', batchMode 'fixed', ...).
   */
  settings?: Partial<StreamSettings>;
  /** Largest output record in bytes (key + value); a larger one becomes a dead letter. Default 1,000,000. */
  maxRecordBytes?: number;
  /** Prometheus metrics to update. Default: a fresh set on its own registry. */
  metrics?: PipelineMetrics;
  /** Where the stream logs (a failing metrics listener). Default: nowhere. */
  logger?: Logger;
}

const SETTING_KEYS = ['inputWire', 'batchMode', 'batchMaxCount', 'batchMaxWaitMs', 'batchMaxChars', 'taggerConcurrency'] as const;

/**
 * The pipeline from source to sink, as `mentionflow run` runs it: emits
 * each group of outputs once the sink has acknowledged it (and has acked
 * their inputs to the source); completes when the source does. Cold: each
 * subscription runs the pipeline once. Bad options throw a ConfigError here,
 * before anything runs.
 *
 * @example
 * await lastValueFrom(mentionStream({ source: postSource(posts), sink: callbackSink({ mentions: console.log }), tagger }), { defaultValue: [] });
 */
export function mentionStream(options: MentionStreamOptions): Observable<OutputMessage[]> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('mentionStream: pass { source, sink, tagger }');
  const { source, sink, tagger, settings = {}, maxRecordBytes, metrics, logger } = options;
  if (typeof source?.records !== 'function') throw new ConfigError('mentionStream: source must be a RecordSource (e.g. postSource(posts))');
  if (typeof sink?.write !== 'function') throw new ConfigError('mentionStream: sink must be an OutputSink (e.g. callbackSink({ mentions }))');
  if (typeof tagger?.tag !== 'function') throw new ConfigError('mentionStream: tagger must be a Tagger (e.g. await loadTagger())');
  const unknown = Object.keys(settings).filter((k) => !(SETTING_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new ConfigError(`mentionStream: unknown setting ${unknown.join(', ')}; settings are ${SETTING_KEYS.join(', ')}`);
  const defaults = defaultConfig({ model: '', input: '' });
  const resolved: StreamSettings = { ...pick(defaults), ...settings };
  checkSettings(resolved);
  return pipeline({
    source,
    sink,
    tagger,
    settings: resolved,
    maxRecordBytes,
    metrics: metrics ?? createPipelineMetrics({ collectDefault: false }),
    logger: logger ?? silentLogger(),
  });
}

/** Builds the operators the settings configure once, so that a bad value throws now, not on subscription. */
function checkSettings(s: StreamSettings): void {
  decodePosts({ wire: s.inputWire });
  const limits = { maxCount: s.batchMaxCount, maxChars: s.batchMaxChars };
  const slots = taggerSlots({ concurrency: s.taggerConcurrency });
  if (s.batchMode === 'adaptive') batchAdaptive({ ...limits, slots });
  else if (s.batchMode === 'fixed') batchItems({ ...limits, maxWaitMs: s.batchMaxWaitMs, slots });
  else throw new ConfigError(`mentionStream: batchMode must be 'fixed' or 'adaptive', got ${JSON.stringify(s.batchMode)}`);
}

function pick(config: StreamSettings): StreamSettings {
  const out: Record<string, unknown> = {};
  for (const k of SETTING_KEYS) out[k] = config[k];
  return out as unknown as StreamSettings;
}
