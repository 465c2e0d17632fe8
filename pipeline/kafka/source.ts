/**
 * The input edge: a kafkajs consumer group as an Observable of RawRecords,
 * with backpressure and the commit side of the delivery protocol.
 *
 * - Backpressure: when `maxInFlight` records are read but not yet acked, every
 *   assigned partition is paused and the batch handler waits (heartbeating)
 *   until acks bring the count down to `resumeAt`; then fetching resumes.
 * - Slices: a fetched batch is handed over `sliceSize` records at a time,
 *   returning to the event loop in between, so the sink's produce requests
 *   and their acknowledgements proceed while the rest of the batch is read.
 * - At-least-once (commit 'consumer'): autoCommit is off; an offset is
 *   committed (consumer.commitOffsets, at most every commitIntervalMs) only
 *   when every record before it in its partition has been acked, i.e. its
 *   output is on the broker (see OffsetTracker).
 * - Exactly-once (commit 'transaction'): the sink sends the offsets inside the
 *   transaction that carries the outputs (see transactionOffsets()), and each
 *   batch handler returns only once its records are committed that way, so a
 *   rebalance (which kafkajs starts only between batches) never finds a
 *   transaction in flight for a partition that is about to move.
 * - Broker outages: a consumer that crashes on a transient error (broker down
 *   or restarting) is restarted by kafkajs, with backoff, for as long as the
 *   worker's outage bound allows (BrokerOutage); records in flight stay in
 *   flight meanwhile, and the ones kafkajs delivers again after the restart
 *   are skipped (OffsetTracker.track). Past the bound, or on any other crash,
 *   records() errors and the worker exits.
 * - Rebalances: before kafkajs rejoins the group, wherever it found the
 *   rebalance (a heartbeat after an empty fetch or after a batch, inside a
 *   handler), at-least-once lets the records in flight finish and commits
 *   them (a hook in kafkajs's ConsumerGroup, consumerGroupPatch.ts; within
 *   SETTLE_MS; the group waits for this member meanwhile, and accepts its
 *   commits), so partitions that move take nothing in flight with them. On the new
 *   assignment, partitions that were lost are dropped from tracking (their late acks are ignored) and records that
 *   kafkajs delivers again for partitions that were kept are skipped if
 *   they are already in flight.
 */
import { Observable, type Subscriber } from 'rxjs';
import kafkajs from './kafkajs.js';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { RawRecord, RecordRef } from '../../operators/types.js';
import type { Logger } from '../ops/logger.js';
import { ConfigError, KafkaEdgeError } from '../../common/errors.js';
import { OffsetTracker, type TopicPartition, type TopicPartitionOffset } from '../core/offsetTracker.js';
import type { RecordSource } from '../core/ports.js';
import { beforeRejoin } from './consumerGroupPatch.js';
import { isMembershipLost, isRebalancing, kafkaEdgeError } from './errors.js';
import { isTransient, retryDelay, type BrokerOutage } from './outage.js';

export interface KafkaSourceOptions {
  kafka: Kafka;
  groupId: string;
  topic: string;
  /** Where a group without a committed offset starts. Default 'earliest'. */
  startFrom?: 'earliest' | 'latest';
  /** Records read but not yet acked before the partitions pause (>= 1). */
  maxInFlight: number;
  /**
   * Records handed over between two returns to the event loop (>= 1; default
   * 512). Between slices the broker's acknowledgements are handled and the
   * sink sends its next request, so producing overlaps with reading and
   * decoding instead of waiting for a whole fetched batch to be handed over.
   */
  sliceSize?: number;
  /** In-flight count at which fetching resumes (0..maxInFlight-1); default half of maxInFlight. */
  resumeAt?: number;
  /** 'consumer': at-least-once commits by the consumer; 'transaction': offsets go with the outputs' transaction. */
  commit: 'consumer' | 'transaction';
  /** 'consumer' commits: least time between two commits (ms). Default 1000. */
  commitIntervalMs?: number;
  /** Consumer group session timeout (ms). Default 30000. */
  sessionTimeoutMs?: number;
  /**
   * 'consumer' commits: on close, when the coordinator refused the final
   * commit because this member had lapsed (evicted after a stall, and
   * rejoining), how long to wait for the rejoin to commit again (ms).
   * Default 10000.
   */
  closeRejoinMs?: number;
  logger: Logger;
  /** The outage clock of the reading side: consumer restarts and offset commits are retried within its bound. */
  outage: BrokerOutage;
  /** Called with a partition's lag (last seen high watermark - committed offset) after each commit. */
  onLag?: (topic: string, partition: number, lag: number) => void;
  /** Called with the partitions of the topic assigned to this worker each time it joins the group (so lag of partitions it lost can be forgotten). */
  onAssigned?: (topic: string, partitions: readonly number[]) => void;
}

/** What the exactly-once sink needs from the source (see KafkaSource.transactionOffsets). */
export interface TransactionOffsets {
  readonly groupId: string;
  /** Marks the records done and returns the offsets to commit in the transaction carrying their outputs. */
  stage(refs: readonly RecordRef[]): TopicPartitionOffset[];
  /** The transaction with these offsets committed. */
  committed(offsets: readonly TopicPartitionOffset[]): void;
  /**
   * Makes sure the partitions this worker tracks are still its own before a
   * transaction commits their offsets: at once while heartbeats succeed;
   * after a gap (the process was paused or cut off, the brokers were down)
   * it reads the group's current assignment and drops from tracking the
   * partitions that moved to another worker (all of them if this one is no
   * longer a member): their records are the new owner's to process.
   * Resolves true when it dropped any.
   */
  confirm(): Promise<boolean>;
  /** Whether the record's partition is still assigned to this worker. */
  owns(ref: RecordRef): boolean;
  /** The offsets still to commit, of the partitions this worker holds. */
  pending(): TopicPartitionOffset[];
  /**
   * The sink says how a partition is claimed (TransactionalKafkaSink.claim:
   * fence its previous writers, then read its committed offset). The source
   * claims each partition before it hands over its records, each time the
   * partition is assigned (a new epoch), and reads it from the offset the
   * claim returns.
   */
  claimWith(claim: (topic: string, partition: number) => Promise<string>): void;
  /** The sink gave the partition up (another worker committed it): what is in flight there is dropped; it is claimed again before it is read again. */
  release(tp: TopicPartition): void;
}

const { AssignerProtocol } = kafkajs;
const POLL_MS = 500;
/**
 * At-least-once, a rebalance announced to a batch handler: longest wait for
 * the records in flight to finish before rejoining. The group waits for this
 * member up to its rebalance timeout (60 s at least), and a heartbeat in the
 * meantime keeps its session; the default 2,000 records in flight take well
 * under a second with the shipped model.
 */
const SETTLE_MS = 10_000;
/**
 * Default KafkaSourceOptions.sliceSize. Measured on the identity pipeline
 * (100k-150k posts, 3 partitions): 64 and 1000+ were clearly slower than
 * 128-512; 512 slightly ahead of 256 (fewer, larger produce requests).
 */
const DEFAULT_SLICE_SIZE = 512;

export class KafkaSource implements RecordSource {
  private readonly tracker = new OffsetTracker();
  private readonly consumer: Consumer;
  private readonly opts: Required<Omit<KafkaSourceOptions, 'onLag' | 'onAssigned'>> & Pick<KafkaSourceOptions, 'onLag' | 'onAssigned'>;
  private readonly log: Logger;
  private subscriber: Subscriber<RawRecord> | undefined;
  private stopping = false;
  private closing = false;
  private joined = false;
  private readonly waiters = new Set<() => void>();
  private readonly highWatermarks = new Map<number, bigint>();
  private commitTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> | undefined;
  private commitAgain = false;
  private lastCommit = 0;
  /** Why the consumer was not restarted (the outage outlasted its bound). */
  private fatal: unknown;
  /** This member's id in the group, from the last join. */
  private memberId: string | undefined;
  /** Removes the hook kafkajs runs before this member rejoins (at-least-once; see settle). */
  private unhook: (() => void) | undefined;
  /** How many times the consumer has joined the group; `joinWaiters` are told of the next join. */
  private joins = 0;
  private readonly joinWaiters = new Set<() => void>();
  /** The join count when a commit the coordinator refused for a lapsed membership was sent (see close). */
  private refusedAtJoin: number | undefined;
  /** When the group coordinator last confirmed the membership (join or heartbeat), ms since the epoch. */
  private lastHeartbeat = 0;
  /** When a broker last answered one of the consumer's requests (fetch, heartbeat, commit, ...). */
  private lastAnswer = Date.now();
  /** Longest silence of the brokers taken as normal while in the group (ms). */
  private readonly silenceMs: number;
  private watchdog: NodeJS.Timeout | undefined;
  /** Per partition, how many times it was dropped: RecordRef.epoch of the records read since. */
  private readonly epochs = new Map<string, number>();
  /** Exactly-once: how the sink claims a partition (TransactionOffsets.claimWith). */
  private claim: ((topic: string, partition: number) => Promise<string>) | undefined;
  /**
   * Exactly-once: per partition, its claim (under way or done; `checked`
   * once a batch was seen to start at the claimed offset). Every join starts
   * them afresh for the partitions it assigns (all at once); a partition
   * dropped outside a join loses its claim.
   */
  private readonly claims = new Map<string, { result: Promise<{ committed?: string; failure?: unknown }>; checked: boolean }>();
  /**
   * Exactly-once: partitions dropped outside a join (moved while this worker
   * was unresponsive, or given up by the sink after another worker claimed
   * them), with when. kafkajs may still deliver them until the group tells
   * it otherwise, and claiming them again at once would fence the worker
   * that holds them now; so they are paused until the next join says whose
   * they are, or for one session timeout at most (when no join comes, the
   * group still says they are this worker's: it claims them again).
   */
  private readonly unclaimable = new Map<string, number>();
  /** Timers resuming the partitions paused as unclaimable. */
  private readonly unclaimableTimers = new Map<string, { timer: NodeJS.Timeout; topic: string; partition: number }>();

  constructor(opts: KafkaSourceOptions) {
    const maxInFlight = opts.maxInFlight;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
      throw new ConfigError(`KafkaSource: maxInFlight must be an integer >= 1, got ${String(maxInFlight)}`);
    }
    const resumeAt = opts.resumeAt ?? Math.floor(maxInFlight / 2);
    if (!Number.isInteger(resumeAt) || resumeAt < 0 || resumeAt >= maxInFlight) {
      throw new ConfigError(`KafkaSource: resumeAt must be an integer 0..maxInFlight-1 (${maxInFlight - 1}), got ${String(resumeAt)}`);
    }
    if (opts.commit !== 'consumer' && opts.commit !== 'transaction') {
      throw new ConfigError(`KafkaSource: commit must be 'consumer' or 'transaction', got ${JSON.stringify(opts.commit)}`);
    }
    const sliceSize = opts.sliceSize ?? DEFAULT_SLICE_SIZE;
    if (!Number.isInteger(sliceSize) || sliceSize < 1) {
      throw new ConfigError(`KafkaSource: sliceSize must be an integer >= 1, got ${String(sliceSize)}`);
    }
    const sessionTimeoutMs = opts.sessionTimeoutMs ?? 30_000;
    const heartbeatInterval = Math.max(100, Math.min(3000, Math.floor(sessionTimeoutMs / 3)));
    // In the group, a fetch returns every POLL_MS and a heartbeat goes out every
    // heartbeatInterval even while the input is paused: two missed heartbeats
    // mean the brokers stopped answering, long before kafkajs gives up on them.
    this.silenceMs = 2 * heartbeatInterval + POLL_MS + 1000;
    this.opts = {
      startFrom: 'earliest',
      commitIntervalMs: 1000,
      closeRejoinMs: 10_000,
      ...opts,
      sliceSize,
      sessionTimeoutMs,
      resumeAt,
    };
    this.log = opts.logger.child({ component: 'kafka-source', topic: opts.topic, groupId: opts.groupId });
    this.consumer = opts.kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: sessionTimeoutMs,
      // kafkajs only sends a heartbeat when one is due; a third of the session is the usual rule.
      heartbeatInterval,
      rebalanceTimeout: Math.max(60_000, sessionTimeoutMs),
      // Bounds how long a stop waits for a fetch that is still out.
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
      readUncommitted: false,
      retry: { restartOnFailure: (err) => this.restartOnFailure(err) },
    });
    this.listen();
  }

  /** kafkajs asks whether to restart the consumer after it crashed with `err`. */
  private async restartOnFailure(err: Error): Promise<boolean> {
    if (this.closing || this.stopping || !isTransient(err)) return false;
    try {
      this.opts.outage.failed(`consumer of ${this.opts.topic}`, err);
    } catch (fatal) {
      this.fatal = fatal;
      return false;
    }
    return true;
  }

  private listen(): void {
    const { events } = this.consumer;
    this.consumer.on(events.GROUP_JOIN, ({ payload }) => {
      const mine = payload.memberAssignment[this.opts.topic] ?? [];
      // A new member id means the old membership lapsed (session timeout, or
      // the consumer restarted after a broker outage): its partitions may have
      // been processed and committed by another worker meanwhile. Exactly-once:
      // nothing from before counts, even for partitions assigned again (their
      // open transaction belongs to the old membership). At-least-once: a
      // partition assigned again keeps what this worker has in flight there;
      // it finishes and commits it, and the tracker skips those records when
      // the consumer delivers them again from the committed offset (dropping
      // them would redo the whole in-flight window after every outage).
      const lapsed = this.memberId !== undefined && payload.memberId !== this.memberId;
      const dropAll = lapsed && this.opts.commit === 'transaction';
      const lost = this.tracker.partitions().filter((tp) => tp.topic === this.opts.topic && (dropAll || !mine.includes(tp.partition)));
      const dropped = this.drop(lost);
      this.clearUnclaimable(); // the new assignment says whose each partition is
      // Claim every assigned partition afresh, all at once (each claim takes a round trip or three).
      this.claims.clear();
      if (this.opts.commit === 'transaction') for (const p of mine) this.startClaim(this.opts.topic, p);
      this.joined = true;
      this.joins++;
      tell(this.joinWaiters);
      this.lastAnswer = Date.now();
      this.memberId = payload.memberId;
      if (this.opts.commit === 'consumer') {
        this.unhook?.();
        this.unhook = beforeRejoin(payload.memberId, ({ heartbeat }) => this.settle(heartbeat));
      }
      this.lastHeartbeat = Date.now();
      this.opts.outage.succeeded();
      this.log.info('partitions assigned', {
        partitions: [...mine].sort((a, b) => a - b),
        revoked: lost.map((tp) => tp.partition),
        droppedInFlight: dropped,
        memberId: payload.memberId,
        ...(lapsed ? { membershipLapsed: true } : {}),
      });
      // a partition this worker no longer holds: its lag is another member's to report
      for (const partition of [...this.highWatermarks.keys()]) if (!mine.includes(partition)) this.highWatermarks.delete(partition);
      this.opts.onAssigned?.(this.opts.topic, mine);
      this.wake();
    });
    // A broker answered a request: the brokers are reachable. (Not kafkajs's
    // FETCH event: with every partition paused it fires without asking a broker.)
    this.consumer.on(events.REQUEST, () => {
      this.lastAnswer = Date.now();
      this.opts.outage.succeeded();
    });
    this.consumer.on(events.HEARTBEAT, () => {
      this.lastHeartbeat = Date.now();
    });
    this.consumer.on(events.REBALANCING, () => {
      this.joined = false;
      this.log.info('group rebalancing');
      if (this.opts.commit === 'consumer') void this.commitNow();
    });
    this.consumer.on(events.CRASH, ({ payload }) => {
      this.joined = false;
      const error = kafkaEdgeError(`consumer of ${this.opts.topic} crashed`, payload.error);
      if (payload.restart) {
        this.log.debug('consumer crashed; kafkajs restarts it', { err: error });
        return;
      }
      if (this.closing || this.stopping) return;
      if (this.fatal === undefined && isTransient(payload.error)) {
        // kafkajs does not restart after some errors a broker outage causes
        // (e.g. no group coordinator yet): restart it here, within the bound.
        void this.restart(payload.error);
        return;
      }
      this.subscriber?.error(this.fatal ?? error);
    });
  }

  /** Connects and subscribes (fails fast on a bad broker or topic). */
  async connect(): Promise<void> {
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: [this.opts.topic], fromBeginning: this.opts.startFrom === 'earliest' });
    } catch (err) {
      throw kafkaEdgeError(`cannot subscribe to ${this.opts.topic}`, err);
    }
    this.watchdog ??= setInterval(() => this.checkSilence(), 1000);
    this.watchdog.unref();
  }

  /**
   * The brokers have not answered for longer than two heartbeats while this
   * member is in its group: the read side is unreachable (readiness false,
   * the outage clock runs) even while kafkajs is still retrying on its own.
   */
  private checkSilence(): void {
    if (!this.joined || this.stopping || this.closing) return;
    const silent = Date.now() - this.lastAnswer;
    if (silent <= this.silenceMs) return;
    try {
      this.opts.outage.failed(`consumer of ${this.opts.topic}`, new KafkaEdgeError(`no answer from the brokers for ${Math.round(silent / 1000)} s`, { retriable: true }));
    } catch (fatal) {
      this.fatal = fatal;
      this.fail(fatal);
    }
  }

  /** True while the consumer is in the group with an assignment and not stopping (for /readyz). */
  ready(): boolean {
    return this.joined && !this.stopping;
  }

  records(): Observable<RawRecord> {
    return new Observable<RawRecord>((subscriber) => {
      if (this.subscriber !== undefined) {
        subscriber.error(new Error('KafkaSource.records() can be subscribed only once'));
        return;
      }
      this.subscriber = subscriber;
      if (this.stopping) {
        subscriber.complete();
        return;
      }
      this.run().catch((err: unknown) => subscriber.error(kafkaEdgeError(`cannot consume ${this.opts.topic}`, err)));
      return () => {
        this.stopping = true;
        this.wake();
      };
    });
  }

  private run(): Promise<void> {
    return this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  /** Reconnects, resubscribes and runs the crashed consumer again, with backoff, within the outage bound. */
  private async restart(cause: unknown): Promise<void> {
    let err = cause;
    for (let attempt = 0; !this.closing && !this.stopping; attempt++) {
      try {
        this.opts.outage.failed(`consumer of ${this.opts.topic}`, err);
      } catch (fatal) {
        this.subscriber?.error(fatal);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, retryDelay(attempt)));
      if (this.closing || this.stopping) return;
      try {
        await this.consumer.connect();
        await this.consumer.subscribe({ topics: [this.opts.topic], fromBeginning: this.opts.startFrom === 'earliest' });
        await this.run();
        return;
      } catch (next) {
        if (!isTransient(next)) {
          this.subscriber?.error(kafkaEdgeError(`cannot restart the consumer of ${this.opts.topic}`, next));
          return;
        }
        err = next;
      }
    }
  }

  private get open(): boolean {
    return this.subscriber !== undefined && !this.subscriber.closed && !this.stopping;
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    const beat = (): Promise<void> => payload.heartbeat();
    let failure: unknown;
    // The offset handed over last and not yet resolved: kafkajs's resolveOffset
    // costs several Long conversions, so it runs once before each wait and at
    // the end instead of once per record (where kafkajs fetches from next is the same).
    let unresolved: string | undefined;
    const resolve = (): void => {
      if (unresolved !== undefined) resolveOffset(unresolved);
      unresolved = undefined;
    };
    let slice = 0;
    if (this.opts.commit === 'transaction' && !(await this.claimed(payload, beat))) return;
    // isStale() (true once this source seeks the partition, in claimed()) and the
    // partition's epoch (a new one when drop() forgets it on a rebalance) change
    // only while this loop waits, never while it hands records over: both are
    // read before the loop and after each wait, not per record (kafkajs's
    // isStale and epochOf build a string key per call).
    let stale = isStale();
    let epoch = this.epochOf(topic, partition);
    const reread = (): void => {
      stale = isStale();
      epoch = this.epochOf(topic, partition);
    };
    const messages = batch.messages;
    // The batch ends at the partition's high watermark: its last record is
    // marked caughtUp (nothing more to read there for now), so the batcher
    // need not wait for more (RecordRef.caughtUp). Conservative: a batch whose
    // last record is followed by control records (transactional input) is not marked.
    const lastMessage = messages[messages.length - 1];
    const caughtUp = lastMessage !== undefined && BigInt(lastMessage.offset) + 1n >= BigInt(batch.highWatermark);
    try {
      for (const message of messages) {
        if (!this.open || !isRunning() || stale) break;
        if (this.tracker.inFlight() >= this.opts.maxInFlight) {
          slice = 0;
          resolve();
          await this.backpressure(beat);
          reread();
          if (!this.open || !isRunning() || stale) break;
        } else if (slice >= this.opts.sliceSize) {
          slice = 0;
          resolve();
          await yieldToEventLoop();
          reread();
          if (!this.open || !isRunning() || stale) break;
        }
        slice++;
        const ref: RecordRef = { topic, partition, offset: message.offset, receivedAt: Date.now(), epoch, caughtUp: caughtUp && message === lastMessage };
        const fresh = this.tracker.track(ref);
        unresolved = message.offset;
        if (fresh) this.subscriber?.next({ ref, key: message.key ?? null, value: message.value ?? null });
      }
      resolve();
      this.highWatermarks.set(partition, BigInt(batch.highWatermark));
    } catch (err) {
      resolve();
      failure = err; // e.g. a rebalance reported by a heartbeat
    }
    if (this.opts.commit === 'transaction') {
      // Everything read so far commits (outputs and offsets together) before kafkajs may rejoin.
      await this.waitFor(() => this.tracker.settled() || this.closing, failure === undefined ? beat : async () => undefined);
    } else if (failure === undefined) {
      this.scheduleCommit();
    }
    if (failure !== undefined) throw failure;
  }

  /**
   * Exactly-once: makes sure the batch's partition is claimed in its current
   * epoch before any of its records is handed over (see
   * TransactionalKafkaSink.claim). Once claimed, the partition is read from
   * the committed offset the claim returned: when the batch was fetched from
   * elsewhere (a worker that held the partition before committed more of it
   * between this worker's offset fetch and its claim), the consumer seeks
   * there and the batch is dropped. Resolves true when the batch may be
   * handed over.
   */
  private async claimed(payload: EachBatchPayload, beat: () => Promise<void>): Promise<boolean> {
    const { topic, partition } = payload.batch;
    const k = `${partition}\u0000${topic}`;
    let entry = this.claims.get(k);
    if (entry?.checked === true) return true;
    if (entry === undefined) {
      const markedAt = this.unclaimable.get(k);
      if (markedAt !== undefined) {
        const wait = markedAt + this.opts.sessionTimeoutMs - Date.now();
        if (wait > 0) {
          this.holdUnclaimable(k, topic, partition, wait);
          return false;
        }
        this.unclaimable.delete(k); // no join came: the group still says it is this worker's
      }
      // Not claimed at the join: make sure the group still assigns it to this
      // worker first (after a pause, claiming it would fence its new owner).
      const now = await this.assignedNow();
      if (now !== undefined && !now.mine.includes(partition)) {
        this.unclaimable.set(k, Date.now());
        this.holdUnclaimable(k, topic, partition, this.opts.sessionTimeoutMs);
        return false;
      }
      entry = this.claims.get(k) ?? this.startClaim(topic, partition);
    }
    const claim = entry;
    let outcome: { committed?: string; failure?: unknown } | undefined;
    void claim.result.then((o) => {
      outcome = o;
      this.wake();
    });
    await this.waitFor(() => outcome !== undefined, beat);
    // Given up or reassigned meanwhile: a later batch goes by the new claim.
    if (this.claims.get(k) !== claim || !payload.isRunning() || payload.isStale()) return false;
    if (outcome?.failure !== undefined) {
      this.claims.delete(k);
      this.fail(outcome.failure);
      return false;
    }
    const committed = outcome?.committed ?? '-1';
    claim.checked = true;
    // kafkajs's Batch keeps the offset it was fetched from (not in its typings).
    const fetchedOffset = (payload.batch as { fetchedOffset?: unknown }).fetchedOffset;
    if (committed === '-1' || String(fetchedOffset) === committed) return true;
    this.log.info('partition claimed; reading it from its committed offset', { partition, committed, fetchedFrom: String(fetchedOffset) });
    this.consumer.seek({ topic, partition, offset: committed });
    return false;
  }

  /** Starts claiming the partition (see TransactionOffsets.claimWith); the claim replaces any earlier one. */
  private startClaim(topic: string, partition: number): { result: Promise<{ committed?: string; failure?: unknown }>; checked: boolean } {
    const claim = this.claim;
    const result =
      claim === undefined
        ? Promise.resolve({ failure: new KafkaEdgeError('internal: exactly-once source read records before the sink registered how partitions are claimed') })
        : claim(topic, partition).then(
            (committed) => ({ committed }),
            (failure: unknown) => ({ failure }),
          );
    const entry = { result, checked: false };
    this.claims.set(`${partition}\u0000${topic}`, entry);
    return entry;
  }

  /** Pauses an unclaimable partition until the next join, or for `ms` at most. */
  private holdUnclaimable(k: string, topic: string, partition: number, ms: number): void {
    this.log.info('partition paused until the group assigns it again', { partition, maxMs: Math.round(ms) });
    this.consumer.pause([{ topic, partitions: [partition] }]);
    clearTimeout(this.unclaimableTimers.get(k)?.timer);
    const timer = setTimeout(() => {
      this.unclaimableTimers.delete(k);
      if (!this.stopping && !this.closing) this.consumer.resume([{ topic, partitions: [partition] }]);
    }, ms);
    timer.unref();
    this.unclaimableTimers.set(k, { timer, topic, partition });
  }

  /** A join: the new assignment says whose each partition is; the partitions paused as unclaimable read again. */
  private clearUnclaimable(): void {
    this.unclaimable.clear();
    for (const { timer, topic, partition } of this.unclaimableTimers.values()) {
      clearTimeout(timer);
      if (!this.stopping && !this.closing) this.consumer.resume([{ topic, partitions: [partition] }]);
    }
    this.unclaimableTimers.clear();
  }

  /** Pauses every assigned partition until acks bring the in-flight count down to resumeAt. */
  private async backpressure(beat: () => Promise<void>): Promise<void> {
    const all = [{ topic: this.opts.topic }];
    this.consumer.pause(all);
    this.log.debug('input paused', { inFlight: this.tracker.inFlight(), maxInFlight: this.opts.maxInFlight });
    try {
      await this.waitFor(() => this.tracker.inFlight() <= this.opts.resumeAt || !this.open, beat);
    } finally {
      if (!this.stopping) this.consumer.resume(all);
      this.log.debug('input resumed', { inFlight: this.tracker.inFlight() });
    }
  }

  /**
   * Waits until `done()` holds, heartbeating so the group keeps this member.
   * When a heartbeat reports a rebalance: at-least-once returns it at once
   * (kafkajs then settles what is in flight before it rejoins, see settle);
   * exactly-once first waits for `done()` (the transaction in flight must
   * commit before the partitions move).
   */
  private async waitFor(done: () => boolean, beat: () => Promise<void>): Promise<void> {
    let rebalance: unknown;
    while (!done()) {
      await this.progress(POLL_MS);
      if (rebalance !== undefined) continue;
      try {
        await beat();
      } catch (err) {
        if (!isRebalancing(err) || this.opts.commit === 'consumer') throw err;
        rebalance = err;
      }
    }
    if (rebalance !== undefined) throw rebalance;
  }

  /**
   * At-least-once, before kafkajs rejoins the group after a rebalance (the
   * hook registered at each join; see consumerGroupPatch.ts): lets the records
   * in flight finish, within SETTLE_MS, and commits them, so that a partition
   * that moves takes none of them to its new owner to be written again. The
   * group waits for this member meanwhile and accepts its commits of the
   * current generation; heartbeats (each answered "rebalancing") keep its
   * session. kafkajs's fetching has stopped, so nothing new comes in.
   */
  private async settle(heartbeat: () => Promise<void>): Promise<void> {
    const inFlight = this.tracker.inFlight();
    const t0 = Date.now();
    let lastBeat = t0;
    while (this.tracker.inFlight() > 0 && Date.now() - t0 < SETTLE_MS && !this.closing) {
      await this.progress(POLL_MS);
      if (Date.now() - lastBeat >= POLL_MS * 2) {
        lastBeat = Date.now();
        await heartbeat().catch(() => undefined); // "rebalancing" again, as expected
      }
    }
    await this.commitAll();
    if (inFlight === 0) return;
    this.log.info('group rebalancing: records in flight settled and committed before rejoining', {
      inFlightAtStart: inFlight,
      inFlight: this.tracker.inFlight(),
      uncommitted: this.tracker.pendingCommits().length,
      ms: Date.now() - t0,
    });
  }

  /** Resolves at the next ack (or stop), or after `ms`. */
  private async progress(ms: number): Promise<void> {
    await told(this.waiters, ms);
  }

  private wake(): void {
    tell(this.waiters);
  }

  ack(refs: readonly RecordRef[]): void {
    for (const ref of refs) this.tracker.done(ref);
    this.wake();
    if (this.opts.commit === 'consumer') this.scheduleCommit();
  }

  /** The exactly-once sink's view of the offsets (commit 'transaction' only). */
  transactionOffsets(): TransactionOffsets {
    if (this.opts.commit !== 'transaction') throw new ConfigError("KafkaSource: transactionOffsets() needs commit: 'transaction'");
    return {
      groupId: this.opts.groupId,
      stage: (refs) => {
        for (const ref of refs) this.tracker.done(ref);
        return this.tracker.pendingCommits();
      },
      committed: (offsets) => {
        this.committed(offsets);
        this.wake();
      },
      confirm: () => this.confirmMembership(),
      owns: (ref) => this.tracker.tracks(ref) && ref.epoch === this.epochOf(ref.topic, ref.partition),
      pending: () => this.tracker.pendingCommits(),
      claimWith: (claim) => {
        this.claim = claim;
      },
      release: (tp) => {
        const dropped = this.drop([tp]);
        this.claims.delete(`${tp.partition}\u0000${tp.topic}`);
        this.unclaimable.set(`${tp.partition}\u0000${tp.topic}`, Date.now());
        this.log.warn('partition given up by the sink; it is claimed again before it is read again', { partition: tp.partition, droppedInFlight: dropped });
        this.wake();
      },
    };
  }

  private epochOf(topic: string, partition: number): number {
    return this.epochs.get(`${partition}\u0000${topic}`) ?? 0;
  }

  /** Stops tracking partitions and starts a new epoch for each: what was read before belongs to an old assignment. */
  private drop(partitions: readonly TopicPartition[]): number {
    for (const tp of partitions) this.epochs.set(`${tp.partition}\u0000${tp.topic}`, this.epochOf(tp.topic, tp.partition) + 1);
    return this.tracker.drop(partitions);
  }

  /**
   * After no heartbeat for 2/3 of the session (the group may have moved on
   * without this worker): the partitions the group assigns it now, read
   * from the coordinator, and whether it is still a member. Undefined while
   * heartbeats succeed.
   */
  private async assignedNow(): Promise<{ me: unknown; mine: number[] } | undefined> {
    if (Date.now() - this.lastHeartbeat <= (this.opts.sessionTimeoutMs * 2) / 3) return undefined;
    const group = await this.consumer.describeGroup();
    const me = group.members.find((m) => m.memberId === this.memberId);
    const mine = me === undefined ? [] : (AssignerProtocol.MemberAssignment.decode(me.memberAssignment)?.assignment[this.opts.topic] ?? []);
    return { me, mine };
  }

  /** See TransactionOffsets.confirm. */
  private async confirmMembership(): Promise<boolean> {
    const now = await this.assignedNow();
    if (now === undefined) return false;
    const { me, mine } = now;
    const lost = this.tracker.partitions().filter((tp) => tp.topic === this.opts.topic && !mine.includes(tp.partition));
    const dropped = lost.length > 0 ? this.drop(lost) : 0;
    for (const tp of lost) this.unclaimable.set(`${tp.partition}\u0000${tp.topic}`, Date.now());
    // Claims of partitions the group no longer assigns here (with nothing in flight) go too.
    for (const k of [...this.claims.keys()]) {
      const partition = Number(k.slice(0, k.indexOf('\u0000')));
      if (!mine.includes(partition)) {
        this.claims.delete(k);
        this.unclaimable.set(k, Date.now());
      }
    }
    if (lost.length > 0) {
      this.wake();
      this.log.warn('partitions moved to another worker while this one was unresponsive; dropping what it had in flight there (their new owner reads it again)', {
        partitions: lost.map((tp) => tp.partition),
        droppedInFlight: dropped,
        stillMember: me !== undefined,
      });
    }
    if (me !== undefined && lost.length === 0) this.lastHeartbeat = Date.now();
    return lost.length > 0;
  }

  private committed(offsets: readonly TopicPartitionOffset[]): void {
    this.tracker.markCommitted(offsets);
    for (const o of offsets) {
      const hw = this.highWatermarks.get(o.partition);
      if (hw !== undefined) this.opts.onLag?.(o.topic, o.partition, Math.max(0, Number(hw - BigInt(o.offset))));
    }
  }

  private scheduleCommit(): void {
    if (this.committing !== undefined) {
      this.commitAgain = true;
      return;
    }
    if (this.commitTimer !== undefined || this.tracker.pendingCommits().length === 0) return;
    const wait = Math.max(0, this.lastCommit + this.opts.commitIntervalMs - Date.now());
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      void this.commitNow();
    }, wait);
  }

  /**
   * Commits every partition's committable offset now (at-least-once); joins
   * a commit already under way. Never throws: a failed commit is logged and
   * tried again at the next interval.
   */
  commitNow(): Promise<void> {
    if (this.committing !== undefined) return this.committing;
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    this.commitAgain = false;
    const offsets = this.tracker.pendingCommits();
    if (offsets.length === 0) return Promise.resolve();
    const joinsAtSend = this.joins;
    this.committing = this.consumer
      .commitOffsets(offsets)
      .then(
        () => {
          this.refusedAtJoin = undefined;
          this.committed(offsets);
          this.opts.outage.succeeded();
          this.log.debug('offsets committed', { offsets });
        },
        (err: unknown) => {
          this.commitAgain = true;
          if (isMembershipLost(err)) {
            // Evicted (a stall past the session timeout) or a rebalance: kafkajs rejoins by
            // itself, and the partitions assigned again are committed after it.
            this.refusedAtJoin = joinsAtSend;
            this.log.info('offset commit refused: this member is no longer in its group; committing again once it has rejoined', { err: kafkaEdgeError('commit', err) });
            return;
          }
          if (!this.joined) {
            // The consumer is restarting (broker outage, rebalance): commit once it is back.
            this.log.debug('offset commit postponed: the consumer is not in its group', { err: kafkaEdgeError('commit', err) });
            return;
          }
          if (!isTransient(err)) {
            this.log.warn('offset commit failed; will retry', { err: kafkaEdgeError('commit', err) });
            return;
          }
          try {
            this.opts.outage.failed('commit offsets', err);
          } catch (fatal) {
            this.subscriber?.error(fatal);
          }
        },
      )
      .finally(() => {
        this.lastCommit = Date.now();
        this.committing = undefined;
        if (this.commitAgain && !this.closing) this.scheduleCommit();
      });
    return this.committing;
  }

  /** Commits everything acked so far: joins a commit under way, then commits whatever was acked since. */
  private async commitAll(): Promise<void> {
    await this.commitNow();
    await this.commitNow();
  }

  /** Ends records() with `err` (e.g. a broker outage outlasted its bound); the worker then closes and exits. */
  fail(err: unknown): void {
    if (this.closing) return;
    this.subscriber?.error(err);
  }

  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info('input stopping', { inFlight: this.tracker.inFlight() });
    try {
      this.consumer.pause([{ topic: this.opts.topic }]);
    } catch {
      // not running yet: nothing to pause
    }
    this.wake();
    this.subscriber?.complete();
  }

  /**
   * At-least-once, on close: the coordinator refused the last commit because
   * this member had lapsed (a stall past the session timeout got it evicted,
   * and the stop came while kafkajs rejoins). Once it has rejoined, the
   * partitions assigned to it again can be committed (the join dropped the
   * others from tracking: their records are their new owner's); without it
   * the successor would write those records again. Waits closeRejoinMs at
   * most: the rejoin may take a rebalance (up to the brokers'
   * group.initial.rebalance.delay.ms, 3 s by default, for an emptied group).
   */
  private async commitOnceRejoined(): Promise<void> {
    const deadline = Date.now() + this.opts.closeRejoinMs;
    while (this.refusedAtJoin !== undefined && this.tracker.pendingCommits().length > 0) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      if (this.joins === this.refusedAtJoin) {
        this.log.info('waiting for the consumer to rejoin its group to commit', { waitMs: left, uncommitted: this.tracker.pendingCommits() });
        if (!(await told(this.joinWaiters, left))) break; // the next join
      }
      this.refusedAtJoin = undefined; // set again only if this commit is refused the same way
      await this.commitNow();
    }
  }

  /**
   * Final commit (at-least-once) and disconnect: leaves the group, so the
   * partitions move at once. Call after the pipeline has completed.
   */
  async close(): Promise<void> {
    this.stopping = true;
    this.closing = true;
    this.wake();
    this.unhook?.();
    if (this.opts.commit === 'consumer') {
      await this.commitAll();
      await this.commitOnceRejoined(); // again if the group had evicted this member
    }
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    clearInterval(this.watchdog);
    this.watchdog = undefined;
    const pending = this.tracker.pendingCommits();
    this.log.info('input closed', { inFlight: this.tracker.inFlight(), uncommitted: pending });
    await this.consumer.disconnect().catch((err: unknown) => this.log.warn('consumer disconnect failed', { err: kafkaEdgeError('disconnect', err) }));
  }
}

/** Resolves true when `tell(waiters)` is called, false after `ms`. */
function told(waiters: Set<() => void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const waiter = (): void => {
      clearTimeout(timer);
      waiters.delete(waiter);
      resolve(true);
    };
    const timer = setTimeout(() => {
      waiters.delete(waiter);
      resolve(false);
    }, ms);
    waiters.add(waiter);
  });
}

/** Tells every waiter of `waiters` (see told). */
function tell(waiters: Set<() => void>): void {
  for (const w of [...waiters]) w();
}

/** Resolves after the event loop has handled pending I/O (setImmediate runs after the poll phase). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
