// dlq.js -- the dead-letter page (GET /v1/dlq): every record of baton.dlq
// with why it is there and its payload, and a Replay button per record
// (POST /v1/dlq/{partition}/{offset}/replay) that puts it back on the topic
// it came from.

import {api} from '../api.js';
import {el, fill, fmtTime, pretty} from '../util.js';

const LIMIT = 200;
const SHOWN = new Set(['partition', 'offset', 'reason', 'payload', 'value']);

// The record's bytes as text: "payload" when the API gives it, else the
// base64 "value" of the common/dlq.h record decoded (UTF-8, bytes that are
// not shown as U+FFFD); JSON pretty-printed when it parses.
function payloadText(r) {
  let p = r.payload;
  if (p === undefined && typeof r.value === 'string') {
    try {
      p = new TextDecoder().decode(Uint8Array.from(atob(r.value), (c) => c.charCodeAt(0)));
    } catch { p = r.value; }
  }
  if (p === undefined || p === null) return '-';
  if (typeof p !== 'string') return pretty(p);
  try { return pretty(JSON.parse(p)); } catch { return p; }
}

export function dlqPage(root) {
  const body = el('tbody');
  const error = el('p', {class: 'error', role: 'alert'});
  const note = el('p', {class: 'notice', role: 'status'});
  let alive = true;

  const load = async () => {
    try {
      const res = await api.dlq(LIMIT);
      if (!alive) return;
      const recs = res.records || [];
      fill(body, recs.length ? recs.map((r) => {
        const extra = Object.entries(r).filter(([k]) => !SHOWN.has(k));
        const btn = el('button', {type: 'button', class: 'replay', 'data-partition': r.partition, 'data-offset': r.offset}, 'Replay');
        btn.addEventListener('click', async () => {
          btn.disabled = true;
          try {
            await api.replay(r.partition, r.offset);
            note.textContent = `Record ${r.partition}/${r.offset} replayed.`;
          } catch (e) {
            error.textContent = `Replay of ${r.partition}/${r.offset}: ${e.message}`;
            btn.disabled = false;
          }
        });
        return el('tr', {},
          el('td', {class: 'mono'}, `${r.partition}/${r.offset}`),
          el('td', {}, r.reason ?? '-'),
          el('td', {}, extra.length ? el('dl', {class: 'kv'}, extra.map(([k, v]) => [
            el('dt', {}, k), el('dd', {}, /time|ts/i.test(k) && typeof v === 'number' ? fmtTime(v) : (typeof v === 'object' ? JSON.stringify(v) : String(v)))])) : '-'),
          el('td', {}, el('pre', {class: 'payload'}, payloadText(r))),
          el('td', {}, btn));
      }) : el('tr', {}, el('td', {colspan: 5, class: 'muted'}, 'The dead-letter topic is empty.')));
      error.textContent = '';
    } catch (e) {
      if (alive) error.textContent = e.message;
    }
  };

  fill(root,
    el('h1', {}, 'Dead letters'),
    el('p', {class: 'muted'}, 'Messages batond or a worker could not decode or validate (baton.dlq). Replay sends one back to the topic it came from once the cause is fixed.'),
    el('p', {}, el('button', {type: 'button', onclick: load}, 'Refresh')),
    error, note,
    el('table', {class: 'dlq'},
      el('thead', {}, el('tr', {}, ['record', 'reason', 'details', 'payload', ''].map((h) => el('th', {}, h)))),
      body));
  load();
  return () => { alive = false; };
}
