/**
 * Which input offsets may be committed: per partition, the offsets handed to
 * the pipeline and whether the output each one caused has been acknowledged.
 * Pure bookkeeping (no Kafka, no I/O, no clock), so the commit protocol can be
 * unit- and property-tested on its own.
 *
 * Kafka's committed offset is "the next offset to read", so a partition may be
 * committed up to its lowest offset that is still in flight; when nothing is in
 * flight, up to one past the highest offset seen. Offsets are tracked in the
 * order they were read, which within a partition is increasing (gaps allowed:
 * compaction, transaction markers).
 *
 *   track(p, 5) track(p, 6) track(p, 7)   committable(p) = 5
 *   done(p, 6)                            committable(p) = 5 (5 still in flight)
 *   done(p, 5)                            committable(p) = 7
 *   done(p, 7)                            committable(p) = 8
 */

/** A topic-partition. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A topic-partition and an offset (decimal string, int64). */
export interface TopicPartitionOffset extends TopicPartition {
  offset: string;
}

interface PartitionState {
  /** Offsets still held (in flight, or done but behind an in-flight one), increasing, from `head`. */
  offsets: bigint[];
  /** offsets[i] as handed to track(): done() finds the head (acks come in order) without parsing. */
  texts: string[];
  done: boolean[];
  head: number;
  /** How many of offsets[head..] are not done. */
  inFlight: number;
  /** Highest offset ever tracked in this partition (since it was last dropped). */
  highest: bigint;
  /** Offset last recorded as committed, if any. */
  committed: bigint | undefined;
}

const key = (topic: string, partition: number): string => `${partition}\u0000${topic}`;

/** Most digits read as a double (exact below 2^53). */
const EXACT_DIGITS = 15;

function parseOffset(offset: string): bigint {
  // Once or twice per record: up to 15 digits (every offset a partition
  // reaches in practice) are read as a number, no regex and no string parse.
  const n = offset.length;
  if (n > 0 && n <= EXACT_DIGITS) {
    let value = 0;
    for (let i = 0; i < n && value >= 0; i++) {
      const digit = offset.charCodeAt(i) - 48;
      value = digit >= 0 && digit <= 9 ? value * 10 + digit : -1;
    }
    if (value >= 0) return BigInt(value);
  }
  if (!/^\d+$/.test(offset)) throw new RangeError(`offset must be a non-negative decimal integer string, got ${JSON.stringify(offset)}`);
  return BigInt(offset);
}

interface Entry {
  tp: TopicPartition;
  s: PartitionState;
}

export class OffsetTracker {
  private readonly parts = new Map<string, Entry>();
  private total = 0;
  /** The entry looked up last: records come in runs of one partition, and the map key is a string built per lookup. */
  private last: Entry | undefined;

  private entry(topic: string, partition: number): Entry | undefined {
    const last = this.last;
    if (last !== undefined && last.tp.partition === partition && last.tp.topic === topic) return last;
    const entry = this.parts.get(key(topic, partition));
    if (entry !== undefined) this.last = entry;
    return entry;
  }

  /**
   * Starts tracking an offset handed to the pipeline. Returns false (and
   * tracks nothing) when the offset is not above the highest one seen in the
   * partition: a record delivered again (e.g. after a rebalance that kept the
   * partition) that is already in flight or done must not be processed twice.
   */
  track(ref: TopicPartitionOffset): boolean {
    const offset = parseOffset(ref.offset);
    let entry = this.entry(ref.topic, ref.partition);
    if (entry === undefined) {
      entry = {
        tp: { topic: ref.topic, partition: ref.partition },
        s: { offsets: [], texts: [], done: [], head: 0, inFlight: 0, highest: -1n, committed: undefined },
      };
      this.parts.set(key(ref.topic, ref.partition), entry);
      this.last = entry;
    }
    const s = entry.s;
    if (offset <= s.highest) return false;
    s.offsets.push(offset);
    s.texts.push(ref.offset);
    s.done.push(false);
    s.highest = offset;
    s.inFlight++;
    this.total++;
    return true;
  }

  /**
   * Marks a tracked offset done (its output was acknowledged). Returns false
   * when the partition or offset is not tracked (e.g. dropped in a rebalance)
   * or was already done; such calls change nothing.
   */
  done(ref: TopicPartitionOffset): boolean {
    const entry = this.entry(ref.topic, ref.partition);
    if (entry === undefined) return false;
    const s = entry.s;
    if (s.head < s.offsets.length && s.texts[s.head] === ref.offset) return this.markDone(s, s.head);
    const offset = parseOffset(ref.offset);
    // Binary search in offsets[head..], which is increasing.
    let lo = s.head;
    let hi = s.offsets.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = s.offsets[mid];
      if (at === offset) return this.markDone(s, mid);
      if (at < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  private markDone(s: PartitionState, at: number): boolean {
    if (s.done[at]) return false;
    s.done[at] = true;
    s.inFlight--;
    this.total--;
    this.advance(s);
    return true;
  }

  /** Drops done offsets from the front; compacts the arrays now and then. */
  private advance(s: PartitionState): void {
    while (s.head < s.offsets.length && s.done[s.head]) s.head++;
    if (s.head === s.offsets.length) {
      s.offsets = [];
      s.texts = [];
      s.done = [];
      s.head = 0;
    } else if (s.head > 1024 && s.head * 2 > s.offsets.length) {
      s.offsets = s.offsets.slice(s.head);
      s.texts = s.texts.slice(s.head);
      s.done = s.done.slice(s.head);
      s.head = 0;
    }
  }

  /**
   * The offset to commit for a partition (the next one to read): its lowest
   * offset still in flight, or one past the highest offset seen when none is.
   * Undefined for a partition that is not tracked.
   */
  committable(tp: TopicPartition): string | undefined {
    const entry = this.parts.get(key(tp.topic, tp.partition));
    return entry === undefined ? undefined : this.next(entry.s).toString();
  }

  private next(s: PartitionState): bigint {
    return s.head < s.offsets.length ? s.offsets[s.head] : s.highest + 1n;
  }

  /** Partitions whose committable offset is ahead of what was last recorded as committed. */
  pendingCommits(): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const { tp, s } of this.parts.values()) {
      if (s.highest < 0n) continue;
      const next = this.next(s);
      if (s.committed === undefined || next > s.committed) out.push({ ...tp, offset: next.toString() });
    }
    return out;
  }

  /**
   * Records offsets as committed (by the consumer group or in a transaction).
   * Partitions no longer tracked are ignored; a commit never moves backwards.
   */
  markCommitted(offsets: readonly TopicPartitionOffset[]): void {
    for (const o of offsets) {
      const entry = this.parts.get(key(o.topic, o.partition));
      if (entry === undefined) continue;
      const offset = parseOffset(o.offset);
      if (entry.s.committed === undefined || offset > entry.s.committed) entry.s.committed = offset;
    }
  }

  /**
   * Forgets partitions (revoked in a rebalance): their offsets in flight no
   * longer count, later done() calls for them are ignored, and tracking starts
   * afresh if they come back. Returns how many in-flight offsets were dropped.
   */
  drop(partitions: readonly TopicPartition[]): number {
    let dropped = 0;
    for (const tp of partitions) {
      const k = key(tp.topic, tp.partition);
      const entry = this.parts.get(k);
      if (entry === undefined) continue;
      dropped += entry.s.inFlight;
      this.total -= entry.s.inFlight;
      this.parts.delete(k);
      if (this.last === entry) this.last = undefined;
    }
    return dropped;
  }

  /** Offsets not yet done: in one partition, or in all of them. */
  inFlight(tp?: TopicPartition): number {
    if (tp === undefined) return this.total;
    return this.parts.get(key(tp.topic, tp.partition))?.s.inFlight ?? 0;
  }

  /** Whether the partition is tracked (assigned here, not dropped). */
  tracks(tp: TopicPartition): boolean {
    return this.parts.has(key(tp.topic, tp.partition));
  }

  /** The tracked partitions. */
  partitions(): TopicPartition[] {
    return [...this.parts.values()].map(({ tp }) => ({ ...tp }));
  }

  /** True when nothing is in flight and every committable offset has been recorded as committed. */
  settled(): boolean {
    return this.total === 0 && this.pendingCommits().length === 0;
  }
}
