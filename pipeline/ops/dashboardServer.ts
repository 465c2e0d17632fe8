/**
 * The live page's HTTP endpoint (node:http, no framework), for `mentionflow
 * dashboard`:
 *
 *   GET /                  the page (pipeline/ops/dashboard/index.html)
 *   GET /dashboard.js|css  its script and style, served from the same folder
 *   GET /events            Server-Sent Events: `event: state` with the view
 *                          (DashboardView JSON) at once and after every window
 *   GET /api/state         the view, once
 *   GET /api/posts?key=K   an entity's latest posts (EntityPost[] JSON)
 *   GET /healthz           200 "ok"
 *
 * Everything is served from this process: the page works offline. The page
 * builds its DOM with textContent only, and every response carries a
 * Content-Security-Policy that allows scripts from this origin only, so a
 * post containing markup shows as text.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../common/errors.js';
import type { DashboardModel } from './dashboardModel.js';

export interface DashboardServerOptions {
  /** TCP port; 0 picks a free one (see the returned `port`). */
  port: number;
  /** Interface to listen on; default '127.0.0.1'. */
  host?: string;
  model: DashboardModel;
  /** Milliseconds between SSE keep-alive comments; default 15000. */
  keepAliveMs?: number;
}

export interface DashboardServer {
  readonly port: number;
  /** Open SSE connections. */
  readonly clients: number;
  close(): Promise<void>;
}

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
};

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** The folder of the page's files: pipeline/ops/dashboard/ in the package (found from dist/ too). */
export function dashboardAssetsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the mentionflow package root');
    dir = up;
  }
  return join(dir, 'pipeline', 'ops', 'dashboard');
}

function send(res: ServerResponse, status: number, body: string | Buffer, contentType: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': contentType, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

export async function startDashboardServer(opts: DashboardServerOptions): Promise<DashboardServer> {
  const { port, host = '127.0.0.1', model, keepAliveMs = 15_000 } = opts;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`dashboard port must be an integer 0..65535 (0 = any free port), got ${JSON.stringify(port)}`);
  }
  // Read once at start: a missing file fails here, not on the first visit.
  const dir = dashboardAssetsDir();
  const assets = new Map(Object.entries(ASSETS).map(([path, a]) => [path, { body: readFileSync(join(dir, a.file)), type: a.type }]));
  const streams = new Set<ServerResponse>();

  const stateEvent = () => `event: state\ndata: ${JSON.stringify(model.view())}\n\n`;
  const unsubscribe = model.onChange(() => {
    if (streams.size === 0) return;
    const event = stateEvent();
    for (const res of streams) res.write(event);
  });
  const keepAlive = setInterval(() => {
    for (const res of streams) res.write(': keep-alive\n\n');
  }, keepAliveMs);
  keepAlive.unref();

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'method not allowed\n', 'text/plain; charset=utf-8');
    }
    const asset = assets.get(url.pathname);
    if (asset !== undefined) return send(res, 200, asset.body, asset.type);
    switch (url.pathname) {
      case '/events':
        res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
        res.write(`retry: 2000\n\n${stateEvent()}`);
        streams.add(res);
        req.on('close', () => streams.delete(res));
        return;
      case '/api/state':
        return send(res, 200, JSON.stringify(model.view()), 'application/json; charset=utf-8');
      case '/api/posts': {
        const key = url.searchParams.get('key');
        if (key === null) return send(res, 400, 'missing ?key=\n', 'text/plain; charset=utf-8');
        return send(res, 200, JSON.stringify(model.entityPosts(key)), 'application/json; charset=utf-8');
      }
      case '/healthz':
        return send(res, 200, 'ok\n', 'text/plain; charset=utf-8');
      default:
        return send(res, 404, 'not found; the page is at /\n', 'text/plain; charset=utf-8');
    }
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      if (!res.headersSent) send(res, 500, `error: ${(err as Error)?.message ?? String(err)}\n`, 'text/plain; charset=utf-8');
      else res.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EADDRINUSE' ? ' (port in use; choose another port or 0 for any free one)' : '';
      reject(new ConfigError(`dashboard cannot listen on ${host}:${port}: ${err.message}${hint}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  }).catch((err: unknown) => {
    unsubscribe();
    clearInterval(keepAlive);
    throw err;
  });

  return {
    port: (server.address() as AddressInfo).port,
    get clients() {
      return streams.size;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        unsubscribe();
        clearInterval(keepAlive);
        for (const res of streams) res.end();
        streams.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
