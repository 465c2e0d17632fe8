/**
 * Tag schemes for entity mentions, one import point: the WeiboNER label set,
 * span <-> BIO/BIOES conversions (spans.ts), transition validity
 * (transitions.ts) and TagDictionary (tagDictionary.ts).
 *
 * Labels are TYPE.KIND with TYPE in PER/ORG/LOC/GPE and KIND NAM (named) or
 * NOM (nominal); BIO over the 8 labels gives 17 tags, BIOES 33.
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

/** The 8 WeiboNER entity labels, in a fixed order (PER, ORG, LOC, GPE; NAM before NOM). */
export const ENTITY_LABELS: readonly string[] = Object.freeze(
  ['PER', 'ORG', 'LOC', 'GPE'].flatMap((t) => [`${t}.NAM`, `${t}.NOM`]),
);
