// run.js -- one run's page: what it is and where it is (GET /v1/runs/{id}),
// its graph with the current state highlighted (the definition from
// GET /v1/definitions/{type}?version=V, drawn by graph.js), its state JSON,
// what it waits for, the live model output while a step streams
// (GET /v1/runs/{id}/live), its history as a timeline of states with their
// durations (GET /v1/runs/{id}/history, read page by page), and the
// operator's buttons: Approve (when it waits for a signal), any signal with
// a JSON payload, cancel, terminate.  Refreshed every 1.5 s while the run is
// open, once more when it closes, then left alone.

import {api} from '../api.js';
import {drawGraph} from '../graph.js';
import {el, fill, fmtDuration, fmtPending, fmtTime, pretty, statusBadge} from '../util.js';

const REFRESH_MS = 1500;
const HISTORY_PAGE = 200;
const APPROVE_PAYLOAD = {approved: true, decision: 'approve', by: 'console'};

// Groups history events into consecutive segments by state: [{state, start,
// end, events}], end being the next segment's start (or the run's close
// time, or now for the open one).
export function segments(events, closed, now) {
  const out = [];
  for (const e of events) {
    const st = e.state && e.state !== '-' ? e.state : null;
    const last = out[out.length - 1];
    if (last && (st === null || st === last.state)) last.events.push(e);
    else out.push({state: st ?? e.type, start: e.time, events: [e]});
  }
  out.forEach((s, i) => {
    const next = out[i + 1];
    s.open = !next && !closed;
    s.end = next ? next.start : (closed || now);
    if (!next && closed) s.end = Math.max(closed, s.events[s.events.length - 1].time);
  });
  return out;
}

function timeline(events, closed) {
  if (!events.length) return el('p', {class: 'muted'}, 'No history yet.');
  const now = Date.now();
  const segs = segments(events, closed, now);
  const t0 = segs[0].start;
  const total = Math.max(1, segs[segs.length - 1].end - t0);
  return el('div', {class: 'timeline'}, segs.map((s) => {
    const left = ((s.start - t0) / total) * 100;
    const width = Math.max(0.6, ((s.end - s.start) / total) * 100);
    return el('div', {class: `segment${s.open ? ' open' : ''}`, 'data-state': s.state},
      el('div', {class: 'seg-name', title: s.state}, s.state),
      el('div', {class: 'seg-track'},
        el('div', {class: 'seg-bar', style: `left:${left}%;width:${width}%`})),
      el('div', {class: 'seg-dur'}, `${fmtDuration(s.end - s.start)}${s.open ? ' so far' : ''}`),
      el('details', {class: 'seg-events'},
        el('summary', {}, `${s.events.length} event${s.events.length === 1 ? '' : 's'}, from +${fmtDuration(s.start - t0)}`),
        el('ol', {}, s.events.map((e) => el('li', {},
          el('span', {class: 'mono'}, `#${e.seq} `), el('strong', {}, e.type),
          el('span', {class: 'muted'}, ` ${fmtTime(e.time)} (+${fmtDuration(e.time - t0)})`),
          e.data !== undefined && e.data !== null ? el('pre', {}, pretty(e.data)) : null)))));
  }));
}

function liveView(steps) {
  if (!steps || !steps.length) return null;
  return el('div', {class: 'live'}, steps.map((s) => el('div', {class: `live-step${s.done ? ' done' : ' streaming'}`},
    el('div', {class: 'muted'}, `step #${s.seq} attempt ${s.attempt} ${s.done ? '· done' : '· streaming…'}`),
    el('pre', {}, s.text ?? ''))));
}

export function runPage(root, id) {
  const state = {desc: null, def: null, defKey: '', events: [], seqs: new Set(), nextFrom: undefined, live: null, noLive: false};
  let alive = true;
  let timer = null;
  let finalDone = false;

  const error = el('p', {class: 'error', role: 'alert'});
  const notice = el('p', {class: 'notice', role: 'status'});
  const head = el('div', {class: 'run-head'});
  const actions = el('div', {class: 'actions'});
  const graphBox = el('div', {class: 'graph-box'});
  const stateBox = el('pre', {class: 'json', 'data-testid': 'run-state'});
  const pendingBox = el('div', {'data-testid': 'run-pending'});
  const liveBox = el('section', {class: 'live-section', hidden: true});
  const historyBox = el('div', {'data-testid': 'run-history'});

  const signalName = el('input', {name: 'signal', 'aria-label': 'signal name', placeholder: 'signal name'});
  const payload = el('textarea', {name: 'payload', 'aria-label': 'signal payload', rows: 5, spellcheck: 'false'}, pretty(APPROVE_PAYLOAD));

  const act = async (what, fn) => {
    error.textContent = '';
    try {
      await fn();
      notice.textContent = what;
      refresh();
    } catch (e) {
      error.textContent = `${what} failed: ${e.message}`;
    }
  };
  const parsedPayload = () => {
    const t = payload.value.trim();
    if (!t) return {};
    return JSON.parse(t);
  };
  const sendSignal = (name) => act(`Signal ${name} sent`, () => api.signal(id, name, parsedPayload()));

  const renderHead = () => {
    const d = state.desc;
    fill(head,
      el('h1', {}, el('span', {class: 'mono'}, d.id), ' ', el('span', {'data-testid': 'run-status'}, statusBadge(d.status))),
      el('dl', {class: 'kv'},
        el('dt', {}, 'type'), el('dd', {}, `${d.type ?? '-'} (version ${d.version ?? '-'})`),
        el('dt', {}, 'position'), el('dd', {'data-testid': 'run-position'}, d.position ?? '-'),
        el('dt', {}, 'waiting for'), el('dd', {}, fmtPending(d.pending)),
        el('dt', {}, 'started'), el('dd', {}, fmtTime(d.started)),
        el('dt', {}, 'closed'), el('dd', {}, d.closed ? `${fmtTime(d.closed)} (took ${fmtDuration(d.closed - d.started)})` : '-'),
        d.error ? [el('dt', {}, 'error'), el('dd', {class: 'error'}, `${d.error}${d.cause ? `: ${d.cause}` : ''}`)] : null,
        el('dt', {}, 'partition'), el('dd', {}, d.partition ?? '-')));
  };

  let actionsKey = '';
  const renderActions = () => {
    const d = state.desc;
    // Re-drawn only when what can be done changes: typing is not lost.
    const key = `${d.status}|${JSON.stringify(d.pending)}`;
    if (key === actionsKey) return;
    actionsKey = key;
    const open = d.status === 'RUNNING';
    const waiting = open && d.pending && d.pending.kind === 'signal' ? d.pending.name : null;
    if (waiting && !signalName.value) signalName.value = waiting;
    if (!open) {
      fill(actions, el('p', {class: 'muted'}, `This run is closed (${d.status}).`));
      return;
    }
    fill(actions,
      waiting ? el('div', {class: 'approve'},
        el('span', {}, `Waiting for the signal `, el('strong', {}, waiting), ': '),
        el('button', {type: 'button', class: 'primary', 'data-action': 'approve', onclick: () => sendSignal(waiting)}, 'Approve'),
        el('button', {type: 'button', 'data-action': 'reject', onclick: () => act(`Signal ${waiting} (reject) sent`,
          () => api.signal(id, waiting, {approved: false, decision: 'reject', by: 'console'}))}, 'Reject')) : null,
      el('form', {class: 'signal', onsubmit: (e) => {
        e.preventDefault();
        const name = signalName.value.trim();
        if (!name) { error.textContent = 'A signal needs a name.'; return; }
        try { parsedPayload(); } catch (err) { error.textContent = `The payload is not JSON: ${err.message}`; return; }
        sendSignal(name);
      }}, signalName, payload, el('button', {type: 'submit', 'data-action': 'signal'}, 'Send signal')),
      el('div', {class: 'danger'},
        el('button', {type: 'button', 'data-action': 'cancel', onclick: () => {
          const reason = window.prompt('Cancel this run (its Catch handlers run). Reason:', 'cancelled from the console');
          if (reason !== null) act('Cancel requested', () => api.cancel(id, reason));
        }}, 'Cancel'),
        el('button', {type: 'button', class: 'warn', 'data-action': 'terminate', onclick: () => {
          const reason = window.prompt('Terminate this run now (nothing more runs). Reason:', 'terminated from the console');
          if (reason !== null) act('Terminate requested', () => api.terminate(id, reason));
        }}, 'Terminate')));
  };

  const renderGraph = () => {
    const d = state.desc;
    if (!state.def) return;
    const visited = new Set(state.events.map((e) => e.state).filter(Boolean));
    fill(graphBox, drawGraph(state.def, {
      current: d.position, closed: d.status !== 'RUNNING', succeeded: d.status === 'SUCCEEDED', visited,
    }));
  };

  const loadDefinition = async () => {
    const d = state.desc;
    const key = `${d.type}@${d.version}`;
    if (state.defKey === key) return;
    const res = await api.definition(d.type, d.version ?? undefined);
    state.def = res.definition;
    state.defKey = key;
  };

  const loadHistory = async () => {
    for (let pages = 0; pages < 50; pages++) {
      const res = await api.history(id, state.nextFrom, HISTORY_PAGE);
      const evs = res.events || [];
      for (const e of evs) {
        if (state.seqs.has(e.seq)) continue;
        state.seqs.add(e.seq);
        state.events.push(e);
      }
      if (evs.length) state.nextFrom = evs[evs.length - 1].seq + 1;
      if (res.next === null || res.next === undefined || !evs.length) break;
      state.nextFrom = res.next;
    }
    state.events.sort((a, b) => a.seq - b.seq);
  };

  const refresh = async () => {
    try {
      state.desc = await api.describe(id);
      if (!alive) return;
      const d = state.desc;
      await Promise.all([
        loadDefinition().catch((e) => { fill(graphBox, el('p', {class: 'error'}, `definition: ${e.message}`)); }),
        loadHistory(),
        d.status === 'RUNNING' && !state.noLive ? api.live(id).then((l) => { state.live = l; }).catch((e) => {
          state.live = null;
          if (e.status === 404) state.noLive = true; // an API without the route: stop asking
        }) : null,
      ]);
      if (!alive) return;
      if (d.status !== 'RUNNING') state.live = null; // the output is in the state now
      renderHead();
      renderActions();
      renderGraph();
      stateBox.textContent = pretty(d.state);
      fill(pendingBox, d.pending ? el('dl', {class: 'kv'}, Object.entries(d.pending).map(([k, v]) =>
        [el('dt', {}, k), el('dd', {}, k === 'due' ? `${fmtTime(v)} (in ${fmtDuration(v - Date.now())})` : String(v))]))
        : el('p', {class: 'muted'}, 'Nothing pending.'));
      const lv = liveView(state.live && state.live.steps);
      liveBox.hidden = !lv;
      if (lv) fill(liveBox, el('h2', {}, 'Live model output'), lv);
      fill(historyBox, timeline(state.events, d.closed));
      if (d.status !== 'RUNNING') {
        if (finalDone) { clearInterval(timer); timer = null; }
        finalDone = true;
      }
      error.textContent = error.textContent.startsWith('Loading') ? '' : error.textContent;
    } catch (e) {
      if (alive) error.textContent = e.status === 404 ? `No run ${id}.` : e.message;
    }
  };

  fill(root,
    el('p', {}, el('a', {href: '#/runs'}, '← all runs')),
    head, error, notice,
    el('section', {}, el('h2', {}, 'Actions'), actions),
    liveBox,
    el('div', {class: 'columns'},
      el('section', {class: 'graph-section'}, el('h2', {}, 'Graph'), graphBox),
      el('div', {},
        el('section', {}, el('h2', {}, 'Waiting for'), pendingBox),
        el('section', {}, el('h2', {}, 'State'), stateBox))),
    el('section', {}, el('h2', {}, 'History'), historyBox));
  refresh();
  timer = setInterval(refresh, REFRESH_MS);
  return () => { alive = false; clearInterval(timer); };
}
