/**
 * What the archive sink stores for a consumed record (postRecordReader): a
 * latest-version raw Post byte for byte with its created_at as event time;
 * an older version re-encoded to the latest; a post with an implausible
 * created_at filed by the record's timestamp; anything that is not a Post
 * (garbage, truncated, empty id, null) a DecodeError, which the sink turns
 * into a dead letter.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError } from '../../common/errors.js';
import { postRecordReader } from '../../pipeline/stream/archiveSink.js';
import { decodeStrict, encodeStrict, loadSchema } from '../../schemas/registry.js';
import type { Post } from '../../schemas/types.generated.js';

const v2 = loadSchema('post', 2);
const v1 = loadSchema('post', 1);
const post = (id: string, createdAt: number) => ({ id, text: '今天在北京😀', author_id: 'u1', created_at: createdAt, source: 'weibo', lang: null, reply_to: null, attributes: { k: 'v' }, topic_tags: ['t'], geo: null });

describe('postRecordReader (archive sink)', () => {
  const read = postRecordReader('raw');

  it('a latest-version record: stored as consumed, event time = created_at (large and small times)', () => {
    for (const t of [0, 1, 1_714_550_400_123, 253_402_300_799_999]) {
      const bytes = encodeStrict(v2, post(`p${t}`, t));
      const out = read(bytes, 42);
      assert.equal(out.bytes, bytes);
      assert.equal(out.eventTime, t);
    }
  });

  it('an implausible created_at goes by the record timestamp', () => {
    assert.equal(read(encodeStrict(v2, post('neg', -5)), 1_700_000_000_000).eventTime, 1_700_000_000_000);
  });

  it('a v1 record is re-encoded as the latest version', () => {
    const old = { id: 'old', text: '你好', author_id: 'a', created_at: 1_600_000_000_000, source: 'weibo', lang: null, reply_to: null, attributes: {} };
    const out = read(encodeStrict(v1, old), 0);
    assert.equal(out.eventTime, 1_600_000_000_000);
    const back = decodeStrict<Post>(v2, out.bytes);
    assert.equal(back.id, 'old');
    assert.deepEqual(back.topic_tags, []);
  });

  it('not a Post: garbage, truncated, empty id, null value are DecodeErrors', () => {
    const good = encodeStrict(v2, post('x', 1));
    for (const bad of [Buffer.from([0x01, 0xff, 0xff]), good.subarray(0, good.length - 3), encodeStrict(v2, post('  ', 1)), null]) {
      assert.throws(() => read(bad, 0), DecodeError);
    }
  });

  it('an id of only whitespace, ASCII or Unicode (U+3000, U+00A0, U+FEFF), is not a post id; any other id is', () => {
    for (const id of ['  ', '\t\n\r\v\f', '\u3000', ' \u00a0 ', '\ufeff\u2028']) {
      assert.throws(() => read(encodeStrict(v2, post(id, 1)), 0), DecodeError, JSON.stringify(id));
    }
    for (const id of ['a', ' a ', '中', '\u3000中', '\u001f', '😀']) assert.equal(read(encodeStrict(v2, post(id, 7)), 0).eventTime, 7, JSON.stringify(id));
  });
});
