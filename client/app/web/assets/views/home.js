// Home: visits by day (today, upcoming, past), unread messages, sync state,
// and for coordinators the form to assign a visit.
import { api } from '../api.js';
import { t, formatDay, formatClock, formatAgo } from '../i18n.js';
import { h, field, newId } from '../dom.js';
import { statusBadge, localToIso, messagesSeen, trackDirty } from './common.js';

function dayKey(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function visitCard(v) {
  const at = new Date(v.at);
  const team = [...(v.volunteers || []), ...(v.legal || [])].join(', ');
  return h('li', h('a.visit-card', { href: `#/visit/${v.id}` },
    h('div.spread', h('strong', { text: v.detainee || t('visit.no_detainee') }), statusBadge(v.status)),
    h('div', { text: `${Number.isNaN(at.getTime()) ? v.at : formatClock(at)} · ${v.facility}` }),
    team ? h('div.muted.small', { text: t('visit.team_line', { team }) }) : null));
}

function group(title, visits, emptyKey) {
  const byDay = new Map();
  for (const v of visits) {
    const d = new Date(v.at);
    const k = Number.isNaN(d.getTime()) ? v.at : dayKey(d);
    if (!byDay.has(k)) byDay.set(k, { d, list: [] });
    byDay.get(k).list.push(v);
  }
  const id = newId('g');
  const sec = h('section.panel', { 'aria-labelledby': id }, h('h2', { id, text: title }));
  if (!visits.length) sec.append(h('p.muted', { text: t(emptyKey) }));
  for (const { d, list } of byDay.values()) {
    sec.append(h('div.day',
      h('h3', { text: Number.isNaN(d.getTime()) ? '' : formatDay(d) }),
      h('ul.visits', list.map(visitCard))));
  }
  return sec;
}

export async function render(ctx) {
  const [visits, msgs] = await Promise.all([
    api.get('/api/visits'),
    api.get('/api/messages').catch(() => ({ inbox: [], sent: [] })),
  ]);
  const now = new Date();
  const today = dayKey(now);
  const sorted = [...visits].sort((a, b) => String(a.at).localeCompare(String(b.at)));
  const todays = [], upcoming = [], past = [];
  for (const v of sorted) {
    const d = new Date(v.at);
    const k = Number.isNaN(d.getTime()) ? '' : dayKey(d);
    if (k === today) todays.push(v);
    else if (d > now) upcoming.push(v);
    else past.push(v);
  }
  past.reverse();
  const name = ctx.state.name;
  const seen = messagesSeen(name);
  const unread = (msgs.inbox || []).filter((m) => (m.received_at_ms || 0) > seen).length;
  const s = ctx.status || {};

  // The sync facts follow /api/status as it changes (app.js calls onStatus).
  const dd = { relay: h('dd'), last: h('dd'), queued: h('dd'), stamps: h('dd') };
  const onStatus = (st) => {
    dd.relay.textContent = st.relay_reachable ? t('sync.online') : t('sync.offline');
    dd.last.textContent = st.last_sync_ms ? formatAgo(st.last_sync_ms) : t('sync.never');
    dd.queued.textContent = t('home.queued_count', { count: st.outbox ?? 0 });
    dd.stamps.textContent = String(st.pending_timestamps ?? 0);
  };
  onStatus(s);
  const syncMsg = h('p', { 'aria-live': 'polite' });
  const syncBtn = h('button.secondary', {
    type: 'button',
    text: t('home.sync_now'),
    onclick: async () => {
      syncBtn.disabled = true;
      syncMsg.textContent = t('sync.syncing');
      try {
        const r = await api.post('/api/sync');
        syncMsg.textContent = r.relay_reachable === false
          ? t('home.sync_offline', { outbox: r.outbox ?? 0 })
          : t('home.sync_done', { sent: r.sent ?? 0, received: r.received ?? 0, outbox: r.outbox ?? 0 });
        for (const n of r.notices || []) ctx.notices.push(n);
        await ctx.refreshStatus();
      } catch (err) {
        syncMsg.textContent = ctx.errorText(err);
      } finally {
        syncBtn.disabled = false;
      }
    },
  });

  const side = h('div',
    h('section.panel', { 'aria-labelledby': 'msg-h' },
      h('h2#msg-h', { text: t('home.messages') }),
      h('p', { text: unread ? t('home.unread', { count: unread }) : t('home.no_unread') }),
      h('a.button', { href: '#/messages', text: t('home.open_messages') })),
    h('section.panel', { 'aria-labelledby': 'sync-h' },
      h('h2#sync-h', { text: t('home.sync') }),
      h('dl.facts',
        h('dt', { text: t('home.relay') }), dd.relay,
        h('dt', { text: t('home.last_sync') }), dd.last,
        h('dt', { text: t('home.queued') }), dd.queued,
        h('dt', { text: t('home.pending_timestamps') }), dd.stamps),
      h('div.row', syncBtn), syncMsg));

  const isCoordinator = ctx.state.role === 'coordinator';
  const assign = isCoordinator ? await assignPanel(ctx) : null;

  return {
    title: t('home.title'),
    live: ['visits', 'messages'],
    onStatus,
    keepFocus: true,
    node: h('div',
      h('div.spread', h('h1', { text: t('home.greeting', { name }) }),
        isCoordinator ? h('button#assign-open', { type: 'button', text: t('assign.open'), onclick: () => {
          assign.hidden = false;
          assign.querySelector('input').focus();
        } }) : null),
      assign,
      h('div.cols',
        h('div', group(t('home.today'), todays, 'home.none_today'),
          group(t('home.upcoming'), upcoming, 'home.none_upcoming'),
          group(t('home.past'), past, 'home.none_past')),
        side)),
  };
}

async function assignPanel(ctx) {
  const members = await api.get('/api/members').catch(() => []);
  const checks = (role, legendKey) => {
    const list = members.filter((m) => m.role === role);
    return h('fieldset', h('legend', { text: t(legendKey) }),
      list.length ? list.map((m) => {
        const id = newId('c');
        return h('div.check', h('input', { type: 'checkbox', id, value: m.name, name: role }),
          h('label', { for: id, text: m.name }));
      }) : h('p.muted', { text: t('assign.nobody') }));
  };
  const vols = checks('volunteer', 'assign.volunteers');
  const legal = checks('legal', 'assign.legal');
  const detainee = field('assign.detainee', 'input', { required: true, autocomplete: 'off', name: 'detainee' });
  const anum = field('assign.a_number', 'input', { autocomplete: 'off', hint: 'assign.a_number_hint', name: 'a_number' });
  const facility = field('assign.facility', 'input', { required: true, name: 'facility' });
  const at = field('assign.at', 'input', { type: 'datetime-local', required: true, name: 'at' });
  const err = h('p.error', { role: 'alert' });
  const submit = h('button', { type: 'submit', text: t('assign.submit') });
  let panel;
  const form = trackDirty(h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      const body = {
        volunteers: [...vols.querySelectorAll('input:checked')].map((i) => i.value),
        legal: [...legal.querySelectorAll('input:checked')].map((i) => i.value),
        detainee: detainee.input.value.trim(),
        a_number: anum.input.value.trim(),
        facility: facility.input.value.trim(),
        at: localToIso(at.input.value),
      };
      if (!body.volunteers.length) { err.textContent = t('assign.need_volunteer'); return; }
      if (!body.detainee || !body.facility || !body.at) { err.textContent = t('assign.need_fields'); return; }
      submit.disabled = true;
      try {
        const r = await api.post('/api/visits', body);
        ctx.toast(r.queued ? t('assign.queued') : t('assign.sent'));
        ctx.go(`/visit/${r.id}`);
      } catch (ex) {
        err.textContent = ctx.errorText(ex);
      } finally {
        submit.disabled = false;
      }
    },
  }, h('div.grid', h('div', detainee.row, anum.row), h('div', facility.row, at.row)),
  h('div.grid', vols, legal), err,
  h('div.row', submit, h('button.secondary', { type: 'button', text: t('common.cancel'), onclick: () => { panel.hidden = true; } }))));
  panel = h('section.panel', { 'aria-labelledby': 'assign-h', hidden: true },
    h('h2#assign-h', { text: t('assign.title') }), form);
  return panel;
}
