// app.js -- the console's entry point (loaded by index.html as a module):
// a hash router over the pages of api/console/pages/, the navigation bar and
// the API's readiness shown in the header.  Each page is a function
// (root, params) -> cleanup that renders into root and may start timers;
// the cleanup stops them when the route changes.
//
//   #/runs                      runs.js   the list of runs, filterable
//   #/runs/<id>                 run.js    one run: graph, state, history...
//   #/dlq                       dlq.js    dead-letter records, replay
//   #/queues  #/queues/<name>   queues.js task queues: lag and backlog

import {api} from './api.js';
import {el, fill} from './util.js';
import {runsPage} from './pages/runs.js';
import {runPage} from './pages/run.js';
import {dlqPage} from './pages/dlq.js';
import {queuesPage, queuePage} from './pages/queues.js';

const routes = [
  [/^#\/runs\/(.+)$/, (root, m) => runPage(root, decodeURIComponent(m[1])), 'runs'],
  [/^#\/runs\/?$/, (root) => runsPage(root), 'runs'],
  [/^#\/dlq\/?$/, (root) => dlqPage(root), 'dlq'],
  [/^#\/queues\/(.+)$/, (root, m) => queuePage(root, decodeURIComponent(m[1])), 'queues'],
  [/^#\/queues\/?$/, (root) => queuesPage(root), 'queues'],
];

let cleanup = null;

function route() {
  const hash = location.hash || '#/runs';
  const root = document.getElementById('main');
  if (cleanup) { cleanup(); cleanup = null; }
  for (const [re, page, tab] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    document.querySelectorAll('nav a[data-tab]').forEach((a) =>
      a.classList.toggle('active', a.dataset.tab === tab));
    fill(root);
    cleanup = page(root, m) || null;
    return;
  }
  fill(root, el('p', {class: 'error'}, `No page at ${hash}.`), el('a', {href: '#/runs'}, 'Runs'));
}

async function readiness() {
  const badge = document.getElementById('ready');
  try {
    const r = await api.ready();
    badge.textContent = r.ok ? 'ready' : `not ready${r.body && r.body.reason ? `: ${r.body.reason}` : ''}`;
    badge.className = r.ok ? 'ready ok' : 'ready bad';
  } catch {
    badge.textContent = 'API unreachable';
    badge.className = 'ready bad';
  }
}

window.addEventListener('hashchange', route);
route();
readiness();
setInterval(readiness, 10000);
