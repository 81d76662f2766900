// DOM helpers. Every string goes into the page as a text node or an attribute value, never as
// HTML, so names, properties and owners that contain markup are shown as the text they are.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A link to a route of this UI (hash based): route('node', id) -> '#/node/<id>'. */
export function route(name, id, params) {
  let out = '#/' + name;
  if (id !== undefined && id !== null) out += '/' + encodeURIComponent(id);
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== null && v !== undefined && v !== '') query.set(k, v);
  const asOf = currentAsOf();
  if (asOf && !query.has('asOf')) query.set('asOf', asOf);
  const text = query.toString();
  return text ? out + '?' + text : out;
}

export function nodeLink(node, label) {
  return h('a', { href: route('node', node.id), class: 'node-link kind-' + (node.kind || '').toLowerCase(), title: node.id },
    label || node.id);
}

export function kindBadge(kind) {
  return h('span', { class: 'badge kind-' + String(kind).toLowerCase() }, kindLabel(kind));
}

const KIND_LABELS = {
  DATASET: 'Dataset', FEATURE: 'Feature', CODE_COMMIT: 'Commit', RUN: 'Run', MODEL: 'Model', DEPLOYMENT: 'Deployment',
};
const KIND_PLURALS = {
  DATASET: 'datasets', FEATURE: 'features', CODE_COMMIT: 'commits', RUN: 'runs', MODEL: 'models', DEPLOYMENT: 'deployments',
};
export const KINDS = Object.keys(KIND_LABELS);
export function kindLabel(kind) { return KIND_LABELS[kind] || String(kind); }
export function kindPlural(kind, n) { return n === 1 ? kindLabel(kind).toLowerCase() : (KIND_PLURALS[kind] || String(kind)); }

export function fmtNumber(n) { return Number(n).toLocaleString('en-US'); }

export function fmtTime(iso) {
  if (!iso) return '';
  return String(iso).replace('T', ' ').replace(/\.\d+/, '').replace('+00:00', 'Z');
}

/** The as-of time of the current route (ISO 8601, UTC) or null for now. */
export function currentAsOf() {
  const query = location.hash.split('?')[1] || '';
  return new URLSearchParams(query).get('asOf');
}

export function table(headers, rows) {
  return h('table', { class: 'grid' },
    h('thead', null, h('tr', null, headers.map((x) => h('th', null, x)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c))))));
}

export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', null, title), children);
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
