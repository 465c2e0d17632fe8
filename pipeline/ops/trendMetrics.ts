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
 * The scaled-out stages (`mentionflow trends --stage ...`) expose their own:
 *
 *   re-key (createRekeyMetrics)
 *   mentionflow_trends_rekey_records_written_total{kind}   records written: entity (one per post and entity),
 *                                                          progress (markers), deadletter
 *   mentionflow_trends_rekey_transactions_total            transactions committed (exactly-once: one per input
 *                                                          partition per write)
 *   aggregate (createAggregateMetrics), per owned repartition partition
 *   mentionflow_trends_partitions_owned                    repartition partitions this member owns now
 *   mentionflow_trends_partition_restores_total{partition} state restores of the partition (one per join that gave it)
 *   mentionflow_trends_partition_restore_seconds{partition} time the last restore took (owned partitions only)
 *   mentionflow_trends_partials_written_total{partition}   partial trends written (committed, exactly-once)
 *   merge (createMergeMetrics)
 *   mentionflow_trends_merge_windows_waiting               windows with some partials, waiting for the rest
 *   mentionflow_trends_merge_windows_emitted_total         merged trend records written (committed, exactly-once)
 *   mentionflow_trends_merge_wait_seconds                  histogram: wall time from a window's first partial to
 *                                                          the partial that completes it
 *   mentionflow_trends_merge_restore_seconds               time the last restore of the merger took (0: none)
 *
 * plus the process defaults (CPU, memory, event loop lag), in each.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Where a stage's metrics go: the registry given, or a new one; with the process defaults unless collectDefault is false. */
interface RegistryOptions {
  registry?: Registry;
  collectDefault?: boolean;
}

function registryOf(opts: RegistryOptions): Registry {
  const registry = opts.registry ?? new Registry();
  if (opts.collectDefault !== false) collectDefaultMetrics({ register: registry, prefix: 'mentionflow_' });
  return registry;
}

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

export function createTrendMetrics(opts: { state: () => TrendStateGauges } & RegistryOptions): TrendMetrics {
  const registry = registryOf(opts);
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

/** What the re-key stage writes. */
export type RekeyRecordKind = 'entity' | 'progress' | 'deadletter';

export interface RekeyMetrics {
  readonly registry: Registry;
  /** Records written (acknowledged by the sink). */
  written(kind: RekeyRecordKind, n: number): void;
  /** A transaction committed. */
  transaction(): void;
}

export function createRekeyMetrics(opts: RegistryOptions = {}): RekeyMetrics {
  const registry = registryOf(opts);
  const registers = [registry];
  const records = new Counter({ name: 'mentionflow_trends_rekey_records_written_total', help: 'Records the re-key stage wrote: entity (one per post and entity), progress (markers), deadletter', labelNames: ['kind'], registers });
  for (const kind of ['entity', 'progress', 'deadletter'] as const) records.inc({ kind }, 0);
  const transactions = new Counter({ name: 'mentionflow_trends_rekey_transactions_total', help: 'Transactions the re-key stage committed (exactly-once: one per input partition per write)', registers });
  return { registry, written: (kind, n) => records.inc({ kind }, n), transaction: () => transactions.inc() };
}

export interface ScaledTrendMetrics {
  readonly registry: Registry;
  /** Partition p's state was restored (after a join), taking `seconds`. */
  restored(partition: number, seconds: number): void;
  /** Partition p left this member. */
  dropped(partition: number): void;
  /** n partial trends of partition p written. */
  partialsWritten(partition: number, n: number): void;
}

/** Metrics of a scaled-out aggregator; `owned` reads how many partitions it owns at scrape time. */
export function createAggregateMetrics(opts: { owned: () => number } & RegistryOptions): ScaledTrendMetrics {
  const registry = registryOf(opts);
  const registers = [registry];
  const { owned } = opts;
  new Gauge({ name: 'mentionflow_trends_partitions_owned', help: 'Repartition partitions this aggregator owns now', registers, collect() { this.set(owned()); } });
  const restores = new Counter({ name: 'mentionflow_trends_partition_restores_total', help: 'State restores of a repartition partition (one per join that gave it to this aggregator)', labelNames: ['partition'], registers });
  const restoreSeconds = new Gauge({ name: 'mentionflow_trends_partition_restore_seconds', help: 'Duration of the last state restore of an owned repartition partition', labelNames: ['partition'], registers });
  const partials = new Counter({ name: 'mentionflow_trends_partials_written_total', help: 'Partial trends written for a repartition partition (committed, in exactly-once mode)', labelNames: ['partition'], registers });
  return {
    registry,
    restored: (p, seconds) => {
      restores.inc({ partition: String(p) });
      restoreSeconds.set({ partition: String(p) }, seconds);
      partials.inc({ partition: String(p) }, 0);
    },
    dropped: (p) => restoreSeconds.remove({ partition: String(p) }),
    partialsWritten: (p, n) => partials.inc({ partition: String(p) }, n),
  };
}

export interface MergeMetrics {
  readonly registry: Registry;
  /** The merger's state was restored, taking `seconds`. */
  restored(seconds: number): void;
  /** A window was merged, `waitSeconds` after its first partial arrived. */
  merged(waitSeconds: number): void;
  /** n merged trend records written. */
  emitted(n: number): void;
}

/** Metrics of the merger; `waiting` reads the windows waiting for partials at scrape time. */
export function createMergeMetrics(opts: { waiting: () => number } & RegistryOptions): MergeMetrics {
  const registry = registryOf(opts);
  const registers = [registry];
  const { waiting } = opts;
  new Gauge({ name: 'mentionflow_trends_merge_windows_waiting', help: 'Windows with some partial trends, waiting for the other partitions', registers, collect() { this.set(waiting()); } });
  const emitted = new Counter({ name: 'mentionflow_trends_merge_windows_emitted_total', help: 'Merged trend records written (committed, in exactly-once mode)', registers });
  const wait = new Histogram({
    name: 'mentionflow_trends_merge_wait_seconds',
    help: "Wall time from a window's first partial trend to the one that completes it",
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    registers,
  });
  const restore = new Gauge({ name: 'mentionflow_trends_merge_restore_seconds', help: 'Duration of the last restore of the merger state (0: none)', registers });
  restore.set(0);
  return { registry, restored: (s) => restore.set(s), merged: (s) => wait.observe(s), emitted: (n) => emitted.inc(n) };
}
