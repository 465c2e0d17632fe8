/**
 * Two annotations of the same sentences, one gold set: the named mentions
 * (labels TYPE.NAM) of one, the nominal mentions (TYPE.NOM) of the other.
 * For two annotation standards of one label set that differ in how well they
 * mark each kind: WeiboNER v2 revised v1's named mentions as well as adding
 * nominal ones, and a v1 model learns v1's nominal standard from v1 but named
 * mentions better from v2 (README, "Recall-leaning training", its v1 bullets). `train-joint --named-from`.
 *
 * Sentences are matched by their text (the characters joined), each sentence
 * of `named` used once, in order; a training sentence without a match keeps
 * its own annotation whole. A nominal span overlapping a named span is left
 * out (as `distil --nominal-teacher` does with two teachers). Tags come out in
 * the training sentences' scheme.
 */
import { ConfigError } from '../../common/errors.js';
import type { NerSentence } from '../../models/data/conll.js';
import { detectScheme, labelParts, spansToTags, splitTag, tagsToSpans, withNominals } from '../../models/text/tagScheme.js';

export interface NamedFromStats {
  /** Training sentences. */
  sentences: number;
  /** Training sentences whose named mentions now come from `named` (matched by text). */
  matched: number;
  /** Named spans taken from `named`. */
  namedSpans: number;
  /** Named spans of the training sentences replaced (in matched sentences). */
  replacedNamedSpans: number;
  /** Nominal spans of the training sentences left out for overlapping a named span of `named`. */
  overlaps: number;
}

/**
 * `sentences` with the named mentions of the same sentences in `named`; the
 * nominal ones stay the training sentences'. ConfigError when no sentence
 * matches, when `named` has no named mention, or when the training data has a
 * label without a NAM/NOM kind (nothing says which side it belongs to).
 */
export function withNamedFrom(sentences: readonly NerSentence[], named: readonly NerSentence[], where = '--named-from'): { sentences: NerSentence[]; stats: NamedFromStats } {
  const labels = (data: readonly NerSentence[]) => new Set(data.flatMap((s) => s.tags.filter((t) => t !== 'O').map((t) => splitTag(t)[1])));
  if (![...labels(named)].some((l) => labelParts(l).kind === 'NAM')) throw new ConfigError(`${where}: no named mention (a TYPE.NAM label) in it, so it has nothing to give the training data`);
  const unkinded = [...labels(sentences)].find((l) => labelParts(l).kind === null);
  if (unkinded !== undefined) throw new ConfigError(`${where}: the training data's label "${unkinded}" is neither named (TYPE.NAM) nor nominal (TYPE.NOM), so it cannot be split by kind`);
  const scheme = detectScheme(sentences.map((s) => s.tags));
  const namedScheme = detectScheme(named.map((s) => s.tags));
  const byText = new Map<string, NerSentence[]>();
  for (const s of named) {
    const key = s.chars.join('');
    const queue = byText.get(key);
    if (queue) queue.push(s);
    else byText.set(key, [s]);
  }
  const stats: NamedFromStats = { sentences: sentences.length, matched: 0, namedSpans: 0, replacedNamedSpans: 0, overlaps: 0 };
  const out = sentences.map((s) => {
    const other = byText.get(s.chars.join(''))?.shift();
    if (other === undefined) return s;
    const own = tagsToSpans(s.tags, scheme);
    const theirs = tagsToSpans(other.tags, namedScheme).filter((x) => labelParts(x.label).kind === 'NAM');
    const merged = withNominals(theirs, own); // theirs' named spans, then own nominal spans that overlap none of them
    stats.matched++;
    stats.namedSpans += theirs.length;
    stats.replacedNamedSpans += own.filter((x) => labelParts(x.label).kind === 'NAM').length;
    stats.overlaps += merged.overlaps;
    return { chars: s.chars, tags: spansToTags(merged.spans, s.chars.length, scheme) };
  });
  if (stats.matched === 0) throw new ConfigError(`${where}: none of its ${named.length} sentences has the text of a training sentence; it must annotate the same sentences (e.g. WeiboNER v2's train split for v1's)`);
  return { sentences: out, stats };
}
