// e2e.mjs -- the console's end-to-end test in headless Chromium, run by
// tests/integration/0075-console.sh against a real stack (batond, a worker,
// baton-api serving the bundled console).  Debian's /usr/bin/chromium is
// driven by playwright-core (installed by 0075 into the build folder; its
// folder is PW_DIR).  It proves, through the page only:
//   1. the API's 401 makes the console ask for the token, which it keeps in
//      sessionStorage;
//   2. the approval-gate run's page shows it RUNNING, waiting for the signal
//      `approve`, with WaitForApproval highlighted on the graph;
//   3. the Approve button sends the signal and the page then shows the run
//      SUCCEEDED, the end of the graph reached, the wait's duration in the
//      history;
//   4. the list shows the run and its filters work; the DLQ page shows the
//      records' payloads decoded (JSON, hex) and replays one; the queue
//      pages show the default queue's lag and backlog;
//   5. no request left loopback, no script error.
// Environment: CONSOLE_URL (http://127.0.0.1:PORT), RUN_ID, API_TOKEN,
// PW_DIR, SHOT_DIR (screenshots console-{runs,run,dlq,queue}.png), CHROMIUM
// (browser.mjs).
import {env, openConsole} from './browser.mjs';

const runId = env('RUN_ID');
const b = await openConsole();
const {page, base, ok, check} = b;
try {
  // 1. The token prompt.
  await b.login(`#/runs/${encodeURIComponent(runId)}`);

  // 2. Waiting, and where.
  await page.waitForSelector('svg.graph .node.current[data-state="WaitForApproval"]');
  const status = await page.textContent('[data-testid=run-status]');
  check(status.trim() === 'RUNNING', `the run is shown RUNNING (${status.trim()})`);
  check((await page.textContent('[data-testid=run-position]')).trim() === 'WaitForApproval', 'its position is WaitForApproval');
  check((await page.textContent('.actions .approve')).includes('approve'), 'the page says it waits for the signal approve');
  check(await page.isVisible('svg.graph .node.visited[data-state="Prepare"]'), 'the task before the wait is marked done on the graph');
  await page.waitForSelector('[data-testid=run-history] .segment[data-state="Prepare"]');
  await b.shot('console-run.png', true);

  // 3. Approve on the page, see it finish.
  await page.click('button[data-action=approve]');
  await page.waitForSelector('[data-testid=run-status] [data-status=SUCCEEDED]', {timeout: 60000});
  ok('after Approve the run is shown SUCCEEDED');
  await page.waitForSelector('svg.graph .terminal-end.reached');
  ok('the graph shows the end reached');
  const state = JSON.parse(await page.textContent('[data-testid=run-state]'));
  check(state && state.approval && state.approval.by === 'console', 'the final state holds the console\'s approval payload');
  await page.waitForSelector('[data-testid=run-history] .segment[data-state="WaitForApproval"]');
  const dur = await page.textContent('[data-testid=run-history] .segment[data-state="WaitForApproval"] .seg-dur');
  check(/\d/.test(dur) && !dur.includes('so far'), `the history shows how long the wait took (${dur.trim()})`);
  check(await page.isHidden('button[data-action=approve]'), 'no Approve button on a closed run');

  // 4a. The list.
  await page.goto(`${base}/#/runs`);
  const row = `tr[data-id="${runId}"]`;
  await page.waitForSelector(row);
  check((await page.textContent(`${row} [data-status]`)).trim() === 'SUCCEEDED', 'the list shows the run SUCCEEDED');
  await page.fill('input[name=prefix]', 'no-such-prefix-');
  await page.waitForSelector(row, {state: 'detached'});
  ok('the id-prefix filter hides it');
  await page.fill('input[name=prefix]', '');
  await page.selectOption('select[name=status]', 'RUNNING');
  await page.waitForSelector(row, {state: 'detached'});
  await page.waitForSelector('tr[data-id] [data-status=RUNNING]');
  ok('the status filter (RUNNING) leaves it out and shows the runs still open');
  await page.selectOption('select[name=status]', '');
  await page.waitForSelector(row);
  await b.shot('console-runs.png');

  // 4b. The DLQ: a record, replayed from the page.
  await page.goto(`${base}/#/dlq`);
  await page.waitForSelector('button.replay');
  const before = await page.locator('button.replay').count();
  const payloads = (await page.locator('pre.payload').allTextContents()).join('\n');
  check(payloads.includes('"workflow_type": "t75-unknown"'), 'the DLQ page shows the JSON record decoded');
  check(/binary, \d+ bytes:\n00 ff 01 20/.test(payloads), 'and the bytes that are no envelope as hex');
  await b.shot('console-dlq.png');
  await page.locator('button.replay').first().click();
  await page.waitForSelector('.notice:text-matches("replayed")');
  ok(`the DLQ page lists ${before} record(s) and Replay is accepted`);

  // 4c. The queues.
  await page.goto(`${base}/#/queues`);
  await page.waitForSelector('tr[data-queue="default"]');
  await page.click('tr[data-queue="default"] a');
  await page.waitForSelector('[data-field=lag]');
  await page.waitForTimeout(2500); // two samples on the lag line
  const lag = (await page.textContent('[data-field=lag]')).trim();
  check(/^\d+$/.test(lag), `the default queue's page shows its lag (${lag})`);
  await b.shot('console-queue.png');
} catch (e) {
  b.fail(e);
}
await b.done();
