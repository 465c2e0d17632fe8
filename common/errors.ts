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

/** A malformed line in an input corpus, reported as file:line. */
export class CorpusFormatError extends MentionflowError {
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

/** A Kafka-side failure (connection, produce, commit); usually retriable. */
export class KafkaEdgeError extends MentionflowError {}

/** The requested compute backend is not available. */
export class BackendError extends MentionflowError {}
