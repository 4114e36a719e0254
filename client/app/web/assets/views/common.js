// Pieces shared by several screens.
import { t, formatTime } from '../i18n.js';
import { h } from '../dom.js';

export function statusBadge(status) {
  const known = ['assigned', 'accepted', 'declined', 'completed', 'cancelled', 'unknown'];
  const s = known.includes(status) ? status : 'unknown';
  return h(`span.badge.${s}`, { text: t(`visit.status.${s}`) });
}

export function short(id) {
  return String(id || '').slice(0, 8);
}

// datetime-local value ("2026-12-01T10:00") -> ISO 8601 with this
// computer's offset ("2026-12-01T10:00-08:00"), as `vigil visit assign --at` takes.
export function localToIso(value) {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return '';
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  return `${value.slice(0, 16)}${sign}${pad(off / 60)}:${pad(off % 60)}`;
}

export function when(iso) {
  return formatTime(iso);
}

// Messages read on this computer: the newest received time seen, per member.
export function seenKey(name) {
  return `vigil.messages_seen.${name}`;
}
export function messagesSeen(name) {
  return Number(localStorage.getItem(seenKey(name)) || 0);
}
export function markMessagesSeen(name, ms) {
  if (ms > messagesSeen(name)) localStorage.setItem(seenKey(name), String(ms));
}

// Sets data-dirty on a form once the member types, so live updates leave it alone.
export function trackDirty(form) {
  form.addEventListener('input', () => { form.dataset.dirty = '1'; });
  return form;
}

export function roleName(role) {
  return t(`role.${role}`);
}
