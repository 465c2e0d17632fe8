// Ops HTTP server over real sockets on 127.0.0.1, ephemeral ports.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { ConfigError } from '../../common/errors.js';
import { startOpsServer, type OpsServer } from '../../pipeline/ops/server.js';

const TIMEOUT = { timeout: 10_000 };

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

describe('startOpsServer', () => {
  const registry = new Registry();
  new Counter({ name: 'mentionflow_test_total', help: 'A test counter.', registers: [registry] }).inc(3);
  let healthy = true;
  let ready: boolean | Error = false;
  let server: OpsServer;

  before(async () => {
    server = await startOpsServer({
      port: 0,
      registry,
      health: () => healthy,
      ready: async () => {
        if (ready instanceof Error) throw ready;
        return ready;
      },
    });
  });
  after(() => server.close());

  it('port 0 binds an ephemeral port', () => {
    assert.ok(server.port > 0 && server.port <= 65535);
  });

  it('GET /metrics serves the registry in the Prometheus text format', TIMEOUT, async () => {
    const res = await get(server.port, '/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], registry.contentType);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(res.body, /^# HELP mentionflow_test_total A test counter\.$/m);
    assert.match(res.body, /^mentionflow_test_total 3$/m);
    assert.equal((await get(server.port, '/metrics?debug=1')).status, 200, 'query string ignored');
  });

  it('/healthz: 200 ok while healthy, 503 otherwise', TIMEOUT, async () => {
    healthy = true;
    assert.deepEqual([(await get(server.port, '/healthz')).status, (await get(server.port, '/healthz')).body], [200, 'ok\n']);
    healthy = false;
    const res = await get(server.port, '/healthz');
    assert.equal(res.status, 503);
    healthy = true;
  });

  it('/readyz: 503 until ready, 200 once ready, 503 with the reason when the probe throws', TIMEOUT, async () => {
    ready = false;
    assert.equal((await get(server.port, '/readyz')).status, 503);
    ready = true;
    const ok = await get(server.port, '/readyz');
    assert.deepEqual([ok.status, ok.body], [200, 'ready\n']);
    ready = new Error('consumer rebalancing');
    const failed = await get(server.port, '/readyz');
    assert.equal(failed.status, 503);
    assert.match(failed.body, /consumer rebalancing/);
    ready = false;
  });

  it('404 for other paths, 405 for other methods, HEAD without a body', TIMEOUT, async () => {
    assert.equal((await get(server.port, '/')).status, 404);
    assert.equal((await get(server.port, '/metricsx')).status, 404);
    const post = await get(server.port, '/metrics', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    const head = await get(server.port, '/healthz', 'HEAD');
    assert.deepEqual([head.status, head.body], [200, '']);
  });

  it('a scrape that fails answers 500 and the server keeps serving', TIMEOUT, async () => {
    const broken = new Registry();
    new Counter({
      name: 'broken_total',
      help: 'Throws on collect.',
      registers: [broken],
      collect() {
        throw new Error('collector failed');
      },
    });
    const s = await startOpsServer({ port: 0, registry: broken, health: () => true, ready: () => true });
    try {
      const res = await get(s.port, '/metrics');
      assert.equal(res.status, 500);
      assert.match(res.body, /collector failed/);
      assert.equal((await get(s.port, '/healthz')).status, 200);
    } finally {
      await s.close();
    }
  });
});

describe('startOpsServer config', () => {
  const opts = { registry: new Registry(), health: () => true, ready: () => true };

  it('rejects a bad port with a ConfigError', async () => {
    for (const port of [-1, 65536, 1.5, Number.NaN]) {
      await assert.rejects(startOpsServer({ ...opts, port }), ConfigError, `port ${port}`);
    }
  });

  it('a port in use is a ConfigError naming it', TIMEOUT, async () => {
    const first = await startOpsServer({ ...opts, port: 0 });
    try {
      await assert.rejects(startOpsServer({ ...opts, port: first.port }), (err: Error) => err instanceof ConfigError && err.message.includes(String(first.port)) && /in use/.test(err.message));
    } finally {
      await first.close();
    }
  });

  it('close() stops listening, even with a keep-alive connection open', TIMEOUT, async () => {
    const s = await startOpsServer({ ...opts, port: 0 });
    const res = await fetch(`http://127.0.0.1:${s.port}/healthz`); // fetch keeps the connection alive
    assert.equal(res.status, 200);
    await res.text();
    await s.close();
    await assert.rejects(get(s.port, '/healthz'));
  });
});
