/**
 * The trends aggregator on Kafka (`mentionflow trends --brokers`). Per
 * fetched batch of the mentions topic, as data flows:
 *
 *   mentions (Avro) -> decode -> TrendState.add (per-partition watermark) -> close -> encode EntityTrend -> trends topic
 *                                     \-> late records -> late topic (the record as read, header reason=late)
 *   state -> snapshot (gzip JSON) -> changelog topic;  input offsets -> the group
 *
 * written together at most every commit interval (pipeline/kafka/trendsEdge.ts:
 * one transaction in exactly-once mode). A record that does not decode goes to
 * the late topic too, with reason=invalid: nothing is dropped silently.
 *
 * The changelog entry is the whole state (TrendState.snapshot) under one key
 * per aggregator (in chunks), written with every commit: the simplest entry that is
 * correct (it is the state the committed offsets belong to, no replay of
 * deltas to get wrong) and bounded (open windows x --max-keys, plus the
 * history counts); closed windows leave the snapshot, so no tombstones are
 * needed and compaction keeps one entry. The price is writing the whole state
 * once per commit interval; encoding it costs what changed since the last commit
 * (StateEncoder: a window not counted in, and the history, reuse their gzip
 * members), and its size grows with the state, not with the input.
 */
import { TrendState, type TrendSettings, type TrendSnapshot } from '../../operators/trends/trendState.js';
import { decodeStrict, encodeStrict, loadSchema } from '../../schemas/registry.js';
import type { EntityTrend, PostMentions } from '../../schemas/types.generated.js';
import { runTrendsEdge, type InputRecord, type OutRecord, type TrendsEdge } from '../kafka/trendsEdge.js';
import type { TrendMetrics } from '../ops/trendMetrics.js';
import { IdleClock, StateEncoder, decodeState, idleTicks, idleTimeoutOf, setAside, stageEdgeOptions, type TrendsStageOptions, type TrendsWindowOptions } from './trendsOptions.js';

export interface TrendsWorkerOptions extends TrendsStageOptions, TrendsWindowOptions {
  settings: TrendSettings;
  /** The mentions topic. */
  fromTopic: string;
  /** The trends topic. */
  toTopic: string;
  metrics?: TrendMetrics;
}

export interface TrendsWorker extends TrendsEdge {
  /** The current state (for the metrics). */
  state(): TrendState;
}

export async function startTrendsWorker(o: TrendsWorkerOptions): Promise<TrendsWorker> {
  const edgeOptions = stageEdgeOptions(o, { fromTopic: o.fromTopic, states: 'one', stateKey: `trends:${o.groupId}` });
  const idleMs = idleTimeoutOf(o);
  const mentions = loadSchema('mentions');
  const trends = loadSchema('trends');
  const now = o.now ?? Date.now;
  let state = new TrendState(o.settings);
  let clock = new IdleClock([], now(), idleMs);
  /** Each commit's changelog entry re-encodes only the windows counted in since the last (StateEncoder). */
  let encoder = new StateEncoder();

  const written = (closed: readonly EntityTrend[], outputs: OutRecord[]): OutRecord[] => {
    o.metrics?.closed(closed.length);
    for (const t of closed) outputs.push({ topic: o.toTopic, key: String(t.window_start), value: encodeStrict(trends, t) });
    return outputs;
  };

  const edge = await runTrendsEdge({
    ...edgeOptions,
    restore: ({ stored, seconds, partitions }) => {
      state = stored === undefined ? new TrendState(o.settings) : TrendState.restore(o.settings, decodeState<TrendSnapshot>(stored));
      encoder = new StateEncoder();
      const sources = Array.from({ length: partitions }, (_, p) => String(p));
      for (const p of sources) state.addSource(p); // the watermark waits for every partition
      clock = new IdleClock(sources, now(), idleMs);
      o.metrics?.restored(seconds);
      o.logger.info('trend state restored', { seconds, openWindows: state.openWindows, stored: stored !== undefined });
    },
    process: (records: readonly InputRecord[], partition: number) => {
      const at = now();
      clock.input(at);
      clock.saw(String(partition), at);
      const outputs: OutRecord[] = [];
      for (const r of records) {
        let record: PostMentions;
        try {
          record = decodeStrict<PostMentions>(mentions, r.value ?? Buffer.alloc(0));
        } catch (err) {
          outputs.push(setAside(o.lateTopic, r, 'invalid', (err as Error).message));
          continue;
        }
        if (state.add(record, String(partition)) === 'late') outputs.push(setAside(o.lateTopic, r, 'late', `watermark ${state.watermark}`));
      }
      return written(state.close(now()), outputs);
    },
    snapshot: () => {
      const entry = encoder.encode(state.snapshot());
      o.metrics?.stateWritten(entry.length);
      return entry;
    },
    // the idle timeout: partitions silent for idleMs leave the watermark; all silent that long, event time follows the clock
    ...idleTicks(idleMs, () => {
      const at = now();
      clock.tick(state, at);
      return written(state.close(at), []);
    }),
  });
  return { ...edge, state: () => state };
}
