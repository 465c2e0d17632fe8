/**
 * Metrics of the trends aggregator, read from its state at scrape time, on
 * the same ops endpoint as the worker's (/metrics):
 *
 *   mentionflow_trends_windows_open             windows open now
 *   mentionflow_trends_windows_closed_total     windows closed (trend records made)
 *   mentionflow_trends_late_records_total       records routed to the late output
 *   mentionflow_trends_keys_tracked             entity keys counted in the open windows
 *   mentionflow_trends_state_entries{part}      state size: keys in the open windows (open) and
 *                                               in the history of closed windows (history)
 *   mentionflow_trends_watermark_seconds        the watermark (epoch seconds; 0 before the first record)
 *   mentionflow_trends_restore_seconds          time the last state restore took (0: none)
 *   mentionflow_trends_changelog_entry_bytes    size of the last state written to the changelog (Kafka mode; 0: none)
 *
 * plus the process defaults (CPU, memory, event loop lag).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** What the metrics read from the aggregator's state (a TrendState has it). */
export interface TrendStateGauges {
  readonly openWindows: number;
  readonly keysTracked: number;
  readonly historyKeys: number;
  readonly lateRecords: number;
  readonly watermark: number;
}

export interface TrendMetrics {
  readonly registry: Registry;
  /** Windows closed (call with the number of trend records made). */
  closed(n?: number): void;
  /** The duration of a state restore, in seconds. */
  restored(seconds: number): void;
  /** The size of the state entry just written to the changelog, in bytes (what each commit writes). */
  stateWritten(bytes: number): void;
}

export function createTrendMetrics(opts: { state: () => TrendStateGauges; registry?: Registry; collectDefault?: boolean }): TrendMetrics {
  const registry = opts.registry ?? new Registry();
  if (opts.collectDefault !== false) collectDefaultMetrics({ register: registry, prefix: 'mentionflow_' });
  const registers = [registry];
  const state = opts.state;
  new Gauge({ name: 'mentionflow_trends_windows_open', help: 'Trend windows open now', registers, collect() { this.set(state().openWindows); } });
  const closed = new Counter({ name: 'mentionflow_trends_windows_closed_total', help: 'Trend windows closed (trend records made)', registers });
  let lateSeen = 0;
  new Counter({
    name: 'mentionflow_trends_late_records_total',
    help: 'Records whose windows had all closed, routed to the late output',
    registers,
    collect() {
      const late = state().lateRecords;
      if (late > lateSeen) this.inc(late - lateSeen);
      lateSeen = late;
    },
  });
  new Gauge({ name: 'mentionflow_trends_keys_tracked', help: 'Entity keys counted in the open windows', registers, collect() { this.set(state().keysTracked); } });
  new Gauge({
    name: 'mentionflow_trends_state_entries',
    help: 'Entries of the trend state: keys in the open windows (open) and in the history of closed windows (history)',
    labelNames: ['part'],
    registers,
    collect() {
      const s = state();
      this.set({ part: 'open' }, s.keysTracked);
      this.set({ part: 'history' }, s.historyKeys);
    },
  });
  new Gauge({
    name: 'mentionflow_trends_watermark_seconds',
    help: 'The watermark of the trend windows, epoch seconds',
    registers,
    collect() {
      const w = state().watermark;
      this.set(Number.isFinite(w) ? w / 1000 : 0);
    },
  });
  const restore = new Gauge({ name: 'mentionflow_trends_restore_seconds', help: 'Duration of the last trend state restore (0: none)', registers });
  restore.set(0);
  const entry = new Gauge({ name: 'mentionflow_trends_changelog_entry_bytes', help: 'Size of the last trend state entry written to the changelog, bytes (written whole at each commit)', registers });
  entry.set(0);
  return { registry, closed: (n = 1) => closed.inc(n), restored: (s) => restore.set(s), stateWritten: (b) => entry.set(b) };
}
