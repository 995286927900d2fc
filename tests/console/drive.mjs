// tests/console/drive.mjs - drives the web console in Debian's headless
// Chromium with playwright-core (no browser download) and checks what the
// pages show. Run by test_console.py, which creates the data with boto3 and
// checks the broker's side afterwards:
//   node drive.mjs <scenario> <broker-url> <artifact-dir> '<json params>'
// Prints one JSON object (what it saw) on its last line; exits 1 with the
// reason when a check fails. Screenshots go to <artifact-dir>/<page>.png.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [scenario, base, outDir, paramsJson] = process.argv.slice(2);
const P = JSON.parse(paramsJson || '{}');
fs.mkdirSync(outDir, { recursive: true });
const seen = {};
const requests = [];

function check(cond, msg) {
  if (!cond) throw new Error('check failed: ' + msg);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(outDir, name + '.png'), fullPage: true });
}

async function open(page, hash) {
  await page.evaluate(() => { document.getElementById('view').dataset.ready = ''; });
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForSelector('#view[data-ready="1"]', { timeout: 30000 });
}

async function text(page, sel) {
  return (await page.locator(sel).first().innerText({ timeout: 15000 })).trim();
}

const scenarios = {
  // every page with the data test_console.py made
  async pages(page) {
    await open(page, '#/');
    await page.waitForSelector('[data-card="Queues"] .big');
    await page.waitForFunction(() => document.querySelectorAll('.spark polyline').length >= 2);
    seen.overview = {
      queues: await text(page, '[data-card="Queues"] .big'),
      topics: await text(page, '[data-card="Topics"] .big'),
      buses: await text(page, '[data-card="Event buses"] .big'),
      functions: await text(page, '[data-card="Functions"] .big'),
      machines: await text(page, '[data-card="State machines"] .big'),
      stateMachinesCard: await text(page, '[data-card="State machines"]'),
    };
    // some traffic (and some errors) for the sparklines to show, over three samples
    for (let round = 0; round < 3; round++) {
      await page.evaluate(async (n) => {
        const call = (target, body) => fetch('/', { method: 'POST', headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': target, 'X-Drive-Traffic': '1' }, body });
        for (let i = 0; i < n; i++) {
          await call('AmazonSQS.ListQueues', '{}');
          if (i % 4 === 0) await call('AmazonSQS.GetQueueUrl', '{"QueueName":"no-such-queue"}');
        }
      }, 20 + 15 * round);
      await page.waitForTimeout(2100);
    }
    seen.rate = await text(page, '[data-card="throughput"] .big');
    seen.errorRate = await text(page, '[data-card="errors"] .big');
    seen.sparkPoints = await page.$eval('.spark polyline', (p) => p.getAttribute('points').split(' ').length);
    seen.sparkHeights = await page.$$eval('.spark polyline', (ps) => ps.map((p) => new Set(p.getAttribute('points').split(' ').map((xy) => xy.split(',')[1])).size));
    await shot(page, 'overview');

    await open(page, '#/queues');
    await page.waitForSelector('table[data-list="queues"] tbody tr');
    seen.queues = await page.$$eval('table[data-list="queues"] tbody tr', (rows) => rows.map((r) => Array.from(r.cells, (c) => c.innerText.trim())));
    await shot(page, 'queues');

    await open(page, '#/queues/' + encodeURIComponent(P.queue));
    await page.click('#peek');
    await page.waitForSelector('table[data-list="messages"] tbody tr');
    seen.peek = await page.$$eval('table[data-list="messages"] tbody tr', (rows) => rows.map((r) => Array.from(r.cells, (c) => c.innerText.trim())));
    seen.queueCounts = await page.$$eval('[data-count]', (els) => Object.fromEntries(els.map((e) => [e.dataset.count, e.querySelector('.big').innerText.trim()])));
    // read-only: the broker refuses the console's SendMessage
    await page.click('#send');
    await page.waitForSelector('#send-panel .error, #send-panel .ok');
    seen.sendRefused = await text(page, '#send-panel .error, #send-panel .ok');
    await shot(page, 'queue');

    await open(page, '#/queues/' + encodeURIComponent(P.dlq));
    await page.waitForSelector('#redrive-panel');
    seen.dlqPanel = await text(page, '#redrive-panel');

    await open(page, '#/topics');
    await page.waitForSelector('table[data-list="topics"] tbody tr');
    seen.topics = await page.$$eval('table[data-list="topics"] tbody tr', (rows) => rows.map((r) => Array.from(r.cells, (c) => c.innerText.trim())));
    await shot(page, 'topics');
    await open(page, '#/topics/' + encodeURIComponent(P.topicArn));
    await page.waitForSelector('table[data-list="subscriptions"] tbody tr');
    await page.fill('textarea[name="attributes"]', JSON.stringify({ kind: { DataType: 'String', StringValue: 'order' } }));
    await page.click('#match');
    await page.waitForSelector('#publish-panel .ok, #publish-panel .error');
    await page.waitForFunction(() => document.querySelectorAll('table[data-list="subscriptions"] .status').length > 0);
    seen.match = await text(page, '#publish-panel .ok, #publish-panel .error');
    seen.subscriptions = await page.$$eval('table[data-list="subscriptions"] tbody tr', (rows) => rows.map((r) => Array.from(r.cells, (c) => c.innerText.trim())));
    await shot(page, 'topic');

    await open(page, '#/buses');
    await page.waitForSelector('table[data-list="buses"] tbody tr');
    seen.buses = await page.$$eval('table[data-list="buses"] tbody tr', (rows) => rows.map((r) => r.cells[0].innerText.trim()));
    await page.waitForSelector('table[data-list="archives"]');
    seen.archives = await page.$$eval('table[data-list="archives"] tbody tr', (rows) => rows.map((r) => r.cells[0].innerText.trim()));
    await shot(page, 'buses');
    await open(page, '#/buses/' + encodeURIComponent(P.bus));
    await page.waitForSelector('table[data-list="rules"] tbody tr');
    seen.rules = await page.$$eval('table[data-list="rules"] tbody tr', (rows) => rows.map((r) => Array.from(r.cells, (c) => c.innerText.trim())));
    await open(page, '#/buses/' + encodeURIComponent(P.bus) + '/rules/' + encodeURIComponent(P.rule));
    await page.waitForSelector('table[data-list="targets"]');
    seen.targets = await text(page, 'table[data-list="targets"]');
    await page.fill('textarea[name="event"]', JSON.stringify(P.matchingEvent));
    await page.click('#test');
    await page.waitForSelector('[data-result]');
    seen.testMatching = await page.getAttribute('[data-result]', 'data-result');
    await shot(page, 'rule');
    await page.fill('textarea[name="event"]', JSON.stringify(P.otherEvent));
    await page.click('#test');
    await page.waitForSelector('[data-result="false"]');
    seen.testOther = await page.getAttribute('[data-result]', 'data-result');

    await open(page, '#/functions');
    await page.waitForSelector('table[data-list="workers"] tbody tr');
    await page.waitForSelector('table[data-list="functions"] tbody tr');
    seen.workers = await text(page, 'table[data-list="workers"]');
    seen.functions = await page.$$eval('table[data-list="functions"] tbody tr', (rows) => rows.map((r) => r.cells[0].innerText.trim()));
    await shot(page, 'functions');

    await open(page, '#/machines');
    await page.waitForSelector('table[data-list="machines"] tbody tr');
    seen.machines = await page.$$eval('table[data-list="machines"] tbody tr', (rows) => rows.map((r) => r.cells[0].innerText.trim()));
    await shot(page, 'machines');
    await open(page, '#/machines/' + encodeURIComponent(P.machineArn));
    await page.waitForSelector('#graph svg');
    seen.graphStates = await page.$$eval('#graph [data-state]', (els) => els.map((e) => e.dataset.state));
    seen.graphEdges = await page.$$eval('#graph path.edge', (els) => els.map((e) => `${e.dataset.from}->${e.dataset.to}:${e.getAttribute('class')}`));
    seen.graphTerminals = await page.$$eval('#graph [data-terminal]', (els) => els.map((e) => e.dataset.terminal));
    // nesting: branch states are inside their Parallel state's group
    seen.nested = await page.$$eval('#graph [data-state]', (els) => Object.fromEntries(els.map((e) => [e.dataset.state, e.parentElement.closest('[data-state]') ? e.parentElement.closest('[data-state]').dataset.state : null])));
    // no two states overlap in the drawing
    seen.overlaps = await page.$$eval('#graph [data-state]:not(.container) > rect', (rects) => {
      const bs = rects.map((r) => r.getBoundingClientRect());
      let n = 0;
      for (let i = 0; i < bs.length; i++) for (let j = i + 1; j < bs.length; j++) {
        const a = bs[i], b = bs[j];
        if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) n++;
      }
      return n;
    });
    await shot(page, 'machine');

    await open(page, '#/machines/' + encodeURIComponent(P.loopMachineArn));
    await page.waitForSelector('#graph svg');
    seen.loopStates = await page.$$eval('#graph [data-state]', (els) => els.map((e) => e.dataset.state));
    seen.loopNested = await page.$$eval('#graph [data-state]', (els) => Object.fromEntries(els.map((e) => [e.dataset.state, e.parentElement.closest('[data-state]') ? e.parentElement.closest('[data-state]').dataset.state : null])));
    seen.loopBackEdges = await page.$$eval('#graph path.edge[data-back]', (els) => els.map((e) => `${e.dataset.from}->${e.dataset.to}`));
    await open(page, '#/execution/' + encodeURIComponent(P.loopExecutionArn));
    await page.waitForSelector('#graph svg');
    seen.loopStatus = await page.$$eval('#graph [data-state]', (els) => Object.fromEntries(els.map((e) => [e.dataset.state, e.dataset.status])));
    await shot(page, 'execution-map-loop');

    await open(page, '#/executions/' + encodeURIComponent(P.machineArn) + '?status=FAILED');
    await page.waitForSelector('table[data-list="executions"] tbody tr');
    seen.failedExecutions = await page.$$eval('table[data-list="executions"] tbody tr', (rows) => rows.map((r) => Array.from(r.cells, (c) => c.innerText.trim())));
    seen.chips = await page.$$eval('.chips a', (els) => els.map((e) => e.innerText.trim()));
    await shot(page, 'executions');

    await open(page, '#/execution/' + encodeURIComponent(P.failedExecutionArn));
    await page.waitForSelector('#graph svg');
    seen.execStatus = await text(page, '#exec-status');
    seen.execError = await text(page, '#exec-error');
    seen.stateStatus = await page.$$eval('#graph [data-state]', (els) => Object.fromEntries(els.map((e) => [e.dataset.state, e.dataset.status])));
    seen.paymentFill = await page.$eval(`#graph [data-state="${P.paymentState}"] > rect`, (r) => getComputedStyle(r).fill);
    seen.paymentText = await page.$eval(`#graph [data-state="${P.paymentState}"]`, (g) => g.textContent);
    seen.stepPanel = await text(page, '#step');
    seen.timeline = await page.$$eval('#timeline li', (els) => els.map((e) => e.dataset.event));
    await shot(page, 'execution');
    // read-only: the broker refuses the console's RedriveExecution
    await page.click('#redrive');
    await page.waitForSelector('.panel .error:not(#exec-error), .panel .ok');
    seen.redriveRefused = await text(page, '.panel .error:not(#exec-error), .panel .ok');
  },

  // a DLQ redrive started from the console, watched until it completes
  async redrive(page) {
    if (P.akid) {
      await page.waitForSelector('#cred-dialog[open]');
      await page.fill('#cred-form input[name="akid"]', P.akid);
      await page.fill('#cred-form input[name="secret"]', P.secret);
      await page.click('#cred-form button[value="save"]');
    }
    await open(page, '#/queues/' + encodeURIComponent(P.dlq));
    await page.waitForSelector('[data-count="Visible"]');
    seen.before = await text(page, '[data-count="Visible"] .big');
    await shot(page, 'dlq-before');
    await page.click('#redrive');
    await page.waitForFunction(() => {
      const row = document.querySelector('table[data-list="move-tasks"] tbody tr');
      return row && /COMPLETED|FAILED/.test(row.innerText);
    }, null, { timeout: 60000 });
    await page.waitForFunction(() => document.querySelector('[data-count="Visible"] .big').innerText.trim() === '0', null, { timeout: 30000 });
    seen.task = await text(page, 'table[data-list="move-tasks"] tbody tr');
    seen.after = await text(page, '[data-count="Visible"] .big');
    await shot(page, 'dlq-redrive');
    // stop a running execution, then redrive it
    await open(page, '#/execution/' + encodeURIComponent(P.executionArn));
    seen.waitingState = await page.getAttribute('#graph [data-state="Nap"]', 'data-status');
    await page.click('#stop');
    await page.waitForFunction(() => document.querySelector('#exec-status') && document.querySelector('#exec-status').innerText.trim() === 'ABORTED', null, { timeout: 30000 });
    seen.afterStop = await text(page, '#exec-status');
    await page.click('#redrive');
    await page.waitForFunction(() => document.querySelector('#exec-status') && /RUNNING|SUCCEEDED/.test(document.querySelector('#exec-status').innerText), null, { timeout: 30000 });
    seen.afterRedrive = await text(page, '#exec-status');
  },

  // 10,000 queues and 10,000 executions: one page at a time
  async scale(page) {
    await open(page, '#/queues');
    await page.waitForSelector('table[data-list="queues"] tbody tr');
    seen.firstPage = await page.$$eval('table[data-list="queues"] tbody tr', (rows) => rows.map((r) => r.cells[0].innerText.trim()));
    const t0 = Date.now();
    await page.click('text=next ▶');
    await page.waitForFunction((first) => document.querySelector('table[data-list="queues"] tbody tr td').innerText.trim() !== first, seen.firstPage[0]);
    seen.nextPageMs = Date.now() - t0;
    seen.secondPage = await page.$$eval('table[data-list="queues"] tbody tr', (rows) => rows.map((r) => r.cells[0].innerText.trim()));
    await page.fill('input[type="search"]', P.queuePrefix);
    await page.waitForFunction((p) => {
      const cells = Array.from(document.querySelectorAll('table[data-list="queues"] tbody tr td:first-child'));
      return cells.length && cells.every((c) => c.innerText.trim().startsWith(p));
    }, P.queuePrefix);
    seen.searched = await page.$$eval('table[data-list="queues"] tbody tr', (rows) => rows.map((r) => r.cells[0].innerText.trim()));
    await shot(page, 'queues-10000');
    const t1 = Date.now();
    await open(page, '#/executions/' + encodeURIComponent(P.machineArn));
    await page.waitForSelector('table[data-list="executions"] tbody tr');
    seen.executionsMs = Date.now() - t1;
    seen.executionRows = await page.locator('table[data-list="executions"] tbody tr').count();
    seen.chips = await page.$$eval('.chips a', (els) => els.map((e) => e.innerText.trim()));
    seen.domNodes = await page.evaluate(() => document.getElementsByTagName('*').length);
    await shot(page, 'executions-10000');
  },
};

async function main() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-console-chromium-'));
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 900 },
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => {
    const hd = r.headers();
    if (r.method() !== 'POST' || hd['x-drive-traffic']) return; // the page's own requests only
    requests.push({ url: r.url(), target: hd['x-amz-target'] || '', body: r.postData() || '',
      signed: /^AWS4-HMAC-SHA256 /.test(hd.authorization || ''), console: hd['x-switchyard-console'] === '1' });
  });
  try {
    await page.goto(base + '/console/');
    if (!P.akid) await page.waitForSelector('#view[data-ready="1"]', { timeout: 30000 });
    await scenarios[scenario](page);
    check(errors.length === 0, 'page errors: ' + errors.join('; '));
    seen.requests = requests;
    console.log(JSON.stringify(seen));
  } catch (e) {
    await shot(page, 'failure-' + scenario).catch(() => {});
    console.error(e.stack || String(e));
    console.error('seen so far: ' + JSON.stringify(seen).slice(0, 4000));
    console.error('page errors: ' + errors.join('; '));
    process.exitCode = 1;
  } finally {
    await ctx.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}
main();
