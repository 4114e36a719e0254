// The JSON API of `vigil app` (docs/APP.md). The page never holds a key:
// it sends what the member typed and shows what the server answers.

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body || {};
  }
}

let onLocked = () => {};
export function setLockedHandler(fn) {
  onLocked = fn;
}

// Re-reads after a live update are not the member's doing: they are marked
// so that they never hold off the idle lock (docs/APP.md, X-Vigil-Background).
let background = 0;
export async function inBackground(fn) {
  background += 1;
  try {
    return await fn();
  } finally {
    background -= 1;
  }
}

async function call(method, path, body, contentType) {
  const opts = { method, credentials: 'same-origin', headers: {} };
  if (background > 0 && method === 'GET') opts.headers['X-Vigil-Background'] = '1';
  if (body !== undefined) {
    if (contentType) {
      opts.headers['Content-Type'] = contentType;
      opts.body = body;
    } else {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
  } else if (method !== 'GET') {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = '{}';
  }
  let r;
  try {
    r = await fetch(path, opts);
  } catch (e) {
    throw new ApiError(0, 'app_unreachable', e.message);
  }
  const text = r.status === 204 ? '' : await r.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (!r.ok) {
    const code = (data && data.code) || `http_${r.status}`;
    const err = new ApiError(r.status, code, (data && data.error) || r.statusText, data);
    if (r.status === 423 && path !== '/api/unlock') onLocked(err);
    throw err;
  }
  return data;
}

export const api = {
  get: (path) => call('GET', path),
  post: (path, body) => call('POST', path, body),
  put: (path, body) => call('PUT', path, body),
  del: (path) => call('DELETE', path),
  raw: (path, bytes, contentType) => call('POST', path, bytes, contentType),
};

// The one-time token in the URL fragment (#k=...) is exchanged for an
// HttpOnly session cookie, and removed from the address bar and history
// first, so it is never bookmarked, shared or seen again.
export async function startSession() {
  const m = /^#k=([0-9a-fA-F]+)/.exec(window.location.hash);
  if (!m) return false;
  const token = m[1];
  history.replaceState(null, '', window.location.pathname + window.location.search + '#/');
  const r = await fetch('/api/session', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'X-Vigil-Token': token, 'Content-Type': 'application/json' },
    body: '{}',
  });
  return r.ok;
}

export function enc(s) {
  return encodeURIComponent(s);
}
