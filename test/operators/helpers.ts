// Shared fixtures for the operator specs: hand-written Chinese posts, raw
// records, a dictionary-based fake Tagger, and a TestScheduler whose
// assertion is node:assert's deepStrictEqual.
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { encodeStrict, loadSchema } from '../../schemas/registry.js';
import type { Post, PostMentions } from '../../schemas/types.generated.js';
import type { EntityType, Mention, MentionKind, Tagger } from '../../models/tagger.js';
import type { FailedItem, Item, OkItem, RawRecord, RecordRef } from '../../operators/types.js';
import { DecodeError } from '../../common/errors.js';

export function newScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));
}

export const TOPIC = 'posts';
export const RECEIVED_AT = 1_700_000_000_000;

export function ref(offset: number | string, receivedAt = RECEIVED_AT): RecordRef {
  return { topic: TOPIC, partition: 0, offset: String(offset), receivedAt };
}

/** A v2 post with defaults for the fields a test does not care about. */
export function post(id: string, text: string, extra: Partial<Post> = {}): Post {
  return {
    id,
    text,
    author_id: `u-${id}`,
    created_at: 1_699_999_000_000,
    source: 'weibo',
    lang: 'zh-Hans',
    reply_to: null,
    attributes: {},
    topic_tags: [],
    geo: null,
    ...extra,
  };
}

/** Hand-written sample posts (not from any corpus). */
export const POSTS = {
  beijing: post('p-bj', '今天在北京见到了马云，他说阿里巴巴明年还要招人。', { topic_tags: ['招聘季'] }),
  shanghai: post('p-sh', '上海下雨了😀小王约我明天去外滩散步', {
    geo: { lat: 31.24, lon: 121.49, place: '上海·黄浦区' },
  }),
  shenzhen: post('p-sz', '那位老板昨天在深圳开了发布会，腾讯的人也来了', { reply_to: 'p-bj' }),
  plain: post('p-plain', '今天什么也没干，睡了一整天。'),
  astral: post('p-astral', '𠮷野家的牛肉饭在杭州很受欢迎'),
  empty: post('p-empty', ''),
};

/** A PostMentions record without mentions, origin or latency (hand-written, for schema tests). */
export function bareMentions(postId: string): PostMentions {
  return { post_id: postId, created_at: 1, origin: null, mentions: [], model: { id: 'm', version: '1' }, processed_at: 2, latency_ms: null };
}

/** Avro bytes of a v2 post (or v1 when `version` is 1: the v2-only fields are dropped). */
export function encodePost(p: Post, version = 2): Buffer {
  if (version === 1) {
    const { topic_tags: _t, geo: _g, ...v1 } = p;
    return encodeStrict(loadSchema('post', 1), v1);
  }
  return encodeStrict(loadSchema('post', version), p);
}

export function rawRecord(offset: number, value: Buffer | null, key: Buffer | null = null): RawRecord {
  return { ref: ref(offset), key, value };
}

export function okItem<T>(offset: number, value: T, payload: Buffer | null = null): OkItem<T> {
  return { kind: 'ok', ref: ref(offset), payload, key: null, value };
}

export function failedItem(offset: number, message = 'bad bytes', payload: Buffer | null = null): FailedItem {
  return { kind: 'failed', ref: ref(offset), payload, key: null, stage: 'decode', error: new DecodeError(message) };
}

/** A comparable summary of an item: ok -> post id, failed -> stage and error class. */
export function summarize(item: Item<unknown>): string {
  if (item.kind === 'failed') return `${item.ref.offset}:failed:${item.stage}:${item.error.name}`;
  const v = item.value as { id?: string; post_id?: string; post?: { id: string } };
  return `${item.ref.offset}:ok:${v.id ?? v.post_id ?? v.post?.id ?? '?'}`;
}

/** A JSON-plain copy (drops avsc class prototypes so deepStrictEqual compares fields only). */
export function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

const DICTIONARY: ReadonlyArray<[string, EntityType, MentionKind]> = [
  ['北京', 'GPE', 'NAM'],
  ['马云', 'PER', 'NAM'],
  ['阿里巴巴', 'ORG', 'NAM'],
  ['上海', 'GPE', 'NAM'],
  ['小王', 'PER', 'NAM'],
  ['外滩', 'LOC', 'NAM'],
  ['那位老板', 'PER', 'NOM'],
  ['深圳', 'GPE', 'NAM'],
  ['腾讯', 'ORG', 'NAM'],
  ['杭州', 'GPE', 'NAM'],
  ['𠮷野家', 'ORG', 'NAM'],
];

/** Dictionary lookup, longest match first, with code-point and UTF-16 offsets. */
export function lookup(text: string): Mention[] {
  const chars = Array.from(text);
  const utf16 = [0];
  for (const c of chars) utf16.push(utf16[utf16.length - 1] + c.length);
  const out: Mention[] = [];
  let i = 0;
  while (i < chars.length) {
    const hit = DICTIONARY.filter(([w]) => chars.slice(i, i + Array.from(w).length).join('') === w).sort(
      (a, b) => b[0].length - a[0].length,
    )[0];
    if (hit === undefined) {
      i++;
      continue;
    }
    const [word, type, kind] = hit;
    const end = i + Array.from(word).length;
    out.push({
      text: word,
      label: `${type}.${kind}`,
      type,
      kind,
      start: i,
      end,
      start_utf16: utf16[i],
      end_utf16: utf16[end],
      confidence: 0.875,
    });
    i = end;
  }
  return out;
}

export interface FakeTaggerOptions {
  /** A text containing this makes any tag() call that includes it reject. */
  poison?: string;
  /** Milliseconds (real time) each call takes; default 0 (resolves on the next microtask). */
  delayMs?: number;
  /** Replace the result of every call (to simulate a broken tagger). */
  override?: (texts: readonly string[]) => Promise<Mention[][]>;
}

/** A Tagger that finds dictionary words, records its calls and can be poisoned. */
export class FakeTagger implements Tagger {
  readonly modelId = 'fake-dictionary';
  readonly modelVersion = '0.0.1';
  readonly calls: string[][] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(private readonly options: FakeTaggerOptions = {}) {}

  async tag(texts: readonly string[]): Promise<Mention[][]> {
    this.calls.push([...texts]);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.options.delayMs !== undefined) await new Promise((r) => setTimeout(r, this.options.delayMs));
      if (this.options.override !== undefined) return await this.options.override(texts);
      const { poison } = this.options;
      if (poison !== undefined && texts.some((t) => t.includes(poison))) {
        throw new Error(`cannot tag text containing ${poison}`);
      }
      return texts.map(lookup);
    } finally {
      this.inFlight--;
    }
  }

  dispose(): void {}
}

/** Resolves after pending promise callbacks and timers of 0 ms have run. */
export function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 5));
}
