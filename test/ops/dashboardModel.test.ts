// The live page's state (DashboardModel), its HTTP/SSE endpoint and the line follower, without a
// browser: real sockets on 127.0.0.1 and real files.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../cli/defaults.js';
import { followLines } from '../../pipeline/file/followLines.js';
import { DashboardModel } from '../../pipeline/ops/dashboardModel.js';
import { startDashboardServer } from '../../pipeline/ops/dashboardServer.js';

const sample = () => JSON.parse(readFileSync(join(projectRoot(), 'schemas/trends/samples/v1-window.json'), 'utf8')) as Record<string, any>;

function win(start: number, top: { text: string; label: string; mentions: number; recent?: number[] }[]) {
  return {
    window_start: start,
    window_end: start + 60_000,
    hop_ms: 60_000,
    records: 1,
    mentions: top.reduce((a, e) => a + e.mentions, 0),
    top: top.map((e, i) => ({ ...e, type: e.label.split('.')[0], rank: i + 1, recent: e.recent ?? [], examples: [] })),
  };
}

describe('DashboardModel', () => {
  it('reads the golden EntityTrend sample (Avro-JSON unions) into the view', () => {
    const m = new DashboardModel();
    assert.equal(m.addTrend(sample()), true);
    const v = m.view();
    assert.equal(v.windows, 1);
    assert.equal(v.window?.lateRecords, 3);
    assert.deepEqual(v.types.map((t) => t.type), ['GPE', 'PER']);
    const beijing = v.types[0].top[0];
    assert.deepEqual([beijing.text, beijing.mentions, beijing.ratio, beijing.isRising, beijing.series], ['北京', 12, 4, true, [3, 4, 2, 3, 4, 2, 12]]);
    assert.deepEqual(v.newEntities.map((e) => [e.text, e.isNew]), [['马云', true]]);
    // the examples are the entity's latest posts (spans only: no post text was given)
    assert.deepEqual(m.entityPosts(beijing.key).map((p) => [p.postId, p.text, p.spans.map((s) => s.surface)]), [['sample-9', null, ['北京']], ['sample-7', null, ['北京']]]);
  });

  it('without `recent` the sparkline is what the page has seen; keeps --history windows; a re-sent window replaces its first version', () => {
    const m = new DashboardModel({ history: 3 });
    for (let i = 0; i < 5; i++) m.addTrend(win(i * 60_000, [{ text: 'a', label: 'PER.NAM', mentions: i + 1 }]));
    assert.deepEqual(m.view().types[0].top[0].series, [3, 4, 5]);
    m.addTrend(win(4 * 60_000, [{ text: 'a', label: 'PER.NAM', mentions: 9 }]));
    assert.deepEqual(m.view().types[0].top[0].series, [3, 4, 9]);
    assert.equal(m.view().windows, 6);
  });

  it('counts records that are not EntityTrend, mention or post records and keeps the view', () => {
    const m = new DashboardModel();
    assert.equal(m.addTrend({ window_start: 'x' }), false);
    assert.equal(m.addTrend(null), false);
    assert.equal(m.addMentionRecord({ mentions: [] }), false);
    assert.equal(m.addPost({ id: 1 }), false);
    assert.deepEqual(m.view().rejected, { trends: 2, mentions: 1, posts: 1 });
    assert.equal(m.view().window, null);
  });

  it('matches mention records to trend keys (NFKC, lower case, mentions v1 labels) and keeps the latest posts per entity', () => {
    const m = new DashboardModel({ postsPerEntity: 2 });
    const rec = (id: string, t: number, text: string, label: string, at: number) => ({
      post_id: id,
      created_at: t,
      mentions: [{ text, label, type: label === '' ? 'PRODUCT' : label, kind: label === '' ? 'NAM' : '', start_utf16: at, end_utf16: at + text.length }],
    });
    m.addMentionRecord(rec('p1', 1, 'ＩＰｈｏｎｅ', 'PRODUCT', 0));
    m.addMentionRecord(rec('p2', 3, 'iphone', 'PRODUCT', 2));
    m.addMentionRecord(rec('p3', 2, 'IPHONE', 'PRODUCT', 1));
    m.addMentionRecord(rec('p4', 9, 'iPhone', '', 0)); // mentions v1: label PRODUCT.NAM, another key
    m.addPost({ id: 'p2', text: '买了iphone', author_id: 'u2' });
    assert.deepEqual(
      m.entityPosts('iphone\u0001PRODUCT').map((p) => [p.postId, p.text, p.author, p.spans]),
      [
        ['p2', '买了iphone', 'u2', [{ start: 2, end: 8, surface: 'iphone' }]],
        ['p3', null, null, [{ start: 1, end: 7, surface: 'IPHONE' }]],
      ],
    );
    assert.deepEqual(m.entityPosts('iphone\u0001PRODUCT.NAM').map((p) => p.postId), ['p4']);
    // a span beyond the text it is given (another version of the post) is not marked
    m.addPost({ id: 'p3', text: 'x' });
    assert.deepEqual(m.entityPosts('iphone\u0001PRODUCT')[1].spans, []);
  });

  it('bounds the posts and entities it keeps (least recent dropped)', () => {
    const m = new DashboardModel({ maxEntities: 2, maxPosts: 2 });
    for (const [i, text] of ['a', 'b', 'c'].entries()) {
      m.addMentionRecord({ post_id: `p${i}`, created_at: i, mentions: [{ text, label: 'X', start_utf16: 0, end_utf16: 1 }] });
      m.addPost({ id: `p${i}`, text });
    }
    assert.deepEqual(m.entityPosts('a\u0001X'), []);
    assert.deepEqual(m.entityPosts('c\u0001X').map((p) => p.text), ['c']);
    m.addMentionRecord({ post_id: 'p0', created_at: 5, mentions: [{ text: 'c', label: 'X', start_utf16: 0, end_utf16: 1 }] });
    assert.deepEqual(m.entityPosts('c\u0001X').map((p) => [p.postId, p.text]), [['p0', null], ['p2', 'c']]);
  });

  it('rejects bad options at construction', () => {
    assert.throws(() => new DashboardModel({ history: 0 }), /history must be an integer >= 1/);
  });
});

function get(port: number, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('startDashboardServer', () => {
  it('serves the page with a CSP, the view, the posts, and one SSE state event at once and per window', async () => {
    const model = new DashboardModel();
    const server = await startDashboardServer({ port: 0, model });
    try {
      const page = await get(server.port, '/');
      assert.equal(page.status, 200);
      assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
      assert.match(page.body, /<script src="\/dashboard.js"/);
      assert.equal((await get(server.port, '/dashboard.js')).status, 200);
      assert.equal((await get(server.port, '/nope')).status, 404);
      assert.equal((await get(server.port, '/api/posts')).status, 400);
      assert.equal(JSON.parse((await get(server.port, '/api/state')).body).window, null);

      const events: string[] = [];
      let buf = '';
      const req = request({ host: '127.0.0.1', port: server.port, path: '/events', agent: false });
      const got = (n: number) =>
        new Promise<void>((resolve) => {
          const check = () => (events.length >= n ? resolve() : setImmediate(check));
          check();
        });
      req.on('response', (res) => {
        assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          const parts = buf.split('\n\n');
          buf = parts.pop() ?? '';
          for (const p of parts) if (p.startsWith('event: state')) events.push(p.slice(p.indexOf('data: ') + 6));
        });
      });
      req.end();
      await got(1);
      assert.equal(JSON.parse(events[0]).windows, 0);
      model.addTrend(sample());
      await got(2);
      assert.equal(JSON.parse(events[1]).windows, 1);
      assert.equal(JSON.parse(events[1]).types[0].top[0].text, '北京');
      const posts = JSON.parse((await get(server.port, `/api/posts?key=${encodeURIComponent('北京\u0001GPE.NAM')}`)).body);
      assert.deepEqual(posts.map((p: { postId: string }) => p.postId), ['sample-9', 'sample-7']);
      assert.equal(server.clients, 1);
      req.destroy();
    } finally {
      await server.close();
    }
  });
});

describe('followLines', () => {
  it('reads what is appended, holds back a half-written line, and starts over after a truncation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mentionflow-follow-'));
    const file = join(dir, 'x.ndjson');
    writeFileSync(file, 'a\nb');
    const abort = new AbortController();
    const seen: string[] = [];
    const lines = followLines(file, { follow: true, pollMs: 10, signal: abort.signal });
    const next = async () => {
      const r = await lines.next();
      if (!r.done) seen.push(`${r.value.number}:${r.value.line}`);
    };
    try {
      await next();
      appendFileSync(file, 'c\n北京\n');
      await next();
      await next();
      writeFileSync(file, 'z\n');
      await next();
      assert.deepEqual(seen, ['1:a', '2:bc', '3:北京', '1:z']);
      abort.abort();
      assert.equal((await lines.next()).done, true);
    } finally {
      await lines.return(undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a file to its end without --follow', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mentionflow-follow-'));
    writeFileSync(join(dir, 'x'), 'a\r\nb');
    const out: string[] = [];
    for await (const l of followLines(join(dir, 'x'))) out.push(l.line);
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(out, ['a', 'b']);
  });
});

describe('mentionflow dashboard: user mistakes', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(projectRoot(), 'dist/cli/main.js'), 'dashboard', ...args], { encoding: 'utf8', timeout: 60_000 });
  it('exits 2 with one line naming what is off', () => {
    for (const [args, line] of [
      [[], /^mentionflow dashboard: give one trend input: --trends FILE\|- or --from-topic NAME; run `mentionflow dashboard --help`\n$/],
      [['--trends', '/nonexistent/t.ndjson'], /^mentionflow dashboard: --trends \/nonexistent\/t.ndjson: no such file\n$/],
      [['--trends', '-', '--posts', '-'], /^mentionflow dashboard: only one input can be stdin \(-\)\n$/],
      [['--trends', '-', '--port', '70000'], /^mentionflow dashboard: --port must be an integer >= 0 <= 65535, got "70000"\n$/],
    ] as const) {
      const r = cli(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, line);
    }
  });
});

describe('mentionflow dashboard: stopping', () => {
  it('SIGTERM ends it with exit 0 while stdin is open and silent', { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, [join(projectRoot(), 'dist/cli/main.js'), 'dashboard', '--port', '0', '--trends', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('serving http://')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${err}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    // stdin stays open: the command must not wait for its end (killed after 20 s: exit null, the test fails)
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(guard);
    assert.equal(code, 0, err);
    child.stdin!.destroy();
  });
});
