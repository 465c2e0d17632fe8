/**
 * What the trends stages on Kafka share (trendsWorker.ts, trendsAggregate.ts,
 * trendsMerge.ts on the trends edge; trendsRekey.ts on `mentionflow run`'s
 * edges): the topic names derived from the trends topic, the options of a
 * stage on the trends edge with their checks (ConfigError at construction,
 * before anything connects), the idle timeout, the state entry's encoding and
 * the record set aside on the late topic.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { ConfigError } from '../../common/errors.js';
import type { TrendSnapshot, TrendState } from '../../operators/trends/trendState.js';
import type { KafkaConnectionOptions } from '../kafka/client.js';
import { checkTrendsEdgeSettings, type InputRecord, type OutRecord, type TrendsEdgeOptions } from '../kafka/trendsEdge.js';
import type { Logger } from '../ops/logger.js';

/** The topics of the trends, named after the trends topic unless given. */
export interface TrendTopicNames {
  /** The trend records (one aggregator, or the merger). */
  trends: string;
  /** Late and undecodable input records, as read (header reason). Default `TRENDS.late`. */
  late: string;
  /** The single aggregator's and the merger's changelog (one partition). Default `TRENDS.changelog`. */
  changelog: string;
  /** Scaled out: the mentions keyed by entity. Default `TRENDS.repartition`. */
  repartition: string;
  /** Scaled out: the aggregators' changelog, as many partitions as the repartition topic: `REPARTITION.changelog`. */
  repartitionChangelog: string;
  /** Scaled out: the aggregators' partial trends. Default `TRENDS.partials`. */
  partials: string;
  /** Scaled out: the re-key stage's undecodable records. Default `REPARTITION.deadletter`. */
  deadLetter: string;
}

/** The topic names for the trends topic `trends`, with any given explicitly. */
export function trendTopicNames(trends: string, given: Partial<Omit<TrendTopicNames, 'trends' | 'repartitionChangelog'>> = {}): TrendTopicNames {
  if (typeof trends !== 'string' || trends.trim() === '') throw new ConfigError(`the trends topic must be a non-empty name, got ${JSON.stringify(trends)}`);
  const repartition = given.repartition ?? `${trends}.repartition`;
  return {
    trends,
    late: given.late ?? `${trends}.late`,
    changelog: given.changelog ?? `${trends}.changelog`,
    repartition,
    repartitionChangelog: `${repartition}.changelog`,
    partials: given.partials ?? `${trends}.partials`,
    deadLetter: given.deadLetter ?? `${repartition}.deadletter`,
  };
}

/** The options every stage on the trends edge takes (one aggregator, a scaled-out aggregator, the merger). */
export interface TrendsStageOptions {
  /** How to reach Kafka. */
  connection: KafkaConnectionOptions;
  /** Records set aside, as read: late (header reason=late), undecodable (reason=invalid), stale (the merger: reason=stale). */
  lateTopic: string;
  /** The compacted state changelog. */
  changelogTopic: string;
  groupId: string;
  delivery: 'exactly-once' | 'at-least-once';
  /** exactly-once, stable across restarts: the transactional id (a scaled-out aggregator: the prefix of `PREFIX-TOPIC-P`). */
  transactionalId: string;
  logger: Logger;
  /** Outputs, state and offsets are written at most this often (ms, >= 0; 0: after every batch); default 1000 (trendsEdge.ts). */
  commitIntervalMs?: number;
  /** Largest changelog record in bytes (the state is split into chunks); default 512 KiB (trendsEdge.ts). */
  changelogChunkBytes?: number;
}

/** What a stage that keeps windows adds: the wall clock and the idle timeout. */
export interface TrendsWindowOptions {
  /** Wall clock for emitted_at and the idle timeout; default Date.now. */
  now?: () => number;
  /**
   * Idle input, in ms of wall clock (default Infinity: off). A source with
   * no record for this long is left out of the watermark until it delivers
   * again (TrendState.markIdle); when no source has delivered for this long,
   * event time moves on with the clock (TrendState.advanceIdle), so the last
   * windows of a quiet stream close. Checked about every second (every
   * idleTimeoutMs when shorter); the windows it closes are written like a
   * batch (one transaction with the state), with no input offsets.
   */
  idleTimeoutMs?: number;
}

const nonEmpty = (name: string, v: unknown): void => {
  if (typeof v !== 'string' || v.trim() === '') throw new ConfigError(`trends: ${name} must be a non-empty string, got ${JSON.stringify(v)}`);
};

/**
 * Checks a stage's options (ConfigError) and returns the trends edge options
 * they make for the input `fromTopic`, `states` and `stateKey`.
 */
export function stageEdgeOptions(
  o: TrendsStageOptions,
  edge: Pick<TrendsEdgeOptions, 'fromTopic' | 'states' | 'stateKey'>,
): Pick<TrendsEdgeOptions, 'connection' | 'fromTopic' | 'changelogTopic' | 'groupId' | 'states' | 'stateKey' | 'delivery' | 'transactionalId' | 'logger' | 'commitIntervalMs' | 'changelogChunkBytes'> {
  for (const [name, v] of Object.entries({ fromTopic: edge.fromTopic, lateTopic: o.lateTopic, changelogTopic: o.changelogTopic, groupId: o.groupId, transactionalId: o.transactionalId })) nonEmpty(name, v);
  const checked = checkTrendsEdgeSettings({ delivery: o.delivery, states: edge.states, commitIntervalMs: o.commitIntervalMs, changelogChunkBytes: o.changelogChunkBytes });
  return { connection: o.connection, changelogTopic: o.changelogTopic, groupId: o.groupId, delivery: o.delivery, transactionalId: o.transactionalId, logger: o.logger, ...edge, ...checked };
}

/** The idle timeout in ms (Infinity: off); ConfigError unless > 0. */
export function idleTimeoutOf(o: TrendsWindowOptions): number {
  const ms = o.idleTimeoutMs ?? Infinity;
  if (!(ms > 0)) throw new ConfigError(`trends: idleTimeoutMs must be > 0 ms (or Infinity: off), got ${ms}`);
  return ms;
}

/**
 * The idle timeout of one TrendState fed by several sources: the wall clock
 * of each source's last record, of the last record of any, and of the last
 * idle advance.
 */
export class IdleClock {
  private readonly seen = new Map<string, number>();
  private last: number;
  private advanced: number;

  /** Every source starts as just seen (the restore): silent ones leave the watermark after idleMs. */
  constructor(sources: readonly string[], at: number, private readonly idleMs: number) {
    for (const s of sources) this.seen.set(s, at);
    this.last = this.advanced = at;
  }

  /** Input arrived at `at` (a batch). */
  input(at: number): void {
    this.last = this.advanced = at;
  }

  /** A record of `source` arrived at `at`. */
  saw(source: string, at: number): void {
    this.seen.set(source, at);
  }

  /** At `at`: sources silent for idleMs leave the watermark; all silent that long, event time follows the clock. */
  tick(state: TrendState, at: number): void {
    for (const [s, seen] of this.seen) if (at - seen >= this.idleMs) state.markIdle(s);
    if (at - this.last >= this.idleMs) {
      state.advanceIdle(at - this.advanced);
      this.advanced = at;
    }
  }
}

/** The edge's idle tick settings for an idle timeout (undefined: off). */
export function idleTicks(idleMs: number, tick: (state: number) => OutRecord[]): { idle?: TrendsEdgeOptions['idle'] } {
  return idleMs === Infinity ? {} : { idle: { tickMs: Math.min(idleMs, 1000), tick } };
}

/** A state as one changelog entry: gzip JSON, level 1 (small and fast enough to write whole at each commit). */
export function encodeState(snapshot: unknown): Buffer {
  return gzipSync(JSON.stringify(snapshot), { level: 1 });
}

const gzip = (text: string): Buffer => gzipSync(text, { level: 1 });
const COMMA = gzip(',');
const HISTORY = gzip('],"history":[');
const END = gzip(']}');

/**
 * Encodes the snapshots of one TrendState as {@link encodeState} does (gzip
 * JSON: decodeState reads them, and old entries read the same way), at the
 * cost of what changed since the last one: a gzip stream may be a series of
 * gzip members, decoded as their texts joined, so the entry is one member
 * per open window and per window of the history, between the head's and the
 * separators'. A window object of the snapshot that is the same as in an
 * earlier one (TrendState.snapshot keeps it while nothing counts in it;
 * closed windows never change) reuses its member; the rest (the head, the
 * windows counted in) is encoded again.
 */
export class StateEncoder {
  private members = new WeakMap<object, Buffer>();

  encode(snapshot: TrendSnapshot): Buffer {
    const { windows, history, ...head } = snapshot;
    const headJson = JSON.stringify(head);
    const parts: Buffer[] = [gzip(`${headJson.slice(0, -1)}${headJson === '{}' ? '' : ','}"windows":[`)];
    const members = new WeakMap<object, Buffer>(); // only the windows of this snapshot stay cached
    const add = (xs: readonly object[]): void =>
      xs.forEach((x, i) => {
        if (i > 0) parts.push(COMMA);
        const m = this.members.get(x) ?? gzip(JSON.stringify(x));
        members.set(x, m);
        parts.push(m);
      });
    add(windows);
    parts.push(HISTORY);
    add(history);
    parts.push(END);
    this.members = members;
    return Buffer.concat(parts);
  }
}

/** A changelog entry back to the snapshot it holds. */
export function decodeState<T>(entry: Buffer): T {
  return JSON.parse(gunzipSync(entry).toString('utf8')) as T;
}

/** An input record set aside on the late topic, as read, with the reason and where it was read. */
export function setAside(lateTopic: string, r: InputRecord, reason: string, detail: string): OutRecord {
  return { topic: lateTopic, key: r.key?.toString() ?? '', value: r.value ?? Buffer.alloc(0), headers: { reason, detail, partition: String(r.partition), offset: r.offset } };
}
