// live.mjs -- the run page's live model output, run by
// tests/integration/0076-console-live.sh: while the LLM step of RUN_ID
// streams (the scripted model server sends its reply in slow chunks), the
// page shows the text so far and it grows, with the run RUNNING and its
// CallModel state highlighted; then the run is shown SUCCEEDED with the
// whole reply (EXPECTED_TEXT) in its state.  Environment: as e2e.mjs
// (browser.mjs) plus RUN_ID, EXPECTED_TEXT; screenshot console-live.png.
import {env, openConsole} from './browser.mjs';

const runId = env('RUN_ID');
const expected = env('EXPECTED_TEXT');
const b = await openConsole();
const {page, ok, check} = b;
const liveText = () => page.evaluate(() => {
  const pre = document.querySelector('.live-step.streaming pre');
  return pre ? pre.textContent : '';
});
try {
  await b.login(`#/runs/${encodeURIComponent(runId)}`);
  await page.waitForFunction(() => {
    const pre = document.querySelector('.live-step.streaming pre');
    return pre && pre.textContent.length > 0;
  }, null, {timeout: 30000});
  const first = await liveText();
  ok(`the page shows the reply while it streams: '${first}'`);
  check((await page.textContent('[data-testid=run-status]')).trim() === 'RUNNING', 'the run is RUNNING meanwhile');
  check(await page.isVisible('svg.graph .node.current[data-state="CallModel"]'), 'CallModel is highlighted on the graph');
  await page.waitForFunction((n) => {
    const pre = document.querySelector('.live-step.streaming pre');
    return pre && pre.textContent.length > n;
  }, first.length, {timeout: 15000});
  const later = await liveText();
  check(later.startsWith(first) && expected.startsWith(later), `the text grows as chunks arrive: '${later}'`);
  await b.shot('console-live.png', true);
  await page.waitForSelector('[data-testid=run-status] [data-status=SUCCEEDED]', {timeout: 90000});
  ok('the run is then shown SUCCEEDED');
  const state = JSON.parse(await page.textContent('[data-testid=run-state]'));
  const content = state && state.reply && state.reply.content;
  check(content === expected, `its state holds the whole reply ('${content}')`);
  check(await page.isHidden('.live-section'), 'the live panel is gone once the run is closed');
} catch (e) {
  b.fail(e);
}
await b.done();
