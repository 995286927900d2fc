// console/pages/machines.js - state machines: a paged list
// (ListStateMachines) and one machine: its definition drawn as a graph,
// the definition itself, and links to its executions by status.
import { states, consoleApi } from '../aws.js';
import { h, link, enc, when, pre, table, pagedList } from '../util.js';
import { draw } from '../graph.js';

export async function renderList(view) {
  view.replaceChildren(h('h1', {}, 'State machines'), pagedList({
    searchLabel: 'name prefix (this page)',
    pageSize: 50,
    load: async (token, prefix, size) => {
      const r = await states('ListStateMachines', { maxResults: size, ...(token ? { nextToken: token } : {}) });
      return { items: (r.stateMachines || []).filter((m) => !prefix || m.name.startsWith(prefix)), next: r.nextToken };
    },
    render: (items) => table([
      { title: 'State machine', render: (m) => link('#/machines/' + enc(m.stateMachineArn), m.name) },
      { title: 'Type', key: 'type' },
      { title: 'Created', render: (m) => when(m.creationDate) },
      { title: '', render: (m) => link('#/executions/' + enc(m.stateMachineArn), 'executions') },
    ], items.map((m) => ({ ...m, __key: m.name })), { 'data-list': 'machines' }),
  }));
}

export function statusChips(machineArn, counts, current) {
  const all = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'];
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const base = '#/executions/' + enc(machineArn);
  return h('div.chips', {},
    h('a', { href: base, class: current ? '' : 'on', 'data-status': 'ALL' }, `all (${total})`),
    all.filter((s) => counts[s] || s === current).map((s) => h('a', { href: base + '?status=' + s, class: current === s ? 'on' : '', 'data-status': s }, `${s.toLowerCase().replace('_', ' ')} (${counts[s] || 0})`)));
}

export async function renderMachine(view, params, arn) {
  const [m, sum] = await Promise.all([states('DescribeStateMachine', { stateMachineArn: arn }), consoleApi('sfn/summary', { StateMachineArn: arn })]);
  const detail = h('div.panel', { id: 'state-detail' }, h('p.muted', {}, 'Click a state to see its definition.'));
  const def = JSON.parse(m.definition);
  const find = (b, n) => {
    for (const [k, s] of Object.entries(b.States || {})) {
      if (k === n) return s;
      for (const br of s.Branches || []) { const x = find(br, n); if (x) return x; }
      const it = s.ItemProcessor || s.Iterator;
      if (it) { const x = find(it, n); if (x) return x; }
    }
    return null;
  };
  const graph = draw(def, {
    onSelect: (name, g) => {
      graph.querySelectorAll('.selected').forEach((x) => x.classList.remove('selected'));
      g.classList.add('selected');
      const s = { ...find(def, name) };
      delete s.Branches; delete s.ItemProcessor; delete s.Iterator;
      detail.replaceChildren(h('h2', {}, name), pre(s));
    },
  });
  view.replaceChildren(
    h('h1', {}, link('#/machines', 'State machines'), ' / ', m.name, ' ', h('small', {}, m.type + ' · ' + arn)),
    statusChips(arn, sum.Executions || {}, null),
    h('div.cols', {}, h('div.graph', { id: 'graph' }, graph), h('div', {}, detail, h('div.panel', {}, h('h2', {}, 'Definition'), pre(m.definition)))));
}
