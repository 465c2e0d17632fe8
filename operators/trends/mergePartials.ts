/**
 * The merger of the scaled-out trends, as a plain class (no RxJS, no Kafka):
 * per closed window, each of the N repartition partitions' aggregators writes
 * a partial EntityTrend (its own entities' top lists, new and rising); the
 * merger waits for every partition and writes the window's EntityTrend.
 *
 * - Waiting: a partition closes its windows in start order, so a partial of
 *   window w from partition P also says that P will send nothing more for any
 *   window before w (a window P skipped, e.g. before its first record or in a
 *   long empty gap, had nothing of P's). Window w is complete once every
 *   partition has sent a partial for w or a later window; complete windows
 *   are written in start order.
 * - Merging (exact): an entity lives in one partition only, so its counts,
 *   history, new and rising flags are its partition's, and the global top k of
 *   a type is within the union of the partitions' top k lists: the union is
 *   ranked by mentions (ties: by text, then label, as TrendState ranks) and cut
 *   to k; `new_entities` likewise, `rising` by ratio then mentions. Counts
 *   (records, mentions, entities, late records) are summed, `approximate` is
 *   any partition's, `error_bound` the largest, the watermark the smallest.
 */
import { ConfigError } from '../../common/errors.js';
import type { EntityTrend, TrendEntity } from '../../schemas/types.generated.js';

/** The merger's state as JSON-able data. */
export interface MergerSnapshot {
  version: 1;
  partitions: number;
  /** Per partition, the start of the last window it sent (null: none yet). */
  progress: Array<number | null>;
  /** Partials of windows not complete yet, as [partition, partial]. */
  pending: Array<[number, EntityTrend]>;
  /** Start of the last window written (null: none yet). */
  written: number | null;
}

export class PartialMerger {
  private readonly progress: number[];
  /** Per window start, the partials received (by partition). */
  private readonly pending = new Map<number, Map<number, EntityTrend>>();
  private written = -Infinity;
  /** Partials of windows already written (they can only come from a misconfiguration or a replay): ignored, counted. */
  stale = 0;

  constructor(
    readonly partitions: number,
    readonly top: number,
  ) {
    if (!(Number.isSafeInteger(partitions) && partitions >= 1)) throw new ConfigError(`PartialMerger: partitions must be an integer >= 1, got ${partitions}`);
    if (!(Number.isSafeInteger(top) && top >= 1)) throw new ConfigError(`PartialMerger: top must be an integer >= 1, got ${top}`);
    this.progress = new Array<number>(partitions).fill(-Infinity);
  }

  /** Windows waiting for a partition. */
  get openWindows(): number {
    return this.pending.size;
  }

  /** Takes partition `partition`'s partial; returns the windows it completed, merged, in start order. */
  add(partial: EntityTrend, partition: number): EntityTrend[] {
    if (!(Number.isSafeInteger(partition) && partition >= 0 && partition < this.partitions)) {
      throw new ConfigError(`a partial trend names partition ${partition}, but the merger expects ${this.partitions} partitions (0-${this.partitions - 1})`);
    }
    const w = partial.window_start;
    if (w <= this.written) {
      this.stale++;
      return [];
    }
    let parts = this.pending.get(w);
    if (parts === undefined) this.pending.set(w, (parts = new Map()));
    parts.set(partition, partial);
    if (w > this.progress[partition]!) this.progress[partition] = w;
    const upTo = Math.min(...this.progress);
    const out: EntityTrend[] = [];
    for (const start of [...this.pending.keys()].sort((a, b) => a - b)) {
      if (start > upTo) break;
      out.push(mergeWindow([...this.pending.get(start)!.values()], this.top));
      this.pending.delete(start);
      this.written = start;
    }
    return out;
  }

  snapshot(): MergerSnapshot {
    const pending: Array<[number, EntityTrend]> = [];
    for (const parts of this.pending.values()) for (const [p, t] of parts) pending.push([p, t]);
    return {
      version: 1,
      partitions: this.partitions,
      progress: this.progress.map((x) => (Number.isFinite(x) ? x : null)),
      pending,
      written: Number.isFinite(this.written) ? this.written : null,
    };
  }

  static restore(snap: MergerSnapshot, partitions: number, top: number): PartialMerger {
    if (snap.version !== 1) throw new ConfigError(`merger snapshot version ${String(snap.version)} is not supported (expected 1)`);
    if (snap.partitions !== partitions) throw new ConfigError(`the saved merger state was made for ${snap.partitions} partitions, not ${partitions}: use the same repartition topic, or start from empty state`);
    const m = new PartialMerger(partitions, top);
    snap.progress.forEach((x, i) => (m.progress[i] = x ?? -Infinity));
    for (const [p, t] of snap.pending) {
      let parts = m.pending.get(t.window_start);
      if (parts === undefined) m.pending.set(t.window_start, (parts = new Map()));
      parts.set(p, t);
    }
    m.written = snap.written ?? -Infinity;
    return m;
  }
}

const entityKey = (e: TrendEntity): string => `${e.text}\u0001${e.label}`;
const byMentions = (a: TrendEntity, b: TrendEntity): number => b.mentions - a.mentions || (entityKey(a) < entityKey(b) ? -1 : entityKey(a) > entityKey(b) ? 1 : 0);
const byRatio = (a: TrendEntity, b: TrendEntity): number => (b.ratio ?? 0) - (a.ratio ?? 0) || byMentions(a, b);

/** Per type (alphabetical), the first `top` of the union in `cmp` order. */
function perType(lists: TrendEntity[][], top: number, cmp: (a: TrendEntity, b: TrendEntity) => number): Map<string, TrendEntity[]> {
  const byType = new Map<string, TrendEntity[]>();
  for (const e of lists.flat()) {
    const l = byType.get(e.type);
    if (l === undefined) byType.set(e.type, [e]);
    else l.push(e);
  }
  const out = new Map<string, TrendEntity[]>();
  for (const t of [...byType.keys()].sort()) out.set(t, byType.get(t)!.sort(cmp).slice(0, top));
  return out;
}

/** One window's EntityTrend from its partials (at least one). */
export function mergeWindow(partials: readonly EntityTrend[], top: number): EntityTrend {
  const first = partials[0]!;
  const tops = perType(partials.map((p) => p.top), top, byMentions);
  const rank = new Map<string, number>();
  const topList: TrendEntity[] = [];
  for (const list of tops.values()) {
    list.forEach((e, i) => rank.set(entityKey(e), i + 1));
    for (const e of list) topList.push({ ...e, rank: rank.get(entityKey(e))! });
  }
  const ranked = (lists: Map<string, TrendEntity[]>): TrendEntity[] => [...lists.values()].flat().map((e) => ({ ...e, rank: rank.get(entityKey(e)) ?? 0 }));
  const sum = (f: (t: EntityTrend) => number): number => partials.reduce((n, t) => n + f(t), 0);
  return {
    window_start: first.window_start,
    window_end: first.window_end,
    hop_ms: first.hop_ms,
    lateness_ms: first.lateness_ms,
    records: sum((t) => t.records),
    mentions: sum((t) => t.mentions),
    entities: sum((t) => t.entities),
    approximate: partials.some((t) => t.approximate),
    error_bound: Math.max(...partials.map((t) => t.error_bound)),
    top: topList,
    new_entities: ranked(perType(partials.map((p) => p.new_entities), top, byMentions)),
    rising: ranked(perType(partials.map((p) => p.rising), top, byRatio)),
    late_records: sum((t) => t.late_records),
    watermark: Math.min(...partials.map((t) => t.watermark)),
    emitted_at: Math.max(...partials.map((t) => t.emitted_at)),
  };
}
