/**
 * `mentionflow dashboard`: the live page of entity trends. Reads EntityTrend
 * records (NDJSON file or stdin as `mentionflow trends` writes them, or the
 * trends topic), optionally mention records and posts (to show an entity's
 * latest posts with the mentions marked), and serves one page that updates
 * over Server-Sent Events as windows close (pipeline/ops/dashboardServer.ts).
 * Runs until SIGINT/SIGTERM; inputs that end leave the page as it is.
 */
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../../common/errors.js';
import { followLines } from '../../pipeline/file/followLines.js';
import { readTopic } from '../../pipeline/kafka/topicReader.js';
import { DashboardModel } from '../../pipeline/ops/dashboardModel.js';
import { startDashboardServer } from '../../pipeline/ops/dashboardServer.js';
import { createLogger, parseLogLevel } from '../../pipeline/ops/logger.js';
import { decodeStrict, loadSchema, type WireFormat } from '../../schemas/registry.js';
import { checkPath, numberOption, type CommandSpec, type Parsed } from '../args.js';
import { KAFKA_CONNECTION_NOTE, kafkaConnection, kafkaConnectionFlags } from '../kafkaConnection.js';

export const spec: CommandSpec = {
  name: 'dashboard',
  summary: 'serve a live page of entity trends: top entities per type, new and rising ones, their latest posts',
  usage: 'mentionflow dashboard (--trends FILE|- | --from-topic NAME --brokers HOST:PORT) [--mentions FILE|-] [--posts FILE|-] [--follow] [--port N] [--host ADDR]',
  options: {
    port: { type: 'string', arg: 'N', description: 'HTTP port (0: any free port, printed on stderr)', default: '8080' },
    host: { type: 'string', arg: 'ADDR', description: 'interface to listen on (0.0.0.0: reachable from other hosts)', default: '127.0.0.1' },
    trends: { type: 'string', arg: 'FILE|-', description: 'EntityTrend records, NDJSON (as `mentionflow trends` writes them); - for stdin' },
    'from-topic': { type: 'string', arg: 'NAME', description: 'read EntityTrend records (Avro) from this Kafka topic instead of --trends' },
    'from-beginning': { type: 'boolean', description: 'with --from-topic: start at the earliest offset (default: only new windows)' },
    wire: { type: 'string', arg: 'MODE', description: 'with --from-topic: record framing, raw, confluent or auto', choices: ['raw', 'confluent', 'auto'], default: 'raw' },
    mentions: { type: 'string', arg: 'FILE|-', description: 'mention records, NDJSON as `mentionflow run` prints them: more of each entity\'s latest posts' },
    posts: { type: 'string', arg: 'FILE|-', description: 'Post records, NDJSON (the input of `run`): the post text shown with the mentions marked' },
    follow: { type: 'boolean', description: 'keep reading the files as they grow (as tail -f)' },
    history: { type: 'string', arg: 'N', description: 'windows kept for the sparklines', default: '30' },
    'log-level': { type: 'string', arg: 'LEVEL', description: 'level of Kafka client log lines on stderr: debug, info, warn or error', default: 'warn' },
    ...kafkaConnectionFlags(),
  },
  notes: [
    'The page (http://HOST:PORT/) is served by this process, with its script and style: no internet needed.',
    'It shows the latest closed window: the top entities of each type with their counts and a sparkline of',
    'their recent windows, new and rising entities highlighted; a click on an entity lists its latest posts',
    'with its mentions marked. Trend records carry a few example spans per entity; --mentions adds the spans',
    'of more posts, and --posts the texts (mention records carry no text: without --posts only the mentioned',
    'words are shown). Bad lines are reported on stderr and skipped.',
    '',
    'examples:',
    '  mentionflow run --input posts.ndjson | tee mentions.ndjson | mentionflow trends > trends.ndjson',
    '  mentionflow dashboard --trends trends.ndjson --mentions mentions.ndjson --posts posts.ndjson --follow --port 8080',
    '  mentionflow dashboard --from-topic trends --brokers kafka:9092 --from-beginning',
    '',
    KAFKA_CONNECTION_NOTE,
  ].join('\n'),
};

const MAX_REPORTED = 10;

/** Reads an NDJSON input into `add`; bad lines are reported (the first few) and counted. */
async function feedLines(what: string, source: string, add: (record: unknown) => boolean, follow: boolean, signal: AbortSignal): Promise<void> {
  let read = 0;
  let bad = 0;
  for await (const { line, number } of followLines(source, { follow, signal })) {
    if (line.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      record = undefined;
    }
    if (record !== undefined && add(record)) read += 1;
    else if (++bad <= MAX_REPORTED) process.stderr.write(`dashboard: ${what} ${source === '-' ? 'stdin' : source} line ${number}: not ${record === undefined ? 'JSON' : `a ${what.slice(2)} record`}, skipped\n`);
  }
  if (!signal.aborted) process.stderr.write(`dashboard: ${what} ${source === '-' ? 'stdin' : source}: ended after ${read} record(s)${bad > 0 ? `, ${bad} skipped` : ''}\n`);
}

export async function run(p: Parsed): Promise<number> {
  const port = numberOption(p, 'port', { integer: true, min: 0, max: 65535 }) as number;
  const history = numberOption(p, 'history', { integer: true, min: 1, max: 1000 }) as number;
  const trends = typeof p.values.trends === 'string' ? p.values.trends : undefined;
  const topic = typeof p.values['from-topic'] === 'string' ? p.values['from-topic'] : undefined;
  const mentions = typeof p.values.mentions === 'string' ? p.values.mentions : undefined;
  const posts = typeof p.values.posts === 'string' ? p.values.posts : undefined;
  const follow = p.values.follow === true;
  if ((trends === undefined) === (topic === undefined)) throw new ConfigError('give one trend input: --trends FILE|- or --from-topic NAME; run `mentionflow dashboard --help`');
  const files = { '--trends': trends, '--mentions': mentions, '--posts': posts };
  if (Object.values(files).filter((f) => f === '-').length > 1) throw new ConfigError('only one input can be stdin (-)');
  for (const [flag, path] of Object.entries(files)) if (path !== undefined && path !== '-') checkPath(path, flag);
  const connection = topic !== undefined ? kafkaConnection(p) : undefined;

  const model = new DashboardModel({ history });
  const server = await startDashboardServer({ port, host: String(p.values.host), model });
  // The handlers go in before the line announcing the page: whoever waits for that line may signal
  // at once, and a signal before them would end the process by the default action (no exit code).
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.stderr.write(`dashboard: serving http://${String(p.values.host)}:${server.port}/\n`);
  const inputs: Promise<unknown>[] = [];
  const stopped = new Promise<void>((resolve) => abort.signal.addEventListener('abort', () => resolve(), { once: true }));
  try {
    if (trends !== undefined) inputs.push(feedLines('--trends', trends, (r) => model.addTrend(r), follow, abort.signal));
    if (mentions !== undefined) inputs.push(feedLines('--mentions', mentions, (r) => model.addMentionRecord(r), follow, abort.signal));
    if (posts !== undefined) inputs.push(feedLines('--posts', posts, (r) => model.addPost(r), follow, abort.signal));
    if (topic !== undefined && connection !== undefined) {
      const type = loadSchema('trends');
      const wireFormat = p.values.wire as WireFormat;
      const logger = createLogger({ level: parseLogLevel(String(p.values['log-level'])), format: 'pretty', base: { command: 'dashboard' } });
      inputs.push(
        readTopic({
          ...connection,
          logger,
          topic,
          groupId: `mentionflow-dashboard-${randomBytes(6).toString('hex')}`,
          fromBeginning: p.values['from-beginning'] === true,
          signal: abort.signal,
          onRecord(rec) {
            try {
              if (rec.value === null) throw new Error('null value');
              model.addTrend(decodeStrict(type, rec.value, { wireFormat }));
            } catch (err) {
              process.stderr.write(`dashboard: ${rec.topic}[${rec.partition}]@${rec.offset}: ${(err as Error).message}, skipped\n`);
            }
          },
        }),
      );
    }
    // An input failing (a topic that does not exist) ends the command; inputs that end keep the page up.
    await Promise.race([Promise.all(inputs).then(() => stopped), stopped]);
  } finally {
    abort.abort();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.allSettled(inputs);
    await server.close();
  }
  return 0;
}
