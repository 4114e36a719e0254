// The message catalogue: every word the page shows comes from
// i18n/<lang>.json (English and Spanish, the same keys; a test checks).
let messages = {};
let fallback = {};
let current = 'en';
export const LANGUAGES = ['en', 'es'];

async function fetchCatalogue(lang) {
  const r = await fetch(`/assets/i18n/${lang}.json`, { credentials: 'same-origin' });
  if (!r.ok) throw new Error(`catalogue ${lang}: ${r.status}`);
  return r.json();
}

export async function setLanguage(lang) {
  if (!LANGUAGES.includes(lang)) lang = 'en';
  if (!Object.keys(fallback).length) fallback = await fetchCatalogue('en');
  messages = lang === 'en' ? fallback : await fetchCatalogue(lang);
  current = lang;
  document.documentElement.lang = lang;
  applyStatic(document);
}

export function language() {
  return current;
}

// t('header.who', {name: 'Vic', role: ...}) -> the message with {name} filled in.
export function t(key, params) {
  let s = messages[key] ?? fallback[key];
  if (s === undefined) {
    console.warn('i18n: missing', key);
    s = key;
  }
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

export function has(key) {
  return key in messages || key in fallback;
}

// Elements of the static page carry data-i18n="key" (their text) and
// data-i18n-attr="attribute:key;attribute:key".
export function applyStatic(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':');
      if (attr && key) el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
  document.title = t('app.title');
}

// Dates and times in the member's language and time zone.
export function formatTime(value) {
  const d = typeof value === 'number' ? new Date(value) : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return new Intl.DateTimeFormat(current, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

export function formatDay(d) {
  return new Intl.DateTimeFormat(current, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }).format(d);
}

export function formatClock(d) {
  return new Intl.DateTimeFormat(current, { timeStyle: 'short' }).format(d);
}

// "2 minutes ago" style, for the last sync.
export function formatAgo(ms) {
  const secs = Math.round((Date.now() - ms) / 1000);
  const rtf = new Intl.RelativeTimeFormat(current, { numeric: 'auto' });
  if (Math.abs(secs) < 60) return rtf.format(-secs, 'second');
  if (Math.abs(secs) < 3600) return rtf.format(-Math.round(secs / 60), 'minute');
  if (Math.abs(secs) < 86400) return rtf.format(-Math.round(secs / 3600), 'hour');
  return rtf.format(-Math.round(secs / 86400), 'day');
}
