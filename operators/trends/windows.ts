/**
 * Event-time window assignment (pure): windows of `sizeMs` starting every
 * `hopMs`, aligned to the Unix epoch (a start is a multiple of the hop), each
 * half-open [start, start + size). Tumbling windows are hopMs === sizeMs; with
 * hopMs < sizeMs (hopping) a time falls into ceil(size / hop) windows.
 * Window `[s, s + size)` closes once the watermark reaches `s + size`.
 */

/** The window geometry. */
export interface WindowShape {
  /** Window length in ms (> 0). */
  sizeMs: number;
  /** Distance between window starts in ms (> 0, <= sizeMs); sizeMs for tumbling windows. */
  hopMs: number;
}

/** Start of the latest window containing `t`. */
export function lastWindowStart(t: number, shape: WindowShape): number {
  return Math.floor(t / shape.hopMs) * shape.hopMs;
}

/** Start of the earliest window containing `t`: the smallest multiple of the hop greater than t - size. */
export function firstWindowStart(t: number, shape: WindowShape): number {
  return (Math.floor((t - shape.sizeMs) / shape.hopMs) + 1) * shape.hopMs;
}

/** Starts of every window containing `t`, earliest first. */
export function windowStartsOf(t: number, shape: WindowShape): number[] {
  const out: number[] = [];
  const last = lastWindowStart(t, shape);
  for (let s = firstWindowStart(t, shape); s <= last; s += shape.hopMs) out.push(s);
  return out;
}
