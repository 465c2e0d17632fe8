/**
 * `mentionflow produce`: load a file of posts (NDJSON or an Avro object
 * container file), check every post against the Post schema, then write them
 * to a topic as Avro, optionally at a bounded rate. Nothing is written when
 * any post is invalid.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, CorpusFormatError, DecodeError } from '../../common/errors.js';
import { createLogger, parseLogLevel } from '../../pipeline/ops/logger.js';
import { describeTopic, ensureTopic } from '../../pipeline/kafka/topicAdmin.js';
import { openTopicWriter, type WriteMessage } from '../../pipeline/kafka/topicWriter.js';
import { notJson, postProblem } from '../../schemas/postCheck.js';
import { readContainer } from '../../schemas/container.js';
import { decodeStrict, encodeStrict, latestVersion, listVersions, loadSchema, type Type } from '../../schemas/registry.js';
import type { Post } from '../../schemas/types.generated.js';
import { checkPath, numberOption, requireString, type CommandSpec, type Parsed } from '../args.js';
import { KAFKA_CONNECTION_NOTE, kafkaConnection, kafkaConnectionFlags } from '../kafkaConnection.js';

export const spec: CommandSpec = {
  name: 'produce',
  summary: 'write a file of posts (NDJSON or Avro container) to a Kafka topic as Avro records',
  usage: 'mentionflow produce --topic NAME --input FILE [--brokers HOST:PORT,...] [--create-topic [--partitions N]] [--rate N] [connection options]',
  options: {
    topic: { type: 'string', arg: 'NAME', description: 'topic to write to' },
    input: { type: 'string', arg: 'FILE', description: 'posts: NDJSON (one Post JSON object per line) or an Avro object container file' },
    format: { type: 'string', arg: 'FMT', description: 'input format: auto (Avro if the file starts with Obj\\x01), ndjson or avro', default: 'auto' },
    'schema-version': { type: 'string', arg: 'N', description: 'Post schema version to write (default: the latest)' },
    wire: { type: 'string', arg: 'MODE', description: 'record framing: raw (plain Avro binary) or confluent (0x00 + schema id + Avro)', default: 'raw' },
    'schema-id': { type: 'string', arg: 'N', description: 'schema registry id for --wire confluent' },
    key: { type: 'string', arg: 'WHAT', description: 'record key: id (the post id) or none', default: 'id' },
    'create-topic': { type: 'boolean', description: 'create the topic if it does not exist' },
    partitions: { type: 'string', arg: 'N', description: "partitions of a topic created by --create-topic (default: the broker's num.partitions)" },
    rate: { type: 'string', arg: 'N', description: 'at most N posts per second (default: as fast as the broker takes them)' },
    'batch-size': { type: 'string', arg: 'N', description: 'posts per produce request', default: '500' },
    quiet: { type: 'boolean', short: 'q', description: 'no progress lines on stderr' },
    'log-level': { type: 'string', arg: 'LEVEL', description: 'level of Kafka client log lines on stderr: debug, info, warn or error', default: 'warn' },
    ...kafkaConnectionFlags(),
  },
  notes: [
    'NDJSON lines are plain JSON Post records (schemas/post/v<N>.avsc): unions unwrapped, created_at in epoch ms,',
    'fields with defaults may be left out. An Avro container is read with its own schema and resolved into the',
    'Post version written. Progress goes to stderr, the summary line to stdout.',
    'example: mentionflow produce --brokers 127.0.0.1:19092 --topic posts --create-topic --partitions 3 \\',
    '           --input schemas/post/samples/posts.ndjson --rate 20',
    '',
    KAFKA_CONNECTION_NOTE,
  ].join('\n'),
};

export type PostFileFormat = 'auto' | 'ndjson' | 'avro';

const AVRO_MAGIC = Buffer.from('Obj\x01', 'latin1');

function check(type: Type, value: unknown, file: string, where: number): Post {
  const problem = postProblem(type, value);
  if (problem !== undefined) throw new CorpusFormatError(file, where, problem);
  return value as Post;
}

function readNdjson(text: string, type: Type, file: string): Post[] {
  const posts: Post[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (err) {
        throw new CorpusFormatError(file, i + 1, notJson(err));
      }
      posts.push(check(type, value, file, i + 1));
    });
  return posts;
}

async function readAvroContainer(file: string, type: Type): Promise<Post[]> {
  const posts: Post[] = [];
  let writer: Type | undefined;
  // In a container "line" means record number (1-based). A damaged block is
  // a DecodeError naming the file and byte offset (schemas/container.ts).
  const items = readContainer(file);
  const next = async (): Promise<IteratorResult<Awaited<ReturnType<typeof items.next>>['value']>> => {
    try {
      return await items.next();
    } catch (err) {
      if (err instanceof DecodeError) throw new ConfigError(`cannot read Avro container file ${err.message}`, { cause: err });
      throw err;
    }
  };
  for (let r = await next(); r.done !== true; r = await next()) {
    const item = r.value;
    if (item.kind === 'header') {
      writer = item.header.writerType;
      continue;
    }
    let value: unknown;
    try {
      value = decodeStrict(type, item.bytes, { writerType: writer, label: `Post record ${item.index}` });
    } catch (err) {
      throw new CorpusFormatError(file, item.index, `record ${item.index} (block ${item.block}, byte ${item.blockOffset}): ${(err as Error).message}`);
    }
    posts.push(check(type, value, file, item.index));
  }
  return posts;
}

/**
 * Reads and validates every post of `file` against Post schema `version`
 * (latest by default). Throws CorpusFormatError (file:line or file:record)
 * on the first invalid post.
 */
export async function readPostsFile(file: string, opts: { format?: PostFileFormat; version?: number } = {}): Promise<Post[]> {
  const { format = 'auto', version = latestVersion('post') } = opts;
  const type = loadSchema('post', version);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const magic = bytes.subarray(0, AVRO_MAGIC.length).equals(AVRO_MAGIC);
  if (format === 'avro' && !magic) throw new CorpusFormatError(file, 1, 'not an Avro object container file (no Obj\\x01 magic)');
  if (format === 'avro' || (format === 'auto' && magic)) return readAvroContainer(file, type);
  return readNdjson(bytes.toString('utf8'), type, file);
}

function oneOf<T extends string>(p: Parsed, name: string, allowed: readonly T[]): T {
  const v = p.values[name];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ConfigError(`--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/** Writes progress to stderr: a self-overwriting line on a terminal, else a line every few seconds. */
function progressReporter(total: number, quiet: boolean): { update(done: number): void; end(): void } {
  const tty = process.stderr.isTTY === true;
  const every = tty ? 250 : 5000;
  const start = Date.now();
  let last = start;
  let shown = false;
  const line = (done: number) => {
    const secs = (Date.now() - start) / 1000;
    return `produce: ${done}/${total} posts (${secs > 0 ? (done / secs).toFixed(1) : '-'} posts/s)`;
  };
  return {
    update(done) {
      if (quiet || Date.now() - last < every) return;
      last = Date.now();
      shown = true;
      process.stderr.write(tty ? `\r${line(done)}` : `${line(done)}\n`);
    },
    end() {
      if (shown && tty) process.stderr.write('\n');
    },
  };
}

export async function run(p: Parsed): Promise<number> {
  const topic = requireString(p, 'topic', spec.name);
  const input = requireString(p, 'input', spec.name);
  const kafkaOptions = kafkaConnection(p);
  const format = oneOf(p, 'format', ['auto', 'ndjson', 'avro'] as const);
  const wire = oneOf(p, 'wire', ['raw', 'confluent'] as const);
  const keyMode = oneOf(p, 'key', ['id', 'none'] as const);
  const schemaId = numberOption(p, 'schema-id', { integer: true, min: 0, max: 2 ** 31 - 1 });
  if (wire === 'confluent' && schemaId === undefined) throw new ConfigError('--wire confluent needs --schema-id N (the id the schema registry gave the Post schema)');
  if (wire === 'raw' && schemaId !== undefined) throw new ConfigError('--schema-id only applies to --wire confluent');
  const version = numberOption(p, 'schema-version', { integer: true, min: 1 }) ?? latestVersion('post');
  if (!listVersions('post').includes(version)) throw new ConfigError(`--schema-version ${version}: Post schema versions are ${listVersions('post').join(', ')}`);
  const partitions = numberOption(p, 'partitions', { integer: true, min: 1, max: 10000 });
  if (partitions !== undefined && !p.values['create-topic']) throw new ConfigError('--partitions only applies with --create-topic');
  const rate = numberOption(p, 'rate', { min: 0.001, max: 1_000_000 });
  const batchSize = numberOption(p, 'batch-size', { integer: true, min: 1, max: 100_000 }) as number;
  const quiet = p.values.quiet === true;
  const logger = createLogger({ level: parseLogLevel(String(p.values['log-level'])), format: 'pretty', base: { command: 'produce' } });
  const connection = { ...kafkaOptions, logger };

  checkPath(input, '--input', 'file');
  const posts = await readPostsFile(input, { format, version });
  if (posts.length === 0) throw new ConfigError(`${input} holds no posts`);
  const type = loadSchema('post', version);
  const messages: WriteMessage[] = posts.map((post) => ({
    key: keyMode === 'id' ? Buffer.from(post.id, 'utf8') : null,
    value: encodeStrict(type, post, schemaId === undefined ? {} : { schemaId }),
  }));

  if (p.values['create-topic']) {
    const info = await ensureTopic({ ...connection, topic, ...(partitions !== undefined ? { partitions } : {}) });
    if (!quiet) process.stderr.write(`produce: topic ${topic} ${info.created ? 'created' : 'exists'} (${info.partitions} partitions)\n`);
  } else if ((await describeTopic({ ...connection, topic })) === undefined) {
    throw new ConfigError(`topic ${JSON.stringify(topic)} does not exist; create it, or pass --create-topic [--partitions N]`);
  }

  // With --rate, send small chunks (about 10 per second) and wait until each is due.
  const chunk = rate === undefined ? batchSize : Math.max(1, Math.min(batchSize, Math.floor(rate / 10)));
  const progress = progressReporter(messages.length, quiet);
  const writer = await openTopicWriter({ ...connection, topic });
  const start = Date.now();
  let sent = 0;
  try {
    while (sent < messages.length) {
      if (rate !== undefined) {
        const due = start + (sent / rate) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      const part = messages.slice(sent, sent + chunk);
      await writer.send(part);
      sent += part.length;
      progress.update(sent);
    }
  } finally {
    progress.end();
    await writer.close();
  }
  const seconds = (Date.now() - start) / 1000;
  process.stdout.write(
    `produced ${sent} posts to ${topic} in ${seconds.toFixed(2)} s (${seconds > 0 ? (sent / seconds).toFixed(1) : sent} posts/s; Post v${version}, ${wire}${schemaId !== undefined ? ` id ${schemaId}` : ''})\n`,
  );
  return 0;
}
