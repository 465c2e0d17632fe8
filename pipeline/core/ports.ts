/**
 * The two ends of the streaming pipeline, as the worker sees them. Kafka
 * implements both in pipeline/kafka/; the embedded mode implements them over
 * files (pipeline/file/). The operators in between know neither. This folder
 * (pipeline/core/) is the bottom of pipeline/: the ports, and the offset
 * tracking and write coalescing both edges build on; it imports no other
 * pipeline folder.
 *
 * The contract that makes delivery at-least-once: the sink emits output
 * messages only once they are acknowledged (by the broker, or written), the
 * worker hands their refs to `source.ack`, and the source commits an input
 * position only when every record before it has been acked.
 */
import type { Observable, OperatorFunction } from 'rxjs';
import type { OutputMessage, RawRecord, RecordRef } from '../../operators/types.js';

/** The input edge of the pipeline: records in, acks of their finished outputs back. */
export interface RecordSource {
  /**
   * The input records. Subscribe once. Completes after stop(); errors when
   * the input fails for good (the worker then exits and restarts from the
   * last commit).
   */
  records(): Observable<RawRecord>;
  /** The outputs caused by these records were acknowledged. */
  ack(refs: readonly RecordRef[]): void;
  /** Stop reading; records() completes (what is in flight still gets acked). Idempotent. */
  stop(): void;
}

/** The output edge of the pipeline: writes output messages and emits them once acknowledged. */
export interface OutputSink {
  /** Writes output messages; emits them, in order, once they are acknowledged. */
  write(): OperatorFunction<OutputMessage[], OutputMessage[]>;
}

/** A source and a sink opened together, closed together. */
export interface Edges {
  source: RecordSource;
  sink: OutputSink;
  /** Largest output record, key + value bytes, both outputs accept (Kafka: from the topics' max.message.bytes); none: encodeOutputs' default. */
  maxRecordBytes?: number;
  /** Whether the input is live (for /readyz). */
  ready(): boolean;
  /** After the stream ended: final commit, disconnect. Never throws. */
  close(): Promise<void>;
}
