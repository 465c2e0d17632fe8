/**
 * Decoding calibration: a scalar bonus added to every non-O emission of the
 * NER head before Viterbi (and forward-backward). A positive bias makes the
 * tagger propose more mentions (recall up, precision down), a negative one
 * fewer. Each position of a path carries exactly one tag, so adding b to the
 * non-O tags is the same as subtracting b from O alone up to a constant per
 * position: decoding and span marginals are identical either way, and this
 * subtracts from the O column (one write per position).
 */

/**
 * Applies `bias` in place to row-major [rows, numTags] emissions in `data`
 * (all rows; padding rows are never decoded). A bias of 0 leaves `data`
 * untouched, so a model without calibration decodes exactly as before.
 */
export function applyNonOBias(data: Float32Array, numTags: number, oId: number, bias: number): void {
  if (bias === 0) return;
  if (!Number.isFinite(bias)) throw new Error(`decoding bias must be a finite number, got ${bias}`);
  if (!Number.isInteger(oId) || oId < 0 || oId >= numTags) throw new Error(`O tag id ${oId} is not a tag of ${numTags}`);
  for (let at = oId; at < data.length; at += numTags) data[at] -= bias;
}

/** `version` without the suffixes `mentionflow calibrate` adds (`-obias0.35`, `-minconf0.50`). */
export function uncalibratedVersion(version: string): string {
  return version.replace(/(-obias-?[0-9.]+)?(-minconf[0-9.]+)?$/, '');
}

/** The model version of a copy calibrated to `bias` and `minSpanConfidence`: the base version, suffixed with the non-zero ones. */
export function calibratedVersion(version: string, bias: number, minSpanConfidence = 0): string {
  return uncalibratedVersion(version) + (bias === 0 ? '' : `-obias${bias.toFixed(2)}`) + (minSpanConfidence === 0 ? '' : `-minconf${minSpanConfidence.toFixed(2)}`);
}
