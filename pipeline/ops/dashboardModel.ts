/**
 * What the live page (`mentionflow dashboard`) shows, kept in memory and
 * bounded: the last `history` EntityTrend windows, and, to show an entity's
 * latest posts, the mention spans of recent mention records and the text of
 * recent posts. No I/O here: the command feeds records in, the server
 * (dashboardServer.ts) asks for views and listens for changes.
 *
 * Inputs are plain JSON objects as the NDJSON files and the decoders give
 * them; Avro-JSON unions (`{"double": 4}`) are accepted as well as plain
 * values. A record that does not look like its schema is counted as
 * rejected and otherwise ignored (the page must not die of one bad line).
 */
import { trendKey } from '../../operators/trends/trendState.js';
import type { EntityTrend, TrendEntity } from '../../schemas/types.generated.js';

/** One entity of a window, as the page gets it. */
export interface EntityView {
  key: string;
  text: string;
  label: string;
  type: string;
  mentions: number;
  error: number;
  posts: number;
  authors: number | null;
  rank: number;
  ratio: number | null;
  isNew: boolean;
  isRising: boolean;
  /** Mentions in the previous windows (oldest first) and this one, for the sparkline. */
  series: number[];
}

/** The page's state: the latest closed window, its top list per type, and its new and rising entities. */
export interface DashboardView {
  /** Windows received so far (0: the page shows "waiting"). */
  windows: number;
  window: { start: number; end: number; hopMs: number; latenessMs: number; records: number; mentions: number; entities: number; approximate: boolean; errorBound: number; lateRecords: number; watermark: number } | null;
  /** Types in alphabetical order, each with its top list by rank. */
  types: { type: string; top: EntityView[] }[];
  newEntities: EntityView[];
  rising: EntityView[];
  /** Records ignored because they did not parse: by input. */
  rejected: { trends: number; mentions: number; posts: number };
}

/** One of an entity's latest posts; `text` is null when the post itself was not given (only the span is known). */
export interface EntityPost {
  postId: string;
  createdAt: number;
  text: string | null;
  author: string | null;
  /** This entity's mentions in the post: UTF-16 offsets into `text`, [start, end). */
  spans: { start: number; end: number; surface: string }[];
}

export interface DashboardModelOptions {
  /** Windows kept (sparkline length); default 30. */
  history?: number;
  /** Latest posts kept per entity; default 10. */
  postsPerEntity?: number;
  /** Entities whose latest posts are kept (least recently mentioned dropped first); default 20000. */
  maxEntities?: number;
  /** Post texts kept (oldest dropped first); default 50000. */
  maxPosts?: number;
}

interface Ref {
  postId: string;
  createdAt: number;
  start: number;
  end: number;
  surface: string;
}

/** The fields of a trend entity the page uses (the generated type of schemas/trends). */
type TrendEntityIn = Pick<TrendEntity, 'text' | 'label' | 'type' | 'kind' | 'mentions' | 'error' | 'posts' | 'authors' | 'rank' | 'recent' | 'ratio' | 'is_new' | 'is_rising' | 'examples'>;

/** The fields of an EntityTrend record the page uses, its entity lists narrowed to TrendEntityIn. */
type TrendIn = Pick<EntityTrend, 'window_start' | 'window_end' | 'hop_ms' | 'lateness_ms' | 'records' | 'mentions' | 'entities' | 'approximate' | 'error_bound' | 'late_records' | 'watermark'> & {
  top: TrendEntityIn[];
  new_entities: TrendEntityIn[];
  rising: TrendEntityIn[];
};

/** A union's value: `{"double": 4}` -> 4 (Avro JSON), plain values as they are. */
function unwrap(v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && ['long', 'double', 'int', 'float', 'string'].includes(keys[0])) return (v as Record<string, unknown>)[keys[0]];
  }
  return v;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

function entityOf(raw: unknown): TrendEntityIn | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  const authors = unwrap(r.authors);
  const ratio = unwrap(r.ratio);
  if (!isStr(r.text) || !isStr(r.label) || !isStr(r.type) || !isNum(r.mentions)) return undefined;
  const examples = Array.isArray(r.examples) ? r.examples.filter((e) => e !== null && typeof e === 'object' && isStr(e.post_id) && isNum(e.start_utf16) && isNum(e.end_utf16)) : [];
  return {
    text: r.text,
    label: r.label,
    type: r.type,
    kind: isStr(r.kind) ? r.kind : '',
    mentions: r.mentions,
    error: isNum(r.error) ? r.error : 0,
    posts: isNum(r.posts) ? r.posts : 0,
    authors: isNum(authors) ? authors : null,
    rank: isNum(r.rank) ? r.rank : 0,
    recent: Array.isArray(r.recent) ? r.recent.filter(isNum) : [],
    ratio: isNum(ratio) ? ratio : null,
    is_new: r.is_new === true,
    is_rising: r.is_rising === true,
    examples: examples.map((e) => ({ post_id: e.post_id, created_at: isNum(e.created_at) ? e.created_at : 0, start_utf16: e.start_utf16, end_utf16: e.end_utf16, surface: isStr(e.surface) ? e.surface : '' })),
  };
}

function trendOf(raw: unknown): TrendIn | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  for (const f of ['window_start', 'window_end', 'records', 'mentions'] as const) if (!isNum(r[f])) return undefined;
  if (!Array.isArray(r.top)) return undefined;
  const list = (v: unknown) => (Array.isArray(v) ? v.map(entityOf).filter((e): e is TrendEntityIn => e !== undefined) : []);
  const num = (v: unknown) => (isNum(v) ? v : 0);
  return {
    window_start: r.window_start as number,
    window_end: r.window_end as number,
    hop_ms: num(r.hop_ms),
    lateness_ms: num(r.lateness_ms),
    records: r.records as number,
    mentions: r.mentions as number,
    entities: num(r.entities),
    approximate: r.approximate === true,
    error_bound: num(r.error_bound),
    top: list(r.top),
    new_entities: list(r.new_entities),
    rising: list(r.rising),
    late_records: num(r.late_records),
    watermark: num(r.watermark),
  };
}

/** Puts `key` last in a Map used as an LRU, dropping the first entries past `max`. */
function touch<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as K);
}

export class DashboardModel {
  private readonly history: number;
  private readonly postsPerEntity: number;
  private readonly maxEntities: number;
  private readonly maxPosts: number;
  private readonly windows: TrendIn[] = [];
  private received = 0;
  private readonly refs = new Map<string, Ref[]>();
  private readonly texts = new Map<string, { text: string; author: string | null }>();
  private readonly rejected = { trends: 0, mentions: 0, posts: 0 };
  private readonly listeners = new Set<() => void>();

  constructor(opts: DashboardModelOptions = {}) {
    const { history = 30, postsPerEntity = 10, maxEntities = 20_000, maxPosts = 50_000 } = opts;
    for (const [name, v] of Object.entries({ history, postsPerEntity, maxEntities, maxPosts })) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`dashboard ${name} must be an integer >= 1, got ${v}`);
    }
    this.history = history;
    this.postsPerEntity = postsPerEntity;
    this.maxEntities = maxEntities;
    this.maxPosts = maxPosts;
  }

  /** Calls `fn` after every change of the view (a window received); returns the unsubscribe. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** An EntityTrend record (a closed window); false when it does not look like one. */
  addTrend(raw: unknown): boolean {
    const t = trendOf(raw);
    if (t === undefined) {
      this.rejected.trends += 1;
      return false;
    }
    // A window re-emitted (early updates, a replay) replaces the one with the same start.
    const same = this.windows.findIndex((w) => w.window_start === t.window_start && w.window_end === t.window_end);
    if (same >= 0) this.windows.splice(same, 1);
    this.windows.push(t);
    this.windows.sort((a, b) => a.window_start - b.window_start);
    while (this.windows.length > this.history) this.windows.shift();
    this.received += 1;
    for (const e of [...t.top, ...t.new_entities, ...t.rising]) {
      for (const x of e.examples) this.addRef(trendKey(e), { postId: x.post_id, createdAt: x.created_at, start: x.start_utf16, end: x.end_utf16, surface: x.surface });
    }
    for (const fn of this.listeners) fn();
    return true;
  }

  /** A mention record (PostMentions JSON as `run` prints it): its mentions' spans, for the entities' latest posts. */
  addMentionRecord(raw: unknown): boolean {
    const r = raw as Record<string, unknown> | null;
    if (r === null || typeof r !== 'object' || !isStr(r.post_id) || !Array.isArray(r.mentions)) {
      this.rejected.mentions += 1;
      return false;
    }
    const createdAt = isNum(r.created_at) ? r.created_at : 0;
    for (const m of r.mentions as Record<string, unknown>[]) {
      if (m === null || typeof m !== 'object' || !isStr(m.text) || !isNum(m.start_utf16) || !isNum(m.end_utf16)) continue;
      const key = trendKey({ text: m.text, label: isStr(m.label) ? m.label : '', type: isStr(m.type) ? m.type : '', kind: isStr(m.kind) ? m.kind : '' });
      this.addRef(key, { postId: r.post_id, createdAt, start: m.start_utf16, end: m.end_utf16, surface: m.text });
    }
    return true;
  }

  /** A Post (JSON as `run` reads it): its text, to show with the mentions marked. */
  addPost(raw: unknown): boolean {
    const r = raw as Record<string, unknown> | null;
    if (r === null || typeof r !== 'object' || !isStr(r.id) || !isStr(r.text)) {
      this.rejected.posts += 1;
      return false;
    }
    touch(this.texts, r.id, { text: r.text, author: isStr(r.author_id) ? r.author_id : null }, this.maxPosts);
    return true;
  }

  private addRef(key: string, ref: Ref): void {
    const list = this.refs.get(key) ?? [];
    if (!list.some((x) => x.postId === ref.postId && x.start === ref.start && x.end === ref.end)) {
      list.push(ref);
      list.sort((a, b) => b.createdAt - a.createdAt);
      // keep the spans of the latest posts: a post may mention the entity more than once
      const posts = new Set<string>();
      let keep = 0;
      for (const x of list) {
        if (!posts.has(x.postId) && posts.size === this.postsPerEntity) break;
        posts.add(x.postId);
        keep += 1;
      }
      list.length = keep;
    }
    touch(this.refs, key, list, this.maxEntities);
  }

  /** The latest posts of an entity (by its key: normalised text, U+0001, label), newest first. */
  entityPosts(key: string): EntityPost[] {
    const byPost = new Map<string, EntityPost>();
    for (const r of this.refs.get(key) ?? []) {
      let post = byPost.get(r.postId);
      if (post === undefined) {
        const known = this.texts.get(r.postId);
        post = { postId: r.postId, createdAt: r.createdAt, text: known?.text ?? null, author: known?.author ?? null, spans: [] };
        byPost.set(r.postId, post);
      }
      post.spans.push({ start: r.start, end: r.end, surface: r.surface });
    }
    for (const p of byPost.values()) {
      p.spans.sort((a, b) => a.start - b.start);
      // spans that do not fit the text (another version of the post) are dropped rather than marked wrongly
      if (p.text !== null) p.spans = p.spans.filter((s) => s.start >= 0 && s.end <= p.text!.length && s.start < s.end);
    }
    return [...byPost.values()];
  }

  /** The view of the latest window. */
  view(): DashboardView {
    const last = this.windows[this.windows.length - 1];
    const rejected = { ...this.rejected };
    if (last === undefined) return { windows: 0, window: null, types: [], newEntities: [], rising: [], rejected };
    const earlier = this.windows.slice(0, -1);
    const entityView = (e: TrendEntityIn): EntityView => {
      const key = trendKey(e);
      // the record's own history (`recent`) when it has one, else what this page has seen
      const seen = earlier.map((w) => w.top.find((x) => trendKey(x) === key)?.mentions ?? 0);
      const past = e.recent.length > 0 ? e.recent : seen;
      return {
        key,
        text: e.text,
        label: e.label,
        type: e.type,
        mentions: e.mentions,
        error: e.error,
        posts: e.posts,
        authors: e.authors,
        rank: e.rank,
        ratio: e.ratio,
        isNew: e.is_new,
        isRising: e.is_rising,
        series: [...past.slice(-(this.history - 1)), e.mentions],
      };
    };
    const types = [...new Set(last.top.map((e) => e.type))].sort().map((type) => ({
      type,
      top: last.top.filter((e) => e.type === type).sort((a, b) => a.rank - b.rank).map(entityView),
    }));
    return {
      windows: this.received,
      window: {
        start: last.window_start,
        end: last.window_end,
        hopMs: last.hop_ms,
        latenessMs: last.lateness_ms,
        records: last.records,
        mentions: last.mentions,
        entities: last.entities,
        approximate: last.approximate,
        errorBound: last.error_bound,
        lateRecords: last.late_records,
        watermark: last.watermark,
      },
      types,
      newEntities: last.new_entities.map(entityView),
      rising: last.rising.map(entityView),
      rejected,
    };
  }
}
