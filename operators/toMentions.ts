import { map } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import { TaggingError } from '../common/errors.js';
import type { Mention } from '../models/tagger.js';
import type { KafkaPosition, Mention as MentionRecord, ModelRef, PostMentions } from '../schemas/types.generated.js';
import { failItem, withValue } from './items.js';
import { checkFunction, checkNonEmptyString, checkObject, checkOptionsObject } from './options.js';
import { FILE_TOPIC_PREFIX, type Item, type OkItem, type RecordRef, type TaggedPost } from './types.js';

const OP = 'toMentions';
const TYPES: readonly string[] = ['PER', 'ORG', 'LOC', 'GPE'];
const KINDS: readonly string[] = ['NAM', 'NOM'];

/** Options of {@link toMentions}. */
export interface ToMentionsOptions {
  /** The model that tagged the posts, written to every record (both non-empty). */
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
 * text equal to the span, no overlaps, known type and kind, confidence in
 * [0, 1]. A post whose mentions break this becomes a FailedItem (stage 'tag',
 * TaggingError).
 *
 * Throws a ConfigError at construction for a missing model id or version.
 */
export function toMentions(opts: ToMentionsOptions): OperatorFunction<Item<TaggedPost>[], Item<PostMentions>[]> {
  checkOptionsObject(OP, opts, false);
  checkObject(OP, 'model', opts.model, 'pass { id: tagger.modelId, version: tagger.modelVersion }');
  checkNonEmptyString(OP, 'model.id', opts.model.id, 'use the tagger modelId, e.g. "bilstm-crf-weibo"');
  checkNonEmptyString(OP, 'model.version', opts.model.version, 'use the tagger modelVersion');
  checkFunction(OP, 'now', opts.now, true, 'pass () => Date.now()');
  const model: ModelRef = { id: opts.model.id, version: opts.model.version };
  const now = opts.now ?? Date.now;
  return map((batch) => {
    if (!batch.some((item) => item.kind === 'ok')) return batch as Item<PostMentions>[];
    const processedAt = now();
    return batch.map((item) => (item.kind === 'ok' ? toRecord(item, model, processedAt) : item));
  });
}

function toRecord(item: OkItem<TaggedPost>, model: ModelRef, processedAt: number): Item<PostMentions> {
  const { post, mentions } = item.value;
  let records: MentionRecord[];
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
    model: { ...model },
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
function mentionRecords(text: string, mentions: readonly Mention[]): MentionRecord[] {
  if (mentions.length === 0) return []; // nothing to check (most posts): skip splitting the text
  const chars = Array.from(text);
  const utf16 = [0];
  for (const c of chars) utf16.push(utf16[utf16.length - 1] + c.length);
  const sorted = [...mentions].sort((a, b) => a.start - b.start);
  let prevEnd = 0;
  return sorted.map((m, i) => {
    const where = `mention ${i} ${JSON.stringify(m?.text)} [${m?.start}, ${m?.end})`;
    if (!Number.isInteger(m.start) || !Number.isInteger(m.end) || m.start < 0 || m.end <= m.start || m.end > chars.length) {
      throw new Error(`${where}: span outside the text of ${chars.length} code points`);
    }
    if (m.start < prevEnd) throw new Error(`${where}: overlaps the previous mention (ends at ${prevEnd})`);
    prevEnd = m.end;
    if (m.startUtf16 !== utf16[m.start] || m.endUtf16 !== utf16[m.end]) {
      throw new Error(`${where}: UTF-16 span [${m.startUtf16}, ${m.endUtf16}) should be [${utf16[m.start]}, ${utf16[m.end]})`);
    }
    if (m.text !== text.slice(m.startUtf16, m.endUtf16)) {
      throw new Error(`${where}: surface text differs from the text span ${JSON.stringify(text.slice(m.startUtf16, m.endUtf16))}`);
    }
    if (!TYPES.includes(m.type) || !KINDS.includes(m.kind)) {
      throw new Error(`${where}: unknown type/kind ${String(m.type)}.${String(m.kind)}`);
    }
    if (typeof m.confidence !== 'number' || !(m.confidence >= 0 && m.confidence <= 1)) {
      throw new Error(`${where}: confidence ${String(m.confidence)} is not in [0, 1]`);
    }
    return {
      text: m.text,
      type: m.type,
      kind: m.kind,
      start: m.start,
      end: m.end,
      start_utf16: m.startUtf16,
      end_utf16: m.endUtf16,
      confidence: m.confidence,
    };
  });
}
