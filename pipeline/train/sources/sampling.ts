/**
 * Deterministic shuffling and subsampling of example streams: the same seed
 * and the same input always give the same output (models/rng.ts, mulberry32,
 * independent of Math.random).
 *
 * - shuffleBySeed(seed): collects the whole stream, then emits it in a
 *   seeded Fisher-Yates order (Rng.shuffled).
 * - subsample(k, seed): reservoir sampling (Algorithm R) in O(k) memory;
 *   emits, when the source completes, k items drawn uniformly without
 *   replacement, in their input order (all of them when there are <= k).
 * Each subscription draws from a fresh Rng, so resubscribing repeats the
 * output. Both are also available as plain functions on arrays/iterables.
 */
import { concatMap, defer, from, ignoreElements, concat, tap, toArray, type OperatorFunction } from 'rxjs';
import { ConfigError } from '../../../common/errors.js';
import { Rng } from '../../../models/rng.js';

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed)) throw new ConfigError(`seed must be an integer, got ${seed}`);
}

function checkK(k: number): void {
  if (!Number.isSafeInteger(k) || k < 0) throw new ConfigError(`subsample size must be an integer >= 0, got ${k}`);
}

/** A seeded permutation of a copy of `items`. */
export function shuffledBySeed<T>(items: readonly T[], seed: number): T[] {
  checkSeed(seed);
  return new Rng(seed).shuffled(items);
}

/** Reservoir of Algorithm R: offer() every item, then items() gives the sample in input order. */
class Reservoir<T> {
  private readonly rng: Rng;
  private readonly kept: Array<{ index: number; item: T }> = [];
  private seen = 0;

  constructor(
    private readonly k: number,
    seed: number,
  ) {
    this.rng = new Rng(seed);
  }

  offer(item: T): void {
    const index = this.seen++;
    if (index < this.k) {
      this.kept.push({ index, item });
      return;
    }
    const j = this.rng.int(index + 1);
    if (j < this.k) this.kept[j] = { index, item };
  }

  items(): T[] {
    return [...this.kept].sort((a, b) => a.index - b.index).map((e) => e.item);
  }
}

/** `k` items of `items` drawn uniformly without replacement by seed (reservoir sampling), in input order. */
export function subsampleBySeed<T>(items: Iterable<T>, k: number, seed: number): T[] {
  checkK(k);
  checkSeed(seed);
  const reservoir = new Reservoir<T>(k, seed);
  for (const item of items) reservoir.offer(item);
  return reservoir.items();
}

/** Emits all items of the source, when it completes, in a seeded random order. */
export function shuffleBySeed<T>(seed: number): OperatorFunction<T, T> {
  checkSeed(seed);
  return (source) =>
    source.pipe(
      toArray(),
      concatMap((items) => from(new Rng(seed).shuffled(items))),
    );
}

/** Emits, when the source completes, `k` of its items drawn by seed (reservoir sampling), in input order. */
export function subsample<T>(k: number, seed: number): OperatorFunction<T, T> {
  checkK(k);
  checkSeed(seed);
  return (source) =>
    defer(() => {
      const reservoir = new Reservoir<T>(k, seed);
      return concat(
        source.pipe(
          tap((item) => reservoir.offer(item)),
          ignoreElements(),
        ),
        defer(() => from(reservoir.items())),
      );
    });
}
