/**
 * The archive sink's check of Post records laid end to end in one buffer (its
 * packed batches): a record that is a whole latest-version Post (every byte
 * consumed, strings valid UTF-8: what scanAvro accepts) with an id that is
 * not blank gets its event time, created_at (or the record's timestamp when
 * created_at is not a plausible time); any other record is left to the
 * caller's full decode path.
 *
 * The scan is written for the latest Post schema's exact field layout (no
 * type tree walked, no closure per field): about a third of the generic
 * scanAvro's time per record. It gives the generic check's verdict on every
 * input (test/schemas/postScan.test.ts compares both with avsc's decode on
 * random and damaged records); what it does not decide itself (a varint over
 * 7 bytes, which only the generic scan reads exactly) goes to the generic
 * check. Should the latest Post schema change, every record goes to the
 * generic check until this scan is written for it (fastPostScan says which).
 *
 * The same scan is written in C too (schemas/native/postscan.c, in
 * mentionflow's addon): where the addon is built, checkRecords hands it a
 * fetched batch in one call, about 0.4x of this scan's CPU on real-text records
 * (`node dist/bench/postCheck.js --text FILE`), and postStatus (the worker's
 * decodePosts; checkPost, the archive sink's one-record path, adds the event
 * time) one record per call, which spares a worker that starts cold
 * most of this scan's warm-up (decodePosts 0.70-0.75x of its CPU over the first
 * 20,000 records, BENCHMARKS.md); the test compares the three.
 * A change of the layout is made in both scans (the test fails until it is).
 */
import { latestVersion, loadSchema, scanAvro, type Type } from './registry.js';
import { nativeAddon, type NativeAddon } from './nativeAddon.js';
import { wellFormedUtf8 } from './wire.js';

/** Status of a record after {@link checkRecords} or {@link checkPost}. */
export const POST_OK = 0;
/** Not a whole latest-version Post: the full decode path decides (older version, or not a Post). */
export const POST_SLOW = 1;
/** A latest-version Post whose id is blank: never archived. */
export const POST_BLANK_ID = 2;

const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Whether `t` (epoch ms) is a plausible event time, 1970 to 9999. */
export function plausibleTime(t: number): boolean {
  return Number.isSafeInteger(t) && t >= 0 && t <= MAX_TIME;
}

/** The layout the scan below is written for: Post v2 (avsc's canonical form). */
const LAYOUT =
  '{"name":"io.mentionflow.Post","type":"record","fields":[{"name":"id","type":"string"},{"name":"text","type":"string"},' +
  '{"name":"author_id","type":"string"},{"name":"created_at","type":"long"},{"name":"source","type":"string"},' +
  '{"name":"lang","type":["null","string"]},{"name":"reply_to","type":["null","string"]},' +
  '{"name":"attributes","type":{"type":"map","values":"string"}},{"name":"topic_tags","type":{"type":"array","items":"string"}},' +
  '{"name":"geo","type":["null",{"name":"io.mentionflow.Geo","type":"record","fields":[{"name":"lat","type":"double"},' +
  '{"name":"lon","type":"double"},{"name":"place","type":["null","string"]}]}]}]}';

let latestType: Type | undefined;
let fast = false;
function latest(): Type {
  if (latestType === undefined) {
    latestType = loadSchema('post', latestVersion('post'));
    fast = JSON.stringify(latestType.schema()) === LAYOUT;
  }
  return latestType;
}

/** postscan.c where it serves: the addon built, and the latest Post schema the layout it scans (call after latest()). */
const nativeScan = (): NativeAddon | null => (fast ? nativeAddon() : null);

/** Where checkRecords and checkPost scan by default: postscan.c (the addon built, the layout its own) or here. */
export function postCheckEngine(): 'native' | 'typescript' {
  latest();
  return nativeScan() !== null ? 'native' : 'typescript';
}

/** Whether the specialised scan serves the latest Post schema (false: every record takes the generic scan). */
export function fastPostScan(): boolean {
  latest();
  return fast;
}

/**
 * The check over records as consumed, each value its own buffer (a null value is POST_SLOW):
 * sets status[i] and, for POST_OK, times[i] (created_at, or the record's timestamp, epoch ms as a
 * decimal string, when created_at is not plausible). What the archive sink runs in eachBatch.
 *
 * `engine` 'native' (the default where mentionflow's addon is built, schemas/nativeAddon.ts):
 * the records whose values are views into the first one's ArrayBuffer (all of them, for a batch
 * as kafkajs fetched it) are scanned by postscan.c in one call, the others here; 'ts': all here.
 * The verdicts are the same (test/schemas/postScan.test.ts).
 */
export function checkRecords(
  records: ReadonlyArray<{ readonly value: Buffer | null; readonly timestamp: string }>,
  status: Uint8Array,
  times: Float64Array,
  engine: 'native' | 'ts' = 'native',
): void {
  const type = latest();
  const n = records.length;
  const native = engine === 'native' && n > 0 ? nativeScan() : null;
  const ab = records[0]?.value?.buffer;
  if (native === null || !(ab instanceof ArrayBuffer)) {
    for (let i = 0; i < n; i++) checkOne(type, records[i], i, status, times);
    return;
  }
  if (starts.length < n) {
    starts = new Uint32Array(n * 2);
    ends = new Uint32Array(n * 2);
    created = new Float64Array(n * 2);
  }
  let others = 0;
  for (let i = 0; i < n; i++) {
    const v = records[i].value;
    if (v !== null && v.buffer === ab && v.byteOffset + v.length <= 0xffffffff) {
      starts[i] = v.byteOffset;
      ends[i] = v.byteOffset + v.length;
    } else {
      starts[i] = 0;
      ends[i] = 0;
      others++;
    }
  }
  native.checkPosts(ab, starts.subarray(0, n), ends.subarray(0, n), status, created);
  for (let i = 0; i < n; i++) {
    const s = status[i];
    if (s === POST_OK) times[i] = eventTimeOf(created[i], records[i].timestamp);
    else if (s === NATIVE_UNSURE || s === NATIVE_TRIM || (others > 0 && starts[i] === ends[i])) checkOne(type, records[i], i, status, times);
  }
}

/** checkRecords' arrays for the addon, grown as batches need (module-level: no allocation per batch). */
let starts = new Uint32Array(0);
let ends = new Uint32Array(0);
let created = new Float64Array(0);
/** postscan.c's verdicts that the TypeScript path settles: a varint it does not read exactly, an id that trim decides. */
const NATIVE_UNSURE = 255;
const NATIVE_TRIM = 3;

/** One record of checkRecords, here. */
function checkOne(type: Type, record: { readonly value: Buffer | null; readonly timestamp: string }, i: number, status: Uint8Array, times: Float64Array): void {
  const value = record.value;
  const s = value === null ? POST_SLOW : statusOf(type, value);
  status[i] = s;
  if (s === POST_OK) times[i] = eventTimeOf(createdAt, record.timestamp);
}

/**
 * A POST_OK record's event time: its created_at when plausible, else its Kafka timestamp (epoch
 * ms; as kafkajs gives it, a decimal string, parsed only then).
 */
const eventTimeOf = (created: number, timestamp: number | string): number => (plausibleTime(created) ? created : Number(timestamp));

/** The check of one record (the whole of `value`): its status, and for POST_OK its event time. */
export function checkPost(value: Buffer, timestamp: number): { status: number; eventTime: number } {
  const s = postStatus(value);
  return { status: s, eventTime: s === POST_OK ? eventTimeOf(one.created[0], timestamp) : NaN };
}

/**
 * The status of one record (the whole of `value`), nothing allocated: what decodePosts asks of
 * every raw record. For POST_OK, created_at is left in `one.created[0]` (checkPost's event time).
 */
export function postStatus(value: Buffer): number {
  const type = latest();
  const native = nativeScan();
  if (native !== null) {
    const n = native.checkPost(value, one.created);
    if (n === POST_OK || n === POST_SLOW || n === POST_BLANK_ID) return n;
  }
  const s = statusOf(type, value);
  one.created[0] = createdAt;
  return s;
}

/** postStatus's created_at out-parameter for the addon. */
const one = { created: new Float64Array(1) };

/** The status of the whole of `value`: the specialised scan, or the generic one where it is unsure. */
function statusOf(type: Type, value: Buffer): number {
  const s = fast ? scanPost(value, 0, value.length) : UNSURE;
  return s === UNSURE ? genericCheck(type, value, 0, value.length) : s;
}

/**
 * The same check with the generic scan (scanAvro over the schema's type tree) alone: what the
 * specialised scan must agree with, and its fallback. Leaves created_at in `createdAt`.
 */
export function genericCheck(type: Type, data: Buffer, start: number, end: number): number {
  let scanned = -1;
  if (end > start) {
    try {
      scanned = scanAvro(type, data, start);
    } catch {
      // not the latest version (or not a Post): the full path says why
    }
  }
  if (scanned !== end) return POST_SLOW;
  // Fields 1-4 (id, text, author_id strings, created_at long) of what the scan accepted.
  let at = readLong(data, start);
  const blank = blankId(data, at, at + exact);
  at += exact;
  at = readLong(data, at) + exact;
  at = readLong(data, at) + exact;
  readLong(data, at);
  createdAt = exact;
  return blank ? POST_BLANK_ID : POST_OK;
}

/** Value of the varint read by readLong (exact up to 2^53, which is all a scanned long can hold). */
let exact = 0;
/** Position after the zig-zag varint at pos (of any length: only for bytes the generic scan accepted); its value in `exact`. */
function readLong(buf: Buffer, pos: number): number {
  let n = 0;
  let scale = 1;
  let b: number;
  do {
    b = buf[pos++];
    n += (b & 0x7f) * scale;
    scale *= 128;
  } while (b & 0x80);
  exact = n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  return pos;
}

/** scanPost's verdict when only the generic scan can decide. */
const UNSURE = 255;

// The scan's cursor, its limit (the record's end) and its findings, module-level: no allocation per record.
let p = 0;
let lim = 0;
let createdAt = 0;
/** Set by varint when it stopped at 7 bytes with more to come (only the generic scan reads those exactly). */
let long = false;

/**
 * The zig-zag varint at p of at most `maxBytes` bytes, exact; NaN when it runs past lim or has more
 * bytes (then `long` is set when `markLong`).
 */
function zigzag(buf: Buffer, maxBytes: number, markLong: boolean): number {
  let n = 0;
  let mult = 1;
  for (let i = 0; i < maxBytes; i++) {
    if (p >= lim) return NaN;
    const b = buf[p++];
    n += (b & 0x7f) * mult;
    if (b < 0x80) return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
    mult *= 128;
  }
  if (markLong) long = true;
  return NaN;
}

/** A long at p (at most 7 bytes, below 2^48 in magnitude); a longer one is left to the generic scan (`long`). */
const varint = (buf: Buffer): number => zigzag(buf, 7, true);

/** An Avro int union branch index at p (at most 5 bytes, as scanAvro reads ints); NaN when bad. */
const branch = (buf: Buffer): number => zigzag(buf, 5, false);

/** A length-prefixed UTF-8 string at p: true when whole and valid (p then past it). */
function string(buf: Buffer): boolean {
  const len = varint(buf);
  if (!(len >= 0) || p + len > lim) return false;
  const body = p;
  p += len;
  return wellFormedUtf8(buf, body, p);
}

/** A ["null", "string"] union at p. */
function optionalString(buf: Buffer): boolean {
  const b = branch(buf);
  return b === 0 || (b === 1 && string(buf));
}

/** "__proto__": a map key avsc cannot represent (scanAvro rejects it). */
const PROTO = Buffer.from('__proto__');

/** A map of strings (`map`) or an array of strings at p, in blocks (a negative count gives the block's byte size). */
function blocks(buf: Buffer, map: boolean): boolean {
  const itemMin = map ? 2 : 1;
  for (;;) {
    let count = varint(buf);
    if (count !== count) return false;
    if (count === 0) return true;
    let blockEnd = -1;
    if (count < 0) {
      count = -count;
      const size = varint(buf);
      if (!(size >= 0) || p + size > lim) return false;
      blockEnd = p + size;
    }
    if (count * itemMin > lim - p) return false;
    for (let i = 0; i < count; i++) {
      if (map) {
        const keyLen = varint(buf);
        if (!(keyLen >= 0) || p + keyLen > lim) return false;
        const key = p;
        p += keyLen;
        if (!wellFormedUtf8(buf, key, p) || (keyLen === PROTO.length && PROTO.equals(buf.subarray(key, p)))) return false;
      }
      if (!string(buf)) return false;
    }
    if (blockEnd >= 0 && p !== blockEnd) return false;
  }
}

/** Whether bytes [start, end) are blank as String.trim sees them (ASCII whitespace; a byte >= 0x80 may be a Unicode space, then trim decides). */
function blankId(buf: Buffer, start: number, end: number): boolean {
  let ascii = true;
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b >= 0x80) ascii = false;
    else if (b !== 0x20 && (b < 0x09 || b > 0x0d)) return false;
  }
  return ascii || buf.toString('utf8', start, end).trim() === '';
}

/**
 * The Post v2 scan of buf[start, end): POST_OK (created_at in `createdAt`), POST_BLANK_ID,
 * POST_SLOW, or UNSURE for the generic scan to decide.
 */
function scanPost(buf: Buffer, start: number, end: number): number {
  p = start;
  lim = end;
  long = false;
  const s = scanFields(buf, start, end);
  return long ? UNSURE : s;
}

function scanFields(buf: Buffer, start: number, end: number): number {
  // id
  const idLen = varint(buf);
  if (!(idLen >= 0) || p + idLen > lim) return POST_SLOW;
  const idStart = p;
  p += idLen;
  if (!wellFormedUtf8(buf, idStart, p)) return POST_SLOW;
  // text, author_id
  if (!string(buf) || !string(buf)) return POST_SLOW;
  const t = varint(buf);
  if (t !== t) return POST_SLOW;
  // source, lang, reply_to, attributes, topic_tags
  if (!string(buf) || !optionalString(buf) || !optionalString(buf) || !blocks(buf, true) || !blocks(buf, false)) return POST_SLOW;
  // geo: null, or lat, lon (doubles) and place
  const g = branch(buf);
  if (g === 1) {
    if (p + 16 > lim) return POST_SLOW;
    p += 16;
    if (!optionalString(buf)) return POST_SLOW;
  } else if (g !== 0) return POST_SLOW;
  if (p !== end) return POST_SLOW;
  createdAt = t;
  return blankId(buf, idStart, idStart + idLen) ? POST_BLANK_ID : POST_OK;
}
