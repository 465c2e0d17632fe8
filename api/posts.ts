/**
 * Plain post objects into the streaming stages, so that nobody builds
 * `RecordRef`s or Avro bytes by hand: {@link postItems} for the operators,
 * {@link postSource} for mentionStream. A post is checked exactly as the
 * file mode and `mentionflow produce` check it (encoded with the latest Post
 * schema, then decoded by decodePosts), and one that is not a valid Post
 * becomes a FailedItem (stage 'decode') saying which field is wrong.
 */
import { defer, from, map, ReplaySubject, takeUntil } from 'rxjs';
import type { ObservableInput, OperatorFunction } from 'rxjs';
import { ConfigError } from '../common/errors.js';
import { decodePosts } from '../operators/decodePosts.js';
import type { Item, RawRecord, RecordRef } from '../operators/types.js';
import type { RecordSource } from '../pipeline/core/ports.js';
import { encodeStrict, loadSchema } from '../schemas/registry.js';
import type { Post } from '../schemas/types.generated.js';

/**
 * A post as a plain object: the required fields of the Post schema; the
 * fields with defaults (lang, reply_to, attributes, topic_tags, geo) may be
 * left out.
 */
export type PostInput = Pick<Post, 'id' | 'text' | 'author_id' | 'created_at' | 'source'> & Partial<Omit<Post, 'id' | 'text' | 'author_id' | 'created_at' | 'source'>>;

/** Options of {@link postItems} and {@link postSource}. */
export interface PostRecordsOptions {
  /**
   * The `topic` of the items' refs (it ends up in dead letters and in the
   * mention records' origin). Default 'memory:posts'. The offset of a post is
   * its index in the input, from 0.
   */
  topic?: string;
}

const DEFAULT_TOPIC = 'memory:posts';

function topicOf(op: string, options: PostRecordsOptions): string {
  if (typeof options !== 'object' || options === null) throw new ConfigError(`${op}: options must be an object, e.g. { topic: "memory:posts" }`);
  const topic = options.topic ?? DEFAULT_TOPIC;
  if (typeof topic !== 'string' || topic === '') throw new ConfigError(`${op}: topic must be a non-empty string, got ${JSON.stringify(topic)}`);
  return topic;
}

/** The RawRecord of a plain post: its Avro encoding, or its JSON with the reason it is not a Post. */
function postRecord(post: unknown, ref: RecordRef): RawRecord {
  try {
    return { ref, key: null, value: encodeStrict(loadSchema('post'), post) };
  } catch (err) {
    let json: string;
    try {
      json = JSON.stringify(post) ?? String(post);
    } catch {
      json = String(post);
    }
    return { ref, key: null, value: Buffer.from(json, 'utf8'), problem: `post ${ref.offset} is not a Post: ${(err as Error).message}` };
  }
}

function toRecords(topic: string): OperatorFunction<unknown, RawRecord> {
  return map((post, index) => postRecord(post, { topic, partition: 0, offset: String(index), receivedAt: Date.now() }));
}

/**
 * Wraps plain posts into the items the operators take: one item per post, in
 * order, an OkItem with the Post (defaults filled in) or a FailedItem (stage
 * 'decode', DecodeError naming the bad fields). Each subscription numbers
 * its posts from 0.
 *
 * @example
 * from(posts).pipe(postItems(), batchItems({ maxCount: 32, maxWaitMs: 10 }), tagBatch({ tagger }), toMentions({ model }))
 */
export function postItems(options: PostRecordsOptions = {}): OperatorFunction<PostInput, Item<Post>> {
  const topic = topicOf('postItems', options);
  return (posts) => defer(() => posts.pipe(toRecords(topic), decodePosts()));
}

/**
 * A RecordSource over plain posts (an array, an Observable, an async
 * iterable, ...) for mentionStream. `stop()` ends the input early; acks are
 * not needed (there is nothing to commit) and ignored. Subscribe once.
 */
export function postSource(posts: ObservableInput<PostInput>, options: PostRecordsOptions = {}): RecordSource {
  const topic = topicOf('postSource', options);
  const stopped = new ReplaySubject<void>(1);
  return {
    records: () => from(posts).pipe(takeUntil(stopped), toRecords(topic)),
    ack: () => undefined,
    stop: () => stopped.next(),
  };
}
