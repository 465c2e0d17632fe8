import { map } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import { TaggingError } from '../common/errors.js';
import { labelFields, type Mention } from '../models/mention.js';
import { isLabel } from '../models/text/labels.js';
import { codePointLength, isSurrogatePairAt } from '../models/text/codepoints.js';
import type { KafkaPosition, ModelRef, PostMentions } from '../schemas/types.generated.js';
import { failItem, withValue } from './items.js';
import { checkFunction, checkNonEmptyString, checkObject, checkOptionsObject } from './options.js';
import { FILE_TOPIC_PREFIX, type Item, type OkItem, type RecordRef, type TaggedPost } from './types.js';

const OP = 'toMentions';

/** Options of {@link toMentions}. */
export interface ToMentionsOptions {
  /**
   * The model that tagged the posts, written to every record (both
   * non-empty); a post tagged by a leased model (TaggedPost.model, a hot-swapped
   * tagger) gets that one instead.
   */
  model: ModelRef;
  /** Wall clock in ms since the epoch for `processed_at`; default Date.now. If it throws, the stream errors. */
  now?: () => number;
}

/**
 * Builds the output record (schemas/mentions, PostMentions) of every tagged
 * post, keeping batch order and length; failed items pass through. Fields:
 * post id and created_at copied from the post; origin from the item's ref
 * (null when the offset is not a safe integer); mentions sorted by start
 * with code-point and UTF-16 offsets and confidence; the model; processed_at
 * (one `now()` per batch); latency_ms = processed_at - ref.receivedAt.
 *
 * The tagger's output is checked against the post text before it is
 * published: offsets inside the text and consistent with each other, surface
 * text equal to the span, no overlaps, a label (non-empty, no whitespace)
 * with the type and kind it implies (models/mention.ts), confidence in
 * [0, 1]. A post whose mentions break this becomes a FailedItem (stage 'tag',
 * TaggingError).
 *
 * Throws a ConfigError at construction for a missing model id or version.
 */
export function toMentions(opts: ToMentionsOptions): OperatorFunction<Item<TaggedPost>[], Item<PostMentions>[]> {
  return map(mentionsBuilder(opts));
}

/**
 * toMentions' work on one batch, without RxJS: the function toMentions maps
 * every batch through (same options, same checks at construction).
 */
export function mentionsBuilder(opts: ToMentionsOptions): (batch: Item<TaggedPost>[]) => Item<PostMentions>[] {
  checkOptionsObject(OP, opts, false);
  checkObject(OP, 'model', opts.model, 'pass { id: tagger.modelId, version: tagger.modelVersion }');
  checkNonEmptyString(OP, 'model.id', opts.model.id, 'use the tagger modelId, e.g. "bilstm-crf-weibo"');
  checkNonEmptyString(OP, 'model.version', opts.model.version, 'use the tagger modelVersion');
  checkFunction(OP, 'now', opts.now, true, 'pass () => Date.now()');
  const model: ModelRef = { id: opts.model.id, version: opts.model.version };
  const now = opts.now ?? Date.now;
  return (batch) => {
    if (!batch.some((item) => item.kind === 'ok')) return batch as Item<PostMentions>[];
    const processedAt = now();
    return batch.map((item) => (item.kind === 'ok' ? toRecord(item, model, processedAt) : item));
  };
}

function toRecord(item: OkItem<TaggedPost>, model: ModelRef, processedAt: number): Item<PostMentions> {
  const { post, mentions } = item.value;
  let records: Mention[];
  try {
    records = mentionRecords(post.text, mentions);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    const error = new TaggingError(`tagger returned invalid mentions for post ${JSON.stringify(post.id)}: ${detail}`, {
      cause: err,
    });
    return failItem(item, 'tag', error);
  }
  const latency = processedAt - item.ref.receivedAt;
  return withValue(item, {
    post_id: post.id,
    created_at: post.created_at,
    origin: origin(item.ref),
    mentions: records,
    model: item.value.model === undefined ? { ...model } : { id: item.value.model.id, version: item.value.model.version },
    processed_at: processedAt,
    latency_ms: Number.isFinite(latency) ? latency : null,
  });
}

function origin(ref: RecordRef): KafkaPosition | null {
  if (ref.topic.startsWith(FILE_TOPIC_PREFIX)) return null; // the schema: null when not read from Kafka
  const offset = /^\d+$/.test(ref.offset) ? Number(ref.offset) : NaN;
  if (!Number.isSafeInteger(offset)) return null;
  return { topic: ref.topic, partition: ref.partition, offset };
}

/** Checks the tagger's mentions against the text and converts them, sorted by start. */
/**
 * Checks the mentions against the text in one pass over it, by code points
 * from one mention to the next (no array of the whole text: a post of a
 * million characters with tens of thousands of mentions stays cheap).
 */
function mentionRecords(text: string, mentions: readonly Mention[]): Mention[] {
  if (mentions.length === 0) return []; // nothing to check (most posts): skip scanning the text
  const length = codePointLength(text);
  const sorted = [...mentions].sort((a, b) => a.start - b.start);
  let prevEnd = 0;
  let cp = 0; // code points walked so far ...
  let u16 = 0; // ... and their UTF-16 length
  const utf16At = (to: number): number => {
    for (; cp < to; cp++) u16 += isSurrogatePairAt(text, u16) ? 2 : 1;
    return u16;
  };
  return sorted.map((m, i) => {
    const fail = (detail: string) => new Error(`mention ${i} ${JSON.stringify(m?.text)} [${m?.start}, ${m?.end}): ${detail}`);
    if (!Number.isInteger(m.start) || !Number.isInteger(m.end) || m.start < 0 || m.end <= m.start || m.end > length) {
      throw fail(`span outside the text of ${length} code points`);
    }
    if (m.start < prevEnd) throw fail(`overlaps the previous mention (ends at ${prevEnd})`);
    prevEnd = m.end;
    const start16 = utf16At(m.start);
    const end16 = utf16At(m.end);
    if (m.start_utf16 !== start16 || m.end_utf16 !== end16) {
      throw fail(`UTF-16 span [${m.start_utf16}, ${m.end_utf16}) should be [${start16}, ${end16})`);
    }
    if (m.text !== text.slice(m.start_utf16, m.end_utf16)) {
      throw fail(`surface text differs from the text span ${JSON.stringify(text.slice(m.start_utf16, m.end_utf16))}`);
    }
    if (typeof m.label !== 'string' || !isLabel(m.label)) throw fail(`invalid label ${JSON.stringify(m.label)}`);
    const fields = labelFields(m.label);
    if (m.type !== fields.type || m.kind !== fields.kind) {
      throw fail(`type/kind ${String(m.type)}.${String(m.kind)} do not match label ${m.label} (${fields.type}.${fields.kind})`);
    }
    if (typeof m.confidence !== 'number' || !(m.confidence >= 0 && m.confidence <= 1)) {
      throw fail(`confidence ${String(m.confidence)} is not in [0, 1]`);
    }
    return {
      text: m.text,
      ...fields,
      start: m.start,
      end: m.end,
      start_utf16: m.start_utf16,
      end_utf16: m.end_utf16,
      confidence: m.confidence,
    };
  });
}
