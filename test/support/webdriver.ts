/**
 * A headless Chromium driven over the W3C WebDriver HTTP protocol, with
 * Node's fetch and the chromedriver of the system (Debian: `apt-get install
 * chromium chromium-driver`): no npm package. Just what the browser tests
 * need: open a page, find elements, read their text, click, run a script,
 * take a screenshot.
 *
 *   const browser = await startBrowser();    // undefined (with why) when absent
 *   await browser.open('http://127.0.0.1:8080/');
 *   await browser.waitFor(() => browser.script('return document.title'), (t) => t === 'x');
 *   await browser.close();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The W3C key of an element reference in WebDriver responses. */
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

const CHROMEDRIVERS = ['/usr/bin/chromedriver', '/usr/lib/chromium/chromedriver'];
const CHROMIUMS = ['/usr/bin/chromium', '/usr/lib/chromium/chromium', '/usr/bin/chromium-browser'];

/** Why there is no browser to test with, or undefined when there is one. */
export function browserMissing(): string | undefined {
  const driver = process.env.CHROMEDRIVER ?? CHROMEDRIVERS.find(existsSync);
  const chrome = process.env.CHROMIUM ?? CHROMIUMS.find(existsSync);
  if (driver === undefined || chrome === undefined) return 'chromium and chromium-driver are not installed (Debian: apt-get install chromium chromium-driver; .ci/run installs them)';
  return undefined;
}

export interface ElementRef {
  id: string;
}

export interface Browser {
  open(url: string): Promise<void>;
  /** Runs `body` (a function body: use `return`) in the page with `args`; its JSON-able result. */
  script<T = unknown>(body: string, ...args: unknown[]): Promise<T>;
  find(css: string): Promise<ElementRef[]>;
  click(el: ElementRef): Promise<void>;
  text(el: ElementRef): Promise<string>;
  /** PNG of the viewport, written to `path`. */
  screenshot(path: string): Promise<void>;
  /** Polls `read` until `ok` holds of its value (every 100 ms, at most `timeoutMs`); the value, or an error saying what was last seen. */
  waitFor<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts chromedriver and a headless Chromium session; undefined when they are not installed (see browserMissing). */
export async function startBrowser(opts: { width?: number; height?: number } = {}): Promise<Browser | undefined> {
  if (browserMissing() !== undefined) return undefined;
  const driverPath = (process.env.CHROMEDRIVER ?? CHROMEDRIVERS.find(existsSync)) as string;
  const chromePath = (process.env.CHROMIUM ?? CHROMIUMS.find(existsSync)) as string;
  const { width = 1280, height = 800 } = opts;
  const port = await freePort();
  const profile = mkdtempSync(join(tmpdir(), 'mentionflow-chromium-'));
  const driver: ChildProcess = spawn(driverPath, [`--port=${port}`, '--allowed-ips=127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let driverErr = '';
  driver.stderr?.on('data', (d: Buffer) => (driverErr = (driverErr + d.toString()).slice(-2000)));
  const base = `http://127.0.0.1:${port}`;

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(base + path, { method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = (await res.json()) as { value: T & { error?: string; message?: string } };
    if (!res.ok) throw new Error(`webdriver ${method} ${path}: ${json.value?.error ?? res.status}: ${json.value?.message ?? ''}`);
    return json.value;
  }

  const cleanup = () => {
    driver.kill('SIGTERM');
    rmSync(profile, { recursive: true, force: true });
  };
  let sessionId: string;
  try {
    // chromedriver is ready when /status answers
    for (let i = 0; ; i++) {
      try {
        const status = await call<{ ready: boolean }>('GET', '/status');
        if (status.ready) break;
      } catch (err) {
        if (i > 100 || driver.exitCode !== null) throw new Error(`chromedriver did not start: ${(err as Error).message} ${driverErr}`);
      }
      await sleep(100);
    }
    const args = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, `--window-size=${width},${height}`];
    const session = await call<{ sessionId: string }>('POST', '/session', { capabilities: { alwaysMatch: { browserName: 'chrome', 'goog:chromeOptions': { binary: chromePath, args } } } });
    sessionId = session.sessionId;
  } catch (err) {
    cleanup();
    throw err;
  }
  const s = `/session/${sessionId}`;

  const browser: Browser = {
    async open(url) {
      await call('POST', `${s}/url`, { url });
    },
    script<T>(body: string, ...args: unknown[]) {
      return call<T>('POST', `${s}/execute/sync`, { script: body, args });
    },
    async find(css) {
      const els = await call<Record<string, string>[]>('POST', `${s}/elements`, { using: 'css selector', value: css });
      return els.map((e) => ({ id: e[ELEMENT] }));
    },
    async click(el) {
      await call('POST', `${s}/element/${el.id}/click`, {});
    },
    text(el) {
      return call<string>('GET', `${s}/element/${el.id}/text`);
    },
    async screenshot(path) {
      writeFileSync(path, Buffer.from(await call<string>('GET', `${s}/screenshot`), 'base64'));
    },
    async waitFor(read, ok, what, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      let last: unknown;
      while (true) {
        last = await read();
        if (ok(last as never)) return last as never;
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)}`);
        await sleep(100);
      }
    },
    async close() {
      try {
        await call('DELETE', s);
      } finally {
        cleanup();
      }
    },
  };
  return browser;
}
