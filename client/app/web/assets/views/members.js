// Members: names, roles, safety numbers, verify in person, identity-change warnings.
import { api } from '../api.js';
import { t } from '../i18n.js';
import { h, field } from '../dom.js';
import { roleName } from './common.js';

export async function render(ctx) {
  const [members, me] = await Promise.all([api.get('/api/members'), api.get('/api/whoami').catch(() => ctx.me)]);
  const warnings = members.filter((m) => m.warning);
  const verifyBox = h('div');

  function startVerify(m) {
    verifyBox.replaceChildren();
    const fp = field('members.verify_digits', 'input', { autocomplete: 'off', inputmode: 'numeric', hint: 'members.verify_hint' });
    const err = h('p.error', { role: 'alert' });
    verifyBox.append(h('section.panel', { 'aria-labelledby': 'ver-h' },
      h('h2#ver-h', { tabindex: '-1', text: t('members.verify_title', { name: m.name }) }),
      h('ol', h('li', { text: t('members.verify_step1', { name: m.name }) }),
        h('li', { text: t('members.verify_step2') }),
        h('li', { text: t('members.verify_step3') })),
      h('p', { text: t('members.listed_number') }), h('p.fingerprint', { text: m.identity_fingerprint }),
      h('form', {
        'data-dirty': '1',
        onsubmit: async (e) => {
          e.preventDefault();
          err.textContent = '';
          try {
            await api.post('/api/members/verify', { name: m.name, fingerprint: fp.input.value.replace(/\s+/g, '') });
            ctx.toast(t('members.verified_ok', { name: m.name }));
            ctx.go('/members');
          } catch (ex) {
            err.textContent = ctx.errorText(ex);
          }
        },
      }, fp.row, err, h('div.row', h('button', { type: 'submit', text: t('members.verify_confirm') }),
        h('button.secondary', { type: 'button', text: t('common.cancel'), onclick: () => verifyBox.replaceChildren() })))));
    verifyBox.querySelector('h2').focus();
  }

  const rows = members.map((m) => h('tr',
    h('th', { scope: 'row', text: m.name }),
    h('td', { text: roleName(m.role) }),
    h('td.fingerprint', { text: m.identity_fingerprint }),
    h('td', m.verified ? h('span.badge.ok', { text: t('members.verified') }) : h('span.badge.pending', { text: t('members.not_verified') }),
      m.warning ? h('div.error', { text: m.warning }) : null),
    h('td', { text: String(m.devices) }),
    h('td', m.name === ctx.state.name ? h('span.muted', { text: t('members.you') })
      : h('button.secondary', { type: 'button', text: t('members.verify'), onclick: () => startVerify(m) }))));

  return {
    title: t('members.title'),
    live: ['members'],
    node: h('div', h('h1', { text: t('members.title') }),
      warnings.length ? h('div.warning-loud', { role: 'alert' },
        h('p', { text: t('members.identity_changed_title') }),
        h('ul', warnings.map((m) => h('li', { text: t('members.identity_changed', { name: m.name, warning: m.warning }) }))),
        h('p', { text: t('members.identity_changed_do') })) : null,
      me ? h('section.panel', { 'aria-labelledby': 'mine-h' },
        h('h2#mine-h', { text: t('members.my_number') }),
        h('p.fingerprint', { text: me.identity_fingerprint }),
        h('p.muted', { text: t('members.my_number_hint') })) : null,
      verifyBox,
      h('section.panel', { 'aria-labelledby': 'all-h' }, h('h2#all-h', { text: t('members.everyone') }),
        h('div.table-wrap', h('table',
          h('thead', h('tr', ['members.h_name', 'members.h_role', 'members.h_safety', 'members.h_verified', 'members.h_devices', 'members.h_action']
            .map((k) => h('th', { scope: 'col', text: t(k) })))),
          h('tbody', rows))))),
  };
}
