/**
 * Exact-span NER scoring as in conlleval and the paper's Table 1: a predicted
 * mention counts only if its start, end and label all equal a gold mention's.
 * Scores per label, overall (micro-averaged over all labels) and, when the
 * label set has WeiboNER's NAM/NOM split, for named (labels ending ".NAM")
 * and nominal (".NOM") mentions. Any label set: the labels are whatever the
 * spans carry. Percentages 0–100.
 * Also writes conlleval's input format for cross-checking with conlleval.pl.
 */
import { MentionflowError } from '../../common/errors.js';
import { hasMentionKinds, labelParts, tagsToSpans } from '../text/labels.js';
import type { Span } from '../text/spans.js';
import { prf, type PrfScore } from './prf.js';

export type { PrfScore } from './prf.js';

/** Exact-span precision, recall and F1 (in percent) per label, for named and nominal mentions, and overall. */
export interface NerScores {
  /** Per label, keys sorted; every label seen in gold or predictions. */
  perLabel: Record<string, PrfScore>;
  /** Mentions with a TYPE.NAM label; present only when a gold or predicted label has a NAM/NOM kind. */
  named?: PrfScore;
  /** Mentions with a TYPE.NOM label; present with `named`. */
  nominal?: PrfScore;
  overall: PrfScore;
}

interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

function checkSameLength(what: string, a: readonly unknown[], b: readonly unknown[]): void {
  if (a.length !== b.length) throw new MentionflowError(`${what}: gold has ${a.length} items, predictions ${b.length}`);
}

/** Exact-match scores of predicted vs gold spans, one array of spans per sentence. */
export function scoreSpans(gold: readonly (readonly Span[])[], pred: readonly (readonly Span[])[]): NerScores {
  checkSameLength('scoreSpans', gold, pred);
  const counts = new Map<string, Counts>();
  const bump = (label: string, field: keyof Counts): void => {
    const c = counts.get(label) ?? { tp: 0, fp: 0, fn: 0 };
    c[field]++;
    counts.set(label, c);
  };
  const key = (s: Span): string => `${s.start}:${s.end}:${s.label}`;
  for (let i = 0; i < gold.length; i++) {
    const unmatched = new Map<string, number>();
    for (const s of gold[i]) unmatched.set(key(s), (unmatched.get(key(s)) ?? 0) + 1);
    for (const s of pred[i]) {
      const left = unmatched.get(key(s)) ?? 0;
      if (left > 0) unmatched.set(key(s), left - 1);
      bump(s.label, left > 0 ? 'tp' : 'fp');
    }
    for (const s of gold[i]) {
      const left = unmatched.get(key(s)) ?? 0;
      if (left > 0) {
        unmatched.set(key(s), left - 1);
        bump(s.label, 'fn');
      }
    }
  }
  const sum = (keep: (label: string) => boolean): PrfScore => {
    const t = { tp: 0, fp: 0, fn: 0 };
    for (const [label, c] of counts) {
      if (!keep(label)) continue;
      t.tp += c.tp;
      t.fp += c.fp;
      t.fn += c.fn;
    }
    return prf(t.tp, t.fp, t.fn);
  };
  const perLabel: Record<string, PrfScore> = {};
  for (const label of [...counts.keys()].sort()) perLabel[label] = sum((l) => l === label);
  const kinds = hasMentionKinds(counts.keys())
    ? { named: sum((l) => labelParts(l).kind === 'NAM'), nominal: sum((l) => labelParts(l).kind === 'NOM') }
    : {};
  return { perLabel, ...kinds, overall: sum(() => true) };
}

/**
 * scoreSpans over tag sequences, BIO chunked with conlleval semantics
 * (bioToSpans), BIOES (a sequence with an E- or S- tag) with bioesToSpans.
 */
export function scoreTags(goldTags: readonly (readonly string[])[], predTags: readonly (readonly string[])[]): NerScores {
  checkSameLength('scoreTags', goldTags, predTags);
  goldTags.forEach((g, i) => checkSameLength(`scoreTags sentence ${i}`, g, predTags[i]));
  return scoreSpans(goldTags.map((t) => tagsToSpans(t)), predTags.map((t) => tagsToSpans(t)));
}

/**
 * conlleval.pl input: one "char gold pred" line per token, a blank line after
 * each sentence. conlleval splits on whitespace, so a character that is (or
 * contains) whitespace — ' ', U+3000, U+00A0, ... — is written as '_' (the
 * token column is not scored). Tags must not contain whitespace.
 */
export function formatConllevalLines(
  chars: readonly (readonly string[])[],
  gold: readonly (readonly string[])[],
  pred: readonly (readonly string[])[],
): string[] {
  checkSameLength('formatConllevalLines', chars, gold);
  checkSameLength('formatConllevalLines', chars, pred);
  const out: string[] = [];
  chars.forEach((sentence, i) => {
    checkSameLength(`formatConllevalLines sentence ${i}`, sentence, gold[i]);
    checkSameLength(`formatConllevalLines sentence ${i}`, sentence, pred[i]);
    sentence.forEach((ch, t) => {
      const [g, p] = [gold[i][t], pred[i][t]];
      if (/\s/.test(g) || /\s/.test(p) || g === '' || p === '') {
        throw new MentionflowError(`formatConllevalLines: empty tag or tag with whitespace at sentence ${i}, token ${t}`);
      }
      const token = ch === '' || /\s/.test(ch) ? '_' : ch;
      out.push(`${token} ${g} ${p}`);
    });
    out.push('');
  });
  return out;
}
