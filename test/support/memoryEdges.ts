/**
 * In-memory edges for running mentionStream in-process: a RecordSource over
 * an array that keeps at most `maxInFlight` records unacknowledged (as the
 * Kafka and file sources do) and counts every ack, and an OutputSink that
 * acknowledges each group at once.
 */
import { Observable, map } from 'rxjs';
import type { OutputMessage, RawRecord, RecordRef } from '../../operators/types.js';
import type { OutputSink, RecordSource } from '../../pipeline/core/ports.js';

export class MemorySource implements RecordSource {
  /** Acks per record, by index (the ref's offset). */
  readonly acks: Uint32Array;
  /** Acks of refs that are not records of this source. */
  readonly strayAcks: RecordRef[] = [];
  private next = 0;
  private inFlight = 0;
  private stopped = false;
  private emit: (() => void) | undefined;

  /** `records[i].ref.offset` must be String(i). */
  constructor(
    private readonly list: readonly RawRecord[],
    private readonly maxInFlight: number,
  ) {
    list.forEach((r, i) => {
      if (r.ref.offset !== String(i)) throw new Error(`record ${i} has offset ${r.ref.offset}`);
    });
    this.acks = new Uint32Array(list.length);
  }

  /** Records emitted and not yet acknowledged. */
  get pending(): number {
    return this.inFlight;
  }

  records(): Observable<RawRecord> {
    return new Observable<RawRecord>((subscriber) => {
      let scheduled: NodeJS.Immediate | undefined;
      const pump = (): void => {
        scheduled = undefined;
        while (!subscriber.closed && !this.stopped && this.next < this.list.length && this.inFlight < this.maxInFlight) {
          this.inFlight++;
          subscriber.next(this.list[this.next++]);
        }
        if (!subscriber.closed && (this.stopped || this.next === this.list.length)) subscriber.complete();
      };
      // Refills run outside the ack call (which comes from inside the stream).
      this.emit = () => {
        scheduled ??= setImmediate(pump);
      };
      pump();
      return () => {
        if (scheduled !== undefined) clearImmediate(scheduled);
        this.emit = undefined;
      };
    });
  }

  ack(refs: readonly RecordRef[]): void {
    for (const ref of refs) {
      const i = Number(ref.offset);
      if (!Number.isInteger(i) || i < 0 || i >= this.list.length || this.list[i].ref !== ref) {
        this.strayAcks.push(ref);
        continue;
      }
      this.acks[i]++;
      this.inFlight--;
    }
    this.emit?.();
  }

  stop(): void {
    this.stopped = true;
    this.emit?.();
  }
}

/** A sink that acknowledges every group as soon as it is written. */
export function memorySink(): OutputSink {
  return { write: () => map((messages: OutputMessage[]) => messages) };
}
