/**
 * Entity labels of any tag set, read from the data. A label is any non-empty
 * string without whitespace: "PER.NAM", "PRODUCT", "BRAND". WeiboNER-style
 * labels TYPE.KIND, with KIND NAM (a name) or NOM (a nominal), carry a
 * mention kind; every other label is its own type and has no kind.
 *
 * The scheme of tagged data (BIO or BIOES) is read from its tags: BIOES when
 * any tag has an E- or S- prefix, BIO otherwise.
 */
import { MentionflowError } from '../../common/errors.js';
import { bioesToSpans, bioToSpans, spansToBio, spansToBioes, splitTag, type Span } from './spans.js';
import type { TagScheme } from './transitions.js';

/** The mention kinds of WeiboNER-style labels. */
export const MENTION_KINDS = ['NAM', 'NOM'] as const;
export type MentionKind = (typeof MENTION_KINDS)[number];

/** The 8 WeiboNER entity labels, in a fixed order (PER, ORG, LOC, GPE; NAM before NOM). */
export const ENTITY_LABELS: readonly string[] = Object.freeze(['PER', 'ORG', 'LOC', 'GPE'].flatMap((t) => [`${t}.NAM`, `${t}.NOM`]));

/** A label's entity type and mention kind. */
export interface LabelParts {
  /** The label without its kind suffix ("PER" of "PER.NAM"); the whole label when it has no kind. */
  type: string;
  /** NAM or NOM for a TYPE.NAM / TYPE.NOM label, else null. */
  kind: MentionKind | null;
}

/** Whether `label` is usable as an entity label (non-empty, no whitespace). */
export function isLabel(label: string): boolean {
  return label.length > 0 && !/\s/.test(label);
}

/** "PER.NAM" -> {type: "PER", kind: "NAM"}; "PRODUCT" -> {type: "PRODUCT", kind: null}. */
export function labelParts(label: string): LabelParts {
  const dot = label.lastIndexOf('.');
  const suffix = dot > 0 ? label.slice(dot + 1) : '';
  return suffix === 'NAM' || suffix === 'NOM' ? { type: label.slice(0, dot), kind: suffix } : { type: label, kind: null };
}

/** Whether any of the labels carries a NAM/NOM kind (then named and nominal scores mean something). */
export function hasMentionKinds(labels: Iterable<string>): boolean {
  for (const l of labels) if (labelParts(l).kind !== null) return true;
  return false;
}

/** The scheme of tag sequences: BIOES when any tag has an E- or S- prefix, else BIO. */
export function detectScheme(sequences: Iterable<readonly string[]>): TagScheme {
  for (const tags of sequences) {
    for (const t of tags) {
      const p = splitTag(t)[0];
      if (p === 'E' || p === 'S') return 'BIOES';
    }
  }
  return 'BIO';
}

/** Spans of a tag sequence in `scheme` (default: detected from this sequence). */
export function tagsToSpans(tags: readonly string[], scheme: TagScheme = detectScheme([tags])): Span[] {
  return scheme === 'BIOES' ? bioesToSpans(tags) : bioToSpans(tags);
}

/** Tags of length `length` in `scheme` for non-overlapping spans (the inverse of tagsToSpans); throws MentionflowError on bad spans. */
export function spansToTags(spans: readonly Span[], length: number, scheme: TagScheme): string[] {
  return scheme === 'BIOES' ? spansToBioes(spans, length) : spansToBio(spans, length);
}

/**
 * The label set of tagged data, in tag-dictionary order: the 8 WeiboNER
 * labels (fixed order, all of them) when every label of the data is one of
 * them, so WeiboNER models keep their 17 BIO tags; otherwise the data's labels
 * sorted. Throws MentionflowError when the data has no entity at all.
 */
export function labelSetOf(sequences: Iterable<readonly string[]>): string[] {
  const seen = new Set<string>();
  for (const tags of sequences) {
    for (const t of tags) {
      const label = splitTag(t)[1];
      if (label !== '') seen.add(label);
    }
  }
  if (seen.size === 0) throw new MentionflowError('the training data has no entity tag (every tag is O): no label set to learn');
  for (const l of seen) if (!isLabel(l)) throw new MentionflowError(`invalid entity label ${JSON.stringify(l)}`);
  if ([...seen].every((l) => ENTITY_LABELS.includes(l))) return [...ENTITY_LABELS];
  return [...seen].sort();
}

/**
 * The spans of `base` that are not nominal, with the nominal spans of
 * `nominal` that overlap none of them (counted in `overlaps`), in order.
 */
export function withNominals(base: readonly Span[], nominal: readonly Span[]): { spans: Span[]; overlaps: number } {
  const kept = base.filter((s) => labelParts(s.label).kind !== 'NOM');
  const spans = [...kept];
  let overlaps = 0;
  for (const n of nominal) {
    if (labelParts(n.label).kind !== 'NOM') continue;
    if (kept.some((s) => s.start < n.end && n.start < s.end)) overlaps++;
    else spans.push(n);
  }
  spans.sort((a, b) => a.start - b.start);
  return { spans, overlaps };
}
