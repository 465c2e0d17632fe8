/* The live page of `mentionflow dashboard`: follows /events (Server-Sent Events, one `state`
 * event per closed window) and draws the top entities per type with sparklines, the new and
 * rising ones, and on a click an entity's latest posts with its mentions in <mark>.
 * Plain browser JavaScript, no libraries, served by the dashboard itself (works offline).
 * Text from the records is only ever set with textContent / text nodes, never as HTML. */
/* global document, window, EventSource, fetch */
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
let selected = null; // key of the entity whose posts are shown
let postsRequest = 0;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c instanceof window.Node ? c : document.createTextNode(String(c)));
  return node;
}

function time(ms) {
  return new Date(ms).toISOString().slice(11, 19);
}

function sparkline(series) {
  const w = 80, h = 22, pad = 2;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'sparkline');
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', String(h));
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('data-series', series.join(','));
  const max = Math.max(1, ...series);
  const step = series.length > 1 ? (w - 2 * pad) / (series.length - 1) : 0;
  const pts = series.map((v, i) => [pad + i * step, h - pad - (v / max) * (h - 2 * pad)]);
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' '));
  svg.append(line);
  const [lx, ly] = pts[pts.length - 1];
  const dot = document.createElementNS(SVG, 'circle');
  dot.setAttribute('cx', lx.toFixed(1));
  dot.setAttribute('cy', ly.toFixed(1));
  dot.setAttribute('r', '2');
  svg.append(dot);
  const title = document.createElementNS(SVG, 'title');
  title.textContent = `last ${series.length} windows: ${series.join(' ')}`;
  svg.append(title);
  return svg;
}

function badges(e) {
  const out = [];
  if (e.isNew) out.push(el('span', { class: 'badge new', title: 'not seen in the previous windows' }, 'new'));
  if (e.isRising) out.push(el('span', { class: 'badge rising', title: e.ratio === null ? 'rising' : `×${e.ratio.toFixed(1)} its trailing average` }, e.ratio === null ? 'rising' : `↑×${e.ratio.toFixed(1)}`));
  return out;
}

function entityRow(e) {
  const cls = ['entity'];
  if (e.isNew) cls.push('is-new');
  if (e.isRising) cls.push('is-rising');
  if (e.key === selected) cls.push('selected');
  const count = e.error > 0 ? `${e.mentions}±${e.error}` : String(e.mentions);
  const row = el('tr', { class: cls.join(' '), 'data-key': e.key, 'data-type': e.type, title: `${e.posts} posts${e.authors === null ? '' : `, ${e.authors} authors`}` },
    el('td', { class: 'rank' }, e.rank),
    el('td', { class: 'name' }, el('span', { class: 'text' }, e.text), el('span', { class: 'label' }, e.label), ...badges(e)),
    el('td', { class: 'count' }, count),
    el('td', { class: 'spark' }, sparkline(e.series)));
  row.addEventListener('click', () => showPosts(e));
  return row;
}

function chip(e, kind) {
  const li = el('li', { class: `${kind} entity`, 'data-key': e.key }, el('span', { class: 'text' }, e.text), el('span', { class: 'label' }, e.label), ...badges(e));
  li.addEventListener('click', () => showPosts(e));
  return li;
}

function renderChips(id, list, kind) {
  const ul = document.getElementById(id);
  ul.replaceChildren(...(list.length > 0 ? list.map((e) => chip(e, kind)) : [el('li', { class: 'empty' }, 'none in this window')]));
}

function render(view) {
  const meta = document.getElementById('window');
  if (view.window === null) {
    meta.replaceChildren('waiting for the first window to close…');
    return;
  }
  const w = view.window;
  const parts = [
    el('strong', {}, `${time(w.start)}–${time(w.end)} UTC`),
    ` · ${w.records} posts · ${w.mentions} mentions · ${w.entities} entities · watermark ${time(w.watermark)} · late records ${w.lateRecords} · windows received ${view.windows}`,
  ];
  if (w.approximate) parts.push(el('span', { class: 'approx' }, ` · approximate counts (error ≤ ${w.errorBound})`));
  meta.replaceChildren(...parts);
  meta.setAttribute('data-window-start', String(w.start));
  renderChips('new-list', view.newEntities, 'new');
  renderChips('rising-list', view.rising, 'rising');
  document.getElementById('types').replaceChildren(...(view.types.length > 0 ? view.types.map((t) =>
    el('section', { class: 'type', 'data-type': t.type }, el('h2', {}, t.type), el('table', {}, el('tbody', {}, ...t.top.map(entityRow)))))
    : [el('p', { class: 'no-entities' }, 'no entity was mentioned in this window')]));
  if (selected !== null) loadPosts(selected);
}

/** The post's text with the spans (UTF-16 offsets, sorted, not overlapping) in <mark>. */
function markedText(text, spans) {
  const body = el('div', { class: 'body' });
  let at = 0;
  for (const s of spans) {
    if (s.start < at) continue;
    body.append(document.createTextNode(text.slice(at, s.start)), el('mark', {}, text.slice(s.start, s.end)));
    at = s.end;
  }
  body.append(document.createTextNode(text.slice(at)));
  return body;
}

function postItem(p) {
  const meta = el('div', { class: 'meta' }, `${new Date(p.createdAt).toISOString().replace('T', ' ').slice(0, 19)} UTC · post ${p.postId}${p.author === null ? '' : ` · ${p.author}`}`);
  const body = p.text !== null
    ? markedText(p.text, p.spans)
    : el('div', { class: 'body no-text', title: 'the post text was not given (mentionflow dashboard --posts FILE)' }, '… ', ...p.spans.map((s) => el('mark', {}, s.surface)), ' …');
  return el('li', { 'data-post-id': p.postId }, meta, body);
}

async function loadPosts(key) {
  const n = ++postsRequest;
  const res = await fetch(`/api/posts?key=${encodeURIComponent(key)}`);
  const posts = await res.json();
  if (n !== postsRequest || key !== selected) return;
  document.getElementById('posts-list').replaceChildren(...(posts.length > 0 ? posts.map(postItem) : [el('li', { class: 'empty' }, 'no posts known for this entity')]));
}

function showPosts(e) {
  selected = e.key;
  for (const row of document.querySelectorAll('.entity')) row.classList.toggle('selected', row.getAttribute('data-key') === e.key);
  document.getElementById('posts-title').replaceChildren(el('span', {}, e.text), el('span', { class: 'label' }, ` ${e.label}`));
  document.getElementById('posts').hidden = false;
  document.body.classList.add('with-posts');
  loadPosts(e.key).catch((err) => setStatus('error', `cannot load posts: ${err.message}`));
}

function setStatus(state, text) {
  const s = document.getElementById('status');
  s.setAttribute('data-state', state);
  s.textContent = text;
}

function connect() {
  const events = new EventSource('/events');
  events.addEventListener('open', () => setStatus('live', 'live'));
  events.addEventListener('error', () => setStatus('error', 'disconnected, retrying…'));
  events.addEventListener('state', (ev) => {
    render(JSON.parse(ev.data));
    setStatus('live', 'live');
  });
}

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('posts-close').addEventListener('click', () => {
    selected = null;
    document.getElementById('posts').hidden = true;
    document.body.classList.remove('with-posts');
    for (const row of document.querySelectorAll('.entity.selected')) row.classList.remove('selected');
  });
  connect();
});
