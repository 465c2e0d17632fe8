/**
 * The archive sink's Post check (schemas/postScan.ts): the scan written for the
 * latest Post schema gives every record the verdict of the full path, avsc's
 * strict decode of the latest version (decodeStrict: the generic scan, then
 * avsc), and of the generic check it replaced: POST_OK with the event time
 * (created_at, or the record's timestamp when created_at is not plausible),
 * POST_BLANK_ID, or POST_SLOW. A seeded random differential test: valid posts
 * (Unicode, blank and space-only ids, maps and arrays in several blocks, with
 * byte sizes, non-minimal varints, times at the edges of the plausible range
 * and of avsc's exact longs), then truncated, bit-flipped, with invalid UTF-8,
 * older schema versions, extra bytes; several records packed in one buffer as
 * the sink packs them; the records as consumed (each its own buffer) and as
 * kafkajs hands them over (views into one buffer: mentionflow's addon scans
 * those in C where it is built, schemas/native/postscan.c, compared here on its
 * own too). MENTIONFLOW_TEST_SEED=N repeats one seed.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { describe, it } from 'node:test';
import { DecodeError } from '../../common/errors.js';
import { checkPost, checkRecords, fastPostScan, genericCheck, plausibleTime, POST_BLANK_ID, POST_OK, POST_SLOW } from '../../schemas/postScan.js';
import { nativeAddon, nativeAddonStatus } from '../../schemas/nativeAddon.js';
import { decodeStrict, encodeStrict, loadSchema } from '../../schemas/registry.js';
import type { Post } from '../../schemas/types.generated.js';

const v2 = loadSchema('post', 2);
const v1 = loadSchema('post', 1);

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random Avro binary Post records, mostly well formed, written byte by byte (so varints, blocks and strings can be odd). */
class Gen {
  constructor(readonly rnd: () => number) {}
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }

  /** A zig-zag varint of `v`, sometimes padded with continuation bytes (non-minimal, up to 10 bytes: over 7 the sink's scan leaves it to the generic one). */
  varint(v: bigint): number[] {
    let n = v >= 0n ? v * 2n : -v * 2n - 1n;
    const out: number[] = [];
    do {
      out.push(Number(n & 0x7fn));
      n >>= 7n;
    } while (n > 0n);
    if (this.chance(0.03)) {
      const pad = 1 + this.int(9 - Math.min(out.length, 8));
      for (let i = 0; i < pad; i++) out.push(0);
    }
    for (let i = 0; i < out.length - 1; i++) out[i] |= 0x80;
    return out;
  }

  text(): Buffer {
    const pieces = ['a', 'Z', '7', '#', ' ', '\t', '\n', '\r', '\v', '\f', '\u3000', '\u00a0', '\u2003', '\ufeff', '\u1680', '\u0085', '\u200b', '中', '国', '😀', '北京', 'é', '__proto__', 'x'.repeat(300), '北'.repeat(100)];
    let s = '';
    const n = this.chance(0.2) ? 0 : this.int(6);
    for (let i = 0; i < n; i++) s += this.pick(pieces);
    const b = Buffer.from(s, 'utf8');
    if (!this.chance(0.04)) return b;
    // invalid UTF-8: stray continuation, overlong, surrogate, above U+10FFFF, cut sequence, 0xff
    const bad = this.pick([[0x80], [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xe4, 0xb8], [0xf0, 0x9f, 0x98], [0xff], [0xc3]]);
    const at = this.int(b.length + 1);
    return Buffer.concat([b.subarray(0, at), Buffer.from(bad), b.subarray(at)]);
  }

  string(b: Buffer = this.text()): number[] {
    return [...this.varint(BigInt(b.length)), ...b];
  }

  id(): Buffer {
    return this.chance(0.15) ? Buffer.from(this.pick(['', ' ', '\t\n', '\r', '\v\f', '\u3000', ' \u00a0 ', '\ufeff', '\u200b', '\u0085', ' x ']), 'utf8') : Buffer.from(`p${this.int(1e6)}`);
  }

  createdAt(): bigint {
    return this.pick([
      () => BigInt(1_714_550_400_000 + this.int(1e9)),
      () => 0n,
      () => -1n,
      () => BigInt(-this.int(1e12)),
      () => 253_402_300_799_999n,
      () => 253_402_300_800_000n,
      () => 2n ** 47n - 1n,
      () => 2n ** 47n,
      () => 2n ** 52n,
      () => 2n ** 53n - 2n,
      () => 2n ** 53n - 1n, // beyond avsc's exact longs: not a Post for the scan
      () => -(2n ** 52n),
      () => -(2n ** 52n) - 1n,
    ])();
  }

  /** Items of a map or array in blocks: [count, (size), items...]... 0, sometimes with a negative count and byte size. */
  blocks(items: number[][]): number[] {
    const out: number[] = [];
    let i = 0;
    while (i < items.length) {
      const n = 1 + this.int(items.length - i);
      const body = items.slice(i, i + n).flat();
      if (this.chance(0.3)) {
        const size = this.chance(0.05) ? this.pick([body.length - 1, body.length + 1, -1 - this.int(3)]) : body.length;
        out.push(...this.varint(BigInt(-n)), ...this.varint(BigInt(size)), ...body);
      } else {
        out.push(...this.varint(BigInt(n)), ...body);
      }
      i += n;
    }
    out.push(0);
    return out;
  }

  /** A union branch index (varint, sometimes padded past the 5 bytes of an int, rarely out of range). */
  branch(index: number): number[] {
    return this.varint(BigInt(this.chance(0.02) ? this.pick([-1, 2, 3]) : index));
  }

  optional(): number[] {
    return this.chance(0.5) ? this.branch(0) : [...this.branch(1), ...this.string()];
  }

  /** A Post: v2 most of the time, or v1 (no topic_tags, no geo). */
  post(version: 1 | 2): Buffer {
    const out: number[] = [...this.string(this.id()), ...this.string(), ...this.string(), ...this.varint(this.createdAt()), ...this.string(), ...this.optional(), ...this.optional()];
    const attrs: number[][] = [];
    for (let i = this.chance(0.6) ? 0 : this.int(4); i > 0; i--) attrs.push([...this.string(this.chance(0.02) ? Buffer.from('__proto__') : this.text()), ...this.string()]);
    out.push(...this.blocks(attrs));
    if (version === 2) {
      const tags: number[][] = [];
      for (let i = this.chance(0.6) ? 0 : this.int(4); i > 0; i--) tags.push(this.string());
      out.push(...this.blocks(tags));
      if (this.chance(0.6)) out.push(...this.branch(0));
      else out.push(...this.branch(1), ...Array.from({ length: 16 }, () => this.int(256)), ...this.optional());
    }
    return Buffer.from(out);
  }

  /** A record as the sink may see it: a post, then perhaps damaged. */
  record(): Buffer {
    const r = this.rnd();
    if (r < 0.02) return Buffer.alloc(0);
    if (r < 0.04) return Buffer.from(Array.from({ length: this.int(40) }, () => this.int(256)));
    const b = this.post(this.chance(0.1) ? 1 : 2);
    const m = this.rnd();
    if (m < 0.5) return b; // as written
    if (m < 0.65) return b.subarray(0, this.int(b.length)); // truncated
    if (m < 0.8) {
      const c = Buffer.from(b); // bits flipped
      for (let i = 1 + this.int(3); i > 0; i--) c[this.int(c.length)] ^= 1 << this.int(8);
      return c;
    }
    if (m < 0.9) return Buffer.concat([b, Buffer.from(Array.from({ length: 1 + this.int(4) }, () => this.int(256)))]); // extra bytes
    const c = Buffer.from(b); // a byte replaced
    c[this.int(c.length)] = this.int(256);
    return c;
  }
}

/** The full path's verdict: avsc's strict decode of the latest version, then the id and the time. */
function fullVerdict(value: Buffer, timestamp: number): [number, number | undefined] {
  let post: Post;
  try {
    post = decodeStrict<Post>(v2, value);
  } catch (err) {
    if (err instanceof DecodeError) return [POST_SLOW, undefined];
    throw err;
  }
  if (post.id.trim() === '') return [POST_BLANK_ID, undefined];
  return [POST_OK, plausibleTime(post.created_at) ? post.created_at : timestamp];
}

const addon = nativeAddon();
/** postscan.c's own verdicts over a run (0 ok, 1 slow, 2 blank, 3 ask trim, 255 unsure). */
let nativeSeen: Record<number, number> = {};

function run(seed: number, records: number): Record<number, number> {
  const g = new Gen(mulberry32(seed));
  const seen: Record<number, number> = { [POST_OK]: 0, [POST_BLANK_ID]: 0, [POST_SLOW]: 0 };
  for (let done = 0; done < records; ) {
    const values = Array.from({ length: 1 + g.int(8) }, () => g.record());
    const stamps = Float64Array.from(values, () => 1_700_000_000_000 + g.int(1e6));
    const data = Buffer.concat(values);
    const ends = new Uint32Array(values.length);
    values.reduce((at, v, i) => (ends[i] = at + v.length), 0);
    // the records as consumed (each its own buffer, the timestamp a decimal string), as the sink checks them
    const consumed = values.map((v, i) => ({ value: Buffer.from(v), timestamp: String(stamps[i]) }));
    const statusEach = new Uint8Array(values.length);
    const timesEach = new Float64Array(values.length);
    checkRecords(consumed, statusEach, timesEach);
    // as kafkajs hands them over: views into one response buffer (postscan.c's path where the addon is built), and the TypeScript path
    const viewed = values.map((_, i) => ({ value: data.subarray(i === 0 ? 0 : ends[i - 1], ends[i]), timestamp: String(stamps[i]) }));
    const statusViews = new Uint8Array(values.length);
    const timesViews = new Float64Array(values.length);
    checkRecords(viewed, statusViews, timesViews);
    const statusTs = new Uint8Array(values.length);
    const timesTs = new Float64Array(values.length);
    checkRecords(viewed, statusTs, timesTs, 'ts');
    // postscan.c alone: its own verdict (before the TypeScript path settles 3 and 255)
    const starts = Uint32Array.from(viewed, (r) => r.value.byteOffset);
    const raw = new Uint8Array(values.length);
    const created = new Float64Array(values.length);
    addon?.checkPosts(data.buffer as ArrayBuffer, starts, Uint32Array.from(viewed, (r) => r.value.byteOffset + r.value.length), raw, created);
    values.forEach((v, i) => {
      const where = `seed ${seed}, record ${done + i} (${v.toString('hex')})`;
      const expected = fullVerdict(Buffer.from(v), stamps[i]);
      assert.deepEqual([statusEach[i], statusEach[i] === POST_OK ? timesEach[i] : undefined], expected, `as consumed: ${where}`);
      assert.deepEqual([statusViews[i], statusViews[i] === POST_OK ? timesViews[i] : undefined], expected, `views into one buffer: ${where}`);
      assert.deepEqual([statusTs[i], statusTs[i] === POST_OK ? timesTs[i] : undefined], expected, `views, TypeScript path: ${where}`);
      if (addon !== null) {
        const r = raw[i];
        nativeSeen[r] = (nativeSeen[r] ?? 0) + 1;
        if (r === 3) assert.ok(expected[0] === POST_OK || expected[0] === POST_BLANK_ID, `postscan.c asked trim of a record that is not whole: ${where}`);
        else if (r !== 255) {
          assert.equal(r, expected[0], `postscan.c: ${where}`);
          if (r === POST_OK) assert.equal(plausibleTime(created[i]) ? created[i] : stamps[i], expected[1], `postscan.c's created_at: ${where}`);
        }
      }
      const one = checkPost(Buffer.from(v), stamps[i]);
      assert.deepEqual([one.status, one.status === POST_OK ? one.eventTime : undefined], expected, `alone: ${where}`);
      const start = i === 0 ? 0 : ends[i - 1];
      assert.equal(genericCheck(v2, data, start, ends[i]), expected[0], `generic: ${where}`);
      seen[expected[0]]++;
    });
    done += values.length;
  }
  return seen;
}

describe('checkRecords and checkPost (the archive sink Post check)', () => {
  it('serves the latest Post schema with the scan written for it', () => {
    assert.equal(fastPostScan(), true, 'the latest Post schema changed: write the scan of schemas/postScan.ts for it');
  });

  it('gives every random, damaged or packed record the verdict of avsc strict decoding', (t) => {
    const fixed = process.env.MENTIONFLOW_TEST_SEED;
    const seeds = fixed !== undefined ? [Number(fixed)] : [1, 2, 3, (Date.now() % 1e6) + 4];
    for (const seed of seeds) {
      t.diagnostic(`seed ${seed} (repeat with MENTIONFLOW_TEST_SEED=${seed})`);
      nativeSeen = {};
      const seen = run(seed, 6000);
      t.diagnostic(`seed ${seed}: ${seen[POST_OK]} ok, ${seen[POST_BLANK_ID]} blank id, ${seen[POST_SLOW]} slow; postscan.c ${addon === null ? `not built (${nativeAddonStatus().reason})` : JSON.stringify(nativeSeen)}`);
      // postscan.c decides many records of each kind itself (this generator writes many varints over
      // 7 bytes, which it leaves to the generic scan: 255; the known cases below check plain posts)
      if (addon !== null) assert.ok((nativeSeen[0] ?? 0) > 500 && (nativeSeen[1] ?? 0) > 1000 && (nativeSeen[2] ?? 0) > 20, JSON.stringify(nativeSeen));
      // Each verdict is met often enough for the comparison to mean something.
      assert.ok(seen[POST_OK] > 1000 && seen[POST_BLANK_ID] > 100 && seen[POST_SLOW] > 1000, JSON.stringify(seen));
    }
  });

  it("postscan.c's UTF-8 check, by Node's simdutf (16 bytes and up) and by its own scan, agrees with node:buffer's isUtf8 on random, damaged and cut strings", { skip: addon === null ? `postscan.c not built (${nativeAddonStatus().reason})` : false }, (t) => {
    const a = addon as NonNullable<typeof addon>;
    t.diagnostic(`long strings: ${a.utf8Engine()}`);
    const g = new Gen(mulberry32(17));
    let invalid = 0;
    for (let k = 0; k < 20_000; k++) {
      // the generator's texts (valid, or with one bad sequence), cut anywhere, or bytes at random
      let b = k % 5 === 0 ? Buffer.from(Array.from({ length: g.int(80) }, () => g.pick([0x41, 0x80, 0xbf, 0xc2, 0xdf, 0xe0, 0xe4, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x90, 0xb8]))) : g.text();
      if (g.chance(0.2)) b = b.subarray(0, g.int(b.length + 1));
      const expected = isUtf8(b);
      if (!expected) invalid++;
      assert.equal(a.utf8Check(b, false), expected, `checkPosts' check of ${b.toString('hex')}`);
      assert.equal(a.utf8Check(b, true), expected, `the scalar check of ${b.toString('hex')}`);
    }
    assert.ok(invalid > 2000, `${invalid} invalid strings of 20,000`);
    assert.throws(() => a.utf8Check('text' as never, false), TypeError);
  });

  it('known cases: event time, implausible created_at, blank ids, v1, truncation, empty', () => {
    const post = (id: string, createdAt: number) => ({ id, text: '今天在北京😀', author_id: 'u1', created_at: createdAt, source: 'weibo', lang: null, reply_to: null, attributes: { client: '微博' }, topic_tags: ['话题'], geo: { lat: 31.2, lon: 121.4, place: '上海' } });
    const good = encodeStrict(v2, post('a', 1_714_550_400_123));
    const cases: Array<[Buffer, number, number, number | undefined]> = [
      [good, 5, POST_OK, 1_714_550_400_123],
      [encodeStrict(v2, post('late', -5)), 1_700_000_000_000, POST_OK, 1_700_000_000_000],
      [encodeStrict(v2, post('\u3000', 1)), 0, POST_BLANK_ID, undefined],
      [encodeStrict(v2, post(' \t', 1)), 0, POST_BLANK_ID, undefined],
      [encodeStrict(v1, { id: 'old', text: '你好', author_id: 'a', created_at: 1, source: 'weibo', lang: null, reply_to: null, attributes: {} }), 0, POST_SLOW, undefined],
      [good.subarray(0, good.length - 3), 0, POST_SLOW, undefined],
      [Buffer.alloc(0), 0, POST_SLOW, undefined],
      [encodeStrict(v2, post('中', 253_402_300_799_999)), 9, POST_OK, 253_402_300_799_999],
    ];
    // in one buffer, with a null value and a value of another buffer among them, as checkRecords gets them
    const packed = Buffer.concat(cases.map(([value]) => value));
    let at = 0;
    const records = cases.map(([value, stamp]) => ({ value: packed.subarray(at, (at += value.length)), timestamp: String(stamp) }));
    const mixed = [...records, { value: null, timestamp: '0' }, { value: Buffer.from(good), timestamp: '5' }];
    const expected = [...cases.map(([, , status, time]) => [status, time]), [POST_SLOW, undefined], [POST_OK, 1_714_550_400_123]];
    for (const engine of ['native', 'ts'] as const) {
      const status = new Uint8Array(mixed.length);
      const times = new Float64Array(mixed.length);
      checkRecords(mixed, status, times, engine);
      assert.deepEqual(Array.from(status, (st, i) => [st, st === POST_OK ? times[i] : undefined]), expected, engine);
    }
    if (addon !== null) {
      // postscan.c itself decides plain posts: ok with created_at, blank ASCII ids; an id of bytes >= 0x80 and ASCII whitespace only (U+3000, 中) is left to trim (3)
      const raw = new Uint8Array(records.length);
      const created = new Float64Array(records.length);
      addon.checkPosts(packed.buffer as ArrayBuffer, Uint32Array.from(records, (r) => r.value.byteOffset), Uint32Array.from(records, (r) => r.value.byteOffset + r.value.length), raw, created);
      assert.deepEqual(Array.from(raw), [0, 0, 3, 2, 1, 1, 1, 3]);
      assert.equal(created[0], 1_714_550_400_123);
      assert.equal(created[7], 253_402_300_799_999);
      // bad arguments are TypeErrors or RangeErrors, never a read out of bounds
      const ab = packed.buffer as ArrayBuffer;
      assert.throws(() => addon.checkPosts(packed as never, new Uint32Array(1), new Uint32Array(1), new Uint8Array(1), new Float64Array(1)), TypeError);
      assert.throws(() => addon.checkPosts(ab, new Int32Array(1) as never, new Uint32Array(1), new Uint8Array(1), new Float64Array(1)), TypeError);
      assert.throws(() => addon.checkPosts(ab, new Uint32Array(2), new Uint32Array(2), new Uint8Array(1), new Float64Array(2)), RangeError);
      const out = new Uint8Array(2);
      addon.checkPosts(ab, Uint32Array.of(ab.byteLength - 2, 5), Uint32Array.of(ab.byteLength + 10, 4), out, new Float64Array(2));
      assert.deepEqual(Array.from(out), [1, 1], 'a range past the buffer, or backwards, is not a Post');
      // the one-record entry gives the same verdicts and created_at, and refuses what is not a Uint8Array and a Float64Array
      const one = new Float64Array(1);
      records.forEach((r, i) => {
        assert.equal(addon.checkPost(r.value, one), raw[i], `checkPost, case ${i}`);
        if (raw[i] === 0 || raw[i] === 3) assert.equal(one[0], created[i], `checkPost's created_at, case ${i}`);
      });
      assert.throws(() => addon.checkPost(ab as never, one), TypeError);
      assert.throws(() => addon.checkPost(packed, new Float64Array(0)), TypeError);
      assert.throws(() => addon.checkPost(packed, new Float32Array(1) as never), TypeError);
    }
    for (const [value, stamp, status, time] of cases) {
      const one = checkPost(value, stamp);
      assert.deepEqual([one.status, one.status === POST_OK ? one.eventTime : undefined], [status, time], value.toString('hex'));
      assert.deepEqual(fullVerdict(value, stamp), [status, time]);
    }
  });
});
