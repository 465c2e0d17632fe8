// Makes docs/dashboard.png, the README's screenshot of the live page: a made-up trend stream
// (12 one-minute windows, invented entities and posts; no corpus data) served by
// `mentionflow dashboard`, opened in headless Chromium (test/support/webdriver.ts), the new
// entity clicked. Run after `npm run build`: node docs/dashboard-screenshot.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { startBrowser, browserMissing } = await import(join(root, 'dist/test/support/webdriver.js'));
if (browserMissing() !== undefined) throw new Error(browserMissing());
const work = mkdtempSync(join(tmpdir(), 'mentionflow-shot-'));
const T0 = Date.UTC(2026, 11, 3, 9, 0, 0), MIN = 60000;
const ents = {
  'GPE.NAM': { 北京: [8,9,7,10,9,11,10,12,11,13,12,22], 上海: [6,5,7,6,6,5,7,6,8,7,6,7], 杭州: [2,3,2,2,3,4,3,2,3,4,3,4], 成都: [1,2,1,1,2,1,2,2,1,2,3,3] },
  'PER.NAM': { 李娜: [0,0,0,0,0,0,0,0,0,0,0,9], 张伟: [4,5,4,6,5,4,5,6,5,4,5,5], 王芳: [3,2,3,3,2,3,4,3,2,3,3,3] },
  'ORG.NAM': { 青禾科技: [2,2,3,2,2,3,2,9,11,14,15,18], 国家队: [3,3,2,4,3,3,2,3,4,3,3,4] },
};
const posts = [
  { id: 'w-1041', text: '李娜今晚在北京的比赛太精彩了，现场气氛炸裂！', author_id: 'u-17', created_at: T0 + 11 * MIN + 51000, source: 'weibo' },
  { id: 'w-1032', text: '刚看完直播，李娜第三盘逆转，国家队教练都站起来鼓掌了', author_id: 'u-8', created_at: T0 + 11 * MIN + 40000, source: 'weibo' },
  { id: 'w-1020', text: '有人知道李娜下一场什么时候吗？想去现场', author_id: 'u-3', created_at: T0 + 11 * MIN + 12000, source: 'weibo' },
];
const mentions = posts.map((p) => ({ post_id: p.id, created_at: p.created_at, mentions: [{ text: '李娜', label: 'PER.NAM', type: 'PER', kind: 'NAM', start: p.text.indexOf('李娜'), end: p.text.indexOf('李娜') + 2, start_utf16: p.text.indexOf('李娜'), end_utf16: p.text.indexOf('李娜') + 2, confidence: 0.98 }] }));
const lines = [];
for (let i = 0; i < 12; i++) {
  const top = [], nw = [], rising = [];
  for (const [label, m] of Object.entries(ents)) {
    const [type, kind] = label.split('.');
    const list = Object.entries(m).map(([text, s]) => {
      const recent = s.slice(Math.max(0, i - 6), i);
      const avg = recent.length ? recent.reduce((a, b) => a + b, 0) / 6 : 0;
      const ratio = avg > 0 ? s[i] / avg : null;
      return { text, label, type, kind, mentions: s[i], error: 0, posts: s[i], authors: null, rank: 0, recent, trailing_avg: avg, ratio,
        is_new: i >= 6 && s[i] >= 3 && recent.every((x) => x === 0), is_rising: ratio !== null && ratio >= 1.6 && s[i] >= 3, examples: [] };
    }).filter((e) => e.mentions > 0).sort((a, b) => b.mentions - a.mentions);
    list.forEach((e, k) => (e.rank = k + 1));
    top.push(...list); nw.push(...list.filter((e) => e.is_new)); rising.push(...list.filter((e) => e.is_rising));
  }
  const start = T0 + i * MIN;
  lines.push(JSON.stringify({ window_start: start, window_end: start + MIN, hop_ms: MIN, lateness_ms: 5000, records: 60 + i, mentions: top.reduce((a, e) => a + e.mentions, 0), entities: top.length, approximate: false, error_bound: 0, top, new_entities: nw, rising, late_records: 2, watermark: start + MIN + 5000, emitted_at: start + MIN + 5100 }));
}
writeFileSync(join(work, 'trends.ndjson'), lines.join('\n') + '\n');
writeFileSync(join(work, 'posts.ndjson'), posts.map((p) => JSON.stringify(p)).join('\n') + '\n');
writeFileSync(join(work, 'mentions.ndjson'), mentions.map((p) => JSON.stringify(p)).join('\n') + '\n');
const child = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'dashboard', '--port', '0', '--trends', join(work, 'trends.ndjson'), '--posts', join(work, 'posts.ndjson'), '--mentions', join(work, 'mentions.ndjson')], { stdio: ['ignore', 'ignore', 'pipe'] });
let err = '';
const url = await new Promise((resolve, reject) => {
  child.stderr.on('data', (d) => {
    err += d;
    const m = /serving (\S+)/.exec(err);
    if (m) resolve(m[1]);
  });
  child.once('exit', (code) => reject(new Error(`dashboard exited with ${code}: ${err}`)));
});
const b = await startBrowser({ width: 1360, height: 640 });
try {
  await b.open(url);
  await b.waitFor(() => b.script("return document.querySelectorAll('tr.entity').length"), (n) => n > 5, 'the top lists');
  const [lina] = await b.find('#new-list li.entity');
  await b.click(lina);
  await b.waitFor(() => b.script("return document.querySelectorAll('#posts-list mark').length"), (n) => n >= 3, 'the posts');
  await b.screenshot(join(root, 'docs', 'dashboard.png'));
} finally {
  await b.close();
  child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
