/**
 * The fuzz oracle: a reader of Post payloads written from the Avro 1.11
 * specification and the rules in schemas/README.md, sharing no code with
 * schemas/wire.ts (scanAvro) or avsc. It says whether the worker must accept
 * a payload and what post it holds; the fuzz tests check that the pipeline
 * agrees on every payload.
 *
 * The rules, as the worker documents them:
 * - framing: 'raw' the whole value; 'confluent' 0x00 + 4-byte id + body;
 *   'auto' the framed reading when the value starts with 0x00 and the body
 *   decodes, else the raw one;
 * - writer version: the newest version that reads every byte (v2, then v1);
 * - varints at most 10 bytes, longs within -2^52 .. 2^53-2, lengths and block
 *   sizes >= 0, a negative block count followed by the block's exact size in
 *   bytes, union indexes in range, strings strict UTF-8 (WHATWG decoder,
 *   fatal: no overlongs, no encoded surrogates, nothing above U+10FFFF),
 *   no map key "__proto__", no trailing bytes, a non-blank id.
 */
import type { WireFormat } from '../../schemas/registry.js';
import type { Post } from '../../schemas/types.generated.js';

/** A post as read: the v1 fields, and the v2 ones when written with v2. */
export type ReferencePost = Omit<Post, 'topic_tags' | 'geo'> & Partial<Pick<Post, 'topic_tags' | 'geo'>>;

export type ReferenceResult =
  | { ok: true; post: ReferencePost; version: 1 | 2; framed: boolean }
  | { ok: false; reason: string };

class Invalid extends Error {}

const MIN_LONG = -(2n ** 52n);
const MAX_LONG = 2n ** 53n - 2n;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos === this.buf.length;
  }

  long(): number {
    let z = 0n;
    for (let i = 0; ; i++) {
      if (i === 10) throw new Invalid('varint longer than 10 bytes');
      if (this.pos >= this.buf.length) throw new Invalid('truncated varint');
      const b = this.buf[this.pos++];
      z |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) break;
    }
    const v = z & 1n ? -(z >> 1n) - 1n : z >> 1n;
    if (v < MIN_LONG || v > MAX_LONG) throw new Invalid(`long ${v} out of range`);
    return Number(v);
  }

  take(n: number): Uint8Array {
    if (n < 0) throw new Invalid(`negative length ${n}`);
    if (this.pos + n > this.buf.length) throw new Invalid('truncated bytes');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    const bytes = this.take(this.long());
    try {
      return strictUtf8.decode(bytes);
    } catch {
      throw new Invalid('invalid UTF-8');
    }
  }

  double(): number {
    const b = this.take(8);
    return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
  }

  union<T>(branches: ReadonlyArray<() => T>): T {
    const i = this.long();
    if (i < 0 || i >= branches.length) throw new Invalid(`union index ${i}`);
    return branches[i]();
  }

  /** Array or map blocks: `item` is called once per item. */
  blocks(item: () => void): void {
    while (true) {
      let count = this.long();
      if (count === 0) return;
      let end: number | undefined;
      if (count < 0) {
        count = -count;
        const size = this.long();
        if (size < 0) throw new Invalid('negative block size');
        end = this.pos + size;
      }
      for (let i = 0; i < count; i++) item();
      if (end !== undefined && this.pos !== end) throw new Invalid('block size does not match its items');
    }
  }
}

function readPost(r: Reader, version: 1 | 2): ReferencePost {
  const str = () => r.string();
  const nul = () => null;
  const id = str();
  const text = str();
  const author_id = str();
  const created_at = r.long();
  const source = str();
  const lang = r.union<string | null>([nul, str]);
  const reply_to = r.union<string | null>([nul, str]);
  const attributes: Record<string, string> = {};
  r.blocks(() => {
    const k = str();
    if (k === '__proto__') throw new Invalid('map key __proto__');
    attributes[k] = str();
  });
  const post: ReferencePost = { id, text, author_id, created_at, source, lang, reply_to, attributes };
  if (version === 2) {
    const tags: string[] = [];
    r.blocks(() => tags.push(str()));
    post.topic_tags = tags;
    post.geo = r.union<ReferencePost['geo']>([nul, () => ({ lat: r.double(), lon: r.double(), place: r.union<string | null>([nul, str]) })]);
  }
  if (!r.done) throw new Invalid('trailing bytes');
  return post;
}

function tryRead(body: Uint8Array, version: 1 | 2): ReferencePost | string {
  if (body.length === 0) return 'empty body';
  try {
    return readPost(new Reader(body), version);
  } catch (err) {
    if (err instanceof Invalid) return err.message;
    throw err;
  }
}

/** Whether the worker (decodePosts with `wire`) must accept `value`, and the post it holds. */
export function referenceDecodePost(value: Uint8Array | null, wire: WireFormat): ReferenceResult {
  if (value === null) return { ok: false, reason: 'null value' };
  const hasHeader = value.length >= 5 && value[0] === 0;
  const attempts: Array<{ body: Uint8Array; framed: boolean }> = [];
  if (wire === 'confluent') {
    if (!hasHeader) return { ok: false, reason: 'no Confluent header' };
    attempts.push({ body: value.subarray(5), framed: true });
  } else {
    if (wire === 'auto' && hasHeader) attempts.push({ body: value.subarray(5), framed: true });
    attempts.push({ body: value, framed: false });
  }
  const reasons: string[] = [];
  for (const version of [2, 1] as const) {
    for (const { body, framed } of attempts) {
      const got = tryRead(body, version);
      if (typeof got === 'string') {
        reasons.push(`v${version}${framed ? ' framed' : ''}: ${got}`);
        continue;
      }
      if (got.id.trim() === '') return { ok: false, reason: 'blank id' };
      return { ok: true, post: got, version, framed };
    }
  }
  return { ok: false, reason: reasons.join('; ') };
}
