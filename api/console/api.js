// api.js -- the console's client of baton-api v1 (/work/notes/api-contract.md,
// api/openapi.yaml): every request goes to the origin that served the page
// (same host and port, nothing else is ever contacted), JSON in and out, the
// bearer token from sessionStorage.  A 401 asks for the token once (the
// prompt in index.html), keeps it for the tab's session and retries.

const TOKEN_KEY = 'baton.token';

// The error an API call throws: the HTTP status and the contract's stable
// code ("not_found", "unauthorized", ...) with its message.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(`${code}: ${message} (HTTP ${status})`);
    this.status = status;
    this.code = code;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// One pending token prompt shared by every request that got a 401.
let asking = null;

// Shows the token dialog (index.html #token-dialog); resolves with what was
// entered, or null when the person cancels.
function askToken(message) {
  if (asking) return asking;
  const dlg = document.getElementById('token-dialog');
  const form = dlg.querySelector('form');
  const input = dlg.querySelector('input');
  dlg.querySelector('.token-message').textContent = message;
  input.value = '';
  asking = new Promise((resolve) => {
    const done = (v) => {
      form.removeEventListener('submit', onSubmit);
      dlg.removeEventListener('cancel', onCancel);
      dlg.close();
      asking = null;
      resolve(v);
    };
    const onSubmit = (e) => { e.preventDefault(); done(input.value.trim() || null); };
    const onCancel = () => done(null);
    form.addEventListener('submit', onSubmit);
    dlg.addEventListener('cancel', onCancel);
    dlg.showModal();
    input.focus();
  });
  return asking;
}

// request('GET', '/v1/runs', undefined, {status: 'RUNNING'}): the parsed JSON
// answer (null for an empty body).  Throws ApiError on any non-2xx answer.
export async function request(method, path, body, query) {
  const qs = query ? new URLSearchParams(
    Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString() : '';
  const url = qs ? `${path}?${qs}` : path;
  for (let tries = 0; ; tries++) {
    const headers = {Accept: 'application/json'};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token()) headers.Authorization = `Bearer ${token()}`;
    const res = await fetch(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'omit',
    });
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    if (res.status === 401 && tries < 3) {
      const t = await askToken(tries === 0 && !token()
        ? 'This Baton API needs a bearer token.'
        : 'The token was refused; enter it again.');
      if (!t) throw new ApiError(401, 'unauthorized', 'no token given');
      setToken(t);
      continue;
    }
    if (!res.ok) {
      const e = (data && data.error) || {};
      throw new ApiError(res.status, e.code || 'http_error', e.message || text || res.statusText);
    }
    return data;
  }
}

const enc = encodeURIComponent;

// The calls the pages make, one per route of the contract.
export const api = {
  runs: (q) => request('GET', '/v1/runs', undefined, q),
  describe: (id) => request('GET', `/v1/runs/${enc(id)}`),
  history: (id, from, limit) => request('GET', `/v1/runs/${enc(id)}/history`, undefined, {from, limit}),
  live: (id) => request('GET', `/v1/runs/${enc(id)}/live`),
  signal: (id, name, payload) => request('POST', `/v1/runs/${enc(id)}/signals/${enc(name)}`, payload),
  cancel: (id, reason) => request('POST', `/v1/runs/${enc(id)}/cancel`, reason ? {reason} : {}),
  terminate: (id, reason) => request('POST', `/v1/runs/${enc(id)}/terminate`, reason ? {reason} : {}),
  definition: (type, version) => request('GET', `/v1/definitions/${enc(type)}`, undefined, {version}),
  dlq: (limit) => request('GET', '/v1/dlq', undefined, {limit}),
  replay: (partition, offset) => request('POST', `/v1/dlq/${enc(partition)}/${enc(offset)}/replay`, {}),
  queues: () => request('GET', '/v1/queues'),
  ready: () => fetch('/readyz', {cache: 'no-store'}).then(async (r) => ({ok: r.ok, body: await r.json().catch(() => null)})),
};
