// toMentions: tagged posts -> PostMentions records (schemas/mentions/v2.avsc).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { map } from 'rxjs';
import { ConfigError, TaggingError } from '../../common/errors.js';
import type { Mention } from '../../models/tagger.js';
import { toMentions } from '../../operators/toMentions.js';
import type { Item, OkItem, TaggedPost } from '../../operators/types.js';
import type { Post, PostMentions } from '../../schemas/types.generated.js';
import { POSTS, RECEIVED_AT, failedItem, lookup, newScheduler, okItem, summarize } from './helpers.js';

const MODEL = { id: 'bilstm-crf-weibo', version: '2024.1' };
const NOW = RECEIVED_AT + 250;
const now = (): number => NOW;

function tagged(offset: number, p: Post, mentions: Mention[] = lookup(p.text)): OkItem<TaggedPost> {
  return okItem(offset, { post: p, mentions, tagMs: 3 });
}

function expected(item: OkItem<TaggedPost>): OkItem<PostMentions> {
  const { post, mentions } = item.value;
  return {
    ...item,
    value: {
      post_id: post.id,
      created_at: post.created_at,
      origin: { topic: item.ref.topic, partition: item.ref.partition, offset: Number(item.ref.offset) },
      mentions: mentions.map((m) => ({
        text: m.text,
        label: m.label,
        type: m.type,
        kind: m.kind,
        start: m.start,
        end: m.end,
        start_utf16: m.start_utf16,
        end_utf16: m.end_utf16,
        confidence: m.confidence,
      })),
      model: MODEL,
      processed_at: NOW,
      latency_ms: 250,
    },
  };
}

const bj = tagged(0, POSTS.beijing);
const sh = tagged(1, POSTS.shanghai);
const astral = tagged(2, POSTS.astral);
const plainPost = tagged(3, POSTS.plain);
const bad = failedItem(9);

/** Run one batch synchronously through toMentions. */
function one(batch: Item<TaggedPost>[]): Item<PostMentions>[] {
  let out: Item<PostMentions>[] = [];
  newScheduler().run(({ cold }) => {
    cold('a|', { a: batch })
      .pipe(toMentions({ model: MODEL, now }))
      .subscribe((v) => (out = v));
  });
  return out;
}

function failure(item: Item<PostMentions>): string {
  assert.ok(item.kind === 'failed', 'expected a failed item');
  assert.equal(item.stage, 'tag');
  assert.ok(item.error instanceof TaggingError);
  return item.error.message;
}

describe('toMentions', () => {
  const op = () => toMentions({ model: MODEL, now });

  it('never: emits nothing', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold<Item<TaggedPost>[]>('-');
      expectObservable(src.pipe(op())).toBe('-');
      expectSubscriptions(src.subscriptions).toBe('^');
    });
  });

  it('empty: completes', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<Item<TaggedPost>[]>('|').pipe(op())).toBe('|');
    });
  });

  it('one value: builds the PostMentions record', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-a|', { a: [bj] }).pipe(op())).toBe('-a|', { a: [expected(bj)] });
    });
  });

  it('many values: order and length kept, failed items pass through', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('ab-c|', { a: [bj, bad, sh], b: [astral], c: [bad, plainPost] }).pipe(op())).toBe('ab-c|', {
        a: [expected(bj), bad, expected(sh)],
        b: [expected(astral)],
        c: [bad, expected(plainPost)],
      });
    });
  });

  it('offsets: code points and UTF-16 differ after an astral character', () => {
    const [item] = one([astral]);
    assert.ok(item.kind === 'ok');
    const hangzhou = item.value.mentions.find((m) => m.text === '杭州');
    assert.ok(hangzhou);
    assert.equal(hangzhou.end_utf16 - hangzhou.end, 1);
    assert.equal(POSTS.astral.text.slice(hangzhou.start_utf16, hangzhou.end_utf16), '杭州');
    assert.equal(Array.from(POSTS.astral.text).slice(hangzhou.start, hangzhou.end).join(''), '杭州');
  });

  it('mentions are sorted by start; a post without mentions gets an empty list', () => {
    const reversed = tagged(0, POSTS.beijing, lookup(POSTS.beijing.text).reverse());
    const [item] = one([reversed]);
    assert.deepStrictEqual(item, expected(bj));
    const [none] = one([plainPost]);
    assert.ok(none.kind === 'ok');
    assert.deepStrictEqual(none.value.mentions, []);
  });

  it('origin is null when the ref offset is not a safe integer', () => {
    for (const offset of ['abc', '99999999999999999999', '-1']) {
      const item = { ...bj, ref: { ...bj.ref, offset } };
      const [out] = one([item]);
      assert.ok(out.kind === 'ok');
      assert.equal(out.value.origin, null);
    }
  });

  it('any label set: a label outside WeiboNER passes with type and kind UNKNOWN, a plain PER with kind UNKNOWN', () => {
    const text = '小米手机和张三';
    const post = { ...POSTS.beijing, id: 'p-labels', text };
    const mentions: Mention[] = [
      { text: '小米手机', label: 'PRODUCT', type: 'UNKNOWN', kind: 'UNKNOWN', start: 0, end: 4, start_utf16: 0, end_utf16: 4, confidence: 0.5 },
      { text: '张三', label: 'PER', type: 'PER', kind: 'UNKNOWN', start: 5, end: 7, start_utf16: 5, end_utf16: 7, confidence: 0.25 },
    ];
    const [out] = one([tagged(7, post, mentions)]);
    assert.ok(out.kind === 'ok', JSON.stringify(out));
    assert.deepEqual(
      out.value.mentions.map((m) => [m.text, m.label, m.type, m.kind]),
      [
        ['小米手机', 'PRODUCT', 'UNKNOWN', 'UNKNOWN'],
        ['张三', 'PER', 'PER', 'UNKNOWN'],
      ],
    );
    const wrong = one([tagged(8, post, [{ ...mentions[0], type: 'ORG' }])])[0];
    assert.match(failure(wrong), /type\/kind ORG.UNKNOWN do not match label PRODUCT \(UNKNOWN.UNKNOWN\)/);
  });

  it('origin is null for records read from a file (embedded mode), as the schema says', () => {
    const item = { ...bj, ref: { ...bj.ref, topic: 'file:posts.ndjson' } };
    const [out] = one([item]);
    assert.ok(out.kind === 'ok');
    assert.equal(out.value.origin, null);
  });

  it('invalid tagger output fails only that post (stage tag)', () => {
    const [m0] = lookup(POSTS.beijing.text); // 北京 [2, 4)
    const cases: Array<[Partial<Mention> | null, RegExp]> = [
      [{ end: 99 }, /outside the text/],
      [{ start: 3, end: 2 }, /outside the text/],
      [{ text: '南京' }, /surface text differs/],
      [{ start_utf16: 0 }, /UTF-16 span/],
      [{ type: 'LOC' }, /type\/kind LOC.NAM do not match label GPE.NAM \(GPE.NAM\)/],
      [{ kind: 'UNKNOWN' }, /do not match label GPE.NAM/],
      [{ label: '' }, /invalid label ""/],
      [{ label: 'GPE NAM' }, /invalid label "GPE NAM"/],
      [{ confidence: 1.5 }, /confidence 1.5 is not in \[0, 1\]/],
      [{ confidence: Number.NaN }, /confidence NaN/],
      [null, /.+/],
    ];
    for (const [patch, message] of cases) {
      const mention = patch === null ? (null as unknown as Mention) : { ...m0, ...patch };
      const broken = tagged(5, POSTS.beijing, [mention]);
      const out = one([bj, broken]);
      assert.equal(out[0].kind, 'ok');
      assert.match(failure(out[1]), message);
      assert.match(failure(out[1]), /^tagger returned invalid mentions for post "p-bj"/);
      assert.equal(out[1].ref, broken.ref);
    }
    const overlapping = tagged(6, POSTS.beijing, [m0, { ...m0 }]);
    assert.match(failure(one([overlapping])[0]), /overlaps/);
  });

  it('error: passes through', () => {
    const err = new Error('标注阶段失败');
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a#', { a: [bj] }, err).pipe(op())).toBe('a#', { a: [expected(bj)] }, err);
    });
  });

  it('endless source: keeps mapping, never completes', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a-b-a-b-', { a: [bj], b: [bad] });
      expectObservable(src.pipe(op())).toBe('a-b-a-b-', { a: [expected(bj)], b: [bad] });
      expectSubscriptions(src.subscriptions).toBe('^');
    });
  });

  it('early unsubscribe: unsubscribes from the source', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a-a-a-|', { a: [bj] });
      expectObservable(src.pipe(op(), map((b) => b.map(summarize))), '^--!').toBe('a-a', { a: ['0:ok:p-bj'] });
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });

  it('callback throws: a throwing clock is a stream error; batches without ok items do not read it', () => {
    const boom = new Error('时钟坏了');
    const throwing = (): number => {
      throw boom;
    };
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('ab|', { a: [bad], b: [bj] }).pipe(toMentions({ model: MODEL, now: throwing }))).toBe(
        'a#',
        { a: [bad] },
        boom,
      );
    });
  });

  it('rejects bad options with a ConfigError', () => {
    assert.throws(() => toMentions({} as never), ConfigError);
    assert.throws(() => toMentions({ model: { id: '', version: '1' } }), (e: unknown) => e instanceof ConfigError && /model\.id/.test(e.message));
    assert.throws(() => toMentions({ model: { id: 'm', version: 3 as never } }), (e: unknown) => e instanceof ConfigError && /model\.version/.test(e.message));
    assert.throws(() => toMentions({ model: MODEL, now: 'x' as never }), ConfigError);
  });
});
