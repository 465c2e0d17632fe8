/**
 * The state of the windowed entity trends, as a plain class (no RxJS, no
 * Kafka): what windowTrends runs, and what a durable worker snapshots.
 *
 * - Windows: event-time, by the post's `created_at` (windows.ts), tumbling or
 *   hopping.
 * - Watermark: the largest created_at seen minus `latenessMs`. Window
 *   [s, e) closes, and its EntityTrend is made, once the watermark reaches e;
 *   windows close in start order, and every window from the first one that got
 *   a record onwards is emitted, empty ones too (so a page sees the zeros),
 *   but after `maxEmptyWindows` empty ones in a row the rest of a gap is
 *   skipped (its history counts as empty).
 * - A record is counted in each of its windows that is still open; a record
 *   whose windows have all closed is late: `add` returns 'late' and counts it,
 *   the caller routes it to a side output.
 * - Key: the normalised surface text (NFKC, ASCII lowercase, whitespace
 *   trimmed and collapsed) and the label (a mentions v1 record's empty label
 *   counts as TYPE.KIND). Per window and key: mentions, posts (records with at
 *   least one such mention), distinct authors where records carry `author_id`,
 *   the latest few mentions as examples.
 * - Bounded memory: at most `maxKeysPerWindow` keys per window; beyond that
 *   the window's counts are Space-Saving estimates (spaceSaving.ts: each count
 *   overestimates by at most its error, every error <= mentions / cap).
 * - New: at least `minCount` mentions and none in the previous
 *   `historyWindows` windows (once that many have closed). Rising: at least
 *   `minCount` mentions and at least `risingRatio` times the mean of the
 *   previous `historyWindows` windows (missing ones count 0).
 */
import { ConfigError } from '../../common/errors.js';
import type { EntityTrend, MentionRef, TrendEntity } from '../../schemas/types.generated.js';
import { SpaceSaving, type Counter } from './spaceSaving.js';
import { firstWindowStart, windowStartsOf, type WindowShape } from './windows.js';

/** The fields of a mention the trends read (a schemas/mentions Mention has them). */
export interface TrendMention {
  readonly text: string;
  readonly label: string;
  readonly type: string;
  readonly kind: string;
  readonly start_utf16: number;
  readonly end_utf16: number;
}

/** The fields of a mention record the trends read (a PostMentions has them; `author_id` where known). */
export interface TrendInput {
  readonly post_id: string;
  readonly created_at: number;
  readonly mentions: readonly TrendMention[];
  readonly author_id?: string | null;
  /**
   * Whether the record counts in a window's `records` (default true). The
   * scaled-out trends split a post into one record per entity
   * (trends/rekey.ts) and set it on one of them only.
   */
  readonly countsRecord?: boolean;
}

/** The settings of the trends (checked by windowTrends and the TrendState constructor). */
export interface TrendSettings extends WindowShape {
  /** Allowed lateness in ms (>= 0): the watermark is the largest created_at seen minus this. */
  latenessMs: number;
  /** Entities listed per type in `top`, `new_entities` and `rising` (>= 1). */
  top: number;
  /** Closed windows remembered for `recent`, new and rising (>= 1). */
  historyWindows: number;
  /** Fewest mentions in a window for an entity to be flagged new or rising (>= 1). */
  minCount: number;
  /** Rising: mentions / trailing average at least this (> 1). */
  risingRatio: number;
  /** Cap on tracked keys per window (>= 1, or Infinity: always exact). */
  maxKeysPerWindow: number;
  /** Example mentions kept per entity and window (>= 0). */
  examples: number;
  /** Empty windows emitted in a row before the rest of a gap is skipped (>= 0). */
  maxEmptyWindows: number;
}

/** The defaults of every setting but the window size and hop. */
export const TREND_DEFAULTS: Omit<TrendSettings, 'sizeMs' | 'hopMs'> = {
  latenessMs: 0,
  top: 10,
  historyWindows: 6,
  minCount: 3,
  risingRatio: 2,
  maxKeysPerWindow: 100_000,
  examples: 3,
  maxEmptyWindows: 60,
};

/** Checks the settings, naming the bad one; `who` prefixes the messages. */
export function checkTrendSettings(who: string, s: TrendSettings): void {
  const fail = (name: string, want: string): never => {
    throw new ConfigError(`${who}: ${name} must be ${want}, got ${JSON.stringify((s as unknown as Record<string, unknown>)[name]) ?? String((s as unknown as Record<string, unknown>)[name])}`);
  };
  const int = (v: number, min: number) => Number.isSafeInteger(v) && v >= min;
  if (!int(s.sizeMs, 1)) fail('sizeMs', 'an integer number of ms >= 1');
  if (!int(s.hopMs, 1) || s.hopMs > s.sizeMs) fail('hopMs', `an integer number of ms >= 1 and <= sizeMs (${s.sizeMs})`);
  if (!int(s.latenessMs, 0)) fail('latenessMs', 'an integer number of ms >= 0');
  if (!int(s.top, 1)) fail('top', 'an integer >= 1');
  if (!int(s.historyWindows, 1)) fail('historyWindows', 'an integer >= 1');
  if (!int(s.minCount, 1)) fail('minCount', 'an integer >= 1');
  if (typeof s.risingRatio !== 'number' || !(s.risingRatio > 1) || !Number.isFinite(s.risingRatio)) fail('risingRatio', 'a number > 1');
  if (!(s.maxKeysPerWindow === Infinity || int(s.maxKeysPerWindow, 1))) fail('maxKeysPerWindow', 'an integer >= 1 or Infinity');
  if (!int(s.examples, 0)) fail('examples', 'an integer >= 0');
  if (!int(s.maxEmptyWindows, 0)) fail('maxEmptyWindows', 'an integer >= 0');
}

/** The key of a mention: normalised text and label, joined by U+0001. */
export function trendKey(m: Pick<TrendMention, 'text' | 'label' | 'type' | 'kind'>): string {
  return `${normaliseText(m.text)}\u0001${m.label !== '' ? m.label : `${m.type}.${m.kind}`}`;
}

/** NFKC, ASCII lowercase, whitespace trimmed and collapsed to one space. */
export function normaliseText(text: string): string {
  return text.normalize('NFKC').replace(/[A-Z]+/g, (s) => s.toLowerCase()).trim().replace(/\s+/g, ' ');
}

interface KeyData {
  posts: number;
  /** The record (sequence number) that last counted a post for this key. */
  lastSeq: number;
  authors: Set<string> | null;
  /** Newest first. */
  examples: MentionRef[];
}

class WindowAgg {
  records = 0;
  mentions = 0;
  hasAuthors = false;
  readonly counts: SpaceSaving<KeyData>;
  /** This window in the last snapshot, while nothing counted since (the same object: a state encoder can reuse its encoding). */
  snap: WindowSnapshot | undefined;
  constructor(cap: number) {
    this.counts = new SpaceSaving<KeyData>(cap);
  }
}

/** A window's state in a snapshot: its counters as [key, count, error, posts, authors, examples]. */
export interface WindowSnapshot {
  start: number;
  records: number;
  mentions: number;
  total: number;
  evictions: number;
  hasAuthors: boolean;
  keys: Array<[string, number, number, number, string[] | null, MentionRef[]]>;
}

/** The whole state as JSON-able data (restore with {@link TrendState.restore}). */
export interface TrendSnapshot {
  version: 1;
  sizeMs: number;
  hopMs: number;
  latenessMs: number;
  /** The combined event time (the watermark plus the lateness), null before the first record. */
  maxEventTime: number | null;
  /** Per input source: [name, largest created_at (-Infinity, or null after JSON, before its first record), idle]. */
  sources: Array<[string, number | null, boolean]>;
  closedBelow: number | null;
  /**
   * Before any window closed: the earliest progress-marker time (`advance`),
   * where closing starts when no record opened a window; null otherwise.
   * Absent in snapshots written before it existed (restored as null).
   */
  progressFrom?: number | null;
  seq: number;
  lateRecords: number;
  windows: WindowSnapshot[];
  /** Counts of the last closed windows, oldest first. */
  history: Array<Array<[string, number]>>;
}

/** What `add` did with a record: counted in at least one window, or late (every window of it had closed). */
export type AddResult = 'counted' | 'late';

/**
 * The windows, counts and history of the trends (see this module's comment
 * for the semantics): `add` a record, `close` what the watermark passed,
 * `flush` at the end of the input, `snapshot` / `restore` to persist it.
 * Throws a ConfigError at construction for bad settings.
 */
export class TrendState {
  /** The combined event time: the smallest of the active sources' largest created_at, never decreasing. */
  private maxEventTime = -Infinity;
  private readonly sources = new Map<string, { max: number; idle: boolean }>();
  /** Every window starting below this has closed (undefined until one has). */
  private closedBelow: number | undefined;
  /** Earliest event time of a progress marker (`advance`) before any window closed: where closing starts when no record opened a window. */
  private progressFrom: number | undefined;
  private readonly open = new Map<number, WindowAgg>();
  private history: Map<string, number>[] = [];
  /** Per key, its mentions summed over `history` (kept as windows enter and leave it). */
  private historySum = new Map<string, number>();
  private seq = 0;
  /** Late records so far. */
  lateRecords = 0;

  constructor(readonly settings: TrendSettings) {
    checkTrendSettings('TrendState', settings);
  }

  /**
   * The watermark: the largest created_at seen minus the lateness (-Infinity
   * before the first record). With several input sources (`add`'s `source`,
   * e.g. Kafka partitions), the smallest of the active sources' largest
   * created_at, minus the lateness, as Flink does: a source read ahead of the
   * others does not make their records late; an idle one is left out
   * (`markIdle`). It never decreases.
   */
  get watermark(): number {
    return this.maxEventTime - this.settings.latenessMs;
  }

  /** Windows open now. */
  get openWindows(): number {
    return this.open.size;
  }

  /** Keys tracked in the open windows, together. */
  get keysTracked(): number {
    let n = 0;
    for (const w of this.open.values()) n += w.counts.size;
    return n;
  }

  /** Keys remembered in the history of closed windows. */
  get historyKeys(): number {
    return this.history.reduce((n, h) => n + h.size, 0);
  }

  private isClosed(start: number): boolean {
    return (this.closedBelow !== undefined && start < this.closedBelow) || start + this.settings.sizeMs <= this.watermark;
  }

  /**
   * Counts a record from input `source` (default: one source) in its open windows, then raises the watermark; 'late'
   * when all its windows had closed (the record is counted nowhere). Call
   * {@link close} after it to collect the windows the watermark closed.
   * Throws a TypeError for a created_at that is not a finite number.
   */
  add(r: TrendInput, source = ''): AddResult {
    const t = r.created_at;
    if (typeof t !== 'number' || !Number.isFinite(t)) throw new TypeError(`created_at of post ${JSON.stringify(r.post_id)} is not a finite number: ${String(t)}`);
    const starts = windowStartsOf(t, this.settings).filter((s) => !this.isClosed(s));
    if (starts.length === 0) {
      this.lateRecords++;
      this.seen(source, t); // the source is not idle, whatever its record's time
      return 'late';
    }
    const seq = ++this.seq;
    const keys = r.mentions.map(trendKey); // once per record, not per window
    for (const s of starts) {
      let w = this.open.get(s);
      if (w === undefined) this.open.set(s, (w = new WindowAgg(this.settings.maxKeysPerWindow)));
      this.count(w, r, keys, seq);
    }
    this.seen(source, t);
    return 'counted';
  }

  /**
   * Moves input `source`'s event time to `t` without a record (a progress
   * marker of the scaled-out trends' re-key stage: the source has reached
   * `t` elsewhere): the watermark rises as for a record at `t`, nothing is
   * counted, and it is never late. A state that has had only markers closes
   * its (empty) windows from the window of the first marker on.
   * Throws a TypeError for a `t` that is not a finite number.
   */
  advance(t: number, source = ''): void {
    if (typeof t !== 'number' || !Number.isFinite(t)) throw new TypeError(`progress time of source ${JSON.stringify(source)} is not a finite number: ${String(t)}`);
    if (this.closedBelow === undefined && (this.progressFrom === undefined || t < this.progressFrom)) this.progressFrom = t;
    this.seen(source, t);
  }

  private seen(source: string, t: number): void {
    const s = this.sources.get(source);
    if (s === undefined) this.sources.set(source, { max: t, idle: false });
    else {
      if (t > s.max) s.max = t;
      s.idle = false;
    }
    this.updateClock();
  }

  private updateClock(): void {
    let min = Infinity;
    let max = -Infinity;
    for (const s of this.sources.values()) {
      if (!s.idle && s.max < min) min = s.max;
      if (s.max > max) max = s.max;
    }
    const clock = min === Infinity ? max : min; // every source idle: the largest (an announced source with no record: -Infinity, waits)
    if (clock > this.maxEventTime) this.maxEventTime = clock;
  }

  /**
   * Leaves `source` out of the watermark until its next record (an idle
   * partition must not hold the windows open); the watermark can only rise.
   */
  markIdle(source: string): void {
    const s = this.sources.get(source);
    if (s === undefined || s.idle) return;
    s.idle = true;
    this.updateClock();
  }

  /**
   * Announces an input source before its first record (e.g. the partitions
   * of an assignment): until it delivers, or is marked idle, the watermark
   * waits for it. A source not announced counts from its first record, so
   * whatever another source moved the watermark past meanwhile is late.
   */
  addSource(source: string): void {
    if (!this.sources.has(source)) this.sources.set(source, { max: -Infinity, idle: false });
  }

  /** The input sources seen (e.g. partitions) and whether each is idle. */
  get sourceStates(): ReadonlyMap<string, { readonly max: number; readonly idle: boolean }> {
    return this.sources;
  }

  private count(w: WindowAgg, r: TrendInput, keys: readonly string[], seq: number): void {
    w.snap = undefined;
    if (r.countsRecord !== false) w.records++;
    const author = typeof r.author_id === 'string' ? r.author_id : null;
    if (author !== null) w.hasAuthors = true;
    const fresh = (): KeyData => ({ posts: 0, lastSeq: 0, authors: null, examples: [] });
    for (let i = 0; i < keys.length; i++) {
      const m = r.mentions[i]!;
      w.mentions++;
      const d = w.counts.increment(keys[i]!, fresh).data;
      if (d.lastSeq !== seq) {
        d.lastSeq = seq;
        d.posts++;
        if (author !== null) (d.authors ??= new Set()).add(author);
      }
      this.addExample(d, r, m);
    }
  }

  private addExample(d: KeyData, r: TrendInput, m: TrendMention): void {
    const k = this.settings.examples;
    if (k === 0) return;
    const ex = d.examples;
    if (ex.length === k && ex[k - 1]!.created_at >= r.created_at) return;
    const ref: MentionRef = { post_id: r.post_id, created_at: r.created_at, start_utf16: m.start_utf16, end_utf16: m.end_utf16, surface: m.text };
    let i = ex.length;
    while (i > 0 && ex[i - 1]!.created_at < r.created_at) i--;
    ex.splice(i, 0, ref);
    if (ex.length > k) ex.pop();
  }

  /** Moves event time on by `ms` with no record (an idle input): the watermark rises with it. No-op before the first record. */
  advanceIdle(ms: number): void {
    if (this.maxEventTime === -Infinity) return;
    for (const s of this.sources.values()) if (s.max !== -Infinity) s.max += ms;
    this.maxEventTime += ms;
  }

  /** Closes every window the watermark has passed, in start order; their trends, made at `now`. */
  close(now: number): EntityTrend[] {
    return this.closeUpTo(this.watermark, now);
  }

  /** Closes every open window (end of input), with the empty windows between them; their trends. */
  flush(now: number): EntityTrend[] {
    if (this.open.size === 0) return [];
    const last = Math.max(...this.open.keys());
    return this.closeUpTo(Math.max(this.watermark, last + this.settings.sizeMs), now);
  }

  private closeUpTo(watermark: number, now: number): EntityTrend[] {
    const { sizeMs, hopMs, maxEmptyWindows } = this.settings;
    let cursor = this.closedBelow;
    if (cursor === undefined) {
      if (this.open.size === 0 && this.progressFrom === undefined) return [];
      cursor = Math.min(...this.open.keys(), this.progressFrom === undefined ? Infinity : firstWindowStart(this.progressFrom, this.settings));
      // nothing has closed yet: a window before the first open one may still get records
      if (cursor + sizeMs > watermark) return [];
    }
    const out: EntityTrend[] = [];
    let emptyRun = 0;
    while (cursor + sizeMs <= watermark) {
      const w = this.open.get(cursor);
      if (w === undefined && emptyRun >= maxEmptyWindows) {
        // skip the rest of the gap: to the next open window or past the last closable one
        const nextOpen = this.open.size === 0 ? Infinity : Math.min(...this.open.keys());
        const pastClosable = firstWindowStart(watermark, this.settings);
        const to = Math.min(nextOpen, pastClosable);
        const skipped = Math.max(0, Math.round((to - cursor) / hopMs));
        for (let i = 0; i < Math.min(skipped, this.settings.historyWindows); i++) this.remember(new Map());
        cursor = to;
        emptyRun = 0;
        continue;
      }
      emptyRun = w === undefined ? emptyRun + 1 : 0;
      out.push(this.emit(cursor, w, watermark, now));
      this.open.delete(cursor);
      cursor += hopMs;
    }
    this.closedBelow = cursor;
    return out;
  }

  private remember(counts: Map<string, number>): void {
    this.history.push(counts);
    for (const [k, n] of counts) this.historySum.set(k, (this.historySum.get(k) ?? 0) + n);
    if (this.history.length > this.settings.historyWindows) {
      for (const [k, n] of this.history.shift()!) {
        const left = this.historySum.get(k)! - n;
        if (left === 0) this.historySum.delete(k);
        else this.historySum.set(k, left);
      }
    }
  }

  private emit(start: number, w: WindowAgg | undefined, watermark: number, now: number): EntityTrend {
    const s = this.settings;
    const counters = w === undefined ? [] : [...w.counts.values()];
    const history = this.history;
    const full = history.length >= s.historyWindows;
    const byType = new Map<string, Counter<KeyData>[]>();
    for (const c of counters) {
      const t = typeOf(c.key);
      let list = byType.get(t);
      if (list === undefined) byType.set(t, (list = []));
      list.push(c);
    }
    const hasAuthors = w?.hasAuthors ?? false;
    const entity = (c: Counter<KeyData>, rank: number, flags: Flags): TrendEntity => {
      const cut = c.key.lastIndexOf('\u0001');
      const text = c.key.slice(0, cut);
      const label = c.key.slice(cut + 1);
      const dot = label.indexOf('.');
      return {
        text,
        label,
        type: dot < 0 ? label : label.slice(0, dot),
        kind: dot < 0 ? '' : label.slice(dot + 1),
        mentions: c.count,
        error: c.error,
        posts: c.data.posts,
        authors: hasAuthors ? (c.data.authors?.size ?? 0) : null,
        rank,
        recent: history.map((h) => h.get(c.key) ?? 0),
        trailing_avg: flags.trailing,
        ratio: flags.trailing > 0 ? c.count / flags.trailing : null,
        is_new: flags.isNew,
        is_rising: flags.isRising,
        examples: c.data.examples.map((e) => ({ ...e })),
      };
    };
    const flagsOf = (c: Counter<KeyData>): Flags => {
      const sum = this.historySum.get(c.key) ?? 0;
      const trailing = history.length === 0 ? 0 : sum / s.historyWindows;
      const enough = full && c.count >= s.minCount;
      return { trailing, isNew: enough && sum === 0, isRising: enough && trailing > 0 && c.count / trailing >= s.risingRatio };
    };
    const top: TrendEntity[] = [];
    const fresh: TrendEntity[] = [];
    const rising: TrendEntity[] = [];
    for (const type of [...byType.keys()].sort()) {
      const list = byType.get(type)!;
      const ranks = new Map<Counter<KeyData>, number>();
      const best = topK(list, s.top, byCount); // the top list without sorting every key
      best.forEach((c, i) => ranks.set(c, i + 1));
      const flags = new Map<Counter<KeyData>, Flags>();
      for (const c of list) flags.set(c, flagsOf(c));
      for (const c of best) top.push(entity(c, ranks.get(c)!, flags.get(c)!));
      for (const c of topK(list.filter((x) => flags.get(x)!.isNew), s.top, byCount)) fresh.push(entity(c, ranks.get(c) ?? 0, flags.get(c)!));
      const ratio = (c: Counter<KeyData>) => c.count / flags.get(c)!.trailing;
      const up = topK(list.filter((x) => flags.get(x)!.isRising), s.top, (a, b) => ratio(b) - ratio(a) || byCount(a, b)).map((c) => ({ c, f: flags.get(c)! }));
      for (const { c, f } of up.slice(0, s.top)) rising.push(entity(c, ranks.get(c) ?? 0, f));
    }
    const counts = new Map<string, number>();
    for (const c of counters) counts.set(c.key, c.count);
    this.remember(counts);
    return {
      window_start: start,
      window_end: start + s.sizeMs,
      hop_ms: s.hopMs,
      lateness_ms: s.latenessMs,
      records: w?.records ?? 0,
      mentions: w?.mentions ?? 0,
      entities: counters.length,
      approximate: w?.counts.approximate ?? false,
      error_bound: w?.counts.errorBound ?? 0,
      top,
      new_entities: fresh,
      rising,
      late_records: this.lateRecords,
      watermark,
      emitted_at: now,
    };
  }

  /** A closed window's counts as in the snapshots (they never change once closed). */
  private readonly historySnaps = new WeakMap<Map<string, number>, Array<[string, number]>>();

  /**
   * The state as JSON-able data, to read, not to change: a window counted
   * nothing in since the last snapshot, and a window of the history, is the
   * same object as in the last snapshot (so a state encoder can reuse its
   * encoding, StateEncoder in pipeline/stream/trendsOptions.ts).
   */
  snapshot(): TrendSnapshot {
    const windows: WindowSnapshot[] = [...this.open.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([start, w]) => (w.snap ??= {
        start,
        records: w.records,
        mentions: w.mentions,
        total: w.counts.total,
        evictions: w.counts.evictions,
        hasAuthors: w.hasAuthors,
        keys: [...w.counts.values()].map((c) => [c.key, c.count, c.error, c.data.posts, c.data.authors === null ? null : [...c.data.authors], c.data.examples.map((e) => ({ ...e }))]),
      }));
    return {
      version: 1,
      sizeMs: this.settings.sizeMs,
      hopMs: this.settings.hopMs,
      latenessMs: this.settings.latenessMs,
      maxEventTime: Number.isFinite(this.maxEventTime) ? this.maxEventTime : null,
      sources: [...this.sources.entries()].map(([name, x]) => [name, x.max, x.idle]),
      closedBelow: this.closedBelow ?? null,
      progressFrom: this.progressFrom ?? null,
      seq: this.seq,
      lateRecords: this.lateRecords,
      windows,
      history: this.history.map((h) => this.historySnaps.get(h) ?? this.historySnaps.set(h, [...h.entries()]).get(h)!),
    };
  }

  /** A state from a snapshot; a ConfigError when the snapshot was made with another window size, hop or lateness. */
  static restore(settings: TrendSettings, snap: TrendSnapshot): TrendState {
    const st = new TrendState(settings);
    if (snap.version !== 1) throw new ConfigError(`trend state snapshot version ${String(snap.version)} is not supported (expected 1)`);
    for (const f of ['sizeMs', 'hopMs', 'latenessMs'] as const) {
      if (snap[f] !== settings[f]) {
        throw new ConfigError(`the saved trend state was made with ${f} ${snap[f]}, not ${settings[f]}: use the same windows, or start from empty state (a new changelog)`);
      }
    }
    st.maxEventTime = snap.maxEventTime ?? -Infinity;
    // an announced source with no record yet has max -Infinity, which JSON writes as null
    for (const [name, max, idle] of snap.sources) st.sources.set(name, { max: typeof max === 'number' ? max : -Infinity, idle });
    st.closedBelow = snap.closedBelow ?? undefined;
    st.progressFrom = typeof snap.progressFrom === 'number' ? snap.progressFrom : undefined; // absent in older snapshots
    st.seq = snap.seq;
    st.lateRecords = snap.lateRecords;
    for (const ws of snap.windows) {
      const w = new WindowAgg(settings.maxKeysPerWindow);
      w.records = ws.records;
      w.mentions = ws.mentions;
      w.hasAuthors = ws.hasAuthors;
      for (const [key, count, error, posts, authors, examples] of ws.keys) {
        w.counts.restore(key, count, error, { posts, lastSeq: 0, authors: authors === null ? null : new Set(authors), examples: examples.map((e) => ({ ...e })) });
      }
      w.counts.total = ws.total;
      w.counts.evictions = ws.evictions;
      st.open.set(ws.start, w);
    }
    for (const h of snap.history.slice(-settings.historyWindows)) st.remember(new Map(h));
    return st;
  }
}

interface Flags {
  trailing: number;
  isNew: boolean;
  isRising: boolean;
}

function typeOf(key: string): string {
  const label = key.slice(key.lastIndexOf('\u0001') + 1);
  const dot = label.indexOf('.');
  return dot < 0 ? label : label.slice(0, dot);
}

/** The first k of `xs` in `cmp` order, sorted (a bounded insertion: O(n k), no sort of all of xs). */
function topK<T>(xs: readonly T[], k: number, cmp: (a: T, b: T) => number): T[] {
  if (xs.length <= 4 * k) return [...xs].sort(cmp).slice(0, k);
  const out: T[] = [];
  for (const x of xs) {
    if (out.length === k && cmp(x, out[k - 1]!) >= 0) continue;
    let i = out.length;
    while (i > 0 && cmp(x, out[i - 1]!) < 0) i--;
    out.splice(i, 0, x);
    if (out.length > k) out.pop();
  }
  return out;
}

function byCount(a: Counter<unknown>, b: Counter<unknown>): number {
  return b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
