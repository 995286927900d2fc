// console/pages/topics.js - topics and subscriptions: a paged list by name
// prefix (/console/api/topic/list: ListTopics has no name filter), and one
// topic: its subscriptions with their filter policies pretty-printed,
// "which subscriptions would this message match" (/console/api/topic/match,
// the matcher a publish uses, nothing delivered) and publish a test message.
import { sns, xmlMembers, xmlEntries, xmlText, consoleApi, settings } from '../aws.js';
import { h, link, enc, pre, table, pagedList, errorBox, okBox, notice, field } from '../util.js';

export async function renderList(view) {
  view.replaceChildren(h('h1', {}, 'Topics'), pagedList({
    searchLabel: 'topic name prefix',
    load: async (token, prefix, size) => {
      const r = await consoleApi('topic/list', { Prefix: prefix, MaxResults: size, ...(token ? { NextToken: token } : {}) });
      return { items: r.Topics, next: r.NextToken };
    },
    render: (items) => table([
      { title: 'Topic', render: (t) => link('#/topics/' + enc(t.TopicArn), t.Name) },
      { title: 'ARN', render: (t) => h('code', {}, t.TopicArn) },
      { title: 'Subscriptions', cls: 'num', key: 'Subscriptions' },
    ], items.map((t) => ({ ...t, __key: t.Name })), { 'data-list': 'topics' }),
  }));
}

function attributesParams(obj) {
  const p = {};
  Object.entries(obj || {}).forEach(([name, v], i) => {
    const n = i + 1;
    p[`MessageAttributes.entry.${n}.Name`] = name;
    p[`MessageAttributes.entry.${n}.Value.DataType`] = v.DataType || 'String';
    p[`MessageAttributes.entry.${n}.Value.StringValue`] = v.StringValue;
  });
  return p;
}

export async function renderTopic(view, params, topicArn) {
  const attrs = xmlEntries(await sns('GetTopicAttributes', { TopicArn: topicArn }));
  const name = topicArn.split(':').pop();
  const matchState = {}; // SubscriptionArn -> {Matches, Reason}
  const subsBox = h('section');

  const render = async (subs) => {
    const full = await Promise.all(subs.map(async (s) => {
      if (s.SubscriptionArn === 'PendingConfirmation') return { ...s, attrs: {} };
      try { return { ...s, attrs: xmlEntries(await sns('GetSubscriptionAttributes', { SubscriptionArn: s.SubscriptionArn })) }; } catch { return { ...s, attrs: {} }; }
    }));
    return table([
      { title: 'Protocol', key: 'Protocol' },
      { title: 'Endpoint', render: (s) => h('code', {}, s.Endpoint) },
      { title: 'Filter policy', render: (s) => (s.attrs.FilterPolicy ? h('div', {}, h('span.muted', {}, 'scope: ' + (s.attrs.FilterPolicyScope || 'MessageAttributes')), pre(s.attrs.FilterPolicy)) : h('span.muted', {}, 'none: every message')) },
      { title: 'Would match', render: (s) => { const m = matchState[s.SubscriptionArn]; return m ? h('span', {}, h('span.status.' + (m.Matches ? 'match' : 'nomatch'), {}, m.Matches ? 'match' : 'no match'), ' ', h('span.muted', {}, m.Reason)) : h('span.muted', {}, '—'); } },
      { title: 'Subscription', render: (s) => h('code', {}, s.SubscriptionArn.split(':').pop()) },
    ], full.map((s) => ({ ...s, __key: s.SubscriptionArn })), { 'data-list': 'subscriptions' });
  };
  const list = pagedList({
    title: 'Subscriptions',
    load: async (token) => {
      const r = await sns('ListSubscriptionsByTopic', { TopicArn: topicArn, NextToken: token || undefined });
      return { items: xmlMembers(r, 'Subscriptions'), next: xmlText(r, 'NextToken') };
    },
    render,
  });
  subsBox.append(list);

  const panel = h('div.panel', { id: 'publish-panel' });
  const message = h('textarea', { name: 'message', 'aria-label': 'message' }, '{"order_id": "o-1", "total": 42}');
  const mattrs = h('textarea', { name: 'attributes', 'aria-label': 'message attributes' }, '{"kind": {"DataType": "String", "StringValue": "order"}}');
  const parseAttrs = () => (mattrs.value.trim() ? JSON.parse(mattrs.value) : {});
  const matchBtn = h('button', { type: 'button', id: 'match' }, 'Which subscriptions would match?');
  matchBtn.onclick = async () => {
    try {
      const r = await consoleApi('topic/match', { TopicArn: topicArn, Message: message.value, MessageAttributes: parseAttrs() });
      for (const k of Object.keys(matchState)) delete matchState[k];
      for (const s of r.Subscriptions) matchState[s.SubscriptionArn] = s;
      const n = r.Subscriptions.filter((s) => s.Matches).length;
      notice(panel, okBox(`${n} of ${r.Subscriptions.length} subscriptions would receive this message`));
      list.reload();
    } catch (e) { notice(panel, errorBox(e)); }
  };
  const pubBtn = h('button.primary', { type: 'button', id: 'publish' }, 'Publish');
  pubBtn.onclick = async () => {
    try {
      const r = await sns('Publish', { TopicArn: topicArn, Message: message.value, ...attributesParams(parseAttrs()) });
      notice(panel, okBox('published message ' + xmlText(r, 'MessageId')));
    } catch (e) { notice(panel, errorBox(e)); }
  };
  panel.append(h('h2', {}, 'Test a message'), field('Message', message),
    field('Message attributes (SQS shape: name → DataType, StringValue)', mattrs),
    h('div.actions', {}, settings.write ? null : h('span.muted', {}, 'read-only console: publishing will be refused'), matchBtn, pubBtn));

  view.replaceChildren(h('h1', {}, link('#/topics', 'Topics'), ' / ', name, ' ', h('small', {}, topicArn)),
    h('div.cols', {}, h('div', {}, panel), h('div.panel', {}, h('h2', {}, 'Attributes'), pre(attrs))), subsBox);
}
