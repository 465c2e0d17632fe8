/**
 * The one Avro object container file reader (and the raw block writer) of
 * mentionflow: the embedded file mode (`run --input`), `produce`, training
 * (avroExamples) and the archive sink all read containers through here.
 * Records come out block by block (one block in memory at a time) as raw
 * Avro bytes, as stored, ready for decodeStrict.
 *
 * Written here rather than taken from avsc's BlockDecoder so that damage is
 * reported instead of lost: avsc's decoder silently drops a truncated last
 * block and trusts record contents. Here a bad magic, an unknown codec, a
 * wrong sync marker, a record that does not scan (schemas/wire.ts's bounded
 * scanAvro), or a file ending inside a block is a DecodeError naming the
 * file, the block, the record and the byte offset in the file where the
 * damaged part starts. Codecs: null, deflate and snappy (schemas/snappy.ts;
 * each block followed by the big-endian CRC32 of its uncompressed data, as
 * the Avro spec says; a CRC mismatch is an error too).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { promisify } from 'node:util';
import { constants as zlibConstants, crc32, deflateRaw, inflateRawSync } from 'node:zlib';

const deflateRawAsync = promisify(deflateRaw);
import avro from 'avsc';
import { Observable } from 'rxjs';
import { ConfigError, DecodeError } from '../common/errors.js';
import { scanAvro, type Type } from './registry.js';
import { snappyCompress, snappyUncompress } from './snappy.js';
import { deflateOffThread, snappyOffThread } from './containerThread.js';
import { deflateBlock, engineLevel, resolveDeflateEngine, type DeflateEngine, type DeflateEngineChoice, type DeflateParams } from './deflate.js';

/** The header of a container file. */
export interface ContainerHeader {
  /** The schema the records were written with (unions unwrapped where unambiguous). */
  writerType: Type;
  codec: string;
  /** All metadata, `avro.schema` and `avro.codec` included. */
  meta: Record<string, Buffer>;
}

export type ContainerItem =
  | { kind: 'header'; header: ContainerHeader }
  | {
      kind: 'record';
      /** One record's Avro binary encoding (writer schema). */
      bytes: Buffer;
      /** 1-based record number in the file. */
      index: number;
      /** 1-based block number. */
      block: number;
      /** Byte offset in the file of the block (its record count) that holds the record. */
      blockOffset: number;
    };

const MAGIC = Buffer.from('Obj\x01', 'latin1');
const SYNC_SIZE = 16;
/** Larger headers or blocks are taken as corruption rather than buffered. */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;
const MAX_BLOCK_BYTES = 256 * 1024 * 1024;
/** Two longs take at most 20 bytes. */
const BLOCK_PREFIX_MAX = 20;

const HEADER_TYPE = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: SYNC_SIZE } },
  ],
});
const LONG_TYPE = avro.Type.forSchema('long');

/** Incremental parser: push() each chunk, then push(empty, eof = true); each yields the items completed so far. */
class ContainerParser {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Chunks not yet joined to buf: a large block is joined once, not chunk by chunk. */
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  /** Bytes after pos the parser needs before it can make progress. */
  private need = 0;
  private header: (ContainerHeader & { sync: Buffer }) | undefined;
  private blocks = 0;
  private records = 0;
  private offset = 0; // file offset of buf[0]

  constructor(private readonly path: string) {}

  private fail(detail: string): never {
    throw new DecodeError(`${this.path}: ${detail}`);
  }

  *push(chunk: Buffer, eof = false): Generator<ContainerItem> {
    if (chunk.length > 0) {
      this.waiting.push(chunk);
      this.waitingBytes += chunk.length;
    }
    if (!eof && this.buf.length - this.pos + this.waitingBytes < this.need) return;
    this.offset += this.pos;
    const rest = this.buf.subarray(this.pos);
    this.buf = rest.length === 0 && this.waiting.length === 1 ? this.waiting[0] : Buffer.concat([rest, ...this.waiting]);
    this.pos = 0;
    this.waiting = [];
    this.waitingBytes = 0;
    this.need = 0;
    if (this.header === undefined) {
      const header = this.readHeader(eof);
      if (header === undefined) return;
      yield { kind: 'header', header };
    }
    while (true) {
      const block = this.readBlock(eof);
      if (block === undefined) return;
      yield* block;
    }
  }

  private readHeader(eof: boolean): ContainerHeader | undefined {
    if (eof && this.buf.length === 0) this.fail('the file is empty (not an Avro object container file)');
    const head = this.buf.subarray(0, MAGIC.length);
    if (!MAGIC.subarray(0, head.length).equals(head) || (eof && head.length < MAGIC.length)) {
      this.fail('not an Avro object container file (it does not start with "Obj\\x01")');
    }
    // Scan before decoding: avsc would loop over a corrupt map count. A scan
    // failure before the end of the file may just mean "more bytes needed".
    let offset: number;
    try {
      offset = scanAvro(HEADER_TYPE, this.buf, 0);
    } catch (err) {
      if (!eof && this.buf.length <= MAX_HEADER_BYTES) {
        this.need = this.buf.length + 1;
        return undefined;
      }
      this.fail(`byte 0: ${eof ? 'the file ends inside, or has a corrupt,' : 'no complete'} container header: ${(err as Error).message}`);
    }
    const { value } = HEADER_TYPE.decode(this.buf, 0);
    const meta = (value as { meta: Record<string, Buffer> }).meta;
    const codec = meta['avro.codec']?.toString('utf8') ?? 'null';
    if (codec !== 'null' && codec !== 'deflate' && codec !== 'snappy') this.fail(`unsupported codec "${codec}" (supported: null, deflate, snappy)`);
    const schema = meta['avro.schema'];
    if (schema === undefined) this.fail('the container header has no avro.schema');
    let writerType: Type;
    try {
      writerType = avro.Type.forSchema(JSON.parse(schema.toString('utf8')), { wrapUnions: 'auto' });
    } catch (err) {
      this.fail(`the container's schema is not valid: ${(err as Error).message}`);
    }
    this.header = { writerType, codec, meta, sync: (value as { sync: Buffer }).sync };
    this.pos = offset;
    return this.header;
  }

  /** The records of the next complete block, or undefined when more bytes are needed (or at a clean end). */
  private readBlock(eof: boolean): ContainerItem[] | undefined {
    const header = this.header as ContainerHeader & { sync: Buffer };
    const left = this.buf.length - this.pos;
    const blockOffset = this.offset + this.pos;
    const at = `block ${this.blocks + 1} (byte ${blockOffset})`;
    if (left === 0) return undefined;
    if (left < BLOCK_PREFIX_MAX && !eof) {
      this.need = BLOCK_PREFIX_MAX;
      return undefined;
    }
    let count: number;
    let size: number;
    let dataStart: number;
    try {
      const countEnd = scanAvro(LONG_TYPE, this.buf, this.pos);
      dataStart = scanAvro(LONG_TYPE, this.buf, countEnd);
      count = LONG_TYPE.decode(this.buf, this.pos).value as number;
      size = LONG_TYPE.decode(this.buf, countEnd).value as number;
    } catch (err) {
      this.fail(`${at}: ${eof && left < BLOCK_PREFIX_MAX ? 'the file ends inside the block header' : `bad block header: ${(err as Error).message}`}`);
    }
    if (count < 0 || size < 0 || size > MAX_BLOCK_BYTES || count > Math.max(size, 1) * 8) {
      this.fail(`${at}: implausible block header (${count} records in ${size} bytes): not a container block`);
    }
    const end = dataStart + size + SYNC_SIZE;
    if (end > this.buf.length) {
      if (eof) this.fail(`${at}: the file ends inside the block (${this.buf.length - dataStart} of ${size + SYNC_SIZE} bytes present)`);
      this.need = end - this.pos;
      return undefined;
    }
    if (!this.buf.subarray(dataStart + size, end).equals(header.sync)) this.fail(`${at}: wrong sync marker after the block`);
    let data = this.buf.subarray(dataStart, dataStart + size);
    if (header.codec === 'deflate') {
      try {
        data = inflateRawSync(data, { maxOutputLength: MAX_BLOCK_BYTES });
      } catch (err) {
        this.fail(`${at}: cannot inflate the deflate block: ${(err as Error).message}`);
      }
    }
    if (header.codec === 'snappy') data = this.unsnappy(data, at);
    const deflated = header.codec !== 'null';
    this.blocks += 1;
    this.pos = end;
    const items: ContainerItem[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      const index = this.records + 1;
      let next: number;
      try {
        // Framing only: a record's bad text is for its decoder to report (a dead letter), not the file's.
        next = scanAvro(header.writerType, data, p, { content: false });
      } catch (err) {
        // In a compressed block the record's own position is inside the uncompressed data.
        this.fail(`${at}, record ${index} (${deflated ? `uncompressed byte ${p}` : `byte ${this.offset + dataStart + p}`}): ${(err as Error).message}`);
      }
      items.push({ kind: 'record', bytes: data.subarray(p, next), index, block: this.blocks, blockOffset });
      this.records = index;
      p = next;
    }
    if (p !== data.length) this.fail(`${at}: ${data.length - p} byte(s) after its ${count} record(s)`);
    return items;
  }

  /** A snappy block's data (compressed bytes, then the big-endian CRC32 of the uncompressed ones), uncompressed and checked. */
  private unsnappy(block: Buffer, at: string): Buffer {
    if (block.length < 4) this.fail(`${at}: a snappy block of ${block.length} byte(s) has no room for its CRC32`);
    let data: Buffer;
    try {
      data = snappyUncompress(block.subarray(0, block.length - 4), MAX_BLOCK_BYTES);
    } catch (err) {
      this.fail(`${at}: cannot uncompress the snappy block: ${(err as Error).message}`);
    }
    const stored = block.readUInt32BE(block.length - 4);
    const actual = crc32(data);
    if (stored !== actual) {
      this.fail(`${at}: CRC32 mismatch in the snappy block (stored ${stored.toString(16).padStart(8, '0')}, computed ${actual.toString(16).padStart(8, '0')})`);
    }
    return data;
  }
}

/**
 * The header, then the records, of the container file at `path`, read
 * chunk by chunk (pull-based: the next chunk is read when the consumer asks
 * for more). Breaking out of the loop closes the file. Errors: ConfigError
 * when the file cannot be read, DecodeError when it is damaged (naming the
 * file and the byte offset).
 */
export async function* readContainer(path: string, chunkBytes = 64 * 1024): AsyncGenerator<ContainerItem> {
  const stream = createReadStream(path, { highWaterMark: chunkBytes });
  const parser = new ContainerParser(path);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) yield* parser.push(chunk);
    yield* parser.push(Buffer.alloc(0), true);
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw new ConfigError(`cannot read ${path}: ${(err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? String(err)}`, { cause: err });
  } finally {
    stream.destroy();
  }
}

/**
 * readContainer as an Observable (for the training sources). Unsubscribing
 * stops reading and closes the file.
 */
export function containerRecords(path: string, chunkBytes = 64 * 1024): Observable<ContainerItem> {
  return new Observable<ContainerItem>((subscriber) => {
    const items = readContainer(path, chunkBytes);
    (async () => {
      for await (const item of items) {
        if (subscriber.closed) return;
        subscriber.next(item);
      }
      subscriber.complete();
    })().catch((err: unknown) => subscriber.error(err));
    return () => {
      void items.return(undefined);
    };
  });
}

/** The block compressions the container writer and reader know. */
export type ContainerCodec = 'null' | 'deflate' | 'snappy';
export const CONTAINER_CODECS: readonly ContainerCodec[] = ['deflate', 'snappy', 'null'];

/**
 * zlib strategies of the deflate codec: default (LZ77 matches and Huffman codes), huffman
 * (Z_HUFFMAN_ONLY: no matches, about half deflate level 1's CPU on real Weibo text for
 * files ~1.5x larger) and rle (Z_RLE: matches at distance 1 only). All read back the same.
 */
export type DeflateStrategy = 'default' | 'huffman' | 'rle';
export const DEFLATE_STRATEGIES: readonly DeflateStrategy[] = ['default', 'huffman', 'rle'];
const ZLIB_STRATEGY: Record<DeflateStrategy, number> = { default: zlibConstants.Z_DEFAULT_STRATEGY, huffman: zlibConstants.Z_HUFFMAN_ONLY, rle: zlibConstants.Z_RLE };

/** Options of {@link ContainerEncoder}. */
export interface ContainerEncoderOptions {
  /** The writer schema (JSON) stored in the header; every record must be its Avro binary encoding. */
  schema: object;
  /** Block compression; default deflate. snappy: several times cheaper in CPU than deflate level 1, larger files. */
  codec?: ContainerCodec;
  /**
   * Level of the deflate codec, 1 (fastest) to 9 (smallest); default 6 (zlib's own).
   * Any level reads back the same: the container format does not record it.
   */
  level?: number;
  /** zlib strategy of the deflate codec ({@link DeflateStrategy}); default 'default'. Other than the default, zlib deflates. */
  strategy?: DeflateStrategy;
  /**
   * The library that deflates ({@link DeflateEngineChoice}): 'auto' (default) is ISA-L where
   * mentionflow's addon is built and libisal.so.2 is installed (about 0.3x of zlib's CPU at level 1),
   * else libdeflate where the addon is built (deploy/native/build-native-addon.sh; about 0.55x),
   * when the strategy is the default; else node:zlib. 'isal' and 'libdeflate' fail at construction
   * when they cannot be had. All read back the same records.
   */
  engine?: DeflateEngineChoice;
  /**
   * Where blockAsync/rawBlockAsync deflate: 'worker' (default), one worker thread shared by the
   * process (containerThread.ts), or 'pool', node's async zlib on libuv's pool, which costs the
   * calling thread about twice as much CPU per block (a zlib stream built and torn down each time;
   * zlib only: engine 'auto' then means zlib, 'isal' and 'libdeflate' are refused).
   * The bytes are the same either way for the same engine.
   */
  deflateThread?: 'worker' | 'pool';
  /** More header metadata (keys not starting with "avro."). */
  metadata?: Record<string, string>;
}

/**
 * Encodes an Avro object container from records that are already Avro
 * binary (e.g. Kafka record values as consumed), without decoding them:
 * header() once, then block(records) for each block. Pure (no I/O); what
 * readContainer reads back.
 */
export class ContainerEncoder {
  private readonly sync = randomBytes(SYNC_SIZE);
  private readonly codec: ContainerCodec;
  private readonly deflate: DeflateParams;
  private readonly meta: Record<string, Buffer>;
  private readonly offThread: boolean;

  constructor(opts: ContainerEncoderOptions) {
    this.codec = opts.codec ?? 'deflate';
    if (!CONTAINER_CODECS.includes(this.codec)) throw new ConfigError(`container codec must be one of ${CONTAINER_CODECS.join(', ')}, got ${JSON.stringify(opts.codec)}`);
    const level = opts.level ?? 6;
    if (!Number.isInteger(level) || level < 1 || level > 9) throw new ConfigError(`container deflate level must be an integer from 1 to 9, got ${JSON.stringify(opts.level)}`);
    // memLevel 9 (zlib's default is 8): about 10% less CPU for the same size on Post records of
    // real Weibo text (level 1: 2.21-2.57 vs 2.38-2.86 us/record, 0.518 vs 0.519 of raw), for
    // 128 KiB more memory per block being compressed; the stream reads back the same.
    const strategy = opts.strategy ?? 'default';
    if (!DEFLATE_STRATEGIES.includes(strategy)) throw new ConfigError(`container deflate strategy must be one of ${DEFLATE_STRATEGIES.join(', ')}, got ${JSON.stringify(opts.strategy)}`);
    const thread = opts.deflateThread ?? 'worker';
    if (thread !== 'worker' && thread !== 'pool') throw new ConfigError(`container deflateThread must be 'worker' or 'pool', got ${JSON.stringify(opts.deflateThread)}`);
    this.offThread = thread === 'worker';
    if (!this.offThread && (opts.engine === 'libdeflate' || opts.engine === 'isal')) throw new ConfigError(`container deflate engine ${opts.engine} runs on the worker thread or the caller's, not on libuv's pool: use deflateThread 'worker', or engine zlib`);
    const engine = this.codec === 'deflate' ? resolveDeflateEngine(opts.engine ?? 'auto', strategy !== 'default' || !this.offThread) : 'zlib';
    this.deflate = { engine, level: engineLevel(engine, level), memLevel: 9, strategy: ZLIB_STRATEGY[strategy] };
    this.meta = { 'avro.schema': Buffer.from(JSON.stringify(opts.schema), 'utf8'), 'avro.codec': Buffer.from(this.codec, 'utf8') };
    for (const [key, value] of Object.entries(opts.metadata ?? {})) {
      if (key.startsWith('avro.')) throw new ConfigError(`container metadata key ${JSON.stringify(key)} is reserved (avro.*)`);
      this.meta[key] = Buffer.from(value, 'utf8');
    }
  }

  /** The library that deflates this encoder's blocks (codec deflate), else undefined. */
  get deflateEngine(): DeflateEngine | undefined {
    return this.codec === 'deflate' ? this.deflate.engine : undefined;
  }

  /** The file header (magic, metadata, sync marker). */
  header(): Buffer {
    return HEADER_TYPE.toBuffer({ magic: MAGIC, meta: this.meta, sync: this.sync });
  }

  /** One block holding `records` (each one record's Avro binary), in order. */
  block(records: readonly Buffer[]): Buffer {
    const raw = Buffer.concat(records as Buffer[]);
    if (this.codec === 'snappy') return this.snappyBlock(raw, records.length);
    const data = this.codec === 'deflate' ? deflateBlock(raw, this.deflate) : raw;
    return Buffer.concat([LONG_TYPE.toBuffer(records.length), LONG_TYPE.toBuffer(data.length), data, this.sync]);
  }

  /** block(), compressed off the calling thread (deflateThread: a worker thread, or libuv's pool). */
  async blockAsync(records: readonly Buffer[]): Promise<Buffer> {
    return this.rawBlockAsync(Buffer.concat(records as Buffer[]), records.length);
  }

  /**
   * blockAsync() of `count` records already laid end to end in `raw`. With `transfer` (worker
   * thread, snappy or deflate), `raw`'s ArrayBuffer is handed to the worker instead of copied: the
   * caller must own all of it (not a pooled Buffer) and not use it again; it is detached on return.
   * On the pool, the output
   * chunk is sized for the whole block: one trip to the pool and back per block instead of
   * one per 16 KiB of output (zlib's default chunk), each trip costing the calling thread.
   */
  async rawBlockAsync(raw: Buffer, count: number, opts: { transfer?: boolean } = {}): Promise<Buffer> {
    const transfer = opts.transfer === true;
    if (this.codec === 'snappy') {
      // On containerThread's worker: the calling thread (the archive sink's consumer) only copies the block (or hands it over).
      const { data, crc } = await snappyOffThread(raw, transfer);
      return this.frame(count, data, crc);
    }
    let data = raw;
    if (this.codec === 'deflate') {
      const { level, memLevel, strategy } = this.deflate;
      data = this.offThread ? await deflateOffThread(raw, this.deflate, transfer) : await deflateRawAsync(raw, { level, memLevel, strategy, chunkSize: Math.max(16 * 1024, raw.length + 1024) });
    }
    return Buffer.concat([LONG_TYPE.toBuffer(count), LONG_TYPE.toBuffer(data.length), data, this.sync]);
  }

  /** A snappy block: the compressed records, then the big-endian CRC32 of the uncompressed ones (Avro spec). */
  private snappyBlock(raw: Buffer, count: number): Buffer {
    return this.frame(count, snappyCompress(raw), crc32(raw));
  }

  private frame(count: number, data: Buffer, crc: number): Buffer {
    const tail = Buffer.allocUnsafe(4);
    tail.writeUInt32BE(crc, 0);
    return Buffer.concat([LONG_TYPE.toBuffer(count), LONG_TYPE.toBuffer(data.length + 4), data, tail, this.sync]);
  }
}
