// GENERATED FILE - DO NOT EDIT.
// Produced by schemas/codegen.ts from the latest version of each schema:
//   schemas/post/v2.avsc
//   schemas/mentions/v2.avsc
//   schemas/deadletter/v1.avsc
//   schemas/example/v1.avsc
//   schemas/trends/v1.avsc
//   schemas/repartition/v2.avsc
// Regenerate: npx tsc -p tsconfig.json && node dist/schemas/codegen.js
// Timestamps (timestamp-millis) are numbers of milliseconds since the Unix epoch, UTC.

/**
 * A microblog post as ingested from a platform (input topic). Version 2: adds `topic_tags` and
 * `geo`; readable by v1 readers and able to read v1 data (both new fields have defaults).
 * Avro record `io.mentionflow.Post`.
 */
export interface Post {
  /** Platform-assigned post id, unique within `source`. Never empty. */
  id: string;
  /**
   * Post body exactly as published (UTF-8 on the wire). Mention offsets in PostMentions index into
   * this string, so it must not be normalised after ingestion.
   */
  text: string;
  /** Platform-assigned id of the posting account. */
  author_id: string;
  /**
   * When the post was published: milliseconds since the Unix epoch, UTC. Decoded as a JS number
   * (epoch ms), not a Date.
   * Avro long (timestamp-millis): epoch milliseconds, UTC.
   */
  created_at: number;
  /** Platform the post came from, lower-case ASCII, e.g. "weibo". */
  source: string;
  /**
   * BCP 47 language tag if the platform or an upstream detector supplied one (e.g. "zh-Hans"); null
   * when unknown.
   * @defaultValue null
   */
  lang: string | null;
  /**
   * Id (same `source`) of the post this one replies to or reposts; null for an original post.
   * @defaultValue null
   */
  reply_to: string | null;
  /**
   * Free-form platform metadata as string key/value pairs (e.g. client name). Not interpreted by
   * mentionflow; promote a key to a real field in a new schema version once something depends on
   * it.
   * @defaultValue {}
   */
  attributes: Record<string, string>;
  /**
   * Hashtag topics attached to the post, without the surrounding '#' marks (Weibo writes #话题#), in
   * order of appearance. Added in v2; empty when unknown.
   * @defaultValue []
   */
  topic_tags: string[];
  /**
   * Location attached to the post, or null when the author shared none. Added in v2.
   * @defaultValue null
   */
  geo: Geo | null;
}
/** Field names of {@link Post} in schema order (the order of its JSON and binary encodings). */
export const PostFields = ['id', 'text', 'author_id', 'created_at', 'source', 'lang', 'reply_to', 'attributes', 'topic_tags', 'geo'] as const;

/**
 * Where a post was published from, as reported by the platform.
 * Avro record `io.mentionflow.Geo`.
 */
export interface Geo {
  /** Latitude in decimal degrees (WGS 84), -90..90. */
  lat: number;
  /** Longitude in decimal degrees (WGS 84), -180..180. */
  lon: number;
  /**
   * Human-readable place name shown by the platform (e.g. "上海·徐汇区"), or null.
   * @defaultValue null
   */
  place: string | null;
}
/** Field names of {@link Geo} in schema order (the order of its JSON and binary encodings). */
export const GeoFields = ['lat', 'lon', 'place'] as const;

/**
 * The entity mentions the tagger found in one Post (output topic). One record per input post, also
 * when no mention was found (empty `mentions`). Version 2: `Mention.label` carries the label of any
 * label set (e.g. "PER.NAM", "PRODUCT"); `type` and `kind` stay, for WeiboNER-style labels.
 * Avro record `io.mentionflow.PostMentions`.
 */
export interface PostMentions {
  /** `Post.id` of the tagged post. */
  post_id: string;
  /**
   * `Post.created_at` copied from the tagged post: milliseconds since the Unix epoch, UTC (a JS
   * number).
   * Avro long (timestamp-millis): epoch milliseconds, UTC.
   */
  created_at: number;
  /**
   * Position of the input Post record in Kafka, for tracing and replay; null when the post did not
   * come from Kafka (e.g. batch tagging of a file).
   * @defaultValue null
   */
  origin: KafkaPosition | null;
  /**
   * Mentions found in the post, sorted by `start`; spans do not overlap. Empty when the post
   * mentions no entity.
   */
  mentions: Mention[];
  /** The model that tagged the post. */
  model: ModelRef;
  /**
   * When tagging finished: milliseconds since the Unix epoch, UTC (a JS number).
   * Avro long (timestamp-millis): epoch milliseconds, UTC.
   */
  processed_at: number;
  /**
   * Milliseconds between reading the input record and finishing tagging it (fractional), or null
   * when not measured.
   * @defaultValue null
   */
  latency_ms: number | null;
}
/**
 * Field names of {@link PostMentions} in schema order (the order of its JSON and binary encodings).
 */
export const PostMentionsFields = ['post_id', 'created_at', 'origin', 'mentions', 'model', 'processed_at', 'latency_ms'] as const;

/**
 * Where a record was read from in Kafka.
 * Avro record `io.mentionflow.KafkaPosition`.
 */
export interface KafkaPosition {
  /** Kafka topic name. */
  topic: string;
  /** Kafka partition number (>= 0). */
  partition: number;
  /** Kafka offset of the record within the partition (>= 0). */
  offset: number;
}
/**
 * Field names of {@link KafkaPosition} in schema order (the order of its JSON and binary
 * encodings).
 */
export const KafkaPositionFields = ['topic', 'partition', 'offset'] as const;

/**
 * One entity mention: a span of the post text with its label (and, for WeiboNER-style labels
 * TYPE.NAM / TYPE.NOM, its entity type and mention kind). Offsets are given twice, in Unicode code
 * points (`start`/`end`) and in UTF-16 code units (`start_utf16`/`end_utf16`); both pairs are
 * half-open [start, end). They differ only when the text contains characters outside the Basic
 * Multilingual Plane (emoji, CJK Extension B+), which take 2 UTF-16 code units but 1 code point.
 * Avro record `io.mentionflow.Mention`.
 */
export interface Mention {
  /** Surface form: exactly the substring of `Post.text` covered by the span. */
  text: string;
  /**
   * The mention's label as in the model's tag set, which comes from its training data: "PER.NAM",
   * "GPE.NOM" (WeiboNER) or any other label ("PRODUCT", "BRAND"). Added in version 2; empty when
   * the record was written with version 1, whose labels are always `type`.`kind`.
   * @defaultValue ""
   */
  label: string;
  /**
   * Entity type of the mention: the TYPE of a TYPE or TYPE.KIND label when it is PER, ORG, LOC or
   * GPE, else UNKNOWN (see `label`).
   */
  type: EntityType;
  /**
   * Mention kind: named (a TYPE.NAM label) or nominal (TYPE.NOM); UNKNOWN when the label has no
   * kind.
   */
  kind: MentionKind;
  /**
   * Start of the span in `Post.text`, in Unicode code points (not bytes, not UTF-16 units),
   * 0-based, inclusive.
   */
  start: number;
  /**
   * End of the span in `Post.text`, in Unicode code points, 0-based, EXCLUSIVE: the span is [start,
   * end) and end - start is its length in code points.
   */
  end: number;
  /**
   * Start of the span in UTF-16 code units, 0-based, inclusive: `text.slice(start_utf16,
   * end_utf16)` in JavaScript or `text.substring(...)` in Java yields the surface form.
   */
  start_utf16: number;
  /** End of the span in UTF-16 code units, 0-based, EXCLUSIVE. */
  end_utf16: number;
  /**
   * Tagger confidence for the whole span, 0..1 (marginal probability under the CRF). A 32-bit
   * float: expect ~7 significant digits after a round trip.
   */
  confidence: number;
}
/** Field names of {@link Mention} in schema order (the order of its JSON and binary encodings). */
export const MentionFields = ['text', 'label', 'type', 'kind', 'start', 'end', 'start_utf16', 'end_utf16', 'confidence'] as const;

/** Symbols of {@link EntityType} in schema order (the index is the value on the wire). */
export const EntityTypeSymbols = ['PER', 'ORG', 'LOC', 'GPE', 'UNKNOWN'] as const;
/**
 * Entity type (Peng & Dredze 2015 Weibo NER scheme): PER person, ORG organisation, LOC location,
 * GPE geo-political entity. UNKNOWN is the reader default, so a consumer built against an older
 * version reads a type symbol added in a later version as UNKNOWN instead of failing; since version
 * 2 mentionflow also writes UNKNOWN for a label whose type is none of these (read `label`).
 * Avro enum `io.mentionflow.EntityType`.
 * Reader default for unknown symbols: UNKNOWN.
 */
export type EntityType = (typeof EntityTypeSymbols)[number];

/** Symbols of {@link MentionKind} in schema order (the index is the value on the wire). */
export const MentionKindSymbols = ['NAM', 'NOM', 'UNKNOWN'] as const;
/**
 * How the entity is referred to: NAM a name ("马云"), NOM a nominal ("那位老板"). UNKNOWN is the reader
 * default for symbols added in later versions; since version 2 mentionflow also writes it for a
 * label without a NAM/NOM kind ("PRODUCT").
 * Avro enum `io.mentionflow.MentionKind`.
 * Reader default for unknown symbols: UNKNOWN.
 */
export type MentionKind = (typeof MentionKindSymbols)[number];

/**
 * Identifies the model that produced a result.
 * Avro record `io.mentionflow.ModelRef`.
 */
export interface ModelRef {
  /** Model name, e.g. "bilstm-crf-weibo". */
  id: string;
  /** Model artifact version (e.g. a semver or content hash) as written in the model artifact. */
  version: string;
}
/** Field names of {@link ModelRef} in schema order (the order of its JSON and binary encodings). */
export const ModelRefFields = ['id', 'version'] as const;

/**
 * An input record that could not be processed, with the original bytes and why (dead-letter topic).
 * Version 1.
 * Avro record `io.mentionflow.DeadLetter`.
 */
export interface DeadLetter {
  /**
   * The original Kafka record value, byte for byte (including any Confluent wire-format header), so
   * the record can be replayed after a fix.
   */
  payload: Buffer;
  /**
   * The original Kafka record key, byte for byte, or null when the record had none. Keeps
   * partitioning intact on replay.
   * @defaultValue null
   */
  key: Buffer | null;
  /** Topic the failed record was read from. */
  source_topic: string;
  /** Partition the failed record was read from (>= 0). */
  source_partition: number;
  /** Offset of the failed record within its partition (>= 0). */
  source_offset: number;
  /**
   * Pipeline stage that failed. Known values: "decode" (payload is not a valid Post), "tag" (the
   * tagger failed), "encode" (the result could not be encoded), "produce" (the result could not be
   * written). A string rather than an enum so that new stages need no schema change; consumers must
   * accept unknown values.
   */
  stage: string;
  /** Name of the error class, e.g. "DecodeError" or "TaggingError". */
  error_class: string;
  /** Human-readable error message (single line, no stack trace). */
  error_message: string;
  /**
   * When the record was given up on: milliseconds since the Unix epoch, UTC (a JS number).
   * Avro long (timestamp-millis): epoch milliseconds, UTC.
   */
  failed_at: number;
  /**
   * How many times processing was attempted before giving up (>= 1).
   * @defaultValue 1
   */
  attempts: number;
}
/**
 * Field names of {@link DeadLetter} in schema order (the order of its JSON and binary encodings).
 */
export const DeadLetterFields = ['payload', 'key', 'source_topic', 'source_partition', 'source_offset', 'stage', 'error_class', 'error_message', 'failed_at', 'attempts'] as const;

/**
 * One labelled training example (archived training data): a text with gold entity spans and,
 * optionally, gold word segmentation. Version 1.
 * Avro record `io.mentionflow.LabeledExample`.
 */
export interface LabeledExample {
  /** Stable example id, unique within the data set. */
  id: string;
  /** The example text. All offsets below are Unicode code points into this string. */
  text: string;
  /** Gold entity spans, sorted by `start`, non-overlapping; empty for a text without entities. */
  spans: LabeledSpan[];
  /**
   * Gold word segmentation as the code-point offsets where each word ENDS (exclusive ends, strictly
   * increasing, the last one equal to the text length in code points); null when the example has no
   * segmentation.
   * @defaultValue null
   */
  segmentation: number[] | null;
  /** Where the example comes from: platform or corpus name, e.g. "weibo". */
  source: string;
  /**
   * When the original text was published (or, when unknown, when it was annotated): milliseconds
   * since the Unix epoch, UTC (a JS number).
   * Avro long (timestamp-millis): epoch milliseconds, UTC.
   */
  created_at: number;
}
/**
 * Field names of {@link LabeledExample} in schema order (the order of its JSON and binary
 * encodings).
 */
export const LabeledExampleFields = ['id', 'text', 'spans', 'segmentation', 'source', 'created_at'] as const;

/**
 * A gold entity span. Half-open [start, end) in Unicode code points.
 * Avro record `io.mentionflow.LabeledSpan`.
 */
export interface LabeledSpan {
  /** Start of the span, in Unicode code points, 0-based, inclusive. */
  start: number;
  /** End of the span, in Unicode code points, 0-based, EXCLUSIVE. */
  end: number;
  /**
   * Label as TYPE.KIND, e.g. "PER.NAM", "ORG.NOM" (TYPE one of PER/ORG/LOC/GPE, KIND one of
   * NAM/NOM). A string, not an enum, so archived data with other label sets stays readable.
   */
  label: string;
}
/**
 * Field names of {@link LabeledSpan} in schema order (the order of its JSON and binary encodings).
 */
export const LabeledSpanFields = ['start', 'end', 'label'] as const;

/**
 * What was said about which entities in one event-time window of mention records (trends topic,
 * `mentionflow trends`): written once, when the window closes (the watermark, the largest post
 * created_at seen minus the allowed lateness, reaches `window_end`). Keyed by the window start.
 * Version 1.
 * Avro record `io.mentionflow.EntityTrend`.
 */
export interface EntityTrend {
  /**
   * Start of the window, inclusive: milliseconds since the Unix epoch, UTC, a multiple of `hop_ms`.
   * A mention record is in the window when its post's created_at is in [window_start, window_end).
   * Avro long (timestamp-millis): epoch milliseconds, UTC.
   */
  window_start: number;
  /**
   * End of the window, EXCLUSIVE: window_start + the window size.
   * Avro long (timestamp-millis): epoch milliseconds, UTC.
   */
  window_end: number;
  /**
   * Milliseconds between the starts of consecutive windows: the window size for tumbling windows,
   * less for hopping (overlapping) ones.
   */
  hop_ms: number;
  /**
   * The allowed lateness the window was closed with: records whose every window had closed were
   * routed to the late output instead of being counted.
   */
  lateness_ms: number;
  /** Mention records (posts) counted in the window, with or without mentions. */
  records: number;
  /** Mentions counted in the window, all entities together (exact also in the approximate mode). */
  mentions: number;
  /**
   * Distinct entity keys in the window; in the approximate mode the keys tracked at the close (at
   * most the cap).
   */
  entities: number;
  /**
   * True when the window had more distinct keys than the cap on tracked keys, so that its counts
   * are Space-Saving estimates: each entity's `mentions` overestimates the true count by at most
   * its `error`, and `error_bound` bounds every error (<= mentions / cap). False: every count is
   * exact.
   */
  approximate: boolean;
  /**
   * The largest possible overestimate of any entity count in the window: 0 when exact, else the
   * smallest tracked count at the close (<= mentions / cap); an entity missing from the window has
   * a true count of at most this.
   */
  error_bound: number;
  /**
   * The top entities of each type, by mentions: the types in alphabetical order, each type's list
   * by rank.
   */
  top: TrendEntity[];
  /** Entities flagged `is_new`, per type by mentions (at most the top size per type). */
  new_entities: TrendEntity[];
  /** Entities flagged `is_rising`, per type by ratio (at most the top size per type). */
  rising: TrendEntity[];
  /**
   * Records the aggregator has routed to its late output so far (since it started, restored state
   * included), for monitoring.
   */
  late_records: number;
  /**
   * The watermark that closed the window (>= window_end).
   * Avro long (timestamp-millis): epoch milliseconds, UTC.
   */
  watermark: number;
  /**
   * Wall-clock time the record was made: milliseconds since the Unix epoch, UTC.
   * Avro long (timestamp-millis): epoch milliseconds, UTC.
   */
  emitted_at: number;
}
/**
 * Field names of {@link EntityTrend} in schema order (the order of its JSON and binary encodings).
 */
export const EntityTrendFields = ['window_start', 'window_end', 'hop_ms', 'lateness_ms', 'records', 'mentions', 'entities', 'approximate', 'error_bound', 'top', 'new_entities', 'rising', 'late_records', 'watermark', 'emitted_at'] as const;

/**
 * One entity of a window: its key (normalised surface text and label), counts, and how it compares
 * with the previous windows.
 * Avro record `io.mentionflow.TrendEntity`.
 */
export interface TrendEntity {
  /**
   * The normalised surface text: Unicode NFKC (full-width letters and digits become ASCII), ASCII
   * lowercased, whitespace runs trimmed and collapsed to one space.
   */
  text: string;
  /**
   * The mentions' label ("PER.NAM", "PRODUCT"); a mention record written with mentions v1 counts as
   * TYPE.KIND.
   */
  label: string;
  /**
   * The label's type: the part before the first '.' ("PER" for PER.NAM, "PRODUCT" for PRODUCT). Top
   * lists are per type.
   */
  type: string;
  /**
   * The label's kind: the part after the first '.' ("NAM", "NOM"), empty when the label has none.
   */
  kind: string;
  /**
   * Mentions of the entity in the window (an estimate in the approximate mode: at most `error`
   * above the true count).
   */
  mentions: number;
  /** Upper bound of `mentions` minus the true count: 0 when exact. */
  error: number;
  /**
   * Mention records (posts) in the window mentioning the entity at least once; in the approximate
   * mode counted since the entity was last tracked (a lower bound).
   */
  posts: number;
  /**
   * Distinct authors of those posts where the input records carry an author (`author_id`); null
   * where they do not (mention records have no author).
   * @defaultValue null
   */
  authors: number | null;
  /**
   * Position in its type's top list, 1-based, by mentions (ties: by text, then label); 0 in the new
   * and rising lists for an entity outside the top list.
   */
  rank: number;
  /**
   * The entity's mentions in the previous windows (oldest first, at most the history length; 0
   * where it was not counted), for sparklines.
   */
  recent: number[];
  /**
   * Mean of `recent` over the full history length (missing windows count as 0); 0 when there is no
   * history yet.
   */
  trailing_avg: number;
  /**
   * mentions / trailing_avg, or null when trailing_avg is 0.
   * @defaultValue null
   */
  ratio: number | null;
  /**
   * Counted at least the minimum count here and in none of the previous windows of a full history.
   */
  is_new: boolean;
  /** Counted at least the minimum count, with `ratio` at least the rising ratio. */
  is_rising: boolean;
  /**
   * The latest mentions of the entity in the window by created_at (at most a few), newest first.
   */
  examples: MentionRef[];
}
/**
 * Field names of {@link TrendEntity} in schema order (the order of its JSON and binary encodings).
 */
export const TrendEntityFields = ['text', 'label', 'type', 'kind', 'mentions', 'error', 'posts', 'authors', 'rank', 'recent', 'trailing_avg', 'ratio', 'is_new', 'is_rising', 'examples'] as const;

/**
 * Where one mention of the entity is: the post and the span, to show the post with the mention
 * marked.
 * Avro record `io.mentionflow.MentionRef`.
 */
export interface MentionRef {
  /** `Post.id` of the post. */
  post_id: string;
  /**
   * `Post.created_at` of the post: milliseconds since the Unix epoch, UTC.
   * Avro long (timestamp-millis): epoch milliseconds, UTC.
   */
  created_at: number;
  /** Start of the mention in the post text, in UTF-16 code units, inclusive. */
  start_utf16: number;
  /** End of the mention in the post text, in UTF-16 code units, EXCLUSIVE. */
  end_utf16: number;
  /** The mention's surface text as in the post (before normalisation). */
  surface: string;
}
/**
 * Field names of {@link MentionRef} in schema order (the order of its JSON and binary encodings).
 */
export const MentionRefFields = ['post_id', 'created_at', 'start_utf16', 'end_utf16', 'surface'] as const;

/**
 * One entity of one mention record, re-keyed for the scaled-out trends (`mentionflow trends --stage
 * rekey`): the repartition topic holds one such record per (post, entity key), keyed by the entity
 * key (normalised text U+0001 label, as TrendState's trendKey), so that every mention of an entity
 * lands in one partition and one aggregator counts it. A post without mentions gives one record
 * with no spans, keyed by its post id, so that it is counted in `records` and moves its source's
 * event time. Version 2: adds `kind`; a PROGRESS record is a progress marker of the re-key stage
 * (written to every repartition partition: the highest created_at it has seen from one source
 * partition), which counts nothing and only moves that source's event time in the partition's
 * aggregator, so that a partition with no entity records still closes its windows. Readable by v1
 * readers as an entity record (the field is skipped), so aggregators are upgraded before re-key
 * stages; reads v1 data (kind ENTITY).
 * Avro record `io.mentionflow.EntityMention`.
 */
export interface EntityMention {
  /** `Post.id` of the post. */
  post_id: string;
  /**
   * `Post.created_at`: milliseconds since the Unix epoch, UTC; the event time the windows use.
   * Avro long (timestamp-millis): epoch milliseconds, UTC.
   */
  created_at: number;
  /**
   * The post's author where the input record carries one; null where it does not (mention records
   * have no author).
   * @defaultValue null
   */
  author_id: string | null;
  /**
   * The entity's label ("PER.NAM", "PRODUCT"; TYPE.KIND for a mentions v1 record); empty in the
   * record of a post without mentions.
   */
  label: string;
  /**
   * The post's mentions of this entity, in text order; empty in the record of a post without
   * mentions.
   */
  spans: EntitySpan[];
  /**
   * True on exactly one of the records of a post (its first entity, or its only record when it has
   * none), so that the post counts once in a window's `records`.
   */
  counts_post: boolean;
  /** The topic the mention record was read from (the mentions topic). */
  source_topic: string;
  /** Its partition: the aggregators keep a watermark per source partition. */
  source_partition: number;
  /** Its offset, for tracing. */
  source_offset: number;
  /**
   * What the record is (added in version 2; ENTITY when written with version 1).
   * @defaultValue "ENTITY"
   */
  kind: EntityMentionKind;
}
/**
 * Field names of {@link EntityMention} in schema order (the order of its JSON and binary
 * encodings).
 */
export const EntityMentionFields = ['post_id', 'created_at', 'author_id', 'label', 'spans', 'counts_post', 'source_topic', 'source_partition', 'source_offset', 'kind'] as const;

/**
 * One mention of the entity in the post.
 * Avro record `io.mentionflow.EntitySpan`.
 */
export interface EntitySpan {
  /** The mention's surface text as in the post (before normalisation). */
  surface: string;
  /** Start of the mention in the post text, in UTF-16 code units, inclusive. */
  start_utf16: number;
  /** End of the mention in the post text, in UTF-16 code units, EXCLUSIVE. */
  end_utf16: number;
}
/**
 * Field names of {@link EntitySpan} in schema order (the order of its JSON and binary encodings).
 */
export const EntitySpanFields = ['surface', 'start_utf16', 'end_utf16'] as const;

/** Symbols of {@link EntityMentionKind} in schema order (the index is the value on the wire). */
export const EntityMentionKindSymbols = ['ENTITY', 'PROGRESS'] as const;
/**
 * ENTITY an entity record (all fields as above); PROGRESS a progress marker: `created_at` the
 * highest created_at the re-key stage has seen from source partition `source_partition` (at offset
 * `source_offset`), `post_id`, `label` empty, `spans` empty, `counts_post` false. The enum default
 * ENTITY is what a reader of this version reads a symbol added later as.
 * Avro enum `io.mentionflow.EntityMentionKind`.
 * Reader default for unknown symbols: ENTITY.
 */
export type EntityMentionKind = (typeof EntityMentionKindSymbols)[number];

/** The top-level record type of each schema family, at its latest version. */
export interface SchemaRecords {
  post: Post;
  mentions: PostMentions;
  deadletter: DeadLetter;
  example: LabeledExample;
  trends: EntityTrend;
  repartition: EntityMention;
}

/** The schema versions these types were generated from (the latest of each family). */
export const GENERATED_FROM_VERSIONS = {
  post: 2,
  mentions: 2,
  deadletter: 1,
  example: 1,
  trends: 1,
  repartition: 2,
} as const;
