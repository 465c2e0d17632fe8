/**
 * Tag schemes for entity mentions, one import point: the WeiboNER label set,
 * span <-> BIO/BIOES conversions (spans.ts), transition validity
 * (transitions.ts) and TagDictionary (tagDictionary.ts).
 *
 * Labels are any non-empty strings without whitespace, taken from the
 * training data (labels.ts); WeiboNER's are TYPE.KIND with TYPE in
 * PER/ORG/LOC/GPE and KIND NAM (named) or NOM (nominal): BIO over its 8
 * labels gives 17 tags, BIOES 33.
 */

export {
  type Span,
  splitTag,
  bioToSpans,
  bioesToSpans,
  spansToBio,
  spansToBioes,
  bioToBioes,
  bioesToBio,
} from './spans.js';
export { type TagScheme, isValidTag, allowedTransition, allowedStart, allowedEnd } from './transitions.js';
export { TagDictionary, type TagDictionaryJSON } from './tagDictionary.js';
export {
  ENTITY_LABELS,
  MENTION_KINDS,
  type MentionKind,
  type LabelParts,
  isLabel,
  labelParts,
  hasMentionKinds,
  detectScheme,
  tagsToSpans,
  spansToTags,
  labelSetOf,
  withNominals,
} from './labels.js';
