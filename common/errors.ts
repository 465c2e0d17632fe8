/**
 * One error hierarchy for mentionflow (after kafkajs): a base error with
 * `retriable` and `cause`, and subclasses that carry context. Code anywhere in
 * the project throws one of these; the CLI turns them into a one-line message
 * and a non-zero exit code instead of a stack dump.
 */

export interface MentionflowErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** Whether retrying the same operation may succeed. Default false. */
  retriable?: boolean;
}

/** The base of mentionflow's errors: `retriable`, `cause`, and the exit code the CLI uses for it. */
export class MentionflowError extends Error {
  readonly retriable: boolean;
  /** Exit code the CLI uses when this error ends a command. */
  readonly exitCode: number = 1;

  constructor(message: string, options: MentionflowErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** A bad option or configuration value; the message says which and how to fix it. */
export class ConfigError extends MentionflowError {
  override readonly exitCode = 2;
}

/** A malformed line in an input corpus, reported as file:line; a user mistake (exit code 2), like a bad option. */
export class CorpusFormatError extends MentionflowError {
  override readonly exitCode = 2;

  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
  }
}

/** A model artifact that is missing, truncated, corrupted or of an unsupported version. */
export class ModelArtifactError extends MentionflowError {
  constructor(
    readonly dir: string,
    detail: string,
    options: MentionflowErrorOptions = {},
  ) {
    super(`model artifact ${dir}: ${detail}`, options);
  }
}

/** A payload that cannot be decoded (bad Avro, wrong schema). Goes to the dead-letter topic. */
export class DecodeError extends MentionflowError {}

/** The tagger failed on an input. Goes to the dead-letter topic. */
export class TaggingError extends MentionflowError {}

/**
 * An output record larger than the output limit (what the broker accepts as
 * one message). Its input goes to the dead-letter topic instead of taking the
 * worker down.
 */
export class RecordTooLargeError extends MentionflowError {}

/** Where in Kafka something happened, as far as it is known. */
export interface KafkaPosition {
  topic?: string;
  partition?: number;
  /** Offset as a decimal string, as Kafka clients report it. */
  offset?: string;
}

/**
 * A Kafka-side failure (connection, authentication, produce, commit).
 * `retriable` says whether the same call may succeed later (a lost
 * connection, a timeout, a leader election) or not (wrong credentials, an
 * untrusted certificate, a refused authorization). The topic, partition and
 * offset, where known, are kept as fields and appended to the message:
 * "cannot write 3 record(s): Connection closed (topic posts, partition 2)".
 */
export class KafkaEdgeError extends MentionflowError {
  readonly topic?: string;
  readonly partition?: number;
  readonly offset?: string;

  constructor(message: string, options: MentionflowErrorOptions & KafkaPosition = {}) {
    const { topic, partition, offset } = options;
    const where = [topic === undefined ? '' : `topic ${topic}`, partition === undefined ? '' : `partition ${partition}`, offset === undefined ? '' : `offset ${offset}`]
      .filter((part) => part !== '')
      .join(', ');
    super(where === '' ? message : `${message} (${where})`, options);
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
  }
}

/** The requested compute backend is not available. */
export class BackendError extends MentionflowError {}
