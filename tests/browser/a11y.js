// Run in the page by the browser tests (vigil_browser.Browser.check_a11y):
// returns a list of problems on the screen as shown. WCAG 2.1 AA contrast
// for every visible piece of text (4.5:1, or 3:1 for large text), a label
// for every form control, and the landmarks.
function parse(c) {
  const m = c.match(/rgba?\(([^)]+)\)/);
  if (!m) return null;
  const p = m[1].split(',').map((x) => parseFloat(x));
  return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
}
function lum(c) {
  const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
}
function background(el) {
  for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor);
    if (c && c.a > 0.5) return c;
  }
  return { r: 255, g: 255, b: 255, a: 1 };
}
const problems = [];
for (const el of document.querySelectorAll('body *')) {
  const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  if (!own || el.closest('[hidden], noscript, script, style, :disabled')) continue;
  const r = el.getBoundingClientRect();
  const cs = getComputedStyle(el);
  if (!r.width || !r.height || cs.visibility === 'hidden' || cs.display === 'none') continue;
  const fg = parse(cs.color);
  const bg = background(el);
  const l1 = lum(fg), l2 = lum(bg);
  const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
  const size = parseFloat(cs.fontSize);
  const large = size >= 24 || (size >= 18.66 && parseInt(cs.fontWeight, 10) >= 700);
  if (ratio < (large ? 3 : 4.5)) {
    problems.push(`contrast ${ratio.toFixed(2)}:1 for "${el.textContent.trim().slice(0, 40)}" (${cs.color} on rgb(${bg.r}, ${bg.g}, ${bg.b}))`);
  }
}
for (const el of document.querySelectorAll('input, select, textarea')) {
  if (el.type === 'hidden' || el.closest('[hidden]')) continue;
  if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) {
    problems.push(`a ${el.tagName.toLowerCase()} without a label (id "${el.id}")`);
  }
}
for (const sel of ['header', 'main']) {
  if (!document.querySelector(sel)) problems.push(`no <${sel}> landmark`);
}
if (!document.documentElement.lang) problems.push('no lang on <html>');
for (const el of document.querySelectorAll('button, a[href]')) {
  if (el.closest('[hidden]')) continue;
  if (!el.textContent.trim() && !el.getAttribute('aria-label')) problems.push(`a ${el.tagName.toLowerCase()} with no name`);
}
return problems;
