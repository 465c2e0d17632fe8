/**
 * `mentionflow run`: the streaming worker. With brokers configured it reads
 * Post records from Kafka and writes PostMentions (and dead letters) back;
 * without, it runs the same pipeline over a posts file and prints NDJSON.
 * Settings come from flags > MENTIONFLOW_* variables > --config file >
 * defaults (pipeline/stream/config.ts). Order of the start: configuration,
 * then the model (a bad model fails before anything connects), then Kafka.
 */
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../../common/errors.js';
import { ModelStore } from '../../models/artifact/store.js';
import { preferOneComputeThread, useBackend } from '../../models/backend.js';
import { inferenceEngine, useInferencePrecision } from '../../models/layers/nativeLstm.js';
import { SwappableTagger } from '../../models/swappableTagger.js';
import { NeuralTagger, type Tagger } from '../../models/tagger.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { ThreadTagger } from '../../models/threadTagger.js';
import { createTopics, groupMembers, readTopicStates } from '../../pipeline/kafka/topicAdmin.js';
import { topicProblems, topicSpecs } from '../../pipeline/kafka/topicSpecs.js';
import { createLogger, type Logger } from '../../pipeline/ops/logger.js';
import { createPipelineMetrics } from '../../pipeline/ops/metrics.js';
import { startOpsServer } from '../../pipeline/ops/server.js';
import {
  CONFIG_FILE_ENV,
  SASL_PASSWORD_ENV,
  describeConfig,
  readConfigFile,
  resolveWorkerConfig,
  threadTaggerOptions,
  type WorkerConfig,
} from '../../pipeline/stream/config.js';
import { readPostsFile } from '../../pipeline/file/fileSource.js';
import { loadServing, startModelFollower, type ModelFollower } from '../../pipeline/stream/modelFollower.js';
import { handleShutdownSignals, type ShutdownHandle } from '../../pipeline/stream/shutdown.js';
import { startWorker, type RunningWorker } from '../../pipeline/stream/worker.js';
import { checkPath, type CommandSpec, type Parsed } from '../args.js';
import { defaultModelDir, projectRoot } from '../defaults.js';
import { connectionOf } from '../kafkaConnection.js';
import { workerFlagTable, workerFlagValues, workerFlags } from '../workerFlags.js';

/** The sample posts the embedded mode reads when no --input is given. */
export function defaultInput(): string {
  return join(projectRoot(), 'schemas', 'post', 'samples', 'posts.ndjson');
}

export const spec: CommandSpec = {
  name: 'run',
  summary: 'run the streaming worker: posts from Kafka (or a file) in, mentions and dead letters out',
  usage: 'mentionflow run [--config FILE] [--brokers HOST:PORT,...] [options]',
  options: {
    config: { type: 'string', arg: 'FILE', description: `JSON file of options (keys as in the table below; default: $${CONFIG_FILE_ENV})` },
    'create-topics': { type: 'boolean', description: 'Kafka mode, for development: first create the topics that do not exist, as `mentionflow topics create` would' },
    ...workerFlags(),
  },
  notes: [
    'Precedence: flag > environment variable > config file > default. Each option has the three names:',
    '',
    workerFlagTable(),
    '',
    `The SASL password is read only from ${SASL_PASSWORD_ENV} (never a flag or a file key).`,
    '',
    'Kafka mode (--brokers given): reads --input-topic as consumer group --group-id; writes one PostMentions',
    'record per valid post to --output-topic and one DeadLetter record per bad input to --dead-letter-topic.',
    'at-least-once: an input offset is committed only after its output is acknowledged (duplicates possible',
    'after a crash). exactly-once: outputs and offsets commit in one transaction; read the outputs with',
    'isolation level read_committed. SIGTERM/SIGINT: stop reading, drain, commit, exit 0 (a second signal,',
    'or --shutdown-timeout-ms passing, exits at once).',
    '',
    'Model store (--model-store DIR): serves the version the store\'s SERVING names and reads SERVING every',
    '--model-poll-ms; when a promotion moves it, the new version is loaded beside the old one, checked on a',
    'probe text and used from the next batch on (batches in flight finish on the old model, which is then',
    'disposed). Mention records name the version that tagged them (model.version: the store\'s version name);',
    'mentionflow_model_info{id,version} shows the one in service. A candidate that fails to load is refused',
    '(an error log line, mentionflow_model_swaps_total{result="refused"}) and the old model keeps serving.',
    '',
    'Embedded mode (no brokers): reads --input (NDJSON or Avro container of Post records), prints PostMentions',
    'as NDJSON on stdout and dead letters as NDJSON on stderr (or --dead-letter-file); bytes fields are base64.',
    '',
    'examples:',
    '  mentionflow run                                  # the sample posts, to stdout',
    '  mentionflow run --brokers kafka:9092 --input-topic posts --delivery exactly-once --metrics-port 9464',
  ].join('\n'),
};

/** Config from flags, the environment and the --config file (ConfigError when anything is off). */
export function workerConfig(p: Parsed, env: NodeJS.ProcessEnv, warn: (msg: string) => void): WorkerConfig {
  const file = typeof p.values.config === 'string' ? p.values.config : env[CONFIG_FILE_ENV];
  return resolveWorkerConfig({
    flags: workerFlagValues(p),
    env,
    file: file === undefined || file === '' ? undefined : readConfigFile(file),
    paths: { model: defaultModelDir(), input: defaultInput() },
    warn,
  });
}

async function checkInputFile(path: string): Promise<void> {
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new ConfigError(`input file ${path} not found; pass --input FILE (NDJSON or Avro container of posts), or --brokers to read from Kafka`);
  }
  // Its first record, so that a file of the wrong format fails here, in one line, rather than once the worker runs.
  const records = readPostsFile(path);
  try {
    await records.next();
  } finally {
    await records.return(undefined);
  }
}

/** Test-only fault injection: with --inference thread, an inference thread exits (code 7) when asked to tag this exact text. */
export const FAULT_THREAD_EXIT_ENV = 'MENTIONFLOW_FAULT_THREAD_EXIT_ON_TEXT';

/**
 * The tagger, in-process or (--inference thread) in worker threads
 * (--tagger-threads of them). A thread dying ends the process with exit code
 * 70 before its pending calls are rejected, as a crash of the in-process
 * tagger would: the posts in flight are neither dead-lettered nor committed,
 * so a restarted worker reads them again.
 */
async function loadTagger(config: WorkerConfig, logger: Logger, dir = config.model): Promise<NeuralTagger | ThreadTagger> {
  const warn = (msg: string) => logger.warn(msg);
  preferOneComputeThread();
  if (config.inference === 'thread') {
    // Fault injection for the failure-model test (test/pipeline/taggerThreads.test.ts): a thread exits when asked to tag this exact text.
    const exitOnText = process.env[FAULT_THREAD_EXIT_ENV];
    return ThreadTagger.open(dir, {
      ...threadTaggerOptions(config),
      ...(exitOnText !== undefined && exitOnText !== '' ? { exitOnText } : {}),
      warn,
      onExit: (err) => {
        logger.error('the inference thread died; exiting so that the posts in flight are read again after a restart', { err });
        process.exit(70);
      },
    });
  }
  await useBackend(config.backend, warn);
  useInferencePrecision(config.precision);
  const { model } = await TaggerModel.load(dir);
  try {
    return new NeuralTagger(model, { batchSize: config.batchMaxCount });
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/**
 * The tagger of a --model-store worker: the SERVING version, in a
 * SwappableTagger the follower swaps, and how the follower loads a
 * candidate. With --inference thread every version runs in the one
 * inference thread (`host`), so a swap starts no new TensorFlow runtime.
 */
async function loadStoreTagger(
  config: WorkerConfig,
  logger: Logger,
  storeDir: string,
): Promise<{ store: ModelStore; tagger: SwappableTagger; load: (dir: string) => Promise<Tagger>; host?: ThreadTagger }> {
  const store = await ModelStore.open(storeDir);
  if (config.inference === 'thread') {
    let host: ThreadTagger | undefined;
    const served = await loadServing(store, async (dir) => {
      host = (await loadTagger(config, logger, dir)) as ThreadTagger;
      return host.initialModel();
    });
    const thread = host as ThreadTagger;
    return { store, tagger: new SwappableTagger(served.tagger, served.model), load: (dir) => thread.load(dir), host: thread };
  }
  const load = (dir: string) => loadTagger(config, logger, dir);
  const served = await loadServing(store, load);
  return { store, tagger: new SwappableTagger(served.tagger, served.model), load };
}

/** run --create-topics: the topics of topicSpecs that are missing, created; problems of the existing ones logged as warnings. */
async function createWorkerTopics(config: WorkerConfig, logger: Logger): Promise<void> {
  const connection = { ...connectionOf(config), logger };
  const specs = topicSpecs(config);
  for (const change of await createTopics(connection, specs)) {
    if (change.action === 'created') logger.info('topic created', { topic: change.name, settings: change.details });
  }
  const states = await readTopicStates(connection, specs.map((s) => s.name));
  for (const problem of specs.flatMap((s) => topicProblems(s, states.get(s.name)))) logger.warn(problem);
}

/**
 * Once the worker is in its consumer group: a warning when the group has more
 * members than the input topic has partitions (the extra workers sit idle).
 * Best effort: a failure of this check is logged at debug and changes nothing.
 */
async function warnIdleWorkers(config: WorkerConfig, logger: Logger, ready: () => boolean, signal: AbortSignal): Promise<void> {
  try {
    for (let waited = 0; !ready(); waited += 500) {
      if (signal.aborted || waited > 120_000) return;
      await sleep(500);
    }
    const connection = { ...connectionOf(config), logger };
    const [spec] = topicSpecs(config);
    const state = (await readTopicStates(connection, [spec.name])).get(spec.name);
    const members = await groupMembers(connection, config.groupId);
    if (signal.aborted) return;
    const problems = topicProblems(spec, state, { id: config.groupId, members }).filter((p) => p.startsWith('consumer group'));
    for (const problem of problems) logger.warn(problem);
  } catch (err) {
    logger.debug('could not check the consumer group against the input partitions', { err });
  }
}

export async function run(p: Parsed): Promise<number> {
  const early: string[] = [];
  const config = workerConfig(p, process.env, (msg) => early.push(msg));
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, base: { service: 'mentionflow', clientId: config.clientId } });
  for (const msg of early) logger.warn(msg);
  const kafkaMode = config.brokers.length > 0;
  if (!kafkaMode) await checkInputFile(config.input);
  if (config.modelStore === undefined) checkPath(config.model, 'model directory', 'dir');
  else checkPath(config.modelStore, 'model store', 'dir');
  if (!kafkaMode && config.deadLetterFile !== undefined) checkPath(dirname(resolve(config.deadLetterFile)), `folder of the dead-letter file ${config.deadLetterFile}:`, 'dir');
  logger.debug('configuration', describeConfig(config));

  if (p.values['create-topics'] === true) {
    if (!kafkaMode) throw new ConfigError('--create-topics needs Kafka: pass --brokers (or set MENTIONFLOW_BROKERS)');
    await createWorkerTopics(config, logger);
  }
  const fromStore = config.modelStore === undefined ? undefined : await loadStoreTagger(config, logger, config.modelStore);
  const tagger: Tagger = fromStore?.tagger ?? (await loadTagger(config, logger));
  const thread = fromStore?.host ?? (tagger instanceof ThreadTagger ? tagger : undefined);
  const tensorMemory = thread ? () => thread.memory() : undefined;
  const metrics = createPipelineMetrics({ collectDefault: config.metricsPort > 0, ...(tensorMemory ? { tensorMemory } : {}) });
  metrics.setModel(tagger.modelId, tagger.modelVersion);
  let follower: ModelFollower | undefined;
  const deadLetters = !kafkaMode && config.deadLetterFile !== undefined ? createWriteStream(config.deadLetterFile) : undefined;
  let worker: RunningWorker | undefined;
  let shutdown: ShutdownHandle | undefined;
  let idleCheck: AbortController | undefined;
  const server =
    config.metricsPort > 0
      ? await startOpsServer({
          port: config.metricsPort,
          host: config.metricsHost,
          registry: metrics.registry,
          health: () => worker?.live() !== false,
          ready: () => worker?.ready() === true,
        })
      : undefined;
  try {
    worker = await startWorker({ config, tagger, logger, metrics, ...(deadLetters ? { stderr: deadLetters } : {}) });
    const running = worker;
    if (fromStore) {
      follower = startModelFollower({
        store: fromStore.store,
        tagger: fromStore.tagger,
        load: fromStore.load,
        intervalMs: config.modelPollMs,
        logger,
        metrics,
      });
    }
    // The deadline of a graceful stop also covers the clean-up below (the
    // dead-letter file's flush, the ops server's close), so the handlers stay
    // until the very end.
    shutdown = handleShutdownSignals({
      timeoutMs: config.shutdownTimeoutMs,
      stop: (signal) => {
        logger.info('stopping: draining records in flight', { signal, timeoutMs: config.shutdownTimeoutMs });
        running.stop();
      },
      onForcedExit: (reason) => logger.error(reason),
    });
    // Logged once the handlers are in place: a signal sent on seeing this line is handled.
    logger.info('worker started', {
      mode: kafkaMode ? 'kafka' : 'file',
      ...(kafkaMode ? { brokers: config.brokers, delivery: config.delivery } : { input: config.input }),
      model: { id: tagger.modelId, version: tagger.modelVersion },
      ...(fromStore ? { modelStore: fromStore.store.dir } : {}),
      inference: config.inference,
      ...(thread ? { inferenceThreads: thread.threads } : {}),
      // where the LSTM runs: the C kernel's engine, or TensorFlow and why (in the inference threads, as they said when ready)
      lstm: thread ? thread.lstm : inferenceEngine(),
      ...(server ? { metricsPort: server.port } : {}),
    });
    idleCheck = new AbortController();
    if (kafkaMode) void warnIdleWorkers(config, logger, () => running.ready(), idleCheck.signal);
    try {
      await running.done;
    } catch (err) {
      logger.error('worker failed; exiting so that a restarted worker resumes from the committed offsets', { err });
      throw err;
    }
    const outputs = Object.fromEntries((await metrics.recordsOut.get()).values.map((v) => [v.labels.output, v.value]));
    logger.info('worker stopped', { signal: shutdown.signal ?? null, outputs });
    return 0;
  } finally {
    idleCheck?.abort();
    await follower?.stop();
    if (deadLetters) {
      deadLetters.end();
      await once(deadLetters, 'close').catch(() => undefined);
    }
    await server?.close();
    tagger.dispose();
    fromStore?.host?.dispose();
    shutdown?.dispose();
    // Everything is closed; whatever a library still holds open (a socket, a
    // retry timer) must not keep a finished worker alive, holding partitions.
    setTimeout(() => process.exit(), 2000).unref();
  }
}
