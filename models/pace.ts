/**
 * Cooperative computing on the calling thread. TensorFlow ops on the native
 * backend and the CRF decoding run synchronously, so a long tagger call would
 * hold the event loop for its whole length: no timers (Kafka heartbeats,
 * offset commits), no sockets (/healthz, /metrics) until it ends. A Pace cuts
 * the call into steps and returns to the event loop between them (a
 * macrotask, setImmediate: timers and I/O run at least once per step).
 *
 * A step is bounded in cells: character positions of one tensor batch
 * (rows x padded length), which is what a forward pass costs; see
 * BENCHMARKS.md (ops endpoints under load) for the measured cost per cell.
 * `sliceCells` 0 turns pacing off: no tensor batch limit beyond the caller's
 * batch size and no yields, one synchronous run as before.
 */
import { setImmediate as immediate } from 'node:timers/promises';

export type YieldNow = () => Promise<void>;

/** Returns to the event loop: resolves in the check phase, after timers and pending I/O have run. */
export const yieldToEventLoop: YieldNow = () => immediate();

export class Pace {
  /** No pacing: unbounded tensor batches (beyond batchSize), never yields. */
  static readonly OFF = new Pace(0);

  private used = 0;

  /**
   * @param sliceCells most cells per step, an integer >= 0 (0: off)
   * @param yieldNow how to return to the event loop (tests count the calls)
   */
  constructor(
    readonly sliceCells: number,
    private readonly yieldNow: YieldNow = yieldToEventLoop,
  ) {
    if (!Number.isInteger(sliceCells) || sliceCells < 0) throw new RangeError(`sliceCells must be an integer >= 0 (0: off), got ${sliceCells}`);
  }

  get on(): boolean {
    return this.sliceCells > 0;
  }

  /** Most cells (rows x longest length) one tensor batch may hold: sliceCells, or Infinity when off. */
  get maxCells(): number {
    return this.on ? this.sliceCells : Infinity;
  }

  /** Ends the step: returns to the event loop now (resolves at once when off). */
  async pause(): Promise<void> {
    if (!this.on) return;
    this.used = 0;
    await this.yieldNow();
  }

  /** Counts `cells` of work done; pauses once a step's worth has been done since the last pause. */
  async spend(cells: number): Promise<void> {
    if (!this.on) return;
    this.used += cells;
    if (this.used >= this.sliceCells) await this.pause();
  }
}
