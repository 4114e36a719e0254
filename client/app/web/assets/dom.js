// Small DOM helpers. Every element is built with createElement and text
// nodes (never innerHTML), so nothing the relay or a member sends can become
// markup or script.
import { t } from './i18n.js';

// h('tag.class#id', {attrs}, ...children): children are nodes, strings
// (text), arrays, or null/false (skipped). Attribute "on*" functions become
// listeners; "text" sets textContent.
export function h(spec, attrs, ...children) {
  const m = /^([a-z0-9]+)((?:[.#][\w-]+)*)$/.exec(spec);
  const el = document.createElement(m ? m[1] : 'div');
  if (m && m[2]) {
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === '.') el.classList.add(part.slice(1));
      else el.id = part.slice(1);
    }
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'required' || k === 'multiple' ||
             k === 'selected' || k === 'readOnly') el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  // Forms check their fields themselves and say what is missing in words
  // (role=alert), in the member's language, instead of the browser's bubbles.
  if (el.tagName === 'FORM') el.noValidate = true;
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let uid = 0;
export function newId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

// A labelled form field: returns {row, input}. kind: 'input' | 'textarea' |
// 'select'. hint (a message key or null) is tied to the input with
// aria-describedby.
export function field(labelKey, kind, attrs = {}, options = []) {
  const id = newId('f');
  const hintId = attrs.hint ? `${id}-hint` : null;
  const a = { ...attrs, id };
  delete a.hint;
  if (hintId) a['aria-describedby'] = hintId;
  const input = h(kind, a, options);
  const row = h('div.field',
    h('label', { for: id, text: t(labelKey) }),
    input,
    hintId ? h('p.hint', { id: hintId, text: t(attrs.hint) }) : null);
  return { row, input };
}

export function button(labelKey, onclick, cls = '', attrs = {}) {
  return h(`button${cls ? '.' + cls.split(' ').join('.') : ''}`,
    { type: 'button', onclick, ...attrs, text: t(labelKey) });
}

// A copy-to-clipboard button for the text of `source` (an input/textarea).
export function copyButton(source, statusEl) {
  return button('common.copy', async () => {
    let ok = false;
    try {
      await navigator.clipboard.writeText(source.value);
      ok = true;
    } catch (e) {
      source.select();
      ok = document.execCommand('copy');
    }
    if (statusEl) statusEl.textContent = t(ok ? 'common.copied' : 'common.copy_failed');
  }, 'secondary');
}
