// console/pages/queues.js - queues: a paged list (ListQueues with a name
// prefix) with counts and oldest-message age for the page shown
// (/console/api/queue/stats), and one queue: attributes, peek (no receive),
// send a test message, and DLQ redrive (StartMessageMoveTask, watched with
// ListMessageMoveTasks).
import { sqs, consoleApi, settings } from '../aws.js';
import { h, link, enc, age, when, pre, table, pagedList, errorBox, okBox, notice, field } from '../util.js';

const nameOf = (url) => url.split('/').pop();
const arnName = (arn) => (arn ? arn.split(':').pop() : '');

function countsTable(names, stats) {
  return table([
    { title: 'Queue', render: (r) => link('#/queues/' + enc(r.name), r.name) },
    { title: 'Visible', cls: 'num', render: (r) => r.s.Visible },
    { title: 'In flight', cls: 'num', render: (r) => r.s.InFlight },
    { title: 'Delayed', cls: 'num', render: (r) => r.s.Delayed },
    { title: 'Oldest message', cls: 'num', render: (r) => (r.s.Visible + r.s.InFlight + r.s.Delayed ? age(r.s.OldestAgeSeconds) : '—') },
    { title: 'Dead-letter queue', render: (r) => (r.s.DeadLetterTargetArn ? h('span', {}, link('#/queues/' + enc(arnName(r.s.DeadLetterTargetArn)), arnName(r.s.DeadLetterTargetArn)), h('span.muted', {}, ` after ${r.s.MaxReceiveCount} receives`)) : '') },
  ], names.map((n) => ({ name: n, __key: n, s: stats[n] || { Visible: '?', InFlight: '?', Delayed: '?' } })), { 'data-list': 'queues' });
}

export async function renderList(view) {
  view.replaceChildren(h('h1', {}, 'Queues'), pagedList({
    searchLabel: 'queue name prefix',
    pageSize: 25,
    load: async (token, prefix, size) => {
      const r = await sqs('ListQueues', { MaxResults: size, ...(prefix ? { QueueNamePrefix: prefix } : {}), ...(token ? { NextToken: token } : {}) });
      return { items: (r.QueueUrls || []).map(nameOf), next: r.NextToken };
    },
    render: async (names) => {
      const stats = names.length ? (await consoleApi('queue/stats', { QueueNames: names })).Queues : {};
      return countsTable(names, stats);
    },
  }));
}

function messagesTable(msgs) {
  return table([
    { title: 'Message id', render: (m) => h('code', {}, m.MessageId) },
    { title: 'State', render: (m) => m.State + (m.VisibleInSeconds ? ` (${m.VisibleInSeconds} s)` : '') },
    { title: 'Receives', cls: 'num', key: 'ReceiveCount' },
    { title: 'Sent', render: (m) => when(m.SentTimestamp) },
    { title: 'Body', render: (m) => h('div', {}, pre(m.Body), m.BodyLength > m.Body.length ? h('span.muted', {}, `(${m.BodyLength} bytes, first 4 KiB shown)`) : null, m.MessageAttributes ? pre(m.MessageAttributes) : null) },
  ], msgs, { 'data-list': 'messages' });
}

export async function renderQueue(view, params, name) {
  const { QueueUrl: url } = await sqs('GetQueueUrl', { QueueName: name });
  const [attrs, sources] = await Promise.all([
    sqs('GetQueueAttributes', { QueueUrl: url, AttributeNames: ['All'] }),
    sqs('ListDeadLetterSourceQueues', { QueueUrl: url, MaxResults: 20 }).catch(() => ({ queueUrls: [] })),
  ]);
  const a = attrs.Attributes || {};
  const statsBox = h('div');
  async function refreshStats() {
    const s = (await consoleApi('queue/stats', { QueueNames: [name] })).Queues[name];
    statsBox.replaceChildren(h('div.cards', {},
      ...[['Visible', s.Visible], ['In flight', s.InFlight], ['Delayed', s.Delayed], ['Oldest message', s.Visible + s.InFlight + s.Delayed ? age(s.OldestAgeSeconds) : '—']]
        .map(([k, v]) => h('div.card', { 'data-count': k }, h('h3', {}, k), h('div.big', {}, String(v))))));
  }
  await refreshStats();

  // peek
  const peekBox = h('div');
  const peekBtn = h('button', { type: 'button', id: 'peek' }, 'Peek at messages');
  peekBtn.onclick = async () => {
    try {
      const r = await consoleApi('queue/peek', { QueueName: name, MaxMessages: 20 });
      peekBox.replaceChildren(h('p.muted', {}, 'Oldest first; peeking does not receive, lease or count anything.'), messagesTable(r.Messages));
    } catch (e) { peekBox.replaceChildren(errorBox(e)); }
  };

  // send a test message
  const sendPanel = h('div.panel', { id: 'send-panel' });
  const body = h('textarea', { name: 'body', 'aria-label': 'message body' }, '{"hello": "from the Switchyard console"}');
  const group = a.FifoQueue === 'true' ? h('input', { name: 'group', value: 'console' }) : null;
  const sendBtn = h('button.primary', { type: 'button', id: 'send' }, 'Send message');
  sendBtn.onclick = async () => {
    try {
      const input = { QueueUrl: url, MessageBody: body.value };
      if (group) { input.MessageGroupId = group.value; input.MessageDeduplicationId = String(Date.now()); }
      const r = await sqs('SendMessage', input);
      notice(sendPanel, okBox('sent message ' + r.MessageId));
      await refreshStats();
    } catch (e) { notice(sendPanel, errorBox(e)); }
  };
  sendPanel.append(...[h('h2', {}, 'Send a test message'), field('Body', body), group ? field('Message group id', group) : null,
    h('div.actions', {}, settings.write ? null : h('span.muted', {}, 'read-only console: the broker will refuse'), sendBtn)].filter(Boolean));

  // DLQ redrive (this queue is the dead-letter queue of others)
  const srcNames = (sources.queueUrls || []).map(nameOf);
  const redrive = h('div.panel', { id: 'redrive-panel' });
  let timer = null;
  if (srcNames.length) {
    const tasksBox = h('div');
    const startBtn = h('button.primary', { type: 'button', id: 'redrive' }, 'Start DLQ redrive');
    async function watch() {
      try {
        const r = await sqs('ListMessageMoveTasks', { SourceArn: a.QueueArn, MaxResults: 10 });
        const rows = r.Results || [];
        tasksBox.replaceChildren(table([
          { title: 'Status', render: (t) => h('span.status.' + t.Status, {}, t.Status) },
          { title: 'Moved', cls: 'num', key: 'ApproximateNumberOfMessagesMoved' },
          { title: 'To move', cls: 'num', key: 'ApproximateNumberOfMessagesToMove' },
          { title: 'Destination', render: (t) => (t.DestinationArn ? arnName(t.DestinationArn) : 'the source queues') },
          { title: 'Started', render: (t) => when(t.StartedTimestamp) },
          { title: 'Failure', key: 'FailureReason' },
        ], rows, { 'data-list': 'move-tasks' }));
        await refreshStats();
        if (!rows.some((t) => t.Status === 'RUNNING' || t.Status === 'CANCELLING')) { clearInterval(timer); timer = null; }
      } catch (e) { tasksBox.replaceChildren(errorBox(e)); }
    }
    startBtn.onclick = async () => {
      try {
        const r = await sqs('StartMessageMoveTask', { SourceArn: a.QueueArn });
        notice(redrive, okBox('redrive started: ' + r.TaskHandle.slice(0, 24) + '…'));
        if (!timer) timer = setInterval(watch, 1000);
        await watch();
      } catch (e) { notice(redrive, errorBox(e)); }
    };
    redrive.append(h('h2', {}, 'Dead-letter queue of ', srcNames.map((n, i) => [i ? ', ' : '', link('#/queues/' + enc(n), n)])),
      h('p.muted', {}, 'A redrive moves the messages back to the queues they came from (StartMessageMoveTask).'),
      h('div.actions', {}, startBtn), tasksBox);
    await watch();
  } else {
    redrive.append(h('h2', {}, 'Dead-letter queue'), a.RedrivePolicy
      ? h('p', {}, 'Failed messages move to ', link('#/queues/' + enc(arnName(JSON.parse(a.RedrivePolicy).deadLetterTargetArn)), arnName(JSON.parse(a.RedrivePolicy).deadLetterTargetArn)))
      : h('p.muted', {}, 'No redrive policy, and no queue sends its failures here.'));
  }

  view.replaceChildren(
    h('h1', {}, link('#/queues', 'Queues'), ' / ', name, ' ', h('small', {}, a.QueueArn)),
    statsBox,
    h('div.cols', {},
      h('div', {}, h('div.panel', {}, h('div.toolbar', {}, h('h2', {}, 'Messages'), h('span.grow'), peekBtn), peekBox), sendPanel),
      h('div', {}, redrive, h('div.panel', {}, h('h2', {}, 'Attributes'), pre(a)))));
  return () => { if (timer) clearInterval(timer); };
}
