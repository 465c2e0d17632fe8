/**
 * Seeded fuzz payloads for the input side of the worker: what a production
 * day can put on the posts topic. Every case is a Kafka record (key, value)
 * plus the kind of payload it was made as; whether it is a good post is NOT
 * taken from the generator but decided by an oracle (avroReference.ts), so a
 * mutation that happens to stay valid is judged like any other payload.
 *
 * Kinds (weights in KIND_WEIGHTS): random bytes (0 .. 4 KiB, skewed short),
 * valid posts of both schema versions with texts of TEXT_KIND_WEIGHTS (empty,
 * whitespace, NUL bytes, emoji/astral, RTL and bidi controls, noncharacters,
 * combining marks, long), valid records truncated at a random byte, valid
 * records with 1-4 byte edits (set, bit flip, insert, delete), records of
 * the other schemas (mentions, dead letter, example), invalid UTF-8 inside
 * an Avro string (lone continuation bytes, overlong forms, CESU-8 / WTF-8
 * encoded surrogates, cut sequences, 0xFF), lone surrogates written as
 * avsc writes them (U+FFFD) or as WTF-8, negative / huge / overlong length
 * prefixes, trailing bytes, array and map blocks with huge or negative
 * counts and wrong block sizes, longs outside the exact range, union
 * indexes out of range, a "__proto__" attribute key, empty and whitespace
 * ids, null values (tombstones), and huge texts at chosen positions.
 *
 * Framing follows the worker's `inputWire`: with 'raw' the posts are raw Avro
 * bodies and 10% carry a Confluent header anyway; with 'confluent' it is the
 * other way round; with 'auto' half and half. Keys are the post id (as
 * `mentionflow produce` writes), null, random bytes or "k-<i>".
 *
 * Everything derives from the seed (models/rng.ts, mulberry32): the same
 * seed and options give the same bytes, so a failing case is reproduced by
 * its seed and index.
 */
import { Rng } from '../../models/rng.js';
import { encodeStrict, frameConfluent, loadSchema, type WireFormat } from '../../schemas/registry.js';

export interface FuzzCase {
  /** Position in the generated sequence. */
  index: number;
  /** How the payload was made (for diagnostics and the per-kind counts). */
  kind: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface FuzzOptions {
  seed: number;
  /** The worker's inputWire the posts are framed for (default 'raw'). */
  wire?: WireFormat;
  /** Huge texts: at case `at`, a valid post whose text has `chars` code points. */
  huge?: ReadonlyArray<{ at: number; chars: number }>;
  /** Longest text of the 'long' text kind, in code points (default 3,000). */
  maxLongChars?: number;
  /** Whether tombstones (null values) are generated (default true). */
  nullValues?: boolean;
}

/** Relative weights of the payload kinds. */
export const KIND_WEIGHTS: Readonly<Record<string, number>> = {
  'random-bytes': 12,
  'post-v2': 22,
  'post-v1': 10,
  truncated: 10,
  mutated: 12,
  'other-schema': 5,
  'invalid-utf8': 5,
  'lone-surrogate': 3,
  'bad-length': 4,
  trailing: 4,
  'bad-blocks': 4,
  'long-range': 2,
  'bad-union': 2,
  'proto-key': 1,
  'blank-id': 2,
  'null-value': 1,
  'empty-value': 1,
};

/** Written for these tests (not corpus text): everyday words and entity names the tagger knows. */
const WORDS = [
  '今天', '明天', '我们', '他说', '北京', '上海', '深圳', '杭州', '广州', '马云', '小王', '老李', '阿里巴巴', '腾讯',
  '外滩', '长江', '那位老板', '发布会', '下雨了', '很好吃', '散步', '学校', '公司', '见到了', '开会', '回家', '的', '了',
  '，', '。', '！', '？', '、', ' ', '#', '@', 'http://t.cn/abc', 'NBA', '2024年', '😀', '𠮷野家',
];
/** Characters that tend to break text handling. */
const SPECIALS = [
  '\u0000', '\u0001', '\u001f', '\u007f', '\u0085', '\u00a0', '\u200b', '\u200c', '\u200d', '\u200e', '\u200f',
  '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u2028', '\u2029',
  '\ufeff', '\ufffd', '\ufffe', '\uffff', '\ue000', '\u3000', '\u0301', '\u0308', '\r\n', '\t', '\n',
  'Ｎ', 'Ｂ', 'Ａ', '！', '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}', '\u{1f1e8}\u{1f1f3}', '\u{1f44d}\u{1f3fd}',
  '\u{20bb7}', '\u{2a6d6}', '\u{10ffff}', '\u{f0000}', '\u{1d11e}', 'مرحبا', 'שלום', 'é', 'e\u0301',
];

/** Relative weights of the texts of valid posts ('long': 1,000 .. maxLongChars code points, the costly ones to tag). */
export const TEXT_KIND_WEIGHTS = { normal: 60, empty: 5, whitespace: 4, nul: 7, specials: 8, astral: 6, rtl: 7, long: 3 } as const;
type TextKind = keyof typeof TEXT_KIND_WEIGHTS;

/** Zig-zag varint of a (possibly > 2^53) integer, optionally padded to `minBytes` (an overlong but legal encoding). */
export function zigzag(n: bigint | number, minBytes = 1): Buffer {
  const v = BigInt(n);
  let z = v >= 0n ? v << 1n : ((-v) << 1n) - 1n;
  const out: number[] = [];
  do {
    const b = Number(z & 0x7fn);
    z >>= 7n;
    out.push(b);
  } while (z > 0n);
  while (out.length < minBytes) out.push(0);
  for (let i = 0; i < out.length - 1; i++) out[i] |= 0x80;
  return Buffer.from(out);
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
const lenPrefixed = (b: Buffer): Buffer => Buffer.concat([zigzag(b.length), b]);

/** The fields of a Post as raw byte strings, so a case can put any bytes (or length) in any of them. */
interface PostParts {
  id: Buffer;
  text: Buffer;
  author: Buffer;
  createdAt: Buffer;
  source: Buffer;
  lang: Buffer;
  replyTo: Buffer;
  attributes: Buffer;
  /** v2 only (undefined: a v1 record). */
  topicTags?: Buffer;
  geo?: Buffer;
}

function assemble(p: PostParts): Buffer {
  const v1 = [p.id, p.text, p.author, p.createdAt, p.source, p.lang, p.replyTo, p.attributes];
  return Buffer.concat(p.topicTags === undefined ? v1 : [...v1, p.topicTags, p.geo ?? Buffer.from([0])]);
}

export class FuzzPayloads {
  private readonly rng: Rng;
  private readonly wire: WireFormat;
  private readonly huge: Map<number, number>;
  private readonly maxLongChars: number;
  private readonly nullValues: boolean;
  private readonly kinds: string[];
  private readonly cumulative: number[];
  private index = 0;

  constructor(opts: FuzzOptions) {
    this.rng = new Rng(opts.seed);
    this.wire = opts.wire ?? 'raw';
    this.huge = new Map((opts.huge ?? []).map((h) => [h.at, h.chars]));
    this.maxLongChars = opts.maxLongChars ?? 3_000;
    this.nullValues = opts.nullValues ?? true;
    this.kinds = Object.keys(KIND_WEIGHTS).filter((k) => this.nullValues || k !== 'null-value');
    let acc = 0;
    this.cumulative = this.kinds.map((k) => (acc += KIND_WEIGHTS[k]));
  }

  /** The next `n` cases. */
  take(n: number): FuzzCase[] {
    const out: FuzzCase[] = [];
    for (let i = 0; i < n; i++) out.push(this.next());
    return out;
  }

  next(): FuzzCase {
    const index = this.index++;
    const hugeChars = this.huge.get(index);
    if (hugeChars !== undefined) {
      const id = `huge-${index}`;
      const value = this.frame(this.encodeValid(id, this.hugeText(hugeChars), this.rng.next() < 0.5 ? 1 : 2));
      return { index, kind: `huge-text-${hugeChars}`, key: utf8(id), value };
    }
    const kind = this.pickKind();
    const { value, id } = this.make(kind, index);
    return { index, kind, key: this.key(index, id), value };
  }

  // ---------------------------------------------------------------- helpers

  private int(n: number): number {
    return this.rng.int(n);
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  private chance(p: number): boolean {
    return this.rng.next() < p;
  }

  private pickKind(): string {
    const r = this.rng.next() * this.cumulative[this.cumulative.length - 1];
    const i = this.cumulative.findIndex((c) => r < c);
    return this.kinds[i];
  }

  private bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  /** Mostly short, sometimes up to 4 KiB. */
  private randomLength(): number {
    const r = this.rng.next();
    if (r < 0.05) return 0;
    if (r < 0.6) return 1 + this.int(32);
    if (r < 0.9) return 1 + this.int(512);
    return 1 + this.int(4096);
  }

  private key(index: number, id: string | undefined): Buffer | null {
    const r = this.rng.next();
    if (id !== undefined && r < 0.7) return utf8(id);
    if (r < 0.8) return null;
    if (r < 0.9) return this.bytes(this.int(40));
    return utf8(`k-${index}`);
  }

  /** Frames a body the way this wire mostly sees it (10% the other way; half and half for 'auto'). */
  private frame(body: Buffer): Buffer {
    const framed = this.wire === 'auto' ? this.chance(0.5) : this.wire === 'confluent' ? this.chance(0.9) : this.chance(0.1);
    return framed ? frameConfluent(this.int(3) === 0 ? 0 : 1 + this.int(1000), body) : body;
  }

  // ---------------------------------------------------------------- texts

  private words(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += this.pick(WORDS);
    return s;
  }

  private textKind(): TextKind {
    const kinds = Object.keys(TEXT_KIND_WEIGHTS) as TextKind[];
    let r = this.rng.next() * kinds.reduce((n, k) => n + TEXT_KIND_WEIGHTS[k], 0);
    for (const k of kinds) {
      r -= TEXT_KIND_WEIGHTS[k];
      if (r < 0) return k;
    }
    return 'normal';
  }

  private text(kind: TextKind = this.textKind()): string {
    switch (kind) {
      case 'normal':
        return this.words(1 + this.int(40));
      case 'empty':
        return '';
      case 'whitespace':
        return this.pick([' ', '   ', '\n', '\t\r\n', '\u3000', '\u00a0\u2028']);
      case 'nul':
        return this.chance(0.3) ? '\u0000'.repeat(1 + this.int(20)) : this.mixIn(this.words(2 + this.int(20)), ['\u0000']);
      case 'specials':
        return this.mixIn(this.words(1 + this.int(20)), SPECIALS);
      case 'astral':
        return this.mixIn(this.words(1 + this.int(10)), ['\u{20bb7}', '\u{1f600}', '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}', '\u{10ffff}', '\u{2a6d6}']);
      case 'rtl':
        return this.mixIn(this.words(1 + this.int(15)), ['\u200f', '\u202e', '\u202b', '\u2067', 'مرحبا', 'שלום', '\u202c', '\u2069']);
      case 'long': {
        const chars = 1_000 + this.int(Math.max(1, this.maxLongChars - 1_000));
        return this.lengthText(chars);
      }
    }
  }

  /** `count` code points of words (with an emoji or two), cut at exactly `count`. */
  private lengthText(count: number): string {
    const parts: string[] = [];
    let n = 0;
    while (n < count) {
      const w = this.pick(WORDS);
      parts.push(w);
      n += [...w].length;
    }
    return [...parts.join('')].slice(0, count).join('');
  }

  /** A huge text: a repeated block of words and specials, `count` code points. */
  private hugeText(count: number): string {
    const block = [...this.lengthText(2_000) + this.mixIn('', SPECIALS.filter((s) => s !== '\u0000'))];
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(block[i % block.length]);
    return out.join('');
  }

  private mixIn(base: string, extras: readonly string[]): string {
    const cps = [...base];
    const n = 1 + this.int(6);
    for (let i = 0; i < n; i++) cps.splice(this.int(cps.length + 1), 0, this.pick(extras));
    return cps.join('');
  }

  private id(index: number): string {
    const r = this.rng.next();
    if (r < 0.8) return `p-${index}`;
    if (r < 0.9) return `${index}-${this.pick(['微博', '😀', 'id with spaces', '\u200f', '\u0000x', 'é'])}`;
    return `${index}-${'x'.repeat(this.int(300))}`;
  }

  // ---------------------------------------------------------------- posts

  /** A valid post as a plain value of schema version `version`. */
  private postValue(id: string, text: string, version: 1 | 2): Record<string, unknown> {
    const v1: Record<string, unknown> = {
      id,
      text,
      author_id: `u${this.int(1000)}`,
      created_at: this.pick([0, 1_700_000_000_000 + this.int(1e9), -1, 2 ** 52, -(2 ** 52), 2 ** 53 - 2]),
      source: this.pick(['weibo', 'douyin', '']),
      lang: this.pick([null, 'zh-Hans', 'en', '']),
      reply_to: this.chance(0.2) ? `p-${this.int(1000)}` : null,
      attributes: this.chance(0.3) ? { client: this.pick(['iPhone', '微博 weibo.com', '']), '': 'empty key', '😀': '\u0000' } : {},
    };
    if (version === 1) return v1;
    return {
      ...v1,
      topic_tags: this.chance(0.3) ? [this.words(2), '', '#'] : [],
      geo: this.chance(0.3) ? { lat: this.pick([31.2, -90, 90, NaN, -0]), lon: this.pick([121.5, 180, -180, Infinity]), place: this.chance(0.5) ? '上海·徐汇区' : null } : null,
    };
  }

  private encodeValid(id: string, text: string, version: 1 | 2): Buffer {
    return encodeStrict(loadSchema('post', version), this.postValue(id, text, version));
  }

  /** A valid Post body (either version) and its id. */
  private validBody(index: number): { body: Buffer; id: string } {
    const id = this.id(index);
    return { body: this.encodeValid(id, this.text(), this.chance(0.6) ? 2 : 1), id };
  }

  /** The parts of a valid post, for the cases that put bad bytes into one field. */
  private parts(index: number, version: 1 | 2): PostParts {
    const id = `p-${index}`;
    const parts: PostParts = {
      id: lenPrefixed(utf8(id)),
      text: lenPrefixed(utf8(this.words(1 + this.int(20)))),
      author: lenPrefixed(utf8('u1')),
      createdAt: zigzag(1_700_000_000_000),
      source: lenPrefixed(utf8('weibo')),
      lang: Buffer.concat([zigzag(1), lenPrefixed(utf8('zh-Hans'))]),
      replyTo: zigzag(0),
      attributes: zigzag(0),
    };
    if (version === 2) {
      parts.topicTags = zigzag(0);
      parts.geo = zigzag(0);
    }
    return parts;
  }

  // ---------------------------------------------------------------- kinds

  private make(kind: string, index: number): { value: Buffer | null; id?: string } {
    switch (kind) {
      case 'random-bytes':
        return { value: this.bytes(this.randomLength()) };
      case 'post-v2':
      case 'post-v1': {
        const id = this.id(index);
        const text = this.text();
        return { value: this.frame(this.encodeValid(id, text, kind === 'post-v2' ? 2 : 1)), id };
      }
      case 'truncated': {
        const { body, id } = this.validBody(index);
        const framed = this.frame(body);
        return { value: framed.subarray(0, this.int(framed.length)), id };
      }
      case 'mutated': {
        const { body, id } = this.validBody(index);
        return { value: this.mutate(this.frame(body)), id };
      }
      case 'other-schema':
        return { value: this.frame(this.otherSchema(index)) };
      case 'invalid-utf8':
        return this.invalidUtf8(index);
      case 'lone-surrogate':
        return this.loneSurrogate(index);
      case 'bad-length':
        return { value: this.frame(this.badLength(index)) };
      case 'trailing': {
        const { body, id } = this.validBody(index);
        const extra = this.chance(0.5) ? this.bytes(1 + this.int(16)) : this.validBody(index).body;
        return { value: this.frame(Buffer.concat([body, extra])), id };
      }
      case 'bad-blocks':
        return { value: this.frame(this.badBlocks(index)) };
      case 'long-range': {
        const p = this.parts(index, this.chance(0.5) ? 2 : 1);
        p.createdAt = zigzag(this.pick([2n ** 53n - 1n, 2n ** 53n, -(2n ** 52n) - 1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 70n]));
        return { value: this.frame(assemble(p)), id: `p-${index}` };
      }
      case 'bad-union': {
        const p = this.parts(index, 2);
        const bad = zigzag(this.pick([2, -1, 3, 1000]));
        if (this.chance(0.5)) p.lang = bad;
        else p.geo = bad;
        return { value: this.frame(assemble(p)), id: `p-${index}` };
      }
      case 'proto-key': {
        const p = this.parts(index, this.chance(0.5) ? 2 : 1);
        p.attributes = Buffer.concat([zigzag(1), lenPrefixed(utf8('__proto__')), lenPrefixed(utf8('x')), zigzag(0)]);
        return { value: this.frame(assemble(p)), id: `p-${index}` };
      }
      case 'blank-id': {
        const id = this.pick(['', ' ', '\t\n', '\u3000', '\ufeff', '\u00a0 ']);
        return { value: this.frame(this.encodeValid(id, this.words(3), 2)), id };
      }
      case 'null-value':
        return { value: null };
      case 'empty-value':
        return { value: Buffer.alloc(0) };
      default:
        throw new Error(`unknown fuzz kind ${kind}`);
    }
  }

  private mutate(input: Buffer): Buffer {
    const bytes = [...input];
    const edits = 1 + this.int(4);
    for (let e = 0; e < edits; e++) {
      const at = bytes.length === 0 ? 0 : this.int(bytes.length);
      switch (this.int(4)) {
        case 0:
          if (bytes.length > 0) bytes[at] = this.int(256);
          break;
        case 1:
          if (bytes.length > 0) bytes[at] ^= 1 << this.int(8);
          break;
        case 2:
          bytes.splice(at, 0, this.int(256));
          break;
        default:
          bytes.splice(at, 1);
      }
    }
    return Buffer.from(bytes);
  }

  private otherSchema(index: number): Buffer {
    switch (this.int(3)) {
      case 0:
        return encodeStrict(loadSchema('mentions'), {
          post_id: `p-${index}`,
          created_at: 1_700_000_000_000,
          origin: this.chance(0.5) ? null : { topic: 'posts', partition: 0, offset: index },
          mentions: this.chance(0.5)
            ? []
            : [{ text: '北京', type: 'GPE', kind: 'NAM', start: 0, end: 2, start_utf16: 0, end_utf16: 2, confidence: 0.5 }],
          model: { id: 'm', version: '1' },
          processed_at: 1_700_000_000_001,
          latency_ms: this.chance(0.5) ? null : 1.5,
        });
      case 1:
        return encodeStrict(loadSchema('deadletter'), {
          payload: this.bytes(this.int(64)),
          key: this.chance(0.5) ? null : utf8(`k-${index}`),
          source_topic: 'posts',
          source_partition: 0,
          source_offset: index,
          stage: 'decode',
          error_class: 'DecodeError',
          error_message: 'cannot decode Post',
          failed_at: 1_700_000_000_000,
          attempts: 1,
        });
      default:
        return encodeStrict(loadSchema('example'), {
          id: `ex-${index}`,
          text: this.words(3),
          spans: this.chance(0.5) ? [] : [{ start: 0, end: 2, label: 'PER.NAM' }],
          segmentation: this.chance(0.5) ? null : [2, 4],
          source: 'weibo',
          created_at: 1_700_000_000_000,
        });
    }
  }

  /** A post whose id, text or an attribute holds bytes that are not UTF-8. */
  private invalidUtf8(index: number): { value: Buffer; id: string } {
    const bad = this.pick([
      Buffer.from([0x80]), // lone continuation byte
      Buffer.from([0xbf, 0x80]),
      Buffer.from([0xc0, 0x80]), // overlong NUL (Java's modified UTF-8)
      Buffer.from([0xe0, 0x80, 0xaf]), // overlong '/'
      Buffer.from([0xed, 0xa0, 0x80]), // CESU-8 / WTF-8 high surrogate U+D800
      Buffer.from([0xed, 0xbf, 0xbf]), // low surrogate U+DFFF
      Buffer.from([0xe5, 0x8c]), // a cut 3-byte sequence
      Buffer.from([0xf0, 0x9f, 0x98]), // a cut 4-byte sequence
      Buffer.from([0xf4, 0x90, 0x80, 0x80]), // beyond U+10FFFF
      Buffer.from([0xff]),
      Buffer.from([0xfe, 0xff]),
    ]);
    const p = this.parts(index, this.chance(0.5) ? 2 : 1);
    const text = utf8(this.words(1 + this.int(10)));
    const at = this.int(text.length + 1);
    const field = Buffer.concat([text.subarray(0, at), bad, text.subarray(at)]);
    const where = this.int(3);
    if (where === 0) p.text = lenPrefixed(field);
    else if (where === 1) p.id = lenPrefixed(Buffer.concat([utf8(`p-${index}`), bad]));
    else p.attributes = Buffer.concat([zigzag(1), lenPrefixed(bad), lenPrefixed(field), zigzag(0)]);
    return { value: this.frame(assemble(p)), id: `p-${index}` };
  }

  /**
   * A text with a lone UTF-16 surrogate, as two producers write it: avsc's
   * toBuffer (Node's UTF-8 encoder writes U+FFFD, a valid post) or WTF-8
   * (the surrogate's own 3 bytes, not UTF-8: a dead letter).
   */
  private loneSurrogate(index: number): { value: Buffer; id: string } {
    const lone = this.pick(['\ud800', '\udbff', '\udc00', '\udfff']);
    const text = `${this.words(2)}${lone}${this.words(2)}`;
    const id = `p-${index}`;
    if (this.chance(0.5)) {
      const v = this.postValue(id, text, 2);
      return { value: this.frame(loadSchema('post', 2).toBuffer(v)), id };
    }
    const p = this.parts(index, 2);
    p.text = lenPrefixed(wtf8(text));
    return { value: this.frame(assemble(p)), id };
  }

  private badLength(index: number): Buffer {
    const p = this.parts(index, this.chance(0.5) ? 2 : 1);
    const prefix = this.pick([
      zigzag(-1),
      zigzag(-(2 ** 31)),
      zigzag(2n ** 62n),
      zigzag(2n ** 63n - 1n),
      zigzag(1_000_000),
      zigzag(5, 11), // an 11-byte varint
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      zigzag(3, 4), // an overlong but legal 3: 83 80 80 00
    ]);
    const body = utf8('abc');
    const field = Buffer.concat([prefix, body]);
    if (this.chance(0.5)) p.text = field;
    else p.id = field;
    return assemble(p);
  }

  /** Array and map blocks: huge counts, negative counts with right or wrong block sizes, many blocks. */
  private badBlocks(index: number): Buffer {
    const p = this.parts(index, 2);
    const tag = lenPrefixed(utf8('话题'));
    const entry = Buffer.concat([lenPrefixed(utf8('k')), lenPrefixed(utf8('v'))]);
    const variant = this.int(7);
    const blocks = (item: Buffer, n: number, size?: number): Buffer =>
      Buffer.concat([zigzag(size === undefined ? n : -n), ...(size === undefined ? [] : [zigzag(size)]), ...Array<Buffer>(n).fill(item)]);
    let value: Buffer;
    switch (variant) {
      case 0:
        value = Buffer.concat([zigzag(50_000_000), tag, zigzag(0)]); // claims 50M items
        break;
      case 1:
        value = Buffer.concat([blocks(tag, 2, 2 * tag.length), zigzag(0)]); // negative count, right size: valid
        break;
      case 2:
        value = Buffer.concat([blocks(tag, 2, 2 * tag.length + 1 + this.int(5)), zigzag(0)]); // wrong size
        break;
      case 3:
        value = Buffer.concat([blocks(tag, 1), blocks(tag, 2), blocks(tag, 1), zigzag(0)]); // several blocks: valid
        break;
      case 4:
        value = Buffer.concat([zigzag(-3), zigzag(-1), tag, tag, tag, zigzag(0)]); // negative block size
        break;
      case 5:
        value = Buffer.concat([zigzag(2n ** 62n), tag]);
        break;
      default:
        value = Buffer.concat([blocks(tag, 3), tag]); // no terminating 0
    }
    if (this.chance(0.5)) {
      p.topicTags = value;
    } else {
      // the same shapes for the attributes map (entries instead of tags)
      p.attributes = Buffer.from(value.toString('latin1').split(tag.toString('latin1')).join(entry.toString('latin1')), 'latin1');
      if (variant === 1 || variant === 2) {
        const size = variant === 1 ? 2 * entry.length : 2 * entry.length + 1;
        p.attributes = Buffer.concat([zigzag(-2), zigzag(size), entry, entry, zigzag(0)]);
      }
    }
    return assemble(p);
  }
}

/** WTF-8: UTF-8 that also encodes lone surrogates (3 bytes each), as some producers do; not valid UTF-8. */
export function wtf8(s: string): Buffer {
  const out: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (cp >= 0xd800 && cp <= 0xdfff) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(...Buffer.from(ch, 'utf8'));
  }
  return Buffer.from(out);
}
