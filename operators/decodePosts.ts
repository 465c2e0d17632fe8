import { map } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import { ConfigError, DecodeError, MentionflowError } from '../common/errors.js';
import { postStatus, POST_OK } from '../schemas/postScan.js';
import { latestVersion, listVersions, resolvingDecoder, trustedReader } from '../schemas/registry.js';
import type { ResolvingDecoder, WireFormat } from '../schemas/registry.js';
import type { Post } from '../schemas/types.generated.js';
import { checkOneOf, checkOptionsObject } from './options.js';
import type { Item, RawRecord } from './types.js';

const OP = 'decodePosts';
const WIRE_FORMATS: readonly WireFormat[] = ['raw', 'confluent', 'auto'];

/** Options of {@link decodePosts}. */
export interface DecodePostsOptions {
  /**
   * How payloads are framed: 'raw' Avro body (default), 'confluent' (a
   * Schema Registry header 0x00 + 4-byte schema id must precede the body),
   * or 'auto' (header if present and the rest decodes, else raw). See
   * WireFormat in schemas/registry.ts.
   */
  wire?: WireFormat;
  /**
   * The Post schema version whose shape the decoded values take (default:
   * the latest on disk). Payloads written with any version the reader can
   * resolve are accepted. The emitted values are typed as the latest `Post`;
   * with an older reader version the fields added later are absent.
   */
  readerVersion?: number;
}

/**
 * Decodes raw input records into posts. Each record becomes exactly one item,
 * in order: an OkItem carrying the Post, or a FailedItem (stage 'decode', a
 * DecodeError saying why) for a null value, garbage, truncated Avro, a
 * record of another schema, a post that breaks a semantic rule (empty id),
 * or a record whose source gave a `problem` (then that is the reason).
 * A bad record never becomes a stream error; source errors pass through.
 *
 * Avro is not self-describing, so the writer version is found by trying the
 * known versions newest first with strict decoding (every byte must be
 * consumed): a record written with v1 ends too early for v2, and a v2
 * record leaves trailing bytes for v1, so at most one version fits.
 *
 * Throws a ConfigError at construction for an unknown `wire` or
 * `readerVersion`.
 */
export function decodePosts(opts: DecodePostsOptions = {}): OperatorFunction<RawRecord, Item<Post>> {
  return map(postDecoder(opts));
}

/**
 * decodePosts' work on one record, without RxJS: the function decodePosts
 * maps every record through (same options, same checks at construction).
 * For code that already loops over records (bench/pipelineWorker.ts's codec
 * loop); a stream uses decodePosts.
 */
export function postDecoder(opts: DecodePostsOptions = {}): (record: RawRecord) => Item<Post> {
  checkOptionsObject(OP, opts, true);
  const wire = opts.wire ?? 'raw';
  checkOneOf(OP, 'wire', wire, WIRE_FORMATS);
  const versions = listVersions('post');
  const readerVersion = opts.readerVersion ?? latestVersion('post');
  if (!versions.includes(readerVersion)) {
    throw new ConfigError(
      `${OP}: readerVersion ${String(readerVersion)} is not a Post schema version; ` +
        `use one of ${versions.join(', ')} (or omit it for the latest)`,
    );
  }
  const decoders: ResolvingDecoder<Post>[] = [];
  for (const writerVersion of [...versions].reverse()) {
    try {
      decoders.push(resolvingDecoder<Post>('post', writerVersion, readerVersion));
    } catch (err) {
      // A writer version the reader cannot resolve is simply not accepted.
      if (!(err instanceof MentionflowError)) throw err;
    }
  }
  const wireOptions = { wireFormat: wire }; // one object for every payload
  const latest = latestPostDecoder(decoders, wire);
  const decode = (record: RawRecord): Item<Post> => {
    const { ref, key, value } = record;
    try {
      if (record.problem !== undefined) throw new DecodeError(`cannot decode Post: ${record.problem}`);
      const post = (latest !== undefined ? wholeLatestPost(latest, value) : undefined) ?? decodePayload(decoders, value, wireOptions);
      return { kind: 'ok', ref, payload: value, key, value: post };
    } catch (err) {
      const error =
        err instanceof DecodeError
          ? err
          : new DecodeError(`cannot decode Post: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      return { kind: 'failed', ref, payload: value, key, stage: 'decode', error };
    }
  };
  return decode;
}

/**
 * The decoder of raw latest-version Posts into the latest version, when it is
 * the first one tried (raw wire, reader version the latest): the one the
 * Post-specific check (schemas/postScan.ts) can vouch for.
 */
function latestPostDecoder(decoders: readonly ResolvingDecoder<Post>[], wire: WireFormat): ResolvingDecoder<Post> | undefined {
  const first = decoders[0];
  const latest = latestVersion('post');
  return wire === 'raw' && first !== undefined && first.writerVersion === latest && first.readerVersion === latest ? first : undefined;
}

/**
 * The common case: a payload that schemas/postScan.ts's check finds to be one
 * whole latest-version Post (what the generic scan of decodeStrict accepts,
 * strings valid UTF-8) with a non-blank id is read without the generic scan,
 * by the Post type's trusted reader (schemas/registry/reader.ts: no checks,
 * the scan has made them; the Post is a plain object with avsc's fields). Any
 * other payload gives undefined and takes the full path, which says what is wrong.
 */
function wholeLatestPost(decoder: ResolvingDecoder<Post>, value: Buffer | null): Post | undefined {
  if (!Buffer.isBuffer(value) || postStatus(value) !== POST_OK) return undefined;
  const read = trustedReader(decoder.reader);
  if (read === null) return undefined; // a Post type the readers do not cover: the full path decodes it
  position.pos = 0;
  const post = read(value, position) as Post;
  return position.pos === value.length ? post : undefined;
}

/** Where the trusted reader stopped (one object for every payload; reads are synchronous). */
const position = { pos: 0 };

function decodePayload(decoders: readonly ResolvingDecoder<Post>[], value: Buffer | null, wireOptions: { wireFormat: WireFormat }): Post {
  if (value === null || value === undefined) {
    throw new DecodeError('cannot decode Post: the record has no value (null payload, e.g. a tombstone)');
  }
  if (!(value instanceof Uint8Array)) {
    throw new DecodeError(`cannot decode Post: the record value is a ${typeof value}, not bytes`);
  }
  const errors: DecodeError[] = [];
  for (const decoder of decoders) {
    let post: Post;
    try {
      post = decoder.decode(value, wireOptions);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      errors.push(err);
      continue;
    }
    checkPost(post);
    return post;
  }
  if (errors.length === 1) throw errors[0];
  // Each attempt's message starts with its own label ("cannot decode post v1
  // (read as v2) from 20 bytes: "); keep only the reasons, once if they agree.
  const reasons = errors.map((e) => e.message.replace(LABEL_PREFIX, ''));
  const tried = decoders.map((d) => `v${d.writerVersion}`);
  const prefix = `cannot decode Post from ${value.length} bytes`;
  const message = reasons.every((r) => r === reasons[0])
    ? `${prefix} (tried writer versions ${tried.join(', ')}): ${reasons[0]}`
    : `${prefix}: ${reasons.map((r, i) => `as ${tried[i]}: ${r}`).join('; ')}`;
  throw new DecodeError(message, { cause: errors[0] });
}

const LABEL_PREFIX = /^cannot decode post v\d+(?: \(read as v\d+\))?(?: from \d+ bytes)?(?: \([^)]*Confluent header\))?: /;

/** Rules the schema cannot express. */
function checkPost(post: Post): void {
  if (post.id.trim() === '') {
    throw new DecodeError('invalid Post: empty id (Post.id must be the platform post id, never empty)');
  }
}
