// console/pages/executions.js - executions of a state machine (filtered by
// status, paged through ListExecutions) and one execution: its graph with
// each state coloured by outcome, the history as a timeline, the input and
// output of each step, and the redrive and stop buttons.
import { states, consoleApi, settings } from '../aws.js';
import { h, link, enc, when, pre, table, pagedList, errorBox, okBox, notice } from '../util.js';
import { draw } from '../graph.js';
import { statusChips } from './machines.js';

export async function renderList(view, params, machineArn) {
  const status = params.get('status') || '';
  const sum = await consoleApi('sfn/summary', { StateMachineArn: machineArn });
  const name = machineArn.split(':').pop();
  view.replaceChildren(
    h('h1', {}, link('#/machines', 'State machines'), ' / ', link('#/machines/' + enc(machineArn), name), ' / executions'),
    statusChips(machineArn, sum.Executions || {}, status || null),
    pagedList({
      pageSize: 50,
      load: async (token, prefix, size) => {
        const r = await states('ListExecutions', { stateMachineArn: machineArn, maxResults: size, ...(status ? { statusFilter: status } : {}), ...(token ? { nextToken: token } : {}) });
        return { items: r.executions || [], next: r.nextToken };
      },
      render: (items) => table([
        { title: 'Execution', render: (e) => link('#/execution/' + enc(e.executionArn), e.name) },
        { title: 'Status', render: (e) => h('span.status.' + e.status, {}, e.status) },
        { title: 'Started', render: (e) => when(e.startDate) },
        { title: 'Stopped', render: (e) => when(e.stopDate) },
        { title: 'Redrives', cls: 'num', render: (e) => e.redriveCount || 0 },
      ], items.map((e) => ({ ...e, __key: e.name })), { 'data-list': 'executions' }),
    }));
}

const detailsOf = (ev) => {
  for (const [k, v] of Object.entries(ev)) if (k.endsWith('EventDetails')) return v;
  return null;
};

// Walk the history: the outcome, error, input and output of every state.
// An event belongs to the state whose StateEntered starts its chain
// (previousEventId links the events of one thread of the execution).
export function outcomes(events, execStatus, types) {
  const owner = new Map(), st = {}, open = [];
  for (const ev of events) {
    const d = detailsOf(ev) || {};
    let who = null;
    if (ev.stateEnteredEventDetails) {
      who = d.name;
      st[who] = { ...(st[who] || {}), status: 'running', input: d.input, entered: ev.timestamp, failedTask: false };
      open.push(who);
    } else {
      who = owner.get(ev.previousEventId) || null;
    }
    owner.set(ev.id, who);
    if (ev.stateExitedEventDetails) {
      const s = st[d.name] || (st[d.name] = {});
      s.output = d.output;
      s.exited = ev.timestamp;
      s.status = s.failedTask ? 'caught' : 'succeeded';
      const i = open.lastIndexOf(d.name);
      if (i >= 0) open.splice(i, 1);
      continue;
    }
    if (/^Execution/.test(ev.type)) continue;
    if (d && d.error !== undefined && /(Failed|TimedOut)$/.test(ev.type)) {
      const target = who || open[open.length - 1];
      if (target && st[target]) Object.assign(st[target], { error: d.error, cause: d.cause, failedTask: true, own: true });
    } else if (/(Succeeded)$/.test(ev.type) && who && st[who]) {
      st[who].failedTask = false; // a retry that succeeded
    }
  }
  const failedEv = events.find((e) => e.executionFailedEventDetails || e.executionTimedOutEventDetails || e.executionAbortedEventDetails);
  const fd = failedEv ? detailsOf(failedEv) : null;
  // states still open when the execution ended: the one that failed (its own
  // error, a Fail state, or the Parallel/Map holding it) is red; a sibling
  // branch's state that was still working was cancelled with it
  const culprit = open.some((n) => st[n].own || types[n] === 'Fail');
  for (const name of open) {
    const s = st[name];
    if (execStatus === 'RUNNING') { s.status = 'running'; continue; }
    const container = types[name] === 'Parallel' || types[name] === 'Map';
    if (s.own || types[name] === 'Fail' || container || !culprit) {
      s.status = 'failed';
      if (!s.error && fd) { s.error = fd.error || failedEv.type.replace(/^Execution/, 'States.'); s.cause = fd.cause; }
    } else {
      s.status = 'cancelled';
    }
  }
  return st;
}

function timeline(events, onPick) {
  return h('ol.timeline', { id: 'timeline' }, events.map((ev) => {
    const d = detailsOf(ev);
    const bad = /(Failed|TimedOut|Aborted)$/.test(ev.type), good = /(Succeeded|Exited)$/.test(ev.type);
    const name = d && d.name ? d.name : '';
    const li = h('li' + (bad ? '.bad' : good ? '.good' : ''), { 'data-event': ev.type },
      h('span.t', {}, when(ev.timestamp)), h('b', {}, ev.type), name ? [' ', link('#', name, { onclick: (e) => { e.preventDefault(); onPick(name); } })] : null,
      d && d.error ? h('span', {}, ' — ', h('b', {}, d.error), d.cause ? ': ' + String(d.cause).slice(0, 200) : '') : null,
      d ? h('details', {}, h('summary.muted', {}, 'details'), pre(d)) : null);
    return li;
  }));
}

export async function renderExecution(view, params, arn) {
  const [ex, sm] = await Promise.all([states('DescribeExecution', { executionArn: arn }), states('DescribeStateMachineForExecution', { executionArn: arn })]);
  // the history, page by page (1000 events a page, at most 10 pages shown)
  let events = [], token = null, pages = 0;
  do {
    const r = await states('GetExecutionHistory', { executionArn: arn, maxResults: 1000, ...(token ? { nextToken: token } : {}) });
    events = events.concat(r.events || []);
    token = r.nextToken;
  } while (token && ++pages < 10);
  const types = {};
  (function walk(b) {
    for (const [n, x] of Object.entries(b.States || {})) {
      types[n] = x.Type;
      (x.Branches || []).forEach(walk);
      if (x.ItemProcessor || x.Iterator) walk(x.ItemProcessor || x.Iterator);
    }
  })(JSON.parse(sm.definition));
  const st = outcomes(events, ex.status, types);
  const statuses = {};
  for (const [k, v] of Object.entries(st)) statuses[k] = { status: v.status, error: v.error, cause: v.cause };
  const step = h('div.panel', { id: 'step' }, h('p.muted', {}, 'Click a state (or a timeline entry) for its input and output.'));
  let graph = null;
  const pick = (name) => {
    const s = st[name];
    graph.querySelectorAll('.selected').forEach((x) => x.classList.remove('selected'));
    const g = graph.querySelector(`[data-state="${CSS.escape(name)}"]`);
    if (g) g.classList.add('selected');
    step.replaceChildren(...[h('h2', {}, name, ' ', s ? h('span.status.' + ({ succeeded: 'SUCCEEDED', failed: 'FAILED', caught: 'ABORTED', running: 'RUNNING', cancelled: 'CANCELLED' }[s.status] || ''), {}, s.status) : h('span.muted', {}, 'not run')),
      s && s.error ? h('div.error', {}, h('b', {}, s.error), s.cause ? ': ' + s.cause : '') : null,
      s ? [h('h3', {}, 'Input'), pre(s.input ?? ''), h('h3', {}, 'Output'), s.output !== undefined ? pre(s.output) : h('p.muted', {}, 'no output')] : null].flat().filter(Boolean));
  };
  graph = draw(sm.definition, { statuses, onSelect: (name) => pick(name) });

  const actions = h('div.row', { id: 'exec-actions' });
  const stopBtn = h('button.danger', { type: 'button', id: 'stop', disabled: ex.status !== 'RUNNING' }, 'Stop');
  stopBtn.onclick = async () => {
    try { await states('StopExecution', { executionArn: arn, error: 'Console.Stopped', cause: 'stopped from the Switchyard console' }); notice(actions.parentNode, okBox('stopped')); setTimeout(() => dispatchEvent(new HashChangeEvent('hashchange')), 500); } catch (e) { notice(actions.parentNode, errorBox(e)); }
  };
  const redriveBtn = h('button', { type: 'button', id: 'redrive', disabled: !['FAILED', 'TIMED_OUT', 'ABORTED'].includes(ex.status) }, 'Redrive');
  redriveBtn.onclick = async () => {
    try { await states('RedriveExecution', { executionArn: arn }); notice(actions.parentNode, okBox('redriven')); setTimeout(() => dispatchEvent(new HashChangeEvent('hashchange')), 500); } catch (e) { notice(actions.parentNode, errorBox(e)); }
  };
  actions.append(h('span.status.' + ex.status, { id: 'exec-status' }, ex.status), h('span.muted', {}, 'started ' + when(ex.startDate) + (ex.stopDate ? ' · stopped ' + when(ex.stopDate) : '')),
    h('span.grow'), settings.write ? '' : h('span.muted', {}, 'read-only console'), redriveBtn, stopBtn);
  const machineArn = ex.stateMachineArn;
  view.replaceChildren(
    h('h1', {}, link('#/machines', 'State machines'), ' / ', link('#/machines/' + enc(machineArn), machineArn.split(':').pop()), ' / ', link('#/executions/' + enc(machineArn), 'executions'), ' / ', ex.name),
    h('div.panel', {}, actions, ex.error ? h('div.error', { id: 'exec-error' }, h('b', {}, ex.error), ex.cause ? ': ' + ex.cause : '') : null),
    h('div.legend', {}, h('span', {}, h('i.s'), 'succeeded'), h('span', {}, h('i.f'), 'failed'), h('span', {}, h('i.c'), 'failed, caught'), h('span', {}, h('i.r'), 'running'), h('span', {}, h('i.x'), 'cancelled'), h('span', {}, h('i.n'), 'not run')),
    h('div.cols', {}, h('div.graph', { id: 'graph' }, graph), h('div', {}, step,
      h('div.panel', {}, h('h2', {}, 'Execution input'), pre(ex.input ?? ''), ex.output ? [h('h2', {}, 'Output'), pre(ex.output)] : null))),
    h('div.panel', {}, h('h2', {}, 'History ', h('small', {}, `${events.length} events${token ? ' (first 10,000 shown)' : ''}`)), timeline(events, pick)));
  const failedStates = Object.entries(st).filter(([, v]) => v.status === 'failed');
  const failed = failedStates.filter(([, v]) => v.own).pop() || failedStates.pop(); // where the error arose
  if (failed) pick(failed[0]);
  if (ex.status === 'RUNNING') {
    const timer = setTimeout(() => dispatchEvent(new HashChangeEvent('hashchange')), 3000);
    return () => clearTimeout(timer);
  }
}
