// queues.js -- the task queues (GET /v1/queues): the list, and one page per
// queue with its consumer lag on baton.tasks.<queue> and the backlog Kafka
// does not show (retries waiting and timers, kept in Redis), refreshed every
// 2 s; the queue's page also plots the lag seen since it was opened.

import {api} from '../api.js';
import {el, fill} from '../util.js';

const REFRESH_MS = 2000;
const SAMPLES = 90;

// The Redis-side backlog of a queue; '-' where the API does not report it
// (GET /v1/queues without "backlog").
function backlogOf(q) {
  const b = q.backlog || {};
  return {retries: b.retries ?? '-', timers: b.timers ?? '-', known: !!q.backlog};
}

// A polling loop calling draw(queues) until the returned stop is called.
function poll(draw, error) {
  let alive = true;
  const tick = async () => {
    try {
      const res = await api.queues();
      if (alive) { draw(res.queues || []); error.textContent = ''; }
    } catch (e) {
      if (alive) error.textContent = e.message;
    }
  };
  tick();
  const timer = setInterval(tick, REFRESH_MS);
  return () => { alive = false; clearInterval(timer); };
}

export function queuesPage(root) {
  const body = el('tbody');
  const error = el('p', {class: 'error', role: 'alert'});
  fill(root, el('h1', {}, 'Task queues'), error,
    el('table', {class: 'queues'},
      el('thead', {}, el('tr', {}, ['queue', 'topic', 'lag', 'retries waiting', 'timers'].map((h) => el('th', {}, h)))),
      body));
  return poll((queues) => {
    fill(body, queues.length ? queues.map((q) => {
      const b = backlogOf(q);
      return el('tr', {'data-queue': q.queue},
        el('td', {}, el('a', {href: `#/queues/${encodeURIComponent(q.queue)}`}, q.queue)),
        el('td', {class: 'mono'}, q.topic ?? '-'),
        el('td', {class: 'num'}, q.lag ?? '-'),
        el('td', {class: 'num'}, b.retries),
        el('td', {class: 'num'}, b.timers));
    }) : el('tr', {}, el('td', {colspan: 5, class: 'muted'}, 'No task queues.')));
  }, error);
}

// A small SVG line of the lag samples.
function sparkline(values) {
  const w = 480;
  const h = 80;
  const max = Math.max(1, ...values);
  const span = Math.max(10, values.length - 1);
  const pts = values.map((v, i) => `${(i / span) * w},${h - (v / max) * (h - 20) - 4}`).join(' ');
  const s = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  s.setAttribute('viewBox', `0 0 ${w} ${h}`);
  s.setAttribute('class', 'spark');
  s.innerHTML = `<polyline fill="none" stroke="currentColor" stroke-width="2" points="${pts}"/>` +
    `<line x1="0" y1="${h - 4}" x2="${w}" y2="${h - 4}" stroke="#d9dde5"/>` +
    `<text x="4" y="12">max ${max} · ${values.length} sample${values.length === 1 ? '' : 's'}, every ${REFRESH_MS / 1000} s</text>`;
  return s;
}

export function queuePage(root, name) {
  const error = el('p', {class: 'error', role: 'alert'});
  const facts = el('dl', {class: 'kv big'});
  const chart = el('div', {class: 'chart'});
  const lags = [];
  fill(root,
    el('p', {}, el('a', {href: '#/queues'}, '← all queues')),
    el('h1', {}, `Queue ${name}`), error, facts,
    el('h2', {}, 'Lag since this page opened'), chart);
  return poll((queues) => {
    const q = queues.find((x) => x.queue === name);
    if (!q) { fill(facts, el('dt', {}, 'queue'), el('dd', {}, 'not found')); return; }
    const b = backlogOf(q);
    fill(facts,
      el('dt', {}, 'topic'), el('dd', {class: 'mono'}, q.topic ?? '-'),
      el('dt', {}, 'consumer lag'), el('dd', {'data-field': 'lag'}, q.lag ?? '-'),
      el('dt', {}, 'retries waiting (Redis)'), el('dd', {'data-field': 'retries'}, b.retries),
      el('dt', {}, 'timers (Redis)'), el('dd', {'data-field': 'timers'}, b.timers),
      el('dt', {}, 'total backlog'), el('dd', {}, b.known ? (Number(q.lag) || 0) + (Number(b.retries) || 0) + (Number(b.timers) || 0)
        : `${q.lag ?? '-'} (Kafka only: this API reports no Redis backlog)`));
    lags.push(Number(q.lag) || 0);
    if (lags.length > SAMPLES) lags.shift();
    fill(chart, sparkline(lags));
  }, error);
}
