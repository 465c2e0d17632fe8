/**
 * Snappy's raw format (the "snappy" codec of Avro object containers), in
 * plain TypeScript: no native module, no npm dependency.
 *
 * Format (google/snappy format_description.txt): a varint of the
 * uncompressed length, then elements, each starting with a tag byte whose
 * low two bits say what follows:
 *   00 literal: length-1 in the upper six bits, or (60..63) in the next 1..4 bytes (little-endian);
 *   01 copy, length 4..11 in bits 2-4, an 11-bit offset (bits 5-7 of the tag, then one byte);
 *   10 copy, length 1..64 in the upper six bits, a 2-byte little-endian offset;
 *   11 copy, as 10 with a 4-byte offset.
 *
 * The compressor is the reference's greedy hash-table LZ77: the input is cut
 * into 64 KiB fragments (so every offset fits two bytes), a 4-byte sequence
 * is hashed into a table of the fragment's last positions, a hit whose four
 * bytes match becomes a copy extended as far as it goes, and the probe step
 * grows over incompressible stretches (one more byte per 32 misses).
 * The decompressor checks every length and offset against its input and
 * output and reports damage as a DecodeError with the compressed byte offset.
 */
import { DecodeError } from '../common/errors.js';

/** Fragment size of the compressor: offsets stay below 64 KiB. */
const FRAGMENT = 1 << 16;
const HASH_BITS = 14;
/** Positions within the current fragment, by hash of the 4 bytes there (reused: the compressor is synchronous). */
const table = new Uint16Array(1 << HASH_BITS);
/** Fragments shorter than this, and each fragment's last bytes, are literals (the reference's margin). */
const INPUT_MARGIN = 15;

/** The largest compressed size of `n` input bytes (the reference's MaxCompressedLength). */
export function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}


function hash(v: number): number {
  return Math.imul(v, 0x1e35a7bd) >>> (32 - HASH_BITS);
}

function emitLiteral(out: Uint8Array, op: number, input: Uint8Array, from: number, len: number): number {
  const n = len - 1;
  if (n < 60) {
    out[op++] = n << 2;
  } else if (n < 0x100) {
    out[op++] = 60 << 2;
    out[op++] = n;
  } else if (n < 0x10000) {
    out[op++] = 61 << 2;
    out[op++] = n & 0xff;
    out[op++] = n >>> 8;
  } else if (n < 0x1000000) {
    out[op++] = 62 << 2;
    out[op++] = n & 0xff;
    out[op++] = (n >>> 8) & 0xff;
    out[op++] = n >>> 16;
  } else {
    out[op++] = 63 << 2;
    out[op++] = n & 0xff;
    out[op++] = (n >>> 8) & 0xff;
    out[op++] = (n >>> 16) & 0xff;
    out[op++] = n >>> 24;
  }
  if (len < 64) {
    for (let i = 0; i < len; i++) out[op + i] = input[from + i];
  } else {
    out.set(input.subarray(from, from + len), op);
  }
  return op + len;
}

/** One copy of 4..64 bytes at `offset` (< 64 KiB). */
function emitCopyUpTo64(out: Uint8Array, op: number, offset: number, len: number): number {
  if (len < 12 && offset < 2048) {
    out[op++] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
    out[op++] = offset & 0xff;
  } else {
    out[op++] = 2 | ((len - 1) << 2);
    out[op++] = offset & 0xff;
    out[op++] = offset >>> 8;
  }
  return op;
}

function emitCopy(out: Uint8Array, op: number, offset: number, len: number): number {
  // As the reference: pieces of 64, and a last piece of at least 4.
  while (len >= 68) {
    op = emitCopyUpTo64(out, op, offset, 64);
    len -= 64;
  }
  if (len > 64) {
    op = emitCopyUpTo64(out, op, offset, 60);
    len -= 60;
  }
  return emitCopyUpTo64(out, op, offset, len);
}

/** Compresses input[start, end) (at most one fragment) to out at op; returns the new op. */
function compressFragment(input: Uint8Array, view: DataView, start: number, end: number, out: Uint8Array, op: number): number {
  const load32 = (i: number): number => view.getInt32(i, true);
  let nextEmit = start;
  if (end - start >= INPUT_MARGIN) {
    table.fill(0);
    const ipLimit = end - INPUT_MARGIN;
    let ip = start + 1;
    let nextHash = hash(load32(ip));
    outer: for (;;) {
      // Look for a 4-byte match, probing further apart the longer nothing is found.
      let skip = 32;
      let nextIp = ip;
      let candidate: number;
      do {
        ip = nextIp;
        const h = nextHash;
        nextIp = ip + (skip++ >>> 5);
        if (nextIp > ipLimit) break outer;
        candidate = start + table[h];
        table[h] = ip - start;
        nextHash = hash(load32(nextIp));
      } while (load32(ip) !== load32(candidate));
      op = emitLiteral(out, op, input, nextEmit, ip - nextEmit);
      // Copies, as long as the bytes right after one copy start another.
      let again: boolean;
      do {
        const base = ip;
        let matched = 4;
        // Four bytes at a time while they fit, then byte by byte.
        while (ip + matched + 4 <= end && load32(candidate + matched) === load32(ip + matched)) matched += 4;
        while (ip + matched < end && input[candidate + matched] === input[ip + matched]) matched++;
        ip += matched;
        op = emitCopy(out, op, base - candidate, matched);
        nextEmit = ip;
        if (ip >= ipLimit) break outer;
        table[hash(load32(ip - 1))] = ip - 1 - start;
        const h = hash(load32(ip));
        candidate = start + table[h];
        table[h] = ip - start;
        again = load32(ip) === load32(candidate);
      } while (again);
      ip += 1;
      nextHash = hash(load32(ip));
    }
  }
  if (nextEmit < end) op = emitLiteral(out, op, input, nextEmit, end - nextEmit);
  return op;
}

/** `input` in snappy's raw format (a new Buffer). */
export function snappyCompress(input: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(maxCompressedLength(input.length));
  let op = 0;
  let n = input.length;
  while (n >= 0x80) {
    out[op++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[op++] = n;
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  for (let start = 0; start < input.length; start += FRAGMENT) {
    op = compressFragment(input, view, start, Math.min(start + FRAGMENT, input.length), out, op);
  }
  return out.subarray(0, op);
}

/**
 * The uncompressed length a snappy buffer declares (its leading varint).
 * DecodeError when the varint is damaged.
 */
export function snappyUncompressedLength(input: Uint8Array): { length: number; headerBytes: number } {
  let length = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= input.length) throw new DecodeError(`snappy: the data ends inside its length (byte ${i})`);
    const b = input[i];
    length += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) {
      if (length > 0xffffffff) break;
      return { length, headerBytes: i + 1 };
    }
  }
  throw new DecodeError('snappy: bad uncompressed length (more than 32 bits)');
}

/**
 * Decompresses snappy's raw format. `maxLength` bounds the declared size
 * (damage must not allocate gigabytes). DecodeError, naming the compressed
 * byte offset, on any inconsistency: a length or offset reaching outside
 * the input or output, or output shorter than declared.
 */
export function snappyUncompress(input: Uint8Array, maxLength = 0xffffffff): Buffer {
  const { length, headerBytes } = snappyUncompressedLength(input);
  if (length > maxLength) throw new DecodeError(`snappy: declared length ${length} is over the limit of ${maxLength} bytes`);
  const out = Buffer.allocUnsafe(length);
  const n = input.length;
  let ip = headerBytes;
  let op = 0;
  const fail = (at: number, what: string): never => {
    throw new DecodeError(`snappy: corrupt data at compressed byte ${at}: ${what}`);
  };
  while (ip < n) {
    const at = ip;
    const tag = input[ip++];
    let len: number;
    let offset: number;
    switch (tag & 3) {
      case 0: {
        len = (tag >>> 2) + 1;
        if (len > 60) {
          const extra = len - 60;
          if (ip + extra > n) fail(at, 'the data ends inside a literal length');
          len = 0;
          for (let i = extra - 1; i >= 0; i--) len = len * 256 + input[ip + i];
          len += 1;
          ip += extra;
        }
        if (ip + len > n) fail(at, `a literal of ${len} bytes runs past the end of the data`);
        if (op + len > length) fail(at, `a literal of ${len} bytes runs past the declared length ${length}`);
        if (len < 16) {
          for (let i = 0; i < len; i++) out[op + i] = input[ip + i];
        } else {
          out.set(input.subarray(ip, ip + len), op);
        }
        ip += len;
        op += len;
        continue;
      }
      case 1:
        if (ip + 1 > n) fail(at, 'the data ends inside a copy');
        len = ((tag >>> 2) & 7) + 4;
        offset = ((tag >>> 5) << 8) | input[ip];
        ip += 1;
        break;
      case 2:
        if (ip + 2 > n) fail(at, 'the data ends inside a copy');
        len = (tag >>> 2) + 1;
        offset = input[ip] | (input[ip + 1] << 8);
        ip += 2;
        break;
      default:
        if (ip + 4 > n) fail(at, 'the data ends inside a copy');
        len = (tag >>> 2) + 1;
        offset = (input[ip] | (input[ip + 1] << 8) | (input[ip + 2] << 16) | (input[ip + 3] << 24)) >>> 0;
        ip += 4;
        break;
    }
    if (offset === 0 || offset > op) fail(at, `a copy from offset ${offset} at output byte ${op}`);
    if (op + len > length) fail(at, `a copy of ${len} bytes runs past the declared length ${length}`);
    let from = op - offset;
    if (offset >= len && len >= 16) {
      out.copyWithin(op, from, from + len);
      op += len;
    } else {
      // Overlapping (a run) or short: byte by byte, each byte may be one just written.
      const stop = op + len;
      while (op < stop) out[op++] = out[from++];
    }
  }
  if (op !== length) fail(n, `${op} bytes decoded, ${length} declared`);
  return out;
}
