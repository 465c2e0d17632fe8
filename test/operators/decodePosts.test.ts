// decodePosts: every raw record becomes exactly one item; bad payloads become
// FailedItems (stage 'decode'), never stream errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { map } from 'rxjs';
import { ConfigError, DecodeError } from '../../common/errors.js';
import { decodePosts } from '../../operators/decodePosts.js';
import type { Item, RawRecord } from '../../operators/types.js';
import { encodeStrict, frameConfluent, loadSchema } from '../../schemas/registry.js';
import type { Post } from '../../schemas/types.generated.js';
import { POSTS, encodePost, newScheduler, plain, post, rawRecord, summarize } from './helpers.js';

const v2 = encodePost(POSTS.beijing);
const v1 = encodePost(POSTS.shenzhen, 1);
const garbage = Buffer.from('这不是Avro，只是一段普通的UTF-8文字', 'utf8');
const truncated = encodePost(POSTS.shanghai).subarray(0, 25);
const otherSchema = encodeStrict(loadSchema('deadletter'), {
  payload: Buffer.from([1, 2, 3]),
  key: null,
  source_topic: 'posts',
  source_partition: 3,
  source_offset: 42,
  stage: 'decode',
  error_class: 'DecodeError',
  error_message: '坏数据',
  failed_at: 1_700_000_000_000,
  attempts: 1,
});
const emptyId = encodePost(post('', '没有编号的帖子'));

/** Decode one record (decodePosts is synchronous) and return its items. */
function decodeOne(record: RawRecord, opts?: Parameters<typeof decodePosts>[0]): Item<Post>[] {
  const out: Item<Post>[] = [];
  const ts = newScheduler();
  ts.run(({ cold }) => {
    cold<RawRecord>('a|', { a: record })
      .pipe(decodePosts(opts))
      .subscribe((item) => out.push(item));
  });
  return out;
}

function failureMessage(item: Item<Post>): string {
  assert.equal(item.kind, 'failed');
  if (item.kind !== 'failed') throw new Error('unreachable');
  assert.equal(item.stage, 'decode');
  assert.ok(item.error instanceof DecodeError, `expected DecodeError, got ${item.error.name}`);
  return item.error.message;
}

describe('decodePosts', () => {
  it('never: emits nothing and stays subscribed', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold<RawRecord>('-');
      expectObservable(src.pipe(decodePosts())).toBe('-');
      expectSubscriptions(src.subscriptions).toBe('^');
    });
  });

  it('empty: completes without items', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<RawRecord>('|').pipe(decodePosts())).toBe('|');
    });
  });

  it('one value: a v2 post decodes to an ok item with ref, payload and key', () => {
    const key = Buffer.from('p-bj');
    const record = rawRecord(7, v2, key);
    newScheduler().run(({ cold, expectObservable }) => {
      const out = cold<RawRecord>('--a--|', { a: record }).pipe(
        decodePosts(),
        map((item) => plain({ ...item, payload: item.payload?.toString('hex'), key: item.key?.toString() })),
      );
      expectObservable(out).toBe('--a--|', {
        a: { kind: 'ok', ref: record.ref, payload: v2.toString('hex'), key: 'p-bj', value: plain(POSTS.beijing) },
      });
    });
  });

  it('many values: good and bad records each give one item, in order', () => {
    const records = [v2, garbage, v1, truncated, otherSchema, null, Buffer.alloc(0), emptyId].map((v, i) => rawRecord(i, v));
    const values = Object.fromEntries(records.map((r, i) => [String.fromCharCode(97 + i), r]));
    newScheduler().run(({ cold, expectObservable }) => {
      const out = cold<RawRecord>('abcdefgh|', values).pipe(decodePosts(), map(summarize));
      expectObservable(out).toBe('abcdefgh|', {
        a: '0:ok:p-bj',
        b: '1:failed:decode:DecodeError',
        c: '2:ok:p-sz',
        d: '3:failed:decode:DecodeError',
        e: '4:failed:decode:DecodeError',
        f: '5:failed:decode:DecodeError',
        g: '6:failed:decode:DecodeError',
        h: '7:failed:decode:DecodeError',
      });
    });
  });

  it('failures say why', () => {
    const [garbageItem] = decodeOne(rawRecord(1, garbage));
    assert.match(failureMessage(garbageItem), /^cannot decode Post from \d+ bytes/);
    const [truncatedItem] = decodeOne(rawRecord(2, truncated));
    assert.match(failureMessage(truncatedItem), /truncated/);
    const [otherItem] = decodeOne(rawRecord(3, otherSchema));
    assert.match(failureMessage(otherItem), /cannot decode Post from \d+ bytes/);
    const [nullItem] = decodeOne(rawRecord(4, null));
    assert.match(failureMessage(nullItem), /no value \(null payload/);
    const [emptyItem] = decodeOne(rawRecord(5, Buffer.alloc(0)));
    assert.match(failureMessage(emptyItem), /empty payload/);
    const [emptyIdItem] = decodeOne(rawRecord(6, emptyId));
    assert.match(failureMessage(emptyIdItem), /empty id/);
    // The failed item keeps the original bytes for the dead-letter record.
    assert.equal(garbageItem.payload, garbage);
  });

  it("a record whose source gave a problem is dead-lettered with it, even when its bytes would decode", () => {
    const value = encodePost(POSTS.beijing);
    const [item] = decodeOne({ ...rawRecord(7, value, Buffer.from('k')), problem: 'line 7 is not JSON (Unexpected token)' });
    assert.equal(failureMessage(item), 'cannot decode Post: line 7 is not JSON (Unexpected token)');
    assert.equal(item.payload, value);
    assert.deepEqual(item.key, Buffer.from('k'));
  });

  it('reads v1 payloads into the v2 shape (defaults for the new fields)', () => {
    const [item] = decodeOne(rawRecord(0, v1));
    assert.equal(item.kind, 'ok');
    if (item.kind === 'ok') assert.deepStrictEqual(plain(item.value), plain({ ...POSTS.shenzhen, topic_tags: [], geo: null }));
  });

  it('readerVersion 1 reads v2 payloads without the v2 fields', () => {
    const [item] = decodeOne(rawRecord(0, encodePost(POSTS.shanghai)), { readerVersion: 1 });
    assert.equal(item.kind, 'ok');
    if (item.kind === 'ok') {
      const { topic_tags: _t, geo: _g, ...v1Shape } = POSTS.shanghai;
      assert.deepStrictEqual(plain(item.value), plain(v1Shape));
    }
  });

  it('wire formats: confluent needs the header, auto accepts both', () => {
    const framed = frameConfluent(12, v2);
    assert.equal(decodeOne(rawRecord(0, framed), { wire: 'confluent' })[0].kind, 'ok');
    assert.match(failureMessage(decodeOne(rawRecord(0, v2), { wire: 'confluent' })[0]), /Confluent/);
    assert.equal(decodeOne(rawRecord(0, framed), { wire: 'auto' })[0].kind, 'ok');
    assert.equal(decodeOne(rawRecord(0, v2), { wire: 'auto' })[0].kind, 'ok');
    assert.equal(decodeOne(rawRecord(0, framed))[0].kind, 'failed'); // raw: the header is garbage
  });

  it('error: a source error passes through after the items before it', () => {
    const err = new Error('消费者断开');
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold<RawRecord>('-a-#', { a: rawRecord(0, v2) }, err);
      expectObservable(src.pipe(decodePosts(), map(summarize))).toBe('-a-#', { a: '0:ok:p-bj' }, err);
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });

  it('endless source: keeps decoding, never completes', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold<RawRecord>('-a-b-a-b-', { a: rawRecord(0, v2), b: rawRecord(1, garbage) });
      expectObservable(src.pipe(decodePosts(), map(summarize))).toBe('-a-b-a-b-', {
        a: '0:ok:p-bj',
        b: '1:failed:decode:DecodeError',
      });
      expectSubscriptions(src.subscriptions).toBe('^');
    });
  });

  it('early unsubscribe: unsubscribes from the source', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold<RawRecord>('-a-a-a-a|', { a: rawRecord(0, v2) });
      expectObservable(src.pipe(decodePosts(), map(summarize)), '^--!').toBe('-a-', { a: '0:ok:p-bj' });
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });

  it('callback throws: a record that breaks the decoder (value not bytes) fails alone', () => {
    const weird = { ref: rawRecord(9, null).ref, key: null, value: '不是字节' as unknown as Buffer };
    newScheduler().run(({ cold, expectObservable }) => {
      const src = cold<RawRecord>('ab|', { a: weird, b: rawRecord(10, v2) });
      expectObservable(src.pipe(decodePosts(), map(summarize))).toBe('ab|', {
        a: '9:failed:decode:DecodeError',
        b: '10:ok:p-bj',
      });
    });
  });

  it('each subscription decodes independently', () => {
    const records = [rawRecord(0, v2), rawRecord(1, garbage)];
    const first = records.flatMap((r) => decodeOne(r));
    const second = records.flatMap((r) => decodeOne(r));
    assert.deepStrictEqual(first.map(summarize), second.map(summarize));
  });

  it('the Post-specific check agrees with the full path: damaged and blank-id posts give the same items', () => {
    // A Buffer payload may take the Post-specific check (schemas/postScan.ts);
    // the same bytes as a plain Uint8Array always take the generic scan.
    const outcome = (item: Item<Post>): string => (item.kind === 'ok' ? `ok ${JSON.stringify(item.value)}` : `failed ${item.error.message}`);
    const bases = [...Object.values(POSTS), post(' ', '空格编号'), post('\u3000', '全角空格编号'), post('\t\n', '制表符编号'), post('x', '')].map((p) => encodePost(p));
    const variants: Buffer[] = [];
    for (const base of bases) {
      variants.push(base);
      for (let end = 0; end < base.length; end++) variants.push(base.subarray(0, end));
      for (let at = 0; at < base.length; at++) {
        for (const byte of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
          const damaged = Buffer.from(base);
          damaged[at] = byte;
          variants.push(damaged);
        }
      }
    }
    let fast = 0;
    for (const value of variants) {
      const [viaCheck] = decodeOne(rawRecord(0, value));
      const [generic] = decodeOne(rawRecord(0, new Uint8Array(value) as unknown as Buffer));
      assert.equal(outcome(viaCheck), outcome(generic), `payload ${value.toString('hex')}`);
      if (viaCheck.kind === 'ok') fast++;
    }
    assert.ok(fast > bases.length, `only ${fast} of ${variants.length} variants decoded`);
  });

  it('rejects bad options with a ConfigError', () => {
    assert.throws(() => decodePosts({ wire: 'json' as never }), (e: unknown) => e instanceof ConfigError && /wire must be one of/.test(e.message));
    assert.throws(() => decodePosts({ readerVersion: 9 }), (e: unknown) => e instanceof ConfigError && /readerVersion 9.*use one of 1, 2/.test(e.message));
    assert.throws(() => decodePosts(null as never), ConfigError);
  });
});

