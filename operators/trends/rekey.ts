/**
 * The re-key step of the scaled-out trends, as a pure function: one mention
 * record in, its entity records for the repartition topic out (schema
 * repartition v2, EntityMention, kind ENTITY), each with its Kafka key.
 *
 * - One record per (post, entity key), not per mention: the post's mentions
 *   of one entity travel together (their spans in text order), so the
 *   aggregator that owns the entity counts the post once in its `posts`.
 * - Keyed by the entity key (trendKey: normalised text U+0001 label), so that
 *   every mention of an entity lands in one partition.
 * - Exactly one record of a post has `counts_post` (its first entity; a post
 *   without mentions gets one record with no spans, keyed by its post id), so
 *   the post counts once in a window's `records` and moves its source's
 *   event time wherever it lands.
 */
import { DecodeError } from '../../common/errors.js';
import { decodeStrict, loadSchema, resolvingDecoder } from '../../schemas/registry.js';
import type { EntityMention, PostMentions } from '../../schemas/types.generated.js';
import { trendKey, type TrendInput } from './trendState.js';

/** Where the mention record was read from. */
export interface RekeySource {
  topic: string;
  partition: number;
  offset: number;
}

/** An entity record and its key. */
export interface KeyedEntityMention {
  key: string;
  value: EntityMention;
}

/** The entity records of one mention record (at least one). */
export function entityMentions(record: PostMentions & { author_id?: string | null }, source: RekeySource): KeyedEntityMention[] {
  const base = {
    post_id: record.post_id,
    created_at: record.created_at,
    author_id: typeof record.author_id === 'string' ? record.author_id : null,
    source_topic: source.topic,
    source_partition: source.partition,
    source_offset: source.offset,
    kind: 'ENTITY' as const,
  };
  const byKey = new Map<string, KeyedEntityMention>();
  for (const m of record.mentions) {
    const key = trendKey(m);
    let e = byKey.get(key);
    if (e === undefined) {
      e = { key, value: { ...base, label: m.label !== '' ? m.label : `${m.type}.${m.kind}`, spans: [], counts_post: byKey.size === 0 } };
      byKey.set(key, e);
    }
    e.value.spans.push({ surface: m.text, start_utf16: m.start_utf16, end_utf16: m.end_utf16 });
  }
  if (byKey.size === 0) return [{ key: record.post_id, value: { ...base, label: '', spans: [], counts_post: true } }];
  return [...byKey.values()];
}

/** An entity record as the trends read it (TrendState.add): its spans as mentions of its label; `countsRecord` from counts_post. */
export function trendInputOf(e: EntityMention): TrendInput & { countsRecord: boolean } {
  return {
    post_id: e.post_id,
    created_at: e.created_at,
    author_id: e.author_id,
    countsRecord: e.counts_post,
    mentions: e.spans.map((s) => ({ text: s.surface, label: e.label, type: '', kind: '', start_utf16: s.start_utf16, end_utf16: s.end_utf16 })),
  };
}

/**
 * A progress marker (kind PROGRESS): the re-key stage has seen created_at up
 * to `createdAt` from source partition `source.partition` (its last record at
 * `source.offset`). Written to every repartition partition; it counts nothing.
 */
export function progressMarker(createdAt: number, source: RekeySource): EntityMention {
  return {
    post_id: '',
    created_at: createdAt,
    author_id: null,
    label: '',
    spans: [],
    counts_post: false,
    source_topic: source.topic,
    source_partition: source.partition,
    source_offset: source.offset,
    kind: 'PROGRESS',
  };
}

/**
 * Decodes a repartition record written with v2 (latest) or v1 (read as an
 * ENTITY record). Raw Avro has no writer version: v2 is tried first (a v1
 * payload lacks the trailing kind byte, so it fails strictly), then v1.
 * Throws a DecodeError naming both attempts.
 */
export function decodeEntityMention(value: Buffer): EntityMention {
  try {
    return decodeStrict<EntityMention>(loadSchema('repartition'), value);
  } catch (latest) {
    try {
      return resolvingDecoder<EntityMention>('repartition', 1).decode(value);
    } catch {
      throw latest instanceof DecodeError ? latest : new DecodeError(`cannot decode repartition record: ${(latest as Error).message}`, { cause: latest });
    }
  }
}
