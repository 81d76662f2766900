// The web UI: a hash router over a handful of views, each talking to /graphql.

import { ApiError, gql, token } from './api.js';
import { clear, currentAsOf, h } from './dom.js';
import { auditView } from './audit.js';
import { explorerView } from './explorer.js';
import { governanceView } from './governance.js';
import { impactView } from './impact.js';
import { nodeView } from './node.js';
import { searchView } from './search.js';

const main = document.getElementById('main');
const status = document.getElementById('status');
let renderSeq = 0;

const ROUTES = {
  '': searchView,
  search: searchView,
  node: nodeView,
  explore: explorerView,
  impact: impactView,
  audit: auditView,
  governance: governanceView,
};

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?');
  const slash = path.indexOf('/');
  const name = slash < 0 ? path : path.slice(0, slash);
  const id = slash < 0 ? null : decodeURIComponent(path.slice(slash + 1));
  return { name, id, params: new URLSearchParams(query || '') };
}

export function showError(exc) {
  const message = exc instanceof ApiError ? exc.message + ' (' + exc.code + ')' : String(exc && exc.message || exc);
  clear(status, h('span', { class: 'error' }, message));
  status.hidden = false;
  if (exc instanceof ApiError && (exc.code === 'UNAUTHENTICATED' || exc.code === 'FORBIDDEN')) openTokenDialog();
}

export function showStatus(message) {
  clear(status, message);
  status.hidden = !message;
}

async function render() {
  const seq = ++renderSeq;
  const { name, id, params } = parseHash();
  const view = ROUTES[name] || searchView;
  for (const link of document.querySelectorAll('[data-nav]')) {
    link.classList.toggle('active', link.dataset.nav === (name === '' ? 'search' : name));
  }
  syncAsOfInput();
  showStatus('');
  const container = h('div', { class: 'view view-' + (name || 'search') });
  clear(main, container);
  try {
    await view(container, { id, params, asOf: currentAsOf(), isCurrent: () => seq === renderSeq });
  } catch (exc) {
    if (seq === renderSeq) showError(exc);
  }
  if (seq === renderSeq) {
    performance.mark('lineage:view-ready');
    document.body.dataset.ready = String(seq);
  }
}

// as-of picker: the time lives in the route (?asOf=...), so links and reloads keep it.
const asOfInput = document.getElementById('asof');
function syncAsOfInput() {
  const asOf = currentAsOf();
  asOfInput.value = asOf ? asOf.replace(/Z$|\+00:00$/, '').slice(0, 19) : '';
}
function setAsOf(value) {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, query] = raw.split('?');
  const params = new URLSearchParams(query || '');
  if (value) params.set('asOf', value); else params.delete('asOf');
  const text = params.toString();
  location.hash = '#' + path + (text ? '?' + text : '');
}
asOfInput.addEventListener('change', () => setAsOf(asOfInput.value ? asOfInput.value + (asOfInput.value.length === 16 ? ':00' : '') + 'Z' : ''));
document.getElementById('asof-clear').addEventListener('click', () => setAsOf(''));

// token: asked for in a dialog, kept in session storage for this tab only.
const dialog = document.getElementById('token-dialog');
const tokenInput = document.getElementById('token-input');
export function openTokenDialog() {
  if (!dialog.open) {
    tokenInput.value = '';
    dialog.showModal();
  }
}
document.getElementById('token-button').addEventListener('click', openTokenDialog);
dialog.addEventListener('close', () => {
  if (dialog.returnValue === 'save' && tokenInput.value.trim()) token.set(tokenInput.value.trim());
  else if (dialog.returnValue === 'forget') token.clear();
  else return;
  refreshViewer();
  render();
});

async function refreshViewer() {
  const el = document.getElementById('viewer');
  try {
    const data = await gql('{ viewer { name role anonymous } }');
    const v = data.viewer;
    clear(el, v.anonymous ? 'anonymous reader' : v.name + ' (' + v.role.toLowerCase() + ')');
  } catch (exc) {
    clear(el, h('span', { class: 'error' }, exc.code === 'UNAUTHENTICATED' ? 'token needed' : 'not signed in'));
  }
}

// keyboard: "/" focuses the search box from anywhere.
document.addEventListener('keydown', (event) => {
  const target = event.target;
  const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
  if (event.key === '/' && !typing) {
    const search = document.getElementById('search-input');
    if (search) {
      event.preventDefault();
      search.focus();
    } else {
      location.hash = '#/';
    }
  }
});

window.addEventListener('hashchange', render);
refreshViewer();
render();
