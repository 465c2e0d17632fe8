/**
 * The one JSON shape of a mention and of a mention record: the Avro field
 * names of schemas/mentions (latest version), in schema order. `tag --json`,
 * `run`'s NDJSON, `tail --json` and the library all print mentions through
 * these functions, so they agree by construction:
 *
 *   {"text":"北京","label":"GPE.NAM","type":"GPE","kind":"NAM","start":2,"end":4,
 *    "start_utf16":2,"end_utf16":4,"confidence":0.98}
 *
 * A record written with mentions v1 has no label (it decodes to ""); its
 * JSON carries the label it stood for, TYPE.KIND.
 */
import { KafkaPositionFields, MentionFields, ModelRefFields, PostMentionsFields, type Mention, type PostMentions } from './types.generated.js';

/** A mention as JSON: the fields of the Avro `Mention` record. */
export type MentionJson = { [K in (typeof MentionFields)[number]]: Mention[K] };

/** A mention record as JSON: the fields of the Avro `PostMentions` record, its mentions as {@link MentionJson}. */
export type PostMentionsJson = Omit<PostMentions, 'mentions'> & { mentions: MentionJson[] };

/** The label of a mention record; for one written with mentions v1 (empty `label`), TYPE.KIND. */
export function mentionLabel(m: Pick<Mention, 'label' | 'type' | 'kind'>): string {
  return m.label !== '' ? m.label : `${m.type}.${m.kind}`;
}

/** The JSON object of a mention: exactly the schema's fields, in schema order (extra properties dropped). */
export function mentionJson(m: Mention): MentionJson {
  const out = {} as Record<string, unknown>;
  for (const f of MentionFields) out[f] = f === 'label' ? mentionLabel(m) : m[f];
  return out as MentionJson;
}

/** A plain object of `fields` of `value`, in that order. */
function pick<T extends object>(value: T, fields: readonly (keyof T)[]): T {
  const out = {} as T;
  for (const f of fields) out[f] = value[f];
  return out;
}

/** The JSON object of a mention record (a decoded PostMentions): schema fields in order, plain objects only. */
export function postMentionsJson(r: PostMentions): PostMentionsJson {
  return {
    ...pick(r, PostMentionsFields),
    origin: r.origin === null ? null : pick(r.origin, KafkaPositionFields),
    mentions: r.mentions.map(mentionJson),
    model: pick(r.model, ModelRefFields),
  };
}
