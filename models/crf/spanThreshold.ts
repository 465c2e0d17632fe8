/**
 * Decoding calibration, second knob: a minimum span confidence. A mention
 * whose confidence (its CRF span probability, models/crf/marginals.ts, under
 * the biased potentials) is below `minSpanConfidence` is dropped, and its
 * characters are tagged O. Paired with a larger non-O bias
 * (./decodingBias.ts), it removes the low-confidence false positives the bias
 * adds. A threshold of 0 drops nothing and leaves the decoding as it was.
 */
import type { Span } from '../text/spans.js';

/** A span with its CRF probability in [0, 1]. */
export interface Confident extends Span {
  confidence: number;
}

/** Why `t` is not a usable threshold (finite, 0 <= t < 1), or undefined when it is. */
export function thresholdProblem(t: unknown): string | undefined {
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t >= 1) return `must be a number with 0 <= t < 1 (a span probability; 0 keeps every span), got ${JSON.stringify(t)}`;
  return undefined;
}

/** The spans whose confidence is at least `t` (all of them, the same array, when t is 0). */
export function confidentSpans<S extends Confident>(spans: readonly S[], t: number): readonly S[] {
  return t === 0 ? spans : spans.filter((s) => s.confidence >= t);
}

/**
 * A decoded sentence with the spans below `t` dropped: those spans' tags
 * become O (so the tags and the spans still agree). With t = 0, or when
 * nothing is dropped, `tags` and `spans` are returned as they are.
 */
export function applySpanThreshold<S extends Confident>(tags: string[], spans: S[], t: number): { tags: string[]; spans: S[] } {
  const kept = confidentSpans(spans, t) as S[];
  if (kept.length === spans.length) return { tags, spans };
  const out = tags.slice();
  for (const s of spans) if (s.confidence < t) out.fill('O', s.start, s.end);
  return { tags: out, spans: kept };
}
