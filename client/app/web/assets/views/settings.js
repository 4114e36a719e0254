// Settings: language, idle timeout, passphrase, backup, timestamp authorities.
import { api } from '../api.js';
import { t, formatTime, LANGUAGES } from '../i18n.js';
import { h, field } from '../dom.js';

function panel(id, titleKey, ...children) {
  return h('section.panel', { 'aria-labelledby': id }, h('h2', { id, text: t(titleKey) }), ...children);
}

function formWith(ctx, onsubmit, ...children) {
  const msg = h('p', { role: 'status' });
  const err = h('p.error', { role: 'alert' });
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      msg.textContent = '';
      err.textContent = '';
      try {
        msg.textContent = await onsubmit();
      } catch (ex) {
        err.textContent = ex.userText || ctx.errorText(ex);
      }
    },
  }, ...children, err, msg);
  return form;
}

export async function render(ctx) {
  const [settings, tsas] = await Promise.all([api.get('/api/settings'), api.get('/api/tsas').catch(() => [])]);

  const lang = field('settings.language', 'select', {}, LANGUAGES.map((l) => h('option', { value: l, selected: l === settings.language, text: t(`language.${l}`) })));
  const idle = field('settings.idle', 'input', { type: 'number', min: '1', max: '720', value: String(settings.idle_minutes), hint: 'settings.idle_hint' });
  const general = formWith(ctx, async () => {
    await api.put('/api/settings', { language: lang.input.value, idle_minutes: Number(idle.input.value) });
    await ctx.reloadState();
    ctx.go('/settings');
    return t('settings.saved');
  }, lang.row, idle.row, h('button', { type: 'submit', text: t('settings.save') }));

  const oldP = field('settings.old_passphrase', 'input', { type: 'password', autocomplete: 'current-password' });
  const newP = field('settings.new_passphrase', 'input', { type: 'password', autocomplete: 'new-password' });
  const newP2 = field('settings.repeat_passphrase', 'input', { type: 'password', autocomplete: 'new-password' });
  const pass = formWith(ctx, async () => {
    if (!newP.input.value) throw Object.assign(new Error(), { userText: t('init.empty') });
    if (newP.input.value !== newP2.input.value) throw Object.assign(new Error(), { userText: t('init.mismatch') });
    try {
      await api.post('/api/passphrase', { old: oldP.input.value, new: newP.input.value });
    } finally {
      oldP.input.value = '';
      newP.input.value = '';
      newP2.input.value = '';
    }
    return t('settings.passphrase_changed');
  }, oldP.row, newP.row, newP2.row, h('button', { type: 'submit', text: t('settings.change_passphrase') }));

  const out = field('settings.backup_path', 'input', { autocomplete: 'off', hint: 'settings.backup_hint' });
  const backup = formWith(ctx, async () => {
    const r = await api.post('/api/backup', { out: out.input.value.trim() });
    return t('settings.backup_done', { files: (r.files || []).join(', ') });
  }, out.row, h('button', { type: 'submit', text: t('settings.backup') }));

  const url = field('settings.tsa_url', 'input', { type: 'url', autocomplete: 'off', hint: 'settings.tsa_url_hint' });
  const ca = field('settings.tsa_ca', 'input', { type: 'file', accept: '.pem,.crt', hint: 'settings.tsa_ca_hint' });
  const tsa = formWith(ctx, async () => {
    const f = ca.input.files[0];
    if (!url.input.value || !f) throw Object.assign(new Error(), { userText: t('settings.tsa_need') });
    await api.post('/api/tsas', { url: url.input.value.trim(), ca_pem: await f.text() });
    ctx.go('/settings');
    return t('settings.tsa_added');
  }, url.row, ca.row, h('button', { type: 'submit', text: t('settings.tsa_add') }));

  return {
    title: t('settings.title'),
    node: h('div', h('h1', { text: t('settings.title') }),
      h('div.cols',
        panel('set-g', 'settings.general', general),
        panel('set-p', 'settings.passphrase', h('p.muted', { text: t('settings.passphrase_intro') }), pass),
        panel('set-b', 'settings.backup_title', h('p.muted', { text: t('settings.backup_intro') }), backup),
        panel('set-t', 'settings.tsas',
          tsas.length ? h('ul', tsas.map((x) => h('li', { text: `${x.url} (${formatTime(x.added_at)})` }))) : h('p.muted', { text: t('settings.no_tsas') }),
          h('p.muted', { text: t('settings.tsa_intro') }), tsa))),
  };
}
