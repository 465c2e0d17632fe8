import { ConfigError, MentionflowError } from '../common/errors.js';
import { checkObject, checkOptionsObject, checkPositiveInteger } from './options.js';

const OP = 'taggerSlots';

/** Options of {@link taggerSlots}. */
export interface TaggerSlotsOptions {
  /**
   * Most batches tagBatch holds at once (integer >= 1): a batch holds a slot
   * from the moment tagBatch receives it until its result has been emitted.
   */
  concurrency: number;
}

/** tagBatch's side of the slots, for one subscription. */
export interface SlotClaim {
  /** A batch arrived at tagBatch: one slot fewer is free. */
  take(): void;
  /** A batch's result was emitted: its slot is free again; the listeners are called. */
  release(): void;
  /** The subscription ended: every slot is free again and the slots can be claimed anew. */
  close(): void;
}

/**
 * The one piece of feedback in the pipeline: how many more batches tagBatch
 * would take now. Batches still flow one way (batcher -> tagBatch); only this
 * count flows back. tagBatch claims the slots for its subscription, takes a
 * slot for each batch it receives and releases it once that batch's result is
 * emitted; batchAdaptive reads `free` and is called back when a slot frees.
 * One tagBatch subscription at a time may claim a TaggerSlots.
 */
export interface TaggerSlots {
  /** The concurrency the slots were made with. */
  readonly capacity: number;
  /** Slots not held by a batch now (0..capacity). */
  readonly free: number;
  /** Whether a tagBatch subscription has claimed the slots. */
  readonly claimed: boolean;
  /** For tagBatch: claims the slots; throws a MentionflowError when another subscription holds them. */
  claim(): SlotClaim;
  /** For the batcher: calls `listener` (synchronously) each time a slot frees; returns the function that stops it. */
  onFree(listener: () => void): () => void;
}

/**
 * Slots shared by tagBatch (which fills and frees them) and batchAdaptive
 * (which emits a batch whenever one is free). Make one per pipeline
 * subscription and pass the same object to both operators.
 *
 * Throws a ConfigError for a concurrency that is not an integer >= 1.
 */
export function taggerSlots(opts: TaggerSlotsOptions): TaggerSlots {
  checkOptionsObject(OP, opts, false);
  checkPositiveInteger(OP, 'concurrency', opts.concurrency, 'e.g. 1 (one tagger call at a time) or 2 with a worker-thread tagger');
  const capacity = opts.concurrency;
  const listeners = new Set<() => void>();
  let used = 0;
  let claim: SlotClaim | null = null;

  return {
    capacity,
    get free() {
      return Math.max(0, capacity - used);
    },
    get claimed() {
      return claim !== null;
    },
    claim() {
      if (claim !== null) {
        throw new MentionflowError(`${OP}: these slots are already claimed by another tagBatch subscription; make one taggerSlots per pipeline subscription`);
      }
      const mine: SlotClaim = {
        take: () => {
          if (claim === mine) used++;
        },
        release: () => {
          if (claim !== mine || used === 0) return;
          used--;
          for (const listener of [...listeners]) listener();
        },
        close: () => {
          if (claim !== mine) return;
          claim = null;
          used = 0;
        },
      };
      claim = mine;
      return mine;
    },
    onFree(listener) {
      const entry = (): void => listener();
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
  };
}

/**
 * For the batchers: throws a ConfigError unless `slots` is a TaggerSlots
 * (from taggerSlots, with onFree and claim); `hint` says what to pass.
 */
export function checkTaggerSlots(op: string, slots: unknown, hint: string): asserts slots is TaggerSlots {
  checkObject(op, 'slots', slots, hint);
  const s = slots as Partial<TaggerSlots>;
  if (typeof s.onFree !== 'function' || typeof s.claim !== 'function') {
    throw new ConfigError(`${op}: slots must come from taggerSlots({ concurrency }), the same object given to tagBatch`);
  }
}
