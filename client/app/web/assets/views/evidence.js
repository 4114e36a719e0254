// Evidence: stamp and export notes or visits, verify a bundle (.zip).
import { api, enc } from '../api.js';
import { t, formatTime } from '../i18n.js';
import { h, field } from '../dom.js';
import { zipFolder } from '../zip.js';

export async function render(ctx) {
  const [visits, notes] = await Promise.all([api.get('/api/visits'), api.get('/api/notes').catch(() => [])]);
  const byVisit = new Map(visits.map((v) => [v.id, v]));

  const noteRows = notes.map((n) => {
    const v = byVisit.get(n.visit_id) || {};
    const last = n.versions[n.versions.length - 1] || {};
    return h('tr',
      h('th', { scope: 'row' }, h('a', { href: `#/note/${n.id}`, text: v.detainee || n.visit_id.slice(0, 8) })),
      h('td', { text: last.author || '' }),
      h('td', { text: last.created_at ? formatTime(last.created_at) : '' }),
      h('td', { text: String(n.versions.length) }),
      h('td', h('a.button', { href: `/api/export?note=${enc(n.id)}`, download: '', text: t('evidence.export_note') })));
  });
  const visitRows = visits.map((v) => h('tr',
    h('th', { scope: 'row' }, h('a', { href: `#/visit/${v.id}`, text: v.detainee })),
    h('td', { text: v.facility }),
    h('td', { text: formatTime(v.at) }),
    h('td', h('a.button', { href: `/api/export?visit=${enc(v.id)}`, download: '', text: t('evidence.export_visit') }))));

  const file = field('evidence.bundle', 'input', { type: 'file', accept: '.zip,application/zip', hint: 'evidence.bundle_hint' });
  const folder = field('evidence.folder', 'input', { type: 'file', webkitdirectory: true, hint: 'evidence.folder_hint' });
  // One source at a time: choosing a folder clears the .zip and back.
  file.input.addEventListener('change', () => { folder.input.value = ''; });
  folder.input.addEventListener('change', () => { file.input.value = ''; });
  const claims = h('div', { 'aria-live': 'polite' });
  const verifyBtn = h('button', { type: 'submit', text: t('evidence.verify') });
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      claims.replaceChildren();
      const f = file.input.files[0] || (folder.input.files.length ? await zipFolder(folder.input.files) : null);
      if (!f) { claims.append(h('p.error', { role: 'alert', text: t('evidence.pick') })); return; }
      verifyBtn.disabled = true;
      claims.append(h('p', { text: t('evidence.checking') }));
      try {
        const r = await api.raw('/api/verify', f, 'application/zip');
        claims.replaceChildren(
          h(r.ok ? 'p.success' : 'p.warning-loud', { text: r.ok ? t('evidence.all_ok') : t('evidence.failed') }),
          h('ul.claims', (r.lines || []).map((l) => h(`li.${l.ok ? 'ok' : 'bad'}`,
            h('span', { text: l.ok ? `✓ ${t('evidence.claim_ok')}: ` : `✗ ${t('evidence.claim_bad')}: ` }), l.text))));
      } catch (ex) {
        claims.replaceChildren(h('p.error', { role: 'alert', text: ctx.errorText(ex) }));
      } finally {
        verifyBtn.disabled = false;
      }
    },
  }, file.row, folder.row, verifyBtn);

  const table = (heads, rows, emptyKey) => (rows.length ? h('div.table-wrap', h('table',
    h('thead', h('tr', heads.map((k) => h('th', { scope: 'col', text: t(k) })))), h('tbody', rows)))
    : h('p.muted', { text: t(emptyKey) }));

  return {
    title: t('evidence.title'),
    live: ['notes', 'visits'],
    node: h('div', h('h1', { text: t('evidence.title') }),
      h('p', { text: t('evidence.intro') }),
      h('section.panel', { 'aria-labelledby': 'ver-h' }, h('h2#ver-h', { text: t('evidence.verify_title') }),
        h('p', { text: t('evidence.verify_intro') }), form, claims),
      h('section.panel', { 'aria-labelledby': 'en-h' }, h('h2#en-h', { text: t('evidence.notes') }),
        table(['evidence.h_detainee', 'evidence.h_author', 'evidence.h_latest', 'evidence.h_versions', 'evidence.h_export'], noteRows, 'evidence.no_notes')),
      h('section.panel', { 'aria-labelledby': 'ev-h' }, h('h2#ev-h', { text: t('evidence.visits') }),
        table(['evidence.h_detainee', 'evidence.h_facility', 'evidence.h_when', 'evidence.h_export'], visitRows, 'evidence.no_visits'))),
  };
}
