/**
 * Group commit for the sinks: batches that arrive while a write is in flight
 * wait, and go out together in the next write, so a slow broker round trip
 * (or a transaction commit) is paid once for many batches instead of once
 * per batch. Writes never overlap and keep arrival order.
 */
import { Observable } from 'rxjs';
import type { OperatorFunction } from 'rxjs';

export interface CoalesceOptions<T> {
  /** Performs one write of the items; its resolution means "acknowledged". */
  write: (items: T[]) => Promise<void>;
  /** Most items per write (default unlimited). */
  maxItems?: number;
  /** Weight of an item for `maxWeight` (e.g. bytes); default 0. */
  weight?: (item: T) => number;
  /** Most summed weight per write; a single heavier item is written alone. Default unlimited. */
  maxWeight?: number;
}

/**
 * Emits each written group of items once `write` resolved. If `write`
 * rejects, the stream errors with that error and nothing more is written.
 * Completion waits until everything queued is written. Unsubscribing stops
 * further writes (a write in flight cannot be cancelled).
 */
export function writeCoalesced<T>(opts: CoalesceOptions<T>): OperatorFunction<readonly T[], T[]> {
  const { write, maxItems = Infinity, weight = () => 0, maxWeight = Infinity } = opts;
  return (source) =>
    new Observable<T[]>((subscriber) => {
      const queue: T[] = [];
      let writing = false;
      let sourceDone = false;
      let closed = false;

      const take = (): T[] => {
        let n = 0;
        let w = 0;
        while (n < queue.length && n < maxItems) {
          const iw = weight(queue[n]);
          if (n > 0 && w + iw > maxWeight) break;
          w += iw;
          n++;
        }
        return queue.splice(0, n);
      };

      const pump = (): void => {
        if (writing || closed) return;
        if (queue.length === 0) {
          if (sourceDone) subscriber.complete();
          return;
        }
        const group = take();
        writing = true;
        write(group).then(
          () => {
            writing = false;
            if (closed) return;
            subscriber.next(group);
            pump();
          },
          (err: unknown) => {
            writing = false;
            closed = true;
            subscriber.error(err);
          },
        );
      };

      const subscription = source.subscribe({
        next: (items) => {
          if (items.length === 0) return;
          queue.push(...items);
          pump();
        },
        error: (err) => {
          closed = true;
          subscriber.error(err);
        },
        complete: () => {
          sourceDone = true;
          pump();
        },
      });
      return () => {
        closed = true;
        queue.length = 0;
        subscription.unsubscribe();
      };
    });
}
