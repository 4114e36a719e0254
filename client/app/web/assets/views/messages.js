// Messages: conversations with members, compose, delivered or queued.
import { api } from '../api.js';
import { t, formatTime } from '../i18n.js';
import { h, field } from '../dom.js';
import { markMessagesSeen, trackDirty } from './common.js';

export async function render(ctx, withName) {
  const [msgs, members] = await Promise.all([api.get('/api/messages'), api.get('/api/members').catch(() => [])]);
  const me = ctx.state.name;
  const convs = new Map();
  const add = (who, m) => {
    if (!convs.has(who)) convs.set(who, []);
    convs.get(who).push(m);
  };
  let newest = 0;
  for (const m of msgs.inbox || []) {
    add(m.from, { ...m, mine: false, at: m.sent_at_ms || m.received_at_ms });
    newest = Math.max(newest, m.received_at_ms || 0);
  }
  for (const m of msgs.sent || []) add(m.to, { ...m, mine: true, at: m.sent_at_ms });
  markMessagesSeen(me, newest);
  const names = [...convs.keys()].sort((a, b) => {
    const la = Math.max(...convs.get(a).map((m) => m.at || 0));
    const lb = Math.max(...convs.get(b).map((m) => m.at || 0));
    return lb - la;
  });
  const selected = withName ? decodeURIComponent(withName) : names[0];

  const list = h('ul.conversations', names.map((n) => h('li', h('button', {
    type: 'button',
    'aria-pressed': n === selected ? 'true' : 'false',
    onclick: () => ctx.go(`/messages/${encodeURIComponent(n)}`),
    text: `${n} (${convs.get(n).length})`,
  }))));

  const thread = (convs.get(selected) || []).sort((a, b) => (a.at || 0) - (b.at || 0));
  const threadEl = h('ol.thread', { 'aria-label': t('messages.thread_with', { name: selected || '' }) },
    thread.map((m) => h(`li${m.mine ? '.mine' : ''}`,
      h('div.meta', m.mine ? t('messages.you') : m.from, ' · ', formatTime(m.at || 0),
        m.mine ? [' · ', h(`span.badge.${m.delivered ? 'delivered' : 'queued'}`, { text: m.delivered ? t('messages.delivered') : t('messages.queued') })] : null),
      h('div', { text: m.text }))));

  const others = members.filter((m) => m.name !== me).map((m) => m.name);
  const to = field('messages.to', 'select', {}, others.map((n) => h('option', { value: n, selected: n === selected, text: n })));
  const text = field('messages.text', 'textarea', { required: true });
  const err = h('p.error', { role: 'alert' });
  const send = h('button', { type: 'submit', text: t('messages.send') });
  const form = trackDirty(h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      if (!text.input.value.trim()) { err.textContent = t('messages.empty'); text.input.focus(); return; }
      send.disabled = true;
      try {
        const r = await api.post('/api/messages', { to: to.input.value, text: text.input.value });
        text.input.value = '';
        delete form.dataset.dirty;
        ctx.toast(r.delivered ? t('messages.sent_ok') : t('messages.sent_queued'));
        ctx.go(`/messages/${encodeURIComponent(to.input.value)}`);
      } catch (ex) {
        err.textContent = ctx.errorText(ex);
      } finally {
        send.disabled = false;
      }
    },
  }, to.row, text.row, err, send));

  return {
    title: t('messages.title'),
    live: ['messages'],
    node: h('div', h('h1', { text: t('messages.title') }),
      h('div.cols',
        h('section.panel', { 'aria-labelledby': 'conv-h' }, h('h2#conv-h', { text: t('messages.conversations') }),
          names.length ? list : h('p.muted', { text: t('messages.none') })),
        h('div',
          selected ? h('section.panel', { 'aria-labelledby': 'thr-h' }, h('h2#thr-h', { text: t('messages.with', { name: selected }) }), threadEl) : null,
          h('section.panel', { 'aria-labelledby': 'new-h' }, h('h2#new-h', { text: t('messages.compose') }),
            others.length ? form : h('p.muted', { text: t('messages.nobody') }))))),
  };
}
