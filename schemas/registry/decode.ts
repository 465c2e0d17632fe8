/**
 * Decoding: exactly one Avro record from a payload, raw or behind a Confluent
 * header, checked to be well formed first (scanAvro) so hostile input fails
 * fast with a DecodeError naming the field and byte; and decoders from one
 * schema version into another (Avro schema resolution).
 */
import type { Type } from 'avsc';
import { DecodeError, MentionflowError } from '../../common/errors.js';
import { AvroScanError, CONFLUENT_HEADER_LENGTH, parseConfluentHeader, scanAvro } from '../wire.js';
import { latestVersion, loadSchema, type SchemaName } from './load.js';

/**
 * How payloads are framed:
 * - 'raw': the whole buffer is the Avro binary body (default).
 * - 'confluent': a Confluent Schema Registry header (0x00 + 4-byte schema id)
 *   must precede the body.
 * - 'auto': use the header when the buffer starts with 0x00 and the rest
 *   decodes; otherwise decode the whole buffer raw. Note a raw record can also
 *   start with 0x00 (e.g. a Post with an empty id), so prefer an explicit mode
 *   when the producer is known.
 */
export type WireFormat = 'raw' | 'confluent' | 'auto';

export interface WireOptions {
  /** Framing of the payload; default 'raw'. */
  wireFormat?: WireFormat;
  /**
   * When a Confluent header is present: the schema ids to accept; any other id
   * is a DecodeError. Default: accept any id.
   */
  schemaIds?: readonly number[];
}

export interface DecodeStrictOptions extends WireOptions {
  /**
   * The schema the bytes were written with, when it differs from `type` (the
   * reader schema). The value is resolved into the reader's shape using Avro
   * schema resolution.
   */
  writerType?: Type;
  /** Name used in error messages; default the reader type's name. */
  label?: string;
}

const resolverCache = new WeakMap<Type, WeakMap<Type, ReturnType<Type['createResolver']>>>();

function resolverFor(reader: Type, writer: Type): ReturnType<Type['createResolver']> {
  let byWriter = resolverCache.get(reader);
  if (byWriter === undefined) {
    byWriter = new WeakMap();
    resolverCache.set(reader, byWriter);
  }
  let resolver = byWriter.get(writer);
  if (resolver === undefined) {
    resolver = reader.createResolver(writer);
    byWriter.set(writer, resolver);
  }
  return resolver;
}

function toBuffer(data: Buffer | Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function decodeBody<T>(reader: Type, writer: Type, body: Buffer, label: string, framed: boolean): T {
  const where = framed ? ' (offsets after the 5-byte Confluent header)' : '';
  if (body.length === 0) {
    throw new DecodeError(`cannot decode ${label}: empty payload${framed ? ' after the Confluent header' : ''}`);
  }
  let end: number;
  try {
    end = scanAvro(writer, body);
  } catch (err) {
    if (err instanceof AvroScanError) {
      throw new DecodeError(`cannot decode ${label} from ${body.length} bytes${where}: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
  if (end !== body.length) {
    throw new DecodeError(
      `cannot decode ${label} from ${body.length} bytes${where}: ${body.length - end} trailing byte(s) ` +
        `after a complete record ending at byte ${end} (written with another schema?)`,
    );
  }
  try {
    const resolver = writer === reader ? undefined : resolverFor(reader, writer);
    const { value, offset } = reader.decode(body, 0, resolver);
    if (offset !== body.length) {
      throw new Error(`avsc stopped at byte ${offset} of ${body.length}`);
    }
    return value as T;
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw new DecodeError(`cannot decode ${label} from ${body.length} bytes${where}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function checkSchemaId(schemaId: number, options: WireOptions, label: string): void {
  if (options.schemaIds !== undefined && !options.schemaIds.includes(schemaId)) {
    throw new DecodeError(
      `cannot decode ${label}: Confluent schema id ${schemaId} is not one of the accepted ids ` +
        `[${options.schemaIds.join(', ')}]`,
    );
  }
}

/**
 * Decode exactly one Avro record from `data`, or throw a DecodeError saying
 * what is wrong (field path and byte offset). Unlike `type.fromBuffer`, the
 * payload is first checked to be well formed (see scanAvro: bounded array
 * counts, valid UTF-8, in-range enum/union indexes, ...) so that hostile
 * input fails fast instead of hanging, and every byte must be consumed — a
 * record written with another schema usually parses to trailing bytes or
 * fails a check. Avro is not self-describing, so a payload that is also a
 * valid encoding for `type` cannot be told apart; use Confluent framing with
 * `schemaIds` where that matters.
 */
export function decodeStrict<T = unknown>(
  type: Type,
  data: Buffer | Uint8Array,
  options: DecodeStrictOptions = {},
): T {
  return decodeWith<T>(type, options.writerType ?? type, options.label ?? type.name ?? type.typeName, data, options);
}

/** decodeStrict with the writer type and label resolved (ResolvingDecoder.decode calls it without building an options object per payload). */
function decodeWith<T>(type: Type, writer: Type, label: string, data: Buffer | Uint8Array, options: WireOptions): T {
  const buf = toBuffer(data);
  const mode = options.wireFormat ?? 'raw';
  if (mode === 'raw') return decodeBody<T>(type, writer, buf, label, false);

  const frame = parseConfluentHeader(buf);
  if (mode === 'confluent') {
    if (frame === null) {
      const head = buf.subarray(0, CONFLUENT_HEADER_LENGTH).toString('hex') || '(empty)';
      throw new DecodeError(
        `cannot decode ${label}: missing Confluent wire-format header ` +
          `(want magic byte 00 + 4-byte schema id, got ${buf.length} byte(s) starting ${head})`,
      );
    }
    checkSchemaId(frame.schemaId, options, label);
    return decodeBody<T>(type, writer, frame.body, label, true);
  }
  if (mode !== 'auto') throw new MentionflowError(`unknown wireFormat "${String(mode)}"`);
  if (frame === null) return decodeBody<T>(type, writer, buf, label, false);
  try {
    checkSchemaId(frame.schemaId, options, label);
    return decodeBody<T>(type, writer, frame.body, label, true);
  } catch (framedErr) {
    try {
      return decodeBody<T>(type, writer, buf, label, false);
    } catch {
      throw framedErr;
    }
  }
}

/** Decodes payloads written with one version of a schema into another version's shape. */
export interface ResolvingDecoder<T = unknown> {
  readonly name: SchemaName;
  readonly writerVersion: number;
  readonly readerVersion: number;
  readonly writer: Type;
  readonly reader: Type;
  /** decodeStrict with this writer/reader pair. */
  decode(data: Buffer | Uint8Array, options?: WireOptions): T;
}

const decoderCache = new Map<string, ResolvingDecoder>();

/**
 * A decoder for `name` payloads written with `writerVersion`, returning values
 * shaped like `readerVersion` (latest by default). Fields the writer lacks get
 * the reader's defaults; fields the reader lacks are skipped. Throws a
 * MentionflowError up front if the two versions are incompatible.
 */
export function resolvingDecoder<T = unknown>(
  name: SchemaName,
  writerVersion: number,
  readerVersion = latestVersion(name),
): ResolvingDecoder<T> {
  const key = `${name}@${writerVersion}->${readerVersion}`;
  let decoder = decoderCache.get(key);
  if (decoder === undefined) {
    const writer = loadSchema(name, writerVersion);
    const reader = loadSchema(name, readerVersion);
    try {
      if (writer !== reader) resolverFor(reader, writer);
    } catch (err) {
      throw new MentionflowError(
        `schema ${name} v${readerVersion} cannot read data written with v${writerVersion}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const label = `${name} v${writerVersion}${writerVersion === readerVersion ? '' : ` (read as v${readerVersion})`}`;
    decoder = {
      name,
      writerVersion,
      readerVersion,
      writer,
      reader,
      decode: (data, options = {}) => decodeWith(reader, writer, label, data, options),
    };
    decoderCache.set(key, decoder);
  }
  return decoder as ResolvingDecoder<T>;
}
