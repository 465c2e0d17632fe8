/**
 * What the worker's metric taps record at each point of the pipeline (see
 * pipeline/ops/metrics.ts for the metrics themselves). Each function takes
 * the value flowing at that point; they are wrapped in tapSafe, so a failing
 * metric never disturbs the stream.
 */
import { codePointLength } from '../../models/text/codepoints.js';
import type { PipelineMetrics } from '../ops/metrics.js';
import type { Item, OutputMessage, RawRecord, TaggedPost } from '../../operators/types.js';
import type { Post, PostMentions } from '../../schemas/types.generated.js';

/** A record entered the pipeline. */
export function countInput(metrics: PipelineMetrics): (record: RawRecord) => void {
  return (record) => metrics.recordIn(record.ref.topic, record.ref.partition);
}

/** A batch left the batcher: its size, its characters, and how long its oldest record has waited. */
export function observeBatch(metrics: PipelineMetrics, now: () => number = Date.now): (batch: Item<Post>[]) => void {
  return (batch) => {
    let chars = 0;
    let oldest = Infinity;
    for (const item of batch) {
      if (item.kind === 'ok') chars += codePointLength(item.value.text);
      oldest = Math.min(oldest, item.ref.receivedAt);
    }
    metrics.observeBatch(batch.length, chars, Number.isFinite(oldest) ? Math.max(0, now() - oldest) / 1000 : 0);
  };
}

/** The tagger's time for a batch (every ok item of a batch call carries the same tagMs). */
export function observeTagging(metrics: PipelineMetrics): (batch: Item<TaggedPost>[]) => void {
  return (batch) => {
    const first = batch.find((item) => item.kind === 'ok');
    if (first !== undefined && first.kind === 'ok') metrics.observeTagging(first.value.tagMs / 1000);
  };
}

/** Mentions found, and records failed so far (bound for the dead-letter topic). */
export function countOutcomes(metrics: PipelineMetrics): (batch: Item<PostMentions>[]) => void {
  return (batch) => {
    for (const item of batch) {
      if (item.kind === 'ok') metrics.countMentions(item.value.mentions);
      else metrics.deadLetter(item.stage, item.error.name);
    }
  };
}

/** Outputs acknowledged: records out and end-to-end latency. */
export function countOutputs(metrics: PipelineMetrics): (acked: OutputMessage[]) => void {
  return (acked) => {
    const now = Date.now();
    for (const m of acked) metrics.recordOut(m.output, m.ref.receivedAt, now);
  };
}
