// browser.mjs -- what the console's page scripts (e2e.mjs, live.mjs) share:
// Debian's Chromium launched through playwright-core (from PW_DIR) with the
// flags that work as root on a closed network, every request the pages make
// recorded, script errors collected, and TAP-like checks.
//
//   const b = await openConsole();   // {page, ok, check, env, shot, done}
//   await b.login(path);             // opens CONSOLE_URL/#path, answers
//                                    // the token prompt with API_TOKEN
//   await b.done();                  // loopback and script-error checks,
//                                    // closes Chromium, exits 0 or 1
import {createRequire} from 'node:module';
import path from 'node:path';

// The flags: no sandbox (root), the new headless mode, no GPU, /tmp rather
// than a small /dev/shm, and nothing that phones home (first-run, component
// updates, background networking, sync, translate, ...).
export const CHROMIUM_FLAGS = [
  '--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage',
  '--no-first-run', '--no-default-browser-check', '--disable-component-update',
  '--disable-background-networking', '--disable-sync', '--disable-default-apps',
  '--disable-domain-reliability', '--no-proxy-server', '--metrics-recording-only',
  '--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication',
];

export function env(k) {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
}

export async function openConsole() {
  const require = createRequire(path.join(path.resolve(env('PW_DIR')), 'noop.js'));
  const {chromium} = require('playwright-core');
  const base = env('CONSOLE_URL');
  let failures = 0;
  const ok = (what) => console.log(`ok - ${what}`);
  const check = (cond, what) => {
    if (cond) ok(what);
    else { failures++; console.log(`not ok - ${what}`); }
  };
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS, timeout: 60000,
  });
  const ctx = await browser.newContext({viewport: {width: 1280, height: 860}});
  const requests = [];
  const errors = [];
  ctx.on('request', (r) => requests.push(r.url()));
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.setDefaultTimeout(30000);

  const login = async (hash) => {
    await page.goto(`${base}/${hash}`);
    await page.waitForSelector('#token-dialog[open]');
    ok('the API answered 401 and the console asks for the token');
    await page.fill('#token-dialog input', env('API_TOKEN'));
    await page.click('#token-dialog button[type=submit]');
    const stored = await page.evaluate(() => sessionStorage.getItem('baton.token'));
    check(stored === env('API_TOKEN'), 'the token is kept in sessionStorage');
  };
  const shot = (name, full) => page.screenshot({path: path.join(env('SHOT_DIR'), name), fullPage: !!full});
  const fail = (e) => {
    failures++;
    console.log(`not ok - ${String(e && e.message ? e.message : e).split('\n')[0]}`);
  };
  const done = async () => {
    await browser.close().catch(() => {});
    const outside = requests.filter((u) => !u.startsWith('data:') &&
      !['127.0.0.1', 'localhost', '[::1]'].includes(new URL(u).hostname));
    check(requests.length > 0 && outside.length === 0,
      `all ${requests.length} requests stayed on loopback${outside.length ? `; outside: ${outside.slice(0, 5).join(' ')}` : ''}`);
    check(errors.length === 0, `no script error in the page${errors.length ? `: ${errors.join('; ')}` : ''}`);
    process.exit(failures ? 1 : 0);
  };
  return {page, base, ok, check, fail, login, shot, done};
}
