// console/pages/buses.js - event buses, their rules (pattern, targets,
// "test an event against this rule" through TestEventPattern), archives and
// replays. Lists page through ListEventBuses / ListRules with NamePrefix.
import { events, settings } from '../aws.js';
import { h, link, enc, when, pre, table, pagedList, errorBox, okBox, notice, field } from '../util.js';

function archivesPanel(busArn) {
  const box = h('div.panel', { id: 'archives' }, h('h2', {}, 'Archives and replays'));
  (async () => {
    try {
      const [a, r] = await Promise.all([
        events('ListArchives', busArn ? { EventSourceArn: busArn } : {}),
        events('ListReplays', {}),
      ]);
      const archives = a.Archives || [];
      const arns = new Set(archives.map((x) => x.ArchiveArn || ''));
      const replays = (r.Replays || []).filter((x) => !busArn || arns.has(x.EventSourceArn) || archives.some((ar) => (x.EventSourceArn || '').endsWith('/' + ar.ArchiveName)));
      box.append(table([
        { title: 'Archive', key: 'ArchiveName' },
        { title: 'State', render: (x) => h('span.status', {}, x.State) },
        { title: 'Events', cls: 'num', key: 'EventCount' },
        { title: 'Retention (days)', cls: 'num', render: (x) => x.RetentionDays || '∞' },
        { title: 'Created', render: (x) => when(x.CreationTime) },
        { title: '', render: (x) => replayButton(x, busArn, box) },
      ], archives, { 'data-list': 'archives' }),
      h('h2', {}, 'Replays'),
      table([
        { title: 'Replay', key: 'ReplayName' },
        { title: 'State', render: (x) => h('span.status.' + x.State, {}, x.State) },
        { title: 'From archive', render: (x) => (x.EventSourceArn || '').split('/').pop() },
        { title: 'Events from', render: (x) => when(x.EventStartTime) },
        { title: 'to', render: (x) => when(x.EventEndTime) },
        { title: 'Started', render: (x) => when(x.ReplayStartTime) },
      ], replays, { 'data-list': 'replays' }));
    } catch (e) { box.append(errorBox(e)); }
  })();
  return box;
}

function replayButton(archive, busArn, box) {
  if (!busArn) return '';
  const b = h('button', { type: 'button' }, 'Replay last hour');
  b.onclick = async () => {
    try {
      const now = Date.now() / 1000;
      const name = archive.ArchiveName.slice(0, 40) + '-' + Math.floor(now);
      await events('StartReplay', { ReplayName: name, EventSourceArn: archive.ArchiveArn || busArn.replace(/event-bus\/.*/, 'archive/' + archive.ArchiveName),
        EventStartTime: now - 3600, EventEndTime: now, Destination: { Arn: busArn } });
      notice(box, okBox('replay ' + name + ' started'));
    } catch (e) { notice(box, errorBox(e)); }
  };
  return b;
}

export async function renderList(view) {
  view.replaceChildren(h('h1', {}, 'Event buses'), pagedList({
    searchLabel: 'bus name prefix',
    load: async (token, prefix, size) => {
      const r = await events('ListEventBuses', { Limit: size, ...(prefix ? { NamePrefix: prefix } : {}), ...(token ? { NextToken: token } : {}) });
      return { items: r.EventBuses || [], next: r.NextToken };
    },
    render: (items) => table([
      { title: 'Event bus', render: (b) => link('#/buses/' + enc(b.Name), b.Name) },
      { title: 'ARN', render: (b) => h('code', {}, b.Arn) },
      { title: 'Description', key: 'Description' },
    ], items.map((b) => ({ ...b, __key: b.Name })), { 'data-list': 'buses' }),
  }), archivesPanel(null));
}

export async function renderBus(view, params, bus) {
  const d = await events('DescribeEventBus', { Name: bus });
  view.replaceChildren(h('h1', {}, link('#/buses', 'Event buses'), ' / ', bus, ' ', h('small', {}, d.Arn)), pagedList({
    title: 'Rules',
    searchLabel: 'rule name prefix',
    load: async (token, prefix, size) => {
      const r = await events('ListRules', { EventBusName: bus, Limit: size, ...(prefix ? { NamePrefix: prefix } : {}), ...(token ? { NextToken: token } : {}) });
      return { items: r.Rules || [], next: r.NextToken };
    },
    render: (items) => table([
      { title: 'Rule', render: (r) => link('#/buses/' + enc(bus) + '/rules/' + enc(r.Name), r.Name) },
      { title: 'State', render: (r) => h('span.status' + (r.State === 'ENABLED' ? '.SUCCEEDED' : ''), {}, r.State) },
      { title: 'Pattern or schedule', render: (r) => (r.EventPattern ? pre(r.EventPattern) : h('code', {}, r.ScheduleExpression || '')) },
      { title: 'Description', key: 'Description' },
    ], items.map((r) => ({ ...r, __key: r.Name })), { 'data-list': 'rules' }),
  }), archivesPanel(d.Arn));
}

export async function renderRule(view, params, bus, rule) {
  const [r, t] = await Promise.all([events('DescribeRule', { Name: rule, EventBusName: bus }),
    events('ListTargetsByRule', { Rule: rule, EventBusName: bus })]);
  const panel = h('div.panel', { id: 'test-event' });
  const sample = {
    version: '0', id: '00000000-0000-0000-0000-000000000001', 'detail-type': 'OrderDelivered', source: 'food.delivery',
    account: settings.account, time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), region: settings.region, resources: [],
    detail: { order_id: 'o-1', total: 42 },
  };
  const ev = h('textarea', { name: 'event', 'aria-label': 'event' }, JSON.stringify(sample, null, 2));
  ev.rows = 14;
  const result = h('div');
  const btn = h('button.primary', { type: 'button', id: 'test' }, 'Test against this rule');
  btn.onclick = async () => {
    try {
      const x = await events('TestEventPattern', { EventPattern: r.EventPattern, Event: ev.value });
      result.replaceChildren(h('p', { 'data-result': String(x.Result) }, h('span.status.' + (x.Result ? 'match' : 'nomatch'), {}, x.Result ? 'matches' : 'does not match'), ' the rule\'s pattern'));
    } catch (e) { result.replaceChildren(errorBox(e)); }
  };
  panel.append(h('h2', {}, 'Test an event'), field('Event', ev), h('div.actions', {}, btn), result);
  view.replaceChildren(h('h1', {}, link('#/buses', 'Event buses'), ' / ', link('#/buses/' + enc(bus), bus), ' / ', rule, ' ', h('small', {}, r.State)),
    h('div.cols', {},
      h('div', {}, h('div.panel', {}, h('h2', {}, r.EventPattern ? 'Event pattern' : 'Schedule'), r.EventPattern ? pre(r.EventPattern) : h('code', {}, r.ScheduleExpression)),
        h('div.panel', {}, h('h2', {}, 'Targets'), table([
          { title: 'Id', key: 'Id' },
          { title: 'Target', render: (x) => h('code', {}, x.Arn) },
          { title: 'Input', render: (x) => (x.InputTransformer ? pre(x.InputTransformer) : x.Input ? pre(x.Input) : x.InputPath ? h('code', {}, x.InputPath) : h('span.muted', {}, 'the event')) },
        ], t.Targets || [], { 'data-list': 'targets' }))),
      panel));
}
