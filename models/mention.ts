/**
 * The mention a tagger returns: exactly the Avro `Mention` record of
 * schemas/mentions (field names and order), so a mention has one shape
 * everywhere: the library, `tag --json`, `run`'s NDJSON, `tail --json` and
 * the output topic. `label` is the model's label ("PER.NAM", "PRODUCT");
 * `type` and `kind` are its WeiboNER-style parts, UNKNOWN where the label has
 * none (models/text/labels.ts).
 */
import { EntityTypeSymbols, type EntityType, type Mention, type MentionKind } from '../schemas/types.generated.js';
import { labelParts } from './text/labels.js';

export type { EntityType, Mention, MentionKind } from '../schemas/types.generated.js';
export { mentionJson, mentionLabel, type MentionJson } from '../schemas/mentionJson.js';

/** The label fields of a mention record. */
export type LabelFields = Pick<Mention, 'label' | 'type' | 'kind'>;

const KNOWN_TYPES: ReadonlySet<string> = new Set(EntityTypeSymbols.filter((s) => s !== 'UNKNOWN'));
const cache = new Map<string, LabelFields>();

/**
 * `label`, `type` and `kind` of a mention with this label: "PER.NAM" ->
 * PER / NAM, "PER" -> PER / UNKNOWN, "PRODUCT" -> UNKNOWN / UNKNOWN.
 */
export function labelFields(label: string): LabelFields {
  let fields = cache.get(label);
  if (fields === undefined) {
    const { type, kind } = labelParts(label);
    fields = Object.freeze({ label, type: (KNOWN_TYPES.has(type) ? type : 'UNKNOWN') as EntityType, kind: (kind ?? 'UNKNOWN') as MentionKind });
    if (cache.size < 4096) cache.set(label, fields);
  }
  return fields;
}
