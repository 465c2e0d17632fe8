/**
 * `mentionflow tail`: print the PostMentions records of a topic as readable
 * lines (or NDJSON), or with --dead-letter the DeadLetter records of a
 * dead-letter topic. Reads with its own throw-away consumer group unless
 * --group is given, so it never takes partitions from a running pipeline.
 */
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../../common/errors.js';
import { createLogger, parseLogLevel } from '../../pipeline/ops/logger.js';
import { readTopic, type ReadRecord } from '../../pipeline/kafka/topicReader.js';
import { decodeStrict, listVersions, loadSchema, resolvingDecoder, type SchemaName, type WireFormat } from '../../schemas/registry.js';
import { mentionLabel, postMentionsJson } from '../../schemas/mentionJson.js';
import type { DeadLetter, PostMentions } from '../../schemas/types.generated.js';
import { numberOption, requireString, type CommandSpec, type Parsed } from '../args.js';
import { KAFKA_CONNECTION_NOTE, kafkaConnection, kafkaConnectionFlags } from '../kafkaConnection.js';

export const spec: CommandSpec = {
  name: 'tail',
  summary: "print a topic's mention records (or, with --dead-letter, its dead letters) as they arrive",
  usage: 'mentionflow tail --topic NAME [--brokers HOST:PORT,...] [--from-beginning] [--max N] [--timeout-ms MS] [--json] [--dead-letter] [connection options]',
  options: {
    topic: { type: 'string', arg: 'NAME', description: 'topic to read' },
    'dead-letter': { type: 'boolean', description: 'the topic holds DeadLetter records: print stage, error class, message and source position' },
    json: { type: 'boolean', description: 'print one JSON object per record: {topic, partition, offset, timestamp, key, record}, record with the Avro field names (as run prints it)' },
    'from-beginning': { type: 'boolean', description: "start at the earliest offset (when the group has no committed offset); default: only new records" },
    max: { type: 'string', arg: 'N', description: 'stop after N records' },
    'timeout-ms': { type: 'string', arg: 'MS', description: 'stop after MS milliseconds without a record (default: run until Ctrl-C)' },
    group: { type: 'string', arg: 'ID', description: 'consumer group, whose offsets are then committed (default: a random mentionflow-tail-* group, nothing committed)' },
    'read-uncommitted': { type: 'boolean', description: 'also show records of open or aborted transactions (default: read_committed)' },
    wire: { type: 'string', arg: 'MODE', description: 'record framing: raw, confluent (0x00 + schema id + Avro) or auto', default: 'raw' },
    'log-level': { type: 'string', arg: 'LEVEL', description: 'level of Kafka client log lines on stderr: debug, info, warn or error', default: 'warn' },
    ...kafkaConnectionFlags(),
  },
  notes: [
    'Line formats:',
    '  post 123 [PER.NAM 张三 0-2 0.97] [GPE.NAM 北京 3-5 0.99]      offsets in code points, [start, end)',
    '  dead-letter posts[0]@42 stage=decode DecodeError: cannot decode ...',
    'Records that cannot be decoded are reported on stderr and skipped. With --json, bytes fields (key,',
    'dead-letter payload) are base64 and the record key is a UTF-8 string.',
    'example: mentionflow tail --topic post-mentions --from-beginning --max 10 --timeout-ms 5000',
    '',
    KAFKA_CONNECTION_NOTE,
  ].join('\n'),
};

/** One PostMentions record as a line: `post ID [LABEL text start-end p] ...`. */
export function formatMentions(r: PostMentions): string {
  if (r.mentions.length === 0) return `post ${r.post_id} (no mentions)`;
  return `post ${r.post_id} ${r.mentions.map((m) => `[${mentionLabel(m)} ${m.text} ${m.start}-${m.end} ${m.confidence.toFixed(2)}]`).join(' ')}`;
}

/** One DeadLetter record as a line: source position, stage, error class and message. */
export function formatDeadLetter(r: DeadLetter): string {
  const attempts = r.attempts > 1 ? ` attempts=${r.attempts}` : '';
  return `dead-letter ${r.source_topic}[${r.source_partition}]@${r.source_offset} stage=${r.stage}${attempts} ${r.error_class}: ${r.error_message.replace(/\s*\n\s*/g, ' ')} (payload ${r.payload.length} bytes)`;
}

/**
 * Decodes with the latest schema, else with each older version (newest
 * first) read as the latest, so a topic that still holds records written
 * before an upgrade (mentions v1: no `label`) prints too. The latest
 * version's error is the one reported when none fits.
 */
function decodeAnyVersion<T>(name: SchemaName, latest: ReturnType<typeof loadSchema>, value: Buffer, wireFormat: WireFormat): T {
  try {
    return decodeStrict<T>(latest, value, { wireFormat });
  } catch (err) {
    for (const v of listVersions(name).slice(0, -1).reverse()) {
      try {
        return resolvingDecoder<T>(name, v).decode(value, { wireFormat });
      } catch {
        // not this version either
      }
    }
    throw err;
  }
}

function jsonRecord(rec: ReadRecord, record: PostMentions | DeadLetter, deadLetter: boolean): string {
  const value = deadLetter
    ? { ...(record as DeadLetter), payload: (record as DeadLetter).payload.toString('base64'), key: (record as DeadLetter).key?.toString('base64') ?? null }
    : postMentionsJson(record as PostMentions);
  return JSON.stringify({ topic: rec.topic, partition: rec.partition, offset: rec.offset, timestamp: rec.timestamp, key: rec.key?.toString('utf8') ?? null, record: value });
}

export async function run(p: Parsed): Promise<number> {
  const topic = requireString(p, 'topic', spec.name);
  const connection = kafkaConnection(p);
  const wire = p.values.wire as string;
  if (!['raw', 'confluent', 'auto'].includes(wire)) throw new ConfigError(`--wire must be raw, confluent or auto, got ${JSON.stringify(wire)}`);
  const max = numberOption(p, 'max', { integer: true, min: 1 });
  const idleTimeoutMs = numberOption(p, 'timeout-ms', { integer: true, min: 1 });
  const deadLetter = p.values['dead-letter'] === true;
  const json = p.values.json === true;
  const named = typeof p.values.group === 'string' && p.values.group !== '';
  const groupId = named ? (p.values.group as string) : `mentionflow-tail-${randomBytes(6).toString('hex')}`;
  const logger = createLogger({ level: parseLogLevel(String(p.values['log-level'])), format: 'pretty', base: { command: 'tail' } });
  const type = loadSchema(deadLetter ? 'deadletter' : 'mentions');

  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let undecodable = 0;
  try {
    const result = await readTopic({
      ...connection,
      logger,
      topic,
      groupId,
      fromBeginning: p.values['from-beginning'] === true,
      readUncommitted: p.values['read-uncommitted'] === true,
      commit: named,
      ...(max !== undefined ? { max } : {}),
      ...(idleTimeoutMs !== undefined ? { idleTimeoutMs } : {}),
      signal: abort.signal,
      onRecord(rec) {
        const where = `${rec.topic}[${rec.partition}]@${rec.offset}`;
        if (rec.value === null) {
          process.stderr.write(`tail: ${where}: null value (tombstone), skipped\n`);
          undecodable += 1;
          return;
        }
        let record: PostMentions | DeadLetter;
        try {
          record = decodeAnyVersion<PostMentions | DeadLetter>(deadLetter ? 'deadletter' : 'mentions', type, rec.value, wire as WireFormat);
        } catch (err) {
          process.stderr.write(`tail: ${where}: ${(err as Error).message}\n`);
          undecodable += 1;
          return;
        }
        const line = json ? jsonRecord(rec, record, deadLetter) : deadLetter ? formatDeadLetter(record as DeadLetter) : formatMentions(record as PostMentions);
        process.stdout.write(`${line}\n`);
      },
    });
    const why = { max: `reached --max ${max}`, idle: `idle for ${idleTimeoutMs} ms`, aborted: 'interrupted' }[result.reason];
    process.stderr.write(`tail: ${result.count} record(s)${undecodable > 0 ? `, ${undecodable} not decodable` : ''}; stopped: ${why}\n`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}
