import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../common/errors.js';
import { WORKER_OPTIONS, defaultConfig, defaultText, envName, flagName, readConfigFile, resolveWorkerConfig, describeConfig } from '../../pipeline/stream/config.js';

const paths = { model: '/models/default', input: '/samples/posts.ndjson' };

test('defaults: embedded mode, at-least-once, shipped model and sample input', () => {
  const c = resolveWorkerConfig({ paths });
  assert.deepEqual(c.brokers, []);
  assert.equal(c.delivery, 'at-least-once');
  assert.equal(c.model, '/models/default');
  assert.equal(c.input, '/samples/posts.ndjson');
  assert.equal(c.inputTopic, 'posts');
  assert.equal(c.maxInFlight, 2000);
  assert.equal(c.metricsPort, 0);
  assert.equal(c.transactionalIdPrefix, undefined, 'unset: the group id is the prefix of the per-partition transactional ids');
  assert.ok(Object.isFrozen(c));
});

test('precedence: flag > environment > file > default', () => {
  const file = { path: 'worker.json', values: { inputTopic: 'from-file', outputTopic: 'out-file', groupId: 'g-file', maxInFlight: 500 } };
  const env = { MENTIONFLOW_OUTPUT_TOPIC: 'out-env', MENTIONFLOW_GROUP_ID: 'g-env' };
  const flags = { groupId: 'g-flag' };
  const c = resolveWorkerConfig({ paths, file, env, flags });
  assert.equal(c.inputTopic, 'from-file');
  assert.equal(c.outputTopic, 'out-env');
  assert.equal(c.groupId, 'g-flag');
  assert.equal(c.maxInFlight, 500);
  assert.equal(c.deadLetterTopic, 'posts.deadletter');
});

test('names: --kebab-case flag, MENTIONFLOW_UPPER_SNAKE variable, camelCase key', () => {
  assert.equal(flagName('deadLetterTopic'), 'dead-letter-topic');
  assert.equal(envName('deadLetterTopic'), 'MENTIONFLOW_DEAD_LETTER_TOPIC');
  assert.equal(envName('brokers'), 'MENTIONFLOW_BROKERS');
  // Every option can be given each way.
  for (const o of WORKER_OPTIONS) {
    const text = o.kind.type === 'int' ? String(Math.min(o.kind.max, Math.max(o.kind.min, 1000))) : o.kind.type === 'enum' ? o.kind.values[0] : o.kind.type === 'bool' ? 'true' : o.kind.type === 'list' ? 'a:1' : 'x';
    if (['sslCa', 'sslCert', 'sslKey', 'saslMechanism', 'saslUsername'].includes(o.key)) continue; // need companions
    const viaEnv = resolveWorkerConfig({ paths, env: { [envName(o.key)]: text, MENTIONFLOW_BATCH_MAX_COUNT: '1', MENTIONFLOW_OUTPUT_TOPIC: 'o', MENTIONFLOW_DEAD_LETTER_TOPIC: 'd' } });
    assert.notEqual((viaEnv as unknown as Record<string, unknown>)[o.key], undefined, o.key);
  }
});

test('environment values are parsed: lists, integers, booleans', () => {
  const c = resolveWorkerConfig({
    paths,
    env: { MENTIONFLOW_BROKERS: 'k1:9092, k2:9093', MENTIONFLOW_BATCH_MAX_WAIT_MS: '20', MENTIONFLOW_SSL: 'yes' },
  });
  assert.deepEqual(c.brokers, ['k1:9092', 'k2:9093']);
  assert.equal(c.batchMaxWaitMs, 20);
  assert.equal(c.ssl, true);
});

test('an unknown key in the config file is rejected with the known ones (and a suggestion)', () => {
  assert.throws(
    () => resolveWorkerConfig({ paths, file: { path: 'w.json', values: { inputTopik: 'x' } } }),
    (err: unknown) =>
      err instanceof ConfigError &&
      /config file w\.json: unknown option "inputTopik" \(did you mean "inputTopic"\?\); known options: brokers, clientId/.test(err.message),
  );
});

test('bad values name the option, where it came from, and what is allowed', () => {
  const cases: Array<[Parameters<typeof resolveWorkerConfig>[0], RegExp]> = [
    [{ paths, env: { MENTIONFLOW_MAX_IN_FLIGHT: 'lots' } }, /environment variable MENTIONFLOW_MAX_IN_FLIGHT must be an integer 1\.\./],
    [{ paths, flags: { delivery: 'exactly-twice' } }, /--delivery must be one of at-least-once, exactly-once, got "exactly-twice"/],
    [{ paths, flags: { delivery: 'exactly_once' } }, /did you mean "exactly-once"/],
    [{ paths, file: { path: 'w.json', values: { batchMaxCount: '64' } } }, /config file w\.json: batchMaxCount must be an integer/],
    [{ paths, file: { path: 'w.json', values: { brokers: 9092 } } }, /brokers must be an array of strings/],
    [{ paths, file: { path: 'w.json', values: ['not', 'an', 'object'] } }, /must hold a JSON object/],
    [{ paths, file: { path: 'w.json', values: { saslPassword: 'secret' } } }, /saslPassword is not read from files; set MENTIONFLOW_SASL_PASSWORD/],
    [{ paths, flags: { brokers: 'localhost' } }, /broker "localhost" is not host:port/],
    [{ paths, flags: { outputTopic: 'posts' } }, /must be three different topics/],
    [{ paths, flags: { inputTopic: 'bad topic' } }, /not a valid Kafka topic name/],
    [{ paths, flags: { maxInFlight: '10' } }, /maxInFlight \(10\) must be at least batchMaxCount \(64\)/],
    [{ paths, flags: { saslMechanism: 'plain', saslUsername: 'u' } }, /needs the password in the environment variable MENTIONFLOW_SASL_PASSWORD/],
    [{ paths, flags: { saslMechanism: 'plain' }, env: { MENTIONFLOW_SASL_PASSWORD: 'p' } }, /needs saslUsername/],
    [{ paths, flags: { sslCa: '/no/such/ca.pem' } }, /sslCa: no such file/],
    [{ paths, flags: { metricsPort: '70000' } }, /--metrics-port must be an integer 0\.\.65535, got 70000/],
  ];
  for (const [sources, re] of cases) {
    assert.throws(() => resolveWorkerConfig(sources), (err: unknown) => err instanceof ConfigError && re.test(err.message), String(re));
  }
});

test('unknown MENTIONFLOW_ variables are reported, not fatal; other programs\' variables are quiet', () => {
  const warnings: string[] = [];
  resolveWorkerConfig({ paths, env: { MENTIONFLOW_BROKER: 'x', MENTIONFLOW_DEBUG: '1', PATH: '/bin' }, warn: (m) => warnings.push(m) });
  assert.deepEqual(warnings, ['ignoring unknown environment variable MENTIONFLOW_BROKER (did you mean "MENTIONFLOW_BROKERS"?)']);
});

test('SASL: the password comes from the environment and is redacted when described', () => {
  const c = resolveWorkerConfig({
    paths,
    flags: { saslMechanism: 'scram-sha-512', saslUsername: 'svc' },
    env: { MENTIONFLOW_SASL_PASSWORD: 's3cret' },
  });
  assert.equal(c.saslPassword, 's3cret');
  assert.equal(describeConfig(c).saslPassword, '<redacted>');
  assert.ok(!JSON.stringify(describeConfig(c)).includes('s3cret'));
});

test('TLS files imply ssl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-config-'));
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
  assert.equal(resolveWorkerConfig({ paths, flags: { sslCa: ca } }).ssl, true);
  assert.throws(() => resolveWorkerConfig({ paths, flags: { sslCert: ca } }), /sslCert and sslKey go together/);
});

test('readConfigFile: a missing or malformed file is a ConfigError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-config-'));
  assert.throws(() => readConfigFile(join(dir, 'none.json')), /cannot read config file .*ENOENT/);
  writeFileSync(join(dir, 'bad.json'), '{ brokers: ');
  assert.throws(() => readConfigFile(join(dir, 'bad.json')), /is not valid JSON/);
  writeFileSync(join(dir, 'ok.json'), '{"brokers": ["k:1"]}');
  assert.deepEqual(readConfigFile(join(dir, 'ok.json')).values, { brokers: ['k:1'] });
});

test('batchMode and taggerConcurrency: defaults, the three names, bad values', () => {
  const d = resolveWorkerConfig({ paths });
  assert.equal(d.batchMode, 'fixed');
  assert.equal(d.taggerConcurrency, 1);
  assert.equal(flagName('batchMode'), 'batch-mode');
  assert.equal(envName('taggerConcurrency'), 'MENTIONFLOW_TAGGER_CONCURRENCY');
  const viaFlags = resolveWorkerConfig({ paths, flags: { batchMode: 'adaptive', taggerConcurrency: '2' }, warn: () => {} });
  assert.deepEqual([viaFlags.batchMode, viaFlags.taggerConcurrency], ['adaptive', 2]);
  const viaEnv = resolveWorkerConfig({ paths, env: { MENTIONFLOW_BATCH_MODE: 'adaptive', MENTIONFLOW_TAGGER_CONCURRENCY: '3' }, warn: () => {} });
  assert.deepEqual([viaEnv.batchMode, viaEnv.taggerConcurrency], ['adaptive', 3]);
  const viaFile = resolveWorkerConfig({ paths, file: { path: 'w.json', values: { batchMode: 'adaptive', taggerConcurrency: 2, inference: 'thread' } } });
  assert.deepEqual([viaFile.batchMode, viaFile.taggerConcurrency], ['adaptive', 2]);
  const cases: Array<[Parameters<typeof resolveWorkerConfig>[0], RegExp]> = [
    [{ paths, flags: { batchMode: 'adaptiv' } }, /--batch-mode must be one of fixed, adaptive, got "adaptiv" \(did you mean "adaptive"\?\)/],
    [{ paths, env: { MENTIONFLOW_BATCH_MODE: 'dynamic' } }, /environment variable MENTIONFLOW_BATCH_MODE must be one of fixed, adaptive/],
    [{ paths, flags: { taggerConcurrency: '0' } }, /--tagger-concurrency must be an integer 1\.\.64, got 0/],
    [{ paths, env: { MENTIONFLOW_TAGGER_CONCURRENCY: 'two' } }, /MENTIONFLOW_TAGGER_CONCURRENCY must be an integer 1\.\.64, got "two"/],
    [{ paths, file: { path: 'w.json', values: { taggerConcurrency: '2' } } }, /config file w\.json: taggerConcurrency must be an integer 1\.\.64, got "2"/],
    [{ paths, file: { path: 'w.json', values: { batchMode: true } } }, /config file w\.json: batchMode must be a string, got true/],
  ];
  for (const [sources, re] of cases) {
    assert.throws(() => resolveWorkerConfig(sources), (err: unknown) => err instanceof ConfigError && re.test(err.message), String(re));
  }
});

test('settings that would not do what they say are reported, not fatal', () => {
  const warnings = (sources: Omit<Parameters<typeof resolveWorkerConfig>[0], 'paths' | 'warn'>) => {
    const out: string[] = [];
    resolveWorkerConfig({ paths, ...sources, warn: (m) => out.push(m) });
    return out;
  };
  assert.deepEqual(warnings({ flags: { batchMode: 'adaptive' } }), [], 'the default wait is not a complaint');
  assert.deepEqual(warnings({ flags: { batchMaxWaitMs: '20' } }), []);
  const [wait] = warnings({ flags: { batchMode: 'adaptive', batchMaxWaitMs: '20' } });
  assert.match(wait, /batchMaxWaitMs \(20\) is not used with batchMode adaptive .*; drop it, or set batchMode fixed/);
  const [inline] = warnings({ env: { MENTIONFLOW_TAGGER_CONCURRENCY: '2' } });
  assert.match(inline, /taggerConcurrency 2 with inference inline cannot overlap tagger calls .*; set inference thread, or taggerConcurrency 1/);
  assert.deepEqual(warnings({ flags: { taggerConcurrency: '2', inference: 'thread' } }), []);
  assert.match(warnings({ flags: { taggerThreads: '2' } })[0], /taggerThreads 2 is not used with inference inline .*; set inference thread, or drop taggerThreads/);
  assert.match(
    warnings({ env: { MENTIONFLOW_TAGGER_THREADS: '2', MENTIONFLOW_INFERENCE: 'thread', MENTIONFLOW_TAGGER_CONCURRENCY: '1' } })[0],
    /taggerThreads 2 with taggerConcurrency 1: at most 1 of the threads tag at once; set taggerConcurrency to at least 2/,
  );
  assert.deepEqual(warnings({ flags: { taggerThreads: '2', taggerConcurrency: '2', inference: 'thread' } }), []);
  // not given, taggerConcurrency is two batches per inference thread (thread inference only)
  assert.equal(resolveWorkerConfig({ paths, flags: { inference: 'thread' } }).taggerConcurrency, 2, 'one thread: its next batch waits queued');
  assert.equal(resolveWorkerConfig({ paths, flags: { taggerThreads: '3', inference: 'thread' } }).taggerConcurrency, 6);
  assert.equal(resolveWorkerConfig({ paths, flags: { taggerThreads: '40', inference: 'thread' } }).taggerConcurrency, 64, 'at most 64');
  assert.equal(resolveWorkerConfig({ paths, flags: { taggerConcurrency: '1', inference: 'thread' } }).taggerConcurrency, 1, 'given: kept');
  assert.equal(resolveWorkerConfig({ paths, flags: { taggerThreads: '3', taggerConcurrency: '4', inference: 'thread' } }).taggerConcurrency, 4);
  assert.equal(resolveWorkerConfig({ paths, flags: { taggerThreads: '3' }, warn: () => {} }).taggerConcurrency, 1, 'inline: one call at a time');
  assert.deepEqual(warnings({ flags: { taggerThreads: '2', inference: 'thread' } }), []);
  assert.throws(() => resolveWorkerConfig({ paths, flags: { taggerThreads: '0' } }), /--tagger-threads must be an integer 1\.\.64, got 0/);
  const [store] = warnings({ flags: { modelStore: '/srv/models', model: '/srv/m1' } });
  assert.match(store, /model \/srv\/m1 is not used with modelStore \/srv\/models/);
  assert.match(warnings({ flags: { modelPollMs: '500' } })[0], /modelPollMs \(500\) is used only with modelStore/);
  assert.deepEqual(warnings({ flags: { modelStore: '/srv/models', modelPollMs: '500' } }), []);
});

test('defaults are written once, in WORKER_OPTIONS: defaultConfig and the help text both come from there', () => {
  const d = defaultConfig(paths) as unknown as Record<string, unknown>;
  const optional = WORKER_OPTIONS.filter((o) => o.default === undefined).map((o) => o.key);
  assert.deepEqual(optional.sort(), ['deadLetterFile', 'modelStore', 'saslMechanism', 'saslUsername', 'sslCa', 'sslCert', 'sslKey', 'transactionalIdPrefix']);
  for (const o of WORKER_OPTIONS) {
    if (o.default === undefined) assert.equal(d[o.key], undefined, o.key);
    else assert.deepEqual(d[o.key], typeof o.default === 'function' ? o.default(paths) : o.default, o.key);
  }
  assert.equal(d.model, paths.model);
  assert.equal(defaultText(WORKER_OPTIONS.find((o) => o.key === 'batchMaxChars')!), String(d.batchMaxChars));
  // the defaults pass the validation of the other sources
  assert.deepEqual({ ...resolveWorkerConfig({ paths }) }, d);
});

test('topic settings: replication factor 0 is refused, -1 means the broker default', () => {
  assert.throws(() => resolveWorkerConfig({ paths, flags: { topicReplicationFactor: '0' } }), /topicReplicationFactor must be at least 1, or -1/);
  assert.equal(resolveWorkerConfig({ paths, flags: { topicReplicationFactor: '-1' } }).topicReplicationFactor, -1);
  assert.throws(() => resolveWorkerConfig({ paths, flags: { outputCleanupPolicy: 'compacted' } }), /--output-cleanup-policy must be one of delete, compact, compact,delete, got "compacted" \(did you mean "compact"\?\)/);
});
