// console/pages/functions.js - functions (Lambda ListFunctions, paged with
// Marker) and the workers connected to this broker (/console/api/lambda/
// workers): their functions, slots in use, recent errors and cold starts.
import { lambda, consoleApi } from '../aws.js';
import { h, age, when, table, pagedList, errorBox } from '../util.js';

function workersTable(w) {
  return table([
    { title: 'Worker', render: (x) => h('div', {}, h('b', {}, x.WorkerId), h('div.muted', {}, [x.Node, x.Version].filter(Boolean).join(' · '))) },
    { title: 'Functions (slots in use / max)', render: (x) => h('div', {}, x.Functions.map((f) => h('div', { 'data-function': f.Name }, `${f.Name}: ${f.InUse} / ${f.MaxConcurrency}`))) },
    { title: 'Invocations', cls: 'num', key: 'Acks' },
    { title: 'Errors', cls: 'num', key: 'Errors' },
    { title: 'Cold starts', cls: 'num', key: 'ColdStarts' },
    { title: 'Connected', render: (x) => when(x.ConnectedAt) + (x.Draining ? ' (draining)' : '') },
    { title: 'Last heard', cls: 'num', render: (x) => age(x.LastSeenMsAgo / 1000) + ' ago' },
    { title: 'Recent errors', render: (x) => (x.RecentErrors.length ? h('ul', {}, x.RecentErrors.map((e) => h('li', {}, h('b', {}, e.ErrorType), ` in ${e.Function}: ${e.ErrorMessage} `, h('span.muted', {}, when(e.At))))) : h('span.muted', {}, 'none')) },
  ], w.map((x) => ({ ...x, __key: x.WorkerId })), { 'data-list': 'workers' });
}

export async function render(view) {
  const workers = h('div');
  async function refresh() {
    try {
      const r = await consoleApi('lambda/workers');
      workers.replaceChildren(workersTable(r.Workers));
    } catch (e) { workers.replaceChildren(errorBox(e)); }
  }
  const fnList = pagedList({
    title: 'Functions',
    searchLabel: 'name prefix (this page)',
    pageSize: 50,
    load: async (marker, prefix, size) => {
      const q = [['MaxItems', String(size)]];
      if (marker) q.push(['Marker', marker]);
      const r = await lambda('GET', '/2015-03-31/functions/', q);
      return { items: (r.Functions || []).filter((f) => !prefix || f.FunctionName.startsWith(prefix)), next: r.NextMarker };
    },
    render: (items) => table([
      { title: 'Function', render: (f) => h('b', {}, f.FunctionName) },
      { title: 'Runtime', key: 'Runtime' },
      { title: 'Handler', key: 'Handler' },
      { title: 'Timeout (s)', cls: 'num', key: 'Timeout' },
      { title: 'Memory (MB)', cls: 'num', key: 'MemorySize' },
      { title: 'Modified', render: (f) => when(f.LastModified) },
    ], items.map((f) => ({ ...f, __key: f.FunctionName })), { 'data-list': 'functions' }),
  });
  view.replaceChildren(h('h1', {}, 'Functions and workers'),
    h('div.panel', {}, h('h2', {}, 'Connected workers ', h('small', {}, 'of this broker, refreshed every 3 s')), workers), fnList);
  await refresh();
  const timer = setInterval(refresh, 3000);
  return () => clearInterval(timer);
}
