// Devices: link a new one (code + the 6-digit comparison), list, revoke.
import { api, enc } from '../api.js';
import { t, formatTime } from '../i18n.js';
import { h, copyButton } from '../dom.js';
import { short } from './common.js';

// A sync notice about a linked device ends with its 6-digit code.
function linkedCodes(ctx) {
  return ctx.notices.map((n) => /linked a new device (\w+).*?(\d{3} ?\d{3})\s*$/.exec(n)).filter(Boolean)
    .map((m) => ({ device: m[1], sas: m[2] }));
}

export async function render(ctx) {
  const list = await api.get('/api/devices');
  const linkBox = h('div', { 'aria-live': 'polite' });
  const err = h('p.error', { role: 'alert' });
  const codes = linkedCodes(ctx);

  const linkBtn = h('button', {
    type: 'button',
    text: t('devices.link'),
    onclick: async () => {
      err.textContent = '';
      linkBtn.disabled = true;
      try {
        const r = await api.post('/api/devices/link');
        const code = h('textarea.code', { readOnly: true, 'aria-label': t('devices.code_label'), rows: '3', value: r.code });
        const copied = h('span.small', { 'aria-live': 'polite' });
        linkBox.replaceChildren(h('section.panel', { 'aria-labelledby': 'link-h' },
          h('h2#link-h', { text: t('devices.code_title') }),
          h('p', { text: t('devices.code_intro') }),
          code, h('div.row', copyButton(code, copied), copied),
          h('p.muted', { text: r.expires_ms ? t('devices.code_expires', { time: formatTime(r.expires_ms) }) : '' }),
          h('ol', h('li', { text: t('devices.step1') }), h('li', { text: t('devices.step2') }), h('li', { text: t('devices.step3') }))));
      } catch (ex) {
        err.textContent = ctx.errorText(ex);
      } finally {
        linkBtn.disabled = false;
      }
    },
  });

  const rows = list.map((d) => h('tr',
    h('th', { scope: 'row' }, h('span.fingerprint', { text: short(d.id) }), d.current ? h('span.badge.ok', { text: ` ${t('devices.this')}` }) : null),
    h('td', { text: d.created_at_ms ? formatTime(d.created_at_ms) : '' }),
    h('td.fingerprint.small', { text: d.fingerprint || '' }),
    h('td', d.current ? null : h('button.danger', {
      type: 'button',
      text: t('devices.revoke'),
      'aria-label': t('devices.revoke_label', { id: short(d.id) }),
      onclick: async () => {
        if (!window.confirm(t('devices.revoke_confirm', { id: short(d.id) }))) return;
        try {
          await api.post(`/api/devices/${enc(d.id)}/revoke`);
          ctx.toast(t('devices.revoked', { id: short(d.id) }));
          ctx.go('/devices');
        } catch (ex) {
          err.textContent = ctx.errorText(ex);
        }
      },
    }))));

  return {
    title: t('devices.title'),
    live: ['devices'],
    onNotice: () => ctx.go('/devices'),
    node: h('div', h('h1', { text: t('devices.title') }),
      codes.map((c) => h('section.panel', { role: 'alert' },
        h('h2', { text: t('devices.compare_title', { id: c.device }) }),
        h('p', { text: t('devices.compare_intro') }), h('p.sas', { text: c.sas }),
        h('p', { text: t('devices.compare_bad') }))),
      h('section.panel', h('p', { text: t('devices.intro') }), h('div.row', linkBtn), err),
      linkBox,
      h('section.panel', { 'aria-labelledby': 'dl-h' }, h('h2#dl-h', { text: t('devices.list') }),
        h('div.table-wrap', h('table',
          h('thead', h('tr', ['devices.h_id', 'devices.h_added', 'devices.h_fingerprint', 'devices.h_action'].map((k) => h('th', { scope: 'col', text: t(k) })))),
          h('tbody', rows))))),
  };
}
