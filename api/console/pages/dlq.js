// dlq.js -- the dead-letter page (GET /v1/dlq): every record of baton.dlq
// with why it is there and its payload, and a Replay button per record
// (POST /v1/dlq/{partition}/{offset}/replay) that puts it back on the topic
// it came from.

import {api} from '../api.js';
import {el, fill, fmtTime, pretty} from '../util.js';

const LIMIT = 200;
const SHOWN = new Set(['partition', 'offset', 'reason', 'payload', 'value']);

// The record's bytes (base64 in "payload", docs/api.md; "value" in the
// common/dlq.h record) as something to read: JSON pretty-printed, text as
// is, anything else (an Avro envelope, garbage) as hex.
function payloadText(r) {
  const b64 = typeof r.payload === 'string' ? r.payload : r.value;
  if (typeof b64 !== 'string') return r.payload === undefined ? '-' : pretty(r.payload);
  let bytes;
  try {
    bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  } catch {
    return b64; // not base64: shown as the API gave it
  }
  const text = new TextDecoder('utf-8', {fatal: false}).decode(bytes);
  const binary = /[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text);
  let out;
  if (binary) {
    out = `binary, ${bytes.length} bytes:\n` + Array.from(bytes.slice(0, 256),
      (x) => x.toString(16).padStart(2, '0')).join(' ').replace(/((?:\S+ ){16})/g, '$1\n');
  } else {
    try { out = pretty(JSON.parse(text)); } catch { out = text; }
  }
  return r.cut ? `${out}\n… (cut: the record keeps a prefix of ${r.value_size ?? '?'} bytes)` : out;
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
