// console/pages/overview.js - counts per service (the console's summary
// endpoints) and request/error rates sampled from /metrics.
import { consoleApi } from '../aws.js';
import { h, age, sparkline, errorBox } from '../util.js';

const history = { t: [], total: [], errors: [], last: null }; // kept across visits, 60 samples

function parseMetrics(text) {
  let total = 0, errors = 0;
  const byService = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('switchyard_http_requests_total{')) continue;
    const m = line.match(/service="([^"]*)".*status="(\d+)"\}\s+([0-9.eE+]+)/);
    if (!m || m[1] === 'none' || m[1] === 'console') continue;
    const v = Number(m[3]);
    total += v;
    if (Number(m[2]) >= 400) errors += v;
    byService[m[1]] = (byService[m[1]] || 0) + v;
  }
  return { total, errors, byService };
}

async function sample() {
  const r = await fetch('/metrics', { cache: 'no-store' });
  const m = parseMetrics(await r.text());
  const now = Date.now() / 1000;
  if (history.last) {
    const dt = Math.max(0.001, now - history.last.t);
    history.total.push(Math.max(0, (m.total - history.last.total) / dt));
    history.errors.push(Math.max(0, (m.errors - history.last.errors) / dt));
    if (history.total.length > 60) { history.total.shift(); history.errors.shift(); }
  }
  history.last = { t: now, total: m.total, errors: m.errors };
  return m;
}

function card(title, href, big, rows) {
  return h('div.card', { 'data-card': title },
    h('h3', {}, h('a', { href }, title)),
    h('div.big', {}, big),
    h('dl', {}, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
}

export async function render(view) {
  const [q, t, b, f, s] = await Promise.all(['queue', 'topic', 'bus', 'lambda', 'sfn']
    .map((n) => consoleApi(n + '/summary').catch((e) => ({ error: e }))));
  const ex = s.Executions || {};
  const cards = h('div.cards', {},
    q.error ? errorBox(q.error) : card('Queues', '#/queues', q.Queues, [['messages', q.Messages], ['in flight', q.InFlight], ['oldest message', age(q.OldestAgeSeconds)]]),
    t.error ? errorBox(t.error) : card('Topics', '#/topics', t.Topics, [['subscriptions', t.Subscriptions], ['pending confirmation', t.PendingConfirmation]]),
    b.error ? errorBox(b.error) : card('Event buses', '#/buses', b.EventBuses, [['rules', b.Rules], ['targets', b.Targets], ['archives', b.Archives], ['replays running', b.ReplaysRunning]]),
    f.error ? errorBox(f.error) : card('Functions', '#/functions', f.Functions, [['connected workers', f.Workers], ['event-source mappings', f.EventSourceMappings]]),
    s.error ? errorBox(s.error) : card('State machines', '#/machines', s.StateMachines, [['running', ex.RUNNING || 0], ['succeeded', ex.SUCCEEDED || 0], ['failed', ex.FAILED || 0], ['timed out / aborted', (ex.TIMED_OUT || 0) + (ex.ABORTED || 0)]]));
  const rate = h('span.big'), erate = h('span.big'), sparkT = h('div'), sparkE = h('div'), bySvc = h('dl');
  const traffic = h('div.cards', {},
    h('div.card', { 'data-card': 'throughput' }, h('h3', {}, 'Requests / s'), rate, sparkT, bySvc),
    h('div.card', { 'data-card': 'errors' }, h('h3', {}, 'Errors / s (4xx, 5xx)'), erate, sparkE));
  view.replaceChildren(h('h1', {}, 'Overview'), cards, h('h2', {}, 'Traffic ', h('small', {}, 'from /metrics, sampled every 2 s')), traffic);
  async function tick() {
    try {
      const m = await sample();
      const last = (a) => (a.length ? a[a.length - 1] : 0);
      rate.textContent = last(history.total).toFixed(1);
      erate.textContent = last(history.errors).toFixed(1);
      sparkT.replaceChildren(sparkline(history.total.length ? history.total : [0]));
      sparkE.replaceChildren(sparkline(history.errors.length ? history.errors : [0], { cls: 'errors' }));
      bySvc.replaceChildren(...Object.entries(m.byService).sort().flatMap(([k, v]) => [h('dt', {}, k + ' (total)'), h('dd', {}, String(v))]));
    } catch { /* the next tick tries again */ }
  }
  await tick();
  const timer = setInterval(tick, 2000);
  return () => clearInterval(timer);
}
