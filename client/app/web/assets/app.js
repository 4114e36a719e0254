// The Vigil app page: boot, session, router, header (who, sync, Lock),
// problems, and live updates from /api/events. Screens live in views/.
import { api, ApiError, inBackground, setLockedHandler, startSession } from './api.js';
import { t, has, setLanguage, language, formatAgo } from './i18n.js';
import { h, clear, append } from './dom.js';
import * as welcome from './views/welcome.js';
import * as home from './views/home.js';
import * as visit from './views/visit.js';
import * as note from './views/note.js';
import * as messages from './views/messages.js';
import * as members from './views/members.js';
import * as devices from './views/devices.js';
import * as evidence from './views/evidence.js';
import * as invite from './views/invite.js';
import * as settings from './views/settings.js';

const main = document.getElementById('main');
const statusEl = document.getElementById('status');

// What every screen may use.
export const ctx = {
  state: null,       // GET /api/state
  me: null,          // GET /api/whoami (when unlocked and joined)
  status: null,      // GET /api/status
  notices: [],       // sync notices of this session (e.g. a linked device's code)
  go,
  toast,
  errorText,
  refreshStatus,
  reloadState,
  view: null,
};

// One clear sentence for an error: in English, the server's own words (the
// same as the CLI); in another language, the catalogue's for its code.
export function errorText(err) {
  if (!(err instanceof ApiError)) return t('error.generic', { detail: String(err && err.message || err) });
  if (err.code === 'slow_down') return t('error.slow_down', { seconds: err.body.retry_after_s ?? '?' });
  if (err.code === 'app_unreachable') return t('error.app_unreachable');
  if (language() === 'en' && err.message) return err.message;
  if (has(`error.${err.code}`)) return t(`error.${err.code}`);
  return t('error.generic', { detail: err.message });
}

let toastTimer = null;
export function toast(message) {
  statusEl.textContent = message;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { statusEl.textContent = ''; }, 6000);
}

function go(path) {
  if (window.location.hash === `#${path}`) route();
  else window.location.hash = path;
}

const routes = [
  [/^\/?$/, home.render, 'home'],
  [/^\/visit\/([0-9a-f]+)$/, visit.render, 'home'],
  [/^\/visit\/([0-9a-f]+)\/write$/, note.renderNew, 'home'],
  [/^\/note\/([0-9a-f]+)$/, note.renderShow, 'home'],
  [/^\/note\/([0-9a-f]+)\/amend$/, note.renderAmend, 'home'],
  [/^\/messages(?:\/(.+))?$/, messages.render, 'messages'],
  [/^\/members$/, members.render, 'members'],
  [/^\/devices$/, devices.render, 'devices'],
  [/^\/evidence$/, evidence.render, 'evidence'],
  [/^\/invite$/, invite.render, 'invite'],
  [/^\/settings$/, settings.render, 'settings'],
];

let renderSeq = 0;
async function show(viewFn, args, tab, live = false) {
  const seq = ++renderSeq;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.route === tab) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  let view;
  try {
    view = await viewFn(ctx, ...args);
  } catch (err) {
    if (err instanceof ApiError && err.status === 423) return; // the unlock screen is on its way
    view = { node: h('div.panel', h('h1', { text: t('error.title') }), h('p.error', { role: 'alert', text: errorText(err) })) };
  }
  if (seq !== renderSeq) return;
  ctx.view = view;
  const scroll = window.scrollY;
  clear(main);
  append(main, [view.node]);
  if (live) {
    // A live update: keep the member's place; do not move their focus.
    window.scrollTo(0, scroll);
    return;
  }
  if (view.title) document.title = `${view.title} · ${t('app.title')}`;
  else document.title = t('app.title');
  const h1 = main.querySelector('h1');
  if (h1 && !view.keepFocus) {
    h1.tabIndex = -1;
    h1.focus({ preventScroll: true });
  }
  if (view.focus) view.focus.focus();
}

async function route(live = false) {
  if (live instanceof Event) live = false;
  const st = ctx.state;
  if (!st) return;
  if (st.store === 'none') return show(welcome.renderInit, [], null);
  if (st.store === 'locked') return show(welcome.renderUnlock, [], null);
  if (!st.joined) return show(welcome.renderJoin, [], null);
  const path = window.location.hash.replace(/^#/, '') || '/';
  for (const [re, fn, tab] of routes) {
    const m = re.exec(path);
    if (m) return show(fn, m.slice(1), tab, live);
  }
  return show(home.render, [], 'home');
}

// Header, nav, banners: what the member must always see.
function renderChrome() {
  const st = ctx.state || {};
  const open = st.store === 'unlocked';
  const joined = open && st.joined;
  document.getElementById('lock-button').hidden = !open;
  document.getElementById('nav').hidden = !joined;
  for (const li of document.querySelectorAll('#nav [data-role]')) li.hidden = st.role !== li.dataset.role;
  const who = document.getElementById('who');
  who.textContent = joined && st.name ? t('header.who', { name: st.name, role: t(`role.${st.role}`) }) : '';
  renderSync();
}

function renderSync() {
  const st = ctx.state || {};
  const s = ctx.status;
  const pill = document.getElementById('sync-pill');
  const banner = document.getElementById('offline-banner');
  const problems = document.getElementById('problems');
  if (st.store !== 'unlocked' || !st.joined || !s) {
    pill.hidden = true;
    banner.hidden = true;
    problems.hidden = true;
    clear(problems);
    return;
  }
  pill.hidden = false;
  const parts = [];
  if (s.syncing) parts.push(t('sync.syncing'));
  else parts.push(s.relay_reachable ? t('sync.online') : t('sync.offline'));
  parts.push(s.last_sync_ms ? t('sync.last', { ago: formatAgo(s.last_sync_ms) }) : t('sync.never'));
  parts.push(t('sync.queued', { count: s.outbox ?? 0 }));
  pill.textContent = parts.join(' · ');
  if (ctx.view && ctx.view.onStatus) ctx.view.onStatus(s);
  banner.hidden = Boolean(s.relay_reachable);
  banner.textContent = t('sync.offline_banner');
  // Problems are shown loudly and stay until the member says they read them.
  const list = [...(s.problems || [])];
  clear(problems);
  if (s.log_alarm) list.unshift({ id: null, text: t('problems.log_alarm', { reason: s.log_alarm_reason || '' }) });
  problems.hidden = list.length === 0;
  if (list.length) {
    const ul = h('ul');
    for (const p of list) {
      ul.append(h('li', p.text, p.at_ms ? h('span.muted.small', ` (${formatAgo(p.at_ms)})`) : null));
    }
    const dismissable = list.filter((p) => p.id !== null && p.id !== undefined).map((p) => p.id);
    problems.append(h('div.problem-box',
      h('h2', { text: t('problems.title') }),
      h('p', { text: t('problems.intro') }),
      ul,
      dismissable.length ? h('button.secondary', {
        type: 'button',
        text: t('problems.dismiss'),
        onclick: async () => {
          try {
            await api.post('/api/problems/dismiss', { ids: dismissable });
            await refreshStatus();
          } catch (err) { toast(errorText(err)); }
        },
      }) : null));
  }
}

async function refreshStatus() {
  if (!ctx.state || ctx.state.store !== 'unlocked' || !ctx.state.joined) return;
  try {
    ctx.status = await api.get('/api/status');
  } catch (err) {
    if (err.status !== 423) ctx.status = { relay_reachable: false, outbox: '?', problems: [] };
  }
  renderSync();
}

async function reloadState() {
  const prev = ctx.state;
  ctx.state = await api.get('/api/state');
  if (!prev || prev.language !== ctx.state.language) await setLanguage(ctx.state.language || 'en');
  if (ctx.state.store === 'unlocked' && ctx.state.joined) {
    try { ctx.me = await api.get('/api/whoami'); } catch (err) { ctx.me = null; }
  } else {
    ctx.me = null;
    ctx.status = null;
  }
  renderChrome();
  await refreshStatus();
  return ctx.state;
}

// The store was locked (Lock button, idle timeout, or another tab): forget
// everything shown and go back to the unlock screen.
async function onLocked() {
  ctx.me = null;
  ctx.status = null;
  ctx.notices = [];
  clear(main);
  try {
    await reloadState();
  } catch (err) {
    ctx.state = { ...(ctx.state || {}), store: 'locked' };
    renderChrome();
  }
  route();
}
setLockedHandler(() => {
  if (ctx.state && ctx.state.store === 'unlocked') onLocked();
});

// Live updates: the server says what changed; the screen re-fetches it.
let events = null;
function connectEvents() {
  if (events) events.close();
  events = new EventSource('/api/events');
  events.addEventListener('changed', (e) => {
    let what = [];
    try { what = JSON.parse(e.data).what || []; } catch (err) { what = []; }
    onChanged(what);
  });
  events.addEventListener('sync', (e) => {
    try {
      const r = JSON.parse(e.data);
      for (const n of r.notices || []) ctx.notices.push(n);
      if ((r.notices || []).length && ctx.view && ctx.view.onNotice) ctx.view.onNotice();
    } catch (err) { /* a malformed event is ignored; the next one refreshes */ }
    refreshStatus();
  });
  events.addEventListener('locked', () => onLocked());
  events.addEventListener('error', () => {
    if (events.readyState === EventSource.CLOSED) setTimeout(connectEvents, 3000);
  });
}

let changeTimer = null;
const pendingWhat = new Set();
function onChanged(what) {
  for (const w of what) pendingWhat.add(w);
  clearTimeout(changeTimer);
  changeTimer = setTimeout(() => inBackground(async () => {
    const w = [...pendingWhat];
    pendingWhat.clear();
    if (w.includes('state') || w.includes('settings')) {
      const before = ctx.state && ctx.state.store;
      await reloadState();
      if (before !== ctx.state.store) { await route(); return; }
    }
    if (w.includes('status') || w.includes('problems')) await refreshStatus();
    const v = ctx.view;
    if (v && v.live && v.live.some((x) => w.includes(x)) && !editing()) await route(true);
  }), 150);
}

// True while the member is typing in a form on the screen: a live update
// must never throw away what they typed.
function editing() {
  const a = document.activeElement;
  if (a && main.contains(a) && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName)) return true;
  return Boolean(main.querySelector('[data-dirty="1"]'));
}

document.getElementById('lock-button').addEventListener('click', async () => {
  try {
    await api.post('/api/lock');
  } catch (err) {
    toast(errorText(err));
  }
  await onLocked();
  toast(t('lock.done'));
});

window.addEventListener('hashchange', route);
setInterval(renderSync, 30000);

async function boot() {
  try {
    await startSession();
  } catch (err) { /* shown below as an unauthorised state */ }
  try {
    await reloadState();
  } catch (err) {
    await setLanguage(navigator.language && navigator.language.startsWith('es') ? 'es' : 'en');
    clear(main);
    main.append(h('div.narrow.panel', h('h1', { text: t('boot.title') }),
      h('p', { role: 'alert', text: err.status === 401 ? t('boot.no_token') : errorText(err) })));
    return;
  }
  connectEvents();
  route();
}

boot();
