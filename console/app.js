// console/app.js - the shell: settings, credentials dialog, hash router.
// Pages live in pages/*.js; each exports render(view, params) that fills the
// view and may return a function to call when the page is left (timers).
import { loadSettings, settings, credentials, setCredentials } from './aws.js';
import { h, errorBox } from './util.js';
import * as overview from './pages/overview.js';
import * as queues from './pages/queues.js';
import * as topics from './pages/topics.js';
import * as buses from './pages/buses.js';
import * as functions from './pages/functions.js';
import * as machines from './pages/machines.js';
import * as executions from './pages/executions.js';

// #/path/a/b?x=y -> route table: [pattern, nav, page]
const routes = [
  [/^\/?$/, 'overview', overview.render],
  [/^\/queues$/, 'queues', queues.renderList],
  [/^\/queues\/(.+)$/, 'queues', queues.renderQueue],
  [/^\/topics$/, 'topics', topics.renderList],
  [/^\/topics\/(.+)$/, 'topics', topics.renderTopic],
  [/^\/buses$/, 'buses', buses.renderList],
  [/^\/buses\/([^/]+)$/, 'buses', buses.renderBus],
  [/^\/buses\/([^/]+)\/rules\/(.+)$/, 'buses', buses.renderRule],
  [/^\/functions$/, 'functions', functions.render],
  [/^\/machines$/, 'machines', machines.renderList],
  [/^\/machines\/(.+)$/, 'machines', machines.renderMachine],
  [/^\/executions\/(.+)$/, 'machines', executions.renderList],
  [/^\/execution\/(.+)$/, 'machines', executions.renderExecution],
];

let leave = null;
async function route() {
  const view = document.getElementById('view');
  if (leave) { try { leave(); } catch { /* ignore */ } leave = null; }
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  const params = new URLSearchParams(qs || '');
  for (const [re, nav, page] of routes) {
    const m = path.match(re);
    if (!m) continue;
    document.querySelectorAll('header nav a').forEach((a) => a.classList.toggle('active', a.dataset.nav === nav));
    view.replaceChildren(h('p.muted', {}, 'loading…'));
    view.dataset.page = nav;
    try {
      const args = m.slice(1).map(decodeURIComponent);
      leave = await page(view, params, ...args);
    } catch (e) {
      view.replaceChildren(errorBox(e));
      if (e && (e.status === 403 || e.code === 'InvalidClientTokenId' || e.code === 'SignatureDoesNotMatch' ||
                e.code === 'MissingAuthenticationToken' || e.code === 'IncompleteSignature')) askCredentials();
    }
    view.dataset.ready = '1';
    return;
  }
  view.replaceChildren(errorBox(new Error('no such page: ' + path)));
}

function askCredentials() {
  const dlg = document.getElementById('cred-dialog');
  const form = document.getElementById('cred-form');
  const c = credentials();
  form.akid.value = c ? c.akid : '';
  form.secret.value = '';
  if (!dlg.open) dlg.showModal();
}

function setupCredentials() {
  const dlg = document.getElementById('cred-dialog');
  const form = document.getElementById('cred-form');
  document.getElementById('creds').onclick = askCredentials;
  dlg.addEventListener('close', () => {
    if (dlg.returnValue === 'save') setCredentials(form.akid.value.trim(), form.secret.value);
    else if (dlg.returnValue === 'clear') setCredentials(null, null);
    route();
  });
}

async function main() {
  try { await loadSettings(); } catch { /* defaults */ }
  const mode = document.getElementById('mode');
  mode.textContent = settings.write ? 'writes enabled' : 'read-only';
  mode.classList.toggle('write', settings.write);
  mode.title = settings.write ? 'the broker runs with --console-write=1' : 'start the broker with --console-write=1 to send, publish, redrive or stop from here';
  document.getElementById('creds').hidden = !settings.signed;
  setupCredentials();
  window.addEventListener('hashchange', route);
  if (settings.signed && !credentials()) askCredentials();
  else route();
}
main();
