// runs.js -- the list of runs (GET /v1/runs): id, type, status, where it is,
// what it waits for, age; filtered by status and type (by the API) and by
// id prefix (here, on what the API returned), refreshed every 2 s.  A row
// links to the run's page (run.js).

import {api} from '../api.js';
import {el, fill, fmtAge, fmtDuration, fmtPending, statusBadge} from '../util.js';

const STATUSES = ['', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TERMINATED', 'QUARANTINED'];
const REFRESH_MS = 2000;
const PAGE = 200;

// The filters survive a visit to a run's page and back.
const filters = {status: '', type: '', prefix: '', auto: true};

export function runsPage(root) {
  const status = el('select', {name: 'status', 'aria-label': 'status'},
    STATUSES.map((s) => el('option', {value: s, selected: s === filters.status}, s || 'any status')));
  const type = el('input', {name: 'type', placeholder: 'type', value: filters.type, 'aria-label': 'type'});
  const prefix = el('input', {name: 'prefix', placeholder: 'id prefix', value: filters.prefix, 'aria-label': 'id prefix'});
  const auto = el('input', {type: 'checkbox', name: 'auto', checked: filters.auto});
  const info = el('span', {class: 'muted'});
  const body = el('tbody');
  const more = el('button', {type: 'button', hidden: true}, 'Load more');
  let cursor = null;
  let rows = [];
  let timer = null;
  let alive = true;

  const render = () => {
    const now = Date.now();
    const shown = rows.filter((r) => !filters.prefix || String(r.id).startsWith(filters.prefix));
    fill(body, shown.length ? shown.map((r) => el('tr', {'data-id': r.id},
      el('td', {}, el('a', {href: `#/runs/${encodeURIComponent(r.id)}`, class: 'mono'}, r.id)),
      el('td', {}, r.type ?? '-'),
      el('td', {}, statusBadge(r.status)),
      el('td', {}, r.position ?? '-'),
      el('td', {}, fmtPending(r.pending)),
      el('td', {title: 'since started'}, fmtAge(r.started, now)),
      el('td', {}, r.closed ? fmtDuration(r.closed - r.started) : '-'),
    )) : el('tr', {}, el('td', {colspan: 7, class: 'muted'}, 'No runs match.')));
    info.textContent = `${shown.length} run${shown.length === 1 ? '' : 's'} · updated ${new Date(now).toLocaleTimeString()}`;
    more.hidden = !cursor;
  };

  const load = async (append) => {
    try {
      const q = {status: filters.status, type: filters.type, limit: PAGE, cursor: append ? cursor : undefined};
      const res = await api.runs(q);
      if (!alive) return;
      rows = append ? rows.concat(res.runs || []) : (res.runs || []);
      cursor = res.next_cursor || null;
      render();
      error.textContent = '';
    } catch (e) {
      if (alive) error.textContent = e.message;
    }
  };

  const schedule = () => {
    clearInterval(timer);
    timer = filters.auto ? setInterval(() => load(false), REFRESH_MS) : null;
  };
  const changed = () => {
    filters.status = status.value;
    filters.type = type.value.trim();
    filters.prefix = prefix.value.trim();
    filters.auto = auto.checked;
    schedule();
    load(false);
  };
  status.addEventListener('change', changed);
  type.addEventListener('change', changed);
  prefix.addEventListener('input', () => { filters.prefix = prefix.value.trim(); render(); });
  auto.addEventListener('change', changed);
  more.addEventListener('click', () => load(true));

  const error = el('p', {class: 'error', role: 'alert'});
  fill(root,
    el('h1', {}, 'Runs'),
    el('form', {class: 'filters', onsubmit: (e) => { e.preventDefault(); changed(); }},
      status, type, prefix, el('label', {}, auto, ' auto-refresh'), info),
    error,
    el('table', {class: 'runs'},
      el('thead', {}, el('tr', {}, ['id', 'type', 'status', 'position', 'waiting for', 'age', 'took'].map((h) => el('th', {}, h)))),
      body),
    more);
  load(false);
  schedule();
  return () => { alive = false; clearInterval(timer); };
}
