// `mentionflow dashboard` in a real browser: the command runs as a child process following a
// trend file that this test appends windows to while headless Chromium (chromedriver, WebDriver
// over fetch) has the page open; the assertions read the rendered DOM. The screenshot is kept
// as runs/artifacts/dashboard.png. Skipped when chromium/chromium-driver are not installed.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { projectRoot } from '../../cli/defaults.js';
import { browserMissing, startBrowser, type Browser } from '../support/webdriver.js';

const root = projectRoot();
const T0 = Date.UTC(2026, 11, 3, 9, 0, 0);
const MIN = 60_000;

interface Ex {
  post_id: string;
  created_at: number;
  start_utf16: number;
  end_utf16: number;
  surface: string;
}

function entity(text: string, label: string, mentions: number, rank: number, o: { recent?: number[]; isNew?: boolean; rising?: number; examples?: Ex[] } = {}) {
  const [type, kind = ''] = label.split('.');
  const recent = o.recent ?? [];
  const avg = recent.length === 0 ? 0 : recent.reduce((a, b) => a + b, 0) / recent.length;
  return {
    text,
    label,
    type,
    kind,
    mentions,
    error: 0,
    posts: mentions,
    authors: null,
    rank,
    recent,
    trailing_avg: avg,
    ratio: o.rising ?? (avg > 0 ? mentions / avg : null),
    is_new: o.isNew === true,
    is_rising: o.rising !== undefined,
    examples: o.examples ?? [],
  };
}

function window(i: number, top: ReturnType<typeof entity>[], flags: { newEntities?: ReturnType<typeof entity>[]; rising?: ReturnType<typeof entity>[] } = {}) {
  const start = T0 + i * MIN;
  return {
    window_start: start,
    window_end: start + MIN,
    hop_ms: MIN,
    lateness_ms: 5000,
    records: 10 + i,
    mentions: top.reduce((a, e) => a + e.mentions, 0),
    entities: top.length,
    approximate: false,
    error_bound: 0,
    top,
    new_entities: flags.newEntities ?? [],
    rising: flags.rising ?? [],
    late_records: i,
    watermark: start + MIN + 5000,
    emitted_at: start + MIN + 5001,
  };
}

// Posts: the text of two posts mentioning 李娜, one of them carrying markup that must stay text.
const XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">';
const POSTS = [
  { id: 'p-1', text: '今天李娜在北京赢了比赛', author_id: 'a1', created_at: T0 + MIN + 1000, source: 'weibo' },
  { id: 'p-xss', text: `${XSS}李娜加油`, author_id: 'a2', created_at: T0 + MIN + 2000, source: 'weibo' },
];
const MENTIONS = [
  { post_id: 'p-1', created_at: T0 + MIN + 1000, mentions: [{ text: '李娜', label: 'PER.NAM', type: 'PER', kind: 'NAM', start: 2, end: 4, start_utf16: 2, end_utf16: 4, confidence: 0.99 }, { text: '北京', label: 'GPE.NAM', type: 'GPE', kind: 'NAM', start: 5, end: 7, start_utf16: 5, end_utf16: 7, confidence: 0.99 }] },
];
const xssStart = XSS.length;

const W0 = window(0, [entity('北京', 'GPE.NAM', 3, 1), entity('上海', 'GPE.NAM', 2, 2), entity('张伟', 'PER.NAM', 2, 1), entity('<b>青禾</b>', 'ORG.NAM', 1, 1)]);
const LINA = entity('李娜', 'PER.NAM', 4, 1, { recent: [0], isNew: true, examples: [{ post_id: 'p-xss', created_at: T0 + MIN + 2000, start_utf16: xssStart, end_utf16: xssStart + 2, surface: '李娜' }] });
const BEIJING = entity('北京', 'GPE.NAM', 6, 1, { recent: [3], rising: 2 });
const W1 = window(1, [BEIJING, entity('上海', 'GPE.NAM', 2, 2, { recent: [2] }), LINA, entity('张伟', 'PER.NAM', 2, 2, { recent: [2] })], { newEntities: [LINA], rising: [BEIJING] });

describe('mentionflow dashboard in headless Chromium', { skip: browserMissing() }, () => {
  let work: string;
  let child: ChildProcess;
  let browser: Browser;
  let url: string;
  const trends = () => join(work, 'trends.ndjson');
  const ndjson = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mentionflow-dashboard-'));
    writeFileSync(trends(), '');
    writeFileSync(join(work, 'posts.ndjson'), ndjson(POSTS));
    writeFileSync(join(work, 'mentions.ndjson'), ndjson(MENTIONS));
    child = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'dashboard', '--port', '0', '--follow', '--trends', trends(), '--mentions', join(work, 'mentions.ndjson'), '--posts', join(work, 'posts.ndjson')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    url = await new Promise<string>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /serving (http:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`dashboard exited with ${code}: ${err}`)));
    });
    browser = (await startBrowser({ width: 1280, height: 760 }))!;
  });

  after(async () => {
    await browser?.close();
    child?.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  });

  const js = <T>(body: string, ...args: unknown[]) => () => browser.script<T>(body, ...args);
  const rows = (type: string) =>
    js<{ text: string; count: string; series: string; cls: string }[]>(
      `return [...document.querySelectorAll('section.type[data-type="' + arguments[0] + '"] tr.entity')].map((r) => ({ text: r.querySelector('.text').textContent, count: r.querySelector('.count').textContent, series: r.querySelector('svg.sparkline').getAttribute('data-series'), cls: r.className }))`,
      type,
    );

  it('shows the top entities per type as windows close, with sparklines and the new and rising ones highlighted', async () => {
    await browser.open(url);
    await browser.waitFor(js<string>("return document.getElementById('status').getAttribute('data-state')"), (s) => s === 'live', 'the event stream to connect');
    assert.match(await browser.script<string>("return document.getElementById('window').textContent"), /waiting/);

    appendFileSync(trends(), ndjson([W0]));
    const gpe0 = await browser.waitFor(rows('GPE'), (r) => r.length === 2, 'window 0 on the page');
    assert.deepEqual(gpe0.map((r) => [r.text, r.count, r.series]), [['北京', '3', '3'], ['上海', '2', '2']]);
    assert.deepEqual(await browser.script("return [...document.querySelectorAll('section.type')].map((s) => s.getAttribute('data-type'))"), ['GPE', 'ORG', 'PER']);
    // an entity text with markup is text: no <b> element is made of it
    assert.deepEqual((await rows('ORG')()).map((r) => r.text), ['<b>青禾</b>']);
    assert.equal(await browser.script<number>("return document.querySelectorAll('#types b').length"), 0);
    assert.equal(await browser.script<number>("return document.querySelectorAll('#new-list li.entity').length"), 0);

    appendFileSync(trends(), ndjson([W1]));
    const gpe1 = await browser.waitFor(rows('GPE'), (r) => r[0]?.count === '6', 'window 1 on the page');
    assert.deepEqual(gpe1.map((r) => [r.text, r.count, r.series]), [['北京', '6', '3,6'], ['上海', '2', '2,2']]);
    assert.match(gpe1[0].cls, /\bis-rising\b/);
    assert.doesNotMatch(gpe1[1].cls, /\bis-rising\b|\bis-new\b/);
    const per = await rows('PER')();
    assert.deepEqual(per.map((r) => r.text), ['李娜', '张伟']);
    assert.match(per[0].cls, /\bis-new\b/);
    assert.deepEqual(await browser.script("return [...document.querySelectorAll('#new-list li.entity .text')].map((e) => e.textContent)"), ['李娜']);
    assert.deepEqual(await browser.script("return [...document.querySelectorAll('#rising-list li.entity .text')].map((e) => e.textContent)"), ['北京']);
    assert.match(await browser.script<string>("return document.getElementById('window').textContent"), /09:01:00–09:02:00 UTC/);
    // ORG is not in window 1: its card is gone
    assert.deepEqual(await rows('ORG')(), []);
  });

  it('a click on an entity lists its latest posts with the mention in <mark>; post markup stays text', async () => {
    const [lina] = await browser.find('section.type[data-type="PER"] tr.entity');
    await browser.click(lina);
    const posts = await browser.waitFor(
      js<{ id: string; body: string; marks: string[] }[]>("return document.getElementById('posts').hidden ? [] : [...document.querySelectorAll('#posts-list li[data-post-id]')].map((li) => ({ id: li.getAttribute('data-post-id'), body: li.querySelector('.body').textContent, marks: [...li.querySelectorAll('mark')].map((m) => m.textContent) }))"),
      (p) => p.length === 2,
      'the posts of 李娜',
    );
    // newest first: p-xss (from the window's examples), then p-1 (from the mention records)
    assert.deepEqual(posts, [
      { id: 'p-xss', body: `${XSS}李娜加油`, marks: ['李娜'] },
      { id: 'p-1', body: '今天李娜在北京赢了比赛', marks: ['李娜'] },
    ]);
    assert.equal(await browser.script<number>("return document.querySelectorAll('#posts script, #posts img').length"), 0);
    assert.equal(await browser.script<unknown>('return window.__xss === undefined ? null : window.__xss'), null);

    const dir = join(root, 'runs', 'artifacts');
    mkdirSync(dir, { recursive: true });
    await browser.screenshot(join(dir, 'dashboard.png'));
    assert.ok(statSync(join(dir, 'dashboard.png')).size > 1000);
  });

  it('a window without mentions empties the lists and says so', async () => {
    appendFileSync(trends(), ndjson([window(2, [])]));
    const text = await browser.waitFor(js<string | null>("return document.querySelector('#types .no-entities')?.textContent ?? null"), (t) => t !== null, 'the empty window');
    assert.equal(text, 'no entity was mentioned in this window');
    assert.equal(await browser.script<number>("return document.querySelectorAll('#types tr.entity, #new-list li.entity').length"), 0);
  });
});
