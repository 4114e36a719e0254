// Coordinators invite volunteers and legal advisers: the code is shown once.
import { api } from '../api.js';
import { t } from '../i18n.js';
import { h, field, copyButton } from '../dom.js';
import { trackDirty } from './common.js';

export async function render(ctx) {
  const role = field('invite.role', 'select', {}, [
    h('option', { value: 'volunteer', text: t('role.volunteer') }),
    h('option', { value: 'legal', text: t('role.legal') }),
  ]);
  const name = field('invite.name', 'input', { required: true, autocomplete: 'off', hint: 'invite.name_hint' });
  const hours = field('invite.hours', 'input', { type: 'number', min: '1', max: '720', value: '72' });
  const err = h('p.error', { role: 'alert' });
  const out = h('div');
  const submit = h('button', { type: 'submit', text: t('invite.create') });
  const form = trackDirty(h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      if (!name.input.value.trim()) { err.textContent = t('invite.need_name'); name.input.focus(); return; }
      submit.disabled = true;
      try {
        const r = await api.post('/api/invites', {
          role: role.input.value, name: name.input.value.trim(), expires_hours: Number(hours.input.value) || 72,
        });
        const code = h('textarea.code#invite-code', { readOnly: true, rows: '3', 'aria-label': t('invite.code_label'), value: r.code });
        const copied = h('span.small', { 'aria-live': 'polite' });
        out.replaceChildren(h('section.panel', { 'aria-labelledby': 'code-h' },
          h('h2#code-h', { tabindex: '-1', text: t('invite.code_title', { name: name.input.value.trim() }) }),
          h('p.notice', { text: t('invite.once') }),
          code, h('div.row', copyButton(code, copied), copied),
          h('p', { text: t('invite.handover') })));
        name.input.value = '';
        delete form.dataset.dirty;
        out.querySelector('h2').focus();
      } catch (ex) {
        err.textContent = ctx.errorText(ex);
      } finally {
        submit.disabled = false;
      }
    },
  }, role.row, name.row, hours.row, err, submit));
  return {
    title: t('invite.title'),
    node: h('div', h('h1', { text: t('invite.title') }), h('p', { text: t('invite.intro') }),
      h('div.cols', h('section.panel', form), out)),
  };
}
