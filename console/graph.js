// console/graph.js - a state machine's definition drawn as a graph, laid out
// automatically (no library): states are ranked by longest path from the
// start over the forward edges (back edges found by DFS and drawn around
// the side), ordered within a rank by the barycentre of their predecessors,
// and placed row by row. Parallel branches and Map iterators are laid out
// recursively and drawn nested inside their state. Edges: Next, Choice
// rules and Default (labelled), Catch (dashed), End.
//
// draw(definition, {statuses, onSelect}) -> <svg>; statuses maps a state
// name to {status: 'succeeded'|'failed'|'caught'|'running', error, cause}.

const NS = 'http://www.w3.org/2000/svg';
const ROW_GAP = 46, COL_GAP = 36, PAD = 16, TITLE = 22, NODE_H = 40, TERM = 14;

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
const textW = (s, px = 7) => String(s).length * px;

function choiceLabel(rule) {
  const ops = Object.keys(rule).filter((k) => !['Next', 'Variable', 'Comment', 'Assign', 'Output'].includes(k));
  if (rule.Condition) return String(rule.Condition).slice(0, 28);
  if (!ops.length) return '';
  const op = ops[0];
  if (op === 'And' || op === 'Or' || op === 'Not') return op.toLowerCase() + '(…)';
  const v = rule[op];
  const short = (rule.Variable || '').replace(/^\$\./, '');
  return `${short} ${op.replace(/Equals$/, ' =').replace(/Path$/, ' path')} ${typeof v === 'string' ? v : JSON.stringify(v)}`.slice(0, 30);
}

function edgesOf(name, s) {
  const out = [];
  if (s.Type === 'Choice') {
    (s.Choices || []).forEach((c) => c.Next && out.push({ to: c.Next, kind: 'choice', label: choiceLabel(c) }));
    if (s.Default) out.push({ to: s.Default, kind: 'choice', label: 'default' });
  } else if (s.Next) out.push({ to: s.Next, kind: 'next' });
  if (s.End || s.Type === 'Succeed' || s.Type === 'Fail') out.push({ to: '__end', kind: 'next' });
  (s.Catch || []).forEach((c) => c.Next && out.push({ to: c.Next, kind: 'catch', label: 'catch ' + (c.ErrorEquals || []).join(', ') }));
  return out;
}

// Lay out one {StartAt, States} block; returns {w, h, nodes, edges}.
function layoutBlock(def, ctx) {
  const states = def.States || {};
  const names = Object.keys(states);
  const nodes = new Map();
  nodes.set('__start', { id: '__start', term: 'start', w: TERM * 2, h: TERM * 2 });
  for (const n of names) {
    const s = states[n];
    const node = { id: n, state: s, type: s.Type, w: Math.max(110, textW(n) + 28), h: NODE_H };
    const st = ctx.statuses[n];
    if (st && st.error) { node.h += 14; node.w = Math.max(node.w, Math.min(260, textW(st.error, 6) + 20)); }
    if (s.Type === 'Parallel') {
      node.children = (s.Branches || []).map((b) => layoutBlock(b, ctx));
    } else if (s.Type === 'Map') {
      const it = s.ItemProcessor || s.Iterator;
      node.children = it ? [layoutBlock(it, ctx)] : [];
    }
    if (node.children) {
      const cw = node.children.reduce((a, c) => a + c.w, 0) + COL_GAP * Math.max(0, node.children.length - 1);
      const ch = node.children.reduce((a, c) => Math.max(a, c.h), 0);
      node.w = Math.max(node.w, cw + 2 * PAD);
      node.h = TITLE + ch + PAD + (st && st.error ? 14 : 0);
    }
    nodes.set(n, node);
  }
  nodes.set('__end', { id: '__end', term: 'end', w: TERM * 2, h: TERM * 2 });
  const edges = nodes.has(def.StartAt) ? [{ from: '__start', to: def.StartAt, kind: 'next' }] : [];
  for (const n of names) for (const e of edgesOf(n, states[n])) if (nodes.has(e.to)) edges.push({ from: n, ...e });

  // DFS from the start (then from anything unreached): back edges close a cycle
  const succ = new Map([...nodes.keys()].map((k) => [k, []]));
  edges.forEach((e) => succ.get(e.from).push(e));
  const state = new Map(), order = [];
  const visit = (v) => {
    state.set(v, 1);
    order.push(v);
    for (const e of succ.get(v)) {
      const s = state.get(e.to);
      if (s === 1) e.back = true;
      else if (!s) visit(e.to);
    }
    state.set(v, 2);
  };
  visit('__start');
  for (const n of names) if (!state.get(n)) visit(n);
  if (!state.get('__end')) visit('__end');

  // longest-path ranks over forward edges (order is a DFS preorder; relax until stable)
  const rank = new Map([...nodes.keys()].map((k) => [k, 0]));
  for (let pass = 0, changed = true; changed && pass < nodes.size + 1; pass++) {
    changed = false;
    for (const e of edges) {
      if (e.back) continue;
      if (rank.get(e.to) < rank.get(e.from) + 1) { rank.set(e.to, rank.get(e.from) + 1); changed = true; }
    }
  }
  let maxRank = 0;
  for (const [k, r] of rank) if (k !== '__end') maxRank = Math.max(maxRank, r);
  rank.set('__end', maxRank + 1);

  // an edge across several ranks runs through one small dummy node per rank
  // it crosses (as in Sugiyama's method), so it is routed around the states
  // of those ranks instead of through them
  const segs = []; // [from, to] of forward edges, dummies included
  let dn = 0;
  for (const e of edges) {
    if (e.back) continue;
    let prev = e.from;
    e.via = [];
    for (let r = rank.get(e.from) + 1; r < rank.get(e.to); r++) {
      const id = '__d' + dn++;
      nodes.set(id, { id, dummy: true, w: 8, h: 0 });
      rank.set(id, r);
      order.push(id);
      e.via.push(id);
      segs.push([prev, id]);
      prev = id;
    }
    segs.push([prev, e.to]);
  }

  // rows, ordered by discovery, then by the barycentre of predecessors
  const rows = [];
  for (const v of order) (rows[rank.get(v)] = rows[rank.get(v)] || []).push(v);
  for (let i = 0; i < rows.length; i++) rows[i] = rows[i] || [];
  const pos = new Map();
  rows.forEach((row) => row.forEach((v, i) => pos.set(v, i)));
  for (let sweep = 0; sweep < 3; sweep++) {
    for (let r = 1; r < rows.length; r++) {
      const bc = new Map(rows[r].map((v) => {
        const preds = segs.filter(([a, b]) => b === v && rank.get(a) === r - 1).map(([a]) => (pos.get(a) + 0.5) / rows[r - 1].length);
        return [v, preds.length ? preds.reduce((a, b) => a + b, 0) / preds.length : (pos.get(v) + 0.5) / rows[r].length];
      }));
      rows[r].sort((a, b) => bc.get(a) - bc.get(b));
      rows[r].forEach((v, i) => pos.set(v, i));
    }
  }

  // coordinates: rows centred on the widest
  const rowW = rows.map((row) => row.reduce((a, v) => a + nodes.get(v).w + (nodes.get(v).dummy ? COL_GAP / 2 : COL_GAP), 0) - COL_GAP);
  const rowH = rows.map((row) => row.reduce((a, v) => Math.max(a, nodes.get(v).h), 0));
  const backs = edges.filter((e) => e.back).length;
  const gutter = backs ? 40 + 14 * backs + Math.max(0, ...edges.filter((e) => e.back).map((e) => textW(e.label || '', 6))) : 0;
  const width = Math.max(...rowW, 40) + gutter;
  let y = 0;
  rows.forEach((row, r) => {
    let x = (width - gutter - rowW[r]) / 2;
    for (const v of row) {
      const n = nodes.get(v);
      n.x = x;
      n.y = y; // top-aligned: an edge into a row never crosses a tall neighbour
      if (n.dummy) n.h = rowH[r]; // the edge runs straight down through the row
      x += n.w + (n.dummy ? COL_GAP / 2 : COL_GAP);
    }
    y += rowH[r] + ROW_GAP;
  });
  return { w: width, gutter, h: y - ROW_GAP, nodes: [...nodes.values()].filter((n) => !n.dummy), edges, rank, backs, byId: nodes };
}

function drawBlock(g, L, ctx, scope) {
  let backIdx = 0;
  for (const e of L.edges) {
    const a = L.byId.get(e.from), b = L.byId.get(e.to);
    const x1 = a.x + a.w / 2, y1 = a.y + a.h, x2 = b.x + b.w / 2, y2 = b.y;
    let d, lx, ly;
    if (e.back) {
      const gx = L.w - L.gutter + 20 + 14 * backIdx++;
      const sy = a.y + a.h / 2, ty = b.y + b.h / 2;
      d = `M${a.x + a.w},${sy} C${gx},${sy} ${gx},${sy} ${gx},${(sy + ty) / 2} S${gx},${ty} ${b.x + b.w},${ty}`;
      lx = gx + 4; ly = (sy + ty) / 2;
    } else {
      // through the dummies: a curve between rows, a straight run through each row
      const pts = [[x1, y1]];
      for (const id of e.via || []) {
        const dm = L.byId.get(id);
        pts.push([dm.x + dm.w / 2, dm.y], [dm.x + dm.w / 2, dm.y + dm.h]);
      }
      pts.push([x2, y2]);
      d = `M${pts[0][0]},${pts[0][1]}`;
      for (let i = 1; i < pts.length; i++) {
        const [px, py] = pts[i - 1], [qx, qy] = pts[i];
        if (i % 2 === 1) { const my = (py + qy) / 2; d += ` C${px},${my} ${qx},${my} ${qx},${qy}`; } else d += ` L${qx},${qy}`;
      }
      const [sx] = pts[pts.length - 2];
      // labels near the target end, where edges leaving one state have parted
      lx = x2 + (x2 >= sx ? 4 : -4); ly = y2 - 8;
    }
    const p = svgEl('path', { d, class: 'edge ' + e.kind, 'marker-end': 'url(#arrow)', 'data-from': e.from, 'data-to': e.to, 'data-back': e.back ? '1' : null });
    g.append(p);
    if (e.label) g.append(svgEl('text', { x: lx, y: ly, class: 'edge-label', 'text-anchor': e.back || lx >= x2 ? 'start' : 'end' }, e.label));
  }
  for (const n of L.nodes) {
    if (n.term) {
      const t = svgEl('g', { class: 'terminal', transform: `translate(${n.x + n.w / 2},${n.y + n.h / 2})`, 'data-terminal': scope + n.term });
      t.append(svgEl('circle', { r: TERM }), svgEl('text', { 'text-anchor': 'middle', y: 3 }, n.term));
      g.append(t);
      continue;
    }
    const st = ctx.statuses[n.id] || {};
    const cls = ['node', (n.type || '').toLowerCase(), st.status || 'idle', n.children ? 'container' : ''].join(' ');
    const ng = svgEl('g', { class: cls, transform: `translate(${n.x},${n.y})`, 'data-state': n.id, 'data-status': st.status || 'not-run', tabindex: 0 });
    const title = svgEl('title', {}, `${n.id} (${n.type})${st.error ? `\n${st.error}: ${st.cause || ''}` : ''}`);
    ng.append(title, svgEl('rect', { width: n.w, height: n.h, rx: n.type === 'Choice' ? 14 : 6 }));
    if (n.children) {
      ng.append(svgEl('text', { x: 8, y: 15, class: 'title' }, `${n.id} · ${n.type}${n.type === 'Map' ? ' (each item)' : ''}`));
      const cw = n.children.reduce((a, c) => a + c.w, 0) + COL_GAP * Math.max(0, n.children.length - 1);
      let cx = (n.w - cw) / 2;
      n.children.forEach((c, i) => {
        const cg = svgEl('g', { transform: `translate(${cx},${TITLE})`, class: 'branch', 'data-branch': `${n.id}#${i}` });
        drawBlock(cg, c, ctx, `${n.id}#${i}:`);
        ng.append(cg);
        cx += c.w + COL_GAP;
      });
      if (st.error) ng.append(svgEl('text', { x: 8, y: n.h - 6, class: 'err' }, `${st.error}`.slice(0, 60)));
    } else {
      ng.append(svgEl('text', { x: n.w / 2, y: 17, 'text-anchor': 'middle' }, n.id));
      ng.append(svgEl('text', { x: n.w / 2, y: 31, 'text-anchor': 'middle', class: 'kind' }, n.type + (n.state.Resource ? ' · ' + String(n.state.Resource).split(':').pop() : '')));
      if (st.error) ng.append(svgEl('text', { x: n.w / 2, y: 45, 'text-anchor': 'middle', class: 'err' }, String(st.error).slice(0, 40)));
    }
    if (ctx.onSelect) {
      ng.addEventListener('click', (ev) => { ev.stopPropagation(); ctx.onSelect(n.id, ng); });
    }
    g.append(ng);
  }
}

export function draw(definition, opts = {}) {
  const def = typeof definition === 'string' ? JSON.parse(definition) : definition;
  const ctx = { statuses: opts.statuses || {}, onSelect: opts.onSelect };
  const L = layoutBlock(def, ctx);
  const m = 20;
  const svg = svgEl('svg', { width: L.w + 2 * m, height: L.h + 2 * m, viewBox: `${-m} ${-m} ${L.w + 2 * m} ${L.h + 2 * m}`, role: 'img', 'aria-label': 'state machine graph' });
  const defs = svgEl('defs');
  const marker = svgEl('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(svgEl('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#94a3b8' }));
  defs.append(marker);
  svg.append(defs);
  const g = svgEl('g');
  drawBlock(g, L, ctx, '');
  svg.append(g);
  return svg;
}

// Every state name of a definition, nested ones included.
export function stateNames(definition) {
  const def = typeof definition === 'string' ? JSON.parse(definition) : definition;
  const out = [];
  const walk = (b) => {
    for (const [n, s] of Object.entries(b.States || {})) {
      out.push(n);
      (s.Branches || []).forEach(walk);
      const it = s.ItemProcessor || s.Iterator;
      if (it) walk(it);
    }
  };
  walk(def);
  return out;
}
