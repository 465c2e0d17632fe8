/**
 * WorkerConfig: every setting of the streaming worker (`mentionflow run`),
 * with its default, description, and the names it has in the three places a
 * value can come from. Precedence: command-line flag > environment variable >
 * JSON config file (--config) > default. Each option has all three names:
 *
 *   key (config file)    flag                 environment variable
 *   brokers              --brokers            MENTIONFLOW_BROKERS
 *   inputTopic           --input-topic        MENTIONFLOW_INPUT_TOPIC
 *   batchMaxWaitMs       --batch-max-wait-ms  MENTIONFLOW_BATCH_MAX_WAIT_MS
 *   ...                  (flag: key in kebab-case; variable: MENTIONFLOW_ + key in UPPER_SNAKE_CASE)
 *
 * The full table is WORKER_OPTIONS below, and `mentionflow run --help`
 * prints it. The config file and --config's variable MENTIONFLOW_CONFIG
 * are read only by resolveWorkerConfig's caller. The SASL password is never a
 * flag or a file key: it comes from MENTIONFLOW_SASL_PASSWORD only, so it
 * stays out of shell history, process listings and config repositories.
 *
 * Everything is validated here, before anything connects: an unknown key in
 * the file is a ConfigError listing the known ones, a malformed value names
 * the option, where it came from, and what to write instead.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../../common/errors.js';
import { DELIVERY_MODES, SASL_MECHANISMS, START_FROM, type DeliveryMode, type KafkaEdgesSettings, type SaslMechanism } from '../kafka/settings.js';
import { MAX_THREADS, type ThreadTaggerOptions } from '../../models/threadTagger.js';
import { INFERENCE_PRECISIONS, type InferencePrecision } from '../../models/layers/precision.js';
import { DEFAULT_QUIET_MS } from '../../operators/batchItems.js';

export { DELIVERY_MODES, SASL_MECHANISMS, type DeliveryMode, type SaslMechanism };
const BACKENDS = ['auto', 'native', 'wasm', 'cpu'] as const;
export const INFERENCE_MODES = ['inline', 'thread'] as const;
/** Where the tagger runs: inline on the main thread, or in a worker thread. */
export type InferenceMode = (typeof INFERENCE_MODES)[number];
export const BATCH_MODES = ['fixed', 'adaptive'] as const;
/** How posts are batched for the tagger: fixed limits and a timer, or adaptive to the tagger's load. */
export type BatchMode = (typeof BATCH_MODES)[number];
const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const LOG_FORMATS = ['json', 'pretty'] as const;
const WIRE_FORMATS = ['raw', 'confluent', 'auto'] as const;
export const CLEANUP_POLICIES = ['delete', 'compact', 'compact,delete'] as const;
/** Most batches in flight (--tagger-concurrency). */
const MAX_CONCURRENCY = 64;

/** The environment variable holding the SASL password (the only place it is read from). */
export const SASL_PASSWORD_ENV = 'MENTIONFLOW_SASL_PASSWORD';
/** The environment variable naming the config file when --config is not given. */
export const CONFIG_FILE_ENV = 'MENTIONFLOW_CONFIG';
/** Variables of the MENTIONFLOW_ namespace that other parts of the program read; not worker options. */
const OTHER_ENV = ['MENTIONFLOW_DEBUG', 'MENTIONFLOW_CORPORA', SASL_PASSWORD_ENV, CONFIG_FILE_ENV];

/** Every setting of the streaming worker (`mentionflow run`); defaultConfig gives the defaults, resolveWorkerConfig merges flags, environment and config file. The Kafka edges read their part (KafkaEdgesSettings: connection, TLS/SASL, topics, delivery). */
export interface WorkerConfig extends KafkaEdgesSettings {
  /** Kafka bootstrap brokers (host:port). Empty: the embedded file mode (no Kafka). */
  brokers: string[];
  clientId: string;
  groupId: string;
  inputTopic: string;
  outputTopic: string;
  deadLetterTopic: string;
  /** Where a consumer group without committed offsets starts. */
  startFrom: (typeof START_FROM)[number];
  delivery: DeliveryMode;
  /**
   * exactly-once: prefix of the transactional ids, one per input partition
   * (`<prefix>-<inputTopic>-<partition>`), the same for every worker of the
   * group. Unset: the group id.
   */
  transactionalIdPrefix?: string;
  /** Model artifact directory (not used with modelStore). */
  model: string;
  /**
   * A model store (models/artifact/store.ts): serve the version its SERVING
   * pointer names and hot-swap when a promotion moves it. Unset: serve `model`.
   */
  modelStore?: string;
  /** modelStore: ms between reads of SERVING. */
  modelPollMs: number;
  backend: (typeof BACKENDS)[number];
  /** The LSTM's precision at inference (models/layers/nativeLstm.ts useInferencePrecision). */
  precision: InferencePrecision;
  /** Where the tagger runs: on the main thread between the Kafka I/O (inline), or in a worker thread (thread). */
  inference: InferenceMode;
  /** Framing of the input values. */
  inputWire: (typeof WIRE_FORMATS)[number];
  /**
   * fixed: a batch closes at batchMaxCount, batchMaxChars or batchMaxWaitMs,
   * or once the input has been read to its end and stayed quiet for
   * DEFAULT_QUIET_MS with a tagger slot free (operators/batchItems.ts); adaptive: a batch goes to the tagger as soon
   * as it has a free slot, so batches grow with the load, within
   * batchMaxCount and batchMaxChars (operators/batchAdaptive.ts).
   */
  batchMode: BatchMode;
  batchMaxCount: number;
  /** fixed batch mode only. */
  batchMaxWaitMs: number;
  batchMaxChars: number;
  /** Most batches being tagged at once (tagBatch's concurrency; the slots batchAdaptive watches). */
  taggerConcurrency: number;
  /** inference thread: inference threads, each with a copy of the model (ThreadTagger's `threads`). */
  taggerThreads: number;
  maxInFlight: number;
  commitIntervalMs: number;
  metricsPort: number;
  metricsHost: string;
  /** TLS (the CA, certificate and key files, and SASL: see KafkaConnectionSettings; the SASL password from MENTIONFLOW_SASL_PASSWORD only). */
  ssl: boolean;
  connectionTimeoutMs: number;
  sessionTimeoutMs: number;
  /**
   * Longest broker outage ridden through: writes, offset commits and consumer
   * restarts are retried with backoff meanwhile (readiness false); a longer
   * one ends the worker (exit 1) and its successor resumes from the committed offsets.
   */
  maxBrokerOutageMs: number;
  shutdownTimeoutMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
  logFormat: (typeof LOG_FORMATS)[number];
  /** Partitions of the topics `mentionflow topics create` (and run --create-topics) creates. */
  topicPartitions: number;
  /** Replication factor of the topics created; -1: the broker's default.replication.factor. */
  topicReplicationFactor: number;
  /** retention.ms of the input and output topics created; -1: kept forever. */
  topicRetentionMs: number;
  /** retention.ms of the dead-letter topic created (longer: dead letters wait for someone to look at them). */
  deadLetterRetentionMs: number;
  /** cleanup.policy of the output topic created (its records are keyed by post id, so compaction keeps each post's latest mentions). */
  outputCleanupPolicy: (typeof CLEANUP_POLICIES)[number];
  /** Embedded mode: the posts file (Avro object container or NDJSON). */
  input: string;
  /** Embedded mode: where dead letters go as NDJSON; unset: stderr. */
  deadLetterFile?: string;
}

type Kind =
  | { type: 'string'; optional?: boolean }
  | { type: 'int'; min: number; max: number }
  | { type: 'bool' }
  | { type: 'list' }
  | { type: 'enum'; values: readonly string[]; optional?: boolean };

/** Where the program is installed decides these defaults. */
export interface DefaultPaths {
  model: string;
  input: string;
}

export interface WorkerOption {
  key: Exclude<keyof WorkerConfig, 'saslPassword'>;
  kind: Kind;
  /** Placeholder in --help. */
  arg: string;
  description: string;
  /** The default value (the one place it is written); a function of the install paths for the model and the sample input. Unset: the option is optional. */
  default?: string | number | boolean | readonly string[] | ((paths: DefaultPaths) => string);
  /** How --help shows the default, where the value itself does not say it well. */
  defaultText?: string;
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER): Kind => ({ type: 'int', min, max });
const str: Kind = { type: 'string' };
const optStr: Kind = { type: 'string', optional: true };
const oneOf = (values: readonly string[], optional = false): Kind => ({ type: 'enum', values, optional });

/** Every worker option, in --help order. */
export const WORKER_OPTIONS: readonly WorkerOption[] = [
  { key: 'brokers', kind: { type: 'list' }, arg: 'HOST:PORT,...', description: 'Kafka bootstrap brokers; none: read --input and write NDJSON to stdout (embedded mode)', default: [], defaultText: 'none' },
  { key: 'clientId', kind: str, arg: 'ID', description: 'Kafka client id', default: 'mentionflow' },
  { key: 'groupId', kind: str, arg: 'ID', description: 'consumer group of the workers sharing the input', default: 'mentionflow' },
  { key: 'inputTopic', kind: str, arg: 'TOPIC', description: 'topic of Post records', default: 'posts' },
  { key: 'outputTopic', kind: str, arg: 'TOPIC', description: 'topic for PostMentions records', default: 'mentions' },
  { key: 'deadLetterTopic', kind: str, arg: 'TOPIC', description: 'topic for DeadLetter records (inputs that failed)', default: 'posts.deadletter' },
  { key: 'startFrom', kind: oneOf(START_FROM), arg: 'WHERE', description: 'where a group with no committed offset starts: earliest or latest', default: 'earliest' },
  { key: 'delivery', kind: oneOf(DELIVERY_MODES), arg: 'MODE', description: 'at-least-once (commit after outputs are acked) or exactly-once (outputs and offsets in one transaction; read outputs with read_committed)', default: 'at-least-once' },
  { key: 'transactionalIdPrefix', kind: optStr, arg: 'PREFIX', description: 'exactly-once: prefix of the transactional ids, one per input partition (<prefix>-<inputTopic>-<partition>), the same for every worker of the group; the worker that takes a partition over fences its previous writers', defaultText: 'the group id' },
  { key: 'model', kind: str, arg: 'DIR', description: 'model artifact directory', default: (paths) => paths.model, defaultText: 'the shipped model, models/default' },
  { key: 'modelStore', kind: optStr, arg: 'DIR', description: 'model store (see `mentionflow promote`): serve the version its SERVING names and hot-swap between batches when a promotion moves it (a candidate that fails to load is refused, the old model keeps serving); overrides --model' },
  { key: 'modelPollMs', kind: int(10, 3_600_000), arg: 'MS', description: 'with --model-store: time between reads of its SERVING pointer', default: 2000 },
  { key: 'backend', kind: oneOf(BACKENDS), arg: 'NAME', description: 'compute backend: auto, native, wasm or cpu', default: 'auto' },
  { key: 'precision', kind: oneOf(INFERENCE_PRECISIONS), arg: 'P', description: "the LSTM's products at inference: float32; bfloat16 (native backend, a CPU with AVX512_BF16 and mentionflow's addon: about 1.2x the characters per CPU-second, the same dev F1 on the shipped model); or int8 (the same with AVX512_VNNI: about 1.5x, dev F1 within 0.2 on the shipped model); refused where it cannot run", default: 'float32' },
  { key: 'inference', kind: oneOf(INFERENCE_MODES), arg: 'MODE', description: 'where the tagger runs: inline (on the main thread, between Kafka I/O and Avro decoding) or thread (a worker thread, so they overlap with tagging)', default: 'inline' },
  { key: 'inputWire', kind: oneOf(WIRE_FORMATS), arg: 'FORMAT', description: 'framing of input values: raw Avro, confluent (Schema Registry header) or auto', default: 'raw' },
  { key: 'batchMode', kind: oneOf(BATCH_MODES), arg: 'MODE', description: `fixed (a batch closes when full, --batch-max-wait-ms after its first post, or once the input is read to its end, quiet for ${DEFAULT_QUIET_MS} ms, and a tagger slot free) or adaptive (a post goes to the tagger at once while it has a free slot; what arrives while every slot is busy goes as one batch when a slot frees; no timer)`, default: 'fixed' },
  { key: 'batchMaxCount', kind: int(1, 4096), arg: 'N', description: 'most posts per tagger batch', default: 64 },
  { key: 'batchMaxWaitMs', kind: int(0, 60_000), arg: 'MS', description: 'fixed batch mode: longest a post waits for its batch to fill while more input is coming (not used in adaptive mode)', default: 50 },
  { key: 'batchMaxChars', kind: int(1), arg: 'N', description: 'most code points per tagger batch', default: 8192 },
  { key: 'taggerConcurrency', kind: int(1, MAX_CONCURRENCY), arg: 'N', description: 'most batches being tagged at once, results kept in order (above 1 helps only with --inference thread); when not given, 1, or with --inference thread twice --tagger-threads (each thread has its next batch while the main thread handles a result)', default: 1 },
  { key: 'taggerThreads', kind: int(1, MAX_THREADS), arg: 'N', description: 'with --inference thread: inference threads, each with its own copy of the model, so that concurrent batches (--tagger-concurrency, twice this unless given) are tagged in parallel; about one per core the Kafka I/O leaves free', default: 1 },
  { key: 'maxInFlight', kind: int(1), arg: 'N', description: 'records read but not yet acked before the input pauses (resumes at half)', default: 2000 },
  { key: 'commitIntervalMs', kind: int(0, 600_000), arg: 'MS', description: 'at-least-once: least time between offset commits', default: 1000 },
  { key: 'metricsPort', kind: int(0, 65535), arg: 'PORT', description: 'port of /metrics, /healthz and /readyz; 0: no HTTP server', default: 0 },
  { key: 'metricsHost', kind: str, arg: 'HOST', description: 'interface of the metrics server (0.0.0.0 to be scraped from other hosts)', default: '127.0.0.1' },
  { key: 'ssl', kind: { type: 'bool' }, arg: '', description: 'connect to Kafka with TLS (implied by --ssl-ca/--ssl-cert/--ssl-key)', default: false },
  { key: 'sslCa', kind: optStr, arg: 'FILE', description: 'TLS: PEM file of the CA certificates to trust (default: the system ones)' },
  { key: 'sslCert', kind: optStr, arg: 'FILE', description: 'TLS: PEM client certificate (with --ssl-key)' },
  { key: 'sslKey', kind: optStr, arg: 'FILE', description: 'TLS: PEM client private key (with --ssl-cert)' },
  { key: 'saslMechanism', kind: oneOf(SASL_MECHANISMS, true), arg: 'MECH', description: `SASL: plain, scram-sha-256 or scram-sha-512 (password from ${SASL_PASSWORD_ENV} only)` },
  { key: 'saslUsername', kind: optStr, arg: 'USER', description: 'SASL user name' },
  { key: 'connectionTimeoutMs', kind: int(100, 120_000), arg: 'MS', description: 'Kafka connection timeout; an unreachable broker fails the start within a few of these', default: 3000 },
  { key: 'sessionTimeoutMs', kind: int(1000, 3_600_000), arg: 'MS', description: 'consumer group session timeout (how soon a dead worker\'s partitions move)', default: 30_000 },
  { key: 'maxBrokerOutageMs', kind: int(0, 86_400_000), arg: 'MS', description: 'longest Kafka outage ridden through (writes, commits and reads retried with backoff, /readyz 503 meanwhile); longer: exit 1, nothing lost', default: 300_000 },
  { key: 'shutdownTimeoutMs', kind: int(0, 3_600_000), arg: 'MS', description: 'on SIGTERM/SIGINT: most time to drain, commit and disconnect before exiting anyway', default: 30_000 },
  { key: 'logLevel', kind: oneOf(LOG_LEVELS), arg: 'LEVEL', description: 'debug, info, warn or error', default: 'info' },
  { key: 'logFormat', kind: oneOf(LOG_FORMATS), arg: 'FORMAT', description: 'json lines or pretty, on stderr', default: 'json' },
  { key: 'topicPartitions', kind: int(1, 10_000), arg: 'N', description: 'partitions of the topics `topics create` / `run --create-topics` create: the most workers of one group that get work', default: 3 },
  { key: 'topicReplicationFactor', kind: int(-1, 32), arg: 'N', description: 'replication factor of the topics created; -1: the broker\'s default.replication.factor', default: -1 },
  { key: 'topicRetentionMs', kind: int(-1), arg: 'MS', description: 'retention.ms of the input and output topics created; -1: forever', default: 604_800_000, defaultText: '604800000, 7 days' },
  { key: 'deadLetterRetentionMs', kind: int(-1), arg: 'MS', description: 'retention.ms of the dead-letter topic created; -1: forever', default: 2_592_000_000, defaultText: '2592000000, 30 days' },
  { key: 'outputCleanupPolicy', kind: oneOf(CLEANUP_POLICIES), arg: 'POLICY', description: 'cleanup.policy of the output topic created: delete, compact (records are keyed by post id: the latest mentions of each post are kept) or compact,delete', default: 'delete' },
  { key: 'input', kind: str, arg: 'FILE', description: 'embedded mode: posts file, Avro object container or NDJSON of Post records', default: (paths) => paths.input, defaultText: 'schemas/post/samples/posts.ndjson' },
  { key: 'deadLetterFile', kind: optStr, arg: 'FILE', description: 'embedded mode: write dead letters (NDJSON) here instead of stderr' },
];

const KNOWN = new Map(WORKER_OPTIONS.map((o) => [o.key as string, o]));

/** `inputTopic` -> `input-topic`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `inputTopic` -> `MENTIONFLOW_INPUT_TOPIC`. */
export function envName(key: string): string {
  return `MENTIONFLOW_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** The defaults, from WORKER_OPTIONS; the model and input paths come from the caller (they depend on where the program is installed). */
export function defaultConfig(paths: DefaultPaths): WorkerConfig {
  const config: Record<string, unknown> = {};
  for (const o of WORKER_OPTIONS) {
    if (o.default === undefined) continue;
    config[o.key] = typeof o.default === 'function' ? o.default(paths) : Array.isArray(o.default) ? [...(o.default as string[])] : o.default;
  }
  return config as unknown as WorkerConfig;
}

/** How --help shows an option's default; undefined: none to show. */
export function defaultText(o: WorkerOption): string | undefined {
  if (o.defaultText !== undefined) return o.defaultText;
  if (o.default === undefined || typeof o.default === 'function' || o.default === false) return undefined;
  return Array.isArray(o.default) ? o.default.join(',') : String(o.default);
}

/** Edit distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

function suggest(name: string, candidates: readonly string[]): string {
  const best = candidates
    .map((c) => ({ c, d: distance(name.toLowerCase(), c.toLowerCase()) }))
    .sort((x, y) => x.d - y.d)[0];
  return best !== undefined && best.d <= Math.max(2, Math.floor(name.length / 4)) ? ` (did you mean "${best.c}"?)` : '';
}

type Value = string | number | boolean | string[] | undefined;

/** Parses one value given as text (a flag or an environment variable). */
function parseText(opt: WorkerOption, text: string, where: string): Value {
  const kind = opt.kind;
  const bad = (want: string): ConfigError => new ConfigError(`${where} must be ${want}, got ${JSON.stringify(text)}`);
  switch (kind.type) {
    case 'string':
      return text;
    case 'list':
      return text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(text)) return true;
      if (/^(0|false|no|off|)$/i.test(text)) return false;
      throw bad('true or false');
    case 'int': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isInteger(n)) throw bad(`an integer ${kind.min}..${kind.max}`);
      return n;
    }
    case 'enum':
      return text;
  }
}

/** Checks one value given as JSON (the config file). */
function checkJson(opt: WorkerOption, value: unknown, where: string): Value {
  const kind = opt.kind;
  const got = JSON.stringify(value);
  switch (kind.type) {
    case 'string':
    case 'enum':
      if (typeof value !== 'string') throw new ConfigError(`${where} must be a string, got ${got}`);
      return value;
    case 'list':
      if (typeof value === 'string') return parseText(opt, value, where);
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        throw new ConfigError(`${where} must be an array of strings (or one comma-separated string), got ${got}`);
      }
      return value as string[];
    case 'bool':
      if (typeof value !== 'boolean') throw new ConfigError(`${where} must be true or false, got ${got}`);
      return value;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw new ConfigError(`${where} must be an integer ${kind.min}..${kind.max}, got ${got}`);
      return value;
  }
}

/** Range and choice checks shared by the three sources. */
function checkValue(opt: WorkerOption, value: Value, where: string): void {
  const kind = opt.kind;
  if (kind.type === 'int' && typeof value === 'number' && (value < kind.min || value > kind.max)) {
    throw new ConfigError(`${where} must be an integer ${kind.min}..${kind.max}, got ${value}`);
  }
  if (kind.type === 'enum' && typeof value === 'string' && !kind.values.includes(value)) {
    throw new ConfigError(`${where} must be one of ${kind.values.join(', ')}, got ${JSON.stringify(value)}${suggest(value, kind.values)}`);
  }
  if (kind.type === 'string' && typeof value === 'string' && value.trim() === '' && !kind.optional) {
    throw new ConfigError(`${where} must not be empty`);
  }
}

/** Where resolveWorkerConfig takes settings from, highest precedence first: flags, environment, config file, defaults. */
export interface ConfigSources {
  /** Flag values by config key (already parsed by the command line; undefined: not given). */
  flags?: Partial<Record<string, string | boolean | undefined>>;
  /** The environment (default: none). */
  env?: Record<string, string | undefined>;
  /** The parsed config file, and its path for messages. */
  file?: { path: string; values: unknown };
  /** Default paths (model directory, sample input). */
  paths: { model: string; input: string };
  /** Called for ignorable problems (unknown MENTIONFLOW_ variables, settings that have no effect). */
  warn?: (message: string) => void;
}

/** Reads and parses a JSON config file; ConfigError if it is missing or not JSON. */
export function readConfigFile(path: string): { path: string; values: unknown } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return { path, values: JSON.parse(text) as unknown };
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Merges defaults < file < environment < flags into a validated WorkerConfig.
 * Throws ConfigError naming the option, its source and the fix.
 */
export function resolveWorkerConfig(sources: ConfigSources): WorkerConfig {
  const config = defaultConfig(sources.paths) as unknown as Record<string, Value>;
  const set = new Set<string>();
  const knownKeys = WORKER_OPTIONS.map((o) => o.key as string);

  if (sources.file !== undefined) {
    const { path, values } = sources.file;
    if (values === null || typeof values !== 'object' || Array.isArray(values)) {
      throw new ConfigError(`config file ${path} must hold a JSON object of options, e.g. {"brokers": ["kafka:9092"]}`);
    }
    for (const [key, raw] of Object.entries(values)) {
      if (key === 'saslPassword') {
        throw new ConfigError(`config file ${path}: saslPassword is not read from files; set ${SASL_PASSWORD_ENV} in the environment`);
      }
      const opt = KNOWN.get(key);
      if (opt === undefined) {
        throw new ConfigError(`config file ${path}: unknown option "${key}"${suggest(key, knownKeys)}; known options: ${knownKeys.join(', ')}`);
      }
      const where = `config file ${path}: ${key}`;
      const value = checkJson(opt, raw, where);
      checkValue(opt, value, where);
      config[key] = value;
      set.add(key);
    }
  }

  const env = sources.env ?? {};
  const envNames = new Map(WORKER_OPTIONS.map((o) => [envName(o.key), o]));
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith('MENTIONFLOW_') || text === undefined) continue;
    const opt = envNames.get(name);
    if (opt === undefined) {
      if (!OTHER_ENV.includes(name)) {
        sources.warn?.(`ignoring unknown environment variable ${name}${suggest(name, [...envNames.keys()])}`);
      }
      continue;
    }
    const where = `environment variable ${name}`;
    const value = parseText(opt, text, where);
    checkValue(opt, value, where);
    config[opt.key] = value;
    set.add(opt.key);
  }

  for (const [key, given] of Object.entries(sources.flags ?? {})) {
    if (given === undefined) continue;
    const opt = KNOWN.get(key);
    if (opt === undefined) throw new ConfigError(`unknown option --${flagName(key)}`);
    const where = `--${flagName(key)}`;
    const value = typeof given === 'boolean' ? given : parseText(opt, given, where);
    checkValue(opt, value, where);
    config[key] = value;
    set.add(key);
  }

  const password = env[SASL_PASSWORD_ENV];
  if (password !== undefined && password !== '') config.saslPassword = password;
  const c = config as unknown as WorkerConfig;
  // taggerConcurrency, when not given, with inference thread: two batches per inference thread, so that
  // each thread has its next batch while the main thread handles a result (tagBatch emits a result before it
  // starts the next call; with one batch per thread the thread waited meanwhile: BENCHMARKS, Limits round 10)
  if (!set.has('taggerConcurrency') && c.inference === 'thread') c.taggerConcurrency = Math.min(MAX_CONCURRENCY, 2 * c.taggerThreads);
  validate(c);
  warnIneffective(c, set, sources.warn);
  return Object.freeze(c);
}

/** Settings that are valid but do not do what they promise in this combination (`set`: the keys given explicitly). */
function warnIneffective(c: WorkerConfig, set: ReadonlySet<string>, warn: ((message: string) => void) | undefined): void {
  if (c.batchMode === 'adaptive' && set.has('batchMaxWaitMs')) {
    warn?.(`batchMaxWaitMs (${c.batchMaxWaitMs}) is not used with batchMode adaptive (a batch goes to the tagger when it has a free slot); drop it, or set batchMode fixed`);
  }
  if (c.modelStore !== undefined && set.has('model')) {
    warn?.(`model ${c.model} is not used with modelStore ${c.modelStore} (the store's SERVING version is served); drop one of them`);
  }
  if (c.modelStore === undefined && set.has('modelPollMs')) {
    warn?.(`modelPollMs (${c.modelPollMs}) is used only with modelStore; drop it, or set modelStore`);
  }
  if (c.taggerConcurrency > 1 && c.inference === 'inline') {
    warn?.(`taggerConcurrency ${c.taggerConcurrency} with inference inline cannot overlap tagger calls (the tagger computes on the main thread, one call at a time); set inference thread, or taggerConcurrency 1`);
  }
  if (c.taggerThreads > 1 && c.inference === 'inline') {
    warn?.(`taggerThreads ${c.taggerThreads} is not used with inference inline (the tagger computes on the main thread); set inference thread, or drop taggerThreads`);
  } else if (c.taggerThreads > c.taggerConcurrency) {
    warn?.(`taggerThreads ${c.taggerThreads} with taggerConcurrency ${c.taggerConcurrency}: at most ${c.taggerConcurrency} of the threads tag at once; set taggerConcurrency to at least ${c.taggerThreads}`);
  }
}

const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
const BROKER = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9._-]+):(\d{1,5})$/;

/** Cross-field rules. */
function validate(c: WorkerConfig): void {
  for (const b of c.brokers) {
    const m = BROKER.exec(b);
    if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new ConfigError(`broker "${b}" is not host:port (e.g. kafka-1:9092); set --brokers / ${envName('brokers')}`);
    }
  }
  for (const key of ['inputTopic', 'outputTopic', 'deadLetterTopic'] as const) {
    if (!TOPIC.test(c[key])) {
      throw new ConfigError(`${key} "${c[key]}" is not a valid Kafka topic name (letters, digits, '.', '_', '-'; at most 249)`);
    }
  }
  const topics = [c.inputTopic, c.outputTopic, c.deadLetterTopic];
  if (new Set(topics).size !== 3) {
    throw new ConfigError(`inputTopic, outputTopic and deadLetterTopic must be three different topics, got ${topics.join(', ')}`);
  }
  if (c.maxInFlight < c.batchMaxCount) {
    throw new ConfigError(
      `maxInFlight (${c.maxInFlight}) must be at least batchMaxCount (${c.batchMaxCount}), or no batch could ever fill; ` +
        `raise --max-in-flight or lower --batch-max-count`,
    );
  }
  for (const key of ['sslCa', 'sslCert', 'sslKey'] as const) {
    const file = c[key];
    if (file === undefined) continue;
    if (!existsSync(file) || !statSync(file).isFile()) throw new ConfigError(`${key}: no such file ${file}`);
    c.ssl = true;
  }
  if ((c.sslCert === undefined) !== (c.sslKey === undefined)) {
    throw new ConfigError('sslCert and sslKey go together: give both (client certificate authentication) or neither');
  }
  if (c.saslMechanism !== undefined) {
    if (c.saslUsername === undefined || c.saslUsername === '') {
      throw new ConfigError(`saslMechanism ${c.saslMechanism} needs saslUsername (--sasl-username or ${envName('saslUsername')})`);
    }
    if (c.saslPassword === undefined) {
      throw new ConfigError(`saslMechanism ${c.saslMechanism} needs the password in the environment variable ${SASL_PASSWORD_ENV}`);
    }
  } else if (c.saslUsername !== undefined) {
    throw new ConfigError(`saslUsername is set but saslMechanism is not; set --sasl-mechanism to one of ${SASL_MECHANISMS.join(', ')}`);
  }
  if (c.topicReplicationFactor === 0) {
    throw new ConfigError('topicReplicationFactor must be at least 1, or -1 for the broker\'s default.replication.factor');
  }
  if (c.transactionalIdPrefix !== undefined && c.transactionalIdPrefix.trim() === '') {
    throw new ConfigError('transactionalIdPrefix must not be empty: leave it unset for the group id, or give one prefix to every worker of the group');
  }
}

/**
 * The ThreadTagger options of a worker with `inference: thread`: its backend and precision,
 * its batch size (a call is at most one batch) and its thread count. What
 * `mentionflow run` opens, and what the pipeline bench opens as the worker does.
 */
export function threadTaggerOptions(c: WorkerConfig): Pick<ThreadTaggerOptions, 'backend' | 'precision' | 'batchSize' | 'threads'> {
  return { backend: c.backend, precision: c.precision, batchSize: c.batchMaxCount, threads: c.taggerThreads };
}

/** The config as loggable data: the password is redacted. */
export function describeConfig(c: WorkerConfig): Record<string, unknown> {
  const { saslPassword, ...rest } = c;
  return saslPassword === undefined ? rest : { ...rest, saslPassword: '<redacted>' };
}
