/**
 * The ops HTTP endpoint (node:http, no framework):
 *
 *   GET /metrics   Prometheus text exposition of `registry`
 *   GET /healthz   200 "ok" while `health()` is true (the process is alive), else 503
 *   GET /readyz    200 "ready" while `ready()` is true (consuming, model loaded), else 503
 *
 * HEAD works like GET without a body; other methods get 405, other paths 404.
 * A probe that throws counts as false and its message is the 503 body.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { ConfigError } from '../../common/errors.js';

export interface OpsServerOptions {
  /** TCP port; 0 picks a free one (see the returned `port`). */
  port: number;
  /** Interface to listen on; default '127.0.0.1'. Use '0.0.0.0' to be scraped from other hosts. */
  host?: string;
  registry: Registry;
  /** Liveness: false means "restart me". */
  health: () => boolean | Promise<boolean>;
  /** Readiness: false means "do not count on me yet" (starting, rebalancing, draining). */
  ready: () => boolean | Promise<boolean>;
}

export interface OpsServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

async function probe(res: ServerResponse, check: () => boolean | Promise<boolean>, okBody: string, failBody: string): Promise<void> {
  let ok: boolean;
  let detail = failBody;
  try {
    ok = (await check()) === true;
  } catch (err) {
    ok = false;
    detail = `${failBody}: ${(err as Error)?.message ?? String(err)}`;
  }
  send(res, ok ? 200 : 503, `${ok ? okBody : detail}\n`);
}

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const { port, host = '127.0.0.1', registry, health, ready } = opts;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`ops server port must be an integer 0..65535 (0 = any free port), got ${JSON.stringify(port)}`);
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    const known = path === '/metrics' || path === '/healthz' || path === '/readyz';
    if (!known) return send(res, 404, 'not found; try /metrics, /healthz or /readyz\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'method not allowed\n');
    }
    if (path === '/healthz') return probe(res, health, 'ok', 'unhealthy');
    if (path === '/readyz') return probe(res, ready, 'ready', 'not ready');
    send(res, 200, await registry.metrics(), registry.contentType);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, `error: ${(err as Error)?.message ?? String(err)}\n`);
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EADDRINUSE' ? ' (port in use; choose another port or 0 for any free one)' : '';
      reject(new ConfigError(`ops server cannot listen on ${host}:${port}: ${err.message}${hint}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });

  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
