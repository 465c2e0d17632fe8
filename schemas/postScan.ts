/**
 * The fast-path check of Post records laid end to end in one buffer (the
 * archive sink's packed batches): a record that is a whole latest-version
 * Post (the bounded scan consumes every byte, strings valid) with an id that
 * is not blank gets its event time, created_at (or the record's timestamp
 * when created_at is not a plausible time); any other record is left to the
 * caller's full decode path. Pure: runs on the consumer's thread or in
 * postScanWorker.ts (the UTF-8 checks of the scan are the costly part).
 */
import { scanAvro, type Type } from './registry.js';

/** Status of a record after {@link checkPosts}. */
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

/**
 * Checks records [ends[i-1], ends[i]) of `data` (the first starts at 0) against
 * `type` (the latest Post schema), i < count: sets status[i] and, for POST_OK,
 * times[i] (created_at, or timestamps[i] when created_at is not plausible).
 */
export function checkPosts(type: Type, data: Buffer, ends: Uint32Array, timestamps: Float64Array, count: number, status: Uint8Array, times: Float64Array): void {
  let start = 0;
  for (let i = 0; i < count; i++) {
    const end = ends[i];
    let scanned = -1;
    if (end > start) {
      try {
        scanned = scanAvro(type, data, start);
      } catch {
        // not the latest version (or not a Post): the full path says why
      }
    }
    if (scanned !== end) status[i] = POST_SLOW;
    else {
      const head = postHead(data, start);
      status[i] = head.idBlank ? POST_BLANK_ID : POST_OK;
      times[i] = plausibleTime(head.createdAt) ? head.createdAt : timestamps[i];
    }
    start = end;
  }
}

/** Position after the zig-zag varint at pos; its value is left in `varint` (exact up to 2^53). */
let varint = 0;
function readLong(buf: Buffer, pos: number): number {
  let n = 0;
  let scale = 1;
  let b: number;
  do {
    b = buf[pos++];
    n += (b & 0x7f) * scale;
    scale *= 128;
  } while (b & 0x80);
  varint = n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  return pos;
}

/** Whether bytes [start, end) hold something besides ASCII whitespace (what String.trim removes there). */
function hasNonSpace(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b !== 0x20 && (b < 0x09 || b > 0x0d)) return true;
  }
  return false;
}

function asciiOnly(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] >= 0x80) return false;
  return true;
}

/**
 * id and created_at of a scanned Post starting at `pos` (fields 1-4: id, text, author_id
 * strings, created_at long; same in v1 and v2). Only for bytes the scan accepted. The id
 * is decoded only when it might be all (Unicode) whitespace.
 */
export function postHead(buf: Buffer, pos = 0): { idBlank: boolean; createdAt: number } {
  pos = readLong(buf, pos);
  const idStart = pos;
  const idEnd = pos + varint;
  // A byte >= 0x80 may be part of a Unicode space (U+3000, U+00A0, ...): then trim decides.
  const idBlank = !hasNonSpace(buf, idStart, idEnd) || (!asciiOnly(buf, idStart, idEnd) && buf.toString('utf8', idStart, idEnd).trim() === '');
  pos = idEnd;
  for (let i = 0; i < 2; i++) pos = readLong(buf, pos) + varint;
  readLong(buf, pos);
  return { idBlank, createdAt: varint };
}
