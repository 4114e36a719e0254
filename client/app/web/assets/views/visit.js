// One visit: who, whom, where, when, its status and history, its notes, and
// what this member may do with it.
import { api, enc } from '../api.js';
import { t, formatTime } from '../i18n.js';
import { h, field } from '../dom.js';
import { statusBadge, short } from './common.js';

export async function render(ctx, id) {
  const [v, notes] = await Promise.all([
    api.get(`/api/visits/${enc(id)}`),
    api.get(`/api/notes?visit=${enc(id)}`).catch(() => []),
  ]);
  const me = ctx.state.name;
  const role = ctx.state.role;
  const onTeam = (v.volunteers || []).includes(me);
  const msg = h('p', { 'aria-live': 'polite' });
  const err = h('p.error', { role: 'alert' });

  async function act(action, reason) {
    err.textContent = '';
    try {
      const r = await api.post(`/api/visits/${enc(v.id)}/${action}`, reason !== undefined ? { reason } : {});
      ctx.toast(r && r.queued ? t('visit.done_queued') : t('visit.done_sent'));
      ctx.go(`/visit/${v.id}`);
    } catch (ex) {
      err.textContent = ctx.errorText(ex);
    }
  }

  const actions = h('div.row');
  const reasonBox = h('div');
  const open = !['cancelled', 'completed'].includes(v.status);
  if (role === 'volunteer' && onTeam && open) {
    if (v.status !== 'accepted') actions.append(h('button', { type: 'button', text: t('visit.accept'), onclick: () => act('accept') }));
    if (v.status === 'accepted') actions.append(h('button', { type: 'button', text: t('visit.complete'), onclick: () => act('complete') }));
    actions.append(h('button.secondary', {
      type: 'button',
      text: t('visit.decline'),
      onclick: () => showReason('visit.decline_reason', 'visit.decline_confirm', 'decline', true),
    }));
  }
  if (role === 'coordinator' && open) {
    actions.append(h('button.danger', {
      type: 'button',
      text: t('visit.cancel'),
      onclick: () => showReason('visit.cancel_reason', 'visit.cancel_confirm', 'cancel', false),
    }));
  }
  function showReason(labelKey, confirmKey, action, required) {
    reasonBox.replaceChildren();
    const r = field(labelKey, 'textarea', { required });
    const e2 = h('p.error', { role: 'alert' });
    reasonBox.append(h('form.panel', {
      'data-dirty': '1',
      onsubmit: (e) => {
        e.preventDefault();
        const text = r.input.value.trim();
        if (required && !text) { e2.textContent = t('visit.reason_needed'); r.input.focus(); return; }
        act(action, text);
      },
    }, r.row, e2, h('div.row', h('button', { type: 'submit', text: t(confirmKey) }),
      h('button.secondary', { type: 'button', text: t('common.cancel'), onclick: () => reasonBox.replaceChildren() }))));
    r.input.focus();
  }

  const canWrite = (onTeam || role === 'volunteer') && v.status !== 'cancelled';
  const noteList = h('ul.visits', notes.map((n) => {
    const last = n.versions[n.versions.length - 1] || {};
    return h('li', h('a.visit-card', { href: `#/note/${n.id}` },
      h('div.spread', h('strong', { text: t('note.by', { author: last.author || '?' }) }),
        h('span.muted.small', { text: t('note.version_count', { count: n.versions.length }) })),
      h('div', { text: (last.text || '').slice(0, 160) }),
      (n.problems || []).length ? h('div.error', { text: t('note.has_problems') }) : null));
  }));

  const events = h('div.table-wrap', h('table',
    h('caption.muted.small', { text: t('visit.history_caption') }),
    h('thead', h('tr', ['visit.h_when', 'visit.h_who', 'visit.h_what', 'visit.h_reason', 'visit.h_check'].map((k) => h('th', { scope: 'col', text: t(k) })))),
    h('tbody', (v.events || []).map((e) => h('tr',
      h('td', { text: formatTime(e.created_at) }),
      h('td', { text: e.author }),
      h('td', { text: t(`event.${e.kind}`) }),
      h('td', { text: e.reason || '' }),
      h('td', e.status === 'ok' ? h('span.badge.ok', { text: t('event.ok') })
        : h('span.badge.bad', { text: `${t(`event.status.${e.status}`)}${e.problem ? ': ' + e.problem : ''}` })))))));

  return {
    title: t('visit.title', { detainee: v.detainee }),
    live: ['visits', 'notes'],
    node: h('div',
      h('p', h('a', { href: '#/', text: t('common.back_home') })),
      h('div.spread', h('h1', { text: t('visit.title', { detainee: v.detainee || t('visit.no_detainee') }) }), statusBadge(v.status)),
      h('div.cols',
        h('section.panel', { 'aria-labelledby': 'vd-h' },
          h('h2#vd-h', { text: t('visit.details') }),
          h('dl.facts',
            h('dt', { text: t('visit.detainee') }), h('dd', { text: v.detainee }),
            h('dt', { text: t('visit.a_number') }), h('dd', { text: v.a_number || t('visit.none') }),
            h('dt', { text: t('visit.facility') }), h('dd', { text: v.facility }),
            h('dt', { text: t('visit.at') }), h('dd', { text: formatTime(v.at) }),
            h('dt', { text: t('visit.coordinator') }), h('dd', { text: v.coordinator }),
            h('dt', { text: t('visit.volunteers') }), h('dd', { text: (v.volunteers || []).join(', ') || t('visit.none') }),
            h('dt', { text: t('visit.legal') }), h('dd', { text: (v.legal || []).join(', ') || t('visit.none') }),
            h('dt', { text: t('visit.id') }), h('dd.fingerprint.small', { text: short(v.id) }))),
        h('section.panel', { 'aria-labelledby': 'va-h' },
          h('h2#va-h', { text: t('visit.actions') }),
          actions.childNodes.length ? actions : h('p.muted', { text: t('visit.no_actions') }),
          reasonBox, err, msg,
          h('h3', { text: t('visit.evidence') }),
          h('p', h('a.button', { href: `/api/export?visit=${enc(v.id)}`, download: '', text: t('visit.export') })))),
      h('section.panel', { 'aria-labelledby': 'vn-h' },
        h('div.spread', h('h2#vn-h', { text: t('visit.notes') }),
          canWrite ? h('a.button', { href: `#/visit/${v.id}/write`, text: t('visit.write_note') }) : null),
        notes.length ? noteList : h('p.muted', { text: t('visit.no_notes') })),
      h('section.panel', { 'aria-labelledby': 'vh-h' },
        h('h2#vh-h', { text: t('visit.history') }), events)),
  };
}
