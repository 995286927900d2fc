// console/util.js - small DOM helpers shared by the pages: element builder,
// formatting, JSON pretty-printing, a paged list with name-prefix search,
// error banners and sparklines.

export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const link = (href, text, attrs) => h('a', { href, ...(attrs || {}) }, text);
export const enc = (s) => encodeURIComponent(s);

export function age(seconds) {
  seconds = Math.max(0, Math.floor(Number(seconds) || 0));
  if (seconds < 60) return seconds + ' s';
  if (seconds < 3600) return Math.floor(seconds / 60) + ' min ' + (seconds % 60) + ' s';
  if (seconds < 86400) return Math.floor(seconds / 3600) + ' h ' + Math.floor((seconds % 3600) / 60) + ' min';
  return Math.floor(seconds / 86400) + ' d ' + Math.floor((seconds % 86400) / 3600) + ' h';
}

export function when(t) {
  if (t === undefined || t === null || t === '') return '';
  const d = typeof t === 'number' ? new Date(t < 1e12 ? t * 1000 : t) : new Date(t);
  return isNaN(d) ? String(t) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

// Pretty JSON: a string holding JSON is parsed first.
export function pretty(v) {
  if (typeof v === 'string') {
    try { v = JSON.parse(v); } catch { return v; }
  }
  return JSON.stringify(v, null, 2);
}
export const pre = (v, cls) => h('pre.json' + (cls ? '.' + cls : ''), {}, pretty(v));

export function errorBox(e) {
  return h('div.error', { role: 'alert' }, e && e.code ? h('b', {}, e.code + ': ') : '', e && e.code ? e.message.replace(e.code + ': ', '') : String(e && e.message ? e.message : e));
}
export function notice(parent, node) {
  parent.querySelectorAll(':scope > .error, :scope > .ok').forEach((n) => n.remove());
  parent.prepend(node);
}
export const okBox = (text) => h('div.ok', { role: 'status' }, text);

export function table(columns, rows, attrs) {
  return h('table', attrs || {},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c.title)))),
    h('tbody', {}, rows.length ? rows.map((r) => h('tr', { 'data-key': r.__key || '' },
      columns.map((c) => h('td', c.cls ? { class: c.cls } : {}, c.render ? c.render(r) : r[c.key]))))
      : h('tr', {}, h('td.empty', { colspan: columns.length }, 'nothing here'))));
}

// A list that pages through an API: load(token, prefix) -> {items, next}.
// Only one page is ever in memory; "previous" replays the kept tokens.
export function pagedList({ title, load, render, searchLabel, pageSize }) {
  const box = h('section.paged');
  const status = h('span.muted');
  const input = searchLabel ? h('input', { type: 'search', placeholder: searchLabel, 'aria-label': searchLabel }) : null;
  const body = h('div.pagebody');
  const prev = h('button', { type: 'button' }, '◀ previous');
  const next = h('button', { type: 'button' }, 'next ▶');
  let tokens = [null], idx = 0, nextToken = null, seq = 0;
  async function show() {
    const mine = ++seq;
    status.textContent = 'loading…';
    try {
      const { items, next: nt } = await load(tokens[idx], input ? input.value.trim() : '', pageSize || 25);
      if (mine !== seq) return;
      nextToken = nt || null;
      body.replaceChildren(await render(items));
      status.textContent = `page ${idx + 1} · ${items.length} shown`;
    } catch (e) {
      if (mine !== seq) return;
      body.replaceChildren(errorBox(e));
      status.textContent = '';
    }
    prev.disabled = idx === 0;
    next.disabled = !nextToken;
  }
  prev.onclick = () => { if (idx > 0) { idx--; show(); } };
  next.onclick = () => { if (nextToken) { tokens = tokens.slice(0, idx + 1); tokens.push(nextToken); idx++; show(); } };
  if (input) {
    let timer = null;
    input.oninput = () => {
      clearTimeout(timer);
      timer = setTimeout(() => { tokens = [null]; idx = 0; show(); }, 250);
    };
  }
  box.append(h('div.toolbar', {}, title ? h('h2', {}, title) : null, input, h('span.grow'), status, prev, next), body);
  box.reload = show;
  show();
  return box;
}

export function sparkline(values, { width = 220, height = 40, cls = '' } = {}) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  svg.setAttribute('class', 'spark ' + cls);
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const pts = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`);
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', pts.join(' '));
  svg.append(line);
  return svg;
}

export function field(label, input) {
  return h('label.field', {}, h('span', {}, label), input);
}
