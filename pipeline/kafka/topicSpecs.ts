/**
 * The topics a worker reads and writes, as the product defines them: each
 * role's name, partitions, replication factor and topic configs (retention,
 * cleanup policy), all from the same settings as `mentionflow run`
 * (WorkerConfig). `mentionflow topics create|describe` and
 * `run --create-topics` use these specs; `topicProblems` compares a topic as
 * the broker has it with its spec and says what is wrong and how to fix it.
 * A later topic of the pipeline (a changelog, a second output) is one more
 * entry in `topicSpecs`. Pure: no Kafka client here.
 */

export type TopicRole = 'input' | 'output' | 'dead-letter' | 'trends' | 'changelog';

/** The settings the specs are made from: a subset of WorkerConfig. */
export interface TopicSettings {
  inputTopic: string;
  outputTopic: string;
  deadLetterTopic: string;
  topicPartitions: number;
  /** -1: the broker's default.replication.factor. */
  topicReplicationFactor: number;
  /** -1: forever. */
  topicRetentionMs: number;
  deadLetterRetentionMs: number;
  outputCleanupPolicy: string;
}

export interface TopicSpec {
  role: TopicRole;
  name: string;
  /** What the topic holds, for listings. */
  holds: string;
  partitions: number;
  /** -1: the broker's default. */
  replicationFactor: number;
  /** Topic configs set on creation (Kafka names: retention.ms, cleanup.policy). */
  config: Readonly<Record<string, string>>;
}

/** The topic configs the specs set and `topics describe` shows (max.message.bytes: read by the worker to size its outputs). */
export const DESCRIBED_CONFIGS = ['retention.ms', 'cleanup.policy', 'max.message.bytes'] as const;

/** The input, output and dead-letter topics of a worker with these settings. */
export function topicSpecs(s: TopicSettings): TopicSpec[] {
  const common = { partitions: s.topicPartitions, replicationFactor: s.topicReplicationFactor };
  return [
    { role: 'input', name: s.inputTopic, holds: 'Post records', ...common, config: { 'retention.ms': String(s.topicRetentionMs), 'cleanup.policy': 'delete' } },
    {
      role: 'output',
      name: s.outputTopic,
      holds: 'PostMentions records, keyed by post id',
      ...common,
      config: { 'retention.ms': String(s.topicRetentionMs), 'cleanup.policy': s.outputCleanupPolicy },
    },
    { role: 'dead-letter', name: s.deadLetterTopic, holds: 'DeadLetter records', ...common, config: { 'retention.ms': String(s.deadLetterRetentionMs), 'cleanup.policy': 'delete' } },
  ];
}

/** The settings of the trends aggregator's own topics (`mentionflow trends` in Kafka mode). */
export interface TrendTopicSettings {
  /** Where EntityTrend records go, keyed by window start. */
  trendsTopic: string;
  /** The aggregator's state changelog (compacted: the latest state entry per key survives). */
  changelogTopic: string;
  topicPartitions: number;
  /** -1: the broker's default.replication.factor. */
  topicReplicationFactor: number;
  /** Retention of the trends topic; -1: forever. */
  topicRetentionMs: number;
}

/**
 * Segment size of the changelog: the trends aggregator writes its whole state
 * with every batch, and compaction never touches the active segment, so with
 * the broker's 1 GiB default a restore would read every entry since the start.
 * 16 MiB segments let the cleaner keep the restore to about that much.
 */
export const CHANGELOG_SEGMENT_BYTES = 16 * 1024 * 1024;

/**
 * The trends topic and the state changelog of a trends aggregator. The
 * changelog is compacted, never deleted by time (Kafka Streams' changelogs
 * likewise): a restart reads it back to rebuild the window state, so only the
 * latest entry per key needs to stay, and it must stay as long as the state
 * it describes is live. A shorter `min.compaction.lag.ms` is not set: any
 * tail the cleaner has not reached yet is read and superseded on restore.
 */
export function trendTopicSpecs(s: TrendTopicSettings): TopicSpec[] {
  const common = { partitions: s.topicPartitions, replicationFactor: s.topicReplicationFactor };
  return [
    { role: 'trends', name: s.trendsTopic, holds: 'EntityTrend records, keyed by window start', ...common, config: { 'retention.ms': String(s.topicRetentionMs), 'cleanup.policy': 'delete' } },
    // the changelog is read whole at start-up: one partition keeps the restore a single ordered read
    { role: 'changelog', name: s.changelogTopic, holds: 'trend state entries (window state and input offsets), keyed', partitions: 1, replicationFactor: s.topicReplicationFactor, config: { 'cleanup.policy': 'compact', 'retention.ms': '-1', 'segment.bytes': String(CHANGELOG_SEGMENT_BYTES) } },
  ];
}

/** The topics of the scaled-out trends (`mentionflow trends --stage rekey|aggregate|merge --create-topics`), besides trendTopicSpecs'. */
export interface ScaledTrendTopicSettings {
  repartitionTopic: string;
  /** Partitions of the repartition topic: how many aggregators can share the work. */
  repartitionPartitions: number;
  /** The aggregators' changelog: as many partitions as the repartition topic. */
  partitionChangelogTopic: string;
  /** The aggregators' partial trends, read by the one merger: one partition. */
  partialsTopic: string;
  /** The re-key stage's dead letters (mention records that do not decode). */
  deadLetterTopic: string;
  topicReplicationFactor: number;
  topicRetentionMs: number;
}

/**
 * The repartition topic (keyed by entity), the aggregators' changelog with
 * the same partition count (partition P's state in partition P, as Kafka
 * Streams' store changelogs), the partials topic (one partition: the merger
 * reads it in order) and the re-key stage's dead letters.
 */
export function scaledTrendTopicSpecs(s: ScaledTrendTopicSettings): TopicSpec[] {
  const rf = s.topicReplicationFactor;
  const kept = { 'retention.ms': String(s.topicRetentionMs), 'cleanup.policy': 'delete' };
  return [
    { role: 'output', name: s.repartitionTopic, holds: 'EntityMention records, keyed by entity', partitions: s.repartitionPartitions, replicationFactor: rf, config: kept },
    { role: 'changelog', name: s.partitionChangelogTopic, holds: 'trend state entries, partition P for repartition partition P', partitions: s.repartitionPartitions, replicationFactor: rf, config: { 'cleanup.policy': 'compact', 'retention.ms': '-1', 'segment.bytes': String(CHANGELOG_SEGMENT_BYTES) } },
    { role: 'trends', name: s.partialsTopic, holds: 'partial EntityTrend records (one per window and repartition partition)', partitions: 1, replicationFactor: rf, config: kept },
    { role: 'dead-letter', name: s.deadLetterTopic, holds: 'DeadLetter records', partitions: 1, replicationFactor: rf, config: kept },
  ];
}

/** A topic as the broker has it. */
export interface TopicState {
  name: string;
  partitions: number;
  /** Replicas of its first partition. */
  replicationFactor: number;
  /** The DESCRIBED_CONFIGS values. */
  config: Readonly<Record<string, string | undefined>>;
}

/** What is wrong with a topic against its spec: one sentence each, with the fix; empty when nothing is. */
export function topicProblems(spec: TopicSpec, state: TopicState | undefined, group?: { id: string; members: number }): string[] {
  const what = `${spec.role} topic ${spec.name}`;
  if (state === undefined) {
    return [`${what} does not exist; create it with \`mentionflow topics create\` (same options as run), or start run with --create-topics`];
  }
  const problems: string[] = [];
  if (state.partitions < spec.partitions) {
    problems.push(
      `${what} has ${state.partitions} partition(s), fewer than topicPartitions (${spec.partitions})` +
        `${spec.role === 'input' ? `: at most ${state.partitions} worker(s) of a group get work` : ''}; ` +
        `add them with \`mentionflow topics create --update\`, or lower --topic-partitions`,
    );
  }
  if (spec.role === 'input' && group !== undefined && group.members > state.partitions) {
    problems.push(
      `consumer group ${group.id} has ${group.members} members but ${what} has ${state.partitions} partition(s): ${group.members - state.partitions} worker(s) sit idle; ` +
        `add partitions (\`mentionflow topics create --update --topic-partitions ${group.members}\`) or run fewer workers`,
    );
  }
  if (spec.replicationFactor > 0 && state.replicationFactor !== spec.replicationFactor) {
    problems.push(`${what} has replication factor ${state.replicationFactor}, topicReplicationFactor says ${spec.replicationFactor} (change it with Kafka's partition reassignment)`);
  }
  for (const [name, want] of Object.entries(spec.config)) {
    const got = state.config[name];
    if (got !== undefined && got !== want) {
      problems.push(`${what} has ${name}=${got}, the configuration says ${want} (\`mentionflow topics create --update\` sets it)`);
    }
  }
  return problems;
}
