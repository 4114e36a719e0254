// Notes: write (with a draft kept encrypted on this device), show every
// version side by side with author, signature and timestamps, amend.
import { api, enc } from '../api.js';
import { t, formatTime, formatClock } from '../i18n.js';
import { h, field } from '../dom.js';
import { short } from './common.js';

const MAX_ATTACHMENT = 25 * 1024 * 1024;

function signatureBadge(sig) {
  return sig === 'valid'
    ? h('span.badge.valid', { text: t('note.signature_valid') })
    : h('span.badge.invalid', { text: t('note.signature_invalid') });
}

// The sources the CLI names, in the member's language.
function sourceName(s) {
  const src = String(s.source || '');
  if (src.startsWith('author device clock')) return t('stamp.src_device');  // i18n-exempt: the CLI's words, compared
  if (src === 'received by this device') return t('stamp.src_received');  // i18n-exempt
  if (src === 'notary') return t('stamp.src_notary');
  if (src === 'tlog') return t('stamp.src_tlog');
  if (src.startsWith('rfc3161')) return t('stamp.src_rfc3161', { url: src.slice(7).trim() });
  return src;
}

function versionCard(note, v, latest) {
  const stamps = h('ul.stamps', (v.timestamps || []).map((s) => h('li',
    h('strong', { text: `${sourceName(s)}: ` }),
    s.time && (s.status === undefined || s.status === 'ok')
      ? formatTime(s.time)
      : h('span.badge.pending', { text: `${t(`stamp.${s.status}`)}${s.problem ? ' (' + s.problem + ')' : ''}` }))));
  const atts = (v.attachments || []).map((a) => h('li',
    h('a', { href: `/api/notes/${enc(note.id)}/versions/${v.version}/attachments/${a.index}`, download: a.name, text: a.name }),
    h('span.muted.small', { text: ` (${Math.ceil(a.size / 1024)} KB${a.status && a.status !== 'ok' ? ', ' + a.status : ''})` })));
  return h(`article.version${latest ? '.latest' : ''}`, { 'aria-label': t('note.version_n', { n: v.version }) },
    h('div.spread', h('h3', { text: t('note.version_n', { n: v.version }) }), signatureBadge(v.signature)),
    h('p', { text: t('note.written_by', { author: v.author, time: formatTime(v.created_at) }) }),
    v.status && v.status !== 'ok' ? h('p.warning-loud', { text: `${t(`note.status.${v.status}`)}${v.problem ? ': ' + v.problem : ''}` }) : null,
    h('div.text', { text: v.text }),
    atts.length ? h('div', h('h4', { text: t('note.attachments') }), h('ul', atts)) : null,
    h('h4', { text: t('note.timestamps') }), stamps,
    h('p.muted.small.fingerprint', { text: t('note.hash', { hash: short(v.hash) }) }));
}

function problemsBox(note) {
  if (!(note.problems || []).length) return null;
  return h('div.warning-loud', { role: 'alert' }, h('p', { text: t('note.problems_title') }),
    h('ul', note.problems.map((p) => h('li', { text: p }))));
}

export async function renderShow(ctx, id) {
  const n = await api.get(`/api/notes/${enc(id)}`);
  const out = h('p', { 'aria-live': 'polite' });
  const stampBtn = h('button.secondary', {
    type: 'button',
    text: t('note.stamp'),
    onclick: async () => {
      stampBtn.disabled = true;
      out.textContent = t('note.stamping');
      try {
        const r = await api.post(`/api/notes/${enc(n.id)}/stamp`, {});
        out.textContent = t('note.stamped', { stamped: r.stamped ?? 0, pending: r.pending ?? 0 });
      } catch (err) {
        out.textContent = ctx.errorText(err);
      } finally {
        stampBtn.disabled = false;
      }
    },
  });
  const canAmend = ctx.state.role === 'volunteer';
  // Whether what this device wrote has left it (the outbox is empty).
  const sendState = h('p#send-state', { role: 'status' });
  const onStatus = (st) => {
    sendState.className = st.outbox === 0 ? 'success' : 'notice';
    sendState.textContent = st.outbox === 0 ? t('note.all_sent') : t('note.waiting', { count: st.outbox ?? '?' });
  };
  onStatus(ctx.status || {});
  return {
    title: t('note.title'),
    live: ['notes'],
    onStatus,
    node: h('div',
      h('p', h('a', { href: `#/visit/${n.visit_id}`, text: t('note.back_visit') })),
      h('h1', { text: t('note.title_versions', { count: n.versions.length }) }),
      problemsBox(n),
      sendState,
      h('div.row',
        canAmend ? h('a.button', { href: `#/note/${n.id}/amend`, text: t('note.amend') }) : null,
        stampBtn,
        h('a.button', { href: `/api/export?note=${enc(n.id)}`, download: '', text: t('note.export') })),
      out,
      h('section', { 'aria-label': t('note.versions') },
        h('div.cols', n.versions.map((v, i) => versionCard(n, v, i === n.versions.length - 1))))),
  };
}

// The editor for a new note (key "new:<visit>") or an amendment ("amend:<note>").
async function editor(ctx, { draftKey, initial, submit, doneLink }) {
  let draft = null;
  try { draft = await api.get(`/api/drafts/${enc(draftKey)}`); } catch (err) { draft = null; }
  const text = field('note.text', 'textarea', { class: 'note-text', hint: 'note.text_hint', spellcheck: 'true' });
  text.input.value = draft ? draft.text : initial;
  const draftState = h('p.muted.small', { 'aria-live': 'polite',
    text: draft ? t('note.draft_restored', { time: formatClock(new Date(draft.updated_ms || Date.now())) }) : '' });
  const files = field('note.attach', 'input', { type: 'file', multiple: true, hint: 'note.attach_hint' });
  const err = h('p.error', { role: 'alert' });
  const result = h('div', { role: 'status' });
  const save = h('button', { type: 'submit', text: t('note.save') });
  let timer = null;
  let saving = Promise.resolve();
  const keepDraft = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      saving = api.put(`/api/drafts/${enc(draftKey)}`, { text: text.input.value })
        .then(() => { draftState.textContent = t('note.draft_kept', { time: formatClock(new Date()) }); })
        .catch((e) => { draftState.textContent = ctx.errorText(e); });
    }, 700);
  };
  text.input.addEventListener('input', keepDraft);
  const form = h('form', {
    'data-dirty': '1',
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      const chosen = [...files.input.files];
      if (!text.input.value.trim() && !chosen.length) { err.textContent = t('note.empty'); text.input.focus(); return; }
      for (const f of chosen) {
        if (f.size > MAX_ATTACHMENT) { err.textContent = t('note.too_big', { name: f.name }); return; }
      }
      save.disabled = true;
      clearTimeout(timer);
      try {
        const uploads = [];
        for (const f of chosen) {
          result.textContent = t('note.uploading', { name: f.name });
          const u = await api.raw(`/api/uploads?name=${enc(f.name)}`, f, 'application/octet-stream');
          uploads.push(u.upload);
        }
        const r = await submit(text.input.value, uploads);
        await saving;
        try { await api.del(`/api/drafts/${enc(draftKey)}`); } catch (e2) { /* no draft yet */ }
        form.hidden = true;
        result.replaceChildren(h(r.delivered ? 'p.success' : 'p.notice', { text: r.delivered ? t('note.delivered') : t('note.saved_offline') }),
          h('p', h('a.button', { href: doneLink(r), text: t('note.open') })));
      } catch (ex) {
        result.textContent = '';
        err.textContent = ctx.errorText(ex);
      } finally {
        save.disabled = false;
      }
    },
  }, text.row, draftState, files.row, err, h('div.row', save));
  return { form, result, focus: text.input };
}

export async function renderNew(ctx, visitId) {
  const v = await api.get(`/api/visits/${enc(visitId)}`);
  const ed = await editor(ctx, {
    draftKey: `new:${v.id}`,
    initial: '',
    submit: (text, attachments) => api.post('/api/notes', { visit: v.id, text, attachments }),
    doneLink: (r) => `#/note/${r.id}`,
  });
  return {
    title: t('note.write_title'),
    node: h('div',
      h('p', h('a', { href: `#/visit/${v.id}`, text: t('note.back_visit') })),
      h('h1', { text: t('note.write_for', { detainee: v.detainee }) }),
      h('p.muted', { text: t('note.write_intro') }),
      h('section.panel', ed.form, ed.result)),
    focus: ed.focus,
  };
}

export async function renderAmend(ctx, noteId) {
  const n = await api.get(`/api/notes/${enc(noteId)}`);
  const last = n.versions[n.versions.length - 1] || { text: '' };
  const ed = await editor(ctx, {
    draftKey: `amend:${n.id}`,
    initial: last.text,
    submit: (text, attachments) => api.post(`/api/notes/${enc(n.id)}/amend`, { text, attachments }),
    doneLink: () => `#/note/${n.id}`,
  });
  return {
    title: t('note.amend_title'),
    node: h('div',
      h('p', h('a', { href: `#/note/${n.id}`, text: t('note.back_note') })),
      h('h1', { text: t('note.amend_title') }),
      h('p.muted', { text: t('note.amend_intro') }),
      problemsBox(n),
      h('div.cols',
        h('section', { 'aria-label': t('note.earlier_versions') },
          h('h2', { text: t('note.earlier_versions') }),
          n.versions.slice().reverse().map((v, i) => versionCard(n, v, i === 0))),
        h('section.panel', { 'aria-labelledby': 'amend-h' }, h('h2#amend-h', { text: t('note.new_version') }), ed.form, ed.result))),
    focus: ed.focus,
  };
}
