/**
 * `mentionflow archive`: write annotated sentences to an Avro object
 * container file of LabeledExample records (schemas/example), the format
 * avroExamples reads back for training. Two inputs:
 *   --input FILE --format conll|segmented   a CoNLL NER file or a word-segmented file
 *   --from-topic NAME                       LabeledExample records of a topic range
 * optionally subsampled and/or shuffled by seed. Nothing is written unless
 * every item is valid (or --skip-invalid drops the bad ones).
 *
 * And the archive sink of the post stream:
 *   --follow --from-topic NAME --dir DIR    a consumer-group worker writing
 *   rolling Avro containers of the Post records as consumed, partitioned by
 *   event date/hour (pipeline/stream/archiveSink.ts), until SIGTERM/SIGINT.
 */
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { map, filter, type Observable } from 'rxjs';
import { ConfigError, CorpusFormatError, DecodeError } from '../../common/errors.js';
import { createLogger, parseLogLevel } from '../../pipeline/ops/logger.js';
import { handleShutdownSignals } from '../../pipeline/stream/shutdown.js';
import { startArchiveSink } from '../../pipeline/stream/archiveSink.js';
import { replayTopic, type ReplayBound, type ReplayOptions } from '../../pipeline/kafka/replay.js';
import { conllExamples } from '../../pipeline/train/sources/conllExamples.js';
import { segmentedExamples } from '../../pipeline/train/sources/segmentedExamples.js';
import { decodeLabeledRecord } from '../../pipeline/train/sources/kafkaExamples.js';
import { writeExampleContainer, type ContainerWriteResult } from '../../pipeline/train/sources/containerWriter.js';
import { toLabeledExample, type InvalidInputError, type TrainingExample } from '../../pipeline/train/sources/example.js';
import { shuffleBySeed, subsample } from '../../pipeline/train/sources/sampling.js';
import { DEFLATE_STRATEGIES } from '../../schemas/container.js';
import { DEFLATE_ENGINE_CHOICES } from '../../schemas/deflate.js';
import type { WireFormat } from '../../schemas/registry.js';
import type { LabeledExample } from '../../schemas/types.generated.js';
import { checkPath, numberOption, oneOf, requireString, type CommandSpec, type Parsed } from '../args.js';
import { KAFKA_CONNECTION_FLAGS, KAFKA_CONNECTION_NOTE, kafkaConnection, kafkaConnectionFlags } from '../kafkaConnection.js';

export const spec: CommandSpec = {
  name: 'archive',
  summary: 'archive annotated sentences (CoNLL NER or segmented file, or a topic range) as an Avro container of LabeledExample records',
  usage: [
    'mentionflow archive --input FILE --format conll|segmented --output FILE.avro [--source NAME] [--created-at TIME]',
    '       mentionflow archive --from-topic NAME --output FILE.avro [--brokers HOST:PORT,...] [--from-offset N | --from-time TIME]',
    '                           [--to-offset N | --to-time TIME] [--partitions LIST] [connection options]',
  ].join('\n'),
  options: {
    output: { type: 'string', arg: 'FILE', description: 'Avro object container file to write (replaced only once complete)' },
    follow: { type: 'boolean', description: 'archive sink: follow --from-topic (Post records) as a consumer group, writing rolling files under --dir until SIGTERM/SIGINT' },
    dir: { type: 'string', arg: 'DIR', description: 'with --follow: archive root, DIR/<topic>/date=YYYY-MM-DD/hour=HH/<topic>+<partition>+<first>-<last>.avro' },
    'group-id': { type: 'string', arg: 'ID', description: 'with --follow: consumer group of the archive sinks sharing the topic', default: 'mentionflow-archive' },
    'max-file-bytes': { type: 'string', arg: 'N', description: 'with --follow: roll a file once it holds N bytes', default: String(64 * 1024 * 1024) },
    'max-file-age-ms': { type: 'string', arg: 'MS', description: 'with --follow: roll a file MS after it was opened', default: String(10 * 60 * 1000) },
    'dead-letter-topic': { type: 'string', arg: 'TOPIC', description: 'with --follow: topic for records that are not Posts', default: 'posts.deadletter' },
    'metrics-port': { type: 'string', arg: 'PORT', description: 'with --follow: port of /metrics, /healthz and /readyz (0: none)', default: '0' },
    'session-timeout-ms': { type: 'string', arg: 'MS', description: "with --follow: consumer group session timeout (how soon a dead sink's partitions move)", default: '10000' },
    input: { type: 'string', arg: 'FILE', description: 'corpus file to archive (with --format)' },
    format: { type: 'string', arg: 'FMT', description: 'input format: conll (char-per-line NER, WeiboNER v1/v2) or segmented (one sentence a line, words separated by spaces)' },
    source: { type: 'string', arg: 'NAME', description: "the records' source field, e.g. weibo (default: the input file's name)" },
    'created-at': { type: 'string', arg: 'TIME', description: "the records' created_at: ISO 8601 or epoch ms (default: the input file's modification time)" },
    'from-topic': { type: 'string', arg: 'NAME', description: 'archive the LabeledExample records of this topic instead of a file' },
    'from-offset': { type: 'string', arg: 'N', description: 'first offset to read in each partition, inclusive (default: the earliest)' },
    'to-offset': { type: 'string', arg: 'N', description: 'offset to stop at in each partition, exclusive (default: the latest when the dump starts)' },
    'from-time': { type: 'string', arg: 'TIME', description: 'start at the first record stamped at or after TIME (ISO 8601 or epoch ms), inclusive' },
    'to-time': { type: 'string', arg: 'TIME', description: 'stop at the first record stamped at or after TIME, exclusive' },
    partitions: { type: 'string', arg: 'LIST', description: 'partitions to read, e.g. 0,2 (default: all)' },
    wire: { type: 'string', arg: 'MODE', description: 'record framing: raw, confluent (0x00 + schema id + Avro) or auto', default: 'raw' },
    'read-uncommitted': { type: 'boolean', description: 'also read records of open or aborted transactions (default: read_committed)' },
    sample: { type: 'string', arg: 'K', description: 'keep K examples drawn uniformly by --seed (reservoir sampling; input order kept)' },
    shuffle: { type: 'boolean', description: 'write the examples in a random order drawn by --seed' },
    seed: { type: 'string', arg: 'N', description: 'seed for --sample and --shuffle (same seed, same output)', default: '1' },
    codec: { type: 'string', arg: 'NAME', description: 'container block compression: deflate or null (with --follow also snappy)', default: 'deflate' },
    'deflate-level': { type: 'string', arg: 'N', description: 'with --follow: zlib level of deflate, 1 (fastest) to 9 (smallest)', default: '1' },
    'deflate-strategy': { type: 'string', arg: 'NAME', description: 'with --follow: zlib strategy of deflate: default, huffman (no matches: less CPU, larger files) or rle', default: 'default' },
    'deflate-engine': { type: 'string', arg: 'NAME', description: 'with --follow: library that deflates: auto (isal where the addon is built and libisal2 installed, about a quarter of the CPU of zlib; else libdeflate where the addon is built, about half; else zlib), isal, libdeflate or zlib', default: 'auto' },
    'skip-invalid': { type: 'boolean', description: 'report malformed sentences/records on stderr and leave them out (default: stop at the first)' },
    'log-level': { type: 'string', arg: 'LEVEL', description: 'level of Kafka client log lines on stderr: debug, info, warn or error', default: 'warn' },
    ...kafkaConnectionFlags(),
  },
  notes: [
    'CoNLL sentences become records with spans (from the BIO tags) and no segmentation; segmented lines become records',
    'with segmentation (word end offsets) and no spans, and the file is marked as not NER-annotated (metadata',
    'mentionflow.ner=false) so readers do not take the empty spans as "no entities". Record ids are "<file name>:<line>".',
    'Offsets in records are Unicode code points. A topic dump copies the records as they are (after checking them);',
    'bounds apply to every selected partition: from is inclusive, to exclusive; a time bound is the first offset whose',
    'record timestamp is >= TIME. The summary line goes to stdout.',
    'With --follow, the sink commits a partition\'s offsets only after the files holding its records are fsynced and',
    'renamed (temporary names end in .tmp); after a crash the records since the last commit come again and those an',
    'existing file already holds are skipped, so every offset is archived exactly once. Several sinks may share a',
    'group: each writes in its own staging folder (DIR/<topic>/.staging/<partition>/), which the next owner of the',
    'partition fences before listing its files, so a sink stalled past its session timeout cannot rename a file of a',
    'partition it lost. Records that are not Posts go to --dead-letter-topic. Stored as consumed when written with the',
    'latest Post schema, else re-encoded to it.',
    'examples:',
    '  mentionflow archive --follow --from-topic posts --dir /data/archive --brokers 127.0.0.1:19092 --metrics-port 9465',
    '  mentionflow archive --input weiboNER_2nd_conll.train --format conll --source weibo --output weibo-ner.avro',
    '  mentionflow archive --input pku_training.utf8 --format segmented --sample 1000 --seed 7 --output pku-1k.avro',
    '  mentionflow archive --from-topic examples --from-time 2024-05-01T00:00:00Z --to-time 2024-06-01T00:00:00Z --output may.avro',
    '',
    KAFKA_CONNECTION_NOTE,
  ].join('\n'),
};

export type CorpusFormat = 'conll' | 'segmented';

export interface SamplingOptions {
  /** Keep this many examples (reservoir sampling by seed). */
  sample?: number;
  /** Shuffle the output by seed. */
  shuffle?: boolean;
  /** Seed of both; default 1. */
  seed?: number;
  /** Receives each malformed item, which is then left out; default: the archive fails at the first. */
  onInvalid?: (error: InvalidInputError) => void;
  /** Container codec; default deflate. */
  codec?: 'null' | 'deflate';
}

export interface ArchiveCorpusOptions extends SamplingOptions {
  input: string;
  format: CorpusFormat;
  output: string;
  /** The records' source; default the input file's base name. */
  source?: string;
  /** The records' created_at (epoch ms); default the input file's modification time. */
  createdAt?: number;
}

export interface ArchiveTopicOptions extends ReplayOptions, SamplingOptions {
  output: string;
  wireFormat?: WireFormat;
}

function sampled<T>(items: Observable<T>, opts: SamplingOptions): Observable<T> {
  const seed = opts.seed ?? 1;
  let out = items;
  if (opts.sample !== undefined) out = out.pipe(subsample<T>(opts.sample, seed));
  if (opts.shuffle) out = out.pipe(shuffleBySeed<T>(seed));
  return out;
}

/** Archives a CoNLL or segmented file as a LabeledExample container. */
export async function archiveCorpus(opts: ArchiveCorpusOptions): Promise<ContainerWriteResult> {
  let createdAt = opts.createdAt;
  if (createdAt === undefined) {
    try {
      createdAt = Math.floor((await stat(opts.input)).mtimeMs);
    } catch (err) {
      throw new ConfigError(`cannot read ${opts.input}: ${(err as Error).message}`, { cause: err });
    }
  }
  const readerOptions = { ...(opts.source !== undefined ? { source: opts.source } : {}), ...(opts.onInvalid ? { onInvalid: opts.onInvalid } : {}) };
  const examples: Observable<TrainingExample> =
    opts.format === 'conll' ? conllExamples(opts.input, readerOptions) : segmentedExamples(opts.input, readerOptions);
  const at = createdAt;
  const records = sampled(examples, opts).pipe(map((e) => toLabeledExample(e, { createdAt: at })));
  return writeExampleContainer(opts.output, records, { codec: opts.codec ?? 'deflate', ner: opts.format === 'conll' });
}

/** Archives the LabeledExample records of a topic range (see pipeline/kafka/replay.ts for the bounds). */
export async function archiveTopic(opts: ArchiveTopicOptions): Promise<ContainerWriteResult> {
  const { wireFormat = 'raw', onInvalid } = opts;
  const records = replayTopic(opts).pipe(
    map((record): LabeledExample | undefined => {
      try {
        return decodeLabeledRecord(record, wireFormat);
      } catch (err) {
        if (onInvalid === undefined || !(err instanceof DecodeError)) throw err;
        onInvalid(err);
        return undefined;
      }
    }),
    filter((r): r is LabeledExample => r !== undefined),
  );
  return writeExampleContainer(opts.output, sampled(records, opts), { codec: opts.codec ?? 'deflate' });
}

/** ISO 8601 (with a zone or 'Z') or epoch milliseconds. */
function parseTime(value: string, flag: string): number {
  const ms = /^[0-9]+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isSafeInteger(ms)) {
    throw new ConfigError(`--${flag} must be an ISO 8601 time (e.g. 2024-05-01T00:00:00Z) or epoch milliseconds, got ${JSON.stringify(value)}`);
  }
  return ms;
}

function bound(p: Parsed, which: 'from' | 'to'): ReplayBound | undefined {
  const offset = p.values[`${which}-offset`];
  const time = p.values[`${which}-time`];
  if (offset !== undefined && time !== undefined) throw new ConfigError(`give --${which}-offset or --${which}-time, not both`);
  if (typeof offset === 'string') {
    if (!/^[0-9]+$/.test(offset)) throw new ConfigError(`--${which}-offset must be an offset (an integer >= 0), got ${JSON.stringify(offset)}`);
    return { offset };
  }
  if (typeof time === 'string') return { timestamp: parseTime(time, `${which}-time`) };
  return undefined;
}

const TOPIC_ONLY = [...KAFKA_CONNECTION_FLAGS, 'from-offset', 'to-offset', 'from-time', 'to-time', 'partitions', 'read-uncommitted'];
const FILE_ONLY = ['format', 'source', 'created-at'] as const;

/** `archive --follow`: the archive sink, until SIGTERM/SIGINT. */
async function follow(p: Parsed): Promise<number> {
  const topic = p.values['from-topic'];
  if (typeof topic !== 'string') throw new ConfigError('--follow needs --from-topic NAME (the posts topic)');
  const dir = requireString(p, 'dir', spec.name);
  for (const flag of ['output', 'input', 'format', 'source', 'created-at', 'from-offset', 'to-offset', 'from-time', 'to-time', 'partitions', 'sample', 'shuffle', 'read-uncommitted', 'skip-invalid']) {
    if (p.values[flag] !== undefined) throw new ConfigError(`--${flag} does not apply with --follow`);
  }
  const metricsPort = numberOption(p, 'metrics-port', { integer: true, min: 0, max: 65535 }) as number;
  const logger = createLogger({ level: parseLogLevel(String(p.values['log-level'])), format: 'json', base: { command: 'archive' } });
  const sink = await startArchiveSink({
    ...kafkaConnection(p),
    logger,
    topic,
    dir,
    groupId: String(p.values['group-id']),
    deadLetterTopic: String(p.values['dead-letter-topic']),
    wire: oneOf(p, 'wire', ['raw', 'confluent', 'auto'] as const),
    codec: oneOf(p, 'codec', ['deflate', 'snappy', 'null'] as const),
    deflateLevel: numberOption(p, 'deflate-level', { integer: true, min: 1, max: 9 }) as number,
    deflateStrategy: oneOf(p, 'deflate-strategy', DEFLATE_STRATEGIES),
    deflateEngine: oneOf(p, 'deflate-engine', DEFLATE_ENGINE_CHOICES),
    maxFileBytes: numberOption(p, 'max-file-bytes', { integer: true, min: 1 }) as number,
    maxFileAgeMs: numberOption(p, 'max-file-age-ms', { integer: true, min: 1 }) as number,
    sessionTimeoutMs: numberOption(p, 'session-timeout-ms', { integer: true, min: 1000 }) as number,
    ...(metricsPort > 0 ? { metricsPort } : {}),
  });
  let signalled: () => void = () => undefined;
  const signal = new Promise<void>((resolve) => (signalled = resolve));
  const shutdown = handleShutdownSignals({ stop: () => signalled(), timeoutMs: 30_000 });
  try {
    await Promise.race([sink.started, sink.done]);
    logger.info('archive: following', { topic, dir, metricsPort: sink.ops?.port, deflateEngine: sink.deflateEngine });
    await Promise.race([sink.done, signal]);
  } finally {
    // Flushes and commits what is open (unless the consumer failed), then leaves the group.
    await sink.stop();
    shutdown.dispose();
  }
  return 0;
}

export async function run(p: Parsed): Promise<number> {
  if (p.values.follow === true) return follow(p);
  if (p.values.dir !== undefined) throw new ConfigError('--dir only applies with --follow (use --output FILE.avro for a one-off archive)');
  const output = requireString(p, 'output', spec.name);
  checkPath(dirname(resolve(output)), `folder of --output ${output}:`, 'dir');
  const input = p.values.input;
  const topic = p.values['from-topic'];
  if ((typeof input === 'string') === (typeof topic === 'string')) {
    throw new ConfigError('give either --input FILE --format conll|segmented, or --from-topic NAME; run `mentionflow archive --help`');
  }
  const sample = numberOption(p, 'sample', { integer: true, min: 0 });
  const seed = numberOption(p, 'seed', { integer: true, min: 0, max: 2 ** 32 - 1 }) as number;
  if (p.values.codec === 'snappy') throw new ConfigError('--codec snappy only applies with --follow (one-off archives: deflate or null)');
  const codec = oneOf(p, 'codec', ['deflate', 'null'] as const);
  let invalid = 0;
  const onInvalid =
    p.values['skip-invalid'] === true
      ? (err: CorpusFormatError | DecodeError) => {
          invalid += 1;
          process.stderr.write(`archive: skipped: ${err.message}\n`);
        }
      : undefined;
  const common = { output, seed, codec, shuffle: p.values.shuffle === true, ...(sample !== undefined ? { sample } : {}), ...(onInvalid ? { onInvalid } : {}) };
  const skipped = () => (invalid > 0 ? `, ${invalid} malformed item(s) skipped` : '');

  if (typeof input === 'string') {
    for (const flag of TOPIC_ONLY) if (p.values[flag] !== undefined) throw new ConfigError(`--${flag} only applies with --from-topic`);
    if (p.values.wire !== 'raw') throw new ConfigError('--wire only applies with --from-topic');
    const format = oneOf(p, 'format', ['conll', 'segmented'] as const);
    const createdAt = typeof p.values['created-at'] === 'string' ? parseTime(p.values['created-at'], 'created-at') : undefined;
    checkPath(input, '--input', 'file');
    const result = await archiveCorpus({
      ...common,
      input,
      format,
      ...(typeof p.values.source === 'string' ? { source: p.values.source } : {}),
      ...(createdAt !== undefined ? { createdAt } : {}),
    });
    process.stdout.write(`archived ${result.count} ${format === 'conll' ? 'NER' : 'segmented'} example(s) from ${input} to ${result.path}${skipped()}\n`);
    return 0;
  }

  for (const flag of FILE_ONLY) if (p.values[flag] !== undefined) throw new ConfigError(`--${flag} only applies with --input`);
  const connection = kafkaConnection(p);
  const partitions =
    typeof p.values.partitions === 'string'
      ? p.values.partitions.split(',').map((s) => {
          if (!/^\s*[0-9]+\s*$/.test(s)) throw new ConfigError(`--partitions must be a comma-separated list of partition numbers, got ${JSON.stringify(p.values.partitions)}`);
          return Number(s);
        })
      : undefined;
  const from = bound(p, 'from');
  const to = bound(p, 'to');
  const logger = createLogger({ level: parseLogLevel(String(p.values['log-level'])), format: 'pretty', base: { command: 'archive' } });
  const result = await archiveTopic({
    ...common,
    ...connection,
    logger,
    topic: topic as string,
    wireFormat: oneOf(p, 'wire', ['raw', 'confluent', 'auto'] as const),
    readUncommitted: p.values['read-uncommitted'] === true,
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(partitions !== undefined ? { partitions } : {}),
  });
  process.stdout.write(`archived ${result.count} example(s) from topic ${topic} to ${result.path}${skipped()}\n`);
  return 0;
}
