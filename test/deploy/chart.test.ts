// The Helm chart deploy/helm/mentionflow, checked by real tools:
//   helm lint --strict, helm template (default values and the value sets in
//   the chart's ci/ folder), and deploy/k8s-check, which decodes every
//   rendered object strictly into the Kubernetes API's Go types (k8s.io/api),
//   the prometheus-operator's ServiceMonitor and KEDA's ScaledObject /
//   TriggerAuthentication, and checks references, grace period, probes and
//   maxReplicaCount;
// then against the worker's own code: the rendered config file is accepted
// by resolveWorkerConfig (an unknown key is a ConfigError, so a chart key
// that is not a real `run` option fails), the grace period is above the
// default shutdownTimeoutMs of WORKER_OPTIONS, and the probe paths answer
// (200 or 503, not 404) on the worker's real ops server.
//
// Tools: helm and k8s-check from .cache/tools/bin (.ci/run builds them), or
// HELM / K8S_CHECK, or PATH; k8s-check is (re)built with go when go is on
// PATH. Without helm, or without go and a k8s-check binary, the tests skip
// saying so.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { projectRoot } from '../../cli/defaults.js';
import { ConfigError } from '../../common/errors.js';
import { startOpsServer } from '../../pipeline/ops/server.js';
import { WORKER_OPTIONS, resolveWorkerConfig } from '../../pipeline/stream/config.js';
import { CHART_OWNED, SCHEMA_PATH, chartValuesSchema } from './chartSchema.js';

const root = projectRoot();
const CHART = join(root, 'deploy/helm/mentionflow');
const TOOLS = join(root, '.cache/tools/bin');
/** cli/commands/run.ts: after a clean stop, process.exit() 2 s later whatever is still open. */
const EXIT_TIMER_MS = 2000;
const DEFAULT_SHUTDOWN_MS = WORKER_OPTIONS.find((o) => o.key === 'shutdownTimeoutMs')!.default as number;

function runs(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.error === undefined && r.status === 0;
}

/** A tool: $ENV, then .cache/tools/bin, then PATH. */
function tool(name: string, env: string): string | undefined {
  const candidates = [process.env[env], join(TOOLS, name), name].filter((c): c is string => c !== undefined && c !== '');
  return candidates.find((c) => (c.includes('/') ? existsSync(c) : runs(c, ['--help'])));
}

function buildChecker(): string | undefined {
  if (!runs('go', ['version'])) return tool('k8s-check', 'K8S_CHECK');
  mkdirSync(TOOLS, { recursive: true });
  const out = join(TOOLS, 'k8s-check');
  const r = spawnSync('go', ['build', '-o', out, '.'], { cwd: join(root, 'deploy/k8s-check'), encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=readonly' } });
  assert.equal(r.status, 0, `go build deploy/k8s-check failed:\n${r.stderr}`);
  return out;
}

const helm = tool('helm', 'HELM');
const checker = helm === undefined ? undefined : buildChecker();
const skip =
  helm === undefined
    ? 'helm not found (.ci/run builds it: GOBIN=.cache/tools/bin go install helm.sh/helm/v4/cmd/helm@v4.3.2; or set HELM)'
    : checker === undefined
      ? 'k8s-check not found and no go to build it (go build -o .cache/tools/bin/k8s-check ./deploy/k8s-check)'
      : false;

interface Report {
  objects: { kind: string; name: string }[];
  config: Record<string, unknown>;
  configEnv: Record<string, string>;
  graceSeconds: number;
  probes: { kind: string; path: string; port: number }[];
  maxReplicaCount?: number;
  resources: Record<string, string>;
}

function helmRun(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(helm!, args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function template(args: string[] = []): string {
  const r = helmRun(['template', 'mf', CHART, '--namespace', 'streaming', ...args]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function check(manifests: string): { status: number | null; report?: Report; stderr: string } {
  const r = spawnSync(checker!, ['-shutdown-timeout-ms', String(DEFAULT_SHUTDOWN_MS), '-exit-timer-ms', String(EXIT_TIMER_MS), '-probe-paths', '/healthz,/readyz'], {
    input: manifests,
    encoding: 'utf8',
  });
  return { status: r.status, stderr: r.stderr, ...(r.status === 0 ? { report: JSON.parse(r.stdout) as Report } : {}) };
}

/** The rendered config file as `mentionflow run` resolves it (the pod's environment, a stand-in password; TLS files exist only in the pod). */
function resolveRendered(report: Report) {
  const values = { ...report.config };
  for (const key of ['sslCa', 'sslCert', 'sslKey']) {
    if (values[key] !== undefined) {
      assert.match(String(values[key]), /^\/etc\/mentionflow\/tls\//);
      delete values[key];
    }
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(report.configEnv)) if (!v.startsWith('secret:') && k !== 'MENTIONFLOW_CONFIG') env[k] = v;
  if (report.configEnv.MENTIONFLOW_SASL_PASSWORD !== undefined) env.MENTIONFLOW_SASL_PASSWORD = 'stand-in';
  return resolveWorkerConfig({ file: { path: 'ConfigMap config.json', values }, env, paths: { model: 'models/default', input: 'posts.ndjson' } });
}

const valueSets = existsSync(join(CHART, 'ci')) ? readdirSync(join(CHART, 'ci')).filter((f) => f.endsWith('-values.yaml')) : [];
const cases: { name: string; args: string[] }[] = [{ name: 'default values', args: [] }, ...valueSets.map((f) => ({ name: f, args: ['-f', join(CHART, 'ci', f)] }))];

describe('chart values and run\'s option table (no tools needed)', () => {
  it('values.schema.json is the one generated from WORKER_OPTIONS (regenerate: node dist/test/deploy/chartSchema.js --write)', () => {
    assert.equal(readFileSync(SCHEMA_PATH, 'utf8'), chartValuesSchema());
  });

  it('every key under config: in values.yaml and the ci/ value sets is a `run` option the chart does not own', () => {
    const keys = new Set(WORKER_OPTIONS.map((o) => o.key as string).filter((k) => !CHART_OWNED.includes(k)));
    const files = [join(CHART, 'values.yaml'), ...valueSets.map((f) => join(CHART, 'ci', f))];
    let seen = 0;
    for (const file of files) {
      const lines = readFileSync(file, 'utf8').split('\n');
      const start = lines.findIndex((l) => /^config:\s*(#.*)?$/.test(l));
      assert.ok(start >= 0, `${file} has a config: block`);
      for (const line of lines.slice(start + 1)) {
        if (/^\S/.test(line)) break;
        const m = /^ {2}([A-Za-z]\w*):/.exec(line);
        if (!m) continue;
        seen++;
        assert.ok(keys.has(m[1]), `${file}: config.${m[1]} is not an option of \`mentionflow run\``);
      }
    }
    assert.ok(seen >= 10, `read ${seen} config keys`);
  });
});

describe('Helm chart deploy/helm/mentionflow', { skip }, () => {
  it('has value sets besides the defaults', () => assert.ok(valueSets.length >= 2, valueSets.join(', ')));

  for (const c of cases) {
    it(`${c.name}: helm lint --strict passes`, () => {
      const r = helmRun(['lint', '--strict', CHART, ...c.args]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });

    it(`${c.name}: every rendered object decodes strictly and the references hold (k8s-check)`, async () => {
      const r = check(template(c.args));
      assert.equal(r.status, 0, r.stderr);
      const report = r.report!;
      const kinds = new Set(report.objects.map((o) => o.kind));
      for (const k of ['Deployment', 'ConfigMap', 'Service']) assert.ok(kinds.has(k), `renders a ${k}`);

      // the config file is one `mentionflow run` accepts, with the values given
      const config = resolveRendered(report);
      assert.deepEqual(config.brokers, report.config.brokers);
      assert.equal(config.topicPartitions, report.config.topicPartitions);
      assert.equal(config.metricsPort, report.probes[0].port);
      assert.equal(config.metricsHost, '0.0.0.0');

      // grace above the drain deadline the worker will use
      assert.ok(report.graceSeconds * 1000 > config.shutdownTimeoutMs + EXIT_TIMER_MS, `grace ${report.graceSeconds} s vs ${config.shutdownTimeoutMs} ms`);
      if (kinds.has('ScaledObject')) assert.equal(report.maxReplicaCount, config.topicPartitions);

      // one core and about 0.5 GiB per worker (BENCHMARKS.md, capacity model)
      assert.equal(report.resources['requests.cpu'], '1');
      assert.equal(report.resources['requests.memory'], '512Mi');

      // the probe paths are served by the worker's ops server (200 or 503, never 404)
      const server = await startOpsServer({ port: 0, registry: new Registry(), health: () => true, ready: () => false });
      try {
        for (const p of report.probes) {
          const res = await fetch(`http://127.0.0.1:${server.port}${p.path}`);
          await res.arrayBuffer();
          assert.ok(res.status === 200 || res.status === 503, `${p.kind} probe ${p.path}: ${res.status}`);
        }
        assert.equal((await fetch(`http://127.0.0.1:${server.port}/ready`)).status, 404, 'a path the server does not serve is 404');
      } finally {
        await server.close();
      }
    });
  }

  it('default values: KEDA ScaledObject, ServiceMonitor and PodDisruptionBudget are rendered; SASL adds a Secret and a TriggerAuthentication', () => {
    const kinds = (args: string[]) => new Set(check(template(args)).report!.objects.map((o) => o.kind));
    const plain = kinds([]);
    for (const k of ['ScaledObject', 'ServiceMonitor', 'PodDisruptionBudget', 'ServiceAccount']) assert.ok(plain.has(k), k);
    assert.ok(!plain.has('Secret'));
    const sasl = kinds(['--set', 'sasl.enabled=true', '--set', 'sasl.username=u', '--set', 'sasl.password=p']);
    assert.ok(sasl.has('Secret') && sasl.has('TriggerAuthentication'));
  });

  it('a chart config key that is not a `run` option is refused by helm (values.schema.json), and by the worker when the schema is skipped', () => {
    const refused = helmRun(['template', 'mf', CHART, '--set', 'config.inputTopc=posts']);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /additional properties 'inputTopc' not allowed/);
    const outOfRange = helmRun(['template', 'mf', CHART, '--set', 'config.batchMaxCount=0']);
    assert.notEqual(outOfRange.status, 0);
    assert.match(outOfRange.stderr, /batchMaxCount/);

    const r = check(template(['--skip-schema-validation', '--set', 'config.inputTopc=posts']));
    assert.equal(r.status, 0, r.stderr);
    assert.throws(() => resolveRendered(r.report!), (err: unknown) => err instanceof ConfigError && /unknown option "inputTopc" \(did you mean "inputTopic"\?\)/.test(err.message));
  });

  it('k8s-check fails on an unknown field, a grace period below the deadline, and maxReplicaCount != partitions', () => {
    const bad = check(template(['--set-json', 'extraEnv=[{"name":"X","vaule":"y"}]']));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /apps\/v1\/Deployment: strict decoding: .*unknown field "vaule"/);

    const short = check(template(['--set', 'terminationGraceExtraSeconds=-10', '--set', 'config.shutdownTimeoutMs=60000']));
    assert.equal(short.status, 1);
    assert.match(short.stderr, /terminationGracePeriodSeconds 52 is not above the worker's shutdown deadline 60000 ms/);

    const manifests = template();
    assert.match(manifests, /^ {2}maxReplicaCount: 6$/m);
    const moreReplicas = check(manifests.replace(/^ {2}maxReplicaCount: 6$/m, '  maxReplicaCount: 7'));
    assert.equal(moreReplicas.status, 1);
    assert.match(moreReplicas.stderr, /maxReplicaCount must equal config.topicPartitions \(6\)/);

    const typo = check(manifests.replace('lagThreshold:', 'lagTreshold:'));
    assert.equal(typo.status, 1);
    assert.match(typo.stderr, /kafka trigger metadata "lagTreshold" is not a parameter/);
  });

  it('helm template refuses what cannot work: no brokers, SASL without a password, metricsPort in config (by the schema, and by the templates when the schema is skipped)', () => {
    for (const [args, bySchema, byTemplate] of [
      [['--set', 'config.brokers=null'], /config/, /config.brokers is required/],
      [['--set', 'sasl.enabled=true', '--set', 'sasl.username=u'], undefined, /sasl.enabled needs sasl.password/],
      [['--set', 'config.metricsPort=9000'], /additional properties 'metricsPort' not allowed/, /config.metricsPort is set by the chart/],
    ] as const) {
      const r = helmRun(['template', 'mf', CHART, ...args]);
      assert.notEqual(r.status, 0, args.join(' '));
      assert.match(r.stderr, bySchema ?? byTemplate);
      const skipped = helmRun(['template', 'mf', CHART, '--skip-schema-validation', ...args]);
      assert.notEqual(skipped.status, 0, args.join(' '));
      assert.match(skipped.stderr, byTemplate);
    }
  });
});
