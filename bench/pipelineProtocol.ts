/**
 * What bench/pipeline.ts (the parent) and bench/pipelineWorker.ts (one child
 * process per measured run) say to each other over the IPC channel of
 * child_process.fork.
 */

/**
 * bare: the kafkajs consume-produce loop; codec: that loop with the worker's
 * Avro stages per record (decode, identity tagging, PostMentions, encode) and
 * nothing else of the framework; identity: the pipeline with an identity
 * tagger; full: the pipeline with the real model.
 */
export type Variant = 'bare' | 'codec' | 'identity' | 'full';
/** All variants; --variants defaults to DEFAULT_VARIANTS. */
export const VARIANTS: readonly Variant[] = ['bare', 'codec', 'identity', 'full'];
export const DEFAULT_VARIANTS: readonly Variant[] = ['bare', 'identity', 'full'];

/** The child's task, passed as JSON in argv[2]. */
export interface WorkerTask {
  variant: Variant;
  brokers: string[];
  inputTopic: string;
  outputTopic: string;
  deadLetterTopic: string;
  groupId: string;
  /** Input partitions (the bare loop consumes this many concurrently). */
  partitions: number;
  /** Stop after this many outputs are acknowledged; unset: wait for a 'target' message. */
  target?: number;
  /**
   * Of the target, how many outputs are the warm-up: the cold span is the
   * first (target - warmupPosts) outputs (from the first record consumed, as
   * without a warm-up), the warm span the last (target - warmupPosts), from
   * the warmupPosts-th output acked on, in the same process and consumer.
   * Default 0: no warm span.
   */
  warmupPosts?: number;
  /** Acked-output counts at which to report a memory snapshot. */
  checkpoints: number[];
  /** Report progress every this many acked outputs. */
  progressEvery: number;
  /** The child gives up (and exits non-zero) after this many ms. */
  deadlineMs: number;
  /** Model directory (variant full). */
  model: string;
  /** Worker settings other than the defaults (config keys -> flag values), pipeline variants only. */
  workerOptions: Record<string, string>;
  /**
   * One of several workers sharing a consumer group (the scaling leg): no
   * target of its own (the parent sums the members' acks and sends 'stop'),
   * consuming nothing is not a failure, and besides every progressEvery
   * acks it reports progress every progressIntervalMs while acks change.
   */
  groupMember?: boolean;
  progressIntervalMs?: number;
  /**
   * Variant full only: time the tagger alone, without Kafka, Avro or RxJS:
   * loaded as the full variant loads it (same model, backend and batch
   * size), warmed up the same way, then tagging the texts of the synthetic
   * posts 0..posts-1 (the texts the full variant's input carries) in input
   * order, batches of the worker's batchMaxCount, one call at a time.
   */
  standalone?: { posts: number };
}

/** The worker settings that bound latency, as the child resolved them (defaults included). */
export interface BatchSettings {
  batchMode: string;
  batchMaxCount: number;
  batchMaxWaitMs: number;
  batchMaxChars: number;
}

/** Tagger calls seen by the child: how many, how many posts, and their wall times (ms). */
export interface TaggingStats {
  batches: number;
  posts: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** A span measured after the warm-up, in the same process and consumer. */
export interface WarmSpan {
  /** Outputs acked within it (the bare loop acks whole requests, so it can differ a little from the target's share). */
  posts: number;
  seconds: number;
  cpuSeconds: number;
  mainThreadBusy: number;
}

export interface MemorySnapshot {
  /** Outputs acked when taken. */
  acked: number;
  /** process.memoryUsage() after a forced full GC, bytes. */
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** VmHWM from /proc/self/status (peak RSS so far), bytes; 0 where unavailable. */
  peakRss: number;
  /** Resident bytes by mapping kind from /proc/self/smaps (brk heap, anonymous, file-backed); absent where unavailable. */
  rssByKind?: { brk: number; anon: number; file: number };
}

export interface TensorCounts {
  /** tf.memory().numTensors after TaggerModel.load. */
  afterLoad: number;
  /** ... after one warm-up tag() of the sample posts (the count the stream starts with). */
  beforeStream: number;
  /** ... after the last output was acked and the worker stopped. */
  afterStream: number;
  /** ... after tagger.dispose(). */
  afterDispose: number;
}

export type ToParent =
  | {
      type: 'ready';
      backend?: string;
      /** Cpus_allowed_list of the process (from /proc/self/status), e.g. "0". */
      cpus?: string;
    }
  /** The consumer's assignment after a group join (pipeline variants). */
  | { type: 'assigned'; partitions: number[] }
  | { type: 'progress'; acked: number }
  | { type: 'memory'; snapshot: MemorySnapshot }
  | {
      type: 'done';
      acked: number;
      /** From the first input record consumed to the target-th output acknowledged. */
      seconds: number;
      /** CPU seconds (user + system, all threads) of the process over the same span. */
      cpuSeconds?: number;
      /** Share of the same span the main thread's event loop was busy (performance.eventLoopUtilization). */
      mainThreadBusy?: number;
      /** From the first input record consumed to the (target/2)-th output acknowledged: the rest is the warm second half. */
      halfSeconds?: number;
      /** From the last input record of the span handed on (consumed) to the span's end: the drain's tail (for the pipeline it includes its last partial batch's wait of up to batchMaxWaitMs; for the bare loop the last produce requests). */
      tailSeconds?: number;
      /** With task.warmupPosts: outputs acked when the cold span ended (>= target - warmupPosts; the bare loop counts whole requests). */
      coldAcked?: number;
      /** With task.warmupPosts: the warm span, from the warmupPosts-th output acked to the target-th (same clock and CPU views as the cold span). */
      warm?: WarmSpan;
      tensors?: TensorCounts;
      /** Epoch ms (performance.timeOrigin-based, sub-ms) of the first input record consumed; unset when none was. */
      firstAtEpochMs?: number;
      /** Epoch ms of the last output acknowledged; unset when none was. */
      lastAckAtEpochMs?: number;
      /** Input records consumed per partition (pipeline variants: records entering the pipeline). */
      consumedByPartition?: Record<string, number>;
      /** Pipeline variants and standalone: the batch settings in force. */
      settings?: BatchSettings;
      /** Pipeline variants (from the worker's batch and tagging taps) and standalone: the tagger calls. */
      tagging?: TaggingStats;
    }
  | { type: 'failed'; message: string };

export type ToChild = { type: 'target'; n: number } | { type: 'stop' };
