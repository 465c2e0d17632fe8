/**
 * Space-Saving heavy hitters (Metwally, Agrawal, El Abbadi 2005), with the
 * exact map as its first phase: every key is counted exactly while fewer than
 * `capacity` keys are tracked; once the map is full, an unseen key replaces a
 * key of the smallest count `min` and starts at `min + 1` with `error = min`.
 * Guarantees, N being the number of increments so far:
 *   - a tracked key's count overestimates its true count by at most its `error`,
 *     and every error is <= N / capacity;
 *   - every key whose true count exceeds N / capacity is tracked.
 * The count buckets (for the O(1) minimum) are built only when the map first
 * fills, so exact counting pays nothing for them. Increments are by 1 (a
 * count moves from c to c + 1), which keeps the minimum bucket cheap to find.
 */

/** A tracked key: its estimated count, the overestimate bound, and the caller's data. */
export interface Counter<T> {
  readonly key: string;
  count: number;
  /** Upper bound of count - true count (0 while exact). */
  error: number;
  data: T;
}

export class SpaceSaving<T> {
  private readonly counters = new Map<string, Counter<T>>();
  /** count -> counters with that count; only once the map has filled. */
  private buckets: Map<number, Set<Counter<T>>> | null = null;
  private minCount = 0;
  /** Number of increments (N). */
  total = 0;

  /** `capacity`: the most keys tracked (>= 1, Infinity for always exact). */
  constructor(readonly capacity: number) {}

  /** Keys tracked now. */
  get size(): number {
    return this.counters.size;
  }

  /** True once a key has been replaced: counts may then overestimate (by at most their `error`). */
  get approximate(): boolean {
    return this.evictions > 0;
  }

  /** Keys replaced so far. */
  evictions = 0;

  /** The smallest tracked count once the map is full, else 0: the largest possible error of a tracked count. */
  get errorBound(): number {
    return this.evictions > 0 ? this.minCount : 0;
  }

  get(key: string): Counter<T> | undefined {
    return this.counters.get(key);
  }

  values(): IterableIterator<Counter<T>> {
    return this.counters.values();
  }

  /**
   * Counts one occurrence of `key`; `fresh(evicted)` makes the data of a key
   * that starts being tracked (given the data of the key it replaces, if any).
   */
  increment(key: string, fresh: (evicted: T | undefined) => T): Counter<T> {
    this.total++;
    let c = this.counters.get(key);
    if (c !== undefined) {
      this.move(c, c.count + 1);
      return c;
    }
    if (this.counters.size < this.capacity) {
      c = { key, count: 1, error: 0, data: fresh(undefined) };
      this.counters.set(key, c);
      if (this.buckets !== null) this.bucketAdd(c);
      else if (this.counters.size === this.capacity) this.buildBuckets();
      return c;
    }
    if (this.buckets === null) this.buildBuckets();
    const bucket = this.buckets!.get(this.minCount)!;
    const victim = bucket.values().next().value as Counter<T>;
    // the newcomer takes the victim's place in the minimum bucket, then moves up one
    bucket.delete(victim);
    this.counters.delete(victim.key);
    this.evictions++;
    c = { key, count: victim.count, error: victim.count, data: fresh(victim.data) };
    this.counters.set(key, c);
    bucket.add(c);
    this.move(c, c.count + 1);
    return c;
  }

  /** Puts a counter back as it was (restore from a snapshot). */
  restore(key: string, count: number, error: number, data: T): void {
    const c: Counter<T> = { key, count, error, data };
    this.counters.set(key, c);
    if (this.buckets !== null) this.bucketAdd(c);
    else if (this.counters.size >= this.capacity) this.buildBuckets();
  }

  private move(c: Counter<T>, to: number): void {
    const buckets = this.buckets;
    if (buckets === null) {
      c.count = to;
      return;
    }
    const from = c.count;
    const old = buckets.get(from)!;
    old.delete(c);
    c.count = to;
    this.bucketAdd(c);
    if (old.size === 0) {
      buckets.delete(from);
      // every other count is >= from, so the counter just moved holds the new minimum
      if (from === this.minCount) this.minCount = to;
    }
  }

  private buildBuckets(): void {
    this.buckets = new Map();
    this.minCount = Infinity;
    for (const c of this.counters.values()) this.bucketAdd(c);
  }

  private bucketAdd(c: Counter<T>): void {
    let b = this.buckets!.get(c.count);
    if (b === undefined) this.buckets!.set(c.count, (b = new Set()));
    b.add(c);
    if (c.count < this.minCount) this.minCount = c.count;
  }
}
