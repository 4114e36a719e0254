// First run (create the device store, then join), unlock.
import { api } from '../api.js';
import { t } from '../i18n.js';
import { h, field, newId } from '../dom.js';

// A rough strength estimate (bits of a random choice from the character
// classes used); it is a hint, not a rule: the store takes any passphrase.
export function strength(p) {
  if (!p) return 0;
  let pool = 0;
  if (/[a-z]/.test(p)) pool += 26;
  if (/[A-Z]/.test(p)) pool += 26;
  if (/[0-9]/.test(p)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(p)) pool += 33;
  const bits = p.length * Math.log2(Math.max(pool, 2));
  const words = p.trim().split(/\s+/).length;
  if (bits >= 70 || (words >= 4 && p.length >= 20)) return 3;
  if (bits >= 45) return 2;
  return 1;
}

function passphraseField(labelKey, hintKey, autocomplete) {
  return field(labelKey, 'input', { type: 'password', autocomplete, required: true, hint: hintKey });
}

export async function renderInit(ctx) {
  const p1 = passphraseField('init.passphrase', 'init.passphrase_hint', 'new-password');
  const p2 = passphraseField('init.repeat', null, 'new-password');
  const meterBar = h('span');
  const meterText = h('p.hint', { 'aria-live': 'polite', id: newId('strength') });
  p1.input.setAttribute('aria-describedby', `${p1.input.getAttribute('aria-describedby')} ${meterText.id}`);
  const err = h('p.error', { role: 'alert' });
  const submit = h('button', { type: 'submit', text: t('init.create') });
  p1.input.addEventListener('input', () => {
    const s = strength(p1.input.value);
    meterBar.className = s ? `s${s}` : '';
    meterText.textContent = s ? t(`strength.${s}`) : '';
  });
  const form = h('form', {
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      if (!p1.input.value) { err.textContent = t('init.empty'); p1.input.focus(); return; }
      if (p1.input.value !== p2.input.value) { err.textContent = t('init.mismatch'); p2.input.focus(); return; }
      submit.disabled = true;
      try {
        await api.post('/api/init', { passphrase: p1.input.value });
        p1.input.value = '';
        p2.input.value = '';
        await ctx.reloadState();
        ctx.go('/');
      } catch (ex) {
        err.textContent = ctx.errorText(ex);
      } finally {
        submit.disabled = false;
      }
    },
  }, p1.row, h('div.meter', { 'aria-hidden': 'true' }, meterBar), meterText, p2.row, err, submit);
  return {
    title: t('init.title'),
    node: h('div.narrow', h('section.panel', { 'aria-labelledby': 'init-h' },
      h('h1#init-h', { text: t('init.title') }),
      h('p', { text: t('init.intro') }),
      h('p.muted', { text: t('init.intro_2') }),
      form)),
    focus: p1.input,
  };
}

export async function renderJoin(ctx) {
  const code = field('join.code', 'textarea', { required: true, hint: 'join.code_hint', class: 'code', autocomplete: 'off', spellcheck: 'false' });
  const err = h('p.error', { role: 'alert' });
  const result = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', text: t('join.submit') });
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      const value = code.input.value.trim();
      if (!value) { err.textContent = t('join.empty'); code.input.focus(); return; }
      submit.disabled = true;
      try {
        const r = await api.post('/api/join', { code: value });
        code.input.value = '';
        form.hidden = true;
        result.append(joinedPanel(ctx, r));
        result.querySelector('h2').focus();
      } catch (ex) {
        err.textContent = ctx.errorText(ex);
      } finally {
        submit.disabled = false;
      }
    },
  }, code.row, err, submit);
  return {
    title: t('join.title'),
    node: h('div.narrow', h('section.panel', { 'aria-labelledby': 'join-h' },
      h('h1#join-h', { text: t('join.title') }),
      h('p', { text: t('join.intro') }),
      form, result)),
    focus: code.input,
  };
}

function joinedPanel(ctx, r) {
  const done = h('button', {
    type: 'button',
    text: t('join.continue'),
    onclick: async () => { await ctx.reloadState(); ctx.go('/'); },
  });
  if (r.linking) {
    return h('div.success-panel',
      h('h2', { tabindex: '-1', text: t('join.linked_title', { name: r.name }) }),
      h('p', { text: t('join.sas_intro') }),
      h('p.sas', { 'aria-label': t('join.sas_label', { code: r.sas.replace(/\D/g, '').split('').join(' ') }), text: r.sas }),
      h('p', { text: t('join.sas_then') }),
      done);
  }
  return h('div.success-panel',
    h('h2', { tabindex: '-1', text: t('join.joined_title', { name: r.name, role: t(`role.${r.role}`) }) }),
    h('dl.facts',
      h('dt', { text: t('join.relay_fingerprint') }), h('dd.fingerprint', { text: r.relay_fingerprint }),
      h('dt', { text: t('join.safety_number') }), h('dd.fingerprint', { text: r.safety_number })),
    h('p', { text: t('join.relay_check') }),
    h('p', { text: t('join.safety_check') }),
    done);
}

export async function renderUnlock(ctx) {
  const pass = field('unlock.passphrase', 'input', { type: 'password', autocomplete: 'current-password', required: true });
  const err = h('p.error#unlock-error', { role: 'alert' });
  const submit = h('button', { type: 'submit', text: t('unlock.submit') });
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      if (!pass.input.value) { err.textContent = t('unlock.empty'); pass.input.focus(); return; }
      submit.disabled = true;
      try {
        await api.post('/api/unlock', { passphrase: pass.input.value });
        pass.input.value = '';
        await ctx.reloadState();
        ctx.go('/');
      } catch (ex) {
        pass.input.value = '';
        err.textContent = ctx.errorText(ex);
        pass.input.focus();
      } finally {
        submit.disabled = false;
      }
    },
  }, pass.row, err, submit);
  return {
    title: t('unlock.title'),
    node: h('div.narrow', h('section.panel', { 'aria-labelledby': 'unlock-h' },
      h('h1#unlock-h', { text: t('unlock.title') }),
      h('p', { text: t('unlock.intro') }),
      form,
      h('p.muted.small', { text: t('unlock.locked_note') }))),
    focus: pass.input,
  };
}
