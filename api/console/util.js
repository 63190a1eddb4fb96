// util.js -- small DOM and formatting helpers shared by the console's pages
// (api/console/pages/*.js): element building without a framework, times
// and durations as people read them, JSON shown safely.

// el('div', {class: 'x', onclick: f}, child, 'text', ...): an element with
// attributes (on* keys become listeners) and children (strings become text
// nodes, null/false are skipped, arrays are flattened).
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'value') node.value = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Replaces the children of node by children.
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

// "350 ms", "4.2 s", "3 min 05 s", "2 h 10 min", "3 d 4 h" from milliseconds.
export function fmtDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '-';
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

// The age of a time in epoch milliseconds, "4.2 s" style ("-" when absent).
export function fmtAge(t, now = Date.now()) {
  return typeof t === 'number' && t > 0 ? fmtDuration(now - t) : '-';
}

// "2026-12-02 09:14:03.120" in local time, "-" when absent.
export function fmtTime(t) {
  if (typeof t !== 'number' || t <= 0) return '-';
  const d = new Date(t);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

// Pretty JSON text of any value ("null" for undefined).
export function pretty(v) {
  return JSON.stringify(v === undefined ? null : v, null, 2);
}

// A status badge: <span class="status status-SUCCEEDED">SUCCEEDED</span>.
export function statusBadge(status) {
  const s = status || 'UNKNOWN';
  return el('span', {class: `status status-${s}`, 'data-status': s}, s);
}

// "task default/noop seq=3 attempt=1", "signal approve", "wait until ..."
// from a describe object's pending (null: "-").
export function fmtPending(p) {
  if (!p || typeof p !== 'object') return '-';
  switch (p.kind) {
    case 'task': return `task ${p.queue ?? '?'}/${p.type ?? '?'} (seq ${p.seq ?? '?'}, attempt ${p.attempt ?? '?'})`;
    case 'signal': return `signal ${p.name ?? '?'}`;
    case 'retry': return `retry of seq ${p.seq ?? '?'} attempt ${p.attempt ?? '?'} at ${fmtTime(p.due)}`;
    case 'wait': return `timer until ${fmtTime(p.due)}`;
    default: return JSON.stringify(p);
  }
}
