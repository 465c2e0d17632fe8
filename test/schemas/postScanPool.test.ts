/**
 * PostScanPool (the archive sink's Post check off the consumer's thread): on
 * a worker and on the calling thread it gives every record of a packed batch
 * the same verdict, the one postRecordReader's fast path gives (POST_OK with
 * the event time, POST_BLANK_ID, or POST_SLOW for what only the full decode
 * path can decide); a closed pool rejects; bad thread counts are ConfigErrors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../common/errors.js';
import { POST_BLANK_ID, POST_OK, POST_SLOW } from '../../schemas/postScan.js';
import { PostScanPool } from '../../schemas/postScanPool.js';
import { encodeStrict, loadSchema } from '../../schemas/registry.js';

const v2 = loadSchema('post', 2);
const v1 = loadSchema('post', 1);
const post = (id: string, createdAt: number) => ({ id, text: '今天在北京😀', author_id: 'u1', created_at: createdAt, source: 'weibo', lang: null, reply_to: null, attributes: {}, topic_tags: [], geo: null });

/** Records, the timestamp of each, and the expected status and time. */
function batch(): { values: Buffer[]; stamps: number[]; expected: Array<[number, number | undefined]> } {
  const good = encodeStrict(v2, post('a', 1_714_550_400_123));
  const cases: Array<[Buffer, number, number, number | undefined]> = [
    [good, 5, POST_OK, 1_714_550_400_123],
    [encodeStrict(v2, post('late', -5)), 1_700_000_000_000, POST_OK, 1_700_000_000_000], // implausible created_at: the timestamp
    [encodeStrict(v2, post('\u3000', 1)), 0, POST_BLANK_ID, undefined],
    [encodeStrict(v1, { id: 'old', text: '你好', author_id: 'a', created_at: 1, source: 'weibo', lang: null, reply_to: null, attributes: {} }), 0, POST_SLOW, undefined],
    [Buffer.from([0x01, 0xff, 0xff]), 0, POST_SLOW, undefined],
    [good.subarray(0, good.length - 3), 0, POST_SLOW, undefined],
    [Buffer.alloc(0), 0, POST_SLOW, undefined], // also what a null value packs to
    [encodeStrict(v2, post('中', 253_402_300_799_999)), 9, POST_OK, 253_402_300_799_999],
  ];
  return { values: cases.map((c) => c[0]), stamps: cases.map((c) => c[1]), expected: cases.map((c) => [c[2], c[3]]) };
}

async function verdicts(threads: number): Promise<Array<[number, number | undefined]>> {
  const pool = new PostScanPool(threads);
  try {
    const { values, stamps } = batch();
    const data = pool.alloc(values.reduce((n, v) => n + v.length, 0));
    const ends = new Uint32Array(values.length);
    let at = 0;
    values.forEach((v, i) => {
      at += v.copy(data, at);
      ends[i] = at;
    });
    const { status, times } = await pool.check(data, ends, Float64Array.from(stamps), values.length);
    return [...status].map((s, i) => [s, s === POST_OK ? times[i] : undefined]);
  } finally {
    await pool.close();
  }
}

describe('PostScanPool', () => {
  it('a worker and the calling thread give each record the fast path verdict', async () => {
    const { expected } = batch();
    assert.deepEqual(await verdicts(0), expected);
    assert.deepEqual(await verdicts(1), expected);
    assert.deepEqual(await verdicts(2), expected);
  });

  it('a closed pool rejects checks; thread counts other than integers >= 0 are ConfigErrors', async () => {
    const pool = new PostScanPool(1);
    await pool.close();
    const data = pool.alloc(1);
    await assert.rejects(pool.check(data, new Uint32Array([1]), new Float64Array(1), 1));
    assert.throws(() => new PostScanPool(-1), ConfigError);
    assert.throws(() => new PostScanPool(1.5), ConfigError);
  });
});
